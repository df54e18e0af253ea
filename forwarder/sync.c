/*
 * sync.c
 *		The pipeline from frames to Elasticsearch and back to acknowledgement.
 *
 * The bulk items are spread over lanes (--lanes) by a hash of their index
 * and _id, so that every item of a document travels in one lane, in stream
 * order. Each lane has one request in flight: the head of its batch queue.
 * What its response says decides each item's fate (bulkresp.c): done items
 * are acknowledged (ack.c, which confirms a transaction only once its items
 * in every lane are done), refused ones dead-lettered first, transient
 * failures sent again alone after a backoff, and a request refused as a
 * whole is split in two until the item that spoils it is alone. Nothing
 * after a lane's head is sent in that lane while the head is unresolved, so
 * the order of a document's changes is kept.
 *
 * A TRUNCATE, an index creation and a key change rebuilt from the old
 * document go in the barrier lane: each starts once every lane has stored
 * everything queued before it, and nothing queued after it is sent before
 * it is done. Barriers are numbered (epochs, bulk_set_epoch): a batch may
 * go once the barriers before it are done.
 */
#include "sync.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulkresp.h"
#include "catalog.h"
#include "frame.h"
#include "generation.h"
#include "jsoncmp.h"
#include "mapping.h"
#include "request.h"

static bool init_lanes(Sync *sync, const EsOptions *opt);
static SyncLane *barrier_lane(const Sync *sync);
static uint64_t barriers_done(const Sync *sync);
static BulkQueue *begin_barrier(Sync *sync);
static void note_lane_depths(Sync *sync);
static size_t retry_after_first(const Batch *head, const BulkRespItem *items, bool *retry);

/* retry backoff: 100 ms doubling to 30 s, each wait cut by up to half at random */
#define BACKOFF_BASE_US 100000
#define BACKOFF_MAX_US (30 * 1000000)

enum
{
	ES_STATE_OK = 1,
	ES_STATE_UNREACHABLE,
	ES_STATE_HTTP_ERROR,
	ES_STATE_FORBIDDEN
};

/*
 * backoff_us: wait before attempt number attempts+1 (exponential, jitter so
 * many forwarders do not retry in step).
 */
static int64_t
backoff_us(uint32_t attempts)
{
	int64_t		wait = BACKOFF_BASE_US << (attempts < 9 ? attempts : 9);

	if (wait > BACKOFF_MAX_US)
		wait = BACKOFF_MAX_US;
	return wait / 2 + (int64_t) ((double) rand() / RAND_MAX * (double) (wait / 2));
}

/*
 * sync_init: set up the pipeline for cfg (borrowed; must outlive it).
 * Returns false (logged) when the HTTP client or memory fails, with nothing
 * to free (common.h).
 */
bool
sync_init(Sync *sync, const Config *cfg, Metrics *metrics)
{
	EsOptions	opt;

	memset(sync, 0, sizeof(*sync));
	sync->cfg = cfg;
	sync->metrics = metrics;
	ack_init(&sync->ack, 0);
	es_options_from_config(&opt, cfg);
	opt.gzip = cfg->es_gzip;
	srand((unsigned int) pg2es_wall_us());

	/*
	 * Batch bodies are large and short-lived (bulk.c reserves each whole).
	 * glibc raises its mmap threshold after the first large free, after which
	 * such blocks come from the heap, whose holes are not given back; a fixed
	 * threshold keeps them mmap'd, so that freeing a batch returns its memory
	 * and resident memory follows --max-memory. Smaller blocks (libpq's copy
	 * of each message, up to about 64 kB) come and go once per message: a
	 * heap top kept up to 1 MB spares them the page faults of giving it back
	 * to the kernel and taking it again every time.
	 */
	if (mallopt(M_MMAP_THRESHOLD, 256 * 1024) != 1 ||
		mallopt(M_TRIM_THRESHOLD, 1024 * 1024) != 1)
		log_debug("could not set the malloc thresholds (not glibc's malloc?)");
	if (!dlq_init(&sync->dlq, cfg->dead_letter_file))
		log_error("out of memory");
	else if (init_lanes(sync, &opt))
		return true;
	sync_free(sync);
	return false;
}

/*
 * init_lanes: cfg's lane count of data lanes, and the barrier lane. Under
 * versioning=off one data lane: without external versions the engine
 * applies whatever arrives last, so the order of requests is the only
 * guard, and nothing would catch an item whose document the hash did not
 * keep in its lane. Lane i starts at node i modulo the nodes, so that the
 * lanes spread over them. A lane's batches are at most a 2 * lanes'th of
 * --max-memory (and --bulk-max-bytes): a batch in flight and one filling
 * per lane fit in it. Returns false (logged) when out of memory or curl
 * fails.
 */
static bool
init_lanes(Sync *sync, const EsOptions *opt)
{
	const Config *cfg = sync->cfg;
	size_t		n = cfg_versioning_off(cfg) ? 1 : (size_t) cfg->lanes;
	size_t		batch = cfg->bulk_max_bytes;
	size_t		i;

	if (n < 1)
		n = 1;
	if (batch > cfg->max_memory / (2 * n))
		batch = cfg->max_memory / (2 * n);
	if ((sync->lanes = calloc(n + 1, sizeof(SyncLane))) == NULL)
	{
		log_error("out of memory");
		return false;
	}
	sync->nlanes = n;
	for (i = 0; i <= n; i++)
		bulk_queue_init(&sync->lanes[i].queue, batch, cfg->bulk_max_items,
						(int64_t) cfg->bulk_linger_ms * 1000);
	if (!es_init(&sync->lanes[0].es, opt))
		return false;
	for (i = 1; i <= n; i++)
		if (!es_init_lane(&sync->lanes[i].es, opt, &sync->lanes[0].es, i == n ? 0 : i))
			return false;
	if (n < (size_t) cfg->lanes)
		log_info("one lane, not %d: versioning=off keeps every change in stream order",
				 cfg->lanes);
	log_debug("%zu lanes, batches of at most %zu bytes", n, batch);
	sync->metrics->lanes = (uint32_t) n;
	return true;
}

/*
 * barrier_lane: the lane of TRUNCATEs, index creations, key-change
 * rebuilds and the probe.
 */
static SyncLane *
barrier_lane(const Sync *sync)
{
	return &sync->lanes[sync->nlanes];
}

/*
 * barriers_done: how many barriers are done: those before the barrier
 * lane's head (whose epoch is its own number), or all queued when it is
 * empty. A data batch of epoch e may be sent once barriers_done >= e.
 */
static uint64_t
barriers_done(const Sync *sync)
{
	const Batch *head = bulk_head(&barrier_lane(sync)->queue);

	return head ? head->epoch : sync->barriers;
}

