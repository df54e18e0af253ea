/*
 * bulk.c
 *		Batching bulk items into _bulk requests (see bulk.h).
 */
#include "bulk.h"

#include <stdlib.h>
#include <string.h>

static PG2ES_MUSTCHECK Batch *batch_new(BatchKind kind);
static void batch_free(Batch *b);
static void batch_release(BulkQueue *q, Batch *b);
static PG2ES_MUSTCHECK bool batch_add(Batch *b, const char *data, size_t len, ItemAction action, uint64_t txn_seq);
static void push_sealed(BulkQueue *q, Batch *b);
static void push_alone(BulkQueue *q, Batch *b);
static void replace_head_with(BulkQueue *q, Batch *first, Batch *last, size_t new_bytes);
static PG2ES_MUSTCHECK Batch *copy_items(const Batch *src, size_t from, size_t to, const bool *keep);

/*
 * batch_new: an empty batch of the given kind, or NULL when out of memory.
 * The caller owns it until it is linked into a queue.
 */
static PG2ES_MUSTCHECK Batch *
batch_new(BatchKind kind)
{
	Batch	   *b = calloc(1, sizeof(Batch));

	if (b == NULL)
		return NULL;
	b->kind = kind;
	buf_init(&b->body);
	return b;
}

/*
 * batch_free: free a batch that is not (or no longer) linked in a queue.
 */
static void
batch_free(Batch *b)
{
	if (b->adopted)
		free(b->adopted);
	else
		buf_free(&b->body);
	free(b->items);
	free(b->index);
	free(b);
}

/*
 * batch_release: free a batch unlinked from q, keeping its body as q's
 * spare when it is a full-size one and there is none: the next batch then
 * fills pages already mapped instead of faulting in a fresh mapping for
 * every request (the kernel's page faults cost more than copying the
 * items). One spare is enough: while one request is in flight one batch
 * fills, so a sent batch's body is what the next batch needs.
 */
static void
batch_release(BulkQueue *q, Batch *b)
{
	if (q->spare.data == NULL && b->adopted == NULL && b->body.cap > q->max_bytes)
	{
		buf_take(&q->spare, &b->body);
		buf_reset(&q->spare);
	}
	batch_free(b);
}

/*
 * batch_add: append an item's bytes and entry. Returns false, batch
 * unchanged, when out of memory.
 */
static PG2ES_MUSTCHECK bool
batch_add(Batch *b, const char *data, size_t len, ItemAction action, uint64_t txn_seq)
{
	BulkItem   *item;

	if (b->nitems == b->cap)
	{
		size_t		cap = b->cap ? b->cap * 2 : 64;
		BulkItem   *items = realloc(b->items, cap * sizeof(BulkItem));

		if (items == NULL)
			return false;
		b->items = items;
		b->cap = cap;
	}
	item = &b->items[b->nitems];
	item->off = b->body.len;
	if (!buf_append(&b->body, data, len))
		return false;
	item->len = len;
	item->action = action;
	item->txn_seq = txn_seq;
	b->nitems++;
	return true;
}

/*
 * push_sealed: link b at the tail of the sealed FIFO (the queue owns it).
 */
static void
push_sealed(BulkQueue *q, Batch *b)
{
	b->next = NULL;
	b->epoch = q->epoch;
	if (q->tail)
		q->tail->next = b;
	else
		q->head = b;
	q->tail = b;
}

/*
 * push_alone: queue b as a batch of its own, after sealing what came
 * before it.
 */
static void
push_alone(BulkQueue *q, Batch *b)
{
	bulk_seal(q);
	push_sealed(q, b);
	q->bytes += b->body.len;
}

/*
 * bulk_queue_init: an empty queue with the given sealing limits.
 */
void
bulk_queue_init(BulkQueue *q, size_t max_bytes, size_t max_items, int64_t linger_us)
{
	memset(q, 0, sizeof(*q));
	q->max_bytes = max_bytes;
	q->max_items = max_items;
	q->linger_us = linger_us;
}

/*
 * bulk_queue_free: drop every batch (used when the stream restarts: what was
 * not acknowledged will be decoded and sent again).
 */
void
bulk_queue_free(BulkQueue *q)
{
	while (q->head)
		bulk_pop_head(q);
	if (q->filling)
		batch_free(q->filling);
	q->filling = NULL;
	q->bytes = 0;
	buf_free(&q->spare);
}

/*
 * bulk_seal: move the filling batch, if any, to the sealed FIFO.
 */
void
bulk_seal(BulkQueue *q)
{
	if (q->filling == NULL)
		return;
	push_sealed(q, q->filling);
	q->filling = NULL;
}

