/*
 * reindex.h
 *		Online reindex and backfill: carrying out the rows of
 *		pg2es.requests while the stream goes on (README, "Changing a mapping
 *		without downtime"; docs/design.md, "Online reindex").
 *
 * The work runs in a child process (the worker), forked by the streaming
 * process when a request may be open: at start, and when a REQUEST frame
 * with state 'requested' arrives (reindex_on_request, request.h). The worker has its own connections and
 * its own HTTP client, takes the open requests of the slot one at a time
 * (oldest first) and moves each through its states in pg2es.requests:
 *
 *	requested -> copying -> switching -> done, or failed (+ error)
 *
 * reindex: create the next generation ALIAS~gN with the mapping derived
 * now and index.gc_deletes raised (a delete streamed into it before the
 * copy sent the row's older version keeps its tombstone for the copy's
 * whole duration); record 'copying' + target_index, from which commit on
 * the decoder writes every change of the table to both generations; copy
 * the table in the snapshot of a temporary slot (load_copy_into), taken
 * after that commit; check the copy against the table (verify_index) in a
 * snapshot the stream has confirmed; record 'switching'; move the alias
 * with one _aliases request; reset gc_deletes; delete the old generation
 * unless keep_old; record 'done'.
 * backfill: the same copy into the current concrete index (no dual
 * writes), then the documents older than the copy's version, whose rows
 * are gone, are deleted (prune.h); 'done'.
 * A TRUNCATE of the table while it is copied (seen as a new relfilenode)
 * makes the worker copy it again in a fresh snapshot and prune the older
 * documents, so that no row copied before the TRUNCATE survives it.
 *
 * The streaming process only forks, reaps and reports: it never waits on
 * the worker. The worker dies with it (PR_SET_PDEATHSIG) and a restart
 * resumes every open request from its recorded state.
 */
#ifndef PG2ES_REINDEX_H
#define PG2ES_REINDEX_H

#include <signal.h>
#include <sys/types.h>

#include "cfg.h"
#include "http.h"

/* What the worker shares with the streaming process (MAP_SHARED). */
typedef struct ReindexShared
{
	Metrics		load;			/* the copy's figures (load.c writes the load_*
								 * members; load_table is the worker's
								 * pointer: never read here) */
	int64_t		request;		/* the request being carried out, or 0 */
	char		step[16];		/* the step it is at */
	char		table[256];		/* its table */
} ReindexShared;

/* The streaming process's side. */
typedef struct Reindexer
{
	const Config *cfg;
	ReindexShared *shared;		/* mmap'd, or NULL when unavailable */
	pid_t		worker;			/* running worker, or 0 */
	bool		pending;		/* a request may be open: fork when idle */
	int64_t		retry_at;		/* not before this (a worker ended early) */
	volatile sig_atomic_t *stop;
} Reindexer;

extern PG2ES_MUSTCHECK bool reindex_init(Reindexer *rx, const Config *cfg,
										 volatile sig_atomic_t *stop);
extern void reindex_poll(Reindexer *rx, Metrics *metrics);
extern void reindex_free(Reindexer *rx);

#endif							/* PG2ES_REINDEX_H */
