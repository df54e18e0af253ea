/*-------------------------------------------------------------------------
 *
 * encode.c
 *		Value encoding: choosing a writer per type, scalars and strings.
 *
 * The JSON form of every type, as documented for users (the README's type
 * table quotes this block).  NULL is always null.  Nothing written here
 * depends on the session's TimeZone, DateStyle, IntervalStyle,
 * extra_float_digits or bytea_output.
 *
 *	smallint, integer, bigint, oid   number: 42
 *	real, double precision           number, shortest text that reads back
 *	                                 to the same value (1e+20, 0.1, -0);
 *	                                 NaN, Infinity, -Infinity: null
 *	numeric                          number with every digit (123.4500);
 *	                                 NaN, Infinity, -Infinity: null.  A
 *	                                 value whose text is over 1000
 *	                                 characters (10^1000) or beyond a
 *	                                 double's range (1e400) is a string of
 *	                                 the same digits: the engines' JSON
 *	                                 parser refuses such a number (its
 *	                                 double field keeps it in _source,
 *	                                 unindexed).  Also inside json and
 *	                                 jsonb values
 *	boolean                          true / false
 *	text, varchar, char(n), name,    string, UTF-8, with ", \ and every
 *	"char"                           control character escaped (\n, \t, ...
 *	                                 or \u00XX); char(n) keeps its padding.
 *	                                 Under SQL_ASCII a byte sequence that is
 *	                                 not valid UTF-8 is read as Latin-1:
 *	                                 each such byte becomes \u00XX
 *	json                             the value itself, whitespace outside
 *	                                 strings removed
 *	jsonb                            the value itself, compact
 *	date                             "YYYY-MM-DD"
 *	timestamp                        "YYYY-MM-DDTHH:MM:SS[.ffffff]"
 *	timestamp with time zone         "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" in UTC
 *	                                 (fraction digits: up to 6, trailing
 *	                                 zeros dropped).  For all three:
 *	                                 infinity, -infinity, BC years and years
 *	                                 after 9999 give null, since
 *	                                 Elasticsearch's date parser rejects them
 *	time                             "HH:MM:SS[.ffffff]"
 *	time with time zone              "HH:MM:SS[.ffffff]+HH:MM[:SS]"
 *	interval                         ISO 8601 duration, "P1Y2M3DT4H5M6.5S",
 *	                                 each part signed, "PT0S" for zero
 *	bytea                            string, base64 without line breaks
 *	uuid                             "0e6b...-...", lower case
 *	arrays                           nested JSON arrays, one level per
 *	                                 dimension, NULL elements as null, lower
 *	                                 bounds dropped; empty: []
 *	ranges                           {"gte":lower,"lt":upper}, bounds in
 *	                                 the subtype's form, so that every
 *	                                 range the engines can hold lands
 *	                                 (encode_compound.c has the rules):
 *	                                 integer, date and float subtypes
 *	                                 with gt/gte/lt/lte by bound
 *	                                 inclusivity; numeric, timestamp and
 *	                                 timestamptz always gte/lte, an
 *	                                 exclusive timestamp bound moved by
 *	                                 1 microsecond inward, a numeric one
 *	                                 kept (the smallest closed range
 *	                                 holding the range), a numeric bound
 *	                                 beyond a double's range left out or
 *	                                 clamped to the largest double.  An
 *	                                 unbounded side (or an infinite date
 *	                                 bound) is left out ({} if both);
 *	                                 empty, or holding no value of its
 *	                                 subtype ((1,2) of a range type
 *	                                 without canonical function): null
 *	multiranges                      array of range objects
 *	composite types                  {"field":value,...}, dropped fields left
 *	                                 out
 *	domains                          as their base type
 *	geometric types                  their text output as a string, written
 *	                                 with extra_float_digits = 1
 *	everything else (inet, cidr,     their text output as a string.  money
 *	macaddr, money, enums, bit,      follows lc_monetary (the server's
 *	tsvector, xml, extensions' ...)  default unless a session changes it)
 *
 * The text a key column gives the document _id (encoder_append_id_text):
 * for values written as JSON strings the string itself, unescaped; for the
 * others their JSON text.  Where the JSON form is null the _id text is
 * still distinct: "NaN", "Infinity", "-Infinity" for floats and numeric;
 * "infinity", "-infinity" for dates and timestamps, and ISO 8601 with a
 * signed, longer year outside 1 to 9999 ("-0043-03-15" is 44 BC,
 * "294276-12-31T23:59:59Z").  In a SQL_ASCII database a byte that is not
 * UTF-8 gives \xHH and a backslash gives \\ (else "k" + byte e9 and "k" +
 * UTF-8 e-acute would share an _id).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"
#include "utils/uuid.h"

#include "encode_internal.h"

/* JSON strings */
static inline bool word_needs_escape(const char *p);
static void append_escaped_utf8(StringInfo out, const char *s, int len);
static void append_escaped_sql_ascii(StringInfo out, const char *s, int len);

