/*-------------------------------------------------------------------------
 *
 * encode_compound.c
 *		Arrays, ranges, multiranges and composite values as JSON.
 *
 * Each writes its parts with the part type's own encoder (enc->element or
 * enc->fields), prepared once by encoder_init().
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "datatype/timestamp.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/arrayaccess.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/rangetypes.h"
#include "utils/typcache.h"
#ifdef TYPTYPE_MULTIRANGE
#include "utils/multirangetypes.h"
#endif

#include "encode_internal.h"

/*
 * How the bounds of a range are written, by subtype.  The engines store a
 * range as two closed bounds: an exclusive one is moved by one unit of the
 * field (1 for integers, the next float or double, 1 ms for dates, after
 * cutting to milliseconds), and a range whose bounds then cross is refused.
 *
 * BOUNDS_AS_IS: integers, dates, float4 and float8, whose every value the
 * field holds exactly and whose unit is the engine's: gt/gte/lt/lte by
 * inclusivity mean what PostgreSQL means.
 * BOUNDS_TIMESTAMP: timestamp and timestamptz, whose microseconds the
 * engine cuts to milliseconds: an exclusive bound becomes the inclusive one
 * 1 microsecond inward (but see close_bound), and the engine's cut keeps
 * every timestamp of the range, as a date field holds it, inside.
 * BOUNDS_NUMERIC: numeric, read as the nearest double: both bounds written
 * inclusive, the smallest closed range of doubles holding the range (an
 * exclusive numeric bound has values arbitrarily close to it, which are
 * the same double).
 */
typedef enum RangeBounds
{
	BOUNDS_AS_IS,
	BOUNDS_TIMESTAMP,
	BOUNDS_NUMERIC
} RangeBounds;

static void append_array_dimension(StringInfo out, array_iter *it, int ndim,
								   const int *dims, int dim, int *index,
								   const ValueEncoder *elem);
static RangeBounds range_bounds_of(const ValueEncoder *elem);
static bool range_holds_no_value(const RangeBound *lower, const RangeBound *upper,
								 const ValueEncoder *elem);
static void close_bound(RangeBound *bound, RangeBounds kind, int step);
static bool append_numeric_bound(StringInfo out, Datum bound, bool is_lower);
static bool append_range_bound(StringInfo out, const RangeBound *bound, bool first,
							   const ValueEncoder *elem);
static void append_range(StringInfo out, RangeType *r, const ValueEncoder *elem);

/*
 * Appends dimension dim (and those inside it) of an array as a JSON array,
 * taking the elements in storage order from it; *index counts them.
 */
static void
append_array_dimension(StringInfo out, array_iter *it, int ndim,
					   const int *dims, int dim, int *index,
					   const ValueEncoder *elem)
{
	int			i;

	appendStringInfoCharMacro(out, '[');
	for (i = 0; i < dims[dim]; i++)
	{
		if (i > 0)
			appendStringInfoCharMacro(out, ',');
		if (dim + 1 < ndim)
			append_array_dimension(out, it, ndim, dims, dim + 1, index, elem);
		else
		{
			bool		isnull;
			Datum		d = array_iter_next(it, &isnull, (*index)++,
											elem->typlen, elem->typbyval,
											elem->typalign);

			if (isnull)
				appendBinaryStringInfo(out, "null", 4);
			else
				elem->encode(out, d, elem);
		}
	}
	appendStringInfoCharMacro(out, ']');
}

/*
 * Arrays: one nested JSON array per dimension, lower bounds dropped.  An
 * empty array (no dimensions) is [].
 */
void
encode_array(StringInfo out, Datum value, const ValueEncoder *enc)
{
	AnyArrayType *arr = DatumGetAnyArrayP(value);
	int			ndim = AARR_NDIM(arr);
	array_iter	it;
	int			index = 0;

	if (ndim <= 0)
	{
		appendBinaryStringInfo(out, "[]", 2);
		return;
	}
	array_iter_setup(&it, arr);
	append_array_dimension(out, &it, ndim, AARR_DIMS(arr), 0, &index,
						   enc->element);
}

/* The RangeBounds of a range whose subtype elem encodes. */
static RangeBounds
range_bounds_of(const ValueEncoder *elem)
{
	switch (elem->basetypid)
	{
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			return BOUNDS_TIMESTAMP;
		case NUMERICOID:
			return BOUNDS_NUMERIC;
		default:
			return BOUNDS_AS_IS;
	}
}