/*
 * bulk_append_item: add one bulk item (data is copied; the caller keeps it).
 * A batch is sealed first if the item would take it over max_bytes, and
 * after if it reached a limit; an item larger than max_bytes travels alone.
 * Returns false, queue unchanged, when out of memory.
 */
bool
bulk_append_item(BulkQueue *q, const char *data, size_t len, ItemAction action,
				 uint64_t txn_seq, int64_t now_us)
{
	if (q->filling && q->filling->body.len + len > q->max_bytes)
		bulk_seal(q);
	if (q->filling == NULL)
	{
		/*
		 * Reserve the whole body at once (or take the spare, as large): a
		 * block that large is mmap'd, so only the pages written count as
		 * resident and freeing it returns them; grown step by step from the
		 * heap, freed batches would leave holes that keep resident memory
		 * above --max-memory.
		 */
		if ((q->filling = batch_new(BATCH_BULK)) != NULL && q->spare.data != NULL)
			buf_take(&q->filling->body, &q->spare);
		if (q->filling == NULL || !buf_reserve(&q->filling->body, q->max_bytes))
		{
			if (q->filling)
				batch_free(q->filling);
			q->filling = NULL;
			return false;
		}
		q->filling->opened_us = now_us;
	}
	if (!batch_add(q->filling, data, len, action, txn_seq))
	{
		if (q->filling->nitems == 0)
		{
			batch_free(q->filling);
			q->filling = NULL;
		}
		return false;
	}
	q->bytes += len;
	if (q->filling->nitems >= q->max_items || q->filling->body.len >= q->max_bytes)
		bulk_seal(q);
	return true;
}

/*
 * bulk_adopt_item: queue the item data[0..len), which lies inside the
 * malloc'd block, as a batch of its own without copying it: the queue takes
 * the block (freed with free() with the batch; libpq's PQfreemem is free()
 * outside Windows). For an item over max_bytes, which travels alone anyway:
 * its bytes are then held once (the copy of bulk_append_item would be a
 * second). On false (out of memory) the queue is unchanged and the block
 * still the caller's.
 */
bool
bulk_adopt_item(BulkQueue *q, void *block, const char *data, size_t len, ItemAction action,
				uint64_t txn_seq)
{
	Batch	   *b = batch_new(BATCH_BULK);

	if (b == NULL || (b->items = calloc(1, sizeof(BulkItem))) == NULL)
	{
		free(b);
		return false;
	}
	b->adopted = block;
	b->body.data = (char *) data;
	b->body.len = b->body.cap = len;
	b->items[0].len = len;
	b->items[0].action = action;
	b->items[0].txn_seq = txn_seq;
	b->nitems = b->cap = 1;
	push_alone(q, b);
	return true;
}

/*
 * bulk_append_truncate: queue a TRUNCATE of the frame's indexes, after
 * sealing what came before it. Returns false, queue unchanged, when out of
 * memory.
 */
bool
bulk_append_truncate(BulkQueue *q, const Frame *frame, uint64_t txn_seq)
{
	Batch	   *b = batch_new(BATCH_TRUNCATE);
	size_t		i;

	if (b == NULL)
		return false;
	for (i = 0; i < frame->nindexes; i++)
	{
		const char *name;
		size_t		len;

		frame_truncate_index(frame, i, &name, &len);
		if (memchr(name, '\n', len) != NULL || memchr(name, '\0', len) != NULL ||
			!buf_append(&b->body, name, len) || !buf_append(&b->body, "\n", 1))
		{
			batch_free(b);
			return false;
		}
	}
	/* the whole truncate is one item of its transaction */
	b->items = calloc(1, sizeof(BulkItem));
	if (b->items == NULL)
	{
		batch_free(b);
		return false;
	}
	b->items[0].len = b->body.len;
	b->items[0].txn_seq = txn_seq;
	b->nitems = b->cap = 1;
	b->truncate_version = frame->truncate_version;
	push_alone(q, b);
	return true;
}

/*
 * bulk_append_create_index: queue the creation of index[0..index_len) with
 * the request body body[0..body_len) (both copied), after sealing what came
 * before it. Returns false, queue unchanged, when out of memory.
 */
bool
bulk_append_create_index(BulkQueue *q, const char *index, size_t index_len,
						 const char *body, size_t body_len)
{
	Batch	   *b = batch_new(BATCH_CREATE_INDEX);

	if (b == NULL)
		return false;
	if ((b->index = strndup(index, index_len)) == NULL ||
		!buf_append(&b->body, body, body_len))
	{
		batch_free(b);
		return false;
	}
	push_alone(q, b);
	return true;
}

