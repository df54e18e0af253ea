/*
 * escall.c
 *		Blocking Elasticsearch requests (see escall.h).
 */
#include "escall.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* retry backoff for no answer, 429 and 5xx: 200 ms doubling to 10 s */
#define ESCALL_BACKOFF_MIN_US 200000
#define ESCALL_BACKOFF_MAX_US (10 * 1000000)

/*
 * escall_init: an HTTP client for the --es-url nodes and credentials of
 * cfg (borrowed; must outlive it). stop, when set by a signal, ends
 * retrying. Returns false (logged) on failure, with nothing to free
 * (common.h).
 */
bool
escall_init(EsCall *call, const Config *cfg, volatile sig_atomic_t *stop)
{
	EsOptions	opt;

	es_options_from_config(&opt, cfg);
	call->stop = stop;
	call->max_attempts = 0;
	call->http = NULL;
	call->metrics = NULL;
	call->report = NULL;
	return es_init(&call->es, &opt);
}

/*
 * escall_serve: answer the metrics endpoint http with metrics (both
 * borrowed; they must outlive the calls) during every wait of the calls,
 * so that a start-up spent retrying an unreachable Elasticsearch stays
 * observable.
 */
void
escall_serve(EsCall *call, Http *http, const Metrics *metrics)
{
	call->http = http;
	call->metrics = metrics;
}

/*
 * escall_report: keep metrics->es_forbidden (borrowed; must outlive the
 * calls) in step with the answers: 1 while a request is refused with 403.
 */
void
escall_report(EsCall *call, Metrics *metrics)
{
	call->report = metrics;
}

static void note_refusal(EsCall *call, const char *method, const char *path, const EsResult *r);
static PG2ES_MUSTCHECK bool wait_serving(EsCall *call, int timeout_ms);
static PG2ES_MUSTCHECK bool send_once(EsCall *call, const char *method, const char *path, const char *body,
									  size_t len, EsResult *r);
static PG2ES_MUSTCHECK bool sleep_serving(EsCall *call, int64_t us);

/*
 * note_refusal: log a 401 or 403 answer r to method path once, naming the
 * action refused and what grants it.
 */
static void
note_refusal(EsCall *call, const char *method, const char *path, const EsResult *r)
{
	char		action[128];

	if (r->status == 401)
		log_error("Elasticsearch at %s: %s %s gave HTTP 401: authentication failed (check --es-user and the password, or the API key)",
				  r->node, method, path);
	else if (es_forbidden_action(r->body->data, r->body->len, action, sizeof(action)))
		log_error("Elasticsearch at %s: %s %s gave HTTP 403: pg2es's user may not run [%s]; grant it %s (the README's role \"pg2es\" lists every privilege pg2es needs)",
				  r->node, method, path, action, es_privilege_for(action));
	else
		log_error("Elasticsearch at %s: %s %s gave HTTP 403: %.*s", r->node, method, path,
				  (int) (r->body->len > 512 ? 512 : r->body->len),
				  r->body->data ? r->body->data : "");
}

/*
 * escall_free: release the client.
 */
void
escall_free(EsCall *call)
{
	es_free(&call->es);
}

/*
 * wait_serving: one wait of up to timeout_ms on the client's sockets and
 * the metrics endpoint (http.c's http_wait). Returns false on a client
 * failure (logged).
 */
static PG2ES_MUSTCHECK bool
wait_serving(EsCall *call, int timeout_ms)
{
	struct curl_waitfd fd;

	return http_wait(call->http, call->metrics, &call->es, &fd, 0, timeout_ms);
}

/*
 * send_once: one request, waited for.
 */
static PG2ES_MUSTCHECK bool
send_once(EsCall *call, const char *method, const char *path, const char *body,
		  size_t len, EsResult *r)
{
	if (!es_request(&call->es, method, path, body, len, false))
		return false;
	while (!es_take_result(&call->es, r))
		if (!wait_serving(call, 200) || !es_drive(&call->es))
			return false;
	return true;
}

/*
 * sleep_serving: wait us microseconds, serving the metrics endpoint; a stop
 * signal cuts it short. Returns false on a client failure (logged).
 */
static PG2ES_MUSTCHECK bool
sleep_serving(EsCall *call, int64_t us)
{
	int64_t		until = pg2es_now_us() + us;
	int64_t		left;

	while (!*call->stop && (left = until - pg2es_now_us()) > 0)
		if (!wait_serving(call, left > 200000 ? 200 : (int) (left / 1000) + 1))
			return false;
	return true;
}

/*
 * escall: method path with an optional JSON body (borrowed), waiting for
 * the answer and retrying with backoff while there is none or it is 429 or
 * 5xx (logged once; at most max_attempts tries when set). 401 and 403 are
 * logged once with the action refused; with max_attempts set (a one-off
 * command such as verify) they are returned at once, otherwise they are
 * retried like 5xx until the credentials or the role are fixed.
 * Returns the HTTP status, *response then the body (owned by the client,
 * valid until the next call); 0 when the request could not be made or a
 * stop signal came.
 */
long
escall(EsCall *call, const char *method, const char *path, const char *body,
	   size_t len, const Buf **response)
{
	EsResult	r;
	int64_t		backoff = ESCALL_BACKOFF_MIN_US;
	bool		warned = false;
	bool		refused = false;
	int			attempts = 0;

	for (;;)
	{
		if (!send_once(call, method, path, body, len, &r))
			return 0;
		*response = r.body;
		if (call->report)
			call->report->es_forbidden = r.status == 403;
		if ((r.status == 401 || r.status == 403) && !refused)
			note_refusal(call, method, path, &r);
		refused = refused || r.status == 401 || r.status == 403;
		/* a one-off command reports a refusal; others wait for the grant */
		if ((r.status == 401 || r.status == 403) && call->max_attempts > 0)
			return r.status;
		if (!es_status_transient(r.status))
		{
			if (refused)
				log_info("Elasticsearch at %s: %s %s goes through again", r.node, method, path);
			return r.status;
		}
		if (call->max_attempts > 0 && ++attempts >= call->max_attempts)
		{
			log_error("Elasticsearch at %s: %s %s failed %d time(s); giving up", r.node,
					  method, path, attempts);
			return 0;
		}
		/* say why there was no answer: a TLS failure must be visible */
		if (!warned && (r.status == 401 || r.status == 403))
			log_info("waiting for the privilege; %s %s is tried again with backoff", method, path);
		else if (!warned && r.status)
			log_warning("Elasticsearch at %s: %s %s gave HTTP %ld; retrying", r.node, method, path,
						r.status);
		else if (!warned)
			log_warning("Elasticsearch at %s: %s %s gave no answer: %s; retrying", r.node,
						method, path, r.error);
		warned = true;
		if (*call->stop)
			return 0;
		if (!sleep_serving(call, backoff) || *call->stop)
			return 0;
		backoff = backoff * 2 > ESCALL_BACKOFF_MAX_US ? ESCALL_BACKOFF_MAX_US : backoff * 2;
	}
}
