/*
 * es.c
 *		HTTP to Elasticsearch with libcurl's multi interface (see es.h).
 *
 * Nodes are used round-robin, one request each; a node that gives no answer
 * is skipped for a while (failover), and if all are down the one that comes
 * back first is tried. The easy handle is reused so curl's connection cache
 * keeps connections alive between requests.
 */
#include "es.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "log.h"

/* the missing X-Elastic-Product header was noted (finish) */
static bool product_noted = false;

/* How long a node that gave no answer is passed over. */
#define ES_NODE_DOWN_US (5 * 1000000)

static PG2ES_MUSTCHECK struct curl_slist *make_headers(Es *es, const char *content_type, bool gzip);
static size_t on_body(char *data, size_t size, size_t nmemb, void *arg);
static size_t on_header(char *data, size_t size, size_t nmemb, void *arg);
static PG2ES_MUSTCHECK bool gzip_body(Es *es, const char *body, size_t len);
static size_t pick_node(Es *es, int64_t now);
static PG2ES_MUSTCHECK bool set_options(Es *es, const char *method, const char *body, size_t len, bool ndjson);
static void finish(Es *es, CURLcode code);
static const char *find_text(const char *hay, size_t len, const char *needle);

/*
 * make_headers: the request headers for one content type, or NULL when out
 * of memory. "Expect:" turns off curl's 100-continue round trip before large
 * bodies.
 */
static PG2ES_MUSTCHECK struct curl_slist *
make_headers(Es *es, const char *content_type, bool gzip)
{
	struct curl_slist *list = curl_slist_append(NULL, content_type);
	struct curl_slist *next;

	if (list && (next = curl_slist_append(list, "Expect:")) != NULL)
		list = next;
	else
	{
		curl_slist_free_all(list);
		return NULL;
	}
	if (gzip && (next = curl_slist_append(list, "Content-Encoding: gzip")) != NULL)
		list = next;
	else if (gzip)
	{
		curl_slist_free_all(list);
		return NULL;
	}
	if (es->auth_header && (next = curl_slist_append(list, es->auth_header)) != NULL)
		list = next;
	else if (es->auth_header)
	{
		curl_slist_free_all(list);
		return NULL;
	}
	return list;
}

/*
 * es_redact_url: url for logs, with any user:password@ replaced by ***@ (a
 * URL may carry credentials; logs must not). malloc'd, NULL when out of
 * memory.
 */
char *
es_redact_url(const char *url)
{
	const char *scheme = strstr(url, "://");
	const char *host = scheme ? scheme + 3 : url;
	const char *at = strchr(host, '@');
	const char *slash = strchr(host, '/');
	char	   *out;

	if (at == NULL || (slash && slash < at))
		return strdup(url);
	out = malloc(strlen(url) + 4);
	if (out)
		snprintf(out, strlen(url) + 4, "%.*s***%s", (int) (host - url), url, at);
	return out;
}

/*
 * es_options_from_config: the nodes, credentials and timeout of cfg
 * (borrowed: it must outlive the client), gzip off; the streaming pipeline
 * turns on --es-gzip for its _bulk bodies itself.
 */
void
es_options_from_config(EsOptions *opt, const Config *cfg)
{
	memset(opt, 0, sizeof(*opt));
	opt->urls = cfg->es_urls;
	opt->nurls = cfg->nes_urls;
	opt->user = cfg->es_user;
	opt->password = cfg->es_password;
	opt->api_key = cfg->es_api_key;
	opt->cacert = cfg->es_cacert;
	opt->timeout_ms = cfg->es_timeout_ms;
}

/*
 * es_init: set up curl for the given nodes and credentials (opt's strings
 * are borrowed and must outlive the Es). Returns false (logged) when curl
 * cannot be set up, with nothing to free (common.h).
 */
