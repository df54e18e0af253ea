/*
 * load.c
 *		Index creation and the initial load (see load.h).
 *
 * The copy: each table (in name order) is split into block ranges of its
 * leaf partitions (chunk.c); --load-jobs ordinary connections, all inside
 * the same imported snapshot, each run
 *	COPY (SELECT pg2es.bulk_item_parts(leaf, row, VERSION, OPTIONS) FROM ONLY leaf
 *	      WHERE ctid >= '(a,0)' AND ctid < '(b,0)' [AND (row filter)])
 *	TO STDOUT (FORMAT binary)
 * for one range at a time; the bytea payloads, complete bulk items (or
 * parts of a large one, put together in a block of its size), go to the
 * batcher as they are (copyin.c reads the framing and the parts). One table at a time
 * is copied, and its items form one transaction of the acknowledgement
 * bookkeeping (ack.c) whose end "LSN" is the table's ordinal: the confirmed
 * position then says how many tables Elasticsearch holds completely.
 */
#include "load.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "chunk.h"
#include "copyin.h"
#include "escall.h"
#include "loadstate.h"
#include "log.h"
#include "mapping.h"
#include "pgconn.h"
#include "progress.h"
#include "prune.h"
#include "repl.h"
#include "reqtable.h"
#include "slot.h"
#include "sync.h"

#define LOAD_MAX_JOBS 64
/* bytes one connection may hand over in one turn of the loop */
#define LOAD_DRAIN_BYTES (1024 * 1024)
/* a copy connection silent this long is reported, with what it waits for */
#define STALL_REPORT_US (30 * 1000000)

/* One block range of one leaf table. */
typedef struct LoadUnit
{
	unsigned int leaf;			/* pg_class oid */
	char	   *leaf_name;		/* quoted schema.table, owned */
	ChunkRange	range;
} LoadUnit;

typedef enum JobState
{
	JOB_IDLE,
	JOB_STARTING,				/* COPY sent, CopyOutResponse not yet read */
	JOB_COPYING
} JobState;

/* One copy connection. */
typedef struct LoadJob
{
	PGconn	   *conn;
	JobState	state;
	CopyIn		ci;
	ItemParts	parts;			/* the item being read, if in parts */
	int64_t		heard_us;		/* last bytes (or the COPY's start) */
} LoadJob;

/* Everything one load needs. */
typedef struct Load
{
	const Config *cfg;
	Metrics    *metrics;		/* the process's, for /metrics */
	Http	   *http;
	volatile sig_atomic_t *stop;
	PGconn	   *control;		/* autocommit: catalog and load_state */
	char	   *optlit;			/* the options as text[] SQL, owned */
	CatalogTables tables;
	bool	   *selected;		/* tables.n flags: to be copied */
	size_t		nselected;
	Lsn			version;		/* the snapshot's consistent point */
	LoadJob		jobs[LOAD_MAX_JOBS];
	int			njobs;
	Sync		sync;			/* the pipeline, with a private Metrics */
	Metrics		sync_metrics;
	size_t		committed;		/* tables whose items are all queued */
	size_t		recorded;		/* tables recorded done */
	size_t	   *order;			/* ack ordinal - 1 -> table index */
	uint64_t   *rows;			/* per table: items queued */
	int64_t		now_us;			/* when the rows being read arrived */
	LoadJob    *reading;		/* the job whose rows are being read */
	char	   *block;			/* the message being read (PQgetCopyData's),
								 * until the sync takes it; or NULL */
	size_t		block_len;
	int64_t		table_started_us;
	Progress	progress;
	const char *target;			/* online copy (load_copy_into): every item
								 * goes to this index; NULL = initial load */
	char		err[256];
} Load;

static bool query_exists(Load *ld, const char *sql, int n, const char *const *params, bool *failed);
static bool select_unfinished(Load *ld);
static bool select_snapshot_tables(Load *ld);
static bool record_pending(Load *ld, bool full);
static bool create_snapshot_slot(const Config *cfg, PGconn **repl, bool temporary, char *snapshot,
								 Lsn *version);
static bool open_jobs(Load *ld, const char *snapshot);
static void free_units(LoadUnit *units, uint32_t n);
static bool plan_units(Load *ld, size_t t, LoadUnit **units, uint32_t *nunits, uint64_t *npages,
					   double *estimate);
static bool start_unit(Load *ld, LoadJob *job, const LoadUnit *u, const char *row_filter);
static char *retarget_item(Load *ld, const char *data, size_t len, size_t *out_len);
static bool queue_item(Load *ld, const char *item, size_t len, char *assembled);
static bool on_item(void *arg, int fieldno, const char *data, int32_t len);
static bool end_copy(Load *ld, LoadJob *job);
static bool start_copying(LoadJob *job, bool *started);
static bool drain_rows(Load *ld, LoadJob *job, size_t *got);
static bool drain_job(Load *ld, LoadJob *job);
static void report_progress(Load *ld, size_t t, double estimate, bool final);
static bool record_confirmed(Load *ld);
static void report_stall(Load *ld, LoadJob *job, int64_t now);
static bool step(Load *ld);
static bool any_busy(const Load *ld);
static LoadStatus copy_table(Load *ld, size_t t);
static LoadStatus copy_selected(Load *ld);
static LoadStatus run_copy(Load *ld, bool full);
static bool slot_exists(Load *ld, bool *failed);
static LoadStatus decide_and_copy(Load *ld);
static LoadStatus without_extension(Load *ld);
static void free_load(Load *ld);
static bool check_slot_plugin(Load *ld);

