/*
 * slot.c
 *		The replication slot's state, loss and retained WAL (see slot.h).
 */
#include "slot.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "catalog.h"
#include "log.h"
#include "pgconn.h"

/* how often the monitor reads pg_replication_slots while streaming */
#define SLOT_MONITOR_INTERVAL_US (10 * 1000000)
/* slot_report_lost said it, and the start-over has not looked yet */
static bool lost_reported = false;

/* how long its connection attempt may take */
#define SLOT_MONITOR_CONNECT_US (10 * 1000000)

static bool build_inspect_query(PGconn *conn, const char *slot, Buf *sql);
static int64_t int_or_unknown(const PGresult *res, int col);
static void read_slot_row(const PGresult *res, SlotInfo *info);
static bool slot_in_load_state(PGconn *control, const char *slot, bool *known);
static void monitor_connect(SlotMonitor *mon, int64_t now);
static bool monitor_connected(SlotMonitor *mon, int64_t now);
static void monitor_send(SlotMonitor *mon);
static void monitor_take(SlotMonitor *mon, Metrics *metrics);
static void monitor_warn(SlotMonitor *mon, const SlotInfo *info);

/*
 * build_inspect_query: the query slot_inspect runs, for conn's server
 * version (conflicting came in 16; invalidation_reason, synced in 17),
 * into sql. One row even when the slot does not exist (its columns NULL
 * then). Simple-protocol text with the name as a literal: a replication
 * connection does not take parameters. Returns false when out of memory.
 */
static bool
build_inspect_query(PGconn *conn, const char *slot, Buf *sql)
{
	int			version = PQserverVersion(conn);
	char	   *lit = PQescapeLiteral(conn, slot, strlen(slot));
	bool		good;

	if (lit == NULL)
		return false;
	good = buf_printf(sql,
					  "SELECT s.slot_name IS NOT NULL, s.wal_status, %s, %s, %s,"
					  " pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()"
					  " ELSE pg_current_wal_lsn() END, s.restart_lsn)::int8,"
					  " s.safe_wal_size, pg_is_in_recovery(),"
					  " (SELECT CASE WHEN setting::int8 < 0 THEN -1 ELSE setting::int8 * 1048576 END"
					  " FROM pg_settings WHERE name = 'max_slot_wal_keep_size')"
					  " FROM (SELECT 1) AS one LEFT JOIN pg_replication_slots s ON s.slot_name = %s",
					  version >= 160000 ? "s.conflicting" : "NULL::bool",
					  version >= 170000 ? "s.invalidation_reason" : "NULL::text",
					  version >= 170000 ? "s.synced" : "false", lit);
	PQfreemem(lit);
	return good;
}

/*
 * int_or_unknown: column col of the first row as an integer, -1 if NULL.
 */
static int64_t
int_or_unknown(const PGresult *res, int col)
{
	return PQgetisnull(res, 0, col) ? -1 : strtoll(PQgetvalue(res, 0, col), NULL, 10);
}

/*
 * read_slot_row: fill info from the row of build_inspect_query, and say
 * why the slot is invalidated if it is.
 */
static void
read_slot_row(const PGresult *res, SlotInfo *info)
{
	const char *wal_status = PQgetvalue(res, 0, 1);

	memset(info, 0, sizeof(*info));
	info->exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	snprintf(info->wal_status, sizeof(info->wal_status), "%s", wal_status);
	info->synced = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
	info->retained_bytes = int_or_unknown(res, 5);
	info->safe_wal_size = PQgetisnull(res, 0, 6) ? SLOT_SIZE_UNKNOWN
		: strtoll(PQgetvalue(res, 0, 6), NULL, 10);
	info->in_recovery = strcmp(PQgetvalue(res, 0, 7), "t") == 0;
	info->max_keep_bytes = int_or_unknown(res, 8);
	if (!info->exists)
		return;
	if (!PQgetisnull(res, 0, 3))
		snprintf(info->reason, sizeof(info->reason), "invalidated (%s)", PQgetvalue(res, 0, 3));
	else if (strcmp(wal_status, "lost") == 0)
		snprintf(info->reason, sizeof(info->reason),
				 "invalidated: wal_status is lost (the WAL it needed was removed: max_slot_wal_keep_size reached)");
	else if (strcmp(PQgetvalue(res, 0, 2), "t") == 0)
		snprintf(info->reason, sizeof(info->reason),
				 "invalidated: it conflicted with recovery (rows it needed were removed on the primary)");
	info->invalidated = info->reason[0] != '\0';
}

