/*
 * loadstate.c
 *		The initial load's durable progress (see loadstate.h).
 */
#include "loadstate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "log.h"

/*
 * exec_params: run sql with text parameters on conn, expecting expect.
 * Returns false (logged).
 */
static bool
exec_params(PGconn *conn, const char *sql, int n, const char *const *params,
			ExecStatusType expect)
{
	PGresult   *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	bool		good = PQresultStatus(res) == expect;

	if (!good)
		log_error("could not update pg2es.load_state: %s", PQerrorMessage(conn));
	PQclear(res);
	return good;
}

/*
 * loadstate_unfinished: the tables whose load slot left unfinished, into
 * *out (free with loadstate_tables_free). Returns false (logged).
 */
bool
loadstate_unfinished(PGconn *conn, const char *slot, LoadStateTables *out)
{
	const char *params[1] = {slot};
	PGresult   *res = PQexecParams(conn,
								   "SELECT DISTINCT table_name FROM pg2es.load_state"
								   " WHERE slot_name = $1 AND NOT done",
								   1, NULL, params, NULL, NULL, 0);
	int			i;

	memset(out, 0, sizeof(*out));
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		log_error("could not read pg2es.load_state: %s", PQerrorMessage(conn));
		PQclear(res);
		return false;
	}
	if (PQntuples(res) > 0 &&
		(out->names = calloc((size_t) PQntuples(res), sizeof(char *))) == NULL)
	{
		log_error("out of memory");
		PQclear(res);
		return false;
	}
	for (i = 0; i < PQntuples(res); i++)
		if ((out->names[out->n++] = strdup(PQgetvalue(res, i, 0))) == NULL)
		{
			log_error("out of memory");
			PQclear(res);
			loadstate_tables_free(out);
			return false;
		}
	PQclear(res);
	return true;
}

/*
 * loadstate_tables_free: release a list from loadstate_unfinished.
 */
void
loadstate_tables_free(LoadStateTables *tables)
{
	size_t		i;

	for (i = 0; i < tables->n; i++)
		free(tables->names[i]);
	free(tables->names);
	memset(tables, 0, sizeof(*tables));
}

/*
 * loadstate_record_pending: before the snapshot is taken, record each of
 * tables[0..n) as not done (forget_slot: a full load first forgets this
 * slot's old rows), in one transaction, so that a crash from here on makes
 * the next start copy them.
 */
bool
loadstate_record_pending(PGconn *conn, const char *slot, const char *const *tables, size_t n,
						 bool forget_slot)
{
	const char *params[2] = {slot, NULL};
	size_t		t;
	bool		good = catalog_exec(conn, "BEGIN", PGRES_COMMAND_OK);

	if (good && forget_slot)
		good = exec_params(conn, "DELETE FROM pg2es.load_state WHERE slot_name = $1", 1, params,
						   PGRES_COMMAND_OK);
	for (t = 0; good && t < n; t++)
	{
		params[1] = tables[t];
		good = exec_params(conn, "DELETE FROM pg2es.load_state WHERE slot_name = $1 AND table_name = $2",
						   2, params, PGRES_COMMAND_OK) &&
			exec_params(conn, "INSERT INTO pg2es.load_state (slot_name, table_name, chunk, chunks,"
						" first_block, end_block, version) VALUES ($1, $2, 0, 0, 0, 0, 0)",
						2, params, PGRES_COMMAND_OK);
	}
	if (good)
		return catalog_exec(conn, "COMMIT", PGRES_COMMAND_OK);
	/* the failure is logged; the rollback's own outcome changes nothing */
	PQclear(PQexec(conn, "ROLLBACK"));
	return false;
}

/*
 * loadstate_forget_missing_slot: after loadstate_record_pending, the
 * creation of slot failed: delete its rows if no slot of that name exists,
 * so that nothing is left for a slot that was never created (rows of a
 * slot tell a later start that it existed and was lost). The rows of an
 * existing slot stay: its next start resumes the load. Failures are only
 * logged: the start fails anyway.
 */
void
loadstate_forget_missing_slot(PGconn *conn, const char *slot)
{
	const char *params[1] = {slot};

	if (exec_params(conn, "DELETE FROM pg2es.load_state WHERE slot_name = $1 AND NOT EXISTS"
					" (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)",
					1, params, PGRES_COMMAND_OK))
		log_debug("forgot the initial load of slot \"%s\", which was not created", slot);
}

/*
 * loadstate_record_plan: table is being copied at version, in chunks ctid
 * ranges over pages pages.
 */
bool
loadstate_record_plan(PGconn *conn, const char *slot, const char *table, Lsn version,
					  uint32_t chunks, uint64_t pages)
{
	char		v[32];
	char		c[16];
	char		p[32];
	const char *params[5] = {slot, table, v, c, p};

	snprintf(v, sizeof(v), "%llu", (unsigned long long) version);
	snprintf(c, sizeof(c), "%u", chunks);
	snprintf(p, sizeof(p), "%llu", (unsigned long long) pages);
	return exec_params(conn, "UPDATE pg2es.load_state SET version = $3, chunks = $4,"
					   " end_block = $5, updated_at = now()"
					   " WHERE slot_name = $1 AND table_name = $2", 5, params, PGRES_COMMAND_OK);
}

/*
 * loadstate_record_done: Elasticsearch holds all rows items of table,
 * copied at version (a row of another version, a later load's, is left
 * alone).
 */
bool
loadstate_record_done(PGconn *conn, const char *slot, const char *table, Lsn version,
					  uint64_t rows)
{
	char		v[32];
	char		r[32];
	const char *params[4] = {slot, table, v, r};

	snprintf(v, sizeof(v), "%llu", (unsigned long long) version);
	snprintf(r, sizeof(r), "%llu", (unsigned long long) rows);
	return exec_params(conn, "UPDATE pg2es.load_state SET done = true, rows_done = $4,"
					   " updated_at = now() WHERE slot_name = $1 AND table_name = $2"
					   " AND version = $3", 4, params, PGRES_COMMAND_OK);
}