/*
 * bulk_seal_due: seal the filling batch if it has lingered long enough.
 * Returns the time at which it must be sealed, or INT64_MAX if none is
 * filling, for the main loop's poll timeout.
 */
int64_t
bulk_seal_due(BulkQueue *q, int64_t now_us)
{
	if (q->filling == NULL)
		return INT64_MAX;
	if (now_us - q->filling->opened_us >= q->linger_us)
	{
		bulk_seal(q);
		return INT64_MAX;
	}
	return q->filling->opened_us + q->linger_us;
}

/*
 * bulk_head: the oldest sealed batch (the one to send), or NULL. The queue
 * keeps ownership.
 */
Batch *
bulk_head(const BulkQueue *q)
{
	return q->head;
}

/*
 * bulk_pop_head: unlink and free the head batch.
 */
void
bulk_pop_head(BulkQueue *q)
{
	Batch	   *b = q->head;

	q->head = b->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->bytes -= b->body.len;
	batch_release(q, b);
}

/*
 * replace_head_with: put the batches first..last (already linked together,
 * owned by the caller until now) in place of the head batch, which is freed.
 */
static void
replace_head_with(BulkQueue *q, Batch *first, Batch *last, size_t new_bytes)
{
	Batch	   *old = q->head;

	last->next = old->next;
	q->head = first;
	if (q->tail == old)
		q->tail = last;
	q->bytes = q->bytes - old->body.len + new_bytes;
	batch_release(q, old);
}

/*
 * copy_items: a new batch of the same kind and attempts as src holding its
 * items from..to-1 for which keep is NULL or true. NULL when out of memory.
 */
static PG2ES_MUSTCHECK Batch *
copy_items(const Batch *src, size_t from, size_t to, const bool *keep)
{
	Batch	   *b = batch_new(src->kind);
	size_t		i;

	if (b == NULL)
		return NULL;
	b->attempts = src->attempts;
	b->opened_us = src->opened_us;
	b->epoch = src->epoch;
	for (i = from; i < to; i++)
	{
		const BulkItem *item = &src->items[i];

		if (keep && !keep[i])
			continue;
		if (!batch_add(b, src->body.data + item->off, item->len, item->action, item->txn_seq))
		{
			batch_free(b);
			return NULL;
		}
	}
	return b;
}

/*
 * bulk_replace_head: keep only the head's items with keep[i] true (the ones
 * to retry); the head is popped if none is kept. Returns false, queue
 * unchanged, when out of memory.
 */
bool
bulk_replace_head(BulkQueue *q, const bool *keep)
{
	Batch	   *b;
	size_t		i;

	/* all kept (a lone large item, say): no copy */
	for (i = 0; i < q->head->nitems && (keep == NULL || keep[i]); i++)
		;
	if (i == q->head->nitems && q->head->nitems > 0)
		return true;
	if ((b = copy_items(q->head, 0, q->head->nitems, keep)) == NULL)
		return false;
	if (b->nitems == 0)
	{
		batch_free(b);
		bulk_pop_head(q);
		return true;
	}
	replace_head_with(q, b, b, b->body.len);
	return true;
}

/*
 * bulk_split_head: replace the head (of two or more items) by its two
 * halves, to isolate an item that makes the whole request fail. The halves
 * start with no failed attempts. Returns false, queue unchanged, when out of
 * memory.
 */
bool
bulk_split_head(BulkQueue *q)
{
	Batch	   *head = q->head;
	size_t		mid = head->nitems / 2;
	Batch	   *a = copy_items(head, 0, mid, NULL);
	Batch	   *b = a ? copy_items(head, mid, head->nitems, NULL) : NULL;

	if (b == NULL)
	{
		if (a)
			batch_free(a);
		return false;
	}
	a->attempts = b->attempts = 0;
	a->next = b;
	replace_head_with(q, a, b, a->body.len + b->body.len);
	return true;
}

/*
 * bulk_empty: nothing filling and nothing sealed.
 */
bool
bulk_empty(const BulkQueue *q)
{
	return q->head == NULL && q->filling == NULL;
}

/*
 * bulk_item_actions: copy the batch's item actions to out[0..nitems).
 */
void
bulk_item_actions(const Batch *batch, ItemAction *out)
{
	size_t		i;

	for (i = 0; i < batch->nitems; i++)
		out[i] = batch->items[i].action;
}

/*
 * bulk_append_move: queue the two items of a CHANGE frame flagged
 * FRAME_FLAG_MISSING_IS_LOSS (a delete of the old _id, a partial update of
 * the new one; transactions txn_seqs) as a MOVE batch of their own, after
 * sealing what came before it. Returns false, queue unchanged, when out of
 * memory.
 */
