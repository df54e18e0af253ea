/*-------------------------------------------------------------------------
 *
 * encode_mapping.c
 *		The Elasticsearch field mapping that fits each type's JSON form.
 *
 *	smallint, integer                 integer
 *	bigint, oid                       long
 *	real / double precision           float / double
 *	numeric(p,0), p <= 18             long
 *	numeric(p,s), 1 <= s <= 6,        scaled_float, scaling_factor 10^s
 *	p <= 15                           (every such value is exact in a double)
 *	other numeric                     double, ignore_malformed (a value
 *	                                  beyond a double's range, 1e400, stays
 *	                                  in _source instead of failing the
 *	                                  document)
 *	boolean                           boolean
 *	date, timestamp, timestamptz      date (the default format reads them;
 *	                                  Elasticsearch keeps milliseconds)
 *	text, varchar, char(n), name      text, with a keyword sub-field
 *	                                  "keyword" (ignore_above 256)
 *	json, jsonb                       object, or flattened when asked
 *	                                  (an object field refuses documents
 *	                                  whose value is a scalar or an array);
 *	                                  objects in them deeper than the
 *	                                  engines' depth limit are disabled
 *	                                  (kept in _source, not indexed) by a
 *	                                  dynamic template
 *	bytea                             binary
 *	inet                              ip, ignore_malformed (an address with
 *	                                  a netmask, "10.0.0.1/8", is kept in
 *	                                  _source but not indexed)
 *	cidr                              ip_range (CIDR notation)
 *	uuid                              keyword
 *	arrays                            the element's mapping
 *	ranges, multiranges               integer_range, long_range, float_range,
 *	                                  double_range, date_range by subtype;
 *	                                  object for other subtypes
 *	composite types                   object with one property per field;
 *	                                  at the depth limit a disabled object
 *	domains                           their base type (and typmod)
 *	everything else                   keyword, ignore_above 8191 (Lucene
 *	                                  refuses terms over 32766 bytes)
 *
 * Depth: the engines refuse a mapping whose objects nest deeper than
 * index.mapping.depth.limit (20): an object whose path has k names is at
 * depth k + 1.  So objects at paths of ES_DEEPEST_OBJECT_PATH names (19)
 * are mapped {"type":"object","enabled":false}: the engine keeps what is
 * inside them in _source and neither parses nor maps it.  Composite fields
 * get that here; objects inside json and jsonb values get it from the
 * dynamic template of encoder_append_es_dynamic_templates(), whose
 * path_match of 19 "*" joined by dots matches exactly the paths of 19
 * names or more.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/lsyscache.h"

#include "encode_internal.h"

#define MAPPING_TEXT \
	"{\"type\":\"text\",\"fields\":{\"keyword\":{\"type\":\"keyword\",\"ignore_above\":256}}}"
#define MAPPING_NUMERIC_DOUBLE "{\"type\":\"double\",\"ignore_malformed\":true}"
#define MAPPING_KEYWORD_LONG "{\"type\":\"keyword\",\"ignore_above\":8191}"
#define MAPPING_DISABLED_OBJECT "{\"type\":\"object\",\"enabled\":false}"

/* index.mapping.depth.limit's default, less one: see the top of the file */
#define ES_DEEPEST_OBJECT_PATH 19

static void append_mapping_at(StringInfo out, const ValueEncoder *enc,
							  int32 typmod, bool jsonb_flattened, int names);

static void append_numeric_mapping(StringInfo out, int32 typmod);
static const char *scalar_mapping(Oid basetypid, bool jsonb_flattened);
static void append_range_mapping(StringInfo out, const ValueEncoder *elem);
static void append_composite_mapping(StringInfo out, const ValueEncoder *enc,
									 bool jsonb_flattened, int names);
static void append_mapping_at(StringInfo out, const ValueEncoder *enc, int32 typmod,
							  bool jsonb_flattened, int names);

/*
 * Appends the mapping for numeric with the given typmod (-1: none).
 */
static void
append_numeric_mapping(StringInfo out, int32 typmod)
{
	int			precision;
	int			scale;

	if (typmod < (int32) VARHDRSZ)
	{
		appendStringInfoString(out, MAPPING_NUMERIC_DOUBLE);
		return;
	}
	precision = ((typmod - VARHDRSZ) >> 16) & 0xffff;
	/* the scale is an 11-bit signed field (negative scales since 15) */
	scale = (((typmod - VARHDRSZ) & 0x7ff) ^ 1024) - 1024;
	if (scale == 0 && precision <= 18)
		appendStringInfoString(out, "{\"type\":\"long\"}");
	else if (scale >= 1 && scale <= 6 && precision <= 15)
	{
		int			factor = 1;

		while (scale-- > 0)
			factor *= 10;
		appendStringInfo(out,
						 "{\"type\":\"scaled_float\",\"scaling_factor\":%d}",
						 factor);
	}
	else
		appendStringInfoString(out, MAPPING_NUMERIC_DOUBLE);
}

/*
 * Returns the mapping of a scalar base type, or NULL for numeric (whose
 * mapping depends on the typmod).
 */
