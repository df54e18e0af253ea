/*
 * verify.c
 *		pg2es verify: does each index equal its table?
 *
 * Per covered table (or those named on the command line), inside one
 * repeatable-read snapshot:
 *	1. refresh the index and read its _count;
 *	2. walk the table with a cursor, VERIFY_BATCH rows at a time, computing
 *	   each row's _id and document with the decoder's own encoder
 *	   (pg2es.doc_id, pg2es.doc_source), and fetch the same _ids with _mget:
 *	   a document not found is missing; one whose _source differs from the
 *	   encoded row, byte for byte and then as a JSON value (jsoncmp.c), is
 *	   different. The add-fields __lsn, __ts_ms and __op describe the change
 *	   that wrote the document, not the row (the encoder gives null, null
 *	   and "r" for a row read by SQL), so when add-fields has them they are
 *	   left out of the comparison;
 *	3. extra = _count - documents found; when there are any, scroll the
 *	   index's _ids into a temporary table and anti-join it with the
 *	   table's _ids to name them.
 * Under -o publications only the rows its row filter accepts are walked
 * (catalog_published), and when no publication of the table publishes
 * delete, extra documents are reported but expected (exit status 0; a
 * repair keeps them).
 * A table that has no usable key (its rows are never synced), or rows
 * without a key value, is not equal to its index, whatever the counts say.
 * A table pattern that matches no covered table is an error, so that a typo
 * does not pass the check.
 *
 * Under delete-mode=soft a document with "__deleted": true stands for a
 * deleted row: it is not counted, not listed as extra, and a row whose
 * document says so is different.
 *
 * --repair takes the table's snapshot from a temporary slot (load.c) and
 * writes with its consistent point V as the version, external_gte, as the
 * initial load does: each missing or different row is sent as its bulk
 * item (pg2es.bulk_item, version V) in the batch that found it, and each
 * extra document is deleted (soft mode: rewritten with "__deleted": true)
 * at version V. A change streamed after the snapshot has a higher version,
 * so Elasticsearch answers 409 and keeps it: superseded, not an error.
 * Then the table is verified again in a new snapshot, and only that
 * verdict counts.
 * Memory stays bounded by the batch size whatever the table's size.
 * Exit status: 0 every index equals its table, 1 some differ, 2 an error.
 */
#include "verify.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "escall.h"
#include "jsoncmp.h"
#include "load.h"
#include "log.h"
#include "mapping.h"

#define VERIFY_BATCH 1000
#define VERIFY_BATCH_TEXT "1000"
#define VERIFY_ATTEMPTS 5		/* per request, on no answer, 429 or 5xx */
#define VERIFY_SHOW 10			/* _ids named per kind of difference */
#define VERIFY_SHOW_TEXT "10"	/* VERIFY_SHOW as text */
#define VERIFY_MAX_SKIP 3		/* __lsn, __ts_ms, __op */
/* delete-mode=soft: the documents that stand for a row */
#define VERIFY_LIVE_QUERY "\"query\":{\"bool\":{\"must_not\":{\"term\":{\"__deleted\":true}}}}"

/* The _ids of one kind of difference: a count and the first few. */
typedef struct IdList
{
	uint64_t	count;
	char	   *first[VERIFY_SHOW];
} IdList;

/* Everything about one table's comparison. */
typedef struct Verify
{
	PGconn	   *conn;
	EsCall	   *call;
	const char *optlit;
	const char *const *skip;	/* top-level members not compared */
	const CatalogTable *table;
	const char *index;			/* where its documents are (borrowed) */
	bool		soft;			/* delete-mode=soft: "__deleted" means gone */
	bool		repair;			/* --repair: send what differs */
	Lsn			version;		/* repair: the snapshot's consistent point */
	size_t		max_bytes;		/* repair: send the items at this size */
	bool		index_exists;
	bool		keyless;		/* no primary key, identity index, id-columns */
	uint64_t	rows;			/* rows with an _id */
	uint64_t	unkeyed;		/* rows without one: never synced */
	uint64_t	docs;			/* the index's _count */
	uint64_t	found;
	IdList		missing;
	IdList		different;
	IdList		extra;
	CatalogPublished pub;		/* row filter; extras kept when no deletes */
	Buf			body;			/* request body scratch */
	Buf			items;			/* repair: the writes not sent yet, NDJSON */
	uint64_t   *item_counts[VERIFY_BATCH];	/* what each counts to when done */
	int			nitems;
	VerifyRepairs repairs;
	Lsn			newer_than;		/* documents of a higher version are newer
								 * than the snapshot: not compared; 0 = all */
} Verify;

static void note_id(IdList *list, const char *id, size_t len);
static void free_ids(IdList *list);
static long long json_count(const Buf *body);
static bool read_index_count(Verify *v);
static bool doc_fields(const char *doc, size_t len, bool *found, Lsn *version, const char **source,
					   size_t *srclen);
static bool queue_write(Verify *v, const char *item, size_t len, uint64_t *done);
static void count_write(Verify *v, json_t *item, uint64_t *done);
static bool send_writes(Verify *v);
static bool judge_row(Verify *v, const PGresult *rows, int row, const char *src, size_t srclen);
static bool compare_batch(Verify *v, const PGresult *rows, const int *rowmap, int n, const Buf *resp);
static bool check_batch(Verify *v, const PGresult *rows);
static bool check_keyless(Verify *v, const Config *cfg);
static bool walk_table(Verify *v);
static bool copy_ids(Verify *v, const Buf *resp, size_t *n, char **scroll_id);
static void clear_scroll(Verify *v, const char *scroll_id);
static bool end_copy_in(Verify *v, bool good);
static bool scroll_ids(Verify *v);
static bool collect_ids(Verify *v);
static bool extras_query(const Verify *v, Buf *sql);
static bool name_extras(Verify *v);
static bool write_header(const Verify *v, Buf *out, const char *action, const char *id);
static bool soft_delete_doc(Verify *v, const char *doc, size_t len, Buf *item);
static bool soft_delete_docs(Verify *v, const Buf *resp);
static bool remove_extra_page(Verify *v, const PGresult *page);
static bool remove_extras(Verify *v);
static void print_ids(const char *what, const IdList *list);
static void print_report(const Verify *v);
static void print_repairs(const Verify *v);
static bool begin_snapshot(Verify *v, const Config *cfg);
static int	verify_table(Verify *v, const Config *cfg);
static bool list_has(const char *list, const char *item);
static void change_fields(const Config *cfg, const char **skip);
static int	unmatched_patterns(PGconn *conn, const Config *cfg, const CatalogTables *all);
static void verify_init(Verify *v, PGconn *conn, EsCall *call, const Config *cfg, const char *optlit,
						const char *const *skip, const CatalogTable *table);