/*
 * slot_inspect: read what pg_replication_slots says about slot on conn (an
 * ordinary or a replication=database connection) into *info. Returns false
 * (logged) when the query failed.
 */
bool
slot_inspect(PGconn *conn, const char *slot, SlotInfo *info)
{
	Buf			sql;
	PGresult   *res = NULL;
	bool		good;

	buf_init(&sql);
	good = build_inspect_query(conn, slot, &sql);
	if (good)
	{
		res = PQexec(conn, sql.data);
		good = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && PQnfields(res) == 9;
		if (good)
			read_slot_row(res, info);
		else
			log_error("could not read the state of replication slot \"%s\": %s", slot,
					  PQerrorMessage(conn));
	}
	else
		log_error("out of memory");
	PQclear(res);
	buf_free(&sql);
	return good;
}

/*
 * slot_drop: drop the (inactive) slot on conn, an ordinary or replication
 * connection. Returns false (logged).
 */
bool
slot_drop(PGconn *conn, const char *slot)
{
	char	   *lit = PQescapeLiteral(conn, slot, strlen(slot));
	Buf			sql;
	PGresult   *res = NULL;
	bool		good;

	buf_init(&sql);
	good = lit != NULL && buf_printf(&sql, "SELECT pg_drop_replication_slot(%s)", lit);
	if (good)
	{
		res = PQexec(conn, sql.data);
		good = PQresultStatus(res) == PGRES_TUPLES_OK;
	}
	if (!good)
		log_error("could not drop replication slot \"%s\": %s", slot, PQerrorMessage(conn));
	else
		log_info("dropped the lost replication slot \"%s\"", slot);
	PQclear(res);
	PQfreemem(lit);
	buf_free(&sql);
	return good;
}

/*
 * slot_in_load_state: whether pg2es.load_state has rows of slot, i.e. an
 * initial load ran for it: a slot of that name existed on this database.
 */
static bool
slot_in_load_state(PGconn *control, const char *slot, bool *known)
{
	const char *params[1] = {slot};
	PGresult   *res = PQexecParams(control,
								   "SELECT 1 FROM pg2es.load_state WHERE slot_name = $1 LIMIT 1",
								   1, NULL, params, NULL, NULL, 0);
	bool		good = PQresultStatus(res) == PGRES_TUPLES_OK;

	if (good)
		*known = PQntuples(res) > 0;
	else
		log_error("could not read pg2es.load_state: %s", PQerrorMessage(control));
	PQclear(res);
	return good;
}

/*
 * slot_check_missing: the slot does not exist at startup (control: an
 * ordinary connection to a database with the pg2es extension). If
 * pg2es.load_state shows it existed, it was lost (a failover to a standby
 * that did not have it, or dropped): say so, and refuse when the start
 * would create a fresh slot without a full load (--no-initial-load), or
 * not create one at all; *lost tells the caller to remove, after the new
 * load, the documents it did not write (prune.h). The loss is counted in
 * metrics, unless the stream found it first (slot_report_lost). Returns
 * false (logged) when the start must stop.
 */
bool
slot_check_missing(PGconn *control, const Config *cfg, Metrics *metrics, bool *lost)
{
	bool		known = false;
	char		reason[256];

	*lost = false;
	if (!slot_in_load_state(control, cfg->slot, &known))
		return false;
	if (!known)
		return true;
	*lost = true;
	/* a start-over after a loss the stream found: said and counted there */
	if (lost_reported)
	{
		lost_reported = false;
		return true;
	}
	snprintf(reason, sizeof(reason),
			 "it does not exist on this server, though pg2es.load_state shows it was loaded"
			 " (a failover to a standby that did not have it, or it was dropped)");
	metrics->slot_lost++;
	slot_report_lost(cfg, reason);
	lost_reported = false;
	return cfg->create_slot && !cfg->no_initial_load;
}

/*
 * slot_check_load_possible: an initial load is due; refuse (logged, false)
 * on a standby, which cannot write pg2es.load_state, the load's durable
 * progress (README, "Decoding on a standby").
 */