static const char *
scalar_mapping(Oid basetypid, bool jsonb_flattened)
{
	switch (basetypid)
	{
		case INT2OID:
		case INT4OID:
			return "{\"type\":\"integer\"}";
		case INT8OID:
		case OIDOID:
			return "{\"type\":\"long\"}";
		case FLOAT4OID:
			return "{\"type\":\"float\"}";
		case FLOAT8OID:
			return "{\"type\":\"double\"}";
		case NUMERICOID:
			return NULL;
		case BOOLOID:
			return "{\"type\":\"boolean\"}";
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			return "{\"type\":\"date\"}";
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case NAMEOID:
			return MAPPING_TEXT;
		case JSONOID:
		case JSONBOID:
			return jsonb_flattened ? "{\"type\":\"flattened\"}" :
				"{\"type\":\"object\"}";
		case BYTEAOID:
			return "{\"type\":\"binary\"}";
		case INETOID:
			return "{\"type\":\"ip\",\"ignore_malformed\":true}";
		case CIDROID:
			return "{\"type\":\"ip_range\"}";
		case UUIDOID:
			return "{\"type\":\"keyword\"}";
		default:
			return MAPPING_KEYWORD_LONG;
	}
}

/*
 * Appends the range field type for a range whose bounds elem encodes.
 */
static void
append_range_mapping(StringInfo out, const ValueEncoder *elem)
{
	const char *type;

	switch (elem->basetypid)
	{
		case INT2OID:
		case INT4OID:
			type = "integer_range";
			break;
		case INT8OID:
			type = "long_range";
			break;
		case FLOAT4OID:
			type = "float_range";
			break;
		case FLOAT8OID:
		case NUMERICOID:
			type = "double_range";
			break;
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			type = "date_range";
			break;
		default:
			type = "object";
			break;
	}
	appendStringInfo(out, "{\"type\":\"%s\"}", type);
}

/*
 * Appends {"properties":{...}} for a composite type at a path of names
 * names, one mapping per live field.
 */
static void
append_composite_mapping(StringInfo out, const ValueEncoder *enc,
						 bool jsonb_flattened, int names)
{
	TupleDesc	desc = enc->rowdesc;
	bool		first = true;
	int			i;

	appendStringInfoString(out, "{\"properties\":{");
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!composite_append_field_key(out, att, &first))
			continue;
		append_mapping_at(out, &enc->fields[i], att->atttypmod,
						  jsonb_flattened, names + 1);
	}
	appendStringInfoString(out, "}}");
}

/*
 * See encode.h: the mapping of a column (a path of one name).
 */
void
encoder_append_es_mapping(StringInfo out, const ValueEncoder *enc,
						  int32 typmod, bool jsonb_flattened)
{
	append_mapping_at(out, enc, typmod, jsonb_flattened, 1);
}

/*
 * See encode.h.
 */
bool
encoder_es_mapping_is_dynamic(const ValueEncoder *enc, bool jsonb_flattened)
{
	int			i;

	if (enc->rowdesc != NULL)
	{
		for (i = 0; i < enc->rowdesc->natts; i++)
			if (!TupleDescAttr(enc->rowdesc, i)->attisdropped &&
				encoder_es_mapping_is_dynamic(&enc->fields[i], jsonb_flattened))
				return true;
		return false;
	}
	if (enc->element != NULL)
		return get_typtype(enc->basetypid) != TYPTYPE_RANGE &&
#ifdef TYPTYPE_MULTIRANGE
			get_typtype(enc->basetypid) != TYPTYPE_MULTIRANGE &&
#endif
			encoder_es_mapping_is_dynamic(enc->element, jsonb_flattened);
	return !jsonb_flattened &&
		(enc->basetypid == JSONOID || enc->basetypid == JSONBOID);
}

/*
 * See encode.h.  The template's name says whose it is.
 */
void
encoder_append_es_dynamic_templates(StringInfo out)
{
	int			i;

	appendStringInfoString(out, "[{\"pg2es_beyond_depth_limit\":{\"path_match\":\"*");
	for (i = 1; i < ES_DEEPEST_OBJECT_PATH; i++)
		appendStringInfoString(out, ".*");
	appendStringInfoString(out, "\",\"match_mapping_type\":\"object\",\"mapping\":"
						   MAPPING_DISABLED_OBJECT "}}]");
}

/*
 * Appends the mapping of enc's type for a field at a path of names names.
 * typmod is the column's (for arrays it applies to the elements); a domain
 * without one of its own takes the domain's.  An object at
 * ES_DEEPEST_OBJECT_PATH names is disabled (see the top of the file).
 */
static void
append_mapping_at(StringInfo out, const ValueEncoder *enc, int32 typmod,
				  bool jsonb_flattened, int names)
{
	const char *mapping;

	if (enc->typid != enc->basetypid && typmod < 0)
		(void) getBaseTypeAndTypmod(enc->typid, &typmod);
	if (names >= ES_DEEPEST_OBJECT_PATH &&
		(enc->rowdesc != NULL ||
		 (!jsonb_flattened && enc->element == NULL &&
		  (enc->basetypid == JSONOID || enc->basetypid == JSONBOID))))
	{
		appendStringInfoString(out, MAPPING_DISABLED_OBJECT);
		return;
	}
	if (enc->rowdesc != NULL)
	{
		append_composite_mapping(out, enc, jsonb_flattened, names);
		return;
	}
	if (enc->element != NULL)
	{
		char		typtype = get_typtype(enc->basetypid);

		if (typtype == TYPTYPE_RANGE)
			append_range_mapping(out, enc->element);
#ifdef TYPTYPE_MULTIRANGE
		else if (typtype == TYPTYPE_MULTIRANGE)
			append_range_mapping(out, enc->element->element);
#endif
		else
			append_mapping_at(out, enc->element, typmod, jsonb_flattened,
							  names);
		return;
	}
	mapping = scalar_mapping(enc->basetypid, jsonb_flattened);
	if (mapping != NULL)
		appendStringInfoString(out, mapping);
	else
		append_numeric_mapping(out, typmod);
}
