/*
 * repl.c
 *		The logical replication connection to PostgreSQL (libpq), modelled on
 *		pg_recvlogical's StreamLogicalLog.
 */
#include "repl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "pg2es_protocol.h"
#include "pgconn.h"
#include "slot.h"

/*
 * repl_init: remember the options (borrowed; they must outlive the Repl).
 */
void
repl_init(Repl *repl, const ReplOptions *opt)
{
	memset(repl, 0, sizeof(*repl));
	repl->opt = *opt;
}

static void note_failure(Repl *repl, const char *fmt,...) PG2ES_PRINTF(2, 3);
static void
			note_failure(Repl *repl, const char *fmt,...);
static ReplStatus status_of_error(PgconnError err);
static ReplStatus check_result(Repl *repl, PGresult *res, ExecStatusType expect, const char *what);
static ReplStatus identify_system(Repl *repl, uint32_t *timeline);
static ReplStatus slot_lost(Repl *repl, const char *fmt,...) PG2ES_PRINTF(2, 3);
static ReplStatus
			slot_lost(Repl *repl, const char *fmt,...);
static ReplStatus check_timeline(Repl *repl, uint32_t timeline, Lsn start);
static ReplStatus check_slot(Repl *repl, bool *create);
static ReplStatus create_slot(Repl *repl);
static ReplStatus open_connection(Repl *repl);
static bool build_start_command(Repl *repl, Lsn start, Buf *cmd);
static bool parse_message(const char *buf, int len, ReplMsg *msg);

/*
 * note_failure: log why connecting failed, unless it is the same reason as
 * the previous attempt: a server down for an hour gives one line, not one
 * per retry.
 */
static void note_failure(Repl *repl, const char *fmt,...) PG2ES_PRINTF(2, 3);
static void
note_failure(Repl *repl, const char *fmt,...)
{
	char		message[sizeof(repl->last_failure)];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	if (strcmp(message, repl->last_failure) == 0)
		return;
	memcpy(repl->last_failure, message, sizeof(message));
	log_error("%s", message);
}

/*
 * status_of_error: whether a command that failed with err is worth
 * retrying: connection trouble and what passes by itself (pgconn_error_of)
 * are; anything else is a setting to fix.
 */
static ReplStatus
status_of_error(PgconnError err)
{
	return err == PGCONN_ERR_CONNECTION || err == PGCONN_ERR_TRANSIENT ? REPL_RETRY : REPL_FATAL;
}

/*
 * repl_explain_refusal: when a command on the replication connection conn
 * failed with message because the server refused to load the plugin, say
 * exactly what the administrator must do; otherwise do nothing. For any
 * caller that creates or starts a pg2es slot.
 */
void
repl_explain_refusal(PGconn *conn, const char *message)
{
	PGresult   *res;
	const char *current = NULL;

	if (strstr(message, "may not be used as an output plugin") != NULL)
	{
		res = PQexec(conn, "SHOW output_plugin_libraries");
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
			current = PQgetvalue(res, 0, 0);
		log_error("the server does not allow pg2es as an output plugin; add it in postgresql.conf:"
				  " output_plugin_libraries = '%s%spg2es' then reload the configuration"
				  " (SELECT pg_reload_conf())",
				  current ? current : "...", current && *current == '\0' ? "" : ", ");
		PQclear(res);
	}
	else if (strstr(message, "could not access file") != NULL)
		log_error("the pg2es output plugin is not installed on the database server:"
				  " run \"make -C decoder install\" there (as the owner of the PostgreSQL installation)");
}

/*
 * check_result: whether res, the result of the replication command what,
 * has status expect. Returns REPL_OK, or logs the server's message and
 * classifies it. Clears res.
 */
static ReplStatus
check_result(Repl *repl, PGresult *res, ExecStatusType expect, const char *what)
{
	ReplStatus	status = REPL_OK;

	if (PQresultStatus(res) != expect)
	{
		const char *message = PQresultErrorMessage(res);

		status = status_of_error(pgconn_error_of(res));
		note_failure(repl, "%s failed: %s", what, *message ? message : PQerrorMessage(repl->conn));
		if (status == REPL_FATAL)
			repl_explain_refusal(repl->conn, message);
	}
	PQclear(res);
	return status;
}

