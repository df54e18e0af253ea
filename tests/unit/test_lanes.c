/*
 * test_lanes.c
 *		Unit tests for what lanes rest on: a document's items share a lane
 *		(bulk_item_lane), and the acknowledgement book (ack.c) never
 *		confirms past an unfinished item when lanes finish out of order.
 */
#include <stdio.h>
#include <string.h>

#include "ack.h"
#include "bulk.h"
#include "cfg.h"
#include "tap.h"

#define NLANES 4
#define NTXNS 200
#define MAX_ITEMS 2000

/* One queued item of the simulation: its transaction and lane. */
typedef struct SimItem
{
	uint64_t	txn_seq;
	int			txn;			/* index into the commit table */
	size_t		lane;
	bool		done;
} SimItem;

static void test_same_document_same_lane(void);
static void test_lanes_spread(void);
static void test_versioning_off(void);
static void test_out_of_order_lanes(unsigned int seed);
static unsigned int next_random(unsigned int *state);
static Lsn	expected_confirmed(const SimItem *items, size_t nitems, const Lsn *end_lsn,
							   int ncommitted, Lsn start);

/*
 * test_same_document_same_lane: an index, a versioned index, an update
 * and a delete of one document (and the initial load's index) hash alike;
 * a line that is not the plugin's goes to lane 0.
 */
static void
test_same_document_same_lane(void)
{
	static const char *const lines[] = {
		"{\"index\":{\"_index\":\"public.t\",\"_id\":\"42\"}}\n{\"a\":1}\n",
		"{\"index\":{\"_index\":\"public.t\",\"_id\":\"42\",\"version\":123456,\"version_type\":\"external_gte\"}}\n{\"a\":2}\n",
		"{\"update\":{\"_index\":\"public.t\",\"_id\":\"42\"}}\n{\"doc\":{\"a\":3}}\n",
		"{\"delete\":{\"_index\":\"public.t\",\"_id\":\"42\",\"version\":9,\"version_type\":\"external_gte\"}}\n",
		"{\"delete\":{\"_index\":\"public.t\",\"_id\":\"42\"}}\n",
	};
	size_t		n;
	size_t		i;
	bool		same = true;

	for (n = 2; n <= 64; n *= 2)
		for (i = 1; i < sizeof(lines) / sizeof(lines[0]); i++)
			same &= bulk_item_lane(lines[i], strlen(lines[i]), n) ==
				bulk_item_lane(lines[0], strlen(lines[0]), n);
	ok(same, "a document's index, versioned index, update and delete share a lane");
	ok(bulk_item_lane("garbage", 7, 8) == 0, "a line that is not an action line goes to lane 0");
	ok(bulk_item_lane(lines[1], strlen(lines[1]), 1) == 0, "one lane: lane 0");
	i = bulk_item_lane("{\"index\":{\"_index\":\"public.u\",\"_id\":\"42\"}}\n{}\n", 43, 64);
	ok(i < 64, "the lane is below the lane count");
}

/*
 * test_lanes_spread: 10000 documents over 4 lanes: each lane gets at least
 * a fifth of them (a hash that ignores the _id would put all in one).
 */
static void
test_lanes_spread(void)
{
	size_t		count[NLANES] = {0};
	char		line[128];
	int			i;
	int			n;
	bool		even = true;

	for (i = 0; i < 10000; i++)
	{
		n = snprintf(line, sizeof(line),
					 "{\"index\":{\"_index\":\"public.t\",\"_id\":\"%d\",\"version\":%d,\"version_type\":\"external_gte\"}}\n{}\n",
					 i, 1000 + i);
		count[bulk_item_lane(line, (size_t) n, NLANES)]++;
	}
	for (i = 0; i < NLANES; i++)
		even &= count[i] >= 2000;
	ok(even, "documents spread over the lanes (%zu %zu %zu %zu)", count[0], count[1],
	   count[2], count[3]);
}

/*
 * test_versioning_off: the plugin option as PostgreSQL's parse_bool reads
 * it, the last one winning (versioning=off means one lane).
 */
static void
test_versioning_off(void)
{
	char	   *names[] = {"versioning", "framing", "versioning"};
	char	   *values[] = {"off", "msgpack", NULL};
	Config		cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.opt_names = names;
	cfg.opt_values = values;
	cfg.nopts = 1;
	ok(cfg_versioning_off(&cfg), "versioning=off is off");
	values[0] = "FALSE";
	ok(cfg_versioning_off(&cfg), "versioning=FALSE is off");
	values[0] = "n";
	ok(cfg_versioning_off(&cfg), "versioning=n (a prefix of no) is off");
	values[0] = "o";
	ok(!cfg_versioning_off(&cfg), "versioning=o (on or off?) is not off");
	values[0] = "on";
	ok(!cfg_versioning_off(&cfg), "versioning=on is on");
	values[0] = "off";
	cfg.nopts = 3;
	ok(!cfg_versioning_off(&cfg), "a later bare versioning wins: on");
	cfg.nopts = 0;
	ok(!cfg_versioning_off(&cfg), "no option: on");
}

