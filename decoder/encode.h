/*-------------------------------------------------------------------------
 *
 * encode.h
 *		Value encoding: one PostgreSQL datum to its JSON text.
 *
 * A ValueEncoder is prepared once per column (it lives in the relation
 * cache) and then applied to every value of that column.  Encoders write
 * straight into the caller's StringInfo; they never emit a raw newline, and
 * what they write is valid UTF-8 whatever the server encoding.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG2ES_ENCODE_H
#define PG2ES_ENCODE_H

#include "fmgr.h"
#include "lib/stringinfo.h"

typedef struct ValueEncoder ValueEncoder;

/* Appends the JSON form of a non-NULL value. */
typedef void (*EncodeFunc) (StringInfo out, Datum value, const ValueEncoder *enc);

struct ValueEncoder
{
	EncodeFunc	encode;			/* JSON writer chosen for the type */
	EncodeFunc	id_text;		/* _id text writer (encoder_append_id_text) */
	Oid			typid;			/* the column's type (before domain lookup) */
	Oid			basetypid;		/* after stripping domains */
	int16		typlen;
	bool		typbyval;
	char		typalign;
	FmgrInfo	outfunc;		/* text output, for fallbacks */
	ValueEncoder *element;		/* array element / range subtype, or NULL */
	struct TupleDescData *rowdesc;	/* composite types, or NULL */
	ValueEncoder *fields;		/* composite types: one per attribute */
};

/*
 * Prepares *enc for values of type typid.  Everything it allocates (output
 * function state, element encoders, tuple descriptors) goes into cxt, which
 * must live as long as the encoder.
 */
extern void encoder_init(ValueEncoder *enc, Oid typid, MemoryContext cxt);

/*
 * Appends the JSON form of value (not NULL; may be compressed or stored
 * inline, never an on-disk TOAST pointer: the caller checks that).
 */
static inline void
encoder_append_json(StringInfo out, Datum value, const ValueEncoder *enc)
{
	enc->encode(out, value, enc);
}

/*
 * Appends the text a key column contributes to a document _id: for values
 * encoded as JSON strings the string itself (unquoted, unescaped, UTF-8),
 * for everything else the JSON text.  Independent of session settings.
 * Values whose JSON is null and SQL_ASCII bytes that are not UTF-8 have
 * forms of their own, so that different keys never share a text (see the
 * top of encode.c).  Written from the value by a writer of its own, not
 * by unescaping the JSON form.
 */
static inline void
encoder_append_id_text(StringInfo out, Datum value, const ValueEncoder *enc)
{
	enc->id_text(out, value, enc);
}

/*
 * Appends s (len bytes in the server encoding) as a quoted JSON string:
 * quotes, backslashes and every control character escaped, invalid UTF-8
 * (possible only under SQL_ASCII) written as \u00XX per byte.
 */
extern void json_append_string(StringInfo out, const char *s, int len);

/*
 * The same for s already in UTF-8 (an _id text), whatever the server
 * encoding: no conversion, no check.
 */
extern void json_append_utf8_string(StringInfo out, const char *s, int len);

/*
 * Appends the Elasticsearch field mapping for the type as a JSON object,
 * e.g. {"type":"long"}.  jsonb_flattened selects "flattened" over "object"
 * for json/jsonb columns.
 */
extern void encoder_append_es_mapping(StringInfo out, const ValueEncoder *enc,
									  int32 typmod, bool jsonb_flattened);

/*
 * Whether the mapping of the type holds an object whose properties the
 * engine derives from the values (json and jsonb, at any depth, unless
 * flattened): a mapping with one needs the dynamic templates below.
 */
extern bool encoder_es_mapping_is_dynamic(const ValueEncoder *enc,
										  bool jsonb_flattened);

/*
 * Appends the mapping's "dynamic_templates" value (a JSON array) that keeps
 * the objects of json and jsonb values within the engines' depth limit.
 */
extern void encoder_append_es_dynamic_templates(StringInfo out);

#endif							/* PG2ES_ENCODE_H */