/*
 * identify_system: IDENTIFY_SYSTEM, which also checks that -d names a
 * database; the server's timeline goes to *timeline.
 */
static ReplStatus
identify_system(Repl *repl, uint32_t *timeline)
{
	PgconnError err = pgconn_identify_system(repl->conn, timeline);

	if (err == PGCONN_OK)
		return REPL_OK;
	if (err == PGCONN_ERR_ANSWER)
	{
		log_error("IDENTIFY_SYSTEM returned an unexpected result; is -d a database connection?");
		return REPL_FATAL;
	}
	note_failure(repl, "IDENTIFY_SYSTEM failed: %s", PQerrorMessage(repl->conn));
	return status_of_error(err);
}

/*
 * slot_lost: remember why the slot cannot be streamed (for the caller,
 * through repl_lost_reason) and return REPL_SLOT_LOST.
 */
static ReplStatus slot_lost(Repl *repl, const char *fmt,...) PG2ES_PRINTF(2, 3);
static ReplStatus
slot_lost(Repl *repl, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(repl->lost_reason, sizeof(repl->lost_reason), fmt, ap);
	va_end(ap);
	return REPL_SLOT_LOST;
}

/*
 * check_timeline: the server is on another timeline than at the last start
 * (a standby was promoted). What the forwarder confirmed, start, must be
 * history the new timeline shares: if the old timeline ended before it,
 * Elasticsearch holds changes this server never had, and a slot there
 * would skip this server's own changes up to start.
 */
static ReplStatus
check_timeline(Repl *repl, uint32_t timeline, Lsn start)
{
	char		cmd[64];
	PGresult   *res;
	Lsn			switchpoint = 0;
	bool		found;

	if (!repl->streamed || repl->timeline == 0 || timeline == repl->timeline)
		return REPL_OK;
	log_info("PostgreSQL is on timeline %u, not %u: a standby was promoted", timeline, repl->timeline);
	snprintf(cmd, sizeof(cmd), "TIMELINE_HISTORY %u", timeline);
	res = PQexec(repl->conn, cmd);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQnfields(res) != 2)
	{
		ReplStatus	status = status_of_error(pgconn_error_of(res));

		note_failure(repl, "TIMELINE_HISTORY failed: %s", PQerrorMessage(repl->conn));
		PQclear(res);
		return status;
	}
	found = pgconn_history_switchpoint(PQgetvalue(res, 0, 1), repl->timeline, &switchpoint);
	PQclear(res);
	if (!found)
		return slot_lost(repl, "the server's timeline %u does not descend from timeline %u,"
						 " where it was streamed", timeline, repl->timeline);
	if (start > switchpoint)
		repl->diverged_from = start;
	if (start > switchpoint)
		return slot_lost(repl, "the promoted server left timeline %u at " LSN_FORMAT
						 ", before " LSN_FORMAT ", which Elasticsearch already holds: it never"
						 " received the changes in between (set synchronized_standby_slots on"
						 " the primary)", repl->timeline, LSN_ARGS(switchpoint), LSN_ARGS(start));
	return REPL_OK;
}

/*
 * check_slot: whether the slot can be streamed from this server. *create
 * is set when it is missing and is to be created here: only with
 * --create-slot before the first start (load.c creates it when it loads).
 * Once streamed, a missing slot is lost, never replaced by a fresh one.
 */
static ReplStatus
check_slot(Repl *repl, bool *create)
{
	SlotInfo	info;

	*create = false;
	if (!slot_inspect(repl->conn, repl->opt.slot, &info))
		return REPL_RETRY;
	if (info.invalidated)
		return slot_lost(repl, "%s", info.reason);
	if (info.exists && info.in_recovery && info.synced)
	{
		/* libpq's read-write host is not up yet, or -d names the standby */
		note_failure(repl, "replication slot \"%s\" on this standby is synchronized from the"
					 " primary and cannot be streamed until the standby is promoted; use"
					 " target_session_attrs=read-write in -d", repl->opt.slot);
		return REPL_RETRY;
	}
	if (info.exists)
		return REPL_OK;
	if (repl->streamed)
		return slot_lost(repl, "it no longer exists on the server (after a failover: it was not"
						 " synchronized to the promoted standby)");
	if (!repl->opt.create_slot)
	{
		log_error("replication slot \"%s\" does not exist: start with --create-slot to create it"
				  " (and load every table)", repl->opt.slot);
		return REPL_FATAL;
	}
	*create = true;
	return REPL_OK;
}