bool
es_init(Es *es, const EsOptions *opt)
{
	size_t		i;
	bool		displayed;

	memset(es, 0, sizeof(*es));
	es->opt = *opt;
	buf_init(&es->response);
	buf_init(&es->gz);
	es->down_until = calloc(opt->nurls, sizeof(int64_t));
	es->display = calloc(opt->nurls, sizeof(char *));
	displayed = es->display != NULL;
	for (i = 0; displayed && i < opt->nurls; i++)
		displayed = (es->display[i] = es_redact_url(opt->urls[i])) != NULL;
	es->multi = curl_multi_init();
	es->easy = curl_easy_init();
	if (opt->api_key)
	{
		size_t		n = strlen(opt->api_key) + sizeof("Authorization: ApiKey ");

		es->auth_header = malloc(n);
		if (es->auth_header)
			snprintf(es->auth_header, n, "Authorization: ApiKey %s", opt->api_key);
	}
	es->headers = make_headers(es, "Content-Type: application/x-ndjson", opt->gzip);
	es->json_headers = make_headers(es, "Content-Type: application/json", false);
	if (!displayed || es->down_until == NULL || es->multi == NULL || es->easy == NULL ||
		es->headers == NULL || es->json_headers == NULL || (opt->api_key && es->auth_header == NULL))
	{
		log_error("could not initialize the HTTP client");
		es_free(es);
		return false;
	}
	return true;
}

/*
 * es_init_lane: as es_init, but the Es shares the multi handle of owner
 * (an Es set up by es_init, which must outlive it and be freed after it),
 * so that one wait (es_wait on owner) covers the requests of both and
 * es_drive on either finishes them all; its first request goes to node
 * first_node modulo the number of nodes.
 */
bool
es_init_lane(Es *es, const EsOptions *opt, Es *owner, size_t first_node)
{
	CURLM	   *own;

	if (!es_init(es, opt))
		return false;
	own = es->multi;
	es->multi = owner->multi;
	es->shared_multi = true;
	es->node = first_node % opt->nurls;
	curl_multi_cleanup(own);
	return true;
}

/*
 * es_free: abort any request and release curl.
 */
void
es_free(Es *es)
{
	size_t		i;

	es_cancel(es);
	if (es->easy)
		curl_easy_cleanup(es->easy);
	if (es->multi && !es->shared_multi)
		curl_multi_cleanup(es->multi);
	curl_slist_free_all(es->headers);
	curl_slist_free_all(es->json_headers);
	if (es->auth_header)
	{
		/* do not leave the key in freed memory */
		memset(es->auth_header, 0, strlen(es->auth_header));
		free(es->auth_header);
	}
	free(es->down_until);
	for (i = 0; es->display && i < es->opt.nurls; i++)
		free(es->display[i]);
	free(es->display);
	buf_free(&es->response);
	buf_free(&es->gz);
	memset(es, 0, sizeof(*es));
}

/* curl write callback: append the response body to es->response */
static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	Es		   *es = arg;

	if (!buf_append(&es->response, data, size * nmemb))
		return 0;				/* makes curl fail the transfer */
	return size * nmemb;
}

/* curl header callback: notice X-Elastic-Product: Elasticsearch */
static size_t
on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	Es		   *es = arg;
	size_t		n = size * nmemb;
	static const char name[] = "x-elastic-product:";

	if (n > sizeof(name) && strncasecmp(data, name, sizeof(name) - 1) == 0)
		es->product_seen = true;
	return n;
}

/*
 * gzip_body: compress body into es->gz. Returns false when zlib fails.
 */
static PG2ES_MUSTCHECK bool
gzip_body(Es *es, const char *body, size_t len)
{
	z_stream	zs;
	int			rc;
	uLong		bound;

	memset(&zs, 0, sizeof(zs));
	/* 15 + 16: a gzip wrapper, which is what Content-Encoding: gzip means */
	if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return false;
	bound = deflateBound(&zs, (uLong) len);
	buf_reset(&es->gz);
	if (!buf_reserve(&es->gz, bound))
	{
		deflateEnd(&zs);
		return false;
	}
	zs.next_in = (Bytef *) body;
	zs.avail_in = (uInt) len;
	zs.next_out = (Bytef *) es->gz.data;
	zs.avail_out = (uInt) bound;
	rc = deflate(&zs, Z_FINISH);
	es->gz.len = zs.total_out;
	deflateEnd(&zs);
	return rc == Z_STREAM_END;
}

/*
 * pick_node: the next node in round-robin order that is not marked down,
 * or, if all are, the one that comes back first.
 */
static size_t
pick_node(Es *es, int64_t now)
{
	size_t		i;
	size_t		best = es->node % es->opt.nurls;

	for (i = 0; i < es->opt.nurls; i++)
	{
		size_t		n = (es->node + i) % es->opt.nurls;

		if (es->down_until[n] <= now)
			return n;
		if (es->down_until[n] < es->down_until[best])
			best = n;
	}
	return best;
}

