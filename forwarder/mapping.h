/*
 * mapping.h
 *		Index mappings derived from the tables (pg2es.mapping()).
 *
 * With --mappings=schema (the default) every covered table's index name is
 * an alias (generation.h): when neither an index nor an alias of that name
 * exists, generation 1 is created before anything is written to it, with
 * PUT /ALIAS~g1 {"aliases": {ALIAS: {"is_write_index": true}}, "mappings":
 * pg2es.mapping(table, options) + _meta.pg2es}; settings are left to the
 * cluster (and its index templates). An existing index or alias is never
 * changed. --mappings=dynamic does nothing, so Elasticsearch creates a
 * concrete index at the first write and its dynamic mapping or the user's
 * own index template applies. Columns added later fall back to dynamic
 * mapping.
 */
#ifndef PG2ES_MAPPING_H
#define PG2ES_MAPPING_H

#include <libpq-fe.h>

#include "catalog.h"
#include "escall.h"

/*
 * Index creation for relations that first show up in the stream (RELATION
 * frames name the index of the changes that follow), e.g. tables created
 * after the sync started. The cache derives the request body; the stream's
 * own pipeline sends it (sync.c), so the stream never waits on it. Each
 * index is created once per run.
 */
typedef struct MappingCache
{
	const Config *cfg;
	PGconn	   *conn;			/* opened at the first need */
	char	   *optlit;			/* owned */
	char	  **known;			/* owned: indexes created or found existing */
	size_t		nknown;
	bool		disabled;		/* --mappings=dynamic, or no extension */
} MappingCache;

/* What a relation's index needs. */
typedef enum MappingNeed
{
	MAPPING_NOTHING,			/* known already, or mappings are off */
	MAPPING_CREATE,				/* send PUT /index with the body given */
	MAPPING_ASK_AGAIN			/* PostgreSQL could not be asked (logged) */
} MappingNeed;

/* What Elasticsearch's answer to PUT /index means. */
typedef enum MappingOutcome
{
	MAPPING_CREATED,
	MAPPING_EXISTED,			/* left as it is */
	MAPPING_REFUSED,			/* for good: the index gets a dynamic mapping */
	MAPPING_RETRY				/* no answer, 429, 5xx, 401/403: send again */
} MappingOutcome;

extern void mapping_cache_init(MappingCache *mc, const Config *cfg);
extern void mapping_cache_free(MappingCache *mc);
extern PG2ES_MUSTCHECK MappingNeed mapping_for_relation(MappingCache *mc, uint64_t relid,
														const char *index, size_t len,
														Buf *body);
extern void mapping_note_created(MappingCache *mc, const char *index);
extern MappingOutcome mapping_create_outcome(long status, const char *body, size_t len);
extern PG2ES_MUSTCHECK bool mapping_create_body(Buf *body, const char *mapping,
												const char *table, const char *alias,
												size_t alias_len, unsigned int generation,
												bool with_alias, const char *settings);
extern PG2ES_MUSTCHECK bool mapping_ensure_indexes(PGconn *conn, const Config *cfg,
												   EsCall *call, const CatalogTables *tables,
												   MappingCache *seen);
extern PG2ES_MUSTCHECK bool mapping_create_generation(PGconn *conn, const char *optlit,
													  EsCall *call, const CatalogTable *t,
													  const char *index,
													  unsigned int generation,
													  const char *settings);
extern int	mapping_print(const Config *cfg);

#endif							/* PG2ES_MAPPING_H */
