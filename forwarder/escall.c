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
 * retrying. Returns false (logged) on failure.
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
static bool
wait_serving(EsCall *call, int timeout_ms)
{
	struct curl_waitfd fd;

	return http_wait(call->http, call->metrics, &call->es, &fd, 0, timeout_ms);
}

/*
 * send_once: one request, waited for.
 */
static bool
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
static bool
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
 * 5xx (logged once; at most max_attempts tries when set). Returns the HTTP status, *response then the body
 * (owned by the client, valid until the next call); 0 when the request
 * could not be made or a stop signal came.
 */
long
escall(EsCall *call, const char *method, const char *path, const char *body,
	   size_t len, const Buf **response)
{
	EsResult	r;
	int64_t		backoff = ESCALL_BACKOFF_MIN_US;
	bool		warned = false;
	int			attempts = 0;

	for (;;)
	{
		if (!send_once(call, method, path, body, len, &r))
			return 0;
		*response = r.body;
		if (r.status != 0 && r.status != 429 && r.status < 500)
			return r.status;
		if (call->max_attempts > 0 && ++attempts >= call->max_attempts)
		{
			log_error("Elasticsearch at %s: %s %s failed %d time(s); giving up", r.node,
					  method, path, attempts);
			return 0;
		}
		/* say why there was no answer: a TLS failure must be visible */
		if (!warned && r.status)
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
