/*
 * test_ack.c
 *		Unit tests for ack.c: the acknowledgement rules of docs/design.md.
 */
#include "ack.h"
#include "tap.h"

int
main(void)
{
	Ack			a;
	uint64_t	t1a;
	uint64_t	t1b;
	uint64_t	t2;
	uint64_t	t3;
	uint64_t	seq;
	int			i;
	bool		all = true;

	ack_init(&a, 0);
	ok(ack_idle(&a) && a.confirmed == 0, "starts idle with nothing confirmed");
	ack_keepalive(&a, 100);
	ok(a.confirmed == 100, "idle: a keepalive's walEnd is confirmed");

	ok(ack_add_item(&a, &t1a) && ack_add_item(&a, &t1b) && t1a == t1b, "items of one transaction share it");
	ok(ack_txn_open(&a), "a transaction is open after its first item");
	ack_keepalive(&a, 500);
	ok(a.confirmed == 100, "a keepalive is not confirmed while a transaction is pending");
	ok(ack_commit(&a, 200, 1) && a.confirmed == 100, "commit alone confirms nothing while items are pending");
	ok(ack_add_item(&a, &t2) && t2 != t1a && ack_commit(&a, 300, 2), "second transaction");
	ok(ack_add_item(&a, &t3) && ack_commit(&a, 400, 3), "third transaction");
	ack_item_done(&a, t2);
	ok(a.confirmed == 100, "a later transaction done does not pass an earlier pending one");
	ack_item_done(&a, t1a);
	ok(a.confirmed == 100, "half of a transaction stored confirms nothing");
	ack_item_done(&a, t1b);
	ok(a.confirmed == 300, "first done: confirmed moves past every complete transaction in order");
	ok(a.confirmed_commit_time == 2, "commit time of the newest confirmed transaction kept");
	ok(!ack_idle(&a), "not idle while the third is pending");
	ok(ack_oldest_commit_time(&a) == 3, "the oldest unconfirmed transaction's commit time");
	ack_item_done(&a, t3);
	ok(a.confirmed == 400 && ack_idle(&a), "all done: idle at the last end_lsn");
	ok(ack_oldest_commit_time(&a) == 0, "nothing unconfirmed: no oldest commit time");

	ok(ack_commit(&a, 450, 4) && a.confirmed == 450, "a commit with no items confirms at once");
	ok(ack_add_item(&a, &seq), "open a transaction");
	ok(ack_oldest_commit_time(&a) == 0, "an open transaction has no commit time yet");
	ack_item_done(&a, seq);
	ok(a.confirmed == 450 && ack_txn_open(&a), "an open transaction with its items done is not confirmed");
	ok(ack_commit(&a, 470, 5) && a.confirmed == 470, "until its commit arrives");
	ack_keepalive(&a, 460);
	ok(a.confirmed == 470, "a keepalive never moves confirmed backwards");

	/* many transactions grow the ring, with wrap-around */
	for (i = 0; i < 1000 && all; i++)
	{
		all &= ack_add_item(&a, &seq) && ack_commit(&a, 1000 + (Lsn) i, 0);
		if (i % 3 == 2)
		{
			uint64_t	s;

			for (s = a.head_seq; s <= seq; s++)
				ack_item_done(&a, s);
		}
	}
	ok(all && a.confirmed == 1000 + 998 && a.count == 1, "a thousand transactions through a growing ring");
	ack_item_done(&a, seq);
	ok(a.confirmed == 1999 && ack_idle(&a), "last one confirmed");
	ack_free(&a);
	return done_testing();
}