/*
 * query_exists: whether sql with params returns at least one row; false
 * also on error (logged, *failed set).
 */
static bool
query_exists(Load *ld, const char *sql, int n, const char *const *params, bool *failed)
{
	PGresult   *res = PQexecParams(ld->control, sql, n, NULL, params, NULL, NULL, 0);
	bool		found = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		log_error("query failed: %s", PQerrorMessage(ld->control));
		*failed = true;
	}
	PQclear(res);
	return found;
}

/*
 * select_unfinished: mark the tables whose load this slot left unfinished.
 */
static bool
select_unfinished(Load *ld)
{
	LoadStateTables unfinished;
	size_t		i;
	size_t		t;

	if (!loadstate_unfinished(ld->control, ld->cfg->slot, &unfinished))
		return false;
	for (i = 0; i < unfinished.n; i++)
		for (t = 0; t < ld->tables.n; t++)
			if (strcmp(ld->tables.items[t].name, unfinished.names[i]) == 0 && !ld->selected[t])
			{
				log_info("the load of table %s was interrupted: copying it again", unfinished.names[i]);
				ld->selected[t] = true;
				ld->nselected++;
			}
	loadstate_tables_free(&unfinished);
	return true;
}

/*
 * select_snapshot_tables: mark the covered tables --snapshot names.
 */
static bool
select_snapshot_tables(Load *ld)
{
	const char *patterns[1] = {ld->cfg->snapshot_tables};
	CatalogTables chosen;
	size_t		i;
	size_t		t;

	if (!catalog_tables(ld->control, ld->cfg, patterns, 1, &chosen))
		return false;
	if (chosen.n == 0)
		log_warning("--snapshot=%s matches no table the sync covers", ld->cfg->snapshot_tables);
	for (i = 0; i < chosen.n; i++)
		for (t = 0; t < ld->tables.n; t++)
			if (ld->tables.items[t].relid == chosen.items[i].relid && !ld->selected[t])
			{
				ld->selected[t] = true;
				ld->nselected++;
			}
	catalog_tables_free(&chosen);
	return true;
}

/*
 * record_pending: before the snapshot is taken, record every selected
 * table as not done (a full load first forgets this slot's old rows).
 */
static bool
record_pending(Load *ld, bool full)
{
	const char **names = calloc(ld->tables.n ? ld->tables.n : 1, sizeof(char *));
	size_t		n = 0;
	size_t		t;
	bool		good;

	if (names == NULL)
	{
		log_error("out of memory");
		return false;
	}
	for (t = 0; t < ld->tables.n; t++)
		if (ld->selected[t])
			names[n++] = ld->tables.items[t].name;
	good = loadstate_record_pending(ld->control, ld->cfg->slot, names, n, full);
	free(names);
	return good;
}

/*
 * create_snapshot_slot: on a new replication connection (returned in
 * *repl, to be kept open until every reader imported the snapshot), create
 * the slot (temporary: a name of our own, gone with the connection) with
 * an exported snapshot; its name goes to snapshot (LOAD_SNAPSHOT_NAME_SIZE
 * bytes) and the consistent point to *version.
 */
static bool
create_snapshot_slot(const Config *cfg, PGconn **repl, bool temporary, char *snapshot,
					 Lsn *version)
{
	char		name[64];
	PGresult   *res;
	bool		good;

	*repl = pgconn_open(cfg->conninfo, PGCONN_REPLICATION);
	if (*repl == NULL || PQstatus(*repl) != CONNECTION_OK)
	{
		log_error("could not connect to PostgreSQL for replication: %s",
				  *repl ? PQerrorMessage(*repl) : "out of memory");
		return false;
	}
	snprintf(name, sizeof(name), "pg2es_load_%d", (int) getpid());
	if ((res = pgconn_create_slot(*repl, temporary ? name : cfg->slot, temporary, true, NULL)) == NULL)
		return false;
	good = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && PQnfields(res) >= 3 &&
		lsn_parse(PQgetvalue(res, 0, 1), version) &&
		strlen(PQgetvalue(res, 0, 2)) < LOAD_SNAPSHOT_NAME_SIZE;
	if (good)
		snprintf(snapshot, LOAD_SNAPSHOT_NAME_SIZE, "%s", PQgetvalue(res, 0, 2));
	else
	{
		log_error("could not create a replication slot with a snapshot: %s", PQerrorMessage(*repl));
		repl_explain_refusal(*repl, PQresultErrorMessage(res));
	}
	PQclear(res);
	return good;
}

/*
 * load_export_snapshot: a temporary slot's exported snapshot (load.h).
 */
bool
load_export_snapshot(const Config *cfg, PGconn **repl, char *snapshot, Lsn *version)
{
	return create_snapshot_slot(cfg, repl, true, snapshot, version);
}

/*
 * open_jobs: the copy connections, each in a repeatable-read transaction
 * that imported snapshot.
 */
