/*
 * reqtable.c
 *		pg2es.requests and pg2es.slot_options from the client side (see
 *		reqtable.h).
 *
 * `pg2es reindex` works in one transaction: every table is resolved and
 * checked, and its request inserted, or on the first error nothing is
 * (the connection closes with the transaction open, so the server rolls
 * it back). An open request of the table is looked for first, to name it;
 * the partial unique index on the open requests of a slot and table
 * settles a race with another command.
 */
#include "reqtable.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "catalog.h"
#include "log.h"
#include "pgconn.h"

static PGresult *query(PGconn *conn, const char *sql, int n, const char *const *params);
static char *recorded_options(PGconn *conn, const char *slot);
static bool resolve_table(PGconn *conn, const Config *cfg, const char *options,
						  const char *table, char *relid, size_t relid_len, Buf *name);
static bool insert_request(PGconn *conn, const Config *cfg, const char *relid,
						   const char *name, Buf *out);
static bool insert_requests(PGconn *conn, const Config *cfg, Buf *out);

/* query: sql with text parameters; the caller clears the result. */
static PGresult *
query(PGconn *conn, const char *sql, int n, const char *const *params)
{
	return PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
}

/*
 * reqtable_record_options: record the -o options this forwarder streams
 * slot cfg->slot with in pg2es.slot_options (an upsert), so that `pg2es
 * reindex` can check tables against them while no forwarder runs. Not
 * being able to is only a warning (the stream does not need it; reindex
 * then says no forwarder has run), and on a standby, which cannot write,
 * nothing is tried: requests are made on the primary. Returns false only
 * when out of memory (logged).
 */
bool
reqtable_record_options(PGconn *conn, const Config *cfg)
{
	const char *params[1] = {cfg->slot};
	char	   *optlit = catalog_options_literal(conn, cfg);
	Buf			sql;
	PGresult   *res;

	buf_init(&sql);
	if (optlit == NULL ||
		!buf_printf(&sql, "INSERT INTO pg2es.slot_options (slot_name, options)"
					" SELECT $1, %s WHERE NOT pg_is_in_recovery()"
					" ON CONFLICT (slot_name) DO UPDATE SET options = EXCLUDED.options, updated_at = now()",
					optlit))
	{
		free(optlit);
		buf_free(&sql);
		log_error("out of memory");
		return false;
	}
	res = query(conn, sql.data, 1, params);
	if (pgconn_sqlstate_is(res, "42P01"))
		log_warning("table pg2es.slot_options does not exist (extension pg2es older than 1.1): pg2es reindex cannot be used for slot \"%s\" until ALTER EXTENSION pg2es UPDATE",
					cfg->slot);
	else if (PQresultStatus(res) != PGRES_COMMAND_OK && !pgconn_sqlstate_is(res, "25006"))
		log_warning("could not record the plugin options of slot \"%s\" in pg2es.slot_options, which pg2es reindex checks tables against: %s",
					cfg->slot, PQerrorMessage(conn));
	PQclear(res);
	free(optlit);
	buf_free(&sql);
	return true;
}

/*
 * recorded_options: the options recorded for slot, as the text of a
 * text[] (malloc'd); NULL (logged) when the slot does not exist, no
 * forwarder has recorded them, or the query fails.
 */
static char *
recorded_options(PGconn *conn, const char *slot)
{
	const char *params[1] = {slot};
	PGresult   *res = query(conn,
							"SELECT s.slot_name IS NOT NULL, o.options::text"
							" FROM (SELECT $1::name AS n) q"
							" LEFT JOIN pg_replication_slots s ON s.slot_name = q.n"
							" LEFT JOIN pg2es.slot_options o ON o.slot_name = q.n",
							1, params);
	char	   *options = NULL;

	if (pgconn_sqlstate_is(res, "42P01"))
		log_error("table pg2es.slot_options does not exist: the database needs extension pg2es 1.1 or later (CREATE EXTENSION pg2es, or ALTER EXTENSION pg2es UPDATE)");
	else if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		log_error("could not read the options of slot \"%s\": %s", slot, PQerrorMessage(conn));
	else if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
		log_error("replication slot \"%s\" does not exist", slot);
	else if (PQgetisnull(res, 0, 1))
		log_error("no forwarder has run for slot \"%s\" yet: the tables it covers are known once one has started (it records its plugin options); start it, then ask again",
				  slot);
	else if ((options = strdup(PQgetvalue(res, 0, 1))) == NULL)
		log_error("out of memory");
	PQclear(res);
	return options;
}

/*
 * resolve_table: the relid (text, into relid[0..relid_len)) and quoted
 * schema.table (into name) of table, a name as regclass reads it, which
 * must be a table the slot's options cover. False (logged) otherwise.
 */
