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
 * A table that has no usable key (its rows are never synced), or rows
 * without a key value, is not equal to its index, whatever the counts say.
 * A table pattern that matches no covered table is an error, so that a typo
 * does not pass the check.
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
#include "log.h"

#define VERIFY_BATCH 1000
#define VERIFY_BATCH_TEXT "1000"
#define VERIFY_ATTEMPTS 5		/* per request, on no answer, 429 or 5xx */
#define VERIFY_SHOW 10			/* _ids named per kind of difference */
#define VERIFY_SHOW_TEXT "10"			/* VERIFY_SHOW as text */
#define VERIFY_MAX_SKIP 3		/* __lsn, __ts_ms, __op */

static void change_fields(const Config *cfg, const char **skip);

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
	char	   *index_path;		/* "/<escaped index>", owned */
	bool		index_exists;
	bool		keyless;		/* no primary key, identity index, id-columns */
	uint64_t	rows;			/* rows with an _id */
	uint64_t	unkeyed;		/* rows without one: never synced */
	uint64_t	docs;			/* the index's _count */
	uint64_t	found;
	IdList		missing;
	IdList		different;
	IdList		extra;
	Lsn			newer_than;		/* documents of a higher version are newer
								 * than the snapshot: not compared; 0 = all */
	Buf			body;			/* request body scratch */
} Verify;

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
 * append_json_string: text[0..len) as a JSON string.
 */
static bool
append_json_string(Buf *out, const char *text, size_t len)
{
	size_t		i;
	bool		good = buf_append(out, "\"", 1);

	for (i = 0; good && i < len; i++)
	{
		unsigned char c = (unsigned char) text[i];

		if (c == '"' || c == '\\')
			good = buf_append(out, "\\", 1) && buf_append(out, &text[i], 1);
		else if (c < 0x20)
			good = buf_printf(out, "\\u%04x", c);
		else
			good = buf_append(out, &text[i], 1);
	}
	return good && buf_append(out, "\"", 1);
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
 * visible) and read its _count. A missing index counts zero documents.
 */