static bool
open_jobs(Load *ld, const char *snapshot)
{
	char		set[128];
	int			i;

	snprintf(set, sizeof(set), "SET TRANSACTION SNAPSHOT '%s'", snapshot);
	for (i = 0; i < ld->cfg->load_jobs && i < LOAD_MAX_JOBS; i++)
	{
		LoadJob    *job = &ld->jobs[ld->njobs];

		if ((job->conn = catalog_connect(ld->cfg)) == NULL)
			return false;
		ld->njobs++;
		copyin_init(&job->ci);
		itemparts_init(&job->parts);
		if (!catalog_exec(job->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
						  PGRES_COMMAND_OK) ||
			!catalog_exec(job->conn, set, PGRES_COMMAND_OK))
			return false;
	}
	return true;
}

/*
 * free_units: release a plan.
 */
static void
free_units(LoadUnit *units, uint32_t n)
{
	uint32_t	i;

	for (i = 0; i < n; i++)
		free(units[i].leaf_name);
	free(units);
}

/*
 * plan_units: the block ranges of table t's leaves into *units (malloc'd),
 * *npages their total size, *estimate the planner's row estimate.
 * Returns false (logged) with nothing to free.
 */
static bool
plan_units(Load *ld, size_t t, LoadUnit **units, uint32_t *nunits, uint64_t *npages,
		   double *estimate)
{
	char		sql[512];
	PGresult   *res;
	int			i;
	uint32_t	c;
	uint32_t	n = 0;
	bool		good = true;

	snprintf(sql, sizeof(sql),
			 "SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname),"
			 " pg_relation_size(c.oid) / current_setting('block_size')::int8, c.reltuples::float8"
			 " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
			 " WHERE c.relkind = 'r' AND (c.oid = %u OR c.oid IN"
			 " (SELECT relid FROM pg_partition_tree(%u::regclass) WHERE isleaf)) ORDER BY 2",
			 ld->tables.items[t].relid, ld->tables.items[t].relid);
	res = PQexec(ld->control, sql);
	*units = NULL;
	*npages = 0;
	*estimate = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		log_error("could not plan the copy of %s: %s", ld->tables.items[t].name,
				  PQerrorMessage(ld->control));
		PQclear(res);
		return false;
	}
	for (i = 0; good && i < PQntuples(res); i++)
	{
		uint64_t	pages = strtoull(PQgetvalue(res, i, 2), NULL, 10);
		uint64_t	per = chunk_pages(pages, ld->njobs);
		uint32_t	count = chunk_count(pages, per);
		double		tuples = strtod(PQgetvalue(res, i, 3), NULL);
		LoadUnit   *grown = realloc(*units, (n + count) * sizeof(LoadUnit));

		*npages += pages;
		*estimate += tuples > 0 ? tuples : 0;
		good = grown != NULL;
		if (good)
			*units = grown;
		for (c = 0; good && c < count; c++, n++)
		{
			grown[n].leaf = (unsigned int) strtoul(PQgetvalue(res, i, 0), NULL, 10);
			grown[n].range = chunk_range(per, c, count);
			good = (grown[n].leaf_name = strdup(PQgetvalue(res, i, 1))) != NULL;
		}
	}
	PQclear(res);
	if (!good)
	{
		log_error("out of memory planning the copy");
		free_units(*units, n);
		*units = NULL;
		n = 0;
	}
	*nunits = n;
	return good;
}

/*
 * start_unit: send the COPY of unit u on an idle job; row_filter (NULL =
 * none) is the publications' filter (catalog_published), so that the rows
 * it rejects are not even encoded.
 */
static bool
start_unit(Load *ld, LoadJob *job, const LoadUnit *u, const char *row_filter)
{
	Buf			sql;
	bool		good;

	buf_init(&sql);
	good = buf_printf(&sql, "COPY (SELECT pg2es.bulk_item_parts(%u::regclass, pg2es_row, %llu, %s)"
					  " FROM ONLY %s pg2es_row", u->leaf, (unsigned long long) ld->version,
					  ld->optlit, u->leaf_name) &&
		(u->range.first_block == 0 ||
		 buf_printf(&sql, " WHERE ctid >= '(%llu,0)'::tid", (unsigned long long) u->range.first_block)) &&
		(u->range.open_end ||
		 buf_printf(&sql, " %s ctid < '(%llu,0)'::tid", u->range.first_block == 0 ? "WHERE" : "AND",
					(unsigned long long) u->range.end_block)) &&
		(row_filter == NULL ||
		 buf_printf(&sql, " %s (%s)", u->range.first_block == 0 && u->range.open_end ? "WHERE" : "AND",
					row_filter)) &&
		buf_append_str(&sql, ") TO STDOUT (FORMAT binary)");
	if (good && !PQsendQuery(job->conn, sql.data))
	{
		log_error("could not start copying %s: %s", u->leaf_name, PQerrorMessage(job->conn));
		good = false;
	}
	buf_free(&sql);
	copyin_free(&job->ci);
	copyin_init(&job->ci);
	itemparts_free(&job->parts);
	job->state = JOB_STARTING;
	job->heard_us = pg2es_now_us();
	log_debug("copying %s blocks %llu..%s", u->leaf_name, (unsigned long long) u->range.first_block,
			  u->range.open_end ? "end" : "");
	return good;
}