static void verify_free(Verify *v);
static int	check_table(PGconn *conn, EsCall *call, const Config *cfg, const char *optlit,
						const char *const *skip, const CatalogTable *table);

/*
 * note_id: count id in list, keeping it if among the first.
 */
static void
note_id(IdList *list, const char *id, size_t len)
{
	if (list->count < VERIFY_SHOW)
		list->first[list->count] = strndup(id, len);
	list->count++;
}

/*
 * free_ids: release a list's names.
 */
static void
free_ids(IdList *list)
{
	uint64_t	i;

	for (i = 0; i < list->count && i < VERIFY_SHOW; i++)
		free(list->first[i]);
}

/*
 * json_count: the "count" of a _count answer; -1 when absent.
 */
static long long
json_count(const Buf *body)
{
	json_t	   *root = json_loadb(body->data, body->len, 0, NULL);
	json_t	   *count = json_object_get(root, "count");
	long long	n = json_is_integer(count) ? (long long) json_integer_value(count) : -1;

	json_decref(root);
	return n;
}

/*
 * read_index_count: refresh the index (so every acknowledged document is
 * visible) and read its _count (soft mode: of the documents not marked
 * deleted). A missing index counts zero documents.
 */
static bool
read_index_count(Verify *v)
{
	const Buf  *resp;
	char	   *path;
	long		status;
	long long	n;

	if ((path = es_index_path(&v->call->es, v->index, "/_refresh")) == NULL)
		return false;
	status = escall(v->call, "POST", path, "", 0, &resp);
	free(path);
	if (status == 404)
		return true;
	if (status != 200)
	{
		log_error("could not refresh index \"%s\": HTTP %ld", v->index, status);
		return false;
	}
	if ((path = es_index_path(&v->call->es, v->index, "/_count")) == NULL)
		return false;
	if (v->soft)
		status = escall(v->call, "POST", path, "{" VERIFY_LIVE_QUERY "}",
						sizeof("{" VERIFY_LIVE_QUERY "}") - 1, &resp);
	else
		status = escall(v->call, "GET", path, NULL, 0, &resp);
	free(path);
	if (status != 200 || (n = json_count(resp)) < 0)
	{
		log_error("could not count the documents of index \"%s\": HTTP %ld", v->index, status);
		return false;
	}
	v->index_exists = true;
	v->docs = (uint64_t) n;
	return true;
}

/*
 * doc_fields: found, _version (0 if absent) and the _source span of one
 * _mget "docs" element.
 */
static bool
doc_fields(const char *doc, size_t len, bool *found, Lsn *version, const char **source,
		   size_t *srclen)
{
	const char *p = jsoncmp_enter(doc, doc + len, '{');
	JsonMember	m;
	int			r;

	*found = false;
	*version = 0;
	*source = NULL;
	if (p == NULL)
		return false;
	while ((r = jsoncmp_next_member(&p, doc + len, &m)) == 1)
	{
		if (m.keylen == 5 && memcmp(m.key, "found", 5) == 0)
			*found = m.valuelen == 4 && memcmp(m.value, "true", 4) == 0;
		else if (m.keylen == 8 && memcmp(m.key, "_version", 8) == 0)
			*version = strtoull(m.value, NULL, 10);
		else if (m.keylen == 7 && memcmp(m.key, "_source", 7) == 0)
		{
			*source = m.value;
			*srclen = m.valuelen;
		}
	}
	return r == 0;
}

/*
 * queue_write: append one complete bulk item (action line and, but for a
 * delete, document line) to the repair's writes; done is what it counts
 * to once stored. The caller sends them (send_writes) when no answer it
 * still reads would be overwritten.
 */
static bool
queue_write(Verify *v, const char *item, size_t len, uint64_t *done)
{
	if (v->nitems == VERIFY_BATCH)
	{
		log_error("internal error: too many repair writes in one batch");
		return false;
	}
	v->item_counts[v->nitems++] = done;
	return buf_append(&v->items, item, len);
}

/*
 * count_write: one item of a repair's _bulk answer: stored (a delete: or
 * gone already) counts to done; 409 says a newer change is stored
 * (superseded); anything else is refused, the first few logged.
 */
static void
count_write(Verify *v, json_t *item, uint64_t *done)
{
	void	   *it = json_object_iter(item);
	const char *action = it ? json_object_iter_key(it) : "";
	json_t	   *result = it ? json_object_iter_value(it) : NULL;
	json_int_t	status = json_integer_value(json_object_get(result, "status"));
	json_t	   *error = json_object_get(result, "error");
	const char *id = json_string_value(json_object_get(result, "_id"));
	const char *type = json_string_value(json_object_get(error, "type"));
	const char *reason = json_string_value(json_object_get(error, "reason"));

	if (status == 200 || status == 201 || (status == 404 && strcmp(action, "delete") == 0))
		(*done)++;
	else if (status == 409)
		v->repairs.superseded++;
	else if (v->repairs.refused++ < VERIFY_SHOW)
		log_error("index \"%s\" refused the repair of _id %s: HTTP %lld (%s: %s)", v->index,
				  id ? id : "?", (long long) status,
				  type ? type : "no error type",
				  reason ? reason : "no reason given");
}

