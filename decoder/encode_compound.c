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

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/arrayaccess.h"
#include "utils/rangetypes.h"
#include "utils/typcache.h"
#ifdef TYPTYPE_MULTIRANGE
#include "utils/multirangetypes.h"
#endif

#include "encode_internal.h"

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

/*
 * Appends "key":bound for a range bound, or nothing when the bound's
 * encoding is null (an infinite date or timestamp: for Elasticsearch that is
 * the same as an unbounded side).  Returns whether something was written.
 */
static bool
append_range_bound(StringInfo out, const char *key, Datum bound,
				   const ValueEncoder *elem)
{
	int			start = out->len;

	appendStringInfoString(out, key);
	elem->encode(out, bound, elem);
	if (out->len - start == strlen(key) + 4 &&
		memcmp(out->data + out->len - 4, "null", 4) == 0)
	{
		out->len = start;
		out->data[start] = '\0';
		return false;
	}
	return true;
}

/*
 * Appends the range r as {"gte":..,"lt":..}: gt/gte for the lower bound
 * and lt/lte for the upper one by inclusivity, an unbounded side left out
 * ({} when both are), null for an empty range.  elem encodes the bounds.
 */
static void
append_range(StringInfo out, RangeType *r, const ValueEncoder *elem)
{
	TypeCacheEntry *typcache = lookup_type_cache(RangeTypeGetOid(r),
												 TYPECACHE_RANGE_INFO);
	RangeBound	lower;
	RangeBound	upper;
	bool		empty;
	bool		has_lower = false;

	if (typcache->rngelemtype == NULL)
		elog(ERROR, "type %u is not a range type", RangeTypeGetOid(r));
	range_deserialize(typcache, r, &lower, &upper, &empty);
	if (empty)
	{
		appendBinaryStringInfo(out, "null", 4);
		return;
	}
	appendStringInfoCharMacro(out, '{');
	if (!lower.infinite)
		has_lower = append_range_bound(out,
									   lower.inclusive ? "\"gte\":" : "\"gt\":",
									   lower.val, elem);
	if (!upper.infinite)
		(void) append_range_bound(out,
								  upper.inclusive ?
								  (has_lower ? ",\"lte\":" : "\"lte\":") :
								  (has_lower ? ",\"lt\":" : "\"lt\":"),
								  upper.val, elem);
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