/* the JSON writers of the scalar types */
static void encode_int2(StringInfo out, Datum value, const ValueEncoder *enc);
static void encode_int4(StringInfo out, Datum value, const ValueEncoder *enc);
static void encode_int8(StringInfo out, Datum value, const ValueEncoder *enc);
static void encode_oid(StringInfo out, Datum value, const ValueEncoder *enc);
static void encode_bool(StringInfo out, Datum value, const ValueEncoder *enc);
static void encode_float4(StringInfo out, Datum value,
						  const ValueEncoder *enc);
static void encode_float8(StringInfo out, Datum value,
						  const ValueEncoder *enc);
static void encode_numeric(StringInfo out, Datum value,
						   const ValueEncoder *enc);
static void encode_text(StringInfo out, Datum value, const ValueEncoder *enc);
static void encode_name(StringInfo out, Datum value, const ValueEncoder *enc);
static void encode_bytea(StringInfo out, Datum value, const ValueEncoder *enc);
static void encode_uuid(StringInfo out, Datum value, const ValueEncoder *enc);
static void encode_text_output(StringInfo out, Datum value,
							   const ValueEncoder *enc);
static char *output_with_fixed_floats(Datum value, const ValueEncoder *enc);
static void encode_text_output_fixed_floats(StringInfo out, Datum value,
											const ValueEncoder *enc);

/* the _id text writers */
static void append_string_id_text(StringInfo out, const char *s, int len);
static void id_text_string(StringInfo out, Datum value,
						   const ValueEncoder *enc);
static void id_text_numeric(StringInfo out, Datum value,
							const ValueEncoder *enc);
static bool append_nonfinite_id_text(StringInfo out, double d);
static void id_text_float4(StringInfo out, Datum value,
						   const ValueEncoder *enc);
static void id_text_float8(StringInfo out, Datum value,
						   const ValueEncoder *enc);

/* choosing a column's writers */
static ValueEncoder *encoder_new(Oid typid, MemoryContext cxt);
static void encoder_init_composite(ValueEncoder *enc, MemoryContext cxt);
static void encoder_choose_by_kind(ValueEncoder *enc, MemoryContext cxt);
static void encoder_choose(ValueEncoder *enc, MemoryContext cxt);

/*
 * How each byte is written inside a JSON string: 0 = as is, 'u' = \u00XX,
 * any other character c = backslash + c.
 */
static const char json_escape[256] = {
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
	0, 0, '"', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\\', 0, 0, 0
	/* the rest (0x60 to 0xff) is 0 */
};

/*
 * See encode_internal.h.  The short forms where JSON has one, else
 * \u00XX: a control character, or a byte read as Latin-1.
 */
void
json_append_char_escape(StringInfo out, unsigned char c)
{
	char		buf[6];
	char		esc = json_escape[c];

	buf[0] = '\\';
	if (esc != 0 && esc != 'u')
	{
		buf[1] = esc;
		appendBinaryStringInfo(out, buf, 2);
		return;
	}
	buf[1] = 'u';
	buf[2] = '0';
	buf[3] = '0';
	hex_encode((const char *) &c, 1, buf + 4);
	appendBinaryStringInfo(out, buf, 6);
}

/*
 * Whether one of the 8 bytes at p needs an escape: below 0x20, '"' or '\\'.
 * Word at a time (the classic "has a zero byte" test: x - 0x01.. borrows
 * into the high bit of a byte only when some byte is below the subtracted
 * one): exact about whether some byte does, which is all that is asked.
 */