/*
 * send_writes: send the queued repair writes in one _bulk request and
 * count their outcomes; the queue is empty afterwards. Returns false
 * (logged) when the request failed or its answer is not understood.
 */
static bool
send_writes(Verify *v)
{
	static const char path[] = "/_bulk?filter_path=items.*.status,items.*._id,"
	"items.*.error.type,items.*.error.reason";
	const Buf  *resp;
	json_t	   *root;
	json_t	   *items;
	long		status;
	int			i;
	bool		good;

	if (v->nitems == 0)
		return true;
	status = escall(v->call, "POST", path, v->items.data, v->items.len, &resp);
	if (status != 200)
		log_error("could not repair index \"%s\": _bulk answered HTTP %ld", v->index, status);
	root = status == 200 ? json_loadb(resp->data, resp->len, 0, NULL) : NULL;
	items = json_object_get(root, "items");
	good = json_is_array(items) && json_array_size(items) == (size_t) v->nitems;
	if (status == 200 && !good)
		log_error("unexpected _bulk answer repairing index \"%s\"", v->index);
	for (i = 0; good && i < v->nitems; i++)
		count_write(v, json_array_get(items, i), v->item_counts[i]);
	json_decref(root);
	buf_reset(&v->items);
	v->nitems = 0;
	return good;
}

/*
 * judge_row: the verdict on one keyed row of a batch (columns: _id,
 * document, and under --repair its bulk item) given its document's
 * _source in the index (NULL: not found): missing, different, or equal
 * (counted found); under --repair what is not equal is queued.
 */
static bool
judge_row(Verify *v, const PGresult *rows, int row, const char *src, size_t srclen)
{
	const char *want = PQgetvalue(rows, row, 1);
	size_t		wantlen = (size_t) PQgetlength(rows, row, 1);
	IdList	   *list = &v->different;
	uint64_t   *sent = &v->repairs.different_sent;

	if (src == NULL)
	{
		list = &v->missing;
		sent = &v->repairs.missing_sent;
	}
	else if (!v->soft || !jsoncmp_member_true(src, srclen, "__deleted"))
	{
		v->found++;
		if ((srclen == wantlen && memcmp(src, want, wantlen) == 0) ||
			jsoncmp_equal_except(src, srclen, want, wantlen, v->skip))
			return true;
	}
	note_id(list, PQgetvalue(rows, row, 0), (size_t) PQgetlength(rows, row, 0));
	return !v->repair ||
		queue_write(v, PQgetvalue(rows, row, 2), (size_t) PQgetlength(rows, row, 2), sent);
}

/*
 * compare_batch: match the _mget answer (docs in request order) with the
 * batch's rows (judge_row).
 */
static bool
compare_batch(Verify *v, const PGresult *rows, const int *rowmap, int n, const Buf *resp)
{
	const char *end = resp->data + resp->len;
	const char *p = jsoncmp_enter(resp->data, end, '{');
	const char *docs = NULL;
	JsonMember	m;
	int			i;
	char		action[128];
	bool		good = true;

	while (p && jsoncmp_next_member(&p, end, &m) == 1)
		if (m.keylen == 4 && memcmp(m.key, "docs", 4) == 0)
			docs = jsoncmp_enter(m.value, m.value + m.valuelen, '[');
	for (i = 0; good && docs && i < n; i++)
	{
		const char *doc;
		size_t		len;
		const char *src;
		size_t		srclen = 0;
		bool		found;
		Lsn			version;

		if (jsoncmp_next_element(&docs, end, &doc, &len) != 1 ||
			!doc_fields(doc, len, &found, &version, &src, &srclen))
			break;
		/* a document refused to us is not a missing one */
		if (!found && es_forbidden_action(doc, len, action, sizeof(action)))
		{
			log_error("_mget on index \"%s\": pg2es's user may not run [%s]; grant it %s",
					  v->index, action, es_privilege_for(action));
			return false;
		}
		if (found && v->newer_than && version > v->newer_than)
			v->found++;			/* a change the snapshot does not see wrote it */
		else
			good = judge_row(v, rows, rowmap[i], found ? src : NULL, srclen);
	}
	if (good && i < n)
		log_error("unexpected _mget answer from index \"%s\"", v->index);
	return good && i == n;
}

/*
 * check_batch: look up the _ids of a fetched batch with _mget and compare;
 * under --repair, then send what differs.
 */
static bool
check_batch(Verify *v, const PGresult *rows)
{
	int			n = PQntuples(rows);
	int		   *rowmap = malloc(sizeof(int) * (size_t) (n + 1));
	int			nids = 0;
	int			i;
	bool		good = rowmap != NULL;
	const Buf  *resp;
	char	   *path = NULL;
	long		status;

	buf_reset(&v->body);
	good = good && buf_append_str(&v->body, "{\"ids\":[");
	for (i = 0; good && i < n; i++)
	{
		if (PQgetisnull(rows, i, 0))
		{
			v->unkeyed++;		/* no usable key value: never synced */
			continue;
		}
		v->rows++;
		rowmap[nids] = i;
		good = (nids++ == 0 || buf_append(&v->body, ",", 1)) &&
			buf_append_json_string(&v->body, PQgetvalue(rows, i, 0), (size_t) PQgetlength(rows, i, 0)) &&
			(v->index_exists || judge_row(v, rows, i, NULL, 0));
	}
	good = good && buf_append_str(&v->body, "]}");
	if (good && v->index_exists && nids > 0 &&
		(good = (path = es_index_path(&v->call->es, v->index, "/_mget")) != NULL))
	{
		status = escall(v->call, "POST", path, v->body.data, v->body.len, &resp);
		if (status != 200)
			log_error("_mget on index \"%s\" failed: HTTP %ld", v->index, status);
		good = status == 200 && compare_batch(v, rows, rowmap, nids, resp);
	}
	free(path);
	free(rowmap);
	return good && send_writes(v);
}

