/*
 * bulk.h
 *		Batching bulk items into _bulk requests.
 *
 * Pure: no I/O. Items are appended to the filling batch; a batch is sealed
 * when it reaches the size or count limit or has lingered long enough, and
 * sealed batches wait in a FIFO whose head is the one sent (or in flight).
 * Only the head is ever in flight, so the next batch fills while it is
 * (double buffering) and no two requests of a queue can reorder its
 * changes. The pipeline keeps one queue per lane (sync.c), every item of
 * a document in the same one (bulk_item_lane).
 *
 * A TRUNCATE becomes a batch of its own: everything before it is stored by
 * the time it reaches the head, and nothing after it is sent until it is done.
 * So does the creation of an index with its mapping, which must come before
 * the first item written to that index, and a key change whose new document
 * must be rebuilt from the old one (move.h) before it becomes a plain batch.
 */
#ifndef PG2ES_BULK_H
#define PG2ES_BULK_H

#include "buf.h"
#include "common.h"
#include "frame.h"

typedef enum BatchKind
{
	BATCH_BULK,					/* a _bulk request body */
	BATCH_TRUNCATE,				/* index names, one per line */
	BATCH_CREATE_INDEX,			/* the body of PUT /index; no items */
	BATCH_MOVE					/* a delete and a partial update (move.h) */
} BatchKind;

/* One item of a batch: a byte range of the body and its transaction. */
typedef struct BulkItem
{
	size_t		off;
	size_t		len;
	ItemAction	action;
	uint64_t	txn_seq;		/* for ack_item_done */
} BulkItem;

typedef struct Batch
{
	struct Batch *next;
	BatchKind	kind;
	Buf			body;			/* owned */
	BulkItem   *items;			/* owned; nitems used of cap */
	size_t		nitems;
	size_t		cap;
	int64_t		opened_us;		/* when the first item came (linger) */
	uint32_t	attempts;		/* failed sends so far (backoff) */
	uint64_t	epoch;			/* barriers queued before it (sync.c) */
	Lsn			truncate_version;	/* TRUNCATE: its version, 0 = none */
	char	   *index;			/* CREATE_INDEX: the index name, owned */
	void	   *adopted;		/* owned malloc'd block body.data points into
								 * (bulk_adopt_item), or NULL */
} Batch;

typedef struct BulkQueue
{
	Batch	   *head;			/* sealed batches, oldest first */
	Batch	   *tail;
	Batch	   *filling;		/* batch being filled, or NULL */
	size_t		bytes;			/* body bytes held in all batches */
	size_t		max_bytes;		/* seal when a body would exceed this */
	size_t		max_items;		/* seal at this many items */
	int64_t		linger_us;		/* seal this long after the first item */
	Buf			spare;			/* a sent batch's body, kept for the next */
	uint64_t	epoch;			/* given to each new batch (bulk_set_epoch) */
} BulkQueue;

extern void bulk_queue_init(BulkQueue *q, size_t max_bytes, size_t max_items,
							int64_t linger_us);
extern void bulk_queue_free(BulkQueue *q);
extern PG2ES_MUSTCHECK bool bulk_append_item(BulkQueue *q, const char *data, size_t len,
											 ItemAction action, uint64_t txn_seq,
											 int64_t now_us);
extern PG2ES_MUSTCHECK bool bulk_adopt_item(BulkQueue *q, void *block, const char *data,
											size_t len, ItemAction action, uint64_t txn_seq);
extern PG2ES_MUSTCHECK bool bulk_append_truncate(BulkQueue *q, const Frame *frame,
												 uint64_t txn_seq);
extern PG2ES_MUSTCHECK bool bulk_append_create_index(BulkQueue *q, const char *index,
													 size_t index_len, const char *body,
													 size_t body_len);
extern PG2ES_MUSTCHECK bool bulk_append_move(BulkQueue *q, const Frame *frame,
											 const uint64_t txn_seqs[2]);
extern PG2ES_MUSTCHECK bool bulk_resolve_move(BulkQueue *q, const char *index_item,
											  size_t len);
extern void bulk_seal(BulkQueue *q);
extern int64_t bulk_seal_due(BulkQueue *q, int64_t now_us);
extern Batch *bulk_head(const BulkQueue *q);
extern void bulk_pop_head(BulkQueue *q);
extern PG2ES_MUSTCHECK bool bulk_replace_head(BulkQueue *q, const bool *keep);
extern PG2ES_MUSTCHECK bool bulk_split_head(BulkQueue *q);
extern bool bulk_empty(const BulkQueue *q);
extern void bulk_item_actions(const Batch *batch, ItemAction *out);
extern void bulk_set_epoch(BulkQueue *q, uint64_t epoch);
extern size_t bulk_held_bytes(const BulkQueue *q);
extern size_t bulk_depth(const BulkQueue *q);
extern size_t bulk_item_lane(const char *data, size_t len, size_t nlanes);

#endif							/* PG2ES_BULK_H */