/*
 * next_random: a small deterministic generator (the test must not vary).
 */
static unsigned int
next_random(unsigned int *state)
{
	*state = *state * 1103515245u + 12345u;
	return (*state >> 16) & 0x7fff;
}

/*
 * expected_confirmed: what may be confirmed: the end of the newest
 * committed transaction such that it and all before it have every item
 * done (start when none).
 */
static Lsn
expected_confirmed(const SimItem *items, size_t nitems, const Lsn *end_lsn, int ncommitted,
				   Lsn start)
{
	int			t;
	size_t		i;
	Lsn			best = start;

	for (t = 0; t < ncommitted; t++)
	{
		for (i = 0; i < nitems; i++)
			if (items[i].txn == t && !items[i].done)
				return best;
		best = end_lsn[t];
	}
	return best;
}

/*
 * test_out_of_order_lanes: transactions of 0 to 9 items spread over lanes;
 * each lane finishes its own items in its order, but the lanes take turns
 * at random, some finishing several requests while another holds one (a
 * 429 in one lane, a dropped connection in another). After every step the
 * confirmed position must be exactly what the rule says: never past an
 * unfinished item, never behind what is complete.
 */
static void
test_out_of_order_lanes(unsigned int seed)
{
	static SimItem items[MAX_ITEMS];
	static Lsn	end_lsn[NTXNS];
	size_t		nitems = 0;
	size_t		next_in_lane[NLANES] = {0};
	unsigned int rnd = seed;
	Ack			a;
	int			t;
	int			added = 0;
	int			committed = 0;
	bool		exact = true;
	bool		never_past = true;
	size_t		left = 0;

	ack_init(&a, 1000);
	for (t = 0; t < NTXNS; t++)
		end_lsn[t] = 2000 + (Lsn) t * 10;

	/*
	 * The stream's events in order (a transaction's items, then its commit)
	 * interleaved with completions: a commit is read while items of it and of
	 * earlier transactions are still in flight.
	 */
	while (committed < NTXNS || left > 0)
	{
		unsigned int r = next_random(&rnd);

		if (added == committed && added < NTXNS && r % 3 == 0)
		{
			int			k = (int) (next_random(&rnd) % 10);
			int			j;

			for (j = 0; j < k && nitems < MAX_ITEMS; j++)
			{
				if (!ack_add_item(&a, &items[nitems].txn_seq))
					exact = false;
				items[nitems].txn = added;
				items[nitems].lane = next_random(&rnd) % NLANES;
				items[nitems].done = false;
				nitems++;
				left++;
			}
			added++;
		}
		else if (committed < added && r % 3 == 1)
		{
			if (!ack_commit(&a, end_lsn[committed], committed))
				exact = false;
			committed++;
		}
		else if (left > 0)
		{
			/* a lane that finishes its next item, in that lane's order */
			size_t		lane = (r >> 2) % NLANES;
			size_t		i;

			for (i = next_in_lane[lane]; i < nitems && items[i].lane != lane; i++)
				;
			if (i == nitems)
				continue;
			/* a lane "held by a 429" (lane 3) finishes only one turn in 8 */
			if (lane == 3 && (r >> 5) % 8 != 0)
				continue;
			items[i].done = true;
			next_in_lane[lane] = i + 1;
			left--;
			ack_item_done(&a, items[i].txn_seq);
		}
		{
			Lsn			want = expected_confirmed(items, nitems, end_lsn, committed, 1000);
			size_t		i;

			exact &= a.confirmed == want;
			for (i = 0; i < nitems; i++)
				if (!items[i].done && a.confirmed >= end_lsn[items[i].txn])
					never_past = false;
		}
	}
	/* first: a failed ack_add_item or ack_commit is recorded in exact */
	ok(exact, "seed %u: it is always the end of the newest fully stored transaction", seed);
	ok(never_past, "seed %u: the flush position never passes an unfinished item", seed);
	ok(a.confirmed == end_lsn[NTXNS - 1] && ack_idle(&a),
	   "seed %u: all stored: everything confirmed", seed);
	ack_free(&a);
}

int
main(void)
{
	test_same_document_same_lane();
	test_lanes_spread();
	test_versioning_off();
	test_out_of_order_lanes(1);
	test_out_of_order_lanes(7);
	test_out_of_order_lanes(2026);
	return done_testing();
}
