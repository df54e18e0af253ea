/*
 * test_pgconn.c
 *		Unit tests for pgconn.c: the settings every connection gets, what a
 *		SQLSTATE means, the quoting of replication commands and the reading
 *		of a timeline history. No server:
 *		the connections go to a socket directory that does not exist.
 */
#include <string.h>

#include "pgconn.h"
#include "tap.h"

#define NOWHERE "host=/nonexistent/pg2es-unit-test port=1 dbname=x"

/* the value conn uses for keyword ("" when unset) is want */
static bool
setting_is(PGconn *conn, const char *keyword, const char *want)
{
	PQconninfoOption *opts = PQconninfo(conn);
	PQconninfoOption *o;
	bool		same = false;

	for (o = opts; o && o->keyword; o++)
		if (strcmp(o->keyword, keyword) == 0)
			same = strcmp(o->val ? o->val : "", want) == 0;
	PQconninfoFree(opts);
	return same;
}

/* the limits every connection gets, whatever its kind */
static bool
has_limits(PGconn *conn)
{
	return setting_is(conn, "connect_timeout", "10") &&
		setting_is(conn, "keepalives_idle", "30") &&
		setting_is(conn, "keepalives_interval", "10") &&
		setting_is(conn, "keepalives_count", "3") &&
		setting_is(conn, "fallback_application_name", "pg2es");
}

static void
test_open(void)
{
	PGconn	   *conn = pgconn_open(NOWHERE, 0);

	ok(conn && PQstatus(conn) == CONNECTION_BAD, "an ordinary connection to nowhere fails");
	ok(conn && has_limits(conn) && setting_is(conn, "replication", ""),
	   "an ordinary connection: the timeouts and keepalives, no replication");
	PQfinish(conn);

	conn = pgconn_open(NOWHERE, PGCONN_REPLICATION);
	ok(conn && has_limits(conn) && setting_is(conn, "replication", "database"),
	   "a replication connection: the same, with replication=database");
	PQfinish(conn);

	conn = pgconn_open(NOWHERE, PGCONN_NONBLOCKING);
	ok(conn && has_limits(conn) && setting_is(conn, "replication", ""),
	   "a connection started without waiting: the same settings");
	PQfinish(conn);

	conn = pgconn_open(NOWHERE " keepalives_idle=5 connect_timeout=3"
					   " application_name=mine replication=false", PGCONN_REPLICATION);
	ok(conn && setting_is(conn, "keepalives_idle", "5") && setting_is(conn, "connect_timeout", "3") &&
	   setting_is(conn, "application_name", "mine") && setting_is(conn, "replication", "database"),
	   "-d overrides the limits and names the application, but not replication");
	PQfinish(conn);
}

static void
test_sqlstate(void)
{
	PGresult   *res = PQmakeEmptyPGresult(NULL, PGRES_FATAL_ERROR);

	ok(pgconn_error_of(NULL) == PGCONN_ERR_CONNECTION, "no result: libpq's own trouble");
	ok(res && pgconn_error_of(res) == PGCONN_ERR_CONNECTION && !pgconn_sqlstate_is(res, "08006") &&
	   !pgconn_sqlstate_is(NULL, "08006"), "a result without SQLSTATE: the connection's");
	PQclear(res);
	ok(pgconn_sqlstate_class("08006") == PGCONN_ERR_CONNECTION &&
	   pgconn_sqlstate_class("08P01") == PGCONN_ERR_CONNECTION &&
	   pgconn_sqlstate_class("57P01") == PGCONN_ERR_CONNECTION &&
	   pgconn_sqlstate_class("57P04") == PGCONN_ERR_CONNECTION,
	   "08 and 57P: the connection is gone or going");
	ok(pgconn_sqlstate_class("57014") == PGCONN_ERR_TRANSIENT &&
	   pgconn_sqlstate_class("53100") == PGCONN_ERR_TRANSIENT &&
	   pgconn_sqlstate_class("53300") == PGCONN_ERR_TRANSIENT &&
	   pgconn_sqlstate_class("58030") == PGCONN_ERR_TRANSIENT &&
	   pgconn_sqlstate_class("55006") == PGCONN_ERR_TRANSIENT,
	   "a cancel, resources, system errors, an object in use: may pass");
	ok(pgconn_sqlstate_class("22P02") == PGCONN_ERR_REQUEST &&
	   pgconn_sqlstate_class("42601") == PGCONN_ERR_REQUEST &&
	   pgconn_sqlstate_class("42710") == PGCONN_ERR_REQUEST,
	   "data exceptions, syntax and access: the request is wrong");
	ok(pgconn_sqlstate_class("55000") == PGCONN_ERR_OTHER &&
	   pgconn_sqlstate_class("23505") == PGCONN_ERR_OTHER &&
	   pgconn_sqlstate_class("XX000") == PGCONN_ERR_OTHER &&
	   pgconn_sqlstate_class("0A000") == PGCONN_ERR_OTHER, "the rest: a setting to fix");
}

static void
test_quoting(void)
{
	Buf			b;

	buf_init(&b);
	ok(pgconn_append_quoted(&b, "pg2es", '"') && strcmp(b.data, "\"pg2es\"") == 0,
	   "an identifier is quoted");
	buf_reset(&b);
	ok(pgconn_append_quoted(&b, "a\"b\"\"", '"') && strcmp(b.data, "\"a\"\"b\"\"\"\"\"") == 0,
	   "its quotes are doubled");
	buf_reset(&b);
	ok(pgconn_append_quoted(&b, "it's \"x\"", '\'') && strcmp(b.data, "'it''s \"x\"'") == 0,
	   "a literal doubles its own quote only");
	buf_reset(&b);
	ok(pgconn_append_quoted(&b, "", '"') && strcmp(b.data, "\"\"") == 0, "empty text");
	buf_free(&b);
}

static void
test_history(void)
{
	/* as the server writes it: tli, tab, where it ended, tab, why */
	const char *history = "1\t0/3000158\tno recovery target specified\n\n"
	"2\t1/A0000F8\tat restore point \"x\"\n"
	"# a comment\n"
	"12\tFFFFFFFF/FFFFFFFF\tbefore transaction 1\n";
	Lsn			lsn = 42;

	ok(pgconn_history_switchpoint(history, 1, &lsn) && lsn == UINT64_C(0x3000158),
	   "history: the first timeline's end");
	ok(pgconn_history_switchpoint(history, 2, &lsn) && lsn == UINT64_C(0x10A0000F8),
	   "history: a later line, past an empty one");
	ok(pgconn_history_switchpoint(history, 12, &lsn) && lsn == UINT64_MAX,
	   "history: a two-digit timeline is not timeline 1 or 2");
	lsn = 42;
	ok(!pgconn_history_switchpoint(history, 3, &lsn) && lsn == 42,
	   "history: a timeline not in it is not found");
	ok(!pgconn_history_switchpoint("", 1, &lsn) && !pgconn_history_switchpoint("1\tnowhere\n", 1, &lsn) &&
	   lsn == 42, "history: empty, or no position after the timeline");
}

int
main(void)
{
	test_open();
	test_sqlstate();
	test_quoting();
	test_history();
	return done_testing();
}
