/*
 * pgconn.c
 *		The forwarder's PostgreSQL client (see pgconn.h).
 */
#include "pgconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static bool slot_options(PGconn *conn, bool temporary, bool export_snapshot, char *out,
						 size_t size, bool *failover);

/*
 * pgconn_open: open a connection with conninfo, the -d settings as
 * cfg.c settled them (a key=value string that also asks for UTF-8), so the
 * PG* variables and .pgpass apply; flags are PGCONN_*. Returns what libpq
 * returns: NULL only when out of memory; the caller checks PQstatus (or,
 * with PGCONN_NONBLOCKING, polls) and PQfinish'es it.
 *
 * Every connection gets the same limits, placed before dbname so that -d
 * can override them: an attempt gives up after 10 s, and TCP keepalives
 * notice a silently dead network within about a minute instead of hours.
 * (libpq enforces connect_timeout only while it waits itself: a
 * PGCONN_NONBLOCKING caller keeps its own deadline.) replication comes
 * after dbname so that -d cannot turn it off or on.
 */
PGconn *
pgconn_open(const char *conninfo, int flags)
{
	const char *keywords[] = {"connect_timeout", "keepalives_idle", "keepalives_interval",
	"keepalives_count", "dbname", "replication", "fallback_application_name", NULL};
	const char *values[] = {"10", "30", "10", "3", conninfo,
	(flags & PGCONN_REPLICATION) ? "database" : NULL, "pg2es", NULL};

	/* libpq skips a keyword whose value is NULL */
	if (flags & PGCONN_NONBLOCKING)
		return PQconnectStartParams(keywords, values, 1);
	return PQconnectdbParams(keywords, values, 1);
}

/*
 * pgconn_error_of: what the failed result res (NULL: libpq ran out of
 * memory) means, from its SQLSTATE (pgconn_sqlstate_class).
 */
PgconnError
pgconn_error_of(const PGresult *res)
{
	return pgconn_sqlstate_class(PQresultErrorField(res, PG_DIAG_SQLSTATE));
}

/*
 * pgconn_sqlstate_class: what a command failing with SQLSTATE state means.
 * No SQLSTATE (NULL) is libpq's own error, the connection's; class 08 is
 * connection trouble and 57P the server shutting down or the database
 * going: reconnect. The rest of 57 (a cancel), 53 (resources), 58 (system
 * errors) and 55006 (the slot in use by another process) may pass by
 * themselves. 22 (data exception) and 42 (syntax or access) say the
 * request is wrong: the same one fails again.
 */