bool
slot_check_load_possible(PGconn *control)
{
	bool		in_recovery = false;

	if (!pgconn_in_recovery(control, &in_recovery))
		return false;
	if (in_recovery)
		log_error("an initial load cannot run on a standby: it records its progress in"
				  " pg2es.load_state, which a standby cannot write; load from the primary"
				  " and hand over to a slot on the standby (README, \"Decoding on a standby\"),"
				  " or start with --no-initial-load");
	return !in_recovery;
}

/*
 * slot_report_lost: log that the slot cannot be streamed any more
 * (reason says why) and what happens now: with --create-slot (and a load
 * allowed) a new slot and a new initial load; otherwise the forwarder
 * stops, and the message says what to do.
 */
void
slot_report_lost(const Config *cfg, const char *reason)
{
	lost_reported = true;
	if (cfg->create_slot && !cfg->no_initial_load)
		log_error("replication slot \"%s\" is lost: %s; changes since the forwarder's last"
				  " confirmed position cannot be streamed: starting over with a new slot and"
				  " a new initial load of every table", cfg->slot, reason);
	else
		log_error("replication slot \"%s\" is lost: %s; changes since the forwarder's last"
				  " confirmed position cannot be streamed, and a new slot would miss them:"
				  " start pg2es with --create-slot (without --no-initial-load) to create a new"
				  " slot and load every table again (README, \"High availability\")",
				  cfg->slot, reason);
}

/*
 * slot_wal_passed: whether the server's WAL (on an ordinary connection with
 * cfg's settings) is past lsn: a new slot created now begins after it.
 * Returns false (logged) when the server cannot be asked.
 */
bool
slot_wal_passed(const Config *cfg, Lsn lsn, bool *passed)
{
	PGconn	   *conn = catalog_connect(cfg);
	char		sql[96];
	PGresult   *res;
	bool		good;

	if (conn == NULL)
		return false;
	snprintf(sql, sizeof(sql), "SELECT pg_current_wal_insert_lsn() > '" LSN_FORMAT "'",
			 LSN_ARGS(lsn));
	res = PQexec(conn, sql);
	good = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	if (good)
		*passed = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	else
		log_error("could not read the server's WAL position: %s", PQerrorMessage(conn));
	PQclear(res);
	PQfinish(conn);
	return good;
}

/*
 * slot_monitor_init: a monitor for cfg's slot; connects when first polled.
 */
void
slot_monitor_init(SlotMonitor *mon, const Config *cfg)
{
	memset(mon, 0, sizeof(*mon));
	mon->cfg = cfg;
}

/*
 * monitor_connect: start opening the monitor's connection, without waiting
 * (monitor_connected completes it); a failure is logged at debug level and
 * tried again at the next interval.
 */
static void
monitor_connect(SlotMonitor *mon, int64_t now)
{
	mon->conn = pgconn_open(mon->cfg->conninfo, PGCONN_NONBLOCKING);
	if (mon->conn == NULL || PQstatus(mon->conn) == CONNECTION_BAD)
	{
		log_debug("slot monitor: could not connect: %s",
				  mon->conn ? PQerrorMessage(mon->conn) : "out of memory");
		slot_monitor_free(mon);
		return;
	}
	mon->connecting = true;
	mon->waiting_for = PGRES_POLLING_WRITING;
	mon->connect_deadline_us = now + SLOT_MONITOR_CONNECT_US;
}

/*
 * monitor_connected: one step of the connection attempt, when its socket
 * is ready for what libpq waits for (looked at without waiting). Returns
 * true once connected; gives up (logged at debug level) on a failure or
 * after SLOT_MONITOR_CONNECT_US.
 */
static bool
monitor_connected(SlotMonitor *mon, int64_t now)
{
	struct pollfd pfd = {PQsocket(mon->conn), 0, 0};

	pfd.events = mon->waiting_for == PGRES_POLLING_READING ? POLLIN : POLLOUT;
	if (pfd.fd >= 0 && poll(&pfd, 1, 0) == 0)
	{
		if (now >= mon->connect_deadline_us)
		{
			log_debug("slot monitor: connecting timed out");
			slot_monitor_free(mon);
		}
		return false;
	}
	mon->waiting_for = PQconnectPoll(mon->conn);
	if (mon->waiting_for == PGRES_POLLING_OK && PQsetnonblocking(mon->conn, 1) == 0)
	{
		mon->connecting = false;
		return true;
	}
	if (mon->waiting_for == PGRES_POLLING_FAILED || mon->waiting_for == PGRES_POLLING_OK)
	{
		log_debug("slot monitor: could not connect: %s", PQerrorMessage(mon->conn));
		slot_monitor_free(mon);
	}
	return false;
}