/*
 * create_slot: create the slot without a snapshot (no initial load), with
 * FAILOVER where the server supports it (pgconn_create_slot).
 */
static ReplStatus
create_slot(Repl *repl)
{
	bool		failover = false;
	PGresult   *res = pgconn_create_slot(repl->conn, repl->opt.slot, false, false, &failover);
	ReplStatus	status;

	if (res == NULL)
		return REPL_RETRY;
	/* --create-slot means "if missing": it is there now */
	if (pgconn_sqlstate_is(res, "42710"))
	{
		PQclear(res);
		return REPL_OK;
	}
	status = check_result(repl, res, PGRES_TUPLES_OK, "creating the replication slot");
	if (status == REPL_OK)
		log_info("created replication slot \"%s\"%s", repl->opt.slot,
				 failover ? " for failover" : "");
	return status;
}

/*
 * open_connection: connect with replication=database added to the -d
 * settings, as pg_recvlogical does (pgconn_open).
 */
static ReplStatus
open_connection(Repl *repl)
{
	const char *message;

	repl->conn = pgconn_open(repl->opt.conninfo, PGCONN_REPLICATION);
	if (repl->conn == NULL)
	{
		log_error("could not connect to PostgreSQL: out of memory");
		return REPL_RETRY;
	}
	if (PQstatus(repl->conn) == CONNECTION_OK)
		return REPL_OK;
	message = PQerrorMessage(repl->conn);
	note_failure(repl, "could not connect to PostgreSQL: %s", message);
	/* a wrong password, role or database will not fix itself */
	if (PQconnectionNeedsPassword(repl->conn) || strstr(message, "authentication failed") ||
		strstr(message, "does not exist"))
		return REPL_FATAL;
	return REPL_RETRY;
}

/*
 * build_start_command: START_REPLICATION for our slot from start with the
 * -o options and framing=msgpack, into cmd. Returns false when out of
 * memory.
 */
static bool
build_start_command(Repl *repl, Lsn start, Buf *cmd)
{
	size_t		i;

	if (!buf_append_str(cmd, "START_REPLICATION SLOT ") ||
		!pgconn_append_quoted(cmd, repl->opt.slot, '"') ||
		!buf_printf(cmd, " LOGICAL " LSN_FORMAT " (\"" FRAMING_OPTION "\" '" FRAMING_MSGPACK "'",
					LSN_ARGS(start)))
		return false;
	for (i = 0; i < repl->opt.nopts; i++)
	{
		if (!buf_append_str(cmd, ", ") ||
			!pgconn_append_quoted(cmd, repl->opt.opt_names[i], '"'))
			return false;
		if (repl->opt.opt_values[i] &&
			(!buf_append_str(cmd, " ") ||
			 !pgconn_append_quoted(cmd, repl->opt.opt_values[i], '\'')))
			return false;
	}
	return buf_append_str(cmd, ")");
}

/*
 * repl_connect: connect, check the connection and the slot (create it if
 * asked, before the first start only; see check_slot), and start
 * streaming from start, what the caller has confirmed: the server starts
 * from its slot's confirmed position when that is further (0/0 means
 * "where the slot is"), and skips transactions that committed before start
 * otherwise (confirmed while disconnected, or before a failover to a
 * synchronized slot that lags behind). On failure the connection is closed
 * and the status says whether retrying can help; REPL_SLOT_LOST means the
 * slot cannot be streamed any more (repl_lost_reason says why).
 */
