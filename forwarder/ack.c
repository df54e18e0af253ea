/*
 * ack.c
 *		LSN bookkeeping (rules in ack.h and docs/design.md).
 *
 * Transactions sit in a ring in stream order; the head is the oldest not yet
 * confirmed. Completed transactions are popped from the head only, which is
 * what "every transaction before it" means: one slow item holds back the
 * confirmation of everything after it, however much of that is stored.
 */
#include "ack.h"

#include <stdlib.h>

/*
 * ack_init: empty bookkeeping; start is the LSN already confirmed (0 when
 * unknown: PostgreSQL ignores a flush position of 0).
 */
void
ack_init(Ack *ack, Lsn start)
{
	ack->ring = NULL;
	ack->cap = 0;
	ack->head = 0;
	ack->count = 0;
	ack->head_seq = 0;
	ack->confirmed = start;
	ack->confirmed_commit_time = 0;
}

/*
 * ack_free: release the ring.
 */
void
ack_free(Ack *ack)
{
	free(ack->ring);
	ack->ring = NULL;
	ack->cap = 0;
	ack->count = 0;
}

static size_t ring_slot(const Ack *ack, size_t i);
static AckTxn *txn_at(const Ack *ack, uint64_t seq);
static PG2ES_MUSTCHECK bool push_txn(Ack *ack);
static void pop_complete(Ack *ack);

/*
 * ring_slot: the ring index i places after the head. The capacity is a
 * power of two (64, doubled), so a mask does the modulo: this runs for
 * every item, and a division costs more than the rest of it.
 */
static size_t
ring_slot(const Ack *ack, size_t i)
{
	return (ack->head + i) & (ack->cap - 1);
}

/* the transaction with sequence number seq, which must be held */
static AckTxn *
txn_at(const Ack *ack, uint64_t seq)
{
	return &ack->ring[ring_slot(ack, (size_t) (seq - ack->head_seq))];
}

/*
 * push_txn: append a new open transaction. Returns false (nothing changed)
 * when the ring cannot grow.
 */
static PG2ES_MUSTCHECK bool
push_txn(Ack *ack)
{
	AckTxn	   *t;

	if (ack->count == ack->cap)
	{
		size_t		cap = ack->cap ? ack->cap * 2 : 64;
		AckTxn	   *ring = malloc(cap * sizeof(AckTxn));
		size_t		i;

		if (ring == NULL)
			return false;
		for (i = 0; i < ack->count; i++)
			ring[i] = ack->ring[ring_slot(ack, i)];
		free(ack->ring);
		ack->ring = ring;
		ack->cap = cap;
		ack->head = 0;
	}
	t = &ack->ring[ring_slot(ack, ack->count)];
	t->end_lsn = 0;
	t->commit_time = 0;
	t->pending = 0;
	t->closed = false;
	ack->count++;
	return true;
}

/*
 * pop_complete: confirm and drop every complete transaction at the head.
 */
static void
pop_complete(Ack *ack)
{
	while (ack->count > 0)
	{
		AckTxn	   *t = &ack->ring[ack->head];

		if (!t->closed || t->pending > 0)
			break;
		if (t->end_lsn > ack->confirmed)
			ack->confirmed = t->end_lsn;
		ack->confirmed_commit_time = t->commit_time;
		ack->head = ring_slot(ack, 1);
		ack->count--;
		ack->head_seq++;
	}
}

/*
 * ack_txn_open: true when items have arrived since the last COMMIT.
 */
bool
ack_txn_open(const Ack *ack)
{
	return ack->count > 0 && !txn_at(ack, ack->head_seq + ack->count - 1)->closed;
}

/*
 * ack_add_item: count one more item in the open transaction (opening one if
 * needed) and return its sequence number for ack_item_done. Returns false on
 * memory exhaustion, with nothing changed.
 */
bool
ack_add_item(Ack *ack, uint64_t *txn_seq)
{
	if (!ack_txn_open(ack) && !push_txn(ack))
		return false;
	*txn_seq = ack->head_seq + ack->count - 1;
	txn_at(ack, *txn_seq)->pending++;
	return true;
}

/*
 * ack_item_done: one item of transaction txn_seq is stored (or
 * dead-lettered). Calling it for an item never added is a caller bug.
 */
void
ack_item_done(Ack *ack, uint64_t txn_seq)
{
	AckTxn	   *t = txn_at(ack, txn_seq);

	t->pending--;
	pop_complete(ack);
}

/*
 * ack_commit: the open transaction (or, when none is open, an empty one)
 * ends at end_lsn. Returns false on memory exhaustion, nothing changed.
 */
bool
ack_commit(Ack *ack, Lsn end_lsn, int64_t commit_time)
{
	AckTxn	   *t;

	if (!ack_txn_open(ack) && !push_txn(ack))
		return false;
	t = txn_at(ack, ack->head_seq + ack->count - 1);
	t->end_lsn = end_lsn;
	t->commit_time = commit_time;
	t->closed = true;
	pop_complete(ack);
	return true;
}

/*
 * ack_oldest_commit_time: the commit time of the oldest transaction not
 * yet confirmed, 0 when there is none or it is still open (its COMMIT not
 * seen yet).
 */
int64_t
ack_oldest_commit_time(const Ack *ack)
{
	if (ack->count == 0 || !ack->ring[ack->head].closed)
		return 0;
	return ack->ring[ack->head].commit_time;
}

/*
 * ack_idle: nothing is pending: no open transaction, nothing unconfirmed.
 */
bool
ack_idle(const Ack *ack)
{
	return ack->count == 0;
}

/*
 * ack_keepalive: a keepalive reported the server's WAL end. When nothing is
 * pending, everything up to it has been seen and stored, so it may be
 * confirmed (this is what keeps WAL from piling up when only unsynced tables
 * are written). The caller must also know no received frame is still
 * unprocessed.
 */
void
ack_keepalive(Ack *ack, Lsn wal_end)
{
	if (ack_idle(ack) && wal_end > ack->confirmed)
		ack->confirmed = wal_end;
}
