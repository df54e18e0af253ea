/*-------------------------------------------------------------------------
 *
 * encode_internal.h
 *		Writers shared between the value encoding files (encode*.c) only.
 *
 * The rest of the decoder sees encode.h alone.  Every writer here has the
 * EncodeFunc contract: append the JSON form of one non-NULL value to out,
 * allocating (detoasted copies, iterators) in the current memory context.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG2ES_ENCODE_INTERNAL_H
#define PG2ES_ENCODE_INTERNAL_H

#include "catalog/pg_attribute.h"
#include "mb/pg_wchar.h"

#include "encode.h"

/* encode_datetime.c */
extern void encode_date(StringInfo out, Datum value, const ValueEncoder *enc);
extern void encode_timestamp(StringInfo out, Datum value,
							 const ValueEncoder *enc);
extern void encode_timestamptz(StringInfo out, Datum value,
							   const ValueEncoder *enc);
extern void encode_time(StringInfo out, Datum value, const ValueEncoder *enc);
extern void encode_timetz(StringInfo out, Datum value, const ValueEncoder *enc);
extern void encode_interval(StringInfo out, Datum value,
							const ValueEncoder *enc);

/* encode_datetime.c: _id text writers (see encoder_append_id_text) */
extern void id_text_date(StringInfo out, Datum value, const ValueEncoder *enc);
extern void id_text_timestamp(StringInfo out, Datum value,
							  const ValueEncoder *enc);
extern void id_text_interval(StringInfo out, Datum value,
							 const ValueEncoder *enc);

/* encode_compound.c */
extern void encode_array(StringInfo out, Datum value, const ValueEncoder *enc);
extern void encode_range(StringInfo out, Datum value, const ValueEncoder *enc);
extern void encode_multirange(StringInfo out, Datum value,
							  const ValueEncoder *enc);
extern void encode_composite(StringInfo out, Datum value,
							 const ValueEncoder *enc);

/*
 * Appends the JSON key of composite field att, "name":, after a comma
 * unless *first (which it then clears).  Returns false, writing nothing,
 * for a dropped attribute: it has no field.  Composite values and their
 * mappings both go through here, so that the mapping has a property for
 * each field the values have, under the same name.  Inline: it runs for
 * every field of every composite value.
 */
static inline bool
composite_append_field_key(StringInfo out, Form_pg_attribute att, bool *first)
{
	const char *name = NameStr(att->attname);

	if (att->attisdropped)
		return false;
	if (!*first)
		appendStringInfoCharMacro(out, ',');
	*first = false;
	json_append_string(out, name, strlen(name));
	appendStringInfoCharMacro(out, ':');
	return true;
}

/* encode_json.c */
extern void encode_json(StringInfo out, Datum value, const ValueEncoder *enc);
extern void encode_jsonb(StringInfo out, Datum value, const ValueEncoder *enc);

/*
 * encode.c: appends the JSON escape of byte c (one that needs one: a
 * control character, '"', '\\', or under SQL_ASCII a byte >= 0x80 that
 * is not part of a UTF-8 sequence, read as Latin-1).
 */
extern void json_append_char_escape(StringInfo out, unsigned char c);

/*
 * The length of the valid UTF-8 sequence starting at p (before end), or 0
 * when the bytes there are not one.  For SQL_ASCII, where nothing checked
 * them on input.
 */
static inline int
utf8_sequence_len(const char *p, const char *end)
{
	int			len = pg_utf_mblen((const unsigned char *) p);

	return len <= end - p &&
		pg_utf8_islegal((const unsigned char *) p, len) ? len : 0;
}

/*
 * encode.c: the _id text of a value whose JSON form enc->encode always
 * writes as a string without escapes (bytea, uuid, times): that string
 * without its quotes.
 */
extern void id_text_unquoted(StringInfo out, Datum value,
							 const ValueEncoder *enc);

/* encode.c: writes a signed decimal integer, the digits only */
extern void json_append_int64(StringInfo out, int64 value);

/* The longest number the engines' JSON parser reads, in characters. */
#define ES_MAX_NUMBER_LENGTH 1000

/*
 * encode.c: whether numeric_out's text s (digits, sign, point) can be sent
 * as a JSON number: not longer than ES_MAX_NUMBER_LENGTH and within a
 * double's range.  *d (when d is not NULL) gets its value as a double,
 * +-HUGE_VAL beyond the range.
 */
extern bool numeric_text_is_engine_number(const char *s, double *d);

/*
 * encode.c: appends numeric_out's text s as a JSON number, or as a JSON
 * string of the same text when numeric_text_is_engine_number() says no.
 */
extern void json_append_numeric_text(StringInfo out, const char *s);

#endif							/* PG2ES_ENCODE_INTERNAL_H */