/*
 * begin_barrier: number a new barrier and return the queue to append it
 * to: it gets epoch k (the barriers before it), and every data lane seals
 * its filling batch and numbers what follows k + 1, so that the barrier
 * starts after every lane's earlier batches and before their later ones.
 */
static BulkQueue *
begin_barrier(Sync *sync)
{
	uint64_t	k = sync->barriers++;
	size_t		i;

	bulk_set_epoch(&barrier_lane(sync)->queue, k);
	for (i = 0; i < sync->nlanes; i++)
		bulk_set_epoch(&sync->lanes[i].queue, k + 1);
	return &barrier_lane(sync)->queue;
}

/*
 * sync_free: release everything.
 */
void
sync_free(Sync *sync)
{
	size_t		i;

	/* lane 0's Es owns the multi handle the others share: freed last */
	for (i = sync->lanes ? sync->nlanes + 1 : 0; i-- > 0;)
	{
		es_free(&sync->lanes[i].es);
		bulk_queue_free(&sync->lanes[i].queue);
	}
	free(sync->lanes);
	sync->lanes = NULL;
	ack_free(&sync->ack);
	dlq_close(&sync->dlq);
	truncate_job_free(&sync->truncate);
	move_plan_free(&sync->move);
	free(sync->split);
	sync->split = NULL;
}

/*
 * sync_reset: forget everything not yet acknowledged, for a new replication
 * connection: the slot will send it again from the confirmed position.
 */
void
sync_reset(Sync *sync)
{
	Lsn			confirmed = sync->ack.confirmed;
	size_t		i;

	for (i = 0; i <= sync->nlanes; i++)
	{
		es_cancel(&sync->lanes[i].es);
		sync->lanes[i].in_flight = false;
		bulk_queue_free(&sync->lanes[i].queue);
		sync->lanes[i].queue.epoch = 0;
	}
	sync->barriers = 0;
	sync->metrics->requests_in_flight = 0;
	truncate_job_free(&sync->truncate);
	sync->truncating = NULL;
	move_plan_free(&sync->move);
	sync->moving = NULL;
	free(sync->split);
	sync->split = NULL;
	ack_free(&sync->ack);
	ack_init(&sync->ack, confirmed);
	sync->progress_us = pg2es_now_us();
}

/*
 * note_confirmed: publish the confirmed position and the lag in metrics:
 * how long the oldest committed change not yet confirmed has waited since
 * its commit, 0 once everything is confirmed (so that an alert on it ends
 * with the outage). While the oldest transaction is still arriving (its
 * COMMIT not read yet) the lag is left as it was.
 */
static void
note_confirmed(Sync *sync)
{
	int64_t		oldest = ack_oldest_commit_time(&sync->ack);

	sync->metrics->confirmed_lsn = sync->ack.confirmed;
	if (ack_idle(&sync->ack))
		sync->metrics->lag_seconds = 0;
	else if (oldest > 0)
		sync->metrics->lag_seconds = (double) (pg2es_wall_us() - oldest) / 1e6;
}

/*
 * item_action: the action item i of CHANGE frame is queued under; a
 * partial update whose missing document means loss gets its own.
 */
static ItemAction
item_action(const Frame *frame, size_t i)
{
	if (frame->items[i].action == ITEM_UPDATE &&
		(frame->flags & FRAME_FLAG_MISSING_IS_LOSS))
		return ITEM_UPDATE_MUST_EXIST;
	return frame->items[i].action;
}

/*
 * queue_index_creation: a RELATION frame: when its index may not exist
 * yet, queue its creation with the table's mapping ahead of the changes
 * that follow.
 */
static SyncStatus
queue_index_creation(Sync *sync, const Frame *frame)
{
	Buf			body;
	SyncStatus	status = SYNC_OK;

	log_debug("relation %llu uses index \"%.*s\"", (unsigned long long) frame->relid,
			  (int) frame->relation_index_len, frame->relation_index);
	buf_init(&body);
	switch (mapping_for_relation(sync->mappings, frame->relid, frame->relation_index,
								 frame->relation_index_len, &body))
	{
		case MAPPING_NOTHING:
			break;
		case MAPPING_CREATE:
			if (!bulk_append_create_index(begin_barrier(sync), frame->relation_index,
										  frame->relation_index_len, body.data, body.len))
			{
				log_error("out of memory while buffering changes");
				status = SYNC_FATAL;
			}
			break;
		case MAPPING_ASK_AGAIN:
			status = SYNC_RECONNECT;
			break;
	}
	buf_free(&body);
	return status;
}

/*
 * queue_backfill: a COVERED frame: a publication change brought a table
 * under the stream. Its index is created as for a RELATION frame, and its
 * existing rows are asked for (catalog_request_backfill) before the
 * transaction's COMMIT frame can be confirmed; when that fails the stream
 * starts again from what was confirmed, which brings the frame back.
 */
static SyncStatus
queue_backfill(Sync *sync, const Frame *frame)
{
	SyncStatus	status = queue_index_creation(sync, frame);

	if (status == SYNC_OK &&
		!catalog_request_backfill(sync->cfg, (unsigned int) frame->relid, frame->covered_table,
								  frame->covered_table_len))
		status = SYNC_RECONNECT;
	return status;
}

/*
 * is_move: a CHANGE frame whose partial update's document Elasticsearch
 * cannot have (a key change keeping a TOASTed value): rebuilt from the old
 * document (move.h). Under delete-mode=soft the old document's removal is
 * an "index" marking it deleted.
 */
static bool
is_move(const Frame *frame)
{
	return (frame->flags & FRAME_FLAG_MISSING_IS_LOSS) && frame->nitems == 2 &&
		(frame->items[0].action == ITEM_DELETE || frame->items[0].action == ITEM_INDEX) &&
		frame->items[1].action == ITEM_UPDATE;
}

/*
 * refuse_oversized: an item of len bytes larger than what the cluster takes
 * in one request (--es-max-content-length, its http.max_content_length) is
 * never sent: Elasticsearch would refuse the whole request with 413. It is
 * written to the dead-letter file with an error naming its size and the
 * limit (or stops the sync under --on-item-error=stop), synced at once
 * since nothing else waits for it, and the sync goes on without it.
 */
