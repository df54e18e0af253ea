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
extern bool datetime_append_id_text(StringInfo out, Datum value,
									const ValueEncoder *enc);

/* encode_compound.c */
extern void encode_array(StringInfo out, Datum value, const ValueEncoder *enc);
extern void encode_range(StringInfo out, Datum value, const ValueEncoder *enc);
extern void encode_multirange(StringInfo out, Datum value,
							  const ValueEncoder *enc);
extern void encode_composite(StringInfo out, Datum value,
							 const ValueEncoder *enc);

/* encode_json.c */
extern void encode_json(StringInfo out, Datum value, const ValueEncoder *enc);
extern void encode_jsonb(StringInfo out, Datum value, const ValueEncoder *enc);

/* encode.c: writes a signed decimal integer, the digits only */
extern void json_append_int64(StringInfo out, int64 value);

#endif							/* PG2ES_ENCODE_INTERNAL_H */
