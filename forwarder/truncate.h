/*
 * truncate.h
 *		Emptying the indexes of a TRUNCATE frame, one request at a time.
 *
 * Pure: builds each request and reads its answer; the caller (sync.c)
 * sends it. A versioned TRUNCATE (commit LSN V) must stay harmless when it
 * is replayed after documents of later transactions were stored, so every
 * index is refreshed, its _ids are read page by page through a scroll
 * (_source off, sorted by _doc) and each page is deleted with
 * version=V, version_type=external_gte: documents newer than the TRUNCATE
 * answer 409 and stay, 404 means already gone. Memory stays bounded by one
 * page. An unversioned TRUNCATE (versioning=off) uses _delete_by_query,
 * which is not replay-safe.
 *
 * Under delete-mode=soft the documents are not deleted but marked: the
 * scroll reads the documents not marked yet, _source and all, and each page
 * is written back with "__deleted": true at version=V, external_gte, so a
 * newer document answers 409 and stays, as it does a delete. Unversioned,
 * _update_by_query sets the mark (conflicts=proceed).
 */
#ifndef PG2ES_TRUNCATE_H
#define PG2ES_TRUNCATE_H

#include "buf.h"
#include "common.h"

typedef enum TruncateStep
{
	TRUNCATE_REFRESH,			/* POST /IDX/_refresh */
	TRUNCATE_DELETE_BY_QUERY,	/* unversioned: POST /IDX/_delete_by_query */
	TRUNCATE_OPEN_SCROLL,		/* POST /IDX/_search?scroll: first _ids */
	TRUNCATE_DELETE_PAGE,		/* POST /_bulk: versioned deletes of a page */
	TRUNCATE_NEXT_PAGE,			/* POST /_search/scroll: next _ids */
	TRUNCATE_CLEAR_SCROLL		/* DELETE /_search/scroll: free the scroll */
} TruncateStep;

/* Progress of the TRUNCATE at the head of the queue. */
typedef struct TruncateJob
{
	Lsn			version;		/* commit LSN of the TRUNCATE; 0 = unversioned */
	bool		soft;			/* delete-mode=soft: mark, do not delete */
	TruncateStep step;
	size_t		index;			/* which of the frame's indexes is being
								 * emptied */
	char	   *scroll_id;		/* owned, or NULL */
	bool		restart;		/* CLEAR_SCROLL: then start over from _refresh */
	Buf			body;			/* owned: body of the current step's request */
	uint64_t	deleted;		/* documents deleted (for the log) */
	uint64_t	kept;			/* documents newer than the TRUNCATE */
} TruncateJob;

typedef enum TruncateOutcome
{
	TRUNCATE_NEXT_STEP,			/* send the request of the (new) step */
	TRUNCATE_INDEX_DONE,		/* this index is empty of older documents */
	TRUNCATE_RETRY,				/* send the current step again after a backoff */
	TRUNCATE_FATAL				/* out of memory (logged) */
} TruncateOutcome;

extern void truncate_job_begin(TruncateJob *job, Lsn version, bool soft);
extern void truncate_job_next_index(TruncateJob *job);
extern void truncate_job_free(TruncateJob *job);
extern PG2ES_MUSTCHECK bool truncate_job_request(const TruncateJob *job,
												 const char *escaped_index,
												 char *path, size_t pathlen,
												 const char **body, size_t *len,
												 bool *ndjson);
extern const char *truncate_job_method(const TruncateJob *job);
extern PG2ES_MUSTCHECK TruncateOutcome truncate_job_answer(TruncateJob *job, const char *index,
														   size_t index_len, long status,
														   const char *body, size_t len);

#endif							/* PG2ES_TRUNCATE_H */