static inline bool
word_needs_escape(const char *p)
{
	const uint64 ones = UINT64CONST(0x0101010101010101);
	const uint64 highs = UINT64CONST(0x8080808080808080);
	uint64		w;
	uint64		quote;
	uint64		backslash;

	memcpy(&w, p, sizeof(w));
	quote = w ^ (ones * '"');
	backslash = w ^ (ones * '\\');
	return ((((w - ones * 0x20) & ~w) |
			 ((quote - ones) & ~quote) |
			 ((backslash - ones) & ~backslash)) & highs) != 0;
}

/*
 * Appends s (len bytes of valid UTF-8) escaped, without the quotes.  Most
 * strings need no escape at all: they are checked 8 bytes at a time, and
 * runs of plain bytes are copied at once.
 */
static void
append_escaped_utf8(StringInfo out, const char *s, int len)
{
	const char *end = s + len;
	const char *run = s;
	const char *p = s;

	while (p < end)
	{
		const char *stop;

		if (end - p >= sizeof(uint64) && !word_needs_escape(p))
		{
			p += sizeof(uint64);
			continue;
		}
		/* Some byte of the next 8 (or of the tail) needs a look. */
		stop = Min(p + sizeof(uint64), end);
		for (; p < stop; p++)
		{
			unsigned char c = (unsigned char) *p;

			if (likely(json_escape[c] == 0))
				continue;
			appendBinaryStringInfo(out, run, p - run);
			json_append_char_escape(out, c);
			run = p + 1;
		}
	}
	appendBinaryStringInfo(out, run, end - run);
}

/*
 * Appends s (len bytes of anything: SQL_ASCII checks nothing) escaped,
 * without the quotes.  Valid UTF-8 sequences pass; any other byte with the
 * high bit set is read as Latin-1 and written as \u00XX, so the result is
 * valid UTF-8 and keeps every byte recoverable.
 */
static void
append_escaped_sql_ascii(StringInfo out, const char *s, int len)
{
	const char *end = s + len;
	const char *run = s;
	const char *p;

	for (p = s; p < end; p++)
	{
		unsigned char c = (unsigned char) *p;
		int			seqlen;

		if (c >= 0x80 && (seqlen = utf8_sequence_len(p, end)) > 0)
			p += seqlen - 1;
		else if (c >= 0x80 || json_escape[c] != 0)
		{
			appendBinaryStringInfo(out, run, p - run);
			json_append_char_escape(out, c);
			run = p + 1;
		}
	}
	appendBinaryStringInfo(out, run, end - run);
}

/*
 * See encode.h: json_append_string's escaper for text that is UTF-8
 * already, whatever the server encoding (the _id texts).
 */
void
json_append_utf8_string(StringInfo out, const char *s, int len)
{
	appendStringInfoCharMacro(out, '"');
	append_escaped_utf8(out, s, len);
	appendStringInfoCharMacro(out, '"');
}

/*
 * See encode.h.  Other server encodings are converted to UTF-8 first
 * (palloc'd in the current context when a conversion happens).
 */
void
json_append_string(StringInfo out, const char *s, int len)
{
	int			encoding = GetDatabaseEncoding();

	appendStringInfoCharMacro(out, '"');
	if (likely(encoding == PG_UTF8))
		append_escaped_utf8(out, s, len);
	else if (encoding == PG_SQL_ASCII)
		append_escaped_sql_ascii(out, s, len);
	else
	{
		char	   *utf8 = pg_server_to_any(s, len, PG_UTF8);

		append_escaped_utf8(out, utf8, utf8 == s ? len : strlen(utf8));
	}
	appendStringInfoCharMacro(out, '"');
}

/*
 * See encode_internal.h.
 */
void
json_append_int64(StringInfo out, int64 value)
{
	char		buf[24];
	char	   *end = buf + sizeof(buf);
	char	   *p = end;
	uint64		u = value < 0 ? -(uint64) value : (uint64) value;

	do
	{
		*--p = '0' + u % 10;
		u /= 10;
	} while (u != 0);
	if (value < 0)
		*--p = '-';
	appendBinaryStringInfo(out, p, end - p);
}

/*
 * The writers below are EncodeFuncs (contract in encode.h): integers and
 * booleans as JSON literals.
 */
static void
encode_int2(StringInfo out, Datum value, const ValueEncoder *enc)
{
	json_append_int64(out, DatumGetInt16(value));
}

