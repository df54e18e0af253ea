/*
 * es.h
 *		HTTP to Elasticsearch with libcurl's multi interface.
 *
 * One request at a time per Es, driven without blocking from the main
 * loop, which waits on curl's sockets and the replication socket together
 * through es_wait. The lanes of the pipeline (sync.c) are several Es
 * sharing one multi handle (es_init_lane), so that one wait serves them
 * all.
 */
#ifndef PG2ES_ES_H
#define PG2ES_ES_H

#include <curl/curl.h>

#include "buf.h"
#include "cfg.h"
#include "common.h"

typedef struct EsOptions
{
	char	  **urls;			/* base URLs, owned by the caller */
	size_t		nurls;
	const char *user;			/* basic auth, or NULL */
	const char *password;
	const char *api_key;		/* "Authorization: ApiKey", or NULL */
	const char *cacert;			/* CA file for HTTPS, or NULL = system CAs */
	bool		gzip;			/* compress request bodies */
	long		timeout_ms;		/* whole-request timeout */
} EsOptions;

/* The outcome of a finished request. */
typedef struct EsResult
{
	long		status;			/* HTTP status; 0 = no answer */
	char		error[CURL_ERROR_SIZE]; /* why there was no answer */
	const Buf  *body;			/* response body, owned by the Es */
	int64_t		latency_us;
	size_t		bytes_sent;		/* body bytes on the wire */
	const char *node;			/* base URL used, for logs (no credentials) */
} EsResult;

typedef struct Es
{
	EsOptions	opt;
	CURLM	   *multi;
	CURL	   *easy;
	struct curl_slist *headers; /* for _bulk bodies */
	struct curl_slist *json_headers;	/* for JSON bodies */
	char	   *auth_header;	/* owned; holds the API key */
	int64_t    *down_until;		/* per node: not before this time */
	char	  **display;		/* per node: URL for logs, credentials hidden */
	size_t		node;			/* next node to use */
	bool		shared_multi;	/* multi is another Es's (es_init_lane) */
	bool		busy;			/* a request is in flight */
	bool		finished;		/* result holds an unread outcome */
	bool		product_seen;	/* X-Elastic-Product: Elasticsearch seen */
	EsResult	result;
	Buf			response;
	Buf			gz;
	char		url[4096];
	int64_t		started_us;
} Es;

extern PG2ES_MUSTCHECK char *es_redact_url(const char *url);
extern void es_options_from_config(EsOptions *opt, const Config *cfg);
extern PG2ES_MUSTCHECK bool es_init(Es *es, const EsOptions *opt);
extern PG2ES_MUSTCHECK bool es_init_lane(Es *es, const EsOptions *opt, Es *owner,
										 size_t first_node);
extern void es_free(Es *es);
extern PG2ES_MUSTCHECK bool es_request(Es *es, const char *method, const char *path,
									   const char *body, size_t len, bool ndjson);
extern PG2ES_MUSTCHECK bool es_drive(Es *es);
extern PG2ES_MUSTCHECK bool es_wait(Es *es, struct curl_waitfd *extra, unsigned int nextra,
									int timeout_ms);
extern PG2ES_MUSTCHECK bool es_take_result(Es *es, EsResult *result);
extern void es_cancel(Es *es);
extern PG2ES_MUSTCHECK char *es_escape(Es *es, const char *text, size_t len);
extern PG2ES_MUSTCHECK char *es_index_path(Es *es, const char *index, const char *suffix);
extern bool es_status_transient(long status);
extern bool es_forbidden_action(const char *body, size_t len, char *action, size_t size);
extern const char *es_privilege_for(const char *action);

#endif							/* PG2ES_ES_H */
