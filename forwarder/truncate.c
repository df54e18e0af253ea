/*
 * truncate.c
 *		Emptying the indexes of a TRUNCATE frame (see truncate.h).
 *
 * Per index, versioned: _refresh (a search sees only refreshed documents),
 * then a scroll over the _ids, and for each page a _bulk of versioned
 * deletes. A scroll request is not idempotent (a lost answer would skip a
 * page), so any failure while paging starts the index over from _refresh:
 * deleting again is harmless. Every scroll is cleared (DELETE
 * /_search/scroll) after its last page and before such a start over: an
 * engine holds at most 500 open scroll contexts per node
 * (search.max_open_scroll_context) and refuses new ones with 429 until
 * old ones expire after SCROLL_KEEP_ALIVE, so truncations in a row would
 * otherwise stall. A clear that fails is not tried again: the context
 * still expires.
 */
#include "truncate.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsoncmp.h"
#include "log.h"

/* _ids per page: one page of deletes is all the memory a TRUNCATE takes */
#define PAGE_SIZE "1000"
#define SCROLL_KEEP_ALIVE "5m"
/* delete-mode=soft: the documents not marked deleted yet */
#define NOT_MARKED "\"query\":{\"bool\":{\"must_not\":{\"term\":{\"__deleted\":true}}}}"

/*
 * truncate_job_begin: start on the first index of a TRUNCATE of version
 * (0 = unversioned); soft: mark the documents deleted (delete-mode=soft).
 * The job must be freed with truncate_job_free.
 */
void
truncate_job_begin(TruncateJob *job, Lsn version, bool soft)
{
	memset(job, 0, sizeof(*job));
	job->version = version;
	job->soft = soft;
	job->step = TRUNCATE_REFRESH;
	buf_init(&job->body);
}

/*
 * truncate_job_next_index: go on to the next index, from _refresh.
 */
void
truncate_job_next_index(TruncateJob *job)
{
	free(job->scroll_id);
	job->scroll_id = NULL;
	buf_reset(&job->body);
	job->index++;
	job->step = TRUNCATE_REFRESH;
}

/*
 * truncate_job_free: release what the job owns; it may be begun again.
 */
void
truncate_job_free(TruncateJob *job)
{
	free(job->scroll_id);
	job->scroll_id = NULL;
	buf_free(&job->body);
}

/*
 * truncate_job_request: the request of the current step on the index whose
 * URL-escaped name is escaped_index: path (written into path[pathlen]),
 * body (borrowed from the job or static; valid until the next call on the
 * job) and whether it is NDJSON. Returns false when the path does not fit.
 */
bool
truncate_job_request(const TruncateJob *job, const char *escaped_index,
					 char *path, size_t pathlen, const char **body,
					 size_t *len, bool *ndjson)
{
	static const char match_all[] = "{\"query\":{\"match_all\":{}}}";
	static const char first_page[] =
	"{\"size\":" PAGE_SIZE ",\"_source\":false,\"sort\":[\"_doc\"]}";
	static const char mark_all[] = "{" NOT_MARKED ",\"script\":{\"lang\":\"painless\","
	"\"source\":\"ctx._source.__deleted = true\"}}";
	static const char first_unmarked[] =
	"{\"size\":" PAGE_SIZE ",\"sort\":[\"_doc\"]," NOT_MARKED "}";
	const char *hits = job->soft ? "hits.hits._id,hits.hits._source" : "hits.hits._id";
	int			n = 0;

	*body = job->body.data;
	*len = job->body.len;
	*ndjson = false;
	switch (job->step)
	{
		case TRUNCATE_REFRESH:
			n = snprintf(path, pathlen, "/%s/_refresh", escaped_index);
			*body = "";
			*len = 0;
			break;
		case TRUNCATE_DELETE_BY_QUERY:
			n = snprintf(path, pathlen, "/%s/%s?conflicts=proceed&refresh=true", escaped_index,
						 job->soft ? "_update_by_query" : "_delete_by_query");
			*body = job->soft ? mark_all : match_all;
			*len = strlen(*body);
			break;
		case TRUNCATE_OPEN_SCROLL:
			n = snprintf(path, pathlen,
						 "/%s/_search?scroll=" SCROLL_KEEP_ALIVE "&filter_path=_scroll_id,%s",
						 escaped_index, hits);
			*body = job->soft ? first_unmarked : first_page;
			*len = strlen(*body);
			break;
		case TRUNCATE_DELETE_PAGE:
			n = snprintf(path, pathlen, "/_bulk?filter_path=errors,items.*.status,items.*.error");
			*ndjson = true;
			break;
		case TRUNCATE_NEXT_PAGE:
			n = snprintf(path, pathlen, "/_search/scroll?filter_path=_scroll_id,%s", hits);
			break;
		case TRUNCATE_CLEAR_SCROLL:
			n = snprintf(path, pathlen, "/_search/scroll");
			break;
	}
	return n > 0 && (size_t) n < pathlen;
}