static void
encode_int4(StringInfo out, Datum value, const ValueEncoder *enc)
{
	json_append_int64(out, DatumGetInt32(value));
}

static void
encode_int8(StringInfo out, Datum value, const ValueEncoder *enc)
{
	json_append_int64(out, DatumGetInt64(value));
}

static void
encode_oid(StringInfo out, Datum value, const ValueEncoder *enc)
{
	json_append_int64(out, DatumGetObjectId(value));
}

static void
encode_bool(StringInfo out, Datum value, const ValueEncoder *enc)
{
	if (DatumGetBool(value))
		appendBinaryStringInfo(out, "true", 4);
	else
		appendBinaryStringInfo(out, "false", 5);
}

/*
 * float4 and float8: Ryu's shortest round-trip digits, never the session's
 * extra_float_digits.  JSON has no NaN or Infinity.
 */
static void
encode_float4(StringInfo out, Datum value, const ValueEncoder *enc)
{
	float4		f = DatumGetFloat4(value);
	char		buf[FLOAT_SHORTEST_DECIMAL_LEN];

	if (isnan(f) || isinf(f))
		appendBinaryStringInfo(out, "null", 4);
	else
		appendBinaryStringInfo(out, buf,
							   float_to_shortest_decimal_bufn(f, buf));
}

static void
encode_float8(StringInfo out, Datum value, const ValueEncoder *enc)
{
	float8		d = DatumGetFloat8(value);
	char		buf[DOUBLE_SHORTEST_DECIMAL_LEN];

	if (isnan(d) || isinf(d))
		appendBinaryStringInfo(out, "null", 4);
	else
		appendBinaryStringInfo(out, buf,
							   double_to_shortest_decimal_bufn(d, buf));
}

/*
 * See encode_internal.h.  The engines' JSON parser (Jackson) refuses a
 * number longer than ES_MAX_NUMBER_LENGTH characters, and reads any number
 * as a double at most; numeric_out's text is never in exponent form, so
 * strtod (LC_NUMERIC is always C in the server) sees its whole value.
 */
bool
numeric_text_is_engine_number(const char *s, double *d)
{
	double		value;

	if (strlen(s) > ES_MAX_NUMBER_LENGTH)
	{
		if (d)
			*d = strtod(s, NULL);
		return false;
	}
	value = strtod(s, NULL);
	if (d)
		*d = value;
	return !isinf(value);
}

/*
 * See encode_internal.h.
 */
void
json_append_numeric_text(StringInfo out, const char *s)
{
	if (numeric_text_is_engine_number(s, NULL))
		appendStringInfoString(out, s);
	else
		json_append_string(out, s, strlen(s));
}

/*
 * numeric: numeric_out's plain decimal notation is already a JSON number;
 * only NaN, Infinity and -Infinity (its only non-digit outputs) are not.
 * A number the engines cannot read as one is written as a string of the
 * same digits (json_append_numeric_text).
 */
static void
encode_numeric(StringInfo out, Datum value, const ValueEncoder *enc)
{
	char	   *s = DatumGetCString(DirectFunctionCall1(numeric_out, value));

	if (s[0] == 'N' || s[0] == 'I' || (s[0] == '-' && s[1] == 'I'))
		appendBinaryStringInfo(out, "null", 4);
	else
		json_append_numeric_text(out, s);
	pfree(s);
}