ReplStatus
repl_connect(Repl *repl, Lsn start)
{
	ReplStatus	status;
	Buf			cmd;
	uint32_t	timeline = 0;
	bool		create = false;

	if ((status = open_connection(repl)) != REPL_OK)
	{
		repl_close(repl);
		return status;
	}
	buf_init(&cmd);
	status = identify_system(repl, &timeline);
	if (status == REPL_OK)
		status = check_slot(repl, &create);
	if (status == REPL_OK)
		status = check_timeline(repl, timeline, start);
	if (status == REPL_OK && create)
		status = create_slot(repl);
	if (status == REPL_OK)
		status = build_start_command(repl, start, &cmd)
			? check_result(repl, PQexec(repl->conn, cmd.data), PGRES_COPY_BOTH, "START_REPLICATION")
			: REPL_RETRY;
	buf_free(&cmd);
	if (status != REPL_OK)
	{
		/* the lost slot is left for repl_drop_lost_slot */
		if (status != REPL_SLOT_LOST)
			repl_close(repl);
		return status;
	}
	repl->last_failure[0] = '\0';
	repl->streamed = true;
	repl->timeline = timeline;
	return status;
}

/*
 * repl_lost_reason: why the last repl_connect returned REPL_SLOT_LOST.
 */
const char *
repl_lost_reason(const Repl *repl)
{
	return repl->lost_reason;
}

/*
 * repl_diverged_from: after REPL_SLOT_LOST at a promotion, the position
 * Elasticsearch holds that the promoted server's history does not reach;
 * 0 for any other loss. The next slot must begin past it, or its load,
 * versioned below what Elasticsearch holds, would be refused (slot.h).
 */
Lsn
repl_diverged_from(const Repl *repl)
{
	return repl->diverged_from;
}

/*
 * repl_drop_lost_slot: after REPL_SLOT_LOST, drop the slot if it still
 * exists (invalidated), so that a new one of the same name can be
 * created, then close the connection. Returns false (logged).
 */
bool
repl_drop_lost_slot(Repl *repl)
{
	SlotInfo	info;
	bool		good = repl->conn != NULL && slot_inspect(repl->conn, repl->opt.slot, &info) &&
	(!info.exists || slot_drop(repl->conn, repl->opt.slot));

	repl_close(repl);
	return good;
}

/*
 * parse_message: decode a CopyData payload from the server.
 *
 *	'w' XLogData:  Int64 dataStart, Int64 walEnd, Int64 sendTime, payload
 *	'k' keepalive: Int64 walEnd, Int64 sendTime, Byte1 replyRequested
 *
 * Lengths are checked before any field is read.
 */
static bool
parse_message(const char *buf, int len, ReplMsg *msg)
{
	if (len >= 25 && buf[0] == 'w')
	{
		msg->kind = REPL_MSG_DATA;
		msg->data_start = read_be64(buf + 1);
		msg->wal_end = read_be64(buf + 9);
		msg->data = buf + 25;
		msg->len = (size_t) len - 25;
		return true;
	}
	if (len >= 18 && buf[0] == 'k')
	{
		msg->kind = REPL_MSG_KEEPALIVE;
		msg->wal_end = read_be64(buf + 1);
		msg->reply_requested = buf[17] != 0;
		return true;
	}
	log_error("unexpected replication message of type \"%c\" and %d bytes",
			  len > 0 ? buf[0] : '?', len);
	return false;
}

/*
 * repl_read: the next message without blocking, in *msg (a 'w' payload is
 * valid until the next call). REPL_MSG_NONE means wait for the socket.
 * Returns REPL_RETRY (logged) when the connection failed, REPL_FATAL
 * (logged) when the stream ended with an error a retry would repeat (a
 * data exception or a syntax error: the plugin refusing its options or a
 * table).
 */
