/*
 * sync.h
 *		The pipeline from frames to Elasticsearch and back to acknowledgement.
 *
 * Owns the lanes (each a batch queue and an HTTP client), the LSN
 * bookkeeping and the dead-letter store; the main loop feeds it replication messages and lets
 * it run between waits.
 */
#ifndef PG2ES_SYNC_H
#define PG2ES_SYNC_H

#include "ack.h"
#include "bulk.h"
#include "cfg.h"
#include "dlq.h"
#include "es.h"
#include "http.h"
#include "log.h"
#include "move.h"
#include "truncate.h"

typedef enum SyncStatus
{
	SYNC_OK,
	SYNC_RECONNECT,				/* start the stream again (logged) */
	SYNC_FATAL					/* stop: the reason is logged */
} SyncStatus;

/*
 * One lane: a batch queue and its request in flight. The data lanes carry
 * the bulk items, each document always in the same one; the barrier lane
 * carries what must not overlap any other request (TRUNCATE, index
 * creation, a key change's rebuild) and the probe.
 */
typedef struct SyncLane
{
	BulkQueue	queue;
	Es			es;				/* lane 0's owns the multi handle */
	bool		in_flight;		/* the queue head (or the probe) is being sent */
	int64_t		retry_at;		/* do not send before this (backoff) */
} SyncLane;

typedef struct Sync
{
	const Config *cfg;
	Metrics    *metrics;
	SyncLane   *lanes;			/* owned: nlanes data lanes, then the barrier
								 * lane */
	size_t		nlanes;
	uint64_t	barriers;		/* barriers queued so far (epochs) */
	Ack			ack;
	Dlq			dlq;
	bool		probed;			/* GET / answered: the cluster is there */
	uint32_t	probe_attempts;
	int64_t		progress_us;	/* Elasticsearch last took something, or the
								 * queue was last empty */
	LogState	es_state;
	char		forbidden_action[128];	/* named by the 403 last logged, or "" */
	char	   *path;			/* URL path of the request in flight, owned */
	TruncateJob truncate;		/* progress of the barrier lane's TRUNCATE */
	const Batch *truncating;	/* the TRUNCATE batch truncate is for, or NULL */
	MovePlan	move;			/* what the barrier lane's MOVE batch says */
	const Batch *moving;		/* the MOVE batch move is for, or NULL */
	struct MappingCache *mappings;	/* derives the mappings of indexes new in
									 * the stream; NULL = off; borrowed */
	char	   *split;			/* a split CHANGE frame being put together
								 * (owned, malloc'd), or NULL */
	size_t		split_have;		/* its bytes so far */
	size_t		split_len;		/* its whole size */
	struct Reindexer *reindex;	/* told of REQUEST frames; NULL = off;
								 * borrowed */
} Sync;

extern PG2ES_MUSTCHECK bool sync_init(Sync *sync, const Config *cfg, Metrics *metrics);
extern void sync_free(Sync *sync);
extern void sync_reset(Sync *sync);
extern PG2ES_MUSTCHECK SyncStatus sync_add_message(Sync *sync, const char *data, size_t len,
												   int64_t now_us);
extern void sync_keepalive(Sync *sync, Lsn wal_end);
extern PG2ES_MUSTCHECK SyncStatus sync_add_frame(Sync *sync, const Frame *frame, int64_t now_us);
extern PG2ES_MUSTCHECK SyncStatus sync_add_owned_message(Sync *sync, void *block,
														 const char *data, size_t len,
														 int64_t now_us);
extern PG2ES_MUSTCHECK SyncStatus sync_add_owned_frame(Sync *sync, const Frame *frame,
													   void **block, int64_t now_us);
extern PG2ES_MUSTCHECK SyncStatus sync_run(Sync *sync, int64_t now_us);
extern int64_t sync_deadline(Sync *sync, int64_t now_us);
extern bool sync_idle(const Sync *sync);
extern bool sync_stalled(const Sync *sync, int64_t now_us);
extern void sync_flush_now(Sync *sync);
extern size_t sync_buffered_bytes(const Sync *sync);
extern Es  *sync_es(Sync *sync);

#endif							/* PG2ES_SYNC_H */
