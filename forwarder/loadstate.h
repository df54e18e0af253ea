/*
 * loadstate.h
 *		The initial load's durable progress: rows of pg2es.load_state.
 *
 * One row per slot and table (chunk 0): recorded as not done before the
 * snapshot is taken, then its plan (chunks, pages) and version, then done
 * once Elasticsearch holds every item of the table. A restart copies again
 * the tables of its slot that are not done (README, "Initial load"). A
 * slot whose creation failed leaves no row behind.
 * Every function runs on the load's autocommit control connection and logs
 * its failures.
 */
#ifndef PG2ES_LOADSTATE_H
#define PG2ES_LOADSTATE_H

#include <libpq-fe.h>

#include "common.h"

/* The tables of a slot whose load is unfinished, by name (owned). */
typedef struct LoadStateTables
{
	char	  **names;
	size_t		n;
} LoadStateTables;

extern PG2ES_MUSTCHECK bool loadstate_unfinished(PGconn *conn, const char *slot,
												 LoadStateTables *out);
extern void loadstate_tables_free(LoadStateTables *tables);
extern PG2ES_MUSTCHECK bool loadstate_record_pending(PGconn *conn, const char *slot,
													 const char *const *tables, size_t n,
													 bool forget_slot);
extern void loadstate_forget_missing_slot(PGconn *conn, const char *slot);
extern PG2ES_MUSTCHECK bool loadstate_record_plan(PGconn *conn, const char *slot,
												  const char *table, Lsn version,
												  uint32_t chunks, uint64_t pages);
extern PG2ES_MUSTCHECK bool loadstate_record_done(PGconn *conn, const char *slot,
												  const char *table, Lsn version,
												  uint64_t rows);

#endif							/* PG2ES_LOADSTATE_H */