/*
 * monitor_send: send the query on the connected monitor connection.
 */
static void
monitor_send(SlotMonitor *mon)
{
	Buf			sql;

	buf_init(&sql);
	mon->busy = build_inspect_query(mon->conn, mon->cfg->slot, &sql) &&
		PQsendQuery(mon->conn, sql.data) == 1 && PQflush(mon->conn) >= 0;
	buf_free(&sql);
	if (!mon->busy)
		slot_monitor_free(mon);
}

/*
 * monitor_warn: warn once when the retained WAL passes SLOT_WARN_PERCENT
 * of max_slot_wal_keep_size or the server calls it unreserved, and say
 * when it is back under.
 */
static void
monitor_warn(SlotMonitor *mon, const SlotInfo *info)
{
	bool		near = strcmp(info->wal_status, "unreserved") == 0 ||
	(info->max_keep_bytes > 0 && info->safe_wal_size != SLOT_SIZE_UNKNOWN &&
	 info->safe_wal_size * 100 < info->max_keep_bytes * (100 - SLOT_WARN_PERCENT));

	if (near)
		log_state(&mon->warned, 2, LOG_LEVEL_WARNING,
				  "replication slot \"%s\" retains %lld bytes of WAL; %lld more and"
				  " max_slot_wal_keep_size (%lld bytes) invalidates it (wal_status %s):"
				  " the forwarder is falling behind, and a lost slot means a new initial load",
				  mon->cfg->slot, (long long) info->retained_bytes,
				  (long long) (info->safe_wal_size > 0 ? info->safe_wal_size : 0),
				  (long long) info->max_keep_bytes, info->wal_status);
	else if (mon->warned.current == 2)
		log_state(&mon->warned, 1, LOG_LEVEL_INFO,
				  "replication slot \"%s\" retained WAL is back under %d%% of max_slot_wal_keep_size",
				  mon->cfg->slot, SLOT_WARN_PERCENT);
}

/*
 * monitor_take: the answer to the monitor's query is complete: publish it.
 */
static void
monitor_take(SlotMonitor *mon, Metrics *metrics)
{
	PGresult   *res;
	SlotInfo	info;
	bool		read = false;

	while ((res = PQgetResult(mon->conn)) != NULL)
	{
		if (!read && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
			PQnfields(res) == 9)
		{
			read_slot_row(res, &info);
			read = true;
		}
		PQclear(res);
	}
	mon->busy = false;
	if (!read || !info.exists)
		return;
	metrics->slot_retained_wal_bytes = info.retained_bytes;
	metrics->slot_safe_wal_size_bytes = info.safe_wal_size;
	metrics->slot_max_wal_keep_bytes = info.max_keep_bytes;
	metrics->slot_known = true;
	monitor_warn(mon, &info);
}

/*
 * slot_monitor_poll: called by the streaming loop at every turn; never
 * waits for the server: every SLOT_MONITOR_INTERVAL_US it sends the query
 * (connecting first if need be, a step per turn), and later turns pick the
 * answer up. Failures are retried at the next interval with a new
 * connection.
 */
void
slot_monitor_poll(SlotMonitor *mon, Metrics *metrics, int64_t now)
{
	if (mon->busy)
	{
		if (PQflush(mon->conn) < 0 || !PQconsumeInput(mon->conn))
			slot_monitor_free(mon);
		else if (!PQisBusy(mon->conn))
			monitor_take(mon, metrics);
		return;
	}
	if (mon->connecting)
	{
		if (monitor_connected(mon, now))
			monitor_send(mon);
		return;
	}
	if (now < mon->next_us)
		return;
	mon->next_us = now + SLOT_MONITOR_INTERVAL_US;
	if (mon->conn == NULL)
		monitor_connect(mon, now);
	else
		monitor_send(mon);
}

/*
 * slot_monitor_free: close the monitor's connection.
 */
void
slot_monitor_free(SlotMonitor *mon)
{
	PQfinish(mon->conn);
	mon->conn = NULL;
	mon->busy = false;
	mon->connecting = false;
}
