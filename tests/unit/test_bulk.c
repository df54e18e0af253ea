/*
 * test_bulk.c
 *		Unit tests for bulk.c: batching, sealing, retry subsets and splits.
 */
#include <stdlib.h>
#include <string.h>

#include "bulk.h"
#include "tap.h"

static const char item[] = "{\"index\":{\"_index\":\"i\",\"_id\":\"1\"}}\n{\"a\":1}\n";
#define ITEM_LEN (sizeof(item) - 1)

/*
 * step_ok: a check the next steps build on; when it reports an injected
 * allocation failure (tap.h), the test frees the queue and ends.
 */
#define step_ok(...) \
	do { \
		ok(__VA_ARGS__); \
		if (tap_reported()) \
			goto out; \
	} while (0)

static size_t
count_sealed(const BulkQueue *q)
{
	size_t		n = 0;
	const Batch *b;

	for (b = q->head; b; b = b->next)
		n++;
	return n;
}

/*
 * adopt_tests: a large item taken with its block is queued alone, without a
 * copy; a retry keeping it keeps the batch as it is; freeing frees the
 * block (the sanitizer run checks there is no leak and no double free).
 */
static void
adopt_tests(void)
{
	BulkQueue	q;
	char	   *block = malloc(8 + ITEM_LEN);
	bool		keep[1] = {true};
	bool		adopted = false;
	Batch	   *h;

	bulk_queue_init(&q, 16, 4, 1000);
	ok(block != NULL, "a block to adopt");
	if (block == NULL)
		return;
	memcpy(block + 8, item, ITEM_LEN);
	step_ok(bulk_append_item(&q, item, 4, ITEM_INDEX, 1, 0) && q.filling != NULL, "a small item fills");
	adopted = bulk_adopt_item(&q, block, block + 8, ITEM_LEN, ITEM_INDEX, 2);
	step_ok(adopted && q.filling == NULL && count_sealed(&q) == 2 && q.bytes == 4 + ITEM_LEN,
			"an adopted item seals what came before and queues alone");
	h = bulk_head(&q)->next;
	step_ok(h->nitems == 1 && h->body.data == block + 8 && h->body.len == ITEM_LEN &&
			h->items[0].txn_seq == 2 && h->adopted == block, "its body is the block's bytes, not a copy");
	bulk_pop_head(&q);
	step_ok(bulk_replace_head(&q, keep) && bulk_head(&q) == h && h->body.data == block + 8,
			"a retry keeping its one item keeps the batch, uncopied");
	bulk_pop_head(&q);
	ok(bulk_empty(&q) && q.bytes == 0 && q.spare.data != block + 8,
	   "popping it frees the block, which never becomes the spare");
	bulk_queue_free(&q);
	return;

out:
	if (!adopted)
		free(block);
	bulk_queue_free(&q);
}