/* text, varchar and char(n): the stored bytes, char(n) padding included */
static void
encode_text(StringInfo out, Datum value, const ValueEncoder *enc)
{
	text	   *t = DatumGetTextPP(value);

	json_append_string(out, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

static void
encode_name(StringInfo out, Datum value, const ValueEncoder *enc)
{
	const char *s = NameStr(*DatumGetName(value));

	json_append_string(out, s, strnlen(s, NAMEDATALEN));
}

/*
 * bytea: standard base64 (RFC 4648, with padding, no line breaks), what
 * Elasticsearch's binary type reads.
 */
static void
encode_bytea(StringInfo out, Datum value, const ValueEncoder *enc)
{
	static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	bytea	   *b = DatumGetByteaPP(value);
	const unsigned char *s = (const unsigned char *) VARDATA_ANY(b);
	int			len = VARSIZE_ANY_EXHDR(b);
	int			i;
	char	   *dst;

	enlargeStringInfo(out, (len + 2) / 3 * 4 + 2);
	dst = out->data + out->len;
	*dst++ = '"';
	for (i = 0; i + 2 < len; i += 3)
	{
		uint32		v = (s[i] << 16) | (s[i + 1] << 8) | s[i + 2];

		*dst++ = b64[v >> 18];
		*dst++ = b64[(v >> 12) & 0x3f];
		*dst++ = b64[(v >> 6) & 0x3f];
		*dst++ = b64[v & 0x3f];
	}
	if (i < len)
	{
		uint32		v = (s[i] << 16) | (i + 1 < len ? s[i + 1] << 8 : 0);

		*dst++ = b64[v >> 18];
		*dst++ = b64[(v >> 12) & 0x3f];
		*dst++ = i + 1 < len ? b64[(v >> 6) & 0x3f] : '=';
		*dst++ = '=';
	}
	*dst++ = '"';
	out->len = dst - out->data;
	out->data[out->len] = '\0';
}

/* uuid: the canonical lower-case 8-4-4-4-12 form */
static void
encode_uuid(StringInfo out, Datum value, const ValueEncoder *enc)
{
	const pg_uuid_t *u = DatumGetUUIDP(value);
	char		hex[UUID_LEN * 2];
	char		buf[UUID_LEN * 2 + 6];
	char	   *p = buf;
	int			i;

	hex_encode((const char *) u->data, UUID_LEN, hex);
	*p++ = '"';
	for (i = 0; i < UUID_LEN * 2; i++)
	{
		if (i == 8 || i == 12 || i == 16 || i == 20)
			*p++ = '-';
		*p++ = hex[i];
	}
	*p++ = '"';
	appendBinaryStringInfo(out, buf, p - buf);
}

/* Any other type: its text output function's result as a JSON string. */
static void
encode_text_output(StringInfo out, Datum value, const ValueEncoder *enc)
{
	char	   *s = OutputFunctionCall((FmgrInfo *) &enc->outfunc, value);

	json_append_string(out, s, strlen(s));
	pfree(s);
}

/*
 * Geometric types: the text output (palloc'd) with extra_float_digits set
 * to 1 for the call, so the digits do not depend on the session (float8out
 * reads it).  The GUC nest level restores the setting, also when the
 * output function fails (transaction abort unwinds it).
 */
static char *
output_with_fixed_floats(Datum value, const ValueEncoder *enc)
{
	int			nestlevel = NewGUCNestLevel();
	char	   *s;

	(void) set_config_option("extra_float_digits", "1",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	s = OutputFunctionCall((FmgrInfo *) &enc->outfunc, value);
	AtEOXact_GUC(true, nestlevel);
	return s;
}

static void
encode_text_output_fixed_floats(StringInfo out, Datum value,
								const ValueEncoder *enc)
{
	char	   *s = output_with_fixed_floats(value, enc);

	json_append_string(out, s, strlen(s));
	pfree(s);
}

/*
 * The _id text writers (the contract of encoder_append_id_text, encode.h):
 * a writer per kind of value, straight from the datum, so that no key is
 * escaped as JSON only to be unescaped again.
 */

/*
 * Appends the _id text of a string s (len bytes in the server encoding):
 * its UTF-8 form.  In a SQL_ASCII database a byte that does not belong to
 * a valid UTF-8 sequence becomes the four characters \xHH and a backslash
 * is doubled, so that such a key cannot give the same text as a valid one
 * ("k" + byte e9 vs "k" + UTF-8 e-acute).
 */
static void
append_string_id_text(StringInfo out, const char *s, int len)
{
	int			encoding = GetDatabaseEncoding();
	const char *end = s + len;
	const char *run = s;
	const char *p;
	char		buf[4] = {'\\', 'x'};

	if (likely(encoding != PG_SQL_ASCII))
	{
		char	   *utf8 = pg_server_to_any(s, len, PG_UTF8);

		appendBinaryStringInfo(out, utf8, utf8 == s ? len : strlen(utf8));
		return;
	}
	for (p = s; p < end; p++)
	{
		unsigned char c = (unsigned char) *p;
		int			seqlen;

		if (c >= 0x80 && (seqlen = utf8_sequence_len(p, end)) > 0)
			p += seqlen - 1;
		else if (c >= 0x80 || c == '\\')
		{
			appendBinaryStringInfo(out, run, p - run);
			if (c == '\\')
				appendBinaryStringInfo(out, "\\\\", 2);
			else
				appendBinaryStringInfo(out, buf,
									   2 + hex_encode(p, 1, buf + 2));
			run = p + 1;
		}
	}
	appendBinaryStringInfo(out, run, end - run);
}

/*
 * The _id text of the string-valued types (text, varchar, char(n), name,
 * and the text output of every other type): the string of the JSON form.
 */
static void
id_text_string(StringInfo out, Datum value, const ValueEncoder *enc)
{
	text	   *t;
	char	   *s;

	if (enc->encode == encode_text)
	{
		t = DatumGetTextPP(value);
		append_string_id_text(out, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
		return;
	}
	if (enc->encode == encode_name)
	{
		s = NameStr(*DatumGetName(value));
		append_string_id_text(out, s, strnlen(s, NAMEDATALEN));
		return;
	}
	if (enc->encode == encode_text_output_fixed_floats)
		s = output_with_fixed_floats(value, enc);
	else
		s = OutputFunctionCall((FmgrInfo *) &enc->outfunc, value);
	append_string_id_text(out, s, strlen(s));
	pfree(s);
}

/*
 * numeric: numeric_out's text, whatever the JSON form is (a number, a
 * string of the same digits, or null for "NaN", "Infinity", "-Infinity").
 */
static void
id_text_numeric(StringInfo out, Datum value, const ValueEncoder *enc)
{
	char	   *s = DatumGetCString(DirectFunctionCall1(numeric_out, value));

	appendStringInfoString(out, s);
	pfree(s);
}

/*
 * Writes the text of a non-finite float ("NaN", "Infinity", "-Infinity"),
 * whose JSON form null would make different keys equal.  Returns false,
 * writing nothing, for a finite one.
 */
static bool
append_nonfinite_id_text(StringInfo out, double d)
{
	if (isnan(d))
		appendStringInfoString(out, "NaN");
	else if (isinf(d))
		appendStringInfoString(out, d < 0 ? "-Infinity" : "Infinity");
	else
		return false;
	return true;
}

static void
id_text_float4(StringInfo out, Datum value, const ValueEncoder *enc)
{
	if (!append_nonfinite_id_text(out, DatumGetFloat4(value)))
		encode_float4(out, value, enc);
}

static void
id_text_float8(StringInfo out, Datum value, const ValueEncoder *enc)
{
	if (!append_nonfinite_id_text(out, DatumGetFloat8(value)))
		encode_float8(out, value, enc);
}

/*
 * See encode_internal.h: the JSON string enc->encode writes, without its
 * quotes.  Only for writers whose strings never hold an escape.
 */
void
id_text_unquoted(StringInfo out, Datum value, const ValueEncoder *enc)
{
	int			start = out->len;

	enc->encode(out, value, enc);
	Assert(out->data[start] == '"' && out->data[out->len - 1] == '"');
	memmove(out->data + start, out->data + start + 1, out->len - start - 2);
	out->len -= 2;
	out->data[out->len] = '\0';
}

/*
 * Returns a new encoder for typid, palloc'd in cxt.
 */
static ValueEncoder *
encoder_new(Oid typid, MemoryContext cxt)
{
	ValueEncoder *enc = MemoryContextAlloc(cxt, sizeof(ValueEncoder));

	encoder_init(enc, typid, cxt);
	return enc;
}

/*
 * Sets up enc->rowdesc and one field encoder per live attribute of a
 * composite type, all in the current context (the encoder's).
 */
static void
encoder_init_composite(ValueEncoder *enc, MemoryContext cxt)
{
	TupleDesc	desc = lookup_rowtype_tupdesc_copy(enc->basetypid, -1);
	int			i;

	enc->rowdesc = desc;
	enc->fields = palloc0(sizeof(ValueEncoder) * Max(desc->natts, 1));
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped)
			encoder_init(&enc->fields[i], att->atttypid, cxt);
	}
}

/*
 * Sets enc's writers for a type that is not one of the built-in scalars:
 * composite, range, multirange, array, geometric, or text output.  The
 * _id text of a composite, range or array is its JSON text.
 */
static void
encoder_choose_by_kind(ValueEncoder *enc, MemoryContext cxt)
{
	char		typtype = get_typtype(enc->basetypid);
	Oid			elemtype = get_element_type(enc->basetypid);
	char		category;
	bool		preferred;

	if (typtype == TYPTYPE_COMPOSITE)
	{
		encoder_init_composite(enc, cxt);
		enc->encode = encode_composite;
	}
	else if (typtype == TYPTYPE_RANGE)
	{
		enc->element = encoder_new(get_range_subtype(enc->basetypid), cxt);
		enc->encode = encode_range;
	}
#ifdef TYPTYPE_MULTIRANGE
	else if (typtype == TYPTYPE_MULTIRANGE)
	{
		enc->element = encoder_new(get_multirange_range(enc->basetypid), cxt);
		enc->encode = encode_multirange;
	}
#endif
	else if (OidIsValid(elemtype) && enc->typlen == -1)
	{
		enc->element = encoder_new(elemtype, cxt);
		enc->encode = encode_array;
	}
	if (enc->encode != NULL)
	{
		enc->id_text = enc->encode;
		return;
	}
	get_type_category_preferred(enc->basetypid, &category, &preferred);
	enc->encode = category == TYPCATEGORY_GEOMETRIC ?
		encode_text_output_fixed_floats : encode_text_output;
	enc->id_text = id_text_string;
}

/*
 * The writers of the built-in scalar types: the JSON one, and the _id
 * text one (the JSON writer itself where the JSON text is the _id text).
 */
typedef struct ScalarWriters
{
	Oid			typid;
	EncodeFunc	encode;
	EncodeFunc	id_text;
} ScalarWriters;

static const ScalarWriters scalar_writers[] = {
	{INT2OID, encode_int2, encode_int2},
	{INT4OID, encode_int4, encode_int4},
	{INT8OID, encode_int8, encode_int8},
	{OIDOID, encode_oid, encode_oid},
	{BOOLOID, encode_bool, encode_bool},
	{FLOAT4OID, encode_float4, id_text_float4},
	{FLOAT8OID, encode_float8, id_text_float8},
	{NUMERICOID, encode_numeric, id_text_numeric},
	{TEXTOID, encode_text, id_text_string},
	{VARCHAROID, encode_text, id_text_string},
	{BPCHAROID, encode_text, id_text_string},
	{NAMEOID, encode_name, id_text_string},
	{JSONOID, encode_json, encode_json},
	{JSONBOID, encode_jsonb, encode_jsonb},
	{DATEOID, encode_date, id_text_date},
	{TIMESTAMPOID, encode_timestamp, id_text_timestamp},
	{TIMESTAMPTZOID, encode_timestamptz, id_text_timestamp},
	{TIMEOID, encode_time, id_text_unquoted},
	{TIMETZOID, encode_timetz, id_text_unquoted},
	{INTERVALOID, encode_interval, id_text_interval},
	{BYTEAOID, encode_bytea, id_text_unquoted},
	{UUIDOID, encode_uuid, id_text_unquoted},
};

/*
 * Sets enc's writers for enc->basetypid, setting up element and field
 * encoders as needed.
 */
static void
encoder_choose(ValueEncoder *enc, MemoryContext cxt)
{
	int			i;

	for (i = 0; i < lengthof(scalar_writers); i++)
	{
		if (scalar_writers[i].typid == enc->basetypid)
		{
			enc->encode = scalar_writers[i].encode;
			enc->id_text = scalar_writers[i].id_text;
			return;
		}
	}
	encoder_choose_by_kind(enc, cxt);
}

/*
 * See encode.h.  Catalog lookups happen here, once per column; the writers
 * themselves only look up the type cache (ranges) and enum labels (enum_out).
 */
void
encoder_init(ValueEncoder *enc, Oid typid, MemoryContext cxt)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(cxt);
	Oid			outfunc;
	bool		isvarlena;

	/* composite types nest; a deep nesting must fail cleanly */
	check_stack_depth();
	memset(enc, 0, sizeof(ValueEncoder));
	enc->typid = typid;
	enc->basetypid = getBaseType(typid);
	get_typlenbyvalalign(enc->basetypid, &enc->typlen, &enc->typbyval,
						 &enc->typalign);
	getTypeOutputInfo(enc->basetypid, &outfunc, &isvarlena);
	fmgr_info_cxt(outfunc, &enc->outfunc, cxt);
	encoder_choose(enc, cxt);
	MemoryContextSwitchTo(oldcxt);
}
