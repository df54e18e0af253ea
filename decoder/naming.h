/*-------------------------------------------------------------------------
 *
 * naming.h
 *		Elasticsearch index names and the hashing of over-long names and ids.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG2ES_NAMING_H
#define PG2ES_NAMING_H

#include "lib/stringinfo.h"

/* Elasticsearch's limits, in bytes. */
#define ES_MAX_INDEX_NAME 255
#define ES_MAX_ID 512

extern void naming_default_index(StringInfo out, const char *prefix,
								 const char *schema, const char *table);
extern bool naming_parse_default_index(const char *index, const char *prefix,
									   char **schema, char **table);
extern const char *naming_index_problem(const char *name, bool is_prefix);
extern void naming_append_sha256_hex(StringInfo out, const char *data,
									 int len, int ndigits);

#endif							/* PG2ES_NAMING_H */
