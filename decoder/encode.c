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

static const char hex_digits[] = "0123456789abcdef";

/*
 * Appends the escape sequence for byte c, whose table entry is esc.
 */
static void
append_escape(StringInfo out, unsigned char c, char esc)
{
	char		buf[6];

	buf[0] = '\\';
	if (esc != 'u')
	{
		buf[1] = esc;
		appendBinaryStringInfo(out, buf, 2);
		return;
	}
	buf[1] = 'u';
	buf[2] = '0';
	buf[3] = '0';
	buf[4] = hex_digits[c >> 4];
	buf[5] = hex_digits[c & 0x0f];
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
			append_escape(out, c, json_escape[c]);
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

		if (c >= 0x80)
		{
			int			seqlen = pg_utf_mblen((const unsigned char *) p);

			if (seqlen <= end - p &&
				pg_utf8_islegal((const unsigned char *) p, seqlen))
			{
				p += seqlen - 1;
				continue;
			}
			appendBinaryStringInfo(out, run, p - run);
			append_escape(out, c, 'u');
			run = p + 1;
		}
		else if (json_escape[c] != 0)
		{
			appendBinaryStringInfo(out, run, p - run);
			append_escape(out, c, json_escape[c]);
			run = p + 1;
		}
	}
	appendBinaryStringInfo(out, run, end - run);
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
	char		buf[UUID_LEN * 2 + 6];
	char	   *p = buf;
	int			i;

	*p++ = '"';
	for (i = 0; i < UUID_LEN; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex_digits[u->data[i] >> 4];
		*p++ = hex_digits[u->data[i] & 0x0f];
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
 * Geometric types: the text output with extra_float_digits set to 1 for the
 * call, so the digits do not depend on the session (float8out reads it).
 * The GUC nest level restores the setting, also when the output function
 * fails (transaction abort unwinds it).
 */
static void
encode_text_output_fixed_floats(StringInfo out, Datum value,
								const ValueEncoder *enc)
{
	int			nestlevel = NewGUCNestLevel();
	char	   *s;

	(void) set_config_option("extra_float_digits", "1",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	s = OutputFunctionCall((FmgrInfo *) &enc->outfunc, value);
	AtEOXact_GUC(true, nestlevel);
	json_append_string(out, s, strlen(s));
	pfree(s);
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
 * Chooses the writer for a type that is not one of the built-in scalars:
 * composite, range, multirange, array, geometric, or text output.
 */
static EncodeFunc
encoder_choose_by_kind(ValueEncoder *enc, MemoryContext cxt)
{
	char		typtype = get_typtype(enc->basetypid);
	Oid			elemtype;
	char		category;
	bool		preferred;

	if (typtype == TYPTYPE_COMPOSITE)
	{
		encoder_init_composite(enc, cxt);
		return encode_composite;
	}
	if (typtype == TYPTYPE_RANGE)
	{
		enc->element = encoder_new(get_range_subtype(enc->basetypid), cxt);
		return encode_range;
	}
#ifdef TYPTYPE_MULTIRANGE
	if (typtype == TYPTYPE_MULTIRANGE)
	{
		enc->element = encoder_new(get_multirange_range(enc->basetypid), cxt);
		return encode_multirange;
	}
#endif
	elemtype = get_element_type(enc->basetypid);
	if (OidIsValid(elemtype) && enc->typlen == -1)
	{
		enc->element = encoder_new(elemtype, cxt);
		return encode_array;
	}
	get_type_category_preferred(enc->basetypid, &category, &preferred);
	if (category == TYPCATEGORY_GEOMETRIC)
		return encode_text_output_fixed_floats;
	return encode_text_output;
}

/*
 * Chooses the writer for enc->basetypid, setting up element and field
 * encoders as needed.
 */
static EncodeFunc
encoder_choose(ValueEncoder *enc, MemoryContext cxt)
{
	switch (enc->basetypid)
	{
		case INT2OID:
			return encode_int2;
		case INT4OID:
			return encode_int4;
		case INT8OID:
			return encode_int8;
		case OIDOID:
			return encode_oid;
		case BOOLOID:
			return encode_bool;
		case FLOAT4OID:
			return encode_float4;
		case FLOAT8OID:
			return encode_float8;
		case NUMERICOID:
			return encode_numeric;
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			return encode_text;
		case NAMEOID:
			return encode_name;
		case JSONOID:
			return encode_json;
		case JSONBOID:
			return encode_jsonb;
		case DATEOID:
			return encode_date;
		case TIMESTAMPOID:
			return encode_timestamp;
		case TIMESTAMPTZOID:
			return encode_timestamptz;
		case TIMEOID:
			return encode_time;
		case TIMETZOID:
			return encode_timetz;
		case INTERVALOID:
			return encode_interval;
		case BYTEAOID:
			return encode_bytea;
		case UUIDOID:
			return encode_uuid;
		default:
			return encoder_choose_by_kind(enc, cxt);
	}
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
	enc->encode = encoder_choose(enc, cxt);
	MemoryContextSwitchTo(oldcxt);
}

/* The value of a lower-case hex digit (as append_escape() writes them). */
static unsigned int
hex_value(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

/*
 * Appends the contents of a JSON string (s, len: between the quotes) as
 * raw UTF-8.  Handles exactly the escapes append_escape() writes: the short
 * ones and \u00XX.  \u0080 to \u00ff only come from bytes that are not
 * UTF-8 in a SQL_ASCII database: they become the four characters \xHH, and
 * (sql_ascii true) backslashes are doubled, so that such a key cannot give
 * the same text as a valid one ("k" + byte e9 vs "k" + UTF-8 e-acute).
 */
static void
json_unescape_into(StringInfo out, const char *s, int len, bool sql_ascii)
{
	const char *end = s + len;
	const char *p;

	for (p = s; p < end; p++)
	{
		unsigned int c;

		if (*p != '\\' || p + 1 >= end)
		{
			appendStringInfoCharMacro(out, *p);
			continue;
		}
		p++;
		switch (*p)
		{
			case 'b':
				appendStringInfoCharMacro(out, '\b');
				break;
			case 'f':
				appendStringInfoCharMacro(out, '\f');
				break;
			case 'n':
				appendStringInfoCharMacro(out, '\n');
				break;
			case 'r':
				appendStringInfoCharMacro(out, '\r');
				break;
			case 't':
				appendStringInfoCharMacro(out, '\t');
				break;
			case 'u':
				if (p + 4 >= end)
					elog(ERROR, "truncated \\u escape in encoder output");
				c = (hex_value(p[3]) << 4) | hex_value(p[4]);
				if (c < 0x80)
					appendStringInfoCharMacro(out, (char) c);
				else
					appendStringInfo(out, "\\x%02x", c);
				p += 4;
				break;
			case '\\':
				if (sql_ascii)
					appendStringInfoCharMacro(out, '\\');
				appendStringInfoCharMacro(out, '\\');
				break;
			default:
				appendStringInfoCharMacro(out, *p);
				break;
		}
	}
}

/*
 * Writes the text of a non-finite float or numeric ("NaN", "Infinity",
 * "-Infinity"), whose JSON form null would make different keys equal.
 * Returns false (writing nothing) for any other value or type.
 */
static bool
number_append_id_text(StringInfo out, Datum value, const ValueEncoder *enc)
{
	double		d;
	char	   *s;

	if (enc->encode == encode_numeric)
	{
		s = DatumGetCString(DirectFunctionCall1(numeric_out, value));
		if (s[0] == 'N' || s[0] == 'I' || (s[0] == '-' && s[1] == 'I'))
		{
			appendStringInfoString(out, s);
			return true;
		}
		return false;
	}
	if (enc->encode == encode_float8)
		d = DatumGetFloat8(value);
	else if (enc->encode == encode_float4)
		d = DatumGetFloat4(value);
	else
		return false;
	if (isnan(d))
		appendStringInfoString(out, "NaN");
	else if (isinf(d))
		appendStringInfoString(out, d < 0 ? "-Infinity" : "Infinity");
	else
		return false;
	return true;
}

/*
 * See encode.h.  Values whose JSON form is null (infinite dates, NaN, ...)
 * get a text of their own here, so that different keys never share an _id.
 * json and jsonb keys are their JSON text, string scalars included.
 */
void
encoder_append_id_text(StringInfo out, Datum value, const ValueEncoder *enc)
{
	StringInfoData buf;

	if (datetime_append_id_text(out, value, enc) ||
		number_append_id_text(out, value, enc))
		return;
	initStringInfo(&buf);
	enc->encode(&buf, value, enc);
	if (buf.data[0] == '"' && enc->encode != encode_json &&
		enc->encode != encode_jsonb)
		json_unescape_into(out, buf.data + 1, buf.len - 2,
						   GetDatabaseEncoding() == PG_SQL_ASCII);
	else
		appendBinaryStringInfo(out, buf.data, buf.len);
	pfree(buf.data);
}