int
main(void)
{
	BulkQueue	q;
	Batch	   *h;
	bool		all = true;
	bool		keep[4] = {false, true, false, true};
	size_t		i;

	bulk_queue_init(&q, 10 * ITEM_LEN, 4, 1000);
	step_ok(bulk_empty(&q) && bulk_head(&q) == NULL, "a new queue is empty");
	step_ok(bulk_append_item(&q, item, ITEM_LEN, ITEM_INDEX, 7, 100), "append one item");
	step_ok(bulk_head(&q) == NULL && q.filling && q.bytes == ITEM_LEN, "the item waits in the filling batch");
	step_ok(bulk_seal_due(&q, 500) == 1100 && bulk_head(&q) == NULL, "not sealed before the linger time");
	step_ok(bulk_seal_due(&q, 1100) == INT64_MAX && bulk_head(&q) != NULL, "sealed when the linger time is over");
	h = bulk_head(&q);
	step_ok(h->nitems == 1 && h->items[0].txn_seq == 7 && h->body.len == ITEM_LEN &&
			memcmp(h->body.data, item, ITEM_LEN) == 0, "the sealed batch holds the item bytes and its transaction");

	for (i = 0; i < 4; i++)
		all &= bulk_append_item(&q, item, ITEM_LEN, i % 2 ? ITEM_DELETE : ITEM_INDEX, 8 + i, 2000);
	step_ok(all && count_sealed(&q) == 2 && q.filling == NULL, "reaching the item count seals the batch");
	step_ok(bulk_append_item(&q, item, ITEM_LEN, ITEM_INDEX, 20, 3000) && count_sealed(&q) == 2,
			"the next batch fills while the first waits (double buffering)");

	/* a retry subset replaces the head, keeping order and attempts */
	bulk_pop_head(&q);
	h = bulk_head(&q);
	h->attempts = 2;
	step_ok(bulk_replace_head(&q, keep) && bulk_head(&q)->nitems == 2, "retry keeps only the marked items");
	h = bulk_head(&q);
	step_ok(h->items[0].txn_seq == 9 && h->items[1].txn_seq == 11 && h->items[0].action == ITEM_DELETE &&
			h->attempts == 2 && h->body.len == 2 * ITEM_LEN && h->items[1].off == ITEM_LEN,
			"the kept items, their transactions, offsets and attempts");
	step_ok(q.bytes == 3 * ITEM_LEN, "buffered bytes follow the replacement");

	step_ok(bulk_split_head(&q) && count_sealed(&q) == 2 && bulk_head(&q)->nitems == 1 &&
			bulk_head(&q)->next->nitems == 1 && bulk_head(&q)->attempts == 0, "split into halves");
	step_ok(bulk_head(&q)->items[0].txn_seq == 9 && bulk_head(&q)->next->items[0].txn_seq == 11,
			"halves keep the order");
	memset(keep, 0, sizeof(keep));
	step_ok(bulk_replace_head(&q, keep) && bulk_head(&q)->items[0].txn_seq == 11, "keeping nothing pops the head");

	/* an item larger than the size limit travels alone */
	bulk_queue_free(&q);
	bulk_queue_init(&q, ITEM_LEN + 1, 100, 1000);
	step_ok(bulk_append_item(&q, item, ITEM_LEN, ITEM_INDEX, 1, 0) &&
			bulk_append_item(&q, item, ITEM_LEN, ITEM_INDEX, 1, 0) && count_sealed(&q) == 1,
			"an item that would exceed the size limit goes to the next batch");
	bulk_seal(&q);
	step_ok(count_sealed(&q) == 2 && bulk_head(&q)->nitems == 1, "explicit seal");

	/* a sent batch's body is kept once and filled again by the next batch */
	{
		const char *body = bulk_head(&q)->body.data;

		bulk_pop_head(&q);
		step_ok(q.spare.data == body && q.spare.len == 0, "a sent batch's body is kept as the spare");
		bulk_pop_head(&q);
		step_ok(q.spare.data == body && q.bytes == 0, "only one spare is kept");
		step_ok(bulk_append_item(&q, item, ITEM_LEN, ITEM_INDEX, 2, 0) && q.spare.data == NULL &&
				q.filling->body.data == body && memcmp(body, item, ITEM_LEN) == 0,
				"the next batch fills the spare");
	}

	/* an index creation waits for what came before and holds up what follows */
	step_ok(bulk_append_create_index(&q, "idx-x", 3, "{\"mappings\":{}}", 15) && q.filling == NULL &&
			count_sealed(&q) == 2, "an index creation seals the filling batch and queues behind it");
	h = bulk_head(&q)->next;
	step_ok(h->kind == BATCH_CREATE_INDEX && strcmp(h->index, "idx") == 0 && h->nitems == 0 &&
			h->body.len == 15 && q.bytes == ITEM_LEN + 15, "its index name, body and no items");
	step_ok(bulk_append_item(&q, item, ITEM_LEN, ITEM_INDEX, 3, 0) && count_sealed(&q) == 2 &&
			q.filling != NULL, "items after it fill a new batch");
	bulk_pop_head(&q);
	bulk_pop_head(&q);
	step_ok(bulk_head(&q) == NULL && q.bytes == ITEM_LEN, "popping it frees its bytes");
	bulk_queue_free(&q);
	ok(bulk_empty(&q) && q.bytes == 0 && q.spare.data == NULL, "free empties the queue and drops the spare");
	adopt_tests();
	return done_testing();

out:
	bulk_queue_free(&q);
	return done_testing();
}
