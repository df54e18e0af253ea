/*
 * catalog.h
 *		What the initial load, the mappings and verify ask PostgreSQL over an
 *		ordinary (non-replication) connection: the covered tables, their
 *		index names, and the plugin options as an SQL text[] literal for the
 *		pg2es extension's functions (docs/design.md "SQL extension").
 */
#ifndef PG2ES_CATALOG_H
#define PG2ES_CATALOG_H

#include <libpq-fe.h>

#include "cfg.h"
#include "common.h"
#include "log.h"

/* One covered table. */
typedef struct CatalogTable
{
	unsigned int relid;			/* pg_class oid */
	char	   *name;			/* schema.table, each part quoted as needed */
	char	   *index;			/* its Elasticsearch index */
	bool		partitioned;	/* rows live in its leaf partitions */
	double		reltuples;		/* planner estimate; < 0 unknown */
} CatalogTable;

typedef struct CatalogTables
{
	CatalogTable *items;		/* owned */
	size_t		n;
} CatalogTables;

/* What the publications option publishes of one relation (catalog_published). */
typedef struct CatalogPublished
{
	char	   *row_filter;		/* SQL condition on its columns, malloc'd;
								 * NULL = all rows */
	bool		deletes;		/* some publication having it publishes delete */
} CatalogPublished;

extern PGconn *catalog_connect(const Config *cfg);
extern char *catalog_options_literal(PGconn *conn, const Config *cfg);
extern PG2ES_MUSTCHECK bool catalog_tables(PGconn *conn, const Config *cfg,
										   const char *const *patterns, size_t npatterns,
										   CatalogTables *out);
extern void catalog_tables_free(CatalogTables *tables);
extern bool catalog_has_extension(PGconn *conn, const char *needed_by, LogLevel level);
extern PG2ES_MUSTCHECK bool catalog_published(PGconn *conn, const Config *cfg, unsigned int relid,
											  CatalogPublished *out);
extern PG2ES_MUSTCHECK bool catalog_request_backfill(const Config *cfg, unsigned int relid,
													 const char *table, size_t len);
extern PG2ES_MUSTCHECK bool catalog_exec(PGconn *conn, const char *sql, ExecStatusType expect);

#endif							/* PG2ES_CATALOG_H */