static SyncStatus
refuse_oversized(Sync *sync, const char *data, size_t len)
{
	const char *nl = memchr(data, '\n', len);
	int			action_len = nl ? (int) (nl - data) : (int) len;
	char		error[256];

	snprintf(error, sizeof(error),
			 "{\"type\":\"item_too_large\",\"reason\":\"the item is %zu bytes, over the request limit of %zu bytes (--es-max-content-length, the cluster's http.max_content_length)\"}",
			 len, sync->cfg->es_max_content_length);
	metrics_item_error(sync->metrics, "item_too_large");
	if (sync->cfg->on_item_error == ON_ITEM_ERROR_STOP)
	{
		log_error("item %.*s is %zu bytes, over the request limit of %zu bytes; stopping (--on-item-error=stop)",
				  action_len, data, len, sync->cfg->es_max_content_length);
		return SYNC_FATAL;
	}
	log_warning("item %.*s is %zu bytes, over the request limit of %zu bytes (--es-max-content-length): written to the dead-letter file, not sent",
				action_len, data, len, sync->cfg->es_max_content_length);
	if (!dlq_write(&sync->dlq, data, len, 413, error) || !dlq_sync(&sync->dlq))
		return SYNC_FATAL;
	sync->metrics->dead_lettered++;
	return SYNC_OK;
}

/*
 * queue_item: queue item i of CHANGE frame under transaction seq: adopting
 * *block (the caller's malloc'd block holding the item, or NULL; set to
 * NULL once adopted) when the item travels alone anyway, so that its bytes
 * are not copied; else copied. Returns false when out of memory.
 */
static bool
queue_item(Sync *sync, const Frame *frame, size_t i, uint64_t seq, void **block,
		   int64_t now_us)
{
	const FrameItem *item = &frame->items[i];
	BulkQueue  *q = &sync->lanes[bulk_item_lane(item->data, item->len, sync->nlanes)].queue;

	if (block && *block && item->len > q->max_bytes)
	{
		if (!bulk_adopt_item(q, *block, item->data, item->len, item_action(frame, i), seq))
			return false;
		*block = NULL;
		return true;
	}
	return bulk_append_item(q, item->data, item->len, item_action(frame, i), seq, now_us);
}

/*
 * add_frame: hand one frame to the queue and the bookkeeping; block as for
 * queue_item.
 */
static SyncStatus
add_frame(Sync *sync, const Frame *frame, void **block, int64_t now_us)
{
	uint64_t	seq;
	size_t		i;

	switch (frame->kind)
	{
		case FRAME_CHANGE:
			if (is_move(frame))
			{
				uint64_t	seqs[2];

				if (!ack_add_item(&sync->ack, &seqs[0]) || !ack_add_item(&sync->ack, &seqs[1]) ||
					!bulk_append_move(begin_barrier(sync), frame, seqs))
					goto oom;
				break;
			}
			for (i = 0; i < frame->nitems; i++)
			{
				if (frame->items[i].len > sync->cfg->es_max_content_length)
				{
					if (refuse_oversized(sync, frame->items[i].data, frame->items[i].len) != SYNC_OK)
						return SYNC_FATAL;
					continue;
				}
				if (!ack_add_item(&sync->ack, &seq) ||
					!queue_item(sync, frame, i, seq, block, now_us))
					goto oom;
			}
			break;
		case FRAME_TRUNCATE:
			if (!ack_add_item(&sync->ack, &seq) ||
				!bulk_append_truncate(begin_barrier(sync), frame, seq))
				goto oom;
			break;
		case FRAME_COMMIT:
			if (!ack_commit(&sync->ack, frame->end_lsn, frame->commit_time))
				goto oom;
			note_confirmed(sync);
			break;
		case FRAME_RELATION:
			return queue_index_creation(sync, frame);
		case FRAME_REQUEST:
			if (!reindex_on_request(sync, &frame->request))
				return SYNC_FATAL;
			break;
		case FRAME_COVERED:
			return queue_backfill(sync, frame);
	}
	return SYNC_OK;
oom:
	log_error("out of memory while buffering changes");
	return SYNC_FATAL;
}

/*
 * sync_add_message: queue the frames of one 'w' message (data is copied).
 * A malformed message stops the sync: the forwarder never guesses.
 */
SyncStatus
sync_add_message(Sync *sync, const char *data, size_t len, int64_t now_us)
{
	return sync_add_owned_message(sync, NULL, data, len, now_us);
}

/*
 * begin_split: the message ended inside a CHANGE frame split over messages
 * (FRAME_PARTIAL): keep its first part, rest[0..len), in a block of the
 * whole frame's size, which the next messages fill (add_split_piece). A
 * block that large is mmap'd, so only the pages written so far count.
 */
static SyncStatus
begin_split(Sync *sync, const Frame *frame, const char *rest, size_t len)
{
	if ((sync->split = malloc(frame->whole_len)) == NULL)
	{
		log_error("out of memory for a change of %zu bytes", frame->whole_len);
		return SYNC_FATAL;
	}
	memcpy(sync->split, rest, len);
	sync->split_have = len;
	sync->split_len = frame->whole_len;
	return SYNC_OK;
}

/*
 * add_split_piece: the message data[0..len) (in block, freed here) is the
 * next piece of the split CHANGE frame; once it is whole, the frame is
 * queued as a message of its own, whose block the queue may adopt as the
 * item's request body: the item's bytes are held once.
 */
static SyncStatus
add_split_piece(Sync *sync, void *block, const char *data, size_t len, int64_t now_us)
{
	char	   *whole = sync->split;

	if (len > sync->split_len - sync->split_have)
	{
		free(block);
		log_error("invalid data from the pg2es plugin: a piece of a split CHANGE frame runs %zu bytes past its end (is the server's plugin the same version?)",
				  len - (sync->split_len - sync->split_have));
		return SYNC_FATAL;
	}
	memcpy(whole + sync->split_have, data, len);
	sync->split_have += len;
	free(block);
	if (sync->split_have < sync->split_len)
		return SYNC_OK;
	sync->split = NULL;
	return sync_add_owned_message(sync, whole, whole, sync->split_len, now_us);
}

/*
 * sync_add_owned_message: as sync_add_message, but the sync takes block, a
 * malloc'd block holding data[0..len) (PQgetCopyData's buffer; NULL =
 * none): an item too large to share a request is queued without a copy
 * (queue_item), and the block is freed when it is not kept. A CHANGE
 * frame split over messages (FRAME_FLAG_CONTINUED) is put together from
 * them first.
 */
SyncStatus
sync_add_owned_message(Sync *sync, void *block, const char *data, size_t len,
					   int64_t now_us)
{
	FrameReader reader;
	Frame		frame;
	FrameStatus fs;
	char		err[256];
	SyncStatus	status = SYNC_OK;
	const char *rest;
	size_t		rest_len;

	if (sync->split)
		return add_split_piece(sync, block, data, len, now_us);
	frame_reader_init(&reader, data, len);
	while (status == SYNC_OK && (fs = frame_reader_next(&reader, &frame, err, sizeof(err))) == FRAME_OK)
		status = add_frame(sync, &frame, &block, now_us);
	if (status == SYNC_OK && fs == FRAME_PARTIAL)
	{
		frame_reader_rest(&reader, &rest, &rest_len);
		status = begin_split(sync, &frame, rest, rest_len);
	}
	free(block);
	if (status == SYNC_OK && fs == FRAME_ERROR)
	{
		log_error("invalid data from the pg2es plugin: %s (is the server's plugin the same version?)", err);
		return SYNC_FATAL;
	}
	return status;
}

