/*
 * slot.h
 *		What PostgreSQL says about the forwarder's replication slot, and
 *		what follows from it: whether it can still be streamed (a slot lost
 *		at a failover or invalidated by max_slot_wal_keep_size cannot), and
 *		how close its retained WAL is to the invalidation limit (the
 *		monitor, polled by the streaming loop, feeding /metrics). It is
 *		created by pgconn_create_slot (FAILOVER on PostgreSQL 17+ primaries).
 *
 * A slot is lost when it no longer exists on the server the forwarder
 * reaches although it did (streamed before in this process, or rows in
 * pg2es.load_state), or when pg_replication_slots says it is invalidated:
 * wal_status = 'lost', conflicting (16+), invalidation_reason (17+). A lost
 * slot is never replaced silently: a fresh slot begins at the present, and
 * everything between would be missing from Elasticsearch. README, "High
 * availability".
 */
#ifndef PG2ES_SLOT_H
#define PG2ES_SLOT_H

#include <libpq-fe.h>

#include "cfg.h"
#include "common.h"
#include "http.h"

/* The retained WAL warning: past this share of max_slot_wal_keep_size. */
#define SLOT_WARN_PERCENT 80

/* safe_wal_size when the server gives none (no limit, or lost) */
#define SLOT_SIZE_UNKNOWN INT64_MIN

/* One reading of pg_replication_slots for our slot. */
typedef struct SlotInfo
{
	bool		exists;
	bool		invalidated;	/* cannot be streamed any more */
	char		reason[160];	/* why, when invalidated */
	bool		in_recovery;	/* the server is a standby */
	bool		synced;			/* 17+: synchronized from a primary */
	char		wal_status[16]; /* reserved, extended, unreserved, lost */
	int64_t		retained_bytes; /* WAL kept for it; -1 unknown */
	int64_t		safe_wal_size;	/* bytes until invalidation (negative: past
								 * it); SLOT_SIZE_UNKNOWN */
	int64_t		max_keep_bytes; /* max_slot_wal_keep_size; -1 unlimited */
} SlotInfo;

/* The periodic check of the slot while streaming, on its own connection. */
typedef struct SlotMonitor
{
	const Config *cfg;
	PGconn	   *conn;			/* ordinary connection, or NULL */
	bool		connecting;		/* conn is being opened */
	PostgresPollingStatusType waiting_for;	/* what PQconnectPoll waits for */
	int64_t		connect_deadline_us;
	bool		busy;			/* a query is in flight */
	int64_t		next_us;		/* when to ask next */
	LogState	warned;			/* the retained-WAL warning, once per change */
} SlotMonitor;

extern PG2ES_MUSTCHECK bool slot_inspect(PGconn *conn, const char *slot, SlotInfo *info);
extern PG2ES_MUSTCHECK bool slot_drop(PGconn *conn, const char *slot);
extern PG2ES_MUSTCHECK bool slot_check_missing(PGconn *control, const Config *cfg,
											   Metrics *metrics, bool *lost);
extern PG2ES_MUSTCHECK bool slot_check_load_possible(PGconn *control);
extern void slot_report_lost(const Config *cfg, const char *reason);
extern PG2ES_MUSTCHECK bool slot_wal_passed(const Config *cfg, Lsn lsn, bool *passed);

extern void slot_monitor_init(SlotMonitor *mon, const Config *cfg);
extern void slot_monitor_poll(SlotMonitor *mon, Metrics *metrics, int64_t now);
extern void slot_monitor_free(SlotMonitor *mon);

#endif							/* PG2ES_SLOT_H */