/*
 * check_keyless: set v->keyless when the table has no primary key and no
 * replica identity index, and no id-columns option is given: the decoder
 * then has no key for it (decoder/relcache.c, build_keys) and skips its
 * rows. With id-columns the rows' _ids tell (v->unkeyed).
 */
static bool
check_keyless(Verify *v, const Config *cfg)
{
	char		sql[320];
	PGresult   *res;
	size_t		i;

	for (i = 0; i < cfg->nopts; i++)
		if (strcmp(cfg->opt_names[i], "id-columns") == 0)
			return true;
	snprintf(sql, sizeof(sql), "SELECT NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid"
			 " WHERE i.indrelid = %u AND (i.indisprimary OR (i.indisreplident AND c.relreplident = 'i')))",
			 v->table->relid);
	res = PQexec(v->conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
	{
		log_error("could not read the keys of table %s: %s", v->table->name, PQerrorMessage(v->conn));
		PQclear(res);
		return false;
	}
	v->keyless = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return true;
}

/*
 * walk_table: the cursor over the table's _ids and documents (and under
 * --repair their bulk items at the snapshot's version), batch by batch
 * (binary results: the documents arrive as raw bytes).
 */
static bool
walk_table(Verify *v)
{
	Buf			sql;
	PGresult   *res;
	bool		good;
	bool		more = true;

	buf_init(&sql);
	good = buf_printf(&sql, "DECLARE pg2es_verify NO SCROLL CURSOR FOR SELECT"
					  " pg2es.doc_id(%u::regclass, r.*, %s), pg2es.doc_source(%u::regclass, r.*, %s)",
					  v->table->relid, v->optlit, v->table->relid, v->optlit) &&
		(!v->repair ||
		 buf_printf(&sql, ", pg2es.bulk_item(%u::regclass, r.*, %llu, %s)", v->table->relid,
					(unsigned long long) v->version, v->optlit)) &&
		buf_printf(&sql, " FROM %s%s r", v->table->partitioned ? "" : "ONLY ", v->table->name) &&
		(v->pub.row_filter == NULL || buf_printf(&sql, " WHERE %s", v->pub.row_filter)) &&
		catalog_exec(v->conn, sql.data, PGRES_COMMAND_OK);
	buf_free(&sql);
	while (good && more)
	{
		res = PQexecParams(v->conn, "FETCH " VERIFY_BATCH_TEXT " FROM pg2es_verify",
						   0, NULL, NULL, NULL, NULL, 1);
		good = PQresultStatus(res) == PGRES_TUPLES_OK;
		if (!good)
			log_error("could not read table %s: %s", v->table->name, PQerrorMessage(v->conn));
		more = good && PQntuples(res) == VERIFY_BATCH;
		good = good && check_batch(v, res);
		PQclear(res);
	}
	return good && catalog_exec(v->conn, "CLOSE pg2es_verify", PGRES_COMMAND_OK);
}

/*
 * copy_ids: append the _ids of a search answer's hits to the temporary
 * table (COPY text format: backslash, tab and line breaks escaped); *n
 * gets how many there were and *scroll_id the scroll to continue
 * (malloc'd).
 */
static bool
copy_ids(Verify *v, const Buf *resp, size_t *n, char **scroll_id)
{
	json_t	   *root = json_loadb(resp->data, resp->len, 0, NULL);
	json_t	   *hits = json_object_get(json_object_get(root, "hits"), "hits");
	json_t	   *sid = json_object_get(root, "_scroll_id");
	size_t		i;
	bool		good = json_is_array(hits) && json_is_string(sid);

	buf_reset(&v->body);
	for (i = 0; good && i < json_array_size(hits); i++)
	{
		const char *id = json_string_value(json_object_get(json_array_get(hits, i), "_id"));

		for (; good && id && *id; id++)
			good = *id == '\\' ? buf_append_str(&v->body, "\\\\")
				: *id == '\t' ? buf_append_str(&v->body, "\\t")
				: *id == '\n' ? buf_append_str(&v->body, "\\n")
				: *id == '\r' ? buf_append_str(&v->body, "\\r")
				: buf_append(&v->body, id, 1);
		good = good && buf_append(&v->body, "\n", 1);
	}
	*n = good ? json_array_size(hits) : 0;
	free(*scroll_id);
	*scroll_id = good ? strdup(json_string_value(sid)) : NULL;
	json_decref(root);
	if (!good || *scroll_id == NULL)
	{
		log_error("unexpected scroll answer from index \"%s\"", v->index);
		return false;
	}
	if (*n > 0 && PQputCopyData(v->conn, v->body.data, (int) v->body.len) != 1)
	{
		log_error("could not store _ids: %s", PQerrorMessage(v->conn));
		return false;
	}
	return true;
}

/*
 * clear_scroll: free the scroll context on the cluster (best effort: it
 * expires after a minute anyway).
 */
static void
clear_scroll(Verify *v, const char *scroll_id)
{
	const Buf  *resp;

	buf_reset(&v->body);
	if (buf_append_str(&v->body, "{\"scroll_id\":") &&
		buf_append_json_string(&v->body, scroll_id, strlen(scroll_id)) &&
		buf_append_str(&v->body, "}"))
		(void) escall(v->call, "DELETE", "/_search/scroll", v->body.data, v->body.len, &resp);
}

/*
 * end_copy_in: finish the COPY FROM STDIN (aborting it when !good) and
 * read its result.
 */
static bool
end_copy_in(Verify *v, bool good)
{
	PGresult   *res;

	if (PQputCopyEnd(v->conn, good ? NULL : "reading the _ids failed") != 1)
		good = false;
	while ((res = PQgetResult(v->conn)) != NULL)
	{
		if (good && PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			log_error("could not store _ids: %s", PQresultErrorMessage(res));
			good = false;
		}
		PQclear(res);
	}
	return good;
}

/*
 * scroll_ids: every _id of the index (soft mode: of the documents not
 * marked deleted) into the temporary table pg2es_verify_ids, 1000 at a
 * time.
 */
static bool
scroll_ids(Verify *v)
{
	static const char all[] = "{\"size\":1000,\"sort\":[\"_doc\"],\"_source\":false}";
	static const char live[] = "{\"size\":1000,\"sort\":[\"_doc\"],\"_source\":false,"
	VERIFY_LIVE_QUERY "}";
	const char *first = v->soft ? live : all;
	char	   *path = es_index_path(&v->call->es, v->index, "/_search?scroll=1m");
	char	   *scroll_id = NULL;
	const Buf  *resp;
	size_t		n = 0;
	bool		good;

	if (path == NULL || !catalog_exec(v->conn, "COPY pg2es_verify_ids FROM STDIN", PGRES_COPY_IN))
	{
		free(path);
		return false;
	}
	good = escall(v->call, "POST", path, first, strlen(first), &resp) == 200 &&
		copy_ids(v, resp, &n, &scroll_id);
	while (good && n > 0)
	{
		buf_reset(&v->body);
		good = buf_append_str(&v->body, "{\"scroll\":\"1m\",\"scroll_id\":") &&
			buf_append_json_string(&v->body, scroll_id, strlen(scroll_id)) &&
			buf_append_str(&v->body, "}") &&
			escall(v->call, "POST", "/_search/scroll", v->body.data, v->body.len, &resp) == 200 &&
			copy_ids(v, resp, &n, &scroll_id);
	}
	if (scroll_id)
		clear_scroll(v, scroll_id);
	if (!good)
		log_error("could not list the _ids of index \"%s\"", v->index);
	free(scroll_id);
	free(path);
	return end_copy_in(v, good);
}

/*
 * collect_ids: the index's _ids into the temporary table pg2es_verify_ids
 * (gone at the end of the transaction).
 */
static bool
collect_ids(Verify *v)
{
	return catalog_exec(v->conn, "CREATE TEMPORARY TABLE pg2es_verify_ids (id text) ON COMMIT DROP",
						PGRES_COMMAND_OK) && scroll_ids(v);
}

/*
 * extras_query: into sql, the query of the collected _ids that no row has
 * (no row the publications' row filter accepts).
 */
static bool
extras_query(const Verify *v, Buf *sql)
{
	return buf_printf(sql, "SELECT id FROM pg2es_verify_ids EXCEPT SELECT pg2es.doc_id(%u::regclass,"
					  " r.*, %s) FROM %s%s r WHERE %s", v->table->relid, v->optlit,
					  v->table->partitioned ? "" : "ONLY ", v->table->name,
					  v->pub.row_filter ? v->pub.row_filter : "true");
}

/*
 * name_extras: the collected _ids that no row has (count and first few).
 */
static bool
name_extras(Verify *v)
{
	Buf			sql;
	PGresult   *res = NULL;
	int			i;
	bool		good;

	buf_init(&sql);
	good = buf_append_str(&sql, "SELECT id, count(*) OVER () FROM (") && extras_query(v, &sql) &&
		buf_append_str(&sql, ") x ORDER BY id LIMIT " VERIFY_SHOW_TEXT);
	if (good)
	{
		res = PQexec(v->conn, sql.data);
		good = PQresultStatus(res) == PGRES_TUPLES_OK;
		if (!good)
			log_error("could not name the extra documents: %s", PQerrorMessage(v->conn));
	}
	for (i = 0; good && i < PQntuples(res); i++)
	{
		v->extra.first[i] = strdup(PQgetvalue(res, i, 0));
		v->extra.count = strtoull(PQgetvalue(res, i, 1), NULL, 10);
	}
	PQclear(res);
	buf_free(&sql);
	return good;
}

/*
 * write_header: into out, the action line of a repair write of _id id in
 * the index at the repair's version (external_gte).
 */
static bool
write_header(const Verify *v, Buf *out, const char *action, const char *id)
{
	json_t	   *item = json_pack("{s:{s:s,s:s,s:I,s:s}}", action, "_index", v->index, "_id", id,
								 "version", (json_int_t) v->version, "version_type", "external_gte");
	char	   *line = item ? json_dumps(item, JSON_COMPACT) : NULL;
	bool		good = line && buf_append_str(out, line) && buf_append(out, "\n", 1);

	free(line);
	json_decref(item);
	return good;
}

/*
 * soft_delete_doc: queue one _mget answer's document doc[0..len) again,
 * with "__deleted": true (soft mode's delete), its _source spliced as text
 * so that numbers keep their digits; one not found is gone already.
 */
static bool
soft_delete_doc(Verify *v, const char *doc, size_t len, Buf *item)
{
	JsonMember	id;
	JsonMember	src;
	json_t	   *id_json = NULL;
	bool		good;

	if (!jsoncmp_find_member(doc, len, "_source", &src) || src.value[0] != '{')
	{
		v->repairs.extra_deleted++;
		return true;
	}
	/* (json_is_string evaluates its argument twice: load first) */
	if (jsoncmp_find_member(doc, len, "_id", &id))
		id_json = json_loadb(id.value, id.valuelen, JSON_DECODE_ANY, NULL);
	if (!json_is_string(id_json))
	{
		json_decref(id_json);
		return false;
	}
	buf_reset(item);
	good = write_header(v, item, "index", json_string_value(id_json)) &&
		jsoncmp_append_with(item, src.value, src.valuelen, "\"__deleted\":true") &&
		buf_append(item, "\n", 1) &&
		queue_write(v, item->data, item->len, &v->repairs.extra_deleted);
	json_decref(id_json);
	return good;
}

/*
 * soft_delete_docs: the _mget answer resp for a page of extra _ids: each
 * document queued again as deleted (soft_delete_doc).
 */
static bool
soft_delete_docs(Verify *v, const Buf *resp)
{
	const char *end = resp->data + resp->len;
	JsonMember	docs;
	const char *p = NULL;
	const char *doc;
	size_t		len;
	Buf			item;
	int			r = -1;
	bool		good = true;

	buf_init(&item);
	if (jsoncmp_find_member(resp->data, resp->len, "docs", &docs))
		p = jsoncmp_enter(docs.value, docs.value + docs.valuelen, '[');
	while (good && p && (r = jsoncmp_next_element(&p, end, &doc, &len)) == 1)
		good = soft_delete_doc(v, doc, len, &item);
	buf_free(&item);
	if (!good || r != 0)
		log_error("unexpected _mget answer from index \"%s\"", v->index);
	return good && r == 0;
}

/*
 * remove_extra_page: queue the removal of a page of extra _ids (column 0
 * of page) and send it: versioned deletes, or in soft mode the documents
 * rewritten as deleted.
 */
static bool
remove_extra_page(Verify *v, const PGresult *page)
{
	char	   *path = NULL;
	const Buf  *resp;
	Buf			line;
	int			i;
	bool		good = true;

	buf_init(&line);
	buf_reset(&v->body);
	if (v->soft)
		good = buf_append_str(&v->body, "{\"ids\":[");
	for (i = 0; good && i < PQntuples(page); i++)
	{
		const char *id = PQgetvalue(page, i, 0);

		buf_reset(&line);
		good = v->soft
			? (i == 0 || buf_append(&v->body, ",", 1)) && buf_append_json_string(&v->body, id, strlen(id))
			: write_header(v, &line, "delete", id) &&
			queue_write(v, line.data, line.len, &v->repairs.extra_deleted);
	}
	if (good && v->soft && PQntuples(page) > 0)
	{
		good = buf_append_str(&v->body, "]}") &&
			(path = es_index_path(&v->call->es, v->index, "/_mget")) != NULL &&
			escall(v->call, "POST", path, v->body.data, v->body.len, &resp) == 200 &&
			soft_delete_docs(v, resp);
		if (!good)
			log_error("could not read the extra documents of index \"%s\"", v->index);
	}
	free(path);
	buf_free(&line);
	return good && send_writes(v);
}

/*
 * remove_extras: remove every collected _id that no row has, a page at a
 * time (remove_extra_page), at the repair's version.
 */
static bool
remove_extras(Verify *v)
{
	Buf			sql;
	PGresult   *res;
	bool		more = true;
	bool		good;

	buf_init(&sql);
	good = buf_append_str(&sql, "DECLARE pg2es_verify_extras NO SCROLL CURSOR FOR ") &&
		extras_query(v, &sql) && catalog_exec(v->conn, sql.data, PGRES_COMMAND_OK);
	buf_free(&sql);
	while (good && more)
	{
		res = PQexec(v->conn, "FETCH " VERIFY_BATCH_TEXT " FROM pg2es_verify_extras");
		good = PQresultStatus(res) == PGRES_TUPLES_OK;
		if (!good)
			log_error("could not read the extra _ids: %s", PQerrorMessage(v->conn));
		more = good && PQntuples(res) == VERIFY_BATCH;
		good = good && remove_extra_page(v, res);
		PQclear(res);
	}
	return good && catalog_exec(v->conn, "CLOSE pg2es_verify_extras", PGRES_COMMAND_OK);
}

/*
 * print_ids: one line naming the first _ids of a list.
 */
static void
print_ids(const char *what, const IdList *list)
{
	uint64_t	i;

	if (list->count == 0)
		return;
	printf("  %s _ids (%s%llu):", what, list->count > VERIFY_SHOW ? "first " VERIFY_SHOW_TEXT " of " : "",
		   (unsigned long long) list->count);
	for (i = 0; i < list->count && i < VERIFY_SHOW; i++)
		printf(" %s", list->first[i] ? list->first[i] : "?");
	printf("\n");
}

/*
 * print_report: the table's verdict on stdout.
 */
static void
print_report(const Verify *v)
{
	uint64_t	extra = v->extra.count;

	if (v->keyless)
	{
		printf("%s -> index \"%s\": no usable key (no primary key, replica identity index or"
			   " id-columns): its rows are never synced; %llu documents%s\n",
			   v->table->name, v->index, (unsigned long long) v->docs,
			   v->index_exists ? "" : " (no such index)");
		fflush(stdout);
		return;
	}
	printf("%s -> index \"%s\": %llu rows, %llu documents%s: ", v->table->name, v->index,
		   (unsigned long long) v->rows, (unsigned long long) v->docs,
		   v->index_exists ? "" : " (no such index)");
	if (v->missing.count == 0 && v->different.count == 0 && extra == 0 && v->unkeyed == 0)
		printf("equal\n");
	else
		printf("%llu missing, %llu different, %llu extra\n",
			   (unsigned long long) v->missing.count, (unsigned long long) v->different.count,
			   (unsigned long long) extra);
	if (v->unkeyed > 0)
		printf("  %llu rows without a key value (a NULL key column): never synced\n",
			   (unsigned long long) v->unkeyed);
	print_ids("missing", &v->missing);
	print_ids("different", &v->different);
	print_ids("extra", &v->extra);
	if (extra > 0 && !v->pub.deletes)
		printf("  the extra documents are kept on purpose: no publication of this table publishes"
			   " delete, so deleted rows keep their documents\n");
	fflush(stdout);
}

/*
 * print_repairs: what the repair of the table did, on stdout.
 */
static void
print_repairs(const Verify *v)
{
	const VerifyRepairs *r = &v->repairs;

	printf("  repaired at version %llu: %llu missing sent, %llu different sent, %llu extra %s,"
		   " %llu superseded (a newer change was stored)", (unsigned long long) v->version,
		   (unsigned long long) r->missing_sent, (unsigned long long) r->different_sent,
		   (unsigned long long) r->extra_deleted, v->soft ? "marked deleted" : "deleted",
		   (unsigned long long) r->superseded);
	if (r->refused > 0)
		printf(", %llu refused", (unsigned long long) r->refused);
	printf("\n");
	fflush(stdout);
}

/*
 * begin_snapshot: the table's transaction: a repeatable-read one, whose
 * snapshot under --repair is a temporary slot's (v->version its
 * consistent point).
 */
static bool
begin_snapshot(Verify *v, const Config *cfg)
{
	PGconn	   *repl = NULL;
	char		snapshot[LOAD_SNAPSHOT_NAME_SIZE];
	char		set[LOAD_SNAPSHOT_NAME_SIZE + 32];
	bool		good;

	if (!v->repair)
		return catalog_exec(v->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ", PGRES_COMMAND_OK);
	good = load_export_snapshot(cfg, &repl, snapshot, &v->version) &&
		catalog_exec(v->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ", PGRES_COMMAND_OK);
	snprintf(set, sizeof(set), "SET TRANSACTION SNAPSHOT '%s'", snapshot);
	good = good && catalog_exec(v->conn, set, PGRES_COMMAND_OK);
	/* the snapshot is imported (or not to be): the slot may go */
	PQfinish(repl);
	return good;
}

/*
 * verify_table: compare one table with its index inside one snapshot;
 * under --repair, send what differs (see the top of this file). Returns
 * 0 equal, 1 different (or a table without a usable key), 2 error.
 */
static int
verify_table(Verify *v, const Config *cfg)
{
	bool		good;

	good = begin_snapshot(v, cfg) && check_keyless(v, cfg) &&
		catalog_published(v->conn, cfg, v->table->relid, &v->pub) && read_index_count(v) &&
		(v->keyless || walk_table(v));
	/* documents found fewer than counted: some have no row */
	if (good && !v->keyless && v->index_exists && v->docs > v->found)
	{
		good = collect_ids(v) && name_extras(v) &&
			(!v->repair || !v->pub.deletes || remove_extras(v));
		if (good && v->extra.count == 0)
			v->extra.count = v->docs - v->found;	/* seen by _count only */
	}
	if (good)
		good = catalog_exec(v->conn, "COMMIT", PGRES_COMMAND_OK);
	else
		PQclear(PQexec(v->conn, "ROLLBACK"));
	if (!good)
	{
		log_error("could not verify table %s", v->table->name);
		return 2;
	}
	print_report(v);
	return v->keyless || v->unkeyed || v->missing.count || v->different.count ||
		(v->extra.count && v->pub.deletes) ? 1 : 0;
}

/*
 * list_has: whether the comma list (as the decoder's option parser reads
 * it: no spaces) holds item.
 */
static bool
list_has(const char *list, const char *item)
{
	size_t		len = strlen(item);
	const char *p = list;

	for (;;)
	{
		size_t		n = strcspn(p, ",");

		if (n == len && strncmp(p, item, len) == 0)
			return true;
		if (p[n] == '\0')
			return false;
		p += n + 1;
	}
}

/*
 * change_fields: into skip (VERIFY_MAX_SKIP + 1 entries), the document
 * members the -o add-fields options add that depend on the change which
 * wrote a document rather than on its row, NULL-terminated.
 */
static void
change_fields(const Config *cfg, const char **skip)
{
	static const struct
	{
		const char *field;		/* an add-fields value */
		const char *member;		/* the member it adds */
	}			changing[VERIFY_MAX_SKIP] = {
		{"lsn", "__lsn"}, {"commit-time", "__ts_ms"}, {"op", "__op"}
	};
	size_t		n = 0;
	size_t		i;
	int			k;

	for (k = 0; k < VERIFY_MAX_SKIP; k++)
		for (i = 0; i < cfg->nopts; i++)
			if (strcmp(cfg->opt_names[i], "add-fields") == 0 && cfg->opt_values[i] != NULL &&
				list_has(cfg->opt_values[i], changing[k].field))
			{
				skip[n++] = changing[k].member;
				break;
			}
	skip[n] = NULL;
}

/*
 * unmatched_patterns: how many of the verify arguments match no covered
 * table (each named in the log), or -1 on failure (logged). Without
 * arguments, whether the options cover no table at all.
 */
static int
unmatched_patterns(PGconn *conn, const Config *cfg, const CatalogTables *all)
{
	CatalogTables one;
	size_t		i;
	int			n = 0;

	if (cfg->nverify_tables == 0 && all->n == 0)
		log_error("no table to verify: the plugin options cover no table with rows to sync");
	if (cfg->nverify_tables == 0)
		return all->n == 0 ? 1 : 0;
	for (i = 0; i < cfg->nverify_tables; i++)
	{
		if (!catalog_tables(conn, cfg, (const char *const *) &cfg->verify_tables[i], 1, &one))
			return -1;
		if (one.n == 0)
		{
			log_error("table pattern \"%s\" matches no table the plugin options cover", cfg->verify_tables[i]);
			n++;
		}
		catalog_tables_free(&one);
	}
	return n;
}

/*
 * verify_init: a comparison of table with its index, on conn and call
 * (borrowed, as optlit and skip are).
 */
static void
verify_init(Verify *v, PGconn *conn, EsCall *call, const Config *cfg, const char *optlit,
			const char *const *skip, const CatalogTable *table)
{
	memset(v, 0, sizeof(*v));
	v->conn = conn;
	v->call = call;
	v->optlit = optlit;
	v->skip = skip;
	v->table = table;
	v->index = table->index;
	v->soft = cfg_soft_deletes(cfg);
	buf_init(&v->body);
	buf_init(&v->items);
}

/*
 * verify_free: release what a comparison holds.
 */
static void
verify_free(Verify *v)
{
	free_ids(&v->missing);
	free_ids(&v->different);
	free_ids(&v->extra);
	free(v->pub.row_filter);
	buf_free(&v->body);
	buf_free(&v->items);
}

/*
 * check_table: verify one table; under --repair, when it differs, repair
 * it and verify it again: that second verdict is the result. Returns the
 * exit status for the table.
 */
static int
check_table(PGconn *conn, EsCall *call, const Config *cfg, const char *optlit,
			const char *const *skip, const CatalogTable *table)
{
	Verify		v;
	const VerifyRepairs *r = &v.repairs;
	int			status;
	bool		wrote;

	verify_init(&v, conn, call, cfg, optlit, skip, table);
	v.repair = cfg->repair;
	status = verify_table(&v, cfg);
	wrote = r->missing_sent + r->different_sent + r->extra_deleted + r->superseded + r->refused > 0;
	if (v.repair && status == 1)
		print_repairs(&v);
	verify_free(&v);
	if (status != 1 || !wrote || *call->stop)
		return status;
	verify_init(&v, conn, call, cfg, optlit, skip, table);
	status = verify_table(&v, cfg);
	verify_free(&v);
	return status;
}

/*
 * verify_run: pg2es verify (see the top of this file). Returns the exit
 * status.
 */
int
verify_run(const Config *cfg, volatile sig_atomic_t *stop)
{
	PGconn	   *conn = catalog_connect(cfg);
	CatalogTables tables;
	EsCall		call;
	char	   *optlit = NULL;
	const char *skip[VERIFY_MAX_SKIP + 1];
	size_t		i;
	int			worst = 0;
	int			nequal = 0;
	bool		ready;

	if (conn == NULL || !catalog_has_extension(conn, "verify", LOG_LEVEL_ERROR) ||
		(optlit = catalog_options_literal(conn, cfg)) == NULL ||
		!catalog_tables(conn, cfg, (const char *const *) cfg->verify_tables,
						cfg->nverify_tables, &tables))
	{
		free(optlit);
		PQfinish(conn);
		return 2;
	}
	/* a typo in a pattern must not pass the check */
	if (unmatched_patterns(conn, cfg, &tables) != 0)
		worst = 2;
	change_fields(cfg, skip);
	if (escall_init(&call, cfg, stop))
	{
		call.max_attempts = VERIFY_ATTEMPTS;
		/* a repair writes into indexes with their derived mappings */
		ready = !cfg->repair || mapping_ensure_indexes(conn, cfg, &call, &tables, NULL);
		if (!ready)
			worst = 2;
		/* not worst < 2: a bad pattern must not keep the others unverified */
		for (i = 0; i < tables.n && !*stop && ready; i++)
		{
			int			status = check_table(conn, &call, cfg, optlit, skip, &tables.items[i]);

			nequal += status == 0;
			worst = status > worst ? status : worst;
		}
	}
	else
		worst = 2;
	escall_free(&call);
	if (*stop)
		worst = 2;
	printf("%d of %zu table(s) equal to their index\n", nequal, tables.n);
	catalog_tables_free(&tables);
	free(optlit);
	PQfinish(conn);
	return worst;
}

/*
 * verify_delete_extras: remove from index the documents of no row of
 * table, at version (see verify.h).
 */
bool
verify_delete_extras(PGconn *conn, EsCall *call, const Config *cfg, const CatalogTable *table,
					 const char *index, Lsn version, VerifyRepairs *repairs)
{
	Verify		v;
	char	   *optlit;
	bool		good;

	if (cfg_versioning_off(cfg))
	{
		log_error("the documents of deleted rows of table %s cannot be removed safely with"
				  " versioning=off: a delete could remove a newer row's document", table->name);
		return false;
	}
	if ((optlit = catalog_options_literal(conn, cfg)) == NULL)
		return false;
	verify_init(&v, conn, call, cfg, optlit, NULL, table);
	v.index = index;
	v.repair = true;
	v.version = version;
	good = catalog_published(conn, cfg, table->relid, &v.pub) && collect_ids(&v) &&
		(!v.pub.deletes || remove_extras(&v)) &&
		catalog_exec(conn, "DROP TABLE pg2es_verify_ids", PGRES_COMMAND_OK);
	repairs->extra_deleted += v.repairs.extra_deleted;
	repairs->superseded += v.repairs.superseded;
	repairs->refused += v.repairs.refused;
	if (!good)
		log_error("could not remove the documents of deleted rows from index \"%s\"", index);
	verify_free(&v);
	free(optlit);
	return good;
}

/*
 * verify_index: compare table with index (see verify.h).
 */
int
verify_index(PGconn *conn, EsCall *call, const Config *cfg, const char *optlit,
			 const CatalogTable *table, const char *index, Lsn newer_than, VerifyCounts *out)
{
	const char *skip[VERIFY_MAX_SKIP + 1];
	Verify		v;
	bool		good;

	change_fields(cfg, skip);
	verify_init(&v, conn, call, cfg, optlit, skip, table);
	v.index = index;
	v.newer_than = newer_than;
	good = check_keyless(&v, cfg) && read_index_count(&v) && (v.keyless || walk_table(&v));
	/* documents found fewer than counted: some have no row */
	if (good && !v.keyless && v.index_exists && v.docs > v.found)
	{
		good = collect_ids(&v) && name_extras(&v) &&
			catalog_exec(conn, "DROP TABLE pg2es_verify_ids", PGRES_COMMAND_OK);
		if (good && v.extra.count == 0)
			v.extra.count = v.docs - v.found;	/* seen by _count only */
	}
	out->rows = v.rows;
	out->missing = v.missing.count + v.unkeyed + (v.keyless ? 1 : 0);
	out->different = v.different.count;
	out->extra = v.extra.count;
	if (good && (out->missing || out->different || out->extra))
		log_info("index \"%s\" and table %s: %llu missing (first %s), %llu different (first %s),"
				 " %llu extra (first %s)", index, table->name, (unsigned long long) out->missing,
				 v.missing.count ? v.missing.first[0] : "-", (unsigned long long) out->different,
				 v.different.count ? v.different.first[0] : "-", (unsigned long long) out->extra,
				 v.extra.count && v.extra.first[0] ? v.extra.first[0] : "-");
	verify_free(&v);
	return good ? (out->missing || out->different || out->extra ? 1 : 0) : 2;
}