/*
 * sync_add_frame: queue one frame built by the caller instead of read from
 * a message: the initial load's items and its per-table commits (load.c).
 * The frame's bytes are copied.
 */
SyncStatus
sync_add_frame(Sync *sync, const Frame *frame, int64_t now_us)
{
	return add_frame(sync, frame, NULL, now_us);
}

/*
 * sync_add_owned_frame: as sync_add_frame, with *block a malloc'd block
 * holding the frame's item (or NULL), which the sync may take to queue the
 * item without a copy (*block is then set to NULL; else it stays the
 * caller's).
 */
SyncStatus
sync_add_owned_frame(Sync *sync, const Frame *frame, void **block, int64_t now_us)
{
	return add_frame(sync, frame, block, now_us);
}

/*
 * sync_keepalive: the server's WAL end, from a keepalive; confirmed when
 * nothing is pending.
 */
void
sync_keepalive(Sync *sync, Lsn wal_end)
{
	if (wal_end > sync->metrics->server_wal_end)
		sync->metrics->server_wal_end = wal_end;
	ack_keepalive(&sync->ack, wal_end);
	note_confirmed(sync);
}

/*
 * note_forbidden: Elasticsearch at node refused a request (or a bulk item)
 * with 401 or 403, body[0..len) saying why. Nothing after it in its lane
 * is sent until it goes through (the caller retries with backoff), and
 * nothing after it is confirmed, so this is a waiting
 * state: one ERROR naming the action and what grants it, again only when
 * another action is refused; pg2es_es_forbidden is 1 meanwhile. A role
 * fixed while it waits lets the sync resume without a restart.
 */
static void
note_forbidden(Sync *sync, const char *node, long status, const char *body, size_t len)
{
	char		action[sizeof(sync->forbidden_action)];

	sync->metrics->es_ok = false;
	if (status == 401)
	{
		log_state(&sync->es_state, ES_STATE_HTTP_ERROR, LOG_LEVEL_ERROR,
				  "Elasticsearch at %s answers HTTP 401: authentication failed (check --es-user and the password, or the API key); waiting and retrying",
				  node);
		return;
	}
	sync->metrics->es_forbidden = true;
	(void) es_forbidden_action(body, len, action, sizeof(action));
	if (sync->es_state.current == ES_STATE_FORBIDDEN &&
		strcmp(action, sync->forbidden_action) == 0)
		return;
	sync->es_state.current = ES_STATE_FORBIDDEN;
	memcpy(sync->forbidden_action, action, sizeof(action));
	if (action[0])
		log_error("Elasticsearch at %s answers HTTP 403: pg2es's user may not run [%s]; grant it %s (the README's role \"pg2es\" lists every privilege pg2es needs); nothing after this request is sent until then, it is tried again with backoff",
				  node, action, es_privilege_for(action));
	else
		log_error("Elasticsearch at %s answers HTTP 403: %.*s; nothing after this request is sent until it is allowed, it is tried again with backoff",
				  node, (int) (len > 512 ? 512 : len), body ? body : "");
}

/*
 * other_lane_failing: whether a lane other than lane is retrying a
 * request that failed (its head has failed attempts).
 */
static bool
other_lane_failing(const Sync *sync, const SyncLane *lane)
{
	size_t		i;

	for (i = 0; i <= sync->nlanes; i++)
	{
		const Batch *head = bulk_head(&sync->lanes[i].queue);

		if (&sync->lanes[i] != lane && head && head->attempts > 0)
			return true;
	}
	return false;
}

/*
 * note_es_state: keep metrics and the log in step with whether
 * Elasticsearch answers the request of lane; logs only changes. A success
 * in one lane while another still retries a failure (a 429 or 403 for
 * some requests, a node down for some lanes) changes nothing: the state
 * goes back to "answers" once no lane is failing, so that lanes taking
 * turns do not log the outage again at every retry.
 */
static void
note_es_state(Sync *sync, const SyncLane *lane, const EsResult *r)
{
	if (r->status == 401 || r->status == 403)
	{
		note_forbidden(sync, r->node, r->status, r->body->data, r->body->len);
		return;
	}
	if (r->status != 0 && !es_status_transient(r->status) && other_lane_failing(sync, lane))
		return;
	if (r->status != 0 && !es_status_transient(r->status) &&
		sync->es_state.current == ES_STATE_FORBIDDEN)
		log_info("Elasticsearch at %s allows pg2es's requests again ([%s] was granted); resuming",
				 r->node, sync->forbidden_action);
	sync->metrics->es_forbidden = false;
	if (r->status == 0)
	{
		sync->metrics->es_ok = false;
		log_state(&sync->es_state, ES_STATE_UNREACHABLE, LOG_LEVEL_ERROR,
				  "Elasticsearch at %s is unreachable: %s; retrying", r->node, r->error);
	}
	else if (es_status_transient(r->status))
	{
		sync->metrics->es_ok = r->status == 429;
		log_state(&sync->es_state, ES_STATE_HTTP_ERROR, LOG_LEVEL_WARNING,
				  "Elasticsearch at %s answers HTTP %ld; retrying", r->node, r->status);
	}
	else
	{
		sync->metrics->es_ok = true;
		log_state(&sync->es_state, ES_STATE_OK, LOG_LEVEL_INFO,
				  "Elasticsearch at %s answers", r->node);
	}
}

/*
 * retry_head_later: the head (nretried items of it) goes again after a
 * backoff.
 */
static void
retry_head_later(Sync *sync, SyncLane *lane, Batch *head, size_t nretried, int64_t now_us)
{
	head->attempts++;
	sync->metrics->retries += nretried;
	lane->retry_at = now_us + backoff_us(head->attempts);
}

/*
 * refuse_item: item i of batch b was refused for good with status and
 * error (JSON, may be NULL): write it to the dead-letter file, or stop if
 * so configured. The caller syncs the file before acknowledging.
 */
