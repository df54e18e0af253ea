/*
 * refresh.c
 *		Refresh rounds over the slot's indexes (see refresh.h).
 */
#include "refresh.h"

#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "log.h"

static bool index_listed_before(const CatalogTables *tables, size_t i);
static PG2ES_MUSTCHECK bool add_paths(Refresher *r, const CatalogTables *tables);
static bool start_next(Refresher *r);

/*
 * index_listed_before: whether table i's index is also an earlier table's
 * (the partitions of a partition-index=root table share its index).
 */
static bool
index_listed_before(const CatalogTables *tables, size_t i)
{
	size_t		j;

	for (j = 0; j < i; j++)
		if (strcmp(tables->items[j].index, tables->items[i].index) == 0)
			return true;
	return false;
}

/*
 * add_paths: r->paths from the indexes of tables, each once. Returns false
 * when out of memory.
 */
static PG2ES_MUSTCHECK bool
add_paths(Refresher *r, const CatalogTables *tables)
{
	size_t		i;

	if (tables->n > 0 && (r->paths = calloc(tables->n, sizeof(char *))) == NULL)
		return false;
	for (i = 0; i < tables->n; i++)
	{
		if (index_listed_before(tables, i))
			continue;
		if ((r->paths[r->npaths] = es_index_path(&r->es, tables->items[i].index,
												 "/_refresh")) == NULL)
			return false;
		r->npaths++;
	}
	return true;
}

/*
 * refresh_init: a refresher for the indexes of the tables cfg's plugin
 * options cover, as they are now (asked over an ordinary connection), and
 * the Elasticsearch nodes and credentials of cfg (borrowed; must outlive
 * it). Returns false (logged) on failure, with nothing to free (common.h).
 */
bool
refresh_init(Refresher *r, const Config *cfg)
{
	EsOptions	opt;
	PGconn	   *conn;
	CatalogTables tables;
	bool		good;

	memset(r, 0, sizeof(*r));
	es_options_from_config(&opt, cfg);
	if (!es_init(&r->es, &opt))
		return false;
	if ((conn = catalog_connect(cfg)) == NULL)
	{
		refresh_free(r);
		return false;
	}
	good = catalog_has_extension(conn, "a searchable wait (to list the indexes)",
								 LOG_LEVEL_WARNING) &&
		catalog_tables(conn, cfg, NULL, 0, &tables);
	PQfinish(conn);
	if (!good)
	{
		refresh_free(r);
		return false;
	}
	good = add_paths(r, &tables);
	catalog_tables_free(&tables);
	if (!good)
	{
		log_error("out of memory");
		refresh_free(r);
	}
	return good;
}

/*
 * refresh_free: abandon a running round and release everything.
 */
void
refresh_free(Refresher *r)
{
	size_t		i;

	es_free(&r->es);
	for (i = 0; i < r->npaths; i++)
		free(r->paths[i]);
	free(r->paths);
	memset(r, 0, sizeof(*r));
}

/*
 * refresh_want: ask for a round that starts from now on; returns its
 * number, for refresh_done.
 */
uint64_t
refresh_want(Refresher *r)
{
	r->wanted = r->started + 1;
	return r->wanted;
}

/*
 * start_next: send the running round's next refresh, or end the round when
 * none is left. Returns false (logged) when the request cannot be sent,
 * which fails the round.
 */
static bool
start_next(Refresher *r)
{
	if (r->next == r->npaths)
	{
		r->running = false;
		r->done = r->started;
		return true;
	}
	if (es_request(&r->es, "POST", r->paths[r->next], "", 0, false))
		return true;
	r->failed = r->started;
	r->failed_status = 0;
	r->running = false;
	r->done = r->started;
	return false;
}

/*
 * refresh_step: move the rounds on without blocking: take a finished
 * refresh's answer (a status other than 200 and 404 fails the round, which
 * ends there), send the next, start a round asked for. Returns false
 * (logged) when the HTTP client itself fails.
 */
bool
refresh_step(Refresher *r)
{
	EsResult	res;

	if (r->running)
	{
		if (!es_drive(&r->es))
			return false;
		if (!es_take_result(&r->es, &res))
			return true;
		if (res.status != 200 && res.status != 404)
		{
			log_warning("could not refresh for a searchable wait: %s gave HTTP %ld %s",
						r->paths[r->next], res.status, res.status ? "" : res.error);
			r->failed = r->started;
			r->failed_status = res.status;
			r->next = r->npaths;
		}
		else
			r->next++;
		(void) start_next(r);
	}
	if (!r->running && r->wanted > r->started)
	{
		r->started++;
		r->next = 0;
		r->running = true;
		(void) start_next(r);
	}
	return true;
}

/*
 * refresh_done: whether round is over; *failed_status then tells, when it
 * or a later round failed, the HTTP status it failed with (-1 when not).
 */
bool
refresh_done(const Refresher *r, uint64_t round, long *failed_status)
{
	if (r->done < round)
		return false;
	*failed_status = r->failed >= round ? r->failed_status : -1;
	return true;
}

/*
 * refresh_busy: whether a refresh is under way (its socket is not among
 * those the program's wait watches: poll it soon).
 */
bool
refresh_busy(const Refresher *r)
{
	return r->running || r->wanted > r->started;
}

/*
 * refresh_wait: run round to its end, waiting on the refresher's own
 * sockets (for pg2es wait, which has nothing else to do). Returns false
 * (logged) when the HTTP client fails; else *failed_status as refresh_done.
 */
bool
refresh_wait(Refresher *r, uint64_t round, long *failed_status)
{
	while (!refresh_done(r, round, failed_status))
		if (!refresh_step(r) || (r->running && !es_wait(&r->es, NULL, 0, 200)))
			return false;
	return true;
}
