/*
 * reindex.c
 *		Online reindex and backfill (see reindex.h): the streaming process's
 *		side (fork, reap, report) and the worker.
 *
 * Why a child process rather than more work in the event loop: the copy is
 * the initial load's (load.c: a temporary slot's snapshot, COPY jobs, a
 * pipeline of its own) and the check is verify's, both written as
 * sequences of blocking steps; in a process of their own they run as they
 * are, the stream's one wait never waits on them, and a failure or a crash
 * of the copy cannot take the stream's state with it. The two share
 * nothing but pg2es.requests (the durable state), the engine, and a small
 * shared page the worker writes its progress to for /metrics.
 */
/* MAP_ANONYMOUS and prctl are outside POSIX */
#define _DEFAULT_SOURCE

#include "reindex.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "escall.h"
#include "generation.h"
#include "load.h"
#include "log.h"
#include "mapping.h"
#include "request.h"
#include "sync.h"
#include "verify.h"

/* how long a tombstone lives in the index being copied into */
#define REINDEX_GC_DELETES "\"index.gc_deletes\":\"30d\""
/* comparisons of the copy with the table before the request fails */
#define CHECK_ATTEMPTS 10
#define CHECK_PAUSE_US 1000000
#define POLL_US 200000
/* a worker that ended early (PostgreSQL gone) is replaced after this */
#define WORKER_RETRY_US (5 * 1000000)

/* One row of pg2es.requests. */
typedef struct OpenRequest
{
	char		id[24];
	bool		backfill;
	unsigned int relid;
	char	   *table_name;		/* as requested, for messages (owned) */
	bool		keep_old;
	char		state[16];
	char	   *target;			/* target_index, or NULL (owned) */
} OpenRequest;

/* The worker's state while it carries out one request. */
typedef struct Worker
{
	const Config *cfg;
	ReindexShared *shared;
	volatile sig_atomic_t *stop;
	PGconn	   *conn;			/* autocommit */
	EsCall		call;
	char	   *optlit;			/* owned */
	CatalogTables tables;		/* the covered ones */
	const CatalogTable *table;	/* the request's */
	OpenRequest rq;
	char		error[512];		/* why it failed, for the row */
} Worker;

static int	reindex_worker_main(const Config *cfg, ReindexShared *shared,
								volatile sig_atomic_t *stop);
static bool worker_step(Worker *w, const char *step);

/*
 * reindex_init: the streaming process's side; a request may be open from
 * before this start, so the first poll forks a worker to look.
 */