static SyncStatus
refuse_item(Sync *sync, const Batch *b, size_t i, int status, const char *error,
			const char *type)
{
	const BulkItem *item = &b->items[i];
	const char *line = b->body.data + item->off;
	const char *nl = memchr(line, '\n', item->len);
	int			action_len = nl ? (int) (nl - line) : (int) item->len;

	metrics_item_error(sync->metrics, type);
	if (sync->cfg->on_item_error == ON_ITEM_ERROR_STOP)
	{
		log_error("Elasticsearch refused item %.*s with status %d: %s; stopping (--on-item-error=stop)",
				  action_len, line, status, error ? error : "");
		return SYNC_FATAL;
	}
	log_warning("Elasticsearch refused item %.*s with status %d: %s; written to the dead-letter file",
				action_len, line, status, error ? error : "");
	if (!dlq_write(&sync->dlq, line, item->len, status, error))
		return SYNC_FATAL;
	sync->metrics->dead_lettered++;
	return SYNC_OK;
}

/*
 * settle_items: acknowledge every item of the head not marked in retry,
 * then keep only the marked ones (or drop the head when none is).
 */
static SyncStatus
settle_items(Sync *sync, SyncLane *lane, const bool *retry, size_t nretry, int64_t now_us)
{
	Batch	   *head = bulk_head(&lane->queue);
	size_t		i;

	if (!dlq_sync(&sync->dlq))
		return SYNC_FATAL;
	if (nretry < head->nitems || head->nitems == 0)
		sync->progress_us = now_us;
	for (i = 0; i < head->nitems; i++)
		if (!retry || !retry[i])
			ack_item_done(&sync->ack, head->items[i].txn_seq);
	note_confirmed(sync);
	if (nretry == 0)
	{
		bulk_pop_head(&lane->queue);
		return SYNC_OK;
	}
	if (!bulk_replace_head(&lane->queue, retry))
	{
		log_error("out of memory while preparing a retry");
		return SYNC_FATAL;
	}
	retry_head_later(sync, lane, bulk_head(&lane->queue), nretry, now_us);
	return SYNC_OK;
}

/*
 * apply_items: act on a 200 response whose items were read into items.
 */
static SyncStatus
apply_items(Sync *sync, SyncLane *lane, BulkRespItem *items, int64_t now_us)
{
	Batch	   *head = bulk_head(&lane->queue);
	bool	   *retry = calloc(head->nitems, sizeof(bool));
	size_t		nretry = 0;
	size_t		i;
	SyncStatus	status = SYNC_OK;

	if (retry == NULL)
	{
		log_error("out of memory while reading a bulk response");
		return SYNC_FATAL;
	}
	for (i = 0; i < head->nitems && status == SYNC_OK; i++)
	{
		switch (bulkresp_answered_outcome(head->items[i].action, &items[i]))
		{
			case ITEM_DONE:
				break;
			case ITEM_RETRY:
				retry[i] = true;
				nretry++;
				break;
			case ITEM_FAILED:
				status = refuse_item(sync, head, i, items[i].status, items[i].error,
									 items[i].error_type);
				break;
		}
	}
	if (status == SYNC_OK)
	{
		nretry += retry_after_first(head, items, retry);
		status = settle_items(sync, lane, retry, nretry, now_us);
	}
	free(retry);
	return status;
}

/*
 * retry_after_first: mark for sending again every item stored after the
 * first item to be retried (those refused for good excepted); returns how
 * many it marked.  Items of one document in one transaction carry the
 * same version, so external_gte alone does not order them: an index
 * retried after its document's delete (same version) had been applied
 * would bring the row back.  Sending the rest of the batch again, in
 * order, replays what was applied too early; a replay is harmless.
 */
static size_t
retry_after_first(const Batch *head, const BulkRespItem *items, bool *retry)
{
	size_t		i = 0;
	size_t		marked = 0;

	while (i < head->nitems && !retry[i])
		i++;
	for (i++; i < head->nitems; i++)
	{
		if (!retry[i] &&
			bulkresp_answered_outcome(head->items[i].action, &items[i]) == ITEM_DONE)
		{
			retry[i] = true;
			marked++;
		}
	}
	return marked;
}

/*
 * note_bulk_state: note_es_state for a 200 response to a _bulk request
 * read into items[0..n): a privilege missing for an item (403, which waits
 * and is sent again) is noted as for a whole request.
 */
static void
note_bulk_state(Sync *sync, const SyncLane *lane, const EsResult *r, const BulkRespItem *items,
				size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
		if (items[i].status == 403)
		{
			note_forbidden(sync, r->node, 403, items[i].error,
						   items[i].error ? strlen(items[i].error) : 0);
			return;
		}
	note_es_state(sync, lane, r);
}

/*
 * read_response: act on a 200 response to the head's _bulk request. A
 * response we cannot read is treated like no answer: send again.
 */
static SyncStatus
read_response(Sync *sync, SyncLane *lane, const EsResult *r, int64_t now_us)
{
	Batch	   *head = bulk_head(&lane->queue);
	size_t		nitems = head->nitems;
	ItemAction *actions = malloc(nitems * sizeof(ItemAction));
	BulkRespItem *items = malloc(nitems * sizeof(BulkRespItem));
	char		err[256];
	SyncStatus	status = SYNC_OK;

	if (actions == NULL || items == NULL)
	{
		log_error("out of memory while reading a bulk response");
		status = SYNC_FATAL;
	}
	else
	{
		bulk_item_actions(head, actions);
		if (bulkresp_parse(r->body->data, r->body->len, actions, nitems, items,
						   err, sizeof(err)))
		{
			note_bulk_state(sync, lane, r, items, nitems);
			/* may free the head */
			status = apply_items(sync, lane, items, now_us);
			bulkresp_items_free(items, nitems);
		}
		else
		{
			note_es_state(sync, lane, r);
			log_warning("unusable response from %s: %s; sending the request again", r->node, err);
			retry_head_later(sync, lane, head, head->nitems, now_us);
		}
	}
	free(actions);
	free(items);
	return status;
}

/*
 * handle_bulk: act on the outcome of the head's _bulk request.
 */
static SyncStatus
handle_bulk(Sync *sync, SyncLane *lane, const EsResult *r, int64_t now_us)
{
	Batch	   *head = bulk_head(&lane->queue);
	char	   *error;
	SyncStatus	status;

	sync->metrics->bulk_requests++;
	sync->metrics->bulk_seconds_sum += (double) r->latency_us / 1e6;
	switch (bulkresp_request_outcome(r->status))
	{
		case REQUEST_READ_ITEMS:
			head->attempts = 0;
			return read_response(sync, lane, r, now_us);
		case REQUEST_SPLIT:
			if (head->nitems > 1)
			{
				log_info("Elasticsearch refused a request of %zu items with HTTP %ld; splitting it to find the item at fault",
						 head->nitems, r->status);
				sync->progress_us = now_us;
				if (bulk_split_head(&lane->queue))
					return SYNC_OK;
				log_error("out of memory while splitting a request");
				return SYNC_FATAL;
			}
			error = bulkresp_request_error(r->status, r->body->data, r->body->len);
			status = refuse_item(sync, head, 0, (int) r->status, error,
								 r->status == 413 ? "request_too_large" : "request_refused");
			free(error);
			return status == SYNC_OK ? settle_items(sync, lane, NULL, 0, now_us) : status;
		case REQUEST_RETRY:
			retry_head_later(sync, lane, head, head->nitems, now_us);
			break;
	}
	return SYNC_OK;
}