static bool
read_index_count(Verify *v)
{
	const Buf  *resp;
	char	   *path;
	long		status;
	long long	n;

	if ((path = es_index_path(&v->call->es, v->table->index, "/_refresh")) == NULL)
		return false;
	status = escall(v->call, "POST", path, "", 0, &resp);
	free(path);
	if (status == 404)
		return true;
	if (status != 200)
	{
		log_error("could not refresh index \"%s\": HTTP %ld", v->table->index, status);
		return false;
	}
	if ((path = es_index_path(&v->call->es, v->table->index, "/_count")) == NULL)
		return false;
	status = escall(v->call, "GET", path, NULL, 0, &resp);
	free(path);
	if (status != 200 || (n = json_count(resp)) < 0)
	{
		log_error("could not count the documents of index \"%s\": HTTP %ld", v->table->index, status);
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
 * compare_batch: match the _mget answer (docs in request order) with the
 * batch's rows: column 0 the _id, column 1 the document (binary).
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

	while (p && jsoncmp_next_member(&p, end, &m) == 1)
		if (m.keylen == 4 && memcmp(m.key, "docs", 4) == 0)
			docs = jsoncmp_enter(m.value, m.value + m.valuelen, '[');
	for (i = 0; docs && i < n; i++)
	{
		const char *doc;
		size_t		len;
		const char *src;
		size_t		srclen = 0;
		bool		found;
		Lsn			version;
		int			row = rowmap[i];
		const char *want = PQgetvalue(rows, row, 1);
		size_t		wantlen = (size_t) PQgetlength(rows, row, 1);

		if (jsoncmp_next_element(&docs, end, &doc, &len) != 1 ||
			!doc_fields(doc, len, &found, &version, &src, &srclen))
			break;
		/* a document refused to us is not a missing one */
		if (!found && es_forbidden_action(doc, len, action, sizeof(action)))
		{
			log_error("_mget on index \"%s\": pg2es's user may not run [%s]; grant it %s",
					  v->table->index, action, es_privilege_for(action));
			return false;
		}
		if (found && v->newer_than && version > v->newer_than)
			v->found++;			/* a later change wrote it */
		else if (!found || src == NULL)
			note_id(&v->missing, PQgetvalue(rows, row, 0), (size_t) PQgetlength(rows, row, 0));
		else
		{
			v->found++;
			if ((srclen != wantlen || memcmp(src, want, wantlen) != 0) &&
				!jsoncmp_equal_except(src, srclen, want, wantlen, v->skip))
				note_id(&v->different, PQgetvalue(rows, row, 0), (size_t) PQgetlength(rows, row, 0));
		}
	}
	if (i < n)
		log_error("unexpected _mget answer from index \"%s\"", v->table->index);
	return i == n;
}

/*
 * check_batch: look up the _ids of a fetched batch with _mget and compare.
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
			append_json_string(&v->body, PQgetvalue(rows, i, 0), (size_t) PQgetlength(rows, i, 0));
		if (good && !v->index_exists)
			note_id(&v->missing, PQgetvalue(rows, i, 0), (size_t) PQgetlength(rows, i, 0));
	}
	good = good && buf_append_str(&v->body, "]}");
	if (good && v->index_exists && nids > 0 &&
		(good = (path = es_index_path(&v->call->es, v->table->index, "/_mget")) != NULL))
	{
		status = escall(v->call, "POST", path, v->body.data, v->body.len, &resp);
		if (status != 200)
			log_error("_mget on index \"%s\" failed: HTTP %ld", v->table->index, status);
		good = status == 200 && compare_batch(v, rows, rowmap, nids, resp);
	}
	free(path);
	free(rowmap);
	return good;
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
 * walk_table: the cursor over the table's _ids and documents, batch by
 * batch (binary results: the documents arrive as raw bytes).
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
					  " pg2es.doc_id(%u::regclass, r.*, %s), pg2es.doc_source(%u::regclass, r.*, %s)"
					  " FROM %s%s r", v->table->relid, v->optlit, v->table->relid, v->optlit,
					  v->table->partitioned ? "" : "ONLY ", v->table->name) &&
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
		log_error("unexpected scroll answer from index \"%s\"", v->table->index);
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
		append_json_string(&v->body, scroll_id, strlen(scroll_id)) &&
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
 * scroll_ids: every _id of the index into the temporary table
 * pg2es_verify_ids, 1000 at a time.
 */
static bool
scroll_ids(Verify *v)
{
	static const char first[] = "{\"size\":1000,\"sort\":[\"_doc\"],\"_source\":false}";
	char	   *path = es_index_path(&v->call->es, v->table->index, "/_search?scroll=1m");
	char	   *scroll_id = NULL;
	const Buf  *resp;
	size_t		n = 0;
	bool		good;

	if (path == NULL || !catalog_exec(v->conn, "COPY pg2es_verify_ids FROM STDIN", PGRES_COPY_IN))
	{
		free(path);
		return false;
	}
	good = escall(v->call, "POST", path, first, sizeof(first) - 1, &resp) == 200 &&
		copy_ids(v, resp, &n, &scroll_id);
	while (good && n > 0)
	{
		buf_reset(&v->body);
		good = buf_append_str(&v->body, "{\"scroll\":\"1m\",\"scroll_id\":") &&
			append_json_string(&v->body, scroll_id, strlen(scroll_id)) &&
			buf_append_str(&v->body, "}") &&
			escall(v->call, "POST", "/_search/scroll", v->body.data, v->body.len, &resp) == 200 &&
			copy_ids(v, resp, &n, &scroll_id);
	}
	if (scroll_id)
		clear_scroll(v, scroll_id);
	if (!good)
		log_error("could not list the _ids of index \"%s\"", v->table->index);
	free(scroll_id);
	free(path);
	return end_copy_in(v, good);
}

/*
 * name_extras: the index's _ids that no row has (count and first few),
 * from the scrolled _ids anti-joined with the table's.
 */
static bool
name_extras(Verify *v)
{
	Buf			sql;
	PGresult   *res = NULL;
	int			i;
	bool		good;

	buf_init(&sql);
	good = catalog_exec(v->conn, "CREATE TEMPORARY TABLE pg2es_verify_ids (id text) ON COMMIT DROP",
						PGRES_COMMAND_OK) &&
		scroll_ids(v) &&
		buf_printf(&sql, "SELECT id, count(*) OVER () FROM (SELECT id FROM pg2es_verify_ids"
				   " EXCEPT SELECT pg2es.doc_id(%u::regclass, r.*, %s) FROM %s%s r) x"
				   " ORDER BY id LIMIT " VERIFY_SHOW_TEXT, v->table->relid, v->optlit,
				   v->table->partitioned ? "" : "ONLY ", v->table->name);
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
			   v->table->name, v->table->index, (unsigned long long) v->docs,
			   v->index_exists ? "" : " (no such index)");
		fflush(stdout);
		return;
	}
	printf("%s -> index \"%s\": %llu rows, %llu documents%s: ", v->table->name, v->table->index,
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
	fflush(stdout);
}

