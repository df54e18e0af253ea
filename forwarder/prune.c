/*
 * prune.c
 *		Delete the documents a full reload did not write (see prune.h).
 */
#include "prune.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "escall.h"
#include "log.h"

/* One prune: the client, the version that marks what the load wrote. */
typedef struct Prune
{
	EsCall		call;
	const char *index;			/* the index being pruned (borrowed) */
	Lsn			version;		/* the load's version */
	Buf			body;			/* the page's deletes, NDJSON */
	uint64_t	deleted;
} Prune;

static bool prune_index(Prune *p, const char *index);
static bool take_page(Prune *p, const Buf *resp, size_t *n, char **scroll_id);
static bool append_delete(Prune *p, json_t *hit);
static bool send_deletes(Prune *p);
static void clear_scroll(Prune *p, const char *scroll_id);

/*
 * prune_older_documents: after the full load at version (see prune.h),
 * delete in every index of tables (once each) the documents with a lower
 * version. The metrics endpoint is served meanwhile. Returns false
 * (logged) when Elasticsearch refused or a stop signal came.
 */
bool
prune_older_documents(const Config *cfg, const CatalogTables *tables, Lsn version, Http *http,
					  const Metrics *metrics, volatile sig_atomic_t *stop)
{
	Prune		p;
	size_t		t;
	size_t		u;
	bool		good = true;

	if (cfg_versioning_off(cfg))
	{
		log_warning("versioning=off: documents of rows deleted while the slot was lost are not"
					" removed (run pg2es verify to find them)");
		return true;
	}
	memset(&p, 0, sizeof(p));
	if (!escall_init(&p.call, cfg, stop))
		return false;
	escall_serve(&p.call, http, metrics);
	buf_init(&p.body);
	p.version = version;
	for (t = 0; good && t < tables->n; t++)
	{
		for (u = 0; u < t; u++)
			if (strcmp(tables->items[u].index, tables->items[t].index) == 0)
				break;
		if (u == t)
			good = prune_index(&p, tables->items[t].index);
	}
	if (good)
		log_info("removed %llu document(s) of rows deleted while the slot was lost",
				 (unsigned long long) p.deleted);
	buf_free(&p.body);
	escall_free(&p.call);
	return good;
}

/*
 * prune_index: scroll every _id of index (with its version where the
 * search gives it) and delete the older documents, a page at a time.
 */
static bool
prune_index(Prune *p, const char *index)
{
	static const char first[] = "{\"size\":1000,\"sort\":[\"_doc\"],\"_source\":false,\"version\":true}";
	char	   *path = es_index_path(&p->call.es, index, "/_search?scroll=1m");
	char	   *refresh = es_index_path(&p->call.es, index, "/_refresh");
	char	   *scroll_id = NULL;
	Buf			next;
	const Buf  *resp;
	size_t		n = 0;
	bool		good;

	p->index = index;
	buf_init(&next);
	/* the search must see every older document, however recent */
	good = path != NULL && refresh != NULL &&
		escall(&p->call, "POST", refresh, NULL, 0, &resp) == 200 &&
		escall(&p->call, "POST", path, first, sizeof(first) - 1, &resp) == 200 &&
		take_page(p, resp, &n, &scroll_id) && send_deletes(p);
	while (good && n > 0)
	{
		json_t	   *sid = json_string(scroll_id);
		char	   *sid_json = sid ? json_dumps(sid, JSON_ENCODE_ANY) : NULL;

		buf_reset(&next);
		good = sid_json && buf_printf(&next, "{\"scroll\":\"1m\",\"scroll_id\":%s}", sid_json) &&
			escall(&p->call, "POST", "/_search/scroll", next.data, next.len, &resp) == 200 &&
			take_page(p, resp, &n, &scroll_id) && send_deletes(p);
		free(sid_json);
		json_decref(sid);
	}
	if (scroll_id)
		clear_scroll(p, scroll_id);
	if (!good)
		log_error("could not remove the older documents of index \"%s\"", index);
	free(scroll_id);
	free(path);
	free(refresh);
	buf_free(&next);
	return good;
}

/*
 * take_page: the deletes for a search answer's hits into p->body; *n gets
 * how many hits there were, *scroll_id (malloc'd) the scroll to go on.
 */
static bool
take_page(Prune *p, const Buf *resp, size_t *n, char **scroll_id)
{
	json_t	   *root = json_loadb(resp->data, resp->len, 0, NULL);
	json_t	   *hits = json_object_get(json_object_get(root, "hits"), "hits");
	json_t	   *sid = json_object_get(root, "_scroll_id");
	bool		good = json_is_array(hits) && json_is_string(sid);
	size_t		i;

	buf_reset(&p->body);
	for (i = 0; good && i < json_array_size(hits); i++)
		good = append_delete(p, json_array_get(hits, i));
	*n = good ? json_array_size(hits) : 0;
	free(*scroll_id);
	*scroll_id = good ? strdup(json_string_value(sid)) : NULL;
	json_decref(root);
	if (!good || *scroll_id == NULL)
		log_error("unexpected scroll answer from index \"%s\"", p->index);
	return good && *scroll_id != NULL;
}

/*
 * append_delete: the versioned delete of hit's document, unless the hit
 * shows a version the load wrote or a later one.
 */
static bool
append_delete(Prune *p, json_t *hit)
{
	json_t	   *id = json_object_get(hit, "_id");
	json_t	   *ver = json_object_get(hit, "_version");
	json_t	   *item;
	char	   *line;
	bool		good;

	if (!json_is_string(id))
		return false;
	if (json_is_integer(ver) && (Lsn) json_integer_value(ver) >= p->version)
		return true;
	item = json_pack("{s:{s:s,s:O,s:I,s:s}}", "delete", "_index", p->index, "_id", id,
					 "version", (json_int_t) (p->version - 1), "version_type", "external_gte");
	line = item ? json_dumps(item, JSON_COMPACT) : NULL;
	good = line && buf_append_str(&p->body, line) && buf_append(&p->body, "\n", 1);
	free(line);
	json_decref(item);
	return good;
}

/*
 * send_deletes: send the page's deletes; each must be done (200), gone
 * already (404) or refused as older than the document (409).
 */
static bool
send_deletes(Prune *p)
{
	const Buf  *resp;
	json_t	   *root;
	json_t	   *items;
	size_t		i;
	bool		good;

	if (p->body.len == 0)
		return true;
	if (escall(&p->call, "POST", "/_bulk?filter_path=errors,items.*.status", p->body.data,
			   p->body.len, &resp) != 200)
		return false;
	root = json_loadb(resp->data, resp->len, 0, NULL);
	items = json_object_get(root, "items");
	good = json_is_array(items);
	for (i = 0; good && i < json_array_size(items); i++)
	{
		json_int_t	status = json_integer_value(json_object_get(
																json_object_get(json_array_get(items, i), "delete"), "status"));

		if (status == 200)
			p->deleted++;
		else if (status != 404 && status != 409)
		{
			log_error("Elasticsearch refused a delete in index \"%s\" with HTTP %lld", p->index,
					  (long long) status);
			good = false;
		}
	}
	json_decref(root);
	return good;
}

/*
 * clear_scroll: free the scroll context (best effort: it expires anyway).
 */
static void
clear_scroll(Prune *p, const char *scroll_id)
{
	json_t	   *body = json_pack("{s:s}", "scroll_id", scroll_id);
	char	   *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	const Buf  *resp;

	if (text)
		(void) escall(&p->call, "DELETE", "/_search/scroll", text, strlen(text), &resp);
	free(text);
	json_decref(body);
}