bool
bulk_append_move(BulkQueue *q, const Frame *frame, const uint64_t txn_seqs[2])
{
	Batch	   *b = batch_new(BATCH_MOVE);

	if (b == NULL)
		return false;
	if (!batch_add(b, frame->items[0].data, frame->items[0].len, frame->items[0].action,
				   txn_seqs[0]) ||
		!batch_add(b, frame->items[1].data, frame->items[1].len, ITEM_UPDATE_MUST_EXIST,
				   txn_seqs[1]))
	{
		batch_free(b);
		return false;
	}
	push_alone(q, b);
	return true;
}

/*
 * bulk_resolve_move: make the head MOVE batch a _bulk batch: the index item
 * index_item[0..len) of the rebuilt document, then the delete of the old
 * one (each keeping the transaction of the item it replaces); or, when
 * index_item is NULL, the two items as the plugin wrote them. Returns
 * false, queue unchanged, when out of memory.
 */
bool
bulk_resolve_move(BulkQueue *q, const char *index_item, size_t len)
{
	Batch	   *head = q->head;
	const BulkItem *del = &head->items[0];
	Batch	   *b;

	if (index_item == NULL)
	{
		head->kind = BATCH_BULK;
		return true;
	}
	if ((b = batch_new(BATCH_BULK)) == NULL)
		return false;
	b->epoch = head->epoch;
	if (!batch_add(b, index_item, len, ITEM_INDEX, head->items[1].txn_seq) ||
		!batch_add(b, head->body.data + del->off, del->len, del->action, del->txn_seq))
	{
		batch_free(b);
		return false;
	}
	replace_head_with(q, b, b, b->body.len);
	return true;
}

/*
 * bulk_set_epoch: seal the filling batch and give every batch sealed from
 * now on the number epoch (sync.c numbers the barriers across its lanes so:
 * a batch is sent only once the barriers before it are done).
 */
void
bulk_set_epoch(BulkQueue *q, uint64_t epoch)
{
	bulk_seal(q);
	q->epoch = epoch;
}

/*
 * bulk_held_bytes: the memory the queue holds for bodies: the bytes of
 * its batches, and max_bytes for its spare body: the spare's pages once
 * written stay resident, and a batch writes about max_bytes of them (its
 * capacity is larger, but pages never written cost nothing).
 */
size_t
bulk_held_bytes(const BulkQueue *q)
{
	return q->bytes + (q->spare.data ? q->max_bytes : 0);
}

/*
 * bulk_depth: the number of batches held, the filling one included.
 */
size_t
bulk_depth(const BulkQueue *q)
{
	const Batch *b;
	size_t		n = q->filling ? 1 : 0;

	for (b = q->head; b; b = b->next)
		n++;
	return n;
}

/*
 * bulk_item_lane: the lane, of nlanes, of the bulk item data[0..len): a
 * hash of its action line from "_index" to the end of the _id (the version
 * that may follow changes from change to change, the action word between
 * an index, an update and a delete, but the index and _id are the
 * document's), so that a document's items always share a lane (sync.c).
 * The plugin writes every action line as {"ACTION":{"_index":...,"_id":
 * "..."[,"version":N,"version_type":"external_gte"]}}; a line not so is
 * put in lane 0. A pass over some 60 bytes already in cache: next to the
 * copy of the item into its batch, nothing.
 */
size_t
bulk_item_lane(const char *data, size_t len, size_t nlanes)
{
	static const char suffix[] = ",\"version_type\":\"external_gte\"}}";
	const size_t slen = sizeof(suffix) - 1;
	const char *nl;
	const char *p;
	const char *end;
	uint32_t	h = 2166136261u;	/* FNV-1a */

	if (nlanes <= 1 || (nl = memchr(data, '\n', len)) == NULL || nl - data < 4 ||
		(p = memchr(data + 1, '{', (size_t) (nl - data) - 1)) == NULL)
		return 0;
	end = nl;
	if ((size_t) (end - p) > slen + 2 && memcmp(end - slen, suffix, slen) == 0)
	{
		/* back over ,"version":N to the comma before it */
		for (end -= slen; end > p && *(end - 1) != ','; end--)
			;
		end = end > p ? end - 1 : end;
	}
	else if (end - p >= 2)
		end -= 2;				/* }} */
	for (; p < end; p++)
		h = (h ^ (uint8_t) *p) * 16777619u;
	/* FNV's low bits mix poorly: fold the high ones in (murmur3's finish) */
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	return h % nlanes;
}
