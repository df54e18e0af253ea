/*
 * catalog.c
 *		Questions to PostgreSQL over an ordinary connection (see catalog.h).
 */
#include "catalog.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "pgconn.h"

/*
 * catalog_connect: an ordinary connection with the -d settings
 * (pgconn_open). Returns NULL (logged) on failure.
 */
PGconn *
catalog_connect(const Config *cfg)
{
	PGconn	   *conn = pgconn_open(cfg->conninfo, 0);

	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		log_error("could not connect to PostgreSQL: %s",
				  conn ? PQerrorMessage(conn) : "out of memory");
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

static bool append_literal(Buf *out, PGconn *conn, const char *text);
static bool build_tables_query(Buf *sql, PGconn *conn, const char *optlit,
							   const char *const *patterns, size_t npatterns);
static const char *publications_option(const Config *cfg);

/*
 * append_literal: text as an SQL string literal escaped for conn.
 */
static bool
append_literal(Buf *out, PGconn *conn, const char *text)
{
	char	   *lit = PQescapeLiteral(conn, text, strlen(text));
	bool		good = lit != NULL && buf_append_str(out, lit);

	PQfreemem(lit);
	return good;
}

/*
 * catalog_options_literal: the -o options as an SQL expression of type
 * text[] ("ARRAY['name=value', 'bare']::text[]"), malloc'd; NULL when
 * out of memory. Inlined rather than bound because COPY takes no
 * parameters.
 */
char *
catalog_options_literal(PGconn *conn, const Config *cfg)
{
	Buf			out;
	Buf			opt;
	size_t		i;
	bool		good;

	buf_init(&out);
	buf_init(&opt);
	good = buf_append_str(&out, "ARRAY[");
	for (i = 0; good && i < cfg->nopts; i++)
	{
		buf_reset(&opt);
		good = buf_append_str(&opt, cfg->opt_names[i]) &&
			(cfg->opt_values[i] == NULL ||
			 (buf_append_str(&opt, "=") && buf_append_str(&opt, cfg->opt_values[i]))) &&
			(i == 0 || buf_append_str(&out, ",")) &&
			append_literal(&out, conn, opt.data);
	}
	good = good && buf_append_str(&out, "]::text[]");
	buf_free(&opt);
	if (!good)
	{
		buf_free(&out);
		return NULL;
	}
	return out.data;
}

/*
 * catalog_has_extension: whether the database has the pg2es extension,
 * whose functions list the covered tables; when not, says (at level, as
 * what needs it: "verify", ...) what to do; a failing question is logged
 * as an error.
 */
bool
catalog_has_extension(PGconn *conn, const char *needed_by, LogLevel level)
{
	PGresult   *res = PQexec(conn, "SELECT 1 FROM pg_extension WHERE extname = 'pg2es'");
	bool		found = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		log_error("could not look for the pg2es extension: %s", PQerrorMessage(conn));
	else if (!found)
		log_msg(level, "%s needs the pg2es extension in the database: run CREATE EXTENSION pg2es",
				needed_by);
	PQclear(res);
	return found;
}

/*
 * catalog_exec: run sql and check its result status; logs the server's
 * message otherwise.
 */
bool
catalog_exec(PGconn *conn, const char *sql, ExecStatusType expect)
{
	PGresult   *res = PQexec(conn, sql);
	bool		good = PQresultStatus(res) == expect;

	if (!good)
		log_error("query failed: %s", PQerrorMessage(conn));
	PQclear(res);
	return good;
}

/*
 * build_tables_query: the query listing the covered tables, limited to the
 * include-tables patterns when some are given (the intersection with what
 * the options cover, so -o exclude-tables still applies).
 */
static bool
build_tables_query(Buf *sql, PGconn *conn, const char *optlit,
				   const char *const *patterns, size_t npatterns)
{
	Buf			joined;
	size_t		i;
	bool		good;

	buf_init(&joined);
	good = buf_printf(sql,
					  "SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname),"
					  " pg2es.index_name(c.oid::regclass, %s), c.relkind = 'p',"
					  " c.reltuples::float8"
					  " FROM pg2es.covered_tables(%s) t"
					  " JOIN pg_class c ON c.oid = t JOIN pg_namespace n ON n.oid = c.relnamespace",
					  optlit, optlit);
	for (i = 0; good && i < npatterns; i++)
		good = (i == 0 || buf_append_str(&joined, ",")) && buf_append_str(&joined, patterns[i]);
	if (good && npatterns > 0)
	{
		/* the options with include-tables replaced by the patterns */
		good = buf_printf(sql, " WHERE t IN (SELECT pg2es.covered_tables(array_append("
						  "ARRAY(SELECT o FROM unnest(%s) o WHERE o NOT LIKE 'include-tables=%%'"
						  " AND o <> 'include-tables'), 'include-tables=' || ",
						  optlit) &&
			append_literal(sql, conn, joined.data) &&
			buf_append_str(sql, ")))");
	}
	buf_free(&joined);
	return good && buf_append_str(sql, " ORDER BY 2");
}

/*
 * catalog_tables: the covered tables (limited to patterns when npatterns >
 * 0), sorted by name, into *out (owned by the caller: catalog_tables_free).
 * Returns false (logged) on failure, *out then empty.
 */
bool
catalog_tables(PGconn *conn, const Config *cfg, const char *const *patterns,
			   size_t npatterns, CatalogTables *out)
{
	char	   *optlit = catalog_options_literal(conn, cfg);
	Buf			sql;
	PGresult   *res = NULL;
	int			i;
	bool		good;

	memset(out, 0, sizeof(*out));
	buf_init(&sql);
	good = optlit && build_tables_query(&sql, conn, optlit, patterns, npatterns);
	if (good)
	{
		res = PQexec(conn, sql.data);
		good = PQresultStatus(res) == PGRES_TUPLES_OK;
		if (!good)
			log_error("could not list the tables to sync: %s", PQerrorMessage(conn));
	}
	if (good && PQntuples(res) > 0)
		good = (out->items = calloc((size_t) PQntuples(res), sizeof(CatalogTable))) != NULL;
	for (i = 0; good && i < PQntuples(res); i++)
	{
		CatalogTable *t = &out->items[out->n++];

		t->relid = (unsigned int) strtoul(PQgetvalue(res, i, 0), NULL, 10);
		t->name = strdup(PQgetvalue(res, i, 1));
		t->index = strdup(PQgetvalue(res, i, 2));
		t->partitioned = PQgetvalue(res, i, 3)[0] == 't';
		t->reltuples = strtod(PQgetvalue(res, i, 4), NULL);
		good = t->name && t->index;
	}
	PQclear(res);
	buf_free(&sql);
	free(optlit);
	if (!good)
		catalog_tables_free(out);
	return good;
}

/*
 * catalog_tables_free: release a list from catalog_tables.
 */
void
catalog_tables_free(CatalogTables *tables)
{
	size_t		i;

	for (i = 0; i < tables->n; i++)
	{
		free(tables->items[i].name);
		free(tables->items[i].index);
	}
	free(tables->items);
	memset(tables, 0, sizeof(*tables));
}

/*
 * The backfill request of catalog_request_backfill. pg2es.requests is a
 * user catalog table, which ON CONFLICT cannot target: an open request is
 * looked for instead, and one inserted meanwhile by `pg2es reindex` is a
 * unique violation on the open-request index, taken as the same answer.
 */
static const char backfill_request_sql[] =
"INSERT INTO pg2es.requests (slot_name, kind, relid, table_name)"
" SELECT $1::name, 'backfill', $2::oid, $3::text WHERE NOT EXISTS (SELECT FROM pg2es.requests"
" WHERE slot_name = $1::name AND relid = $2::oid AND state IN ('requested', 'copying', 'switching'))";

/*
 * catalog_request_backfill: record a backfill request (docs/design.md
 * "Requests") for the table relid, named table[0..len), that a publication
 * change has just brought under the stream: its existing rows are then
 * copied online while its changes stream. An open request for the table
 * already copies it, so a second is not added. Without the requests table
 * (no pg2es extension) there is nothing to record: that is logged with
 * what to run instead, and true returned. False (logged) means the request
 * could not be recorded and must be tried again: the caller must not
 * confirm the transaction that announced the table.
 */
bool
catalog_request_backfill(const Config *cfg, unsigned int relid, const char *table, size_t len)
{
	char		relid_text[16];
	char	   *name = strndup(table, len);
	const char *params[3] = {cfg->slot, relid_text, name};
	PGconn	   *conn = name ? catalog_connect(cfg) : NULL;
	PGresult   *res = NULL;
	bool		good = false;

	snprintf(relid_text, sizeof(relid_text), "%u", relid);
	if (conn)
		res = PQexecParams(conn, backfill_request_sql, 3, NULL, params, NULL, NULL, 0);
	if ((res && PQresultStatus(res) == PGRES_COMMAND_OK) || pgconn_sqlstate_is(res, "23505"))
	{
		log_info("%s is now published to slot \"%s\": its existing rows will be loaded (%s)", name,
				 cfg->slot, PQresultStatus(res) == PGRES_COMMAND_OK &&
				 strcmp(PQcmdTuples(res), "1") == 0 ? "backfill requested" : "by the open request for it");
		good = true;
	}
	else if (pgconn_sqlstate_is(res, "42P01") || pgconn_sqlstate_is(res, "3F000"))
	{
		log_warning("%s is now published to slot \"%s\", but its existing rows cannot be requested"
					" without the pg2es extension (pg2es.requests): load them with --snapshot=%s",
					name, cfg->slot, name);
		good = true;
	}
	else if (name == NULL)
		log_error("out of memory requesting the backfill of a table");
	else if (conn != NULL)		/* a failed connection was logged */
		log_error("could not request the backfill of %s, now published: %s", name,
				  PQerrorMessage(conn));
	PQclear(res);
	PQfinish(conn);
	free(name);
	return good;
}

/*
 * The row filter and the published deletes of one relation under the
 * publications named by $1 (the publications option: names split at
 * commas, unquoted ones folded to lower case, as the server reads
 * identifier lists), for the relation $2 walked with its partitions. Each
 * leaf takes the entries of itself or of an ancestor (the root under
 * publish_via_partition_root); as in the server's initial table sync, a
 * leaf is filtered only when every publication that has it has a filter,
 * and then by their filters ORed. A partitioned relation whose leaves
 * differ gets one expression choosing by tableoid. %s is the filter
 * column: rowfilter from PostgreSQL 15, NULL before (no filters there).
 */
static const char published_query[] =
"WITH pubs AS (SELECT p.pubname, p.pubdelete FROM pg_publication p WHERE p.pubname IN ("
"  SELECT CASE WHEN n ~ '^\".*\"$' THEN replace(substr(n, 2, length(n) - 2), '\"\"', '\"')"
"  ELSE lower(n) END FROM unnest(string_to_array($1, ',')) u(raw), btrim(raw) n)),"
" leaves AS (SELECT relid::oid FROM pg_partition_tree($2::oid::regclass) WHERE isleaf"
"  UNION SELECT $2::oid WHERE NOT EXISTS (SELECT FROM pg_partition_tree($2::oid::regclass))),"
" entries AS (SELECT l.relid AS leaf, %s AS filter, pb.pubdelete FROM leaves l,"
"  LATERAL (SELECT l.relid UNION SELECT relid FROM pg_partition_ancestors(l.relid)) a"
"  JOIN pg_class c ON c.oid = a.relid"
"  JOIN pg_namespace ns ON ns.oid = c.relnamespace"
"  JOIN pg_publication_tables pt ON pt.schemaname = ns.nspname AND pt.tablename = c.relname"
"  JOIN pubs pb ON pb.pubname = pt.pubname),"
" per_leaf AS (SELECT leaf, CASE WHEN bool_or(filter IS NULL) THEN NULL"
"  ELSE string_agg('(' || filter || ')', ' OR ') END AS f FROM entries GROUP BY leaf)"
" SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM per_leaf WHERE f IS NOT NULL) THEN NULL"
"  WHEN (SELECT count(*) FROM leaves) = 1 THEN (SELECT f FROM per_leaf)"
"  ELSE (SELECT string_agg(format('(tableoid = %%s AND %%s)', l.relid,"
"   CASE WHEN p.leaf IS NULL THEN 'false' ELSE coalesce(p.f, 'true') END), ' OR ')"
"   FROM leaves l LEFT JOIN per_leaf p ON p.leaf = l.relid) END,"
" coalesce((SELECT bool_or(pubdelete) FROM entries), true)";

/*
 * publications_option: the value of -o publications (the last one), NULL
 * when it is not given.
 */
static const char *
publications_option(const Config *cfg)
{
	const char *value = NULL;
	size_t		i;

	for (i = 0; i < cfg->nopts; i++)
		if (strcmp(cfg->opt_names[i], "publications") == 0)
			value = cfg->opt_values[i] ? cfg->opt_values[i] : "";
	return value;
}

/*
 * catalog_published: what the -o publications option publishes of the
 * relation relid (walked with its partitions: docs/design.md "Choosing
 * what syncs"), into *out: the row filter as an SQL condition on its
 * columns (malloc'd, NULL = every row) and whether deletes are published.
 * Without the option: every row, deletes published. The copy and verify
 * use it so that they read the rows the stream sends. Returns false
 * (logged) on failure; *out then holds nothing to free.
 */
bool
catalog_published(PGconn *conn, const Config *cfg, unsigned int relid, CatalogPublished *out)
{
	const char *pubs = publications_option(cfg);
	char		relid_text[16];
	const char *params[2] = {pubs, relid_text};
	char		sql[sizeof(published_query) + 16];
	PGresult   *res;
	bool		good;

	out->row_filter = NULL;
	out->deletes = true;
	if (pubs == NULL)
		return true;
	snprintf(relid_text, sizeof(relid_text), "%u", relid);
	snprintf(sql, sizeof(sql), published_query,
			 PQserverVersion(conn) >= 150000 ? "pt.rowfilter" : "NULL::text");
	res = PQexecParams(conn, sql, 2, NULL, params, NULL, NULL, 0);
	good = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	if (!good)
		log_error("could not read what the publications \"%s\" publish of relation %u: %s",
				  pubs, relid, PQerrorMessage(conn));
	if (good && !PQgetisnull(res, 0, 0) &&
		(out->row_filter = strdup(PQgetvalue(res, 0, 0))) == NULL)
	{
		log_error("out of memory reading a row filter");
		good = false;
	}
	out->deletes = !good || PQgetvalue(res, 0, 1)[0] == 't';
	PQclear(res);
	return good;
}
