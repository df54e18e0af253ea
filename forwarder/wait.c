/*
 * wait.c
 *		pg2es wait (see wait.h).
 *
 * Polls the slot's confirmed_flush_lsn over an ordinary connection, at
 * first often (a read-your-writes caller is usually only milliseconds
 * behind), then less (a long wait costs the server little).
 */
#include "wait.h"

#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "log.h"
#include "refresh.h"

/* poll interval: 5 ms doubling to 200 ms */
#define WAIT_POLL_MIN_MS 5
#define WAIT_POLL_MAX_MS 200

static bool wal_position_now(PGconn *conn, Lsn *lsn);
static int	slot_confirmed(PGconn *conn, const char *slot, Lsn *confirmed);
static int	wait_confirmed(PGconn *conn, const Config *cfg, Lsn target,
						   volatile sig_atomic_t *stop);
static bool refresh_indexes(const Config *cfg);

/*
 * wal_position_now: the server's WAL position: what it has written
 * (pg_current_wal_lsn), or on a standby what it has replayed, which is as
 * far as a slot there can decode. Written rather than inserted: the insert
 * position may stand past a page header, or past records nobody flushes
 * yet, where no confirmation arrives while the server is idle; every commit
 * made with synchronous_commit on is written before it returns. Returns
 * false (logged) on failure.
 */
static bool
wal_position_now(PGconn *conn, Lsn *lsn)
{
	PGresult   *res = PQexec(conn, "SELECT CASE WHEN pg_is_in_recovery()"
							 " THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END");
	bool		good = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	!PQgetisnull(res, 0, 0) && lsn_parse(PQgetvalue(res, 0, 0), lsn);

	if (!good)
		log_error("could not read the server's WAL position: %s",
				  PQresultStatus(res) == PGRES_TUPLES_OK ? "no position (nothing replayed yet)"
				  : PQerrorMessage(conn));
	PQclear(res);
	return good;
}

/*
 * slot_confirmed: the confirmed_flush_lsn of slot into *confirmed.
 * Returns 0, or 2 (logged) when the slot does not exist, is not logical,
 * or the server cannot be asked.
 */
static int
slot_confirmed(PGconn *conn, const char *slot, Lsn *confirmed)
{
	const char *params[1] = {slot};
	PGresult   *res = PQexecParams(conn, "SELECT slot_type, confirmed_flush_lsn"
								   " FROM pg_replication_slots WHERE slot_name = $1",
								   1, NULL, params, NULL, NULL, 0);
	int			status = 2;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		log_error("could not read replication slot \"%s\": %s", slot, PQerrorMessage(conn));
	else if (PQntuples(res) == 0)
		log_error("replication slot \"%s\" does not exist", slot);
	else if (strcmp(PQgetvalue(res, 0, 0), "logical") != 0)
		log_error("replication slot \"%s\" is not a logical slot", slot);
	else if (PQgetisnull(res, 0, 1))
	{
		*confirmed = 0;			/* still being created: nothing confirmed */
		status = 0;
	}
	else if (lsn_parse(PQgetvalue(res, 0, 1), confirmed))
		status = 0;
	else
		log_error("replication slot \"%s\" has an unreadable confirmed_flush_lsn \"%s\"",
				  slot, PQgetvalue(res, 0, 1));
	PQclear(res);
	return status;
}

/*
 * wait_confirmed: poll until the slot's confirmation reaches target, the
 * timeout passes or a stop signal comes. Returns 0 reached, 1 timed out, 2
 * an error or stopped (logged).
 */
static int
wait_confirmed(PGconn *conn, const Config *cfg, Lsn target, volatile sig_atomic_t *stop)
{
	int64_t		deadline = pg2es_now_us() + (int64_t) cfg->wait_timeout_ms * 1000;
	int			interval = WAIT_POLL_MIN_MS;
	Lsn			confirmed = 0;
	int			status;

	while ((status = slot_confirmed(conn, cfg->slot, &confirmed)) == 0 && confirmed < target)
	{
		int64_t		left = deadline - pg2es_now_us();

		if (*stop)
		{
			log_error("stopped by a signal before slot \"%s\" reached " LSN_FORMAT,
					  cfg->slot, LSN_ARGS(target));
			return 2;
		}
		if (cfg->wait_timeout_ms > 0 && left <= 0)
		{
			log_error("timed out after %d s: slot \"%s\" has confirmed " LSN_FORMAT
					  ", not yet " LSN_FORMAT " (is the forwarder running, and Elasticsearch taking its writes?)",
					  cfg->wait_timeout_ms / 1000, cfg->slot, LSN_ARGS(confirmed), LSN_ARGS(target));
			return 1;
		}
		if (cfg->wait_timeout_ms > 0 && left / 1000 < interval)
			interval = (int) (left / 1000) + 1;
		(void) poll(NULL, 0, interval); /* a signal cuts it short */
		interval = interval * 2 > WAIT_POLL_MAX_MS ? WAIT_POLL_MAX_MS : interval * 2;
	}
	if (status == 0)
		printf("slot \"%s\" has confirmed " LSN_FORMAT ", at or past " LSN_FORMAT "\n",
			   cfg->slot, LSN_ARGS(confirmed), LSN_ARGS(target));
	return status;
}

/*
 * refresh_indexes: one refresh round over the covered tables' indexes
 * (refresh.h), so that searches see every stored document. Returns false
 * (logged) on failure.
 */
static bool
refresh_indexes(const Config *cfg)
{
	Refresher	r;
	long		failed = -1;
	bool		good = refresh_init(&r, cfg) && refresh_wait(&r, refresh_want(&r), &failed);

	if (good && failed >= 0)
	{
		log_error("could not refresh the slot's indexes: HTTP %ld", failed);
		good = false;
	}
	refresh_free(&r);
	return good;
}

/*
 * wait_run: the command (see wait.h). Returns the exit status.
 */
int
wait_run(const Config *cfg, volatile sig_atomic_t *stop)
{
	PGconn	   *conn = catalog_connect(cfg);
	Lsn			target = cfg->wait_lsn;
	int			status = 2;

	if (conn != NULL && (cfg->wait_lsn_given || wal_position_now(conn, &target)))
		status = wait_confirmed(conn, cfg, target, stop);
	if (status == 0 && cfg->wait_searchable && !refresh_indexes(cfg))
		status = 2;
	PQfinish(conn);
	return status;
}