/*
 * retarget_item: data[0..len), an item whose action line begins
 * {"index":{"_index":"NAME", rewritten with ld->target as its index (index
 * names hold no quote or backslash) into a malloc'd block of *out_len
 * bytes. NULL (logged) for an item of another shape, or out of memory.
 */
static char *
retarget_item(Load *ld, const char *data, size_t len, size_t *out_len)
{
	static const char head[] = "{\"index\":{\"_index\":\"";
	const size_t head_len = sizeof(head) - 1;
	const char *end = len > head_len && memcmp(data, head, head_len) == 0
	? memchr(data + head_len, '"', len - head_len) : NULL;
	size_t		target_len = strlen(ld->target);
	char	   *out;

	if (end == NULL)
	{
		log_error("unexpected item from pg2es.bulk_item_parts: %.*s", len > 80 ? 80 : (int) len, data);
		return NULL;
	}
	*out_len = head_len + target_len + (size_t) (data + len - end);
	if ((out = malloc(*out_len)) == NULL)
	{
		log_error("out of memory for an item of %zu bytes", *out_len);
		return NULL;
	}
	memcpy(out, head, head_len);
	memcpy(out + head_len, ld->target, target_len);
	memcpy(out + head_len + target_len, end, (size_t) (data + len - end));
	return out;
}

/*
 * queue_item: hand item[0..len) to the batcher; assembled (or NULL) is the
 * malloc'd block holding it, which the sync takes or it is freed. An item
 * inside the message being read is taken with the message: a large one is
 * never copied, except to change its index (online copy).
 */
static bool
queue_item(Load *ld, const char *item, size_t len, char *assembled)
{
	Frame		frame;
	void	   *block;
	bool		in_message;
	SyncStatus	status;

	if (ld->target)
	{
		char	   *moved = retarget_item(ld, item, len, &len);

		free(assembled);
		if (moved == NULL)
			return false;
		item = assembled = moved;
	}
	memset(&frame, 0, sizeof(frame));
	frame.kind = FRAME_CHANGE;
	frame.nitems = 1;
	frame.items[0].action = ITEM_INDEX;
	frame.items[0].data = item;
	frame.items[0].len = len;
	in_message = !assembled && ld->block && item >= ld->block && item + len <= ld->block + ld->block_len;
	block = in_message ? ld->block : assembled;
	status = sync_add_owned_frame(&ld->sync, &frame, &block, ld->now_us);
	if (in_message)
		ld->block = block;
	else
		free(block);
	if (status != SYNC_OK)
		return false;
	ld->rows[ld->order[ld->committed]]++;
	return true;
}

/*
 * on_item: copyin callback: one value of pg2es.bulk_item_parts, a
 * complete item or a part of one.
 */
static bool
on_item(void *arg, int fieldno, const char *data, int32_t len)
{
	Load	   *ld = arg;
	const char *item = NULL;
	size_t		item_len = 0;
	char	   *assembled;

	if (data == NULL || len <= 0)
		return true;
	switch (itemparts_feed(&ld->reading->parts, data, (size_t) len, &item, &item_len,
						   &assembled, ld->err, sizeof(ld->err)))
	{
		case ITEMPARTS_MORE:
			return true;
		case ITEMPARTS_ERROR:
			log_error("unexpected value from pg2es.bulk_item_parts: %s", ld->err);
			return false;
		case ITEMPARTS_ITEM:
			break;
	}
	return queue_item(ld, item, item_len, assembled);
}

/*
 * end_copy: the COPY of a job ended: check the command's result and that
 * the stream was complete.
 */
static bool
end_copy(Load *ld, LoadJob *job)
{
	PGresult   *res;
	bool		good = true;

	while ((res = PQgetResult(job->conn)) != NULL)
	{
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			log_error("copying failed: %s", PQresultErrorMessage(res));
			good = false;
		}
		PQclear(res);
	}
	if (good && (!copyin_finish(&job->ci, ld->err, sizeof(ld->err)) ||
				 !itemparts_finish(&job->parts, ld->err, sizeof(ld->err))))
	{
		log_error("copying failed: %s", ld->err);
		good = false;
	}
	job->state = JOB_IDLE;
	return good;
}

/*
 * start_copying: a job's COPY was sent; once its first result is in,
 * check that the server started the COPY. Returns false (logged) when it
 * refused; *started tells whether the rows may be read now.
 */
static bool
start_copying(LoadJob *job, bool *started)
{
	PGresult   *res;

	*started = false;
	if (PQisBusy(job->conn))
		return true;
	res = PQgetResult(job->conn);
	if (PQresultStatus(res) != PGRES_COPY_OUT)
	{
		log_error("could not copy: %s", PQresultErrorMessage(res));
		PQclear(res);
		return false;
	}
	PQclear(res);
	job->state = JOB_COPYING;
	*started = true;
	return true;
}

/*
 * drain_rows: hand the rows libpq holds complete to the batcher, while
 * memory allows; *got counts the bytes taken. Returns false (logged) on
 * an error; the job is idle afterwards if the COPY ended.
 */