/*
 * Whether a non-empty range (lower, upper) holds no value of its subtype:
 * both bounds finite and exclusive with nothing between them, as in (1,2)
 * of a range type over integer without canonical function, or
 * (t, t + 1 microsecond).  Only the subtypes that have a next value can.
 */
static bool
range_holds_no_value(const RangeBound *lower, const RangeBound *upper,
					 const ValueEncoder *elem)
{
	if (lower->infinite || upper->infinite || lower->inclusive ||
		upper->inclusive)
		return false;
	switch (elem->basetypid)
	{
		case INT2OID:
			return DatumGetInt16(lower->val) + 1 == DatumGetInt16(upper->val);
		case INT4OID:
		case DATEOID:
			return (int64) DatumGetInt32(lower->val) + 1 ==
				DatumGetInt32(upper->val);
		case INT8OID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			return DatumGetInt64(lower->val) < PG_INT64_MAX &&
				DatumGetInt64(lower->val) + 1 == DatumGetInt64(upper->val);
		case FLOAT4OID:
			return nextafterf(DatumGetFloat4(lower->val), INFINITY) ==
				DatumGetFloat4(upper->val);
		case FLOAT8OID:
			return nextafter(DatumGetFloat8(lower->val), INFINITY) ==
				DatumGetFloat8(upper->val);
		default:
			return false;
	}
}

/*
 * Makes bound inclusive for BOUNDS_TIMESTAMP and BOUNDS_NUMERIC: a finite
 * exclusive timestamp moves by 1 microsecond inward (step +1 for a lower
 * bound, -1 for an upper one); a numeric stays where it is.  An exclusive
 * upper timestamp on a whole millisecond stays as it is ("lt"): the
 * engine's one millisecond down is then exact, and [10:00, 11:00) keeps
 * its plain form.
 */
static void
close_bound(RangeBound *bound, RangeBounds kind, int step)
{
	int64		ts;

	if (bound->inclusive || kind == BOUNDS_AS_IS)
		return;
	if (kind == BOUNDS_NUMERIC)
	{
		bound->inclusive = true;
		return;
	}
	ts = DatumGetInt64(bound->val);
	if (TIMESTAMP_NOT_FINITE(ts) || (!bound->lower && ts % 1000 == 0))
		return;
	bound->inclusive = true;
	bound->val = Int64GetDatum(ts + step);
}

/*
 * Appends a numeric bound the engines can read as a double: its text when
 * numeric_text_is_engine_number() allows it, else the double's shortest
 * text, with a bound beyond a double's range clamped to the largest double
 * when it lies inward.  Returns false, writing nothing, for one that lies
 * outward (-1e400 below, 1e400 above) and for NaN and +-Infinity: that side
 * is then unbounded.
 */
static bool
append_numeric_bound(StringInfo out, Datum bound, bool is_lower)
{
	char	   *s = DatumGetCString(DirectFunctionCall1(numeric_out, bound));
	char		buf[DOUBLE_SHORTEST_DECIMAL_LEN];
	double		d;

	/* NaN and +-Infinity: null, as for the other subtypes' infinities */
	if (s[0] == 'N' || s[0] == 'I' || (s[0] == '-' && s[1] == 'I'))
		return false;
	if (numeric_text_is_engine_number(s, &d))
	{
		appendStringInfoString(out, s);
		return true;
	}
	if (isinf(d) && (d < 0) == is_lower)
		return false;
	if (isinf(d))
		d = d < 0 ? -DBL_MAX : DBL_MAX;
	appendBinaryStringInfo(out, buf, double_to_shortest_decimal_bufn(d, buf));
	return true;
}

/*
 * Appends "key":bound (key from the bound's side and inclusivity, after a
 * comma unless first), or nothing when the bound's encoding is null (an
 * infinite date or timestamp, NaN: for the engines the same as an
 * unbounded side) or it is a numeric that lies outward beyond a double's
 * range.  Returns whether something was written.
 */
static bool
append_range_bound(StringInfo out, const RangeBound *bound, bool first,
				   const ValueEncoder *elem)
{
	int			start = out->len;
	int			valstart;
	bool		written;

	if (!first)
		appendStringInfoCharMacro(out, ',');
	appendStringInfoString(out, bound->lower ?
						   (bound->inclusive ? "\"gte\":" : "\"gt\":") :
						   (bound->inclusive ? "\"lte\":" : "\"lt\":"));
	valstart = out->len;
	if (elem->basetypid == NUMERICOID)
		written = append_numeric_bound(out, bound->val, bound->lower);
	else
	{
		elem->encode(out, bound->val, elem);
		written = !(out->len - valstart == 4 &&
					memcmp(out->data + valstart, "null", 4) == 0);
	}
	if (!written)
	{
		out->len = start;
		out->data[start] = '\0';
	}
	return written;
}