/*
 * truncate_index: index name number i of a TRUNCATE batch (a line of its
 * body) in name and len; false when there is no such line.
 */
static bool
truncate_index(const Batch *b, size_t i, const char **name, size_t *len)
{
	const char *p = b->body.data;
	const char *end = b->body.data + b->body.len;
	const char *nl;

	while (p < end && (nl = memchr(p, '\n', (size_t) (end - p))) != NULL)
	{
		if (i-- == 0)
		{
			*name = p;
			*len = (size_t) (nl - p);
			return true;
		}
		p = nl + 1;
	}
	return false;
}

/*
 * handle_truncate: act on the answer to one step of the head TRUNCATE
 * (truncate.c says which); when its last index is empty, the TRUNCATE is
 * done.
 */
static SyncStatus
handle_truncate(Sync *sync, SyncLane *lane, const EsResult *r, int64_t now_us)
{
	Batch	   *head = bulk_head(&lane->queue);
	TruncateJob *job = &sync->truncate;
	const char *name;
	size_t		len;

	if (!truncate_index(head, job->index, &name, &len))
		return SYNC_FATAL;		/* cannot happen: start_truncate_step checked */
	switch (truncate_job_answer(job, name, len, r->status, r->body->data, r->body->len))
	{
		case TRUNCATE_FATAL:
			return SYNC_FATAL;
		case TRUNCATE_RETRY:
			retry_head_later(sync, lane, head, head->nitems, now_us);
			return SYNC_OK;
		case TRUNCATE_NEXT_STEP:
			head->attempts = 0;
			sync->progress_us = now_us;
			return SYNC_OK;
		case TRUNCATE_INDEX_DONE:
			head->attempts = 0;
			sync->progress_us = now_us;
			truncate_job_next_index(job);
			if (truncate_index(head, job->index, &name, &len))
				return SYNC_OK;
			break;
	}
	log_info("emptied the indexes of a truncated table: %.*s (%llu documents deleted, %llu newer kept)",
			 (int) head->body.len - 1, head->body.data, (unsigned long long) job->deleted,
			 (unsigned long long) job->kept);
	sync->metrics->truncates++;
	truncate_job_free(job);
	sync->truncating = NULL;
	return settle_items(sync, lane, NULL, 0, now_us);
}

/*
 * handle_probe: act on the answer to GET /, which shows the cluster is
 * there (and the credentials work) before any data is sent.
 */
static void
handle_probe(Sync *sync, SyncLane *lane, const EsResult *r, int64_t now_us)
{
	if (r->status == 200)
	{
		sync->probed = true;
		sync->probe_attempts = 0;
		return;
	}
	lane->retry_at = now_us + backoff_us(++sync->probe_attempts);
}

/*
 * start_truncate_step: send the head TRUNCATE's next request, beginning
 * its job when it has just reached the head.
 */
static bool
start_truncate_step(Sync *sync, SyncLane *lane, const Batch *head)
{
	const char *name;
	size_t		len;
	char	   *escaped;
	char		path[1024];
	const char *body;
	size_t		body_len;
	bool		ndjson;
	bool		ok;

	if (sync->truncating != head)
	{
		truncate_job_free(&sync->truncate);
		truncate_job_begin(&sync->truncate, head->truncate_version, cfg_soft_deletes(sync->cfg));
		sync->truncating = head;
	}
	if (!truncate_index(head, sync->truncate.index, &name, &len) ||
		(escaped = es_escape(&lane->es, name, len)) == NULL)
		return false;
	ok = truncate_job_request(&sync->truncate, escaped, path, sizeof(path), &body,
							  &body_len, &ndjson);
	curl_free(escaped);
	return ok && es_request(&lane->es, truncate_job_method(&sync->truncate), path, body,
							body_len, ndjson);
}

/*
 * send_bulk: send the head _bulk batch.
 */
static bool
send_bulk(Sync *sync, SyncLane *lane, const Batch *head)
{
	if (!es_request(&lane->es, "POST", "/_bulk?filter_path=" BULKRESP_FILTER_PATH,
					head->body.data, head->body.len, true))
		return false;
	sync->metrics->documents_sent += head->nitems;
	sync->metrics->bulk_bytes += lane->es.result.bytes_sent;
	return true;
}

/*
 * start_create_index: send PUT /ALIAS~g1 with the head's mapping and alias
 * (the head's index, mapping.h).
 */
static bool
start_create_index(Sync *sync, SyncLane *lane, const Batch *head)
{
	char	   *index = generation_index_name(head->index, strlen(head->index), 1);
	char	   *path = index ? es_index_path(&lane->es, index, "") : NULL;
	bool		ok = path && es_request(&lane->es, "PUT", path, head->body.data, head->body.len,
										false);

	free(path);
	free(index);
	return ok;
}

/*
 * handle_create_index: act on the answer to PUT /index. Only a missing
 * answer (or 429, 5xx, 401/403) is tried again: a refused mapping leaves
 * the index to dynamic mapping rather than hold up the stream.
 */
static SyncStatus
handle_create_index(Sync *sync, SyncLane *lane, const EsResult *r, int64_t now_us)
{
	Batch	   *head = bulk_head(&lane->queue);

	switch (mapping_create_outcome(r->status, r->body->data, r->body->len))
	{
		case MAPPING_RETRY:
			retry_head_later(sync, lane, head, 0, now_us);
			return SYNC_OK;
		case MAPPING_CREATED:
			log_info("created generation 1 behind alias \"%s\" with the mapping of its table",
					 head->index);
			break;
		case MAPPING_EXISTED:
			log_debug("index or alias \"%s\" exists; its mapping is left as it is", head->index);
			break;
		case MAPPING_REFUSED:
			log_error("Elasticsearch refused to create generation 1 behind alias \"%s\" (HTTP %ld): %.*s; it gets a dynamic mapping",
					  head->index, r->status, (int) r->body->len,
					  r->body->data ? r->body->data : "");
			break;
	}
	mapping_note_created(sync->mappings, head->index);
	return settle_items(sync, lane, NULL, 0, now_us);
}

/*
 * move_path: the request path of the head MOVE's current step, into path.
 */
