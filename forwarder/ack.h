/*
 * ack.h
 *		LSN bookkeeping: what may be confirmed to PostgreSQL.
 *
 * Pure: no I/O. The rules (docs/design.md "Forwarder acknowledgement
 * rules"): the flush LSN is the end_lsn of the newest transaction whose items,
 * and those of every transaction before it, are all stored in Elasticsearch
 * or dead-lettered; never more. When nothing is pending, a keepalive's walEnd
 * may be confirmed.
 *
 * Transactions are numbered in stream order. Every item handed to the
 * batcher belongs to the open transaction (opened implicitly by its first
 * item); a COMMIT frame closes it. A transaction is complete once it is
 * closed and all its items are done.
 */
#ifndef PG2ES_ACK_H
#define PG2ES_ACK_H

#include "common.h"

typedef struct AckTxn
{
	Lsn			end_lsn;		/* valid once closed */
	int64_t		commit_time;	/* microseconds since the Unix epoch */
	uint64_t	pending;		/* items not yet stored or dead-lettered */
	bool		closed;			/* its COMMIT frame was seen */
} AckTxn;

typedef struct Ack
{
	AckTxn	   *ring;			/* owned; cap entries */
	size_t		cap;
	size_t		head;			/* ring index of the oldest transaction */
	size_t		count;			/* transactions held */
	uint64_t	head_seq;		/* sequence number of ring[head] */
	Lsn			confirmed;		/* flush LSN that may be sent */
	int64_t		confirmed_commit_time;	/* of the newest confirmed txn */
} Ack;

extern void ack_init(Ack *ack, Lsn start);
extern void ack_free(Ack *ack);
extern PG2ES_MUSTCHECK bool ack_add_item(Ack *ack, uint64_t *txn_seq);
extern void ack_item_done(Ack *ack, uint64_t txn_seq);
extern PG2ES_MUSTCHECK bool ack_commit(Ack *ack, Lsn end_lsn, int64_t commit_time);
extern void ack_keepalive(Ack *ack, Lsn wal_end);
extern int64_t ack_oldest_commit_time(const Ack *ack);
extern bool ack_idle(const Ack *ack);
extern bool ack_txn_open(const Ack *ack);

#endif							/* PG2ES_ACK_H */