/*
 * Appends the range r as {"gte":..,"lt":..} (RangeBounds says which keys),
 * an unbounded side left out ({} when both are), null for an empty range
 * and for one that holds no value of its subtype (range_holds_no_value).
 * elem encodes the bounds.
 */
static void
append_range(StringInfo out, RangeType *r, const ValueEncoder *elem)
{
	TypeCacheEntry *typcache = lookup_type_cache(RangeTypeGetOid(r),
												 TYPECACHE_RANGE_INFO);
	RangeBounds kind = range_bounds_of(elem);
	RangeBound	lower;
	RangeBound	upper;
	bool		empty;
	bool		has_lower = false;

	if (typcache->rngelemtype == NULL)
		elog(ERROR, "type %u is not a range type", RangeTypeGetOid(r));
	range_deserialize(typcache, r, &lower, &upper, &empty);
	if (empty || range_holds_no_value(&lower, &upper, elem))
	{
		appendBinaryStringInfo(out, "null", 4);
		return;
	}
	close_bound(&lower, kind, 1);
	close_bound(&upper, kind, -1);
	appendStringInfoCharMacro(out, '{');
	if (!lower.infinite)
		has_lower = append_range_bound(out, &lower, true, elem);
	if (!upper.infinite)
		(void) append_range_bound(out, &upper, !has_lower, elem);
	appendStringInfoCharMacro(out, '}');
}

/* Ranges: see append_range(); enc->element encodes the subtype. */
void
encode_range(StringInfo out, Datum value, const ValueEncoder *enc)
{
	append_range(out, DatumGetRangeTypeP(value), enc->element);
}

/*
 * Multiranges: a JSON array of their ranges' objects (enc->element is the
 * range type's encoder).  Only servers that have multiranges choose this.
 */
void
encode_multirange(StringInfo out, Datum value, const ValueEncoder *enc)
{
#ifdef TYPTYPE_MULTIRANGE
	MultirangeType *mr = DatumGetMultirangeTypeP(value);
	TypeCacheEntry *typcache = lookup_type_cache(MultirangeTypeGetOid(mr),
												 TYPECACHE_MULTIRANGE_INFO);
	int32		count;
	RangeType **ranges;
	int32		i;

	if (typcache->rngtype == NULL)
		elog(ERROR, "type %u is not a multirange type",
			 MultirangeTypeGetOid(mr));
	multirange_deserialize(typcache->rngtype, mr, &count, &ranges);
	appendStringInfoCharMacro(out, '[');
	for (i = 0; i < count; i++)
	{
		if (i > 0)
			appendStringInfoCharMacro(out, ',');
		append_range(out, ranges[i], enc->element->element);
	}
	appendStringInfoCharMacro(out, ']');
#else
	elog(ERROR, "multiranges are not supported by this server");
#endif
}

/*
 * Composite values: {"field":value,...} in attribute order, dropped
 * attributes left out.  A value stored before ALTER TYPE ... ADD ATTRIBUTE
 * has fewer attributes: heap_deform_tuple() gives NULL for the missing ones.
 */
void
encode_composite(StringInfo out, Datum value, const ValueEncoder *enc)
{
	HeapTupleHeader th = DatumGetHeapTupleHeader(value);
	TupleDesc	desc = enc->rowdesc;
	HeapTupleData tuple;
	Datum	   *values;
	bool	   *nulls;
	bool		first = true;
	int			i;

	check_stack_depth();
	tuple.t_len = HeapTupleHeaderGetDatumLength(th);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = th;
	values = palloc(sizeof(Datum) * Max(desc->natts, 1));
	nulls = palloc(sizeof(bool) * Max(desc->natts, 1));
	heap_deform_tuple(&tuple, desc, values, nulls);

	appendStringInfoCharMacro(out, '{');
	for (i = 0; i < desc->natts; i++)
	{
		if (!composite_append_field_key(out, TupleDescAttr(desc, i), &first))
			continue;
		if (nulls[i])
			appendBinaryStringInfo(out, "null", 4);
		else
			enc->fields[i].encode(out, values[i], &enc->fields[i]);
	}
	appendStringInfoCharMacro(out, '}');
	pfree(values);
	pfree(nulls);
}