static bool
move_path(Sync *sync, SyncLane *lane, char *path, size_t size)
{
	const MovePlan *plan = &sync->move;
	const char *id = plan->step == MOVE_READ_OLD ? plan->old_id : plan->new_id;
	char	   *eindex = es_escape(&lane->es, plan->index, strlen(plan->index));
	char	   *eid = es_escape(&lane->es, id, strlen(id));
	int			n = -1;

	if (eindex && eid && plan->step == MOVE_PROBE_NEW)
		n = snprintf(path, size, "/%s/_doc/%s?version=%llu&version_type=external_gte", eindex,
					 eid, (unsigned long long) plan->version);
	else if (eindex && eid)
		n = snprintf(path, size, "/%s/_source/%s", eindex, eid);
	curl_free(eindex);
	curl_free(eid);
	return n >= 0 && (size_t) n < size;
}

/*
 * start_move: send the head MOVE's current request (move.h), reading its
 * items first; items that are not what a MOVE should be are sent as they
 * are.
 */
static bool
start_move(Sync *sync, SyncLane *lane, const Batch *head)
{
	char		path[2048];

	if (sync->moving != head)
	{
		move_plan_free(&sync->move);
		if (!move_plan(head->body.data + head->items[0].off, head->items[0].len,
					   head->body.data + head->items[1].off, head->items[1].len, &sync->move))
		{
			log_warning("a key change's items are not as expected; sending them as they are");
			return bulk_resolve_move(&lane->queue, NULL, 0) && send_bulk(sync, lane, bulk_head(&lane->queue));
		}
		sync->moving = head;
	}
	return move_path(sync, lane, path, sizeof(path)) &&
		es_request(&lane->es, sync->move.step == MOVE_PROBE_NEW ? "DELETE" : "GET", path, NULL,
				   0, false);
}

/*
 * end_move: forget the head MOVE's plan once the batch is resolved.
 */
static void
end_move(Sync *sync)
{
	move_plan_free(&sync->move);
	sync->moving = NULL;
}

/*
 * resolve_move: the head MOVE batch becomes a _bulk batch: the document
 * rebuilt from old_source[0..len), or the plugin's items when old_source
 * is NULL or cannot be used.
 */
static SyncStatus
resolve_move(Sync *sync, SyncLane *lane, const char *old_source, size_t len)
{
	Buf			item;
	bool		rebuilt;
	bool		ok;

	buf_init(&item);
	rebuilt = old_source && move_index_item(&sync->move, old_source, len, &item);
	if (old_source && !rebuilt)
		log_warning("the old document %s of index \"%s\" is not a JSON object; sending the key change as it is",
					sync->move.old_id, sync->move.index);
	else if (rebuilt)
		log_info("rebuilt document %s of index \"%s\" from document %s (a key change that kept a TOASTed value)",
				 sync->move.new_id, sync->move.index, sync->move.old_id);
	ok = bulk_resolve_move(&lane->queue, rebuilt ? item.data : NULL, rebuilt ? item.len : 0);
	buf_free(&item);
	end_move(sync);
	if (!ok)
		log_error("out of memory while rebuilding a document");
	return ok ? SYNC_OK : SYNC_FATAL;
}

/*
 * handle_move: act on the answer to the head MOVE's current request
 * (move.h says what each means).
 */
static SyncStatus
handle_move(Sync *sync, SyncLane *lane, const EsResult *r, int64_t now_us)
{
	MovePlan   *plan = &sync->move;

	if (es_status_transient(r->status))
	{
		retry_head_later(sync, lane, bulk_head(&lane->queue), 0, now_us);
		return SYNC_OK;
	}
	sync->progress_us = now_us;
	bulk_head(&lane->queue)->attempts = 0;
	/* an old document marked deleted (delete-mode=soft) is gone as a 404 says */
	if (plan->step == MOVE_READ_OLD && r->status == 200 &&
		!(r->body->data && jsoncmp_member_true(r->body->data, r->body->len, "__deleted")))
		return resolve_move(sync, lane, r->body->data ? r->body->data : "", r->body->len);
	if (plan->step == MOVE_READ_OLD && (r->status == 404 || r->status == 200))
		plan->step = MOVE_READ_NEW;
	else if (plan->step == MOVE_READ_NEW && r->status == 404 && plan->versioned)
		plan->step = MOVE_PROBE_NEW;
	else if (plan->step == MOVE_PROBE_NEW && r->status == 409)
	{
		log_debug("document %s of index \"%s\" was removed by a later change: its key change is moot",
				  plan->new_id, plan->index);
		end_move(sync);
		return settle_items(sync, lane, NULL, 0, now_us);
	}
	else
		return resolve_move(sync, lane, NULL, 0);
	return SYNC_OK;
}

/*
 * may_start: whether lane's head (or the probe) may be sent now, as far
 * as order goes: the probe first, in the barrier lane; a data batch once
 * the barriers before it are done; a barrier once no data lane holds a
 * batch from before it (so none is in flight either).
 */
static bool
may_start(const Sync *sync, const SyncLane *lane, const Batch *head)
{
	size_t		i;

	if (!sync->probed)
		return lane == barrier_lane(sync);
	if (head == NULL)
		return false;
	if (lane != barrier_lane(sync))
		return head->epoch <= barriers_done(sync);
	for (i = 0; i < sync->nlanes; i++)
	{
		const Batch *h = bulk_head(&sync->lanes[i].queue);

		if (sync->lanes[i].in_flight || (h && h->epoch <= head->epoch))
			return false;
	}
	return true;
}

/*
 * start_next: send lane's probe, or its head batch, if it is time.
 */
static void
start_next(Sync *sync, SyncLane *lane, int64_t now_us)
{
	Batch	   *head = bulk_head(&lane->queue);
	bool		ok;

	if (now_us < lane->retry_at || !may_start(sync, lane, head))
		return;
	if (!sync->probed)
		ok = es_request(&lane->es, "GET", "/", NULL, 0, false);
	else if (head->kind == BATCH_TRUNCATE)
		ok = start_truncate_step(sync, lane, head);
	else if (head->kind == BATCH_CREATE_INDEX)
		ok = start_create_index(sync, lane, head);
	else if (head->kind == BATCH_MOVE)
		ok = start_move(sync, lane, head);
	else
		ok = send_bulk(sync, lane, head);
	if (ok)
	{
		lane->in_flight = true;
		sync->metrics->requests_in_flight++;
	}
	else
		lane->retry_at = now_us + backoff_us(5);
}

/*
 * handle_result: act on a finished request.
 */