static bool
resolve_table(PGconn *conn, const Config *cfg, const char *options, const char *table,
			  char *relid, size_t relid_len, Buf *name)
{
	const char *params[2] = {table, options};
	PGresult   *res = query(conn,
							"SELECT c.oid, format('%I.%I', n.nspname, c.relname), c.relkind IN ('r', 'p'),"
							" c.oid IN (SELECT pg2es.covered_tables($2::text[])),"
							" (SELECT format('%I.%I', rn.nspname, r.relname) FROM pg_class r"
							"  JOIN pg_namespace rn ON rn.oid = r.relnamespace"
							"  WHERE c.relispartition AND r.oid = pg_partition_root(c.oid)"
							"  AND r.oid IN (SELECT pg2es.covered_tables($2::text[])))"
							" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
							" WHERE c.oid = to_regclass($1)",
							2, params);
	bool		good = false;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		log_error("could not look up table \"%s\": %s", table, PQerrorMessage(conn));
	else if (PQntuples(res) != 1)
		log_error("table \"%s\" does not exist", table);
	else if (strcmp(PQgetvalue(res, 0, 2), "t") != 0)
		log_error("\"%s\" is not a table", table);
	else if (!PQgetisnull(res, 0, 4))
		log_error("table %s is a partition of %s, whose index holds its rows: reindex %s",
				  PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 4));
	else if (strcmp(PQgetvalue(res, 0, 3), "t") != 0)
		log_error("table %s is not covered by the plugin options of slot \"%s\" (%s): its forwarder does not stream it",
				  PQgetvalue(res, 0, 1), cfg->slot, options);
	else if (!buf_append_str(name, PQgetvalue(res, 0, 1)))
		log_error("out of memory");
	else
	{
		snprintf(relid, relid_len, "%s", PQgetvalue(res, 0, 0));
		good = true;
	}
	PQclear(res);
	return good;
}

/*
 * insert_request: insert the request for table relid (quoted name), and
 * append the line saying so to out; false (logged) when one is open
 * already, or on error.
 */
static bool
insert_request(PGconn *conn, const Config *cfg, const char *relid, const char *name, Buf *out)
{
	const char *kind = cfg->reindex_backfill ? "backfill" : "reindex";
	const char *params[5] = {cfg->slot, relid, kind, name, cfg->reindex_keep_old ? "t" : "f"};
	PGresult   *res = query(conn, "SELECT id, kind, state FROM pg2es.requests WHERE slot_name = $1"
							" AND relid = $2 AND state IN ('requested', 'copying', 'switching')",
							2, params);
	bool		good = false;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		log_error("a %s of %s is already under way (request %s, state %s)",
				  PQgetvalue(res, 0, 1), name, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 2));
	else if (PQresultStatus(res) != PGRES_TUPLES_OK)
		log_error("could not read the requests of %s: %s", name, PQerrorMessage(conn));
	else
	{
		/* ON CONFLICT is refused on a user catalog table: the index decides */
		PQclear(res);
		res = query(conn, "INSERT INTO pg2es.requests (slot_name, relid, kind, table_name, keep_old)"
					" VALUES ($1, $2, $3, $4, $5) RETURNING id", 5, params);
		if (pgconn_sqlstate_is(res, "23505"))
			log_error("a request of %s was made at the same time: see pg2es.requests", name);
		else if (PQresultStatus(res) != PGRES_TUPLES_OK)
			log_error("could not request the %s of %s: %s", kind, name, PQerrorMessage(conn));
		else if (!(good = buf_printf(out, "request %s: %s of %s\n", PQgetvalue(res, 0, 0), kind, name)))
			log_error("out of memory");
	}
	PQclear(res);
	return good;
}

/*
 * insert_requests: one request per TABLE argument, in the caller's
 * transaction; the lines to print once it commits go to out. False
 * (logged) at the first error.
 */
static bool
insert_requests(PGconn *conn, const Config *cfg, Buf *out)
{
	char	   *options = recorded_options(conn, cfg->slot);
	char		(*relids)[16] = calloc(cfg->nverify_tables + 1, sizeof(*relids));
	Buf			name;
	size_t		i;
	size_t		j;
	bool		good = options != NULL && relids != NULL;

	if (options != NULL && relids == NULL)
		log_error("out of memory");
	buf_init(&name);
	for (i = 0; good && i < cfg->nverify_tables; i++)
	{
		buf_reset(&name);
		good = resolve_table(conn, cfg, options, cfg->verify_tables[i], relids[i],
							 sizeof(relids[i]), &name);
		for (j = 0; good && j < i; j++)
			if (strcmp(relids[j], relids[i]) == 0)
			{
				log_error("table %s is named twice", name.data);
				good = false;
			}
		good = good && insert_request(conn, cfg, relids[i], name.data, out);
	}
	buf_free(&name);
	free(relids);
	free(options);
	return good;
}

/*
 * reqtable_reindex_run: `pg2es reindex`: ask the forwarder of cfg->slot
 * to rebuild the indexes of the TABLE arguments (or, with --backfill, to
 * copy them into their current indexes), printing one line per request
 * once all are committed. Returns the exit status: 0, or 1 with nothing
 * inserted.
 */
int
reqtable_reindex_run(const Config *cfg)
{
	PGconn	   *conn = catalog_connect(cfg);
	Buf			out;
	bool		good;

	if (conn == NULL)
		return 1;
	buf_init(&out);
	good = catalog_exec(conn, "BEGIN", PGRES_COMMAND_OK) &&
		insert_requests(conn, cfg, &out) &&
		catalog_exec(conn, "COMMIT", PGRES_COMMAND_OK);
	if (good && out.len > 0)
		good = fwrite(out.data, 1, out.len, stdout) == out.len && fflush(stdout) == 0;
	buf_free(&out);
	/* an error left the transaction open: closing rolls it back */
	PQfinish(conn);
	return good ? 0 : 1;
}
