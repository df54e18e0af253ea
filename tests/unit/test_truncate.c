/*
 * test_truncate.c
 *		Unit tests for truncate.c: the steps of emptying a truncated index.
 */
#include <string.h>

#include "truncate.h"
#include "tap.h"

#define INDEX "public.t"
#define ANSWER(job, status, text) \
	truncate_job_answer(job, INDEX, strlen(INDEX), status, text, strlen(text))

static char path[256];
static const char *body;
static size_t len;
static bool ndjson;

/* Builds the job's current request into the statics; false if it fails. */
static bool
request(const TruncateJob *job)
{
	return truncate_job_request(job, INDEX, path, sizeof(path), &body, &len, &ndjson);
}

/* Whether the current request's body contains text. */
static bool
body_has(const char *text)
{
	size_t		n = strlen(text);
	size_t		i;

	for (i = 0; body != NULL && i + n <= len; i++)
		if (memcmp(body + i, text, n) == 0)
			return true;
	return false;
}

static void
test_versioned(void)
{
	TruncateJob job;

	truncate_job_begin(&job, 4242, false);
	ok(request(&job) && strcmp(path, "/" INDEX "/_refresh") == 0 && len == 0,
	   "first a refresh of the index");
	ok(ANSWER(&job, 503, "") == TRUNCATE_RETRY && job.step == TRUNCATE_REFRESH,
	   "a failed refresh is retried");
	ok(ANSWER(&job, 200, "{}") == TRUNCATE_NEXT_STEP && request(&job) &&
	   strstr(path, "/" INDEX "/_search?scroll=") == path &&
	   body_has("\"_source\":false") && body_has("\"_doc\""),
	   "then a scroll over the _ids, without sources, in _doc order");
	ok(ANSWER(&job, 200, "{\"_scroll_id\":\"S1\",\"hits\":{\"hits\":[{\"_id\":\"1\"},{\"_id\":\"a\\\"b\"}]}}") ==
	   TRUNCATE_NEXT_STEP && job.step == TRUNCATE_DELETE_PAGE && request(&job) && ndjson &&
	   strncmp(path, "/_bulk", 6) == 0 &&
	   body_has("{\"delete\":{\"_index\":\"" INDEX "\",\"_id\":\"1\",\"version\":4242,"
				"\"version_type\":\"external_gte\"}}\n") &&
	   body_has("\"_id\":\"a\\\"b\""),
	   "a page of _ids becomes versioned deletes (ids JSON-escaped)");
	ok_refused(ANSWER(&job, 200, "{\"errors\":true,\"items\":[{\"delete\":{\"status\":200}},"
					  "{\"delete\":{\"status\":429}}]}") == TRUNCATE_RETRY &&
			   job.step == TRUNCATE_DELETE_PAGE && request(&job) && body_has("\"_id\":\"1\""),
			   "a page with a transient item failure is sent again whole");
	ok(ANSWER(&job, 200, "{\"errors\":true,\"items\":[{\"delete\":{\"status\":404}},"
			  "{\"delete\":{\"status\":409}}]}") == TRUNCATE_NEXT_STEP &&
	   job.deleted == 1 && job.kept == 1 && job.step == TRUNCATE_NEXT_PAGE &&
	   request(&job) && strncmp(path, "/_search/scroll", 15) == 0 && body_has("\"S1\""),
	   "404 (gone) and 409 (newer, kept) are done; then the next page");
	ok(ANSWER(&job, 0, "") == TRUNCATE_RETRY && job.step == TRUNCATE_CLEAR_SCROLL &&
	   request(&job) && strcmp(truncate_job_method(&job), "DELETE") == 0 &&
	   strcmp(path, "/_search/scroll") == 0 && body_has("{\"scroll_id\":\"S1\"}"),
	   "a failed scroll request first clears the scroll held");
	ok(ANSWER(&job, 404, "{}") == TRUNCATE_NEXT_STEP && job.step == TRUNCATE_REFRESH &&
	   job.scroll_id == NULL && strcmp(truncate_job_method(&job), "POST") == 0,
	   "then starts the index over (a page may be lost), whatever the clear's answer");
	ok(ANSWER(&job, 200, "{}") == TRUNCATE_NEXT_STEP &&
	   ANSWER(&job, 200, "{\"_scroll_id\":\"S2\",\"hits\":{\"hits\":[]}}") == TRUNCATE_NEXT_STEP &&
	   job.step == TRUNCATE_CLEAR_SCROLL && request(&job) &&
	   strcmp(truncate_job_method(&job), "DELETE") == 0 && body_has("\"S2\""),
	   "an empty page: the scroll is cleared");
	ok(ANSWER(&job, 200, "{\"succeeded\":true,\"num_freed\":1}") == TRUNCATE_INDEX_DONE,
	   "and that ends the index");
	truncate_job_next_index(&job);
	ok(ANSWER(&job, 200, "{}") == TRUNCATE_NEXT_STEP &&
	   ANSWER(&job, 200, "{\"_scroll_id\":\"S3\",\"hits\":{\"hits\":[{\"_id\":\"1\"}]}}") ==
	   TRUNCATE_NEXT_STEP &&
	   ANSWER(&job, 200, "{\"errors\":false,\"items\":[{\"delete\":{\"status\":200}}]}") ==
	   TRUNCATE_NEXT_STEP && ANSWER(&job, 200, "cut sho") == TRUNCATE_RETRY &&
	   job.step == TRUNCATE_CLEAR_SCROLL && request(&job) && body_has("\"S3\"") &&
	   ANSWER(&job, 0, "") == TRUNCATE_NEXT_STEP && job.step == TRUNCATE_REFRESH,
	   "an unreadable next page: the scroll held is cleared, then the index starts over");
	truncate_job_next_index(&job);
	ok(job.index == 2 && job.step == TRUNCATE_REFRESH && job.scroll_id == NULL,
	   "the next index starts from a refresh");
	ok(ANSWER(&job, 404, "{}") == TRUNCATE_INDEX_DONE, "a missing index is empty");
	truncate_job_next_index(&job);
	ok(ANSWER(&job, 200, "{}") == TRUNCATE_NEXT_STEP &&
	   ANSWER(&job, 200, "not json") == TRUNCATE_RETRY && job.step == TRUNCATE_OPEN_SCROLL,
	   "an unreadable first page is asked again");
	truncate_job_free(&job);
}