/*
 * truncate_job_method: the HTTP method of the current step's request.
 */
const char *
truncate_job_method(const TruncateJob *job)
{
	return job->step == TRUNCATE_CLEAR_SCROLL ? "DELETE" : "POST";
}

static PG2ES_MUSTCHECK TruncateOutcome clear_scroll_step(TruncateJob *job, bool restart, TruncateOutcome outcome);
static PG2ES_MUSTCHECK bool append_delete(Buf *out, json_t *index, json_t *id, Lsn version);
static PG2ES_MUSTCHECK TruncateOutcome mark_hits(TruncateJob *job, const char *index_json, const char *hits, size_t len, size_t *n);
static PG2ES_MUSTCHECK TruncateOutcome read_marked_page(TruncateJob *job, const char *index, size_t index_len,
														const char *body, size_t len);
static PG2ES_MUSTCHECK TruncateOutcome read_page(TruncateJob *job, const char *index, size_t index_len,
												 const char *body, size_t len);
static PG2ES_MUSTCHECK bool read_deletes(TruncateJob *job, const char *body, size_t len);
static PG2ES_MUSTCHECK TruncateOutcome answer_page_step(TruncateJob *job, const char *index, size_t index_len,
														const char *body, size_t len);

/*
 * clear_scroll_step: make the next step the clearing of the job's scroll,
 * then (restart) a start over from _refresh or the end of the index.
 * Returns the outcome that leads there: outcome itself when the job holds
 * a scroll to clear (its body then the clear's), else INDEX_DONE or the
 * start over right away.
 */
static PG2ES_MUSTCHECK TruncateOutcome
clear_scroll_step(TruncateJob *job, bool restart, TruncateOutcome outcome)
{
	buf_reset(&job->body);
	if (job->scroll_id == NULL ||
		!buf_printf(&job->body, "{\"scroll_id\":\"%s\"}", job->scroll_id))
	{
		job->step = TRUNCATE_REFRESH;
		return restart ? TRUNCATE_RETRY : TRUNCATE_INDEX_DONE;
	}
	job->step = TRUNCATE_CLEAR_SCROLL;
	job->restart = restart;
	return outcome;
}

/*
 * append_delete: append to out the versioned delete item of the document
 * id (a JSON string) in index. Returns false when out of memory (out may
 * then hold part of the item; the caller drops the page).
 */
static PG2ES_MUSTCHECK bool
append_delete(Buf *out, json_t *index, json_t *id, Lsn version)
{
	char	   *index_json = json_dumps(index, JSON_ENCODE_ANY);
	char	   *id_json = json_dumps(id, JSON_ENCODE_ANY);
	bool		ok;

	ok = index_json && id_json &&
		buf_printf(out, "{\"delete\":{\"_index\":%s,\"_id\":%s,\"version\":%llu,"
				   "\"version_type\":\"external_gte\"}}\n",
				   index_json, id_json, (unsigned long long) version);
	free(index_json);
	free(id_json);
	return ok;
}

/*
 * mark_hits: append to the job's body, for each hit of the search answer's
 * hits array hits[0..len) (delete-mode=soft), the versioned "index" item
 * writing its _source again with "__deleted": true; index_json is the
 * index as a JSON string. The sources are spliced as text (jsoncmp.h), so
 * that numbers keep their digits. *n counts the hits.
 */
static PG2ES_MUSTCHECK TruncateOutcome
mark_hits(TruncateJob *job, const char *index_json, const char *hits, size_t len, size_t *n)
{
	const char *end = hits + len;
	const char *p = jsoncmp_enter(hits, end, '[');
	const char *hit;
	size_t		hitlen;
	int			r = -1;

	while (p && (r = jsoncmp_next_element(&p, end, &hit, &hitlen)) == 1)
	{
		JsonMember	id;
		JsonMember	source;

		if (!jsoncmp_find_member(hit, hitlen, "_id", &id) || id.value[0] != '"' ||
			!jsoncmp_find_member(hit, hitlen, "_source", &source) || source.value[0] != '{')
			return TRUNCATE_RETRY;
		if (!buf_printf(&job->body, "{\"index\":{\"_index\":%s,\"_id\":%.*s,\"version\":%llu,"
						"\"version_type\":\"external_gte\"}}\n", index_json, (int) id.valuelen,
						id.value, (unsigned long long) job->version) ||
			!jsoncmp_append_with(&job->body, source.value, source.valuelen, "\"__deleted\":true") ||
			!buf_append(&job->body, "\n", 1))
			return jsoncmp_skip(source.value, source.value + source.valuelen) ? TRUNCATE_FATAL
				: TRUNCATE_RETRY;
		(*n)++;
	}
	return r == 0 ? TRUNCATE_NEXT_STEP : TRUNCATE_RETRY;
}