static bool
drain_rows(Load *ld, LoadJob *job, size_t *got)
{
	char	   *data;
	int			r;
	bool		good;

	while (sync_buffered_bytes(&ld->sync) < ld->cfg->max_memory)
	{
		r = PQgetCopyData(job->conn, &data, 1);
		if (r == 0)
			return true;
		if (r == -1)
			return end_copy(ld, job);
		if (r < 0)
		{
			log_error("copying failed: %s", PQerrorMessage(job->conn));
			return false;
		}
		*got += (size_t) r;
		ld->reading = job;
		ld->block = data;
		ld->block_len = (size_t) r;
		good = copyin_feed(&job->ci, data, (size_t) r, on_item, ld, ld->err, sizeof(ld->err));
		/* unless the sync took it (on_item) */
		PQfreemem(ld->block);
		ld->block = NULL;
		if (!good)
		{
			log_error("could not read the copied rows: %s", ld->err);
			return false;
		}
	}
	return true;
}

/*
 * drain_job: read what a job's connection has, while memory allows, up to
 * LOAD_DRAIN_BYTES. One read takes what libpq's buffer holds (16 kB at
 * first, a few dozen rows), so a loop turn per read would spend more on
 * the turn (a poll, driving curl, the clock) than on the rows: reading
 * again while the server keeps sending makes the turns few and large,
 * and the budget keeps the other connections and the requests moving.
 */
static bool
drain_job(Load *ld, LoadJob *job)
{
	size_t		got = 0;
	size_t		before;
	bool		started;

	do
	{
		if (!PQconsumeInput(job->conn))
		{
			log_error("lost a copy connection: %s", PQerrorMessage(job->conn));
			return false;
		}
		if (job->state == JOB_STARTING)
		{
			if (!start_copying(job, &started))
				return false;
			if (!started)
				return true;
		}
		/* one clock reading per read: the rows arrived together */
		ld->now_us = pg2es_now_us();
		before = got;
		if (!drain_rows(ld, job, &got))
			return false;
		if (got > before)
			job->heard_us = ld->now_us;
	} while (job->state == JOB_COPYING && got > before && got < LOAD_DRAIN_BYTES &&
			 sync_buffered_bytes(&ld->sync) < ld->cfg->max_memory);
	return true;
}

/*
 * report_progress: rows done / estimated and rate of the table being
 * copied: in /metrics at every call, on the terminal or in the log every
 * progress period (progress.h). final ends the table's line.
 */
static void
report_progress(Load *ld, size_t t, double estimate, bool final)
{
	int64_t		now = pg2es_now_us();
	uint64_t	done = ld->rows[t];
	double		secs = (double) (now - ld->table_started_us) / 1e6;
	double		rate = secs > 0 ? (double) done / secs : 0;

	ld->metrics->load_table = ld->tables.items[t].name;
	ld->metrics->load_rows_done = done;
	ld->metrics->load_rows_estimated = estimate;
	ld->metrics->load_rows_per_second = rate;
	if (progress_due(&ld->progress, now, final))
		progress_show(&ld->progress, ld->tables.items[t].name, done, estimate, rate, final);
}

/*
 * record_confirmed: record the tables Elasticsearch now holds completely.
 */
static bool
record_confirmed(Load *ld)
{
	while (ld->recorded < ld->sync.ack.confirmed)
	{
		size_t		t = ld->order[ld->recorded];

		if (!ld->target && !loadstate_record_done(ld->control, ld->cfg->slot, ld->tables.items[t].name,
												  ld->version, ld->rows[t]))
			return false;
		log_info("table %s loaded: %llu rows stored in index \"%s\"", ld->tables.items[t].name,
				 (unsigned long long) ld->rows[t], ld->target ? ld->target : ld->tables.items[t].index);
		ld->recorded++;
		ld->metrics->load_tables_done = (uint32_t) ld->recorded;
	}
	return true;
}

/*
 * report_stall: job's backend has sent nothing for STALL_REPORT_US though
 * we read: log what the server says it is doing (a lock wait and who
 * holds it, most likely), so that a stuck load explains itself. Read on
 * the control connection; a failure to ask is only logged.
 */
