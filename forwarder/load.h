/*
 * load.h
 *		Before streaming: create the covered tables' indexes with their
 *		mappings, and copy the existing rows (the initial load).
 *
 * When the forwarder creates its slot (--create-slot, slot missing, and no
 * --no-initial-load) the slot is created with an exported snapshot and every
 * covered table is copied inside that snapshot, each item carrying the
 * slot's consistent point as its version: a streamed change commits later,
 * so it always has the higher version and wins under external_gte.
 *
 * When the slot exists, the tables named by --snapshot and the tables whose
 * load was interrupted (pg2es.load_state rows not done) are copied inside
 * the snapshot of a temporary slot, at its consistent point, which the
 * stream (still behind that point) overtakes exactly where it must.
 *
 * A table is recorded done in pg2es.load_state only once Elasticsearch has
 * acknowledged (or the dead-letter file holds) every one of its items; a
 * restart copies every table not recorded done again, whole. Streaming
 * starts after the load: a delete streamed while a long copy still runs
 * could otherwise be overtaken by the copied row once Elasticsearch has
 * forgotten the delete's tombstone (index.gc_deletes, 60 s by default).
 */
#ifndef PG2ES_LOAD_H
#define PG2ES_LOAD_H

#include <libpq-fe.h>
#include <signal.h>

#include "cfg.h"
#include "http.h"
#include "mapping.h"

typedef enum LoadStatus
{
	LOAD_OK,					/* done, or nothing to do: stream */
	LOAD_STOPPED,				/* a stop signal came; resumes at the next
								 * start */
	LOAD_FAILED					/* logged */
} LoadStatus;

/* room for an exported snapshot's name */
#define LOAD_SNAPSHOT_NAME_SIZE 64

/*
 * load_export_snapshot: on a new replication connection (*repl, to be
 * PQfinish'ed once every reader ran SET TRANSACTION SNAPSHOT), a temporary
 * slot with an exported snapshot: its name into snapshot, its consistent
 * point into *version, the version to give what is read in it (external_gte:
 * a change streamed later always has a higher one). Returns false, logged,
 * when PostgreSQL refused.
 */
extern PG2ES_MUSTCHECK bool load_export_snapshot(const Config *cfg, PGconn **repl, char *snapshot,
												 Lsn *version);
extern LoadStatus load_prepare(const Config *cfg, Metrics *metrics, Http *http,
							   volatile sig_atomic_t *stop, MappingCache *mappings);
extern LoadStatus load_copy_into(const Config *cfg, Metrics *metrics, unsigned int relid,
								 const char *index, volatile sig_atomic_t *stop, Lsn *version);

#endif							/* PG2ES_LOAD_H */