/*
 * read_marked_page: read_page under delete-mode=soft, whose answer holds
 * the documents: walked as text (mark_hits), the scroll id alone decoded.
 */
static PG2ES_MUSTCHECK TruncateOutcome
read_marked_page(TruncateJob *job, const char *index, size_t index_len,
				 const char *body, size_t len)
{
	JsonMember	sid;
	JsonMember	outer;
	JsonMember	hits = {0};
	json_t	   *sid_json = NULL;
	json_t	   *name = json_stringn(index, index_len);
	char	   *name_json = name ? json_dumps(name, JSON_ENCODE_ANY) : NULL;
	size_t		n = 0;
	TruncateOutcome outcome = TRUNCATE_RETRY;

	buf_reset(&job->body);
	/* (json_is_string evaluates its argument twice: load first) */
	if (jsoncmp_find_member(body, len, "_scroll_id", &sid))
		sid_json = json_loadb(sid.value, sid.valuelen, JSON_DECODE_ANY, NULL);
	if (json_is_string(sid_json))
	{
		free(job->scroll_id);
		job->scroll_id = strdup(json_string_value(sid_json));
		/* an answer without hits (filter_path drops an empty array) has none */
		if (jsoncmp_find_member(body, len, "hits", &outer))
			(void) jsoncmp_find_member(outer.value, outer.valuelen, "hits", &hits);
		outcome = job->scroll_id == NULL || name_json == NULL ? TRUNCATE_FATAL
			: hits.value == NULL ? TRUNCATE_INDEX_DONE
			: mark_hits(job, name_json, hits.value, hits.valuelen, &n);
		if (outcome == TRUNCATE_NEXT_STEP && n == 0)
			outcome = TRUNCATE_INDEX_DONE;
	}
	json_decref(sid_json);
	json_decref(name);
	free(name_json);
	if (outcome == TRUNCATE_FATAL)
		log_error("out of memory while emptying a truncated index");
	return outcome;
}

/*
 * read_page: read a search or scroll answer: keep its scroll id, and write
 * the deletes of its _ids to the job's body. Returns TRUNCATE_NEXT_STEP
 * (a page to delete), TRUNCATE_INDEX_DONE (no more _ids), TRUNCATE_RETRY
 * (unreadable: the scroll id held before is kept) or TRUNCATE_FATAL.
 */
static PG2ES_MUSTCHECK TruncateOutcome
read_page(TruncateJob *job, const char *index, size_t index_len,
		  const char *body, size_t len)
{
	json_t	   *root = json_loadb(body, len, 0, NULL);
	json_t	   *hits = json_object_get(json_object_get(root, "hits"), "hits");
	json_t	   *scroll_id = json_object_get(root, "_scroll_id");
	json_t	   *name = NULL;
	TruncateOutcome outcome = TRUNCATE_NEXT_STEP;
	size_t		i;

	buf_reset(&job->body);
	if (!json_is_string(scroll_id) ||
		(hits != NULL && !json_is_array(hits)))
		outcome = TRUNCATE_RETRY;	/* the scroll held so far stays */
	else
	{
		free(job->scroll_id);
		job->scroll_id = NULL;
		if ((name = json_stringn(index, index_len)) == NULL ||
			(job->scroll_id = strdup(json_string_value(scroll_id))) == NULL)
			outcome = TRUNCATE_FATAL;
		else if (json_array_size(hits) == 0)
			outcome = TRUNCATE_INDEX_DONE;
	}
	for (i = 0; outcome == TRUNCATE_NEXT_STEP && i < json_array_size(hits); i++)
	{
		json_t	   *id = json_object_get(json_array_get(hits, i), "_id");

		if (!json_is_string(id))
			outcome = TRUNCATE_RETRY;
		else if (!append_delete(&job->body, name, id, job->version))
			outcome = TRUNCATE_FATAL;
	}
	json_decref(name);
	json_decref(root);
	if (outcome == TRUNCATE_FATAL)
		log_error("out of memory while emptying a truncated index");
	return outcome;
}

/*
 * read_deletes: whether the answer to a page of deletes (soft: marks)
 * shows every item done: deleted (marked), already gone (404) or newer
 * than the TRUNCATE (409).
 * Counts them in the job.
 */