/*
 * compare_table: the comparison of one table with its index (the counts
 * in v), in the snapshot of the transaction open on v->conn.
 */
static bool
compare_table(Verify *v, const Config *cfg)
{
	bool		good = check_keyless(v, cfg) && read_index_count(v) && (v->keyless || walk_table(v));

	/* documents found fewer than counted: some have no row */
	if (good && !v->keyless && v->index_exists && v->docs > v->found)
	{
		good = name_extras(v);
		if (good && v->extra.count == 0)
			v->extra.count = v->docs - v->found;	/* seen by _count only */
	}
	return good;
}

/*
 * verify_table: compare one table with its index inside one snapshot.
 * Returns 0 equal, 1 different (or a table without a usable key), 2 error.
 */
static int
verify_table(Verify *v, const Config *cfg)
{
	bool		good;
	int			status;

	good = catalog_exec(v->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ", PGRES_COMMAND_OK) &&
		compare_table(v, cfg);
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
	status = v->keyless || v->unkeyed || v->missing.count || v->different.count ||
		v->extra.count ? 1 : 0;
	return status;
}

/*
 * verify_index: the check of an online copy (reindex.c): compare table
 * with index (not its own one) in the snapshot of the repeatable-read
 * transaction open on conn (left open), leaving out the documents of a
 * version above newer_than (written by changes the snapshot does not
 * see). Into *out the counts, the first differing _ids logged. Returns 0
 * equal, 1 different, 2 error (logged).
 */
int
verify_index(PGconn *conn, EsCall *call, const Config *cfg, const char *optlit,
			 const CatalogTable *table, const char *index, Lsn newer_than, VerifyCounts *out)
{
	CatalogTable t = *table;
	const char *skip[VERIFY_MAX_SKIP + 1];
	Verify		v;
	bool		good;

	memset(&v, 0, sizeof(v));
	t.index = (char *) index;
	change_fields(cfg, skip);
	v.conn = conn;
	v.call = call;
	v.optlit = optlit;
	v.skip = skip;
	v.table = &t;
	v.newer_than = newer_than;
	buf_init(&v.body);
	good = compare_table(&v, cfg);
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
	free_ids(&v.missing);
	free_ids(&v.different);
	free_ids(&v.extra);
	buf_free(&v.body);
	return good ? (out->missing || out->different || out->extra ? 1 : 0) : 2;
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
 * has_extension: whether the database has the pg2es extension, whose
 * functions verify runs; when not, or when the question fails, says so
 * (logged) and what to do.
 */
static bool
has_extension(PGconn *conn)
{
	PGresult   *res = PQexec(conn, "SELECT 1 FROM pg_extension WHERE extname = 'pg2es'");
	bool		found = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		log_error("could not look for the pg2es extension: %s", PQerrorMessage(conn));
	else if (!found)
		log_error("verify needs the pg2es extension in the database: run CREATE EXTENSION pg2es");
	PQclear(res);
	return found;
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

	if (conn == NULL || !has_extension(conn) ||
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
		for (i = 0; i < tables.n && !*stop; i++)
		{
			Verify		v;
			int			status;

			memset(&v, 0, sizeof(v));
			v.conn = conn;
			v.call = &call;
			v.optlit = optlit;
			v.skip = skip;
			v.table = &tables.items[i];
			buf_init(&v.body);
			status = verify_table(&v, cfg);
			nequal += status == 0;
			worst = status > worst ? status : worst;
			free_ids(&v.missing);
			free_ids(&v.different);
			free_ids(&v.extra);
			buf_free(&v.body);
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