static void
test_unversioned(void)
{
	TruncateJob job;

	truncate_job_begin(&job, 0, false);
	ok(ANSWER(&job, 200, "{}") == TRUNCATE_NEXT_STEP && request(&job) &&
	   strstr(path, "/" INDEX "/_delete_by_query") == path && body_has("match_all"),
	   "unversioned: _delete_by_query after the refresh");
	ok(ANSWER(&job, 500, "") == TRUNCATE_RETRY && ANSWER(&job, 200, "{}") == TRUNCATE_INDEX_DONE,
	   "unversioned: done when _delete_by_query succeeds");
	truncate_job_free(&job);
}

static void
test_soft(void)
{
	TruncateJob job;

	truncate_job_begin(&job, 77, true);
	ok(ANSWER(&job, 200, "{}") == TRUNCATE_NEXT_STEP && request(&job) &&
	   strstr(path, "hits.hits._source") != NULL && !body_has("\"_source\":false") &&
	   body_has("\"must_not\":{\"term\":{\"__deleted\":true}}"),
	   "soft: the scroll reads the documents not marked deleted, with their sources");
	ok(ANSWER(&job, 200, "{\"_scroll_id\":\"S1\",\"hits\":{\"hits\":[{\"_id\":\"1\","
			  "\"_source\":{\"id\":1,\"n\":12345678901234567}}]}}") == TRUNCATE_NEXT_STEP &&
	   request(&job) && ndjson &&
	   body_has("{\"index\":{\"_index\":\"" INDEX "\",\"_id\":\"1\",\"version\":77,"
				"\"version_type\":\"external_gte\"}}\n{\"id\":1,\"n\":12345678901234567,"
				"\"__deleted\":true}\n"),
	   "soft: each document is written back marked deleted, at the TRUNCATE's version");
	ok(ANSWER(&job, 200, "{\"errors\":true,\"items\":[{\"index\":{\"status\":409}}]}") ==
	   TRUNCATE_NEXT_STEP && job.kept == 1 && request(&job) &&
	   strstr(path, "hits.hits._source") != NULL,
	   "soft: a newer document (409) is kept; the next page has sources too");
	ok_refused(ANSWER(&job, 200, "{\"_scroll_id\":\"S1\",\"hits\":{\"hits\":[{\"_id\":\"2\"}]}}") ==
			   TRUNCATE_RETRY, "soft: a hit without its source is read again");
	truncate_job_free(&job);
	truncate_job_begin(&job, 0, true);
	ok(ANSWER(&job, 200, "{}") == TRUNCATE_NEXT_STEP && request(&job) &&
	   strstr(path, "/" INDEX "/_update_by_query?conflicts=proceed") == path &&
	   body_has("ctx._source.__deleted = true"),
	   "soft and unversioned: _update_by_query marks the documents");
	truncate_job_free(&job);
}

int
main(void)
{
	test_versioned();
	test_soft();
	test_unversioned();
	return done_testing();
}