bool
reindex_init(Reindexer *rx, const Config *cfg, volatile sig_atomic_t *stop)
{
	void	   *page = mmap(NULL, sizeof(ReindexShared), PROT_READ | PROT_WRITE,
							MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	memset(rx, 0, sizeof(*rx));
	rx->cfg = cfg;
	rx->stop = stop;
	if (page == MAP_FAILED)
	{
		log_error("could not map the reindex worker's shared page: %m");
		return false;
	}
	rx->shared = page;
	memset(rx->shared, 0, sizeof(ReindexShared));
	rx->pending = true;
	return true;
}

/*
 * reindex_on_request: a REQUEST frame of this slot (request.h): a new
 * request is taken up by a worker at the next poll; the frames of the
 * worker's own state changes need nothing.
 */
bool
reindex_on_request(struct Sync *sync, const Request *request)
{
	if (sync->reindex && request->state == REQUEST_REQUESTED)
		sync->reindex->pending = true;
	return true;
}

/*
 * reap_worker: when the worker has ended, say how if it did not exit 0.
 */
static void
reap_worker(Reindexer *rx)
{
	int			status;
	pid_t		r = waitpid(rx->worker, &status, WNOHANG);

	if (r == 0 || (r < 0 && errno == EINTR))
		return;
	if (r > 0 && (WIFSIGNALED(status) || WEXITSTATUS(status) != 0) && !*rx->stop)
	{
		log_warning("the reindex worker (pid %d) ended before its request did; another one"
					" takes it up in %d s", (int) rx->worker, WORKER_RETRY_US / 1000000);
		rx->pending = true;
		rx->retry_at = pg2es_now_us() + WORKER_RETRY_US;
	}
	rx->worker = 0;
	rx->shared->request = 0;
}

/*
 * start_worker: fork the worker; it never returns here. The worker dies
 * with this process (a SIGKILL of the forwarder must not leave it copying)
 * and touches nothing of this process's connections: it opens its own and
 * ends with _exit.
 */
static void
start_worker(Reindexer *rx)
{
	pid_t		parent = getpid();
	pid_t		pid;

	rx->pending = false;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
	{
		log_error("could not start the reindex worker: %m");
		return;
	}
	if (pid > 0)
	{
		rx->worker = pid;
		return;
	}
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(1);
	_exit(reindex_worker_main(rx->cfg, rx->shared, rx->stop));
}

/*
 * reindex_poll: from the streaming loop, at every turn: reap an ended
 * worker, fork one when a request may be open, and copy the worker's
 * progress into metrics (/metrics).
 */
void
reindex_poll(Reindexer *rx, Metrics *metrics)
{
	ReindexShared *sh = rx->shared;

	if (sh == NULL)
		return;
	if (rx->worker)
		reap_worker(rx);
	if (!rx->worker && rx->pending && !*rx->stop && pg2es_now_us() >= rx->retry_at)
		start_worker(rx);
	metrics->reindex_request = rx->worker ? sh->request : 0;
	memcpy(metrics->reindex_table, sh->table, sizeof(metrics->reindex_table));
	metrics->reindex_table[sizeof(metrics->reindex_table) - 1] = '\0';
	memcpy(metrics->reindex_step, sh->step, sizeof(metrics->reindex_step));
	metrics->reindex_step[sizeof(metrics->reindex_step) - 1] = '\0';
	metrics->reindex_rows_done = sh->load.load_rows_done;
	metrics->reindex_rows_estimated = sh->load.load_rows_estimated;
}

/*
 * reindex_free: stop the worker (its request stays as recorded and
 * resumes at the next start) and wait for it.
 */
void
reindex_free(Reindexer *rx)
{
	if (rx->worker > 0 && kill(rx->worker, SIGTERM) == 0)
		while (waitpid(rx->worker, NULL, 0) < 0 && errno == EINTR)
			;
	rx->worker = 0;
	if (rx->shared)
		munmap(rx->shared, sizeof(ReindexShared));
	rx->shared = NULL;
}

/* --- the worker --- */

/*
 * param_exec: sql with text params on the worker's connection; NULL
 * (logged, into w->error) unless the result has the status expected.
 */
static PGresult *
param_exec(Worker *w, const char *sql, int n, const char *const *params, ExecStatusType expect)
{
	PGresult   *res = PQexecParams(w->conn, sql, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) == expect)
		return res;
	snprintf(w->error, sizeof(w->error), "query failed: %s", PQerrorMessage(w->conn));
	log_error("%s", w->error);
	PQclear(res);
	return NULL;
}

/*
 * record_state: the request's new state (and target_index, unless NULL)
 * into its row, committed. The decoder sees the change in the WAL.
 */
static bool
record_state(Worker *w, const char *state, const char *target, const char *error)
{
	const char *params[4] = {w->rq.id, state, target, error};
	PGresult   *res = param_exec(w, "UPDATE pg2es.requests SET state = $2,"
								 " target_index = coalesce($3, target_index), error = $4,"
								 " updated_at = now() WHERE id = $1::int8", 4, params,
								 PGRES_COMMAND_OK);

	if (res == NULL)
		return false;
	PQclear(res);
	snprintf(w->rq.state, sizeof(w->rq.state), "%s", state);
	log_info("reindex request %s (table %s): %s%s%s", w->rq.id, w->rq.table_name, state,
			 error ? ": " : "", error ? error : "");
	return true;
}