ReplStatus
repl_read(Repl *repl, ReplMsg *msg)
{
	int			r;

	if (repl->copybuf)
	{
		PQfreemem(repl->copybuf);
		repl->copybuf = NULL;
	}
	memset(msg, 0, sizeof(*msg));
	r = PQgetCopyData(repl->conn, &repl->copybuf, 1);
	if (r == 0)
	{
		if (!PQconsumeInput(repl->conn))
		{
			log_error("lost the PostgreSQL connection: %s", PQerrorMessage(repl->conn));
			return REPL_RETRY;
		}
		r = PQgetCopyData(repl->conn, &repl->copybuf, 1);
	}
	if (r == 0)
		return REPL_OK;
	if (r == -1)
	{
		PGresult   *res = PQgetResult(repl->conn);
		bool		setting = pgconn_error_of(res) == PGCONN_ERR_REQUEST;

		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			log_error("replication stream ended: %s", PQresultErrorMessage(res));
		PQclear(res);
		msg->kind = REPL_MSG_END;
		/* the plugin refused the options or a table: the same again at once */
		return setting ? REPL_FATAL : REPL_OK;
	}
	if (r < 0)
	{
		log_error("lost the PostgreSQL connection: %s", PQerrorMessage(repl->conn));
		return REPL_RETRY;
	}
	return parse_message(repl->copybuf, r, msg) ? REPL_OK : REPL_RETRY;
}

/*
 * repl_take_message: the block holding the message repl_read returned last
 * (its payload stays where msg->data points); the caller owns it now and
 * frees it with PQfreemem. NULL when there is none.
 */
void *
repl_take_message(Repl *repl)
{
	void	   *block = repl->copybuf;

	repl->copybuf = NULL;
	return block;
}

/*
 * repl_send_feedback: send a standby status update. For a logical slot only
 * flushed moves confirmed_flush_lsn; written is informational. Returns
 * REPL_RETRY (logged) when the connection failed.
 */
ReplStatus
repl_send_feedback(Repl *repl, Lsn written, Lsn flushed, bool reply_requested)
{
	char		msg[1 + 8 + 8 + 8 + 8 + 1];
	int64_t		now = pg2es_pg_timestamp(pg2es_wall_us());

	msg[0] = 'r';
	write_be64(msg + 1, written);
	write_be64(msg + 9, flushed);
	write_be64(msg + 17, 0);	/* apply: unused, as pg_recvlogical */
	write_be64(msg + 25, (uint64_t) now);
	msg[33] = reply_requested ? 1 : 0;
	if (PQputCopyData(repl->conn, msg, sizeof(msg)) <= 0)
	{
		log_error("could not send feedback to PostgreSQL: %s", PQerrorMessage(repl->conn));
		return REPL_RETRY;
	}
	return repl_flush(repl);
}

/*
 * repl_flush: push libpq's buffered output to the server.
 */
ReplStatus
repl_flush(Repl *repl)
{
	int			r = PQflush(repl->conn);

	if (r < 0)
	{
		log_error("could not send data to PostgreSQL: %s", PQerrorMessage(repl->conn));
		return REPL_RETRY;
	}
	repl->flush_pending = r > 0;
	return REPL_OK;
}

/*
 * repl_socket: the connection's socket, for the main loop's poll.
 */
int
repl_socket(const Repl *repl)
{
	return PQsocket(repl->conn);
}

/*
 * repl_finish: clean shutdown: final feedback, CopyDone, drain what the
 * server still sends until the command completes, then close.
 */
void
repl_finish(Repl *repl, Lsn written, Lsn flushed)
{
	PGresult   *res;
	char	   *copybuf;

	if (repl->conn == NULL)
		return;
	if (repl_send_feedback(repl, written, flushed, false) != REPL_OK ||
		PQputCopyEnd(repl->conn, NULL) <= 0 || PQflush(repl->conn) != 0)
	{
		log_warning("could not end the replication stream cleanly: %s",
					PQerrorMessage(repl->conn));
		repl_close(repl);
		return;
	}
	/* what arrives now is not acknowledged and will be sent again next time */
	while (PQgetCopyData(repl->conn, &copybuf, 0) >= 0)
		PQfreemem(copybuf);
	while ((res = PQgetResult(repl->conn)) != NULL)
	{
		if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_COPY_OUT)
			log_warning("unexpected result at the end of the stream: %s",
						PQresultErrorMessage(res));
		PQclear(res);
	}
	repl_close(repl);
}

/*
 * repl_close: drop the connection (if any) without ceremony.
 */
void
repl_close(Repl *repl)
{
	if (repl->copybuf)
		PQfreemem(repl->copybuf);
	repl->copybuf = NULL;
	if (repl->conn)
		PQfinish(repl->conn);
	repl->conn = NULL;
	repl->flush_pending = false;
}