static void
report_stall(Load *ld, LoadJob *job, int64_t now)
{
	char		pid[16];
	const char *params[1] = {pid};
	PGresult   *res;

	snprintf(pid, sizeof(pid), "%d", PQbackendPID(job->conn));
	res = PQexecParams(ld->control,
					   "SELECT state, coalesce(wait_event_type || ':' || wait_event, 'nothing'),"
					   " pg_blocking_pids(pid)::text FROM pg_stat_activity WHERE pid = $1",
					   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		log_warning("copy connection (backend %s) has sent nothing for %lld s: it is %s,"
					" waiting for %s, blocked by backends %s", pid,
					(long long) ((now - job->heard_us) / 1000000), PQgetvalue(res, 0, 0),
					PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	else
		log_warning("copy connection (backend %s) has sent nothing for %lld s", pid,
					(long long) ((now - job->heard_us) / 1000000));
	PQclear(res);
	job->heard_us = now;		/* report again after as long */
}

/*
 * step: one turn of the load's loop: read the copy connections (unless
 * the buffer is full), drive the pipeline, record finished tables, then
 * wait for a socket or the next deadline (not at all when a copy ended,
 * so the caller can hand that connection the next range at once).
 */
static bool
step(Load *ld)
{
	struct curl_waitfd fds[LOAD_MAX_JOBS + 1];
	unsigned int nfds = 0;
	bool		reading = sync_buffered_bytes(&ld->sync) < ld->cfg->max_memory;
	int64_t		now;
	int64_t		timeout;
	int			i;
	bool		hurry = false;

	for (i = 0; i < ld->njobs; i++)
		if (ld->jobs[i].state != JOB_IDLE && reading)
		{
			if (!drain_job(ld, &ld->jobs[i]))
				return false;
			hurry |= ld->jobs[i].state == JOB_IDLE;
		}
	now = pg2es_now_us();
	if (sync_run(&ld->sync, now) != SYNC_OK || !record_confirmed(ld))
		return false;
	reading = sync_buffered_bytes(&ld->sync) < ld->cfg->max_memory;
	for (i = 0; i < ld->njobs; i++)
	{
		if (ld->jobs[i].state == JOB_IDLE)
			continue;
		if (!reading)
		{
			/* our own backpressure: the server is not to blame */
			ld->jobs[i].heard_us = now;
			continue;
		}
		if (now - ld->jobs[i].heard_us >= STALL_REPORT_US)
			report_stall(ld, &ld->jobs[i], now);
		fds[nfds].fd = PQsocket(ld->jobs[i].conn);
		fds[nfds].events = POLLIN;
		fds[nfds++].revents = 0;
	}
	timeout = (sync_deadline(&ld->sync, now) - now) / 1000 + 1;
	if (timeout > 200 || timeout < 0 || hurry)
		timeout = timeout < 0 || hurry ? 0 : 200;
	return http_wait(ld->http, ld->metrics, sync_es(&ld->sync), fds, nfds, (int) timeout);
}

/*
 * any_busy: whether a job is still copying.
 */
static bool
any_busy(const Load *ld)
{
	int			i;

	for (i = 0; i < ld->njobs; i++)
		if (ld->jobs[i].state != JOB_IDLE)
			return true;
	return false;
}

/*
 * copy_table: copy table t on the jobs, then close its transaction in the
 * bookkeeping (end position = its ordinal).
 */
static LoadStatus
copy_table(Load *ld, size_t t)
{
	LoadUnit   *units;
	uint32_t	nunits;
	uint32_t	next = 0;
	uint64_t	pages;
	double		estimate;
	Frame		commit;
	CatalogPublished pub = {NULL, true};
	int			i;
	bool		good;

	if (!plan_units(ld, t, &units, &nunits, &pages, &estimate))
		return LOAD_FAILED;
	good = ld->target ||
		loadstate_record_plan(ld->control, ld->cfg->slot, ld->tables.items[t].name,
							  ld->version, nunits, pages);
	ld->table_started_us = pg2es_now_us();
	progress_restart(&ld->progress, ld->table_started_us);
	good = good && catalog_published(ld->control, ld->cfg, ld->tables.items[t].relid, &pub);
	while (good && (next < nunits || any_busy(ld)))
	{
		if (*ld->stop)
			break;
		for (i = 0; good && i < ld->njobs && next < nunits; i++)
			if (ld->jobs[i].state == JOB_IDLE)
				good = start_unit(ld, &ld->jobs[i], &units[next++], pub.row_filter);
		good = good && step(ld);
		report_progress(ld, t, estimate, false);
	}
	free_units(units, nunits);
	free(pub.row_filter);
	if (!good || *ld->stop)
	{
		log_end_partial_line();
		return good ? LOAD_STOPPED : LOAD_FAILED;
	}
	report_progress(ld, t, estimate, true);
	memset(&commit, 0, sizeof(commit));
	commit.kind = FRAME_COMMIT;
	commit.end_lsn = ++ld->committed;
	if (sync_add_frame(&ld->sync, &commit, pg2es_now_us()) != SYNC_OK)
		return LOAD_FAILED;
	return LOAD_OK;
}

/*
 * copy_selected: copy every selected table, then wait until Elasticsearch
 * holds all of them.
 */
static LoadStatus
copy_selected(Load *ld)
{
	size_t		t;
	size_t		n = 0;
	LoadStatus	status = LOAD_OK;

	for (t = 0; t < ld->tables.n; t++)
		if (ld->selected[t])
			ld->order[n++] = t;
	ld->metrics->load_tables_total = (uint32_t) n;
	progress_init(&ld->progress, isatty(STDERR_FILENO));
	while (status == LOAD_OK && ld->committed < n)
		status = copy_table(ld, ld->order[ld->committed]);
	sync_flush_now(&ld->sync);
	while (status == LOAD_OK && ld->recorded < n)
	{
		if (*ld->stop)
			return LOAD_STOPPED;
		if (!step(ld))
			return LOAD_FAILED;
		sync_flush_now(&ld->sync);
	}
	return status;
}

/*
 * run_copy: take the snapshot, open the jobs, copy. full: the slot itself
 * is created with the snapshot; else a temporary slot provides it.
 */
static LoadStatus
run_copy(Load *ld, bool full)
{
	PGconn	   *repl = NULL;
	char		snapshot[LOAD_SNAPSHOT_NAME_SIZE];
	bool		good;
	LoadStatus	status;

	if (!ld->target && !record_pending(ld, full))
		return LOAD_FAILED;
	good = create_snapshot_slot(ld->cfg, &repl, !full, snapshot, &ld->version);
	if (good)
		log_info("%s slot at " LSN_FORMAT ": copying %zu table(s) in snapshot %s",
				 full ? "created the" : "snapshot of a temporary", LSN_ARGS(ld->version),
				 ld->nselected, snapshot);
	good = good && open_jobs(ld, snapshot);
	/* every job holds the snapshot now: the exporting connection may go */
	PQfinish(repl);
	if (!good && full)
		loadstate_forget_missing_slot(ld->control, ld->cfg->slot);
	if (!good)
		return LOAD_FAILED;
	ld->sync_metrics = *ld->metrics;
	if (!sync_init(&ld->sync, ld->cfg, &ld->sync_metrics))
		return LOAD_FAILED;
	status = copy_selected(ld);
	sync_free(&ld->sync);
	ld->metrics->documents_sent += ld->sync_metrics.documents_sent;
	ld->metrics->dead_lettered += ld->sync_metrics.dead_lettered;
	if (ld->target)
		return status;
	if (status == LOAD_OK)
		log_info("initial load done: %zu table(s); streaming from " LSN_FORMAT,
				 ld->recorded, LSN_ARGS(ld->version));
	else if (status == LOAD_STOPPED)
		log_info("initial load stopped; %zu table(s) done, the others are copied at the next start",
				 ld->recorded);
	return status;
}

/*
 * slot_exists: whether our slot exists (*failed set, logged, on error).
 */
static bool
slot_exists(Load *ld, bool *failed)
{
	const char *params[1] = {ld->cfg->slot};

	return query_exists(ld, "SELECT 1 FROM pg_replication_slots WHERE slot_name = $1",
						1, params, failed);
}

/*
 * decide_and_copy: which tables to copy, and how: all of them inside the
 * new slot's snapshot when the slot is to be created, else the --snapshot
 * tables and the unfinished ones inside a temporary slot's snapshot.
 */
static LoadStatus
decide_and_copy(Load *ld)
{
	bool		failed = false;
	bool		exists = slot_exists(ld, &failed);
	bool		lost = false;
	size_t		t;
	LoadStatus	status;

	if (failed)
		return LOAD_FAILED;
	if (!exists)
	{
		/*
		 * a slot lost at a failover is not replaced without a full load
		 * (slot.h)
		 */
		if (!slot_check_missing(ld->control, ld->cfg, ld->metrics, &lost))
			return LOAD_FAILED;
		if (!ld->cfg->create_slot || ld->cfg->no_initial_load)
			return LOAD_OK;
		if (!slot_check_load_possible(ld->control))
			return LOAD_FAILED;
		for (t = 0; t < ld->tables.n; t++)
			ld->selected[t] = true;
		ld->nselected = ld->tables.n;
		status = run_copy(ld, true);
		/* and the documents of rows deleted while it was lost go (prune.h) */
		return status == LOAD_OK && lost &&
			!prune_older_documents(ld->cfg, &ld->tables, ld->version, ld->http, ld->metrics,
								   ld->stop) ? LOAD_FAILED : status;
	}
	if (!select_unfinished(ld) || (ld->cfg->snapshot_tables && !select_snapshot_tables(ld)))
		return LOAD_FAILED;
	if (ld->nselected > 0 && !slot_check_load_possible(ld->control))
		return LOAD_FAILED;
	return ld->nselected > 0 ? run_copy(ld, false) : LOAD_OK;
}

/*
 * without_extension: the database lacks the pg2es extension: streaming
 * works, but a load that is due cannot run (an error: skipping it would
 * leave the existing rows out for good), and mappings are not derived.
 */
static LoadStatus
without_extension(Load *ld)
{
	bool		failed = false;
	bool		due = ld->cfg->snapshot_tables != NULL ||
	(ld->cfg->create_slot && !ld->cfg->no_initial_load && !slot_exists(ld, &failed));

	if (failed)
		return LOAD_FAILED;
	if (due)
	{
		log_error("the initial load needs the pg2es extension in the database: run CREATE EXTENSION pg2es (or start with --no-initial-load)");
		return LOAD_FAILED;
	}
	log_warning("extension pg2es is not installed in this database: index mappings are left to Elasticsearch");
	return LOAD_OK;
}

/*
 * free_load: release everything but the caller's.
 */
static void
free_load(Load *ld)
{
	int			i;

	for (i = 0; i < ld->njobs; i++)
	{
		copyin_free(&ld->jobs[i].ci);
		itemparts_free(&ld->jobs[i].parts);
		PQfinish(ld->jobs[i].conn);
	}
	/* /metrics must not point into the table list any more */
	ld->metrics->load_table = NULL;
	catalog_tables_free(&ld->tables);
	free(ld->selected);
	free(ld->order);
	free(ld->rows);
	free(ld->optlit);
	PQfinish(ld->control);
}

/*
 * check_slot_plugin: an existing slot of another output plugin (or a
 * physical one) would fail at START_REPLICATION with the server's
 * complaint about pg2es's options; say what the slot is instead. Returns
 * false (logged) when the slot cannot be ours.
 */
static bool
check_slot_plugin(Load *ld)
{
	const char *params[1] = {ld->cfg->slot};
	PGresult   *res = PQexecParams(ld->control, "SELECT slot_type, coalesce(plugin, '')"
								   " FROM pg_replication_slots WHERE slot_name = $1",
								   1, NULL, params, NULL, NULL, 0);
	bool		good = PQresultStatus(res) == PGRES_TUPLES_OK;
	const char *type = good && PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "logical";
	const char *plugin = good && PQntuples(res) == 1 ? PQgetvalue(res, 0, 1) : "pg2es";

	if (!good)
		log_error("could not read pg_replication_slots: %s", PQerrorMessage(ld->control));
	else if (strcmp(type, "logical") != 0)
		log_error("replication slot \"%s\" is a %s slot, not a logical slot of plugin pg2es:"
				  " choose another slot name (-S)", ld->cfg->slot, type);
	else if (strcmp(plugin, "pg2es") != 0)
		log_error("replication slot \"%s\" uses plugin %s, not pg2es: choose another slot name (-S),"
				  " or drop that slot if nothing else reads it", ld->cfg->slot, plugin);
	good = good && strcmp(type, "logical") == 0 && strcmp(plugin, "pg2es") == 0;
	PQclear(res);
	return good;
}

/*
 * load_prepare: before streaming, create the missing indexes with their
 * mappings and run the initial load when one is due (see load.h). Without
 * the pg2es extension in the database there is nothing to do unless a load
 * is asked for. The indexes made usable are noted in mappings (the
 * stream's cache, borrowed). Returns LOAD_OK when streaming may start.
 */
LoadStatus
load_prepare(const Config *cfg, Metrics *metrics, Http *http, volatile sig_atomic_t *stop,
			 MappingCache *mappings)
{
	Load		ld;
	EsCall		call;
	bool		failed = false;
	LoadStatus	status = LOAD_FAILED;

	memset(&ld, 0, sizeof(ld));
	ld.cfg = cfg;
	ld.metrics = metrics;
	ld.http = http;
	ld.stop = stop;
	if ((ld.control = catalog_connect(cfg)) == NULL)
		return LOAD_FAILED;
	if (!check_slot_plugin(&ld))
	{
		PQfinish(ld.control);
		return LOAD_FAILED;
	}
	if (!query_exists(&ld, "SELECT 1 FROM pg_extension WHERE extname = 'pg2es'", 0, NULL, &failed))
	{
		status = failed ? LOAD_FAILED : without_extension(&ld);
		PQfinish(ld.control);
		return status;
	}
	if (reqtable_record_options(ld.control, cfg) &&
		catalog_tables(ld.control, cfg, NULL, 0, &ld.tables) &&
		(ld.optlit = catalog_options_literal(ld.control, cfg)) != NULL &&
		(ld.selected = calloc(ld.tables.n + 1, sizeof(bool))) != NULL &&
		(ld.order = calloc(ld.tables.n + 1, sizeof(size_t))) != NULL &&
		(ld.rows = calloc(ld.tables.n + 1, sizeof(uint64_t))) != NULL &&
		escall_init(&call, cfg, stop))
	{
		escall_serve(&call, http, metrics);
		escall_report(&call, metrics);
		if (mapping_ensure_indexes(ld.control, cfg, &call, &ld.tables, mappings))
			status = decide_and_copy(&ld);
		escall_free(&call);
	}
	free_load(&ld);
	/* a stop signal while Elasticsearch was retried is a clean stop */
	return status == LOAD_FAILED && *stop ? LOAD_STOPPED : status;
}

/*
 * load_copy_into: the online copy of reindex.c: copy the covered table
 * relid, in the snapshot of a temporary slot, into index (instead of the
 * table's own) while the stream goes on elsewhere; *version gets the
 * snapshot's consistent point, the version of every item. Progress goes
 * to metrics' load figures. Nothing is recorded in pg2es.load_state.
 * Returns LOAD_OK once Elasticsearch holds every item.
 */
LoadStatus
load_copy_into(const Config *cfg, Metrics *metrics, unsigned int relid, const char *index,
			   volatile sig_atomic_t *stop, Lsn *version)
{
	Load		ld;
	Http		no_http = {-1, NULL, NULL};
	LoadStatus	status = LOAD_FAILED;
	size_t		t;

	memset(&ld, 0, sizeof(ld));
	ld.cfg = cfg;
	ld.metrics = metrics;
	ld.http = &no_http;
	ld.stop = stop;
	ld.target = index;
	if ((ld.control = catalog_connect(cfg)) != NULL &&
		catalog_tables(ld.control, cfg, NULL, 0, &ld.tables) &&
		(ld.optlit = catalog_options_literal(ld.control, cfg)) != NULL &&
		(ld.selected = calloc(ld.tables.n + 1, sizeof(bool))) != NULL &&
		(ld.order = calloc(ld.tables.n + 1, sizeof(size_t))) != NULL &&
		(ld.rows = calloc(ld.tables.n + 1, sizeof(uint64_t))) != NULL)
	{
		for (t = 0; t < ld.tables.n; t++)
			if (ld.tables.items[t].relid == relid)
				ld.selected[t] = true;
		ld.nselected = 1;
		if (memchr(ld.selected, true, ld.tables.n) == NULL)
			log_error("table %u is not covered by the plugin options", relid);
		else
			status = run_copy(&ld, false);
		*version = ld.version;
	}
	free_load(&ld);
	return status == LOAD_FAILED && *stop ? LOAD_STOPPED : status;
}