static SyncStatus
handle_result(Sync *sync, SyncLane *lane, const EsResult *r, int64_t now_us)
{
	Batch	   *head = bulk_head(&lane->queue);
	char		action[sizeof(sync->forbidden_action)];

	if (sync->probed && head->kind == BATCH_BULK && r->status == 200)
		;						/* read_response notes it: items may be 403 */
	else if (sync->probed && head->kind == BATCH_TRUNCATE && r->status == 200 &&
			 sync->truncate.step == TRUNCATE_DELETE_PAGE &&
			 es_forbidden_action(r->body->data, r->body->len, action, sizeof(action)))
		note_forbidden(sync, r->node, 403, r->body->data, r->body->len);	/* deletes refused */
	else if (!sync->probed && r->status != 200 && r->status != 0 &&
			 r->status != 401 && r->status != 403)
	{
		sync->metrics->es_ok = false;
		log_state(&sync->es_state, ES_STATE_HTTP_ERROR, LOG_LEVEL_ERROR,
				  "Elasticsearch at %s answers GET / with HTTP %ld; retrying", r->node, r->status);
	}
	else
		note_es_state(sync, lane, r);
	if (!sync->probed)
	{
		handle_probe(sync, lane, r, now_us);
		return SYNC_OK;
	}
	if (head->kind == BATCH_TRUNCATE)
		return handle_truncate(sync, lane, r, now_us);
	if (head->kind == BATCH_CREATE_INDEX)
		return handle_create_index(sync, lane, r, now_us);
	if (head->kind == BATCH_MOVE)
		return handle_move(sync, lane, r, now_us);
	return handle_bulk(sync, lane, r, now_us);
}

/*
 * run_lane: act on lane's finished request, if any, and start its next.
 */
static SyncStatus
run_lane(Sync *sync, SyncLane *lane, int64_t now_us)
{
	EsResult	r;

	if (es_take_result(&lane->es, &r))
	{
		lane->in_flight = false;
		sync->metrics->requests_in_flight--;
		if (handle_result(sync, lane, &r, now_us) != SYNC_OK)
			return SYNC_FATAL;
	}
	if (!lane->in_flight)
		start_next(sync, lane, now_us);
	return SYNC_OK;
}

/*
 * sync_run: make progress without blocking: seal lingering batches, let
 * curl work, act on finished requests, start the next ones. The barrier
 * lane goes first and last: a barrier done lets the lanes go on in the
 * same turn, and lanes drained let the next barrier start.
 */
SyncStatus
sync_run(Sync *sync, int64_t now_us)
{
	size_t		i;
	bool		empty = true;

	for (i = 0; i <= sync->nlanes; i++)
	{
		(void) bulk_seal_due(&sync->lanes[i].queue, now_us);
		empty = empty && bulk_empty(&sync->lanes[i].queue);
	}
	if (empty)
		sync->progress_us = now_us;
	note_confirmed(sync);		/* the lag grows while nothing is confirmed */
	if (!es_drive(&sync->lanes[0].es))
		return SYNC_FATAL;
	if (run_lane(sync, barrier_lane(sync), now_us) != SYNC_OK)
		return SYNC_FATAL;
	for (i = 0; i < sync->nlanes; i++)
		if (run_lane(sync, &sync->lanes[i], now_us) != SYNC_OK)
			return SYNC_FATAL;
	if (!barrier_lane(sync)->in_flight && run_lane(sync, barrier_lane(sync), now_us) != SYNC_OK)
		return SYNC_FATAL;
	note_lane_depths(sync);
	if (sync->metrics->requests_in_flight > 0 && !es_drive(&sync->lanes[0].es))
		return SYNC_FATAL;
	return SYNC_OK;
}

/*
 * note_lane_depths: each lane's batches held, for /metrics.
 */
static void
note_lane_depths(Sync *sync)
{
	size_t		i;

	for (i = 0; i < sync->nlanes && i < METRICS_MAX_LANES; i++)
		sync->metrics->lane_depth[i] = (uint32_t) bulk_depth(&sync->lanes[i].queue);
}

/*
 * sync_deadline: the time by which sync_run must run again (a linger or a
 * backoff ending), INT64_MAX if only I/O can make progress.
 */
int64_t
sync_deadline(Sync *sync, int64_t now_us)
{
	int64_t		deadline = INT64_MAX;
	size_t		i;

	for (i = 0; i <= sync->nlanes; i++)
	{
		SyncLane   *lane = &sync->lanes[i];
		int64_t		due = bulk_seal_due(&lane->queue, now_us);

		if (due < deadline)
			deadline = due;
		if (!lane->in_flight && may_start(sync, lane, bulk_head(&lane->queue)) &&
			lane->retry_at < deadline)
			deadline = lane->retry_at;
	}
	return deadline;
}

/*
 * sync_idle: nothing buffered and nothing in flight.
 */
bool
sync_idle(const Sync *sync)
{
	size_t		i;

	for (i = 0; i <= sync->nlanes; i++)
		if (!bulk_empty(&sync->lanes[i].queue) || sync->lanes[i].in_flight)
			return false;
	return true;
}

/*
 * sync_stalled: changes wait, Elasticsearch has taken nothing for
 * --pause-after, and what was last sent failed (in some lane): holding the
 * replication connection any longer would only hold up PostgreSQL (a fast
 * shutdown waits for its walsender, which waits for everything it sent to
 * be confirmed). A request that is merely slow does not count: letting go
 * would only have the slot send its transaction again.
 */
bool
sync_stalled(const Sync *sync, int64_t now_us)
{
	bool		failing = !sync->probed && sync->probe_attempts > 0;
	size_t		i;

	for (i = 0; sync->probed && i <= sync->nlanes; i++)
	{
		const Batch *head = bulk_head(&sync->lanes[i].queue);

		failing = failing || (head && head->attempts > 0);
	}
	return failing && now_us - sync->progress_us >= (int64_t) sync->cfg->pause_after_ms * 1000;
}

/*
 * sync_flush_now: send what is buffered without waiting for the linger
 * (at shutdown).
 */
void
sync_flush_now(Sync *sync)
{
	size_t		i;

	for (i = 0; i < sync->nlanes; i++)
		bulk_seal(&sync->lanes[i].queue);
}

/*
 * sync_buffered_bytes: the memory the lanes hold for request bodies (what
 * --max-memory bounds: the reader stops while it is reached).
 */
size_t
sync_buffered_bytes(const Sync *sync)
{
	size_t		n = 0;
	size_t		i;

	for (i = 0; i <= sync->nlanes; i++)
		n += bulk_held_bytes(&sync->lanes[i].queue);
	return n;
}

/*
 * sync_es: the client whose multi handle every lane shares: the one to
 * wait on (es_wait).
 */
Es *
sync_es(Sync *sync)
{
	return &sync->lanes[0].es;
}