PgconnError
pgconn_sqlstate_class(const char *state)
{
	if (state == NULL || strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
		return PGCONN_ERR_CONNECTION;
	if (strncmp(state, "57", 2) == 0 || strncmp(state, "53", 2) == 0 ||
		strncmp(state, "58", 2) == 0 || strcmp(state, "55006") == 0)
		return PGCONN_ERR_TRANSIENT;
	if (strncmp(state, "22", 2) == 0 || strncmp(state, "42", 2) == 0)
		return PGCONN_ERR_REQUEST;
	return PGCONN_ERR_OTHER;
}

/*
 * pgconn_sqlstate_is: whether res (possibly NULL) failed with exactly the
 * SQLSTATE state.
 */
bool
pgconn_sqlstate_is(const PGresult *res, const char *state)
{
	const char *got = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return got != NULL && strcmp(got, state) == 0;
}

/*
 * pgconn_in_recovery: whether the server of conn (an ordinary or a
 * replication=database connection) is a standby. Returns false (logged)
 * when it cannot be asked.
 */
bool
pgconn_in_recovery(PGconn *conn, bool *in_recovery)
{
	PGresult   *res = PQexec(conn, "SELECT pg_is_in_recovery()");
	bool		good = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;

	if (good)
		*in_recovery = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	else
		log_error("could not ask PostgreSQL whether it is a standby: %s", PQerrorMessage(conn));
	PQclear(res);
	return good;
}

/*
 * pgconn_append_quoted: append text to cmd wrapped in quote, with the
 * quote character doubled: the replication grammar's identifiers ('"')
 * and literals ('\''), which take no parameters. False when out of memory.
 */
bool
pgconn_append_quoted(Buf *cmd, const char *text, char quote)
{
	if (!buf_append(cmd, &quote, 1))
		return false;
	for (; *text; text++)
		if ((*text == quote && !buf_append(cmd, &quote, 1)) || !buf_append(cmd, text, 1))
			return false;
	return buf_append(cmd, &quote, 1);
}

/*
 * pgconn_identify_system: IDENTIFY_SYSTEM on the replication connection
 * conn, which also checks that it is bound to a database: the server's
 * timeline into *timeline. Returns PGCONN_OK; the failure's class
 * (PQerrorMessage(conn) says why); or PGCONN_ERR_ANSWER when the answer
 * names no database (or is not the documented row).
 */
PgconnError
pgconn_identify_system(PGconn *conn, uint32_t *timeline)
{
	PGresult   *res = PQexec(conn, "IDENTIFY_SYSTEM");
	PgconnError err = PGCONN_OK;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		err = pgconn_error_of(res);
	else if (PQntuples(res) != 1 || PQnfields(res) < 4 || PQgetisnull(res, 0, 3))
		err = PGCONN_ERR_ANSWER;
	else
		*timeline = (uint32_t) strtoul(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return err;
}

/*
 * pgconn_history_switchpoint: in history, the text of a timeline history
 * file (TIMELINE_HISTORY's content column: lines "tli<TAB>X/X<TAB>reason"
 * for each timeline the server's descends from), the position where
 * timeline tli ended, into *switchpoint. Returns false when tli is not in
 * it.
 */
bool
pgconn_history_switchpoint(const char *history, uint32_t tli, Lsn *switchpoint)
{
	const char *line;
	char	   *end;

	for (line = history; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
		if (strtoul(line, &end, 10) == tli && end != line &&
			lsn_scan(end + strspn(end, " \t"), switchpoint) > 0)
			return true;
	return false;
}

/*
 * slot_options: the options after "CREATE_REPLICATION_SLOT name
 * [TEMPORARY] LOGICAL pg2es" for the server of conn, into out: an exported
 * snapshot or none, and for a permanent slot on a PostgreSQL 17+ primary
 * FAILOVER (*failover set), so that standbys with sync_replication_slots
 * keep a copy that a promotion makes usable (a standby refuses FAILOVER
 * for a slot created on itself: it has no standby of its own to sync to;
 * a temporary slot cannot have it). 13 and 14 know only the old keywords.
 * Returns false (logged) when the server cannot be asked.
 */
static bool
slot_options(PGconn *conn, bool temporary, bool export_snapshot, char *out, size_t size,
			 bool *failover)
{
	bool		in_recovery = false;
	int			version = PQserverVersion(conn);

	*failover = false;
	if (version < 150000)
	{
		snprintf(out, size, "%s", export_snapshot ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT");
		return true;
	}
	if (version >= 170000 && !temporary && !pgconn_in_recovery(conn, &in_recovery))
		return false;
	*failover = version >= 170000 && !temporary && !in_recovery;
	snprintf(out, size, "(SNAPSHOT '%s'%s)", export_snapshot ? "export" : "nothing",
			 *failover ? ", FAILOVER true" : "");
	return true;
}

/*
 * pgconn_create_slot: CREATE_REPLICATION_SLOT for a pg2es logical slot
 * named name on the replication connection conn: temporary (dropped with
 * the connection) or not, exporting a snapshot (valid while conn runs no
 * other command) or not; *failover (if not NULL) says whether FAILOVER was
 * asked for (slot_options). Returns the server's result, which the caller
 * checks (PGRES_TUPLES_OK: slot_name, consistent_point, snapshot_name,
 * output_plugin) and PQclear's; NULL (logged) when out of memory or the
 * server could not be asked what to create.
 */
PGresult *
pgconn_create_slot(PGconn *conn, const char *name, bool temporary, bool export_snapshot,
				   bool *failover)
{
	char		options[64];
	bool		asked_failover;
	Buf			cmd;
	PGresult   *res = NULL;

	if (!slot_options(conn, temporary, export_snapshot, options, sizeof(options), &asked_failover))
		return NULL;
	buf_init(&cmd);
	if (buf_append_str(&cmd, "CREATE_REPLICATION_SLOT ") &&
		pgconn_append_quoted(&cmd, name, '"') &&
		buf_printf(&cmd, "%s LOGICAL pg2es %s", temporary ? " TEMPORARY" : "", options))
	{
		if ((res = PQexec(conn, cmd.data)) == NULL)
			log_error("could not create replication slot \"%s\": %s", name, PQerrorMessage(conn));
	}
	else
		log_error("out of memory");
	buf_free(&cmd);
	if (failover)
		*failover = asked_failover;
	return res;
}