static PG2ES_MUSTCHECK bool
read_deletes(TruncateJob *job, const char *body, size_t len)
{
	json_t	   *root = json_loadb(body, len, 0, NULL);
	json_t	   *items = json_object_get(root, "items");
	bool		ok = json_is_array(items);
	uint64_t	deleted = 0;
	uint64_t	kept = 0;
	size_t		i;

	for (i = 0; ok && i < json_array_size(items); i++)
	{
		json_t	   *item = json_array_get(items, i);
		json_int_t	status = json_integer_value(json_object_get(
																json_object_get(item, job->soft ? "index" : "delete"), "status"));

		if (status == 409)
			kept++;
		else if ((status >= 200 && status <= 299) || status == 404)
			deleted++;
		else
		{
			/* a 403 (a missing privilege) is logged once by sync.c */
			if (status != 403)
				log_warning("emptying a truncated index: a delete got status %lld; trying again",
							(long long) status);
			ok = false;
		}
	}
	json_decref(root);
	if (ok)
	{
		job->deleted += deleted;
		job->kept += kept;
	}
	return ok;
}

/*
 * answer_page_step: act on a 2xx answer to a scroll page (OPEN_SCROLL or
 * NEXT_PAGE) or to a page of deletes.
 */
static PG2ES_MUSTCHECK TruncateOutcome
answer_page_step(TruncateJob *job, const char *index, size_t index_len,
				 const char *body, size_t len)
{
	TruncateOutcome outcome;

	if (job->step == TRUNCATE_DELETE_PAGE)
	{
		if (!read_deletes(job, body, len))
			return TRUNCATE_RETRY;
		buf_reset(&job->body);
		if (!buf_printf(&job->body, "{\"scroll\":\"" SCROLL_KEEP_ALIVE "\",\"scroll_id\":\"%s\"}",
						job->scroll_id))
		{
			log_error("out of memory while emptying a truncated index");
			return TRUNCATE_FATAL;
		}
		job->step = TRUNCATE_NEXT_PAGE;
		return TRUNCATE_NEXT_STEP;
	}
	outcome = job->soft ? read_marked_page(job, index, index_len, body, len)
		: read_page(job, index, index_len, body, len);
	if (outcome == TRUNCATE_NEXT_STEP)
		job->step = TRUNCATE_DELETE_PAGE;
	else if (outcome == TRUNCATE_INDEX_DONE)
		return clear_scroll_step(job, false, TRUNCATE_NEXT_STEP);
	else if (outcome == TRUNCATE_RETRY && job->step == TRUNCATE_NEXT_PAGE)
		return clear_scroll_step(job, true, TRUNCATE_RETRY);
	return outcome;
}

/*
 * truncate_job_answer: act on the HTTP answer (status 0 = none) to the
 * current step's request on index (index_len bytes, not NUL-terminated).
 * A missing index (404) is already empty.
 */
TruncateOutcome
truncate_job_answer(TruncateJob *job, const char *index, size_t index_len,
					long status, const char *body, size_t len)
{
	bool		ok = status >= 200 && status <= 299;

	switch (job->step)
	{
		case TRUNCATE_REFRESH:
			if (status == 404)
				return TRUNCATE_INDEX_DONE;
			if (!ok)
				return TRUNCATE_RETRY;
			job->step = job->version == 0 ? TRUNCATE_DELETE_BY_QUERY : TRUNCATE_OPEN_SCROLL;
			return TRUNCATE_NEXT_STEP;
		case TRUNCATE_DELETE_BY_QUERY:
			return ok || status == 404 ? TRUNCATE_INDEX_DONE : TRUNCATE_RETRY;
		case TRUNCATE_OPEN_SCROLL:
			if (status == 404)
				return TRUNCATE_INDEX_DONE;
			break;
		case TRUNCATE_DELETE_PAGE:
			break;
		case TRUNCATE_NEXT_PAGE:
			/* the scroll expired or the answer was lost: start over */
			if (!ok)
				return clear_scroll_step(job, true, TRUNCATE_RETRY);
			break;
		case TRUNCATE_CLEAR_SCROLL:
			/* best effort, whatever the answer: the context expires anyway */
			free(job->scroll_id);
			job->scroll_id = NULL;
			buf_reset(&job->body);
			job->step = TRUNCATE_REFRESH;
			return job->restart ? TRUNCATE_NEXT_STEP : TRUNCATE_INDEX_DONE;
	}
	if (!ok)
		return TRUNCATE_RETRY;
	return answer_page_step(job, index, index_len, body, len);
}