/*
 * wal_mark: touch the request's row (a commit the stream carries), and
 * into *lsn the WAL position after it: once the forwarder has confirmed
 * *lsn, Elasticsearch holds every change committed before.
 */
static bool
wal_mark(Worker *w, Lsn *lsn)
{
	const char *params[1] = {w->rq.id};
	PGresult   *res = param_exec(w, "UPDATE pg2es.requests SET updated_at = now() WHERE id = $1::int8",
								 1, params, PGRES_COMMAND_OK);

	if (res == NULL)
		return false;
	PQclear(res);
	res = param_exec(w, "SELECT pg_current_wal_insert_lsn()", 0, NULL, PGRES_TUPLES_OK);
	if (res == NULL)
		return false;
	if (!lsn_parse(PQgetvalue(res, 0, 0), lsn))
		snprintf(w->error, sizeof(w->error), "unexpected WAL position %s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return *lsn != 0;
}

/*
 * sleep_us: sleep, cut short by a stop signal; false when one came.
 */
static bool
sleep_us(Worker *w, int64_t us)
{
	struct timespec ts = {(time_t) (us / 1000000), (long) (us % 1000000) * 1000};

	if (!*w->stop)
		nanosleep(&ts, NULL);
	return !*w->stop;
}

/*
 * wait_confirmed: until the forwarder has confirmed lsn to the slot
 * (pg_replication_slots.confirmed_flush_lsn), or a stop signal.
 */
static bool
wait_confirmed(Worker *w, Lsn lsn)
{
	char		text[32];
	const char *params[2] = {w->cfg->slot, text};
	PGresult   *res;
	bool		reached = false;

	snprintf(text, sizeof(text), LSN_FORMAT, LSN_ARGS(lsn));
	while (!reached)
	{
		res = param_exec(w, "SELECT coalesce(confirmed_flush_lsn >= $2::pg_lsn, false)"
						 " FROM pg_replication_slots WHERE slot_name = $1", 2, params,
						 PGRES_TUPLES_OK);
		if (res == NULL)
			return false;
		reached = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
		PQclear(res);
		if (!reached && !sleep_us(w, POLL_US))
			return false;
	}
	return true;
}

/*
 * index_call: method on /INDEX + suffix with body (or NULL); the HTTP
 * status (0: no answer, logged by escall), *resp the answer's body.
 */
static long
index_call(Worker *w, const char *method, const char *index, const char *suffix,
		   const char *body, const Buf **resp)
{
	char	   *path = es_index_path(&w->call.es, index, suffix);
	long		status;

	if (path == NULL)
		return 0;
	status = escall(&w->call, method, path, body, body ? strlen(body) : 0, resp);
	free(path);
	return status;
}

/*
 * current_index: what the table's alias stands for (generation.h) into
 * *target; false (w->error) when the engine cannot tell.
 */
static bool
current_index(Worker *w, AliasTarget *target)
{
	if (generation_lookup(&w->call, w->table->index, target))
		return true;
	snprintf(w->error, sizeof(w->error), "could not look up alias \"%s\"", w->table->index);
	return false;
}

/*
 * generation_name: the concrete index of generation gen of the table's
 * alias (malloc'd).
 */
static char *
generation_name(Worker *w, unsigned int gen)
{
	return generation_index_name(w->table->index, strlen(w->table->index), gen);
}

/*
 * expect_status: whether status is one of the two accepted; else the
 * error text (what, the status, the answer) into w->error.
 */
static bool
expect_status(Worker *w, long status, long ok, long also_ok, const char *what, const Buf *resp)
{
	if (status == ok || status == also_ok)
		return true;
	snprintf(w->error, sizeof(w->error), "%s: HTTP %ld %.*s", what, status,
			 status && resp && resp->data ? (int) (resp->len > 300 ? 300 : resp->len) : 0,
			 status && resp && resp->data ? resp->data : "");
	return false;
}

/*
 * set_gc_deletes: raise index.gc_deletes on index for the copy, or (raise
 * false) give it back its default.
 */
static bool
set_gc_deletes(Worker *w, const char *index, bool raise)
{
	const Buf  *resp = NULL;
	long		status = index_call(w, "PUT", index, "/_settings",
									raise ? "{" REINDEX_GC_DELETES "}" : "{\"index.gc_deletes\":null}",
									&resp);

	return expect_status(w, status, 200, 200, "could not set index.gc_deletes", resp);
}

/*
 * delete_index: DELETE /index; one that is gone already is fine.
 */
static bool
delete_index(Worker *w, const char *index)
{
	const Buf  *resp = NULL;
	long		status = index_call(w, "DELETE", index, "", NULL, &resp);

	if (status == 200)
		log_info("deleted index \"%s\"", index);
	return expect_status(w, status, 200, 404, "could not delete an index", resp);
}

/*
 * create_missing_index: creates the request's index with the mapping
 * derived now, as at start-up (one that exists by then is fine).
 */
static bool
create_missing_index(Worker *w)
{
	CatalogTables one = {(CatalogTable *) w->table, 1};

	if (mapping_ensure_indexes(w->conn, w->cfg, &w->call, &one, NULL))
		return true;
	snprintf(w->error, sizeof(w->error), "could not create index \"%s\"", w->table->index);
	return false;
}

/*
 * begin_request: state 'requested': choose and prepare the index to copy
 * into, then record 'copying' with it. reindex: the next generation,
 * created anew (a leftover of a crash before 'copying' was recorded is
 * deleted first: nothing writes to it yet); backfill: the current index,
 * its gc_deletes raised.
 */
static bool
begin_request(Worker *w)
{
	AliasTarget current = {ALIAS_ABSENT, NULL, 0, NULL};
	unsigned int gen;
	char	   *target = NULL;
	bool		good = current_index(w, &current);

	/*
	 * A table a publication change brought in may be asked for before the
	 * stream has created its index: the backfill creates it then.
	 */
	if (good && w->rq.backfill && current.index == NULL)
		good = create_missing_index(w) && current_index(w, &current);
	gen = generation_next(&current);
	if (good && w->rq.backfill)
	{
		good = current.index != NULL && set_gc_deletes(w, current.index, true);
		if (current.index == NULL)
			snprintf(w->error, sizeof(w->error), "index \"%s\" does not exist", w->table->index);
		target = current.index;
		current.index = NULL;
	}
	else if (good && current.kind == ALIAS_LEGACY && w->rq.keep_old)
	{
		snprintf(w->error, sizeof(w->error), "index \"%s\" is a concrete index, not an alias:"
				 " it cannot be kept (keep_old), the alias takes its name", current.index);
		good = false;
	}
	else if (good)
		good = (target = generation_name(w, gen)) != NULL && delete_index(w, target) &&
			mapping_create_generation(w->conn, w->optlit, &w->call, w->table, target, gen,
									  "{" REINDEX_GC_DELETES "}");
	/* the request owns it from now on: a failure deletes it */
	if (target)
	{
		free(w->rq.target);
		w->rq.target = target;
	}
	generation_target_free(&current);
	return good && (w->rq.backfill || worker_step(w, "created")) &&
		record_state(w, "copying", target, NULL);
}

/*
 * filenodes: the relfilenodes of the table and its partitions, as text
 * into out (size 1024): a TRUNCATE gives each a new one.
 */
static bool
filenodes(Worker *w, char *out, size_t size)
{
	char		relid[16];
	const char *params[1] = {relid};
	PGresult   *res;

	snprintf(relid, sizeof(relid), "%u", w->rq.relid);
	/* pg_partition_tree has no rows for a table outside any partition tree */
	res = param_exec(w, "SELECT string_agg(coalesce(pg_relation_filenode(r)::text, '-'), ','"
					 " ORDER BY r) FROM (SELECT $1::oid::regclass AS r UNION"
					 " SELECT relid FROM pg_partition_tree($1::oid::regclass)) t", 1, params,
					 PGRES_TUPLES_OK);
	if (res == NULL)
		return false;
	snprintf(out, size, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return true;
}

/*
 * remove_gone: delete from the target the documents of rows that are gone,
 * in a fresh snapshot taken after the copy was stored (verify.h,
 * verify_delete_extras, at its consistent point: a newer change wins).
 */
static bool
remove_gone(Worker *w)
{
	PGconn	   *repl = NULL;
	char		snapshot[LOAD_SNAPSHOT_NAME_SIZE];
	char		set[LOAD_SNAPSHOT_NAME_SIZE + 32];
	Lsn			version = 0;
	VerifyRepairs repairs;
	bool		good;

	memset(&repairs, 0, sizeof(repairs));
	good = load_export_snapshot(w->cfg, &repl, snapshot, &version) &&
		catalog_exec(w->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ", PGRES_COMMAND_OK);
	snprintf(set, sizeof(set), "SET TRANSACTION SNAPSHOT '%s'", snapshot);
	good = good && catalog_exec(w->conn, set, PGRES_COMMAND_OK);
	PQfinish(repl);
	good = good && verify_delete_extras(w->conn, &w->call, w->cfg, w->table, w->rq.target,
										version, &repairs);
	PQclear(PQexec(w->conn, good ? "COMMIT" : "ROLLBACK"));
	if (good)
		log_info("index \"%s\": %llu document(s) of rows that are gone deleted", w->rq.target,
				 (unsigned long long) repairs.extra_deleted);
	else
		snprintf(w->error, sizeof(w->error), "could not delete the documents of rows that are gone");
	return good;
}

/*
 * copy_table: copy the table into the target in a fresh snapshot; again
 * while a TRUNCATE came during a copy (rows copied before it may have
 * reached the index after the TRUNCATE emptied it); then, after such a
 * repeat, after a restart (an earlier copy may have left rows) and for a
 * backfill, delete the documents older than the last copy.
 */
static bool
copy_table(Worker *w, bool again)
{
	char		before[1024];
	char		after[1024];
	Lsn			version = 0;
	LoadStatus	status;

	snprintf(w->shared->step, sizeof(w->shared->step), "copying");
	for (;;)
	{
		if (!filenodes(w, before, sizeof(before)))
			return false;
		status = load_copy_into(w->cfg, &w->shared->load, w->rq.relid, w->rq.target, w->stop,
								&version);
		if (status != LOAD_OK)
		{
			snprintf(w->error, sizeof(w->error), "the copy into index \"%s\" failed", w->rq.target);
			return false;
		}
		if (!worker_step(w, "copied") || !filenodes(w, after, sizeof(after)))
			return false;
		if (strcmp(before, after) == 0)
			break;
		log_info("table %s was truncated during its copy: copying it again in a fresh snapshot",
				 w->rq.table_name);
		again = true;
	}
	return (!again && !w->rq.backfill) || remove_gone(w);
}

/*
 * compare_once: one comparison of the target with the table, in a
 * snapshot taken once the stream has confirmed a commit made just before
 * it (so every change the snapshot sees, but those committed in between,
 * is in the target already: a difference is not the stream's lag).
 * Documents written by changes the snapshot does not see are left out.
 * *result: 0 equal, 1 different.
 */
static bool
compare_once(Worker *w, int *result, VerifyCounts *counts)
{
	PGresult   *res;
	Lsn			mark;
	Lsn			seen = 0;
	int			r = 2;

	if (!wal_mark(w, &mark) || !wait_confirmed(w, mark) ||
		(res = param_exec(w, "BEGIN ISOLATION LEVEL REPEATABLE READ", 0, NULL,
						  PGRES_COMMAND_OK)) == NULL)
		return false;
	PQclear(res);
	/* this statement takes the snapshot: every commit it sees is below */
	if ((res = param_exec(w, "SELECT pg_current_wal_insert_lsn()", 0, NULL, PGRES_TUPLES_OK)))
	{
		if (lsn_parse(PQgetvalue(res, 0, 0), &seen))
			r = verify_index(w->conn, &w->call, w->cfg, w->optlit, w->table, w->rq.target, seen,
							 counts);
		PQclear(res);
	}
	PQclear(PQexec(w->conn, r == 2 ? "ROLLBACK" : "COMMIT"));
	if (r == 2 && !w->error[0])
		snprintf(w->error, sizeof(w->error), "could not compare index \"%s\" with its table",
				 w->rq.target);
	*result = r;
	return r != 2;
}

/*
 * check_copy: the target equals the table: compared again, up to
 * CHECK_ATTEMPTS times, while changes committed during a comparison make
 * it differ; a difference that stays fails the request.
 */
static bool
check_copy(Worker *w)
{
	VerifyCounts counts;
	int			result = 1;
	int			attempt;

	snprintf(w->shared->step, sizeof(w->shared->step), "checking");
	for (attempt = 0; attempt < CHECK_ATTEMPTS && result != 0; attempt++)
	{
		if ((attempt > 0 && !sleep_us(w, CHECK_PAUSE_US)) || !compare_once(w, &result, &counts))
			return false;
	}
	if (result == 0)
	{
		log_info("index \"%s\" equals table %s (%llu rows)", w->rq.target, w->rq.table_name,
				 (unsigned long long) counts.rows);
		return true;
	}
	snprintf(w->error, sizeof(w->error), "index \"%s\" still differs from the table after %d"
			 " comparisons: %llu missing, %llu different, %llu extra", w->rq.target,
			 CHECK_ATTEMPTS, (unsigned long long) counts.missing,
			 (unsigned long long) counts.different, (unsigned long long) counts.extra);
	return false;
}

/*
 * aliases_body: the _aliases request moving the alias from current (a
 * legacy index: removed with it) to the target, into out.
 */
static bool
aliases_body(Worker *w, const AliasTarget *current, Buf *out)
{
	const char *alias = w->table->index;
	json_t	   *actions = json_array();
	json_t	   *body = json_pack("{s:o}", "actions", actions);
	char	   *text;
	bool		good;

	if (current->kind == ALIAS_LEGACY)
		json_array_append_new(actions, json_pack("{s:{s:s}}", "remove_index", "index",
												 current->index));
	else if (current->kind == ALIAS_ALIASED)
		json_array_append_new(actions, json_pack("{s:{s:s,s:s}}", "remove", "index",
												 current->index, "alias", alias));
	json_array_append_new(actions, json_pack("{s:{s:s,s:s,s:b}}", "add", "index", w->rq.target,
											 "alias", alias, "is_write_index", 1));
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	good = text && buf_append_str(out, text);
	free(text);
	json_decref(body);
	return good;
}

/*
 * switch_alias: state 'switching': the alias onto the target in one
 * _aliases request (unless a crash came after it), then the old
 * generation deleted unless keep_old: the one the alias left, or after a
 * crash past the switch the generation before the target's (the target
 * is always the current one's successor). A legacy index went with the
 * switch itself (remove_index).
 */
static bool
switch_alias(Worker *w)
{
	AliasTarget current = {ALIAS_ABSENT, NULL, 0, NULL};
	unsigned int target_gen = generation_of_index(w->table->index, w->rq.target);
	char	   *old = NULL;
	const Buf  *resp = NULL;
	Buf			body;
	bool		good;

	if (!worker_step(w, "switching") || !current_index(w, &current))
		return false;
	buf_init(&body);
	good = true;
	if (current.index == NULL || strcmp(current.index, w->rq.target) != 0)
	{
		good = aliases_body(w, &current, &body) &&
			expect_status(w, escall(&w->call, "POST", "/_aliases", body.data, body.len, &resp),
						  200, 200, "the _aliases request failed", resp);
		if (good)
			log_info("alias \"%s\" now points to index \"%s\"", w->table->index, w->rq.target);
		if (current.kind == ALIAS_ALIASED)
			old = strdup(current.index);
	}
	else if (target_gen > 1)
		old = generation_name(w, target_gen - 1);
	good = good && worker_step(w, "switched") &&
		(w->rq.keep_old || old == NULL || delete_index(w, old));
	free(old);
	generation_target_free(&current);
	buf_free(&body);
	return good;
}

/*
 * fail_request: record the request failed with w->error; a reindex's new
 * generation goes once the stream has confirmed that commit (no dual
 * write can recreate it then), unless the alias points to it already; a
 * backfill's index gets its gc_deletes back.
 */
static void
fail_request(Worker *w)
{
	AliasTarget current = {ALIAS_ABSENT, NULL, 0, NULL};
	Lsn			mark;
	char		error[sizeof(w->error)];

	snprintf(error, sizeof(error), "%s", w->error[0] ? w->error : "failed");
	if (!record_state(w, "failed", NULL, error) || w->rq.target == NULL)
		return;
	if (w->rq.backfill)
		(void) set_gc_deletes(w, w->rq.target, false);
	else if (wal_mark(w, &mark) && wait_confirmed(w, mark) && current_index(w, &current) &&
			 (current.index == NULL || strcmp(current.index, w->rq.target) != 0))
		(void) delete_index(w, w->rq.target);
	generation_target_free(&current);
}

/*
 * copy_and_check: state 'copying': the copy (again = an earlier one may
 * have left rows: after a restart), gc_deletes back to its default (no
 * older version can come any more), the check; then 'switching' (a
 * reindex) or the end (a backfill).
 */
static bool
copy_and_check(Worker *w, bool again)
{
	const Buf  *resp = NULL;

	/*
	 * a target gone since would be recreated by the writes, without its
	 * mapping
	 */
	if (again && !expect_status(w, index_call(w, "GET", w->rq.target, "/_settings", NULL, &resp),
								200, 200, "the index being copied into is gone", resp))
		return false;
	return copy_table(w, again) && set_gc_deletes(w, w->rq.target, false) && check_copy(w) &&
		(w->rq.backfill || record_state(w, "switching", NULL, NULL));
}

/*
 * run_request: carry w->rq out from its recorded state to 'done', or to
 * 'failed'; a stop signal leaves it where it is, for the next start.
 * Returns false when it could not be recorded ended (PostgreSQL gone).
 */
static bool
run_request(Worker *w)
{
	size_t		t;
	bool		good = true;
	bool		resumed = strcmp(w->rq.state, "copying") == 0;

	w->error[0] = '\0';
	w->table = NULL;
	w->shared->request = strtoll(w->rq.id, NULL, 10);
	snprintf(w->shared->table, sizeof(w->shared->table), "%s", w->rq.table_name);
	for (t = 0; t < w->tables.n; t++)
		if (w->tables.items[t].relid == w->rq.relid)
			w->table = &w->tables.items[t];
	if (w->table == NULL)
	{
		snprintf(w->error, sizeof(w->error), "table %s is not covered by the options of slot \"%s\"",
				 w->rq.table_name, w->cfg->slot);
		good = false;
	}
	if (good && strcmp(w->rq.state, "requested") == 0)
		good = begin_request(w);
	if (good && strcmp(w->rq.state, "copying") == 0)
		good = copy_and_check(w, resumed);
	if (good && strcmp(w->rq.state, "switching") == 0)
		good = switch_alias(w);
	good = good && record_state(w, "done", NULL, NULL);
	if (!good && !*w->stop)
		fail_request(w);
	snprintf(w->shared->step, sizeof(w->shared->step), "%s", good ? "done" : "");
	return strcmp(w->rq.state, "done") == 0 || strcmp(w->rq.state, "failed") == 0;
}

/*
 * next_request: the oldest open request of the slot into w->rq; false
 * when there is none or on error (w->error).
 */
static bool
next_request(Worker *w)
{
	const char *params[1] = {w->cfg->slot};
	PGresult   *res = param_exec(w, "SELECT id, kind = 'backfill', relid, table_name, keep_old, state,"
								 " target_index FROM pg2es.requests WHERE slot_name = $1"
								 " AND state IN ('requested', 'copying', 'switching')"
								 " ORDER BY id LIMIT 1", 1, params, PGRES_TUPLES_OK);
	bool		found = res && PQntuples(res) == 1;

	if (found)
	{
		snprintf(w->rq.id, sizeof(w->rq.id), "%s", PQgetvalue(res, 0, 0));
		w->rq.backfill = PQgetvalue(res, 0, 1)[0] == 't';
		w->rq.relid = (unsigned int) strtoul(PQgetvalue(res, 0, 2), NULL, 10);
		w->rq.table_name = strdup(PQgetvalue(res, 0, 3));
		w->rq.keep_old = PQgetvalue(res, 0, 4)[0] == 't';
		snprintf(w->rq.state, sizeof(w->rq.state), "%s", PQgetvalue(res, 0, 5));
		w->rq.target = PQgetisnull(res, 0, 6) ? NULL : strdup(PQgetvalue(res, 0, 6));
		found = w->rq.table_name != NULL && (PQgetisnull(res, 0, 6) || w->rq.target != NULL);
	}
	PQclear(res);
	return found;
}

/*
 * worker_step: the worker has reached step (named in /metrics). For the
 * crash tests, PG2ES_TEST_REINDEX_PAUSE=STEP[:FILE] holds it there until
 * FILE exists (without FILE: until stopped). False when a stop came.
 */
static bool
worker_step(Worker *w, const char *step)
{
	const char *pause = getenv("PG2ES_TEST_REINDEX_PAUSE");
	size_t		n = strlen(step);
	bool		logged = false;

	snprintf(w->shared->step, sizeof(w->shared->step), "%s", step);
	if (pause == NULL || strncmp(pause, step, n) != 0 || (pause[n] != '\0' && pause[n] != ':'))
		return !*w->stop;
	while (!*w->stop && (pause[n] == '\0' || access(pause + n + 1, F_OK) != 0))
	{
		if (!logged)
			log_info("reindex request %s: paused at step %s", w->rq.id, step);
		logged = true;
		(void) sleep_us(w, POLL_US);
	}
	return !*w->stop;
}

/*
 * has_requests: whether the database has pg2es.requests (an extension
 * older than it has none: nothing to do).
 */
static bool
has_requests(Worker *w)
{
	PGresult   *res = param_exec(w, "SELECT to_regclass('pg2es.requests') IS NOT NULL", 0, NULL,
								 PGRES_TUPLES_OK);
	bool		has = res && PQgetvalue(res, 0, 0)[0] == 't';

	PQclear(res);
	return has;
}

/*
 * free_request: release w->rq's strings.
 */
static void
free_request(Worker *w)
{
	free(w->rq.table_name);
	free(w->rq.target);
	memset(&w->rq, 0, sizeof(w->rq));
}

/*
 * reindex_worker_main: the worker process: every open request of the
 * slot, oldest first, until none is left or a stop signal. Returns its
 * exit status: 0, or 1 when it could not start or left a request open
 * (logged): the streaming process then starts another one later.
 */
static int
reindex_worker_main(const Config *cfg, ReindexShared *shared, volatile sig_atomic_t *stop)
{
	Worker		w;
	bool		good;
	bool		ended = true;

	memset(&w, 0, sizeof(w));
	w.cfg = cfg;
	w.shared = shared;
	w.stop = stop;
	if ((w.conn = catalog_connect(cfg)) == NULL)
		return 1;
	good = has_requests(&w);
	if (good && (w.optlit = catalog_options_literal(w.conn, cfg)) != NULL &&
		catalog_tables(w.conn, cfg, NULL, 0, &w.tables) && escall_init(&w.call, cfg, stop))
	{
		while (ended && !*stop && next_request(&w))
		{
			ended = run_request(&w);
			free_request(&w);
		}
		escall_free(&w.call);
		catalog_tables_free(&w.tables);
	}
	free(w.optlit);
	PQfinish(w.conn);
	return good && ended ? 0 : 1;
}