/*
 * set_options: configure the easy handle for one request. Returns false if
 * curl refuses an option (the message is logged).
 */
static PG2ES_MUSTCHECK bool
set_options(Es *es, const char *method, const char *body, size_t len, bool ndjson)
{
	CURLcode	rc = CURLE_OK;
	bool		custom = strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0;

#define SETOPT(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(es->easy, opt, val); } while (0)
	SETOPT(CURLOPT_URL, es->url);
	/* HTTP(S) only, redirects included: never file://, ftp:// and the like */
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	SETOPT(CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
	SETOPT(CURLOPT_REDIR_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (body == NULL && !custom)
		SETOPT(CURLOPT_HTTPGET, 1L);
	else
	{
		SETOPT(CURLOPT_POST, 1L);
		SETOPT(CURLOPT_POSTFIELDS, body ? body : "");
		SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) (body ? len : 0));
	}
	/* the handle keeps options between requests: set or clear it each time */
	SETOPT(CURLOPT_CUSTOMREQUEST, custom ? method : NULL);
	SETOPT(CURLOPT_HTTPHEADER, ndjson ? es->headers : es->json_headers);
	SETOPT(CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(CURLOPT_WRITEDATA, es);
	SETOPT(CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(CURLOPT_HEADERDATA, es);
	SETOPT(CURLOPT_ERRORBUFFER, es->result.error);
	/* es_drive finds the Es of a finished transfer by it (shared multi) */
	SETOPT(CURLOPT_PRIVATE, (void *) es);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	SETOPT(CURLOPT_TIMEOUT_MS, es->opt.timeout_ms);
	SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(CURLOPT_ACCEPT_ENCODING, "");
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	if (es->opt.cacert)
		SETOPT(CURLOPT_CAINFO, es->opt.cacert);
	if (es->opt.user)
	{
		SETOPT(CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
		SETOPT(CURLOPT_USERNAME, es->opt.user);
		SETOPT(CURLOPT_PASSWORD, es->opt.password);
	}
#undef SETOPT
	if (rc != CURLE_OK)
		log_error("could not set up an HTTP request: %s", curl_easy_strerror(rc));
	return rc == CURLE_OK;
}

/*
 * es_request: start a method request for path (with its query string) on
 * the next node, with body[0..len) (NULL = none; GET never has one); ndjson
 * picks the _bulk content type (and gzip when enabled), else
 * application/json. body is borrowed and must stay unchanged until the
 * result is taken. Returns false (logged) when the request could not be
 * started; no request is then in flight.
 */
bool
es_request(Es *es, const char *method, const char *path, const char *body, size_t len,
		   bool ndjson)
{
	const char *base;
	size_t		blen;
	CURLMcode	mc;

	es->node = pick_node(es, pg2es_now_us());
	base = es->opt.urls[es->node];
	blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if ((size_t) snprintf(es->url, sizeof(es->url), "%.*s%s", (int) blen, base, path) >= sizeof(es->url))
	{
		log_error("Elasticsearch URL too long");
		return false;
	}
	if (ndjson && es->opt.gzip && len > 0)
	{
		if (!gzip_body(es, body, len))
		{
			log_error("could not compress a request body");
			return false;
		}
		body = es->gz.data;
		len = es->gz.len;
	}
	buf_reset(&es->response);
	es->result.error[0] = '\0';
	es->product_seen = false;
	if (!set_options(es, method, body, len, ndjson))
		return false;
	if ((mc = curl_multi_add_handle(es->multi, es->easy)) != CURLM_OK)
	{
		log_error("could not start an HTTP request: %s", curl_multi_strerror(mc));
		return false;
	}
	es->busy = true;
	es->finished = false;
	es->started_us = pg2es_now_us();
	es->result.bytes_sent = len;
	return true;
}

/*
 * finish: record the outcome of the transfer that ended with code.
 */
static void
finish(Es *es, CURLcode code)
{
	long		status = 0;
	int64_t		now = pg2es_now_us();

	if (code == CURLE_OK &&
		curl_easy_getinfo(es->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
		status = 0;
	if (code != CURLE_OK && es->result.error[0] == '\0')
		snprintf(es->result.error, sizeof(es->result.error), "%s", curl_easy_strerror(code));
	es->result.status = status;
	es->result.body = &es->response;
	es->result.latency_us = now - es->started_us;
	es->result.node = es->display[es->node];
	if (status == 0 || status == 502 || status == 503)
		es->down_until[es->node] = now + ES_NODE_DOWN_US;
	else
		es->down_until[es->node] = 0;

	/*
	 * OpenSearch and proxies may omit the header: say so once per process
	 * (every lane, the start-up calls and verify each have an Es; a line per
	 * client would break into the load's progress report).
	 */
	if (status >= 200 && status < 300 && !es->product_seen && !product_noted)
	{
		log_info("%s does not send \"X-Elastic-Product: Elasticsearch\" (OpenSearch?); continuing",
				 es->result.node);
		product_noted = true;
	}
	es->node = (es->node + 1) % es->opt.nurls;
	es->busy = false;
	es->finished = true;
}

/*
 * es_drive: let curl make progress; notices finished transfers, those of
 * every Es sharing this one's multi handle included (es_init_lane): each
 * is recorded in its own Es. Returns false (logged) only when curl's multi
 * interface itself fails.
 */
bool
es_drive(Es *es)
{
	int			running;
	int			left;
	CURLMsg    *msg;
	CURLMcode	mc;
	char	   *owner;

	if ((mc = curl_multi_perform(es->multi, &running)) != CURLM_OK)
	{
		log_error("HTTP client failure: %s", curl_multi_strerror(mc));
		return false;
	}
	while ((msg = curl_multi_info_read(es->multi, &left)) != NULL)
	{
		Es		   *done;

		if (msg->msg != CURLMSG_DONE ||
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &owner) != CURLE_OK ||
			owner == NULL)
			continue;
		done = (Es *) (void *) owner;
		finish(done, msg->data.result);
		if ((mc = curl_multi_remove_handle(done->multi, done->easy)) != CURLM_OK)
		{
			log_error("HTTP client failure: %s", curl_multi_strerror(mc));
			return false;
		}
	}
	return true;
}

/*
 * es_wait: sleep until curl's sockets or one of the extra fds is ready, or
 * timeout_ms passes. Returns false (logged) when curl fails.
 */
bool
es_wait(Es *es, struct curl_waitfd *extra, unsigned int nextra, int timeout_ms)
{
	CURLMcode	mc = curl_multi_poll(es->multi, extra, nextra, timeout_ms, NULL);

	if (mc != CURLM_OK)
	{
		log_error("HTTP client failure: %s", curl_multi_strerror(mc));
		return false;
	}
	return true;
}

/*
 * es_take_result: if a request has finished since the last call, copy its
 * outcome to *result (the body stays owned by the Es, valid until the next
 * es_request) and return true.
 */
bool
es_take_result(Es *es, EsResult *result)
{
	if (!es->finished)
		return false;
	es->finished = false;
	*result = es->result;
	return true;
}

/*
 * es_cancel: abandon the request in flight, if any.
 */
void
es_cancel(Es *es)
{
	if (es->busy && curl_multi_remove_handle(es->multi, es->easy) != CURLM_OK)
		log_warning("could not abandon an HTTP request cleanly");
	es->busy = false;
	es->finished = false;
}

/*
 * es_escape: text[0..len) percent-encoded for a URL path, malloc'd (free
 * with curl_free); NULL when out of memory.
 */
char *
es_escape(Es *es, const char *text, size_t len)
{
	return curl_easy_escape(es->easy, text, (int) len);
}

/*
 * es_index_path: "/" + the percent-encoded index name + suffix
 * (e.g. "/_mapping"), malloc'd; NULL when out of memory.
 */
char *
es_index_path(Es *es, const char *index, const char *suffix)
{
	char	   *escaped = es_escape(es, index, strlen(index));
	char	   *path;
	size_t		n;

	if (escaped == NULL)
		return NULL;
	n = strlen(escaped) + strlen(suffix) + 2;
	if ((path = malloc(n)) != NULL)
		snprintf(path, n, "/%s%s", escaped, suffix);
	curl_free(escaped);
	return path;
}

/*
 * es_status_transient: whether an answer with this HTTP status (0 = none)
 * may turn out otherwise if the same request is sent again later: no
 * answer, 429, 5xx, and 401/403 (credentials or privileges being fixed).
 */
bool
es_status_transient(long status)
{
	return status == 0 || status == 429 || status >= 500 || status == 401 || status == 403;
}

/*
 * find_text: the first occurrence of the NUL-terminated needle in
 * hay[0..len), or NULL.
 */
static const char *
find_text(const char *hay, size_t len, const char *needle)
{
	size_t		n = strlen(needle);
	size_t		i;

	for (i = 0; n <= len && i <= len - n; i++)
		if (memcmp(hay + i, needle, n) == 0)
			return hay + i;
	return NULL;
}

/*
 * es_forbidden_action: the action a security refusal in body[0..len) names
 * (body need not be NUL-terminated), copied into action[size]: OpenSearch
 * says "no permissions for [ACTION] and User [...]", Elasticsearch "action
 * [ACTION] is unauthorized for user [...]", in the error of a whole
 * request, a shard failure or a bulk item alike. Nested brackets are kept
 * ("indices:admin/refresh[s]"). Returns false, with action "", when body
 * names none (or the name does not fit).
 */
bool
es_forbidden_action(const char *body, size_t len, char *action, size_t size)
{
	static const char *const markers[] = {"no permissions for [", "action ["};
	const char *end = body + len;
	size_t		m;

	if (size == 0)
		return false;
	action[0] = '\0';
	for (m = 0; body && m < sizeof(markers) / sizeof(markers[0]); m++)
	{
		const char *p = find_text(body, len, markers[m]);
		const char *q;
		int			depth = 1;

		if (p == NULL)
			continue;
		p += strlen(markers[m]);
		for (q = p; q < end && depth > 0; q++)
			depth += *q == '[' ? 1 : *q == ']' ? -1 : 0;
		if (depth != 0 || (size_t) (q - 1 - p) >= size || q - 1 == p)
			continue;
		memcpy(action, p, (size_t) (q - 1 - p));
		action[q - 1 - p] = '\0';
		return true;
	}
	return false;
}

/*
 * es_privilege_for: what grants action (as es_forbidden_action found it),
 * in Elasticsearch's privilege names and OpenSearch's permissions, for the
 * log; a static string. The README's role "pg2es" lists them all.
 */
const char *
es_privilege_for(const char *action)
{
	static const struct
	{
		const char *prefix;
		const char *grant;
	}			table[] = {
		{"cluster:monitor/main", "the cluster privilege \"monitor\" (Elasticsearch) or the cluster permission \"cluster:monitor/main\" (OpenSearch)"},
		{"indices:admin/refresh", "the index privilege \"maintenance\" (Elasticsearch) or the index permission \"indices:admin/refresh*\" (OpenSearch)"},
		{"indices:admin/create", "the index privilege \"create_index\" (Elasticsearch) or the index permission \"indices:admin/create\" (OpenSearch)"},
		{"indices:admin/auto_create", "the index privilege \"create_index\" (Elasticsearch) or the index permission \"indices:admin/create\" (OpenSearch)"},
		{"indices:admin/mapping/", "the index privilege \"write\" (Elasticsearch) or the index permission \"indices:admin/mapping/put\" (OpenSearch)"},
		{"indices:data/write/bulk[", "the index privilege \"write\" (Elasticsearch) or the index permission \"indices:data/write/bulk*\" (OpenSearch)"},
		{"indices:data/write/bulk", "the index privilege \"write\" (Elasticsearch) or the cluster permission \"indices:data/write/bulk\" (OpenSearch)"},
		{"indices:data/write/delete/byquery", "the index privileges \"read\" and \"write\" (Elasticsearch) or the index permission \"indices:data/write/delete/byquery\" (OpenSearch)"},
		{"indices:data/write/", "the index privilege \"write\" (Elasticsearch) or the index permissions \"indices:data/write/index\", \"indices:data/write/update\" and \"indices:data/write/delete\" (OpenSearch)"},
		{"indices:data/read/mget[", "the index privilege \"read\" (Elasticsearch) or the index permission \"indices:data/read/mget*\" (OpenSearch)"},
		{"indices:data/read/mget", "the index privilege \"read\" (Elasticsearch) or the cluster permission \"indices:data/read/mget\" (OpenSearch)"},
		{"indices:data/read/scroll", "the index privilege \"read\" (Elasticsearch) or the cluster permissions \"indices:data/read/scroll\" and \"indices:data/read/scroll/clear\" (OpenSearch)"},
		{"indices:data/read/", "the index privilege \"read\" (Elasticsearch) or the index permissions \"indices:data/read/search\" and \"indices:data/read/get\" (OpenSearch)"},
	};
	size_t		i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strncmp(action, table[i].prefix, strlen(table[i].prefix)) == 0)
			return table[i].grant;
	return "the privilege for it";
}
