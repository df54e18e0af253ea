/*
 * http.c
 *		Metrics and health endpoint (see http.h).
 *
 * Served from the program's one wait (http_wait) without ever blocking it:
 * each connection is a small state machine on a non-blocking socket
 * (reading the request head, parked in GET /wait, writing the answer), so
 * a slow client or a long /wait costs a slot, not the stream. The socket
 * is loopback-bound by default; the counters hold no secrets.
 */
#include "http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

/* a client has this long to send its request head, then to take the answer */
#define HTTP_READ_US (2 * 1000000)
#define HTTP_WRITE_US (10 * 1000000)
/* GET /wait's timeout when none is given, in seconds (as pg2es wait's) */
#define HTTP_WAIT_DEFAULT_S 60
/*
 * While a refresh for a searchable wait is under way the wait is cut to
 * this, to drive it: its socket is not among those the wait watches.
 */
#define HTTP_REFRESH_POLL_MS 5

/*
 * metrics_item_error: count an item error of the given Elasticsearch type
 * (NULL = unknown); types beyond the table's size are counted as "other".
 */
void
metrics_item_error(Metrics *m, const char *type)
{
	int			i;

	if (type == NULL)
		type = "unknown";
	for (i = 0; i < METRICS_MAX_ERROR_TYPES; i++)
	{
		if (m->error_type[i][0] == '\0')
			snprintf(m->error_type[i], sizeof(m->error_type[i]), "%s", type);
		if (strncmp(m->error_type[i], type, sizeof(m->error_type[i]) - 1) == 0)
			break;
	}
	m->error_count[i]++;
}

/*
 * http_open: listen on address:port (IPv4). Port 0 leaves the endpoint off.
 * Returns false (logged) when the socket cannot be opened.
 */
bool
http_open(Http *http, const char *address, int port)
{
	struct sockaddr_in sa;
	int			one = 1;
	int			i;

	http->listen_fd = -1;
	http->clients = NULL;
	http->refresher = NULL;
	if (port == 0)
		return true;
	if ((http->clients = calloc(HTTP_MAX_CLIENTS, sizeof(HttpClient))) == NULL)
	{
		log_error("out of memory");
		return false;
	}
	for (i = 0; i < HTTP_MAX_CLIENTS; i++)
		http->clients[i].fd = -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t) port);
	if (inet_pton(AF_INET, address, &sa.sin_addr) != 1)
	{
		log_error("invalid metrics address \"%s\"", address);
		return false;
	}
	http->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (http->listen_fd < 0 ||
		setsockopt(http->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
		bind(http->listen_fd, (struct sockaddr *) &sa, sizeof(sa)) != 0 ||
		listen(http->listen_fd, 8) != 0 ||
		fcntl(http->listen_fd, F_SETFL, O_NONBLOCK) != 0)
	{
		log_error("could not listen on %s:%d for metrics: %s", address, port, strerror(errno));
		http_close(http);
		return false;
	}
	log_info("metrics and health endpoint on http://%s:%d/", address, port);
	return true;
}

static bool append_label_value(Buf *out, const char *text);
static bool append_load_rows(Buf *out, const Metrics *m, const char *state, double value);
static bool format_load_metrics(Buf *out, const Metrics *m);
static bool format_reindex_metrics(Buf *out, const Metrics *m);
static bool format_slot_metrics(Buf *out, const Metrics *m);
static bool format_lane_metrics(Buf *out, const Metrics *m);
static bool format_metrics(Buf *out, const Metrics *m);
static void client_close(HttpClient *c);
static void client_flush(HttpClient *c);
static void client_answer(HttpClient *c, const char *status, const Buf *body, int64_t now);
static void client_answer_text(HttpClient *c, const char *status, const char *text, int64_t now);
static bool query_value(const char *q, const char *name, char *out, size_t size);
static bool unknown_parameter(const char *q, char *name, size_t size);
static void park_wait(HttpClient *c, const char *q, int64_t now);
static void client_dispatch(HttpClient *c, const Metrics *m, int64_t now);
static void client_read(HttpClient *c, const Metrics *m, int64_t now);
static bool client_hung_up(HttpClient *c);
static void client_confirmed(Http *http, HttpClient *c, const Metrics *m, int64_t now);
static void client_watch_waiting(Http *http, HttpClient *c, const Metrics *m, short revents, int64_t now);
static void client_step(Http *http, HttpClient *c, const Metrics *m, short revents, int64_t now);
static void accept_clients(Http *http, int64_t now);
static short client_events(const HttpClient *c);
static int	clients_deadline(const Http *http, int timeout_ms, int64_t now);

/*
 * append_label_value: text as a Prometheus label value (backslash, double
 * quote and newline escaped) into out. Returns false when out of memory.
 */
static bool
append_label_value(Buf *out, const char *text)
{
	const char *p;
	bool		good = true;

	for (p = text; good && *p; p++)
	{
		if (*p == '\\' || *p == '"')
			good = buf_append(out, "\\", 1) && buf_append(out, p, 1);
		else if (*p == '\n')
			good = buf_append_str(out, "\\n");
		else
			good = buf_append(out, p, 1);
	}
	return good;
}

/*
 * append_load_rows: one pg2es_load_table_rows sample (state, value) of the
 * table being copied, named in the label table when known, into out.
 * Returns false when out of memory.
 */
static bool
append_load_rows(Buf *out, const Metrics *m, const char *state, double value)
{
	return buf_append_str(out, "pg2es_load_table_rows{") &&
		(m->load_table == NULL ||
		 (buf_append_str(out, "table=\"") && append_label_value(out, m->load_table) &&
		  buf_append_str(out, "\","))) &&
		buf_printf(out, "state=\"%s\"} %.0f\n", state, value);
}

/*
 * format_load_metrics: the initial load's progress (load.c) into out.
 * Returns false when out of memory.
 */
static bool
format_load_metrics(Buf *out, const Metrics *m)
{
	return buf_printf(out,
					  "# TYPE pg2es_load_tables gauge\npg2es_load_tables{state=\"total\"} %u\n"
					  "pg2es_load_tables{state=\"done\"} %u\n"
					  "# TYPE pg2es_load_table_rows gauge\n",
					  m->load_tables_total, m->load_tables_done) &&
		append_load_rows(out, m, "done", (double) m->load_rows_done) &&
		append_load_rows(out, m, "estimated", m->load_rows_estimated) &&
		buf_printf(out, "# TYPE pg2es_load_rows_per_second gauge\n"
				   "pg2es_load_rows_per_second %.1f\n", m->load_rows_per_second);
}

/*
 * format_reindex_metrics: the online reindex or backfill being carried
 * out (reindex.c), if any: its step and its copy's rows, labelled with
 * its table and request id, into out. Returns false when out of memory.
 */
static bool
format_reindex_metrics(Buf *out, const Metrics *m)
{
	static const char *const kinds[2] = {"done", "estimated"};
	double		values[2] = {(double) m->reindex_rows_done, m->reindex_rows_estimated};
	bool		good = buf_append_str(out, "# TYPE pg2es_reindex_active gauge\n") &&
	buf_printf(out, "pg2es_reindex_active %d\n", m->reindex_request != 0);
	int			i;

	if (m->reindex_request == 0)
		return good;
	good = good && buf_append_str(out, "# TYPE pg2es_reindex_step gauge\npg2es_reindex_step{table=\"") &&
		append_label_value(out, m->reindex_table) &&
		buf_printf(out, "\",request=\"%lld\",step=\"", (long long) m->reindex_request) &&
		append_label_value(out, m->reindex_step) &&
		buf_append_str(out, "\"} 1\n# TYPE pg2es_reindex_rows gauge\n");
	for (i = 0; good && i < 2; i++)
		good = buf_append_str(out, "pg2es_reindex_rows{table=\"") &&
			append_label_value(out, m->reindex_table) &&
			buf_printf(out, "\",state=\"%s\"} %.0f\n", kinds[i], values[i]);
	return good;
}

/*
 * format_slot_metrics: the replication slot's figures (slot.c) into out;
 * the WAL figures only once read, the safe size only where a
 * max_slot_wal_keep_size limits it. Returns false when out of memory.
 */
static bool
format_slot_metrics(Buf *out, const Metrics *m)
{
	if (!buf_printf(out, "# TYPE pg2es_slot_lost_total counter\npg2es_slot_lost_total %llu\n",
					(unsigned long long) m->slot_lost))
		return false;
	if (!m->slot_known)
		return true;
	if (m->slot_retained_wal_bytes >= 0 &&
		!buf_printf(out, "# TYPE pg2es_slot_retained_wal_bytes gauge\n"
					"pg2es_slot_retained_wal_bytes %lld\n", (long long) m->slot_retained_wal_bytes))
		return false;
	if (m->slot_max_wal_keep_bytes >= 0 && m->slot_safe_wal_size_bytes != INT64_MIN &&
		!buf_printf(out, "# TYPE pg2es_slot_safe_wal_size_bytes gauge\n"
					"pg2es_slot_safe_wal_size_bytes %lld\n"
					"# TYPE pg2es_slot_max_wal_keep_bytes gauge\n"
					"pg2es_slot_max_wal_keep_bytes %lld\n",
					(long long) m->slot_safe_wal_size_bytes, (long long) m->slot_max_wal_keep_bytes))
		return false;
	return true;
}

/*
 * format_lane_metrics: the requests in flight and each lane's queue depth
 * (sync.c) into out; false when out of memory.
 */
static bool
format_lane_metrics(Buf *out, const Metrics *m)
{
	uint32_t	i;
	bool		ok;

	ok = buf_printf(out, "# HELP pg2es_requests_in_flight requests to Elasticsearch under way, all lanes\n"
					"# TYPE pg2es_requests_in_flight gauge\npg2es_requests_in_flight %u\n"
					"# TYPE pg2es_lanes gauge\npg2es_lanes %u\n"
					"# HELP pg2es_lane_batches batches a lane holds (sealed, in flight, filling)\n"
					"# TYPE pg2es_lane_batches gauge\n",
					m->requests_in_flight, m->lanes);
	for (i = 0; ok && i < m->lanes && i < METRICS_MAX_LANES; i++)
		ok = buf_printf(out, "pg2es_lane_batches{lane=\"%u\"} %u\n", i, m->lane_depth[i]);
	return ok;
}

/*
 * format_metrics: the Prometheus text exposition of m into out. Returns
 * false when out of memory.
 */
static bool
format_metrics(Buf *out, const Metrics *m)
{
	int			i;
	bool		ok;

	ok = buf_printf(out,
					"# TYPE pg2es_documents_sent_total counter\npg2es_documents_sent_total %llu\n"
					"# TYPE pg2es_bulk_requests_total counter\npg2es_bulk_requests_total %llu\n"
					"# TYPE pg2es_bulk_request_seconds summary\npg2es_bulk_request_seconds_sum %.6f\n"
					"pg2es_bulk_request_seconds_count %llu\n"
					"# TYPE pg2es_bulk_bytes_total counter\npg2es_bulk_bytes_total %llu\n"
					"# TYPE pg2es_retries_total counter\npg2es_retries_total %llu\n"
					"# TYPE pg2es_dead_lettered_total counter\npg2es_dead_lettered_total %llu\n"
					"# TYPE pg2es_truncates_total counter\npg2es_truncates_total %llu\n"
					"# TYPE pg2es_pauses_total counter\npg2es_pauses_total %llu\n"
					"# TYPE pg2es_confirmed_lsn gauge\npg2es_confirmed_lsn %llu\n"
					"# TYPE pg2es_lag_bytes gauge\npg2es_lag_bytes %llu\n"
					"# TYPE pg2es_lag_seconds gauge\npg2es_lag_seconds %.3f\n"
					"# TYPE pg2es_up gauge\npg2es_up{end=\"postgresql\"} %d\npg2es_up{end=\"elasticsearch\"} %d\n"
					"# TYPE pg2es_item_errors_total counter\n",
					(unsigned long long) m->documents_sent,
					(unsigned long long) m->bulk_requests, m->bulk_seconds_sum,
					(unsigned long long) m->bulk_requests,
					(unsigned long long) m->bulk_bytes,
					(unsigned long long) m->retries,
					(unsigned long long) m->dead_lettered,
					(unsigned long long) m->truncates,
					(unsigned long long) m->pauses,
					(unsigned long long) m->confirmed_lsn,
					(unsigned long long) (m->server_wal_end > m->confirmed_lsn
										  ? m->server_wal_end - m->confirmed_lsn : 0),
					m->lag_seconds, m->pg_connected ? 1 : 0, m->es_ok ? 1 : 0);
	/* error types come from Elasticsearch: keep only label-safe characters */
	for (i = 0; ok && i < METRICS_MAX_ERROR_TYPES && m->error_type[i][0]; i++)
		ok = strspn(m->error_type[i], "abcdefghijklmnopqrstuvwxyz_0123456789") == strlen(m->error_type[i])
			? buf_printf(out, "pg2es_item_errors_total{type=\"%s\"} %llu\n", m->error_type[i],
						 (unsigned long long) m->error_count[i])
			: buf_printf(out, "pg2es_item_errors_total{type=\"invalid\"} %llu\n",
						 (unsigned long long) m->error_count[i]);
	if (ok && m->error_count[METRICS_MAX_ERROR_TYPES])
		ok = buf_printf(out, "pg2es_item_errors_total{type=\"other\"} %llu\n",
						(unsigned long long) m->error_count[METRICS_MAX_ERROR_TYPES]);
	if (ok)
		ok = buf_printf(out, "# HELP pg2es_es_forbidden 1 while Elasticsearch refuses pg2es's requests with HTTP 403 (a missing privilege, or an index write block, named in the log); nothing after them is sent meanwhile\n"
						"# TYPE pg2es_es_forbidden gauge\npg2es_es_forbidden %d\n", m->es_forbidden ? 1 : 0);
	return ok && format_lane_metrics(out, m) && format_load_metrics(out, m) &&
		format_reindex_metrics(out, m) &&
		format_slot_metrics(out, m);
}

/*
 * client_close: end connection c and free its slot.
 */
static void
client_close(HttpClient *c)
{
	close(c->fd);
	buf_free(&c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/*
 * client_flush: send what is left of c's answer without blocking; the
 * connection is closed once all is sent or the client is gone, else it
 * waits for the socket to take more (POLLOUT).
 */
static void
client_flush(HttpClient *c)
{
	while (c->sent < c->out.len)
	{
		ssize_t		n = send(c->fd, c->out.data + c->sent, c->out.len - c->sent, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0)
		{
			log_debug("metrics client went away: %s", strerror(errno));
			break;
		}
		c->sent += (size_t) n;
	}
	client_close(c);
}

/*
 * client_answer: queue the answer status (e.g. "200 OK") with body
 * (borrowed) on c and start sending it; c has HTTP_WRITE_US to take it.
 */
static void
client_answer(HttpClient *c, const char *status, const Buf *body, int64_t now)
{
	buf_reset(&c->out);
	if (!buf_printf(&c->out, "HTTP/1.1 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
					"Content-Length: %zu\r\nConnection: close\r\n\r\n",
					status, body->len) ||
		!buf_append(&c->out, body->data, body->len))
	{
		log_warning("out of memory answering a metrics client");
		client_close(c);
		return;
	}
	c->state = HTTP_CLIENT_WRITING;
	c->sent = 0;
	c->deadline_us = now + HTTP_WRITE_US;
	client_flush(c);
}

/*
 * client_answer_text: client_answer with a short text body.
 */
static void
client_answer_text(HttpClient *c, const char *status, const char *text, int64_t now)
{
	Buf			body;

	buf_init(&body);
	if (!buf_append_str(&body, text))
		status = "500 Internal Server Error";
	client_answer(c, status, &body, now);
	buf_free(&body);
}

/*
 * query_value: the percent-decoded value of parameter *name ("lsn") in
 * out[0..size), from the query text q (the part after "?", up to its end
 * or a space); returns false when the parameter is absent, too long or
 * holds a NUL (%00).
 */
static bool
query_value(const char *q, const char *name, char *out, size_t size)
{
	size_t		nlen = strlen(name);
	size_t		n = 0;
	const char *p = q;

	while (*p && *p != ' ' && !(strncmp(p, name, nlen) == 0 && p[nlen] == '='))
	{
		p += strcspn(p, "& ");
		p += *p == '&';
	}
	if (*p == '\0' || *p == ' ')
		return false;
	for (p += nlen + 1; *p && *p != '&' && *p != ' ' && n + 1 < size; p++)
	{
		if (*p == '%' && isxdigit((unsigned char) p[1]) && isxdigit((unsigned char) p[2]))
		{
			char		hex[3] = {p[1], p[2], '\0'};

			out[n++] = (char) strtol(hex, NULL, 16);
			p += 2;
		}
		else
			out[n++] = *p;
		if (out[n - 1] == '\0')
			return false;		/* "%00" would cut the value short */
	}
	out[n] = '\0';
	return *p == '\0' || *p == '&' || *p == ' ';
}

/*
 * unknown_parameter: the first parameter of query q other than lsn,
 * timeout and searchable, as "name" (at most size bytes), or false.
 */
static bool
unknown_parameter(const char *q, char *name, size_t size)
{
	while (*q && *q != ' ')
	{
		size_t		len = strcspn(q, "=& ");

		if (!((len == 3 && strncmp(q, "lsn", 3) == 0) ||
			  (len == 7 && strncmp(q, "timeout", 7) == 0) ||
			  (len == 10 && strncmp(q, "searchable", 10) == 0)))
		{
			snprintf(name, size, "%.*s", (int) (len < size ? len : size - 1), q);
			return true;
		}
		q += strcspn(q, "& ");
		q += *q == '&';
	}
	return false;
}

/*
 * park_wait: GET /wait?lsn=X[&timeout=S][&searchable=1] on c (query q):
 * answered now when bad (400) or already confirmed, else parked until the
 * confirmation passes X or S seconds (default 60, 0 = no limit) pass.
 */
static void
park_wait(HttpClient *c, const char *q, int64_t now)
{
	char		value[64];
	char		why[160];
	char	   *end;
	long		secs = HTTP_WAIT_DEFAULT_S;

	why[0] = '\0';
	if (unknown_parameter(q, value, sizeof(value)))
		snprintf(why, sizeof(why), "unknown parameter \"%s\" (lsn, timeout, searchable)\n", value);
	else if (!query_value(q, "lsn", value, sizeof(value)))
		snprintf(why, sizeof(why), "lsn is required (an LSN such as 0/16B3748)\n");
	else if (!lsn_parse(value, &c->lsn))
		snprintf(why, sizeof(why), "invalid lsn \"%s\" (an LSN such as 0/16B3748)\n", value);
	else if (query_value(q, "timeout", value, sizeof(value)) &&
			 ((secs = strtol(value, &end, 10)) < 0 || secs > 86400 || *end || end == value))
		snprintf(why, sizeof(why), "invalid timeout \"%s\" (seconds, 0 to 86400)\n", value);
	else if (query_value(q, "searchable", value, sizeof(value)) &&
			 strcmp(value, "1") != 0 && strcmp(value, "0") != 0)
		snprintf(why, sizeof(why), "invalid searchable \"%s\" (1 or 0)\n", value);
	if (why[0])
	{
		client_answer_text(c, "400 Bad Request", why, now);
		return;
	}
	c->searchable = query_value(q, "searchable", value, sizeof(value)) && value[0] == '1';
	c->state = HTTP_CLIENT_PARKED;
	c->deadline_us = secs == 0 ? 0 : now + (int64_t) secs * 1000000;
}

/*
 * client_dispatch: answer (or park) c's complete request head.
 */
static void
client_dispatch(HttpClient *c, const Metrics *m, int64_t now)
{
	Buf			body;
	const char *status = "404 Not Found";

	if (strncmp(c->head, "GET /wait?", 10) == 0 || strncmp(c->head, "GET /wait ", 10) == 0)
	{
		park_wait(c, c->head + 9 + (c->head[9] == '?'), now);
		return;
	}
	buf_init(&body);
	if (strncmp(c->head, "GET /metrics ", 13) == 0)
		status = format_metrics(&body, m) ? "200 OK" : "500 Internal Server Error";
	else if (strncmp(c->head, "GET /healthz ", 13) == 0)
	{
		bool		ready = m->pg_connected && m->es_ok;

		status = ready ? "200 OK" : "503 Service Unavailable";
		if (!buf_append_str(&body, ready ? "ok\n" : "not ready\n"))
			status = "500 Internal Server Error";
	}
	client_answer(c, status, &body, now);
	buf_free(&body);
}

/*
 * client_read: take what c has sent; once the request head is complete
 * (the blank line after the headers: answering before it is read would
 * reset the connection under the answer) dispatch it.
 */
static void
client_read(HttpClient *c, const Metrics *m, int64_t now)
{
	ssize_t		n = recv(c->fd, c->head + c->head_len, HTTP_MAX_HEAD - c->head_len, 0);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0)
	{
		client_close(c);
		return;
	}
	c->head_len += (size_t) n;
	c->head[c->head_len] = '\0';
	if (strstr(c->head, "\r\n\r\n") || strstr(c->head, "\n\n"))
		client_dispatch(c, m, now);
	else if (c->head_len == HTTP_MAX_HEAD)
		client_answer_text(c, "431 Request Header Fields Too Large", "request too large\n", now);
}

/*
 * client_hung_up: whether waiting client c, whose socket poll reported
 * readable, has closed its end (anything else it sends is ignored).
 */
static bool
client_hung_up(HttpClient *c)
{
	char		junk[512];
	ssize_t		n = recv(c->fd, junk, sizeof(junk), 0);

	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/*
 * client_confirmed: c's LSN is confirmed: answer 200, or for a searchable
 * wait ask for a refresh round starting now (503 when the forwarder has
 * no index list to refresh).
 */
static void
client_confirmed(Http *http, HttpClient *c, const Metrics *m, int64_t now)
{
	char		text[64];

	if (c->searchable && http->refresher == NULL)
	{
		client_answer_text(c, "503 Service Unavailable",
						   "searchable waits are off: the covered tables could not be listed at start (see the log)\n", now);
		return;
	}
	if (c->searchable)
	{
		c->round = refresh_want(http->refresher);
		c->state = HTTP_CLIENT_REFRESHING;
		return;
	}
	snprintf(text, sizeof(text), "confirmed " LSN_FORMAT "\n", LSN_ARGS(m->confirmed_lsn));
	client_answer_text(c, "200 OK", text, now);
}

/*
 * client_watch_waiting: a parked /wait has its answer once the confirmed
 * position passes its LSN (and, if searchable, its refresh round is over),
 * or at its timeout; a client that hangs up is dropped.
 */
static void
client_watch_waiting(Http *http, HttpClient *c, const Metrics *m, short revents, int64_t now)
{
	char		text[128];
	long		failed;

	if (revents && client_hung_up(c))
		client_close(c);
	else if (c->state == HTTP_CLIENT_PARKED && m->confirmed_lsn >= c->lsn)
		client_confirmed(http, c, m, now);
	else if (c->state == HTTP_CLIENT_REFRESHING &&
			 refresh_done(http->refresher, c->round, &failed))
	{
		if (failed >= 0)
			snprintf(text, sizeof(text), "confirmed, but a refresh failed: HTTP %ld\n", failed);
		else
			snprintf(text, sizeof(text), "confirmed " LSN_FORMAT ", searchable\n", LSN_ARGS(c->lsn));
		client_answer_text(c, failed >= 0 ? "502 Bad Gateway" : "200 OK", text, now);
	}
	else if (c->deadline_us && now >= c->deadline_us)
	{
		snprintf(text, sizeof(text), "timed out: confirmed " LSN_FORMAT ", not yet " LSN_FORMAT "%s\n",
				 LSN_ARGS(m->confirmed_lsn), LSN_ARGS(c->lsn),
				 c->state == HTTP_CLIENT_REFRESHING ? " searchable" : "");
		client_answer_text(c, "504 Gateway Timeout", text, now);
	}
}

/*
 * client_step: move connection c on, given what poll said of its socket.
 */
static void
client_step(Http *http, HttpClient *c, const Metrics *m, short revents, int64_t now)
{
	switch (c->state)
	{
		case HTTP_CLIENT_FREE:
			return;
		case HTTP_CLIENT_READING:
			if (revents)
				client_read(c, m, now);
			else if (now >= c->deadline_us)
				client_close(c);	/* too slow to say what it wants */
			return;
		case HTTP_CLIENT_PARKED:
		case HTTP_CLIENT_REFRESHING:
			client_watch_waiting(http, c, m, revents, now);
			return;
		case HTTP_CLIENT_WRITING:
			if (revents)
				client_flush(c);
			else if (now >= c->deadline_us)
				client_close(c);
			return;
	}
}

/*
 * accept_clients: take every connection waiting on the listening socket
 * into a free slot, non-blocking; when every slot is taken, a newcomer is
 * told so (503) in one try and closed.
 */
static void
accept_clients(Http *http, int64_t now)
{
	int			fd;

	while ((fd = accept(http->listen_fd, NULL, NULL)) >= 0)
	{
		HttpClient *c = NULL;
		int			i;

		for (i = 0; i < HTTP_MAX_CLIENTS && c == NULL; i++)
			if (http->clients[i].state == HTTP_CLIENT_FREE)
				c = &http->clients[i];
		/* accepted sockets do not inherit O_NONBLOCK on Linux */
		if (c == NULL || fcntl(fd, F_SETFL, O_NONBLOCK) != 0)
		{
			static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\n"
			"Connection: close\r\n\r\nbusy\n";

			if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				log_debug("metrics client went away: %s", strerror(errno));
			close(fd);
			continue;
		}
		c->fd = fd;
		c->state = HTTP_CLIENT_READING;
		c->deadline_us = now + HTTP_READ_US;
	}
}

/*
 * client_events: the poll events client c waits for.
 */
static short
client_events(const HttpClient *c)
{
	return c->state == HTTP_CLIENT_WRITING ? POLLOUT : POLLIN;
}

/*
 * clients_deadline: the timeout_ms of a wait, shortened to the nearest
 * deadline of a connection (a parked /wait's timeout, a slow client's).
 */
static int
clients_deadline(const Http *http, int timeout_ms, int64_t now)
{
	int			i;

	for (i = 0; i < HTTP_MAX_CLIENTS; i++)
	{
		const HttpClient *c = &http->clients[i];
		int64_t		ms;

		if (c->state == HTTP_CLIENT_FREE || c->deadline_us == 0)
			continue;
		ms = c->deadline_us <= now ? 0 : (c->deadline_us - now) / 1000 + 1;
		if (ms < timeout_ms)
			timeout_ms = (int) ms;
	}
	return timeout_ms;
}

/*
 * http_wait: the one wait of the program: sleep until curl's sockets of es,
 * one of the nfds caller's fds (at most HTTP_MAX_CALLER_FDS), the
 * endpoint's sockets, or timeout_ms passes, then move the endpoint's
 * connections on. The caller's revents are left as poll set them. http may
 * be NULL (no endpoint, as in verify). Returns false (logged) when curl
 * fails.
 */
bool
http_wait(Http *http, const Metrics *m, Es *es, struct curl_waitfd *fds, unsigned int nfds,
		  int timeout_ms)
{
	struct curl_waitfd all[HTTP_MAX_CALLER_FDS + 1 + HTTP_MAX_CLIENTS];
	int			slot[HTTP_MAX_CLIENTS];
	unsigned int n = nfds;
	int			i;
	int64_t		now = pg2es_now_us();

	if (http == NULL || http->listen_fd < 0)
		return es_wait(es, fds, nfds, timeout_ms < 0 ? 0 : timeout_ms);
	if (nfds > HTTP_MAX_CALLER_FDS)
	{
		log_error("internal error: %u sockets to wait for, at most %d", nfds, HTTP_MAX_CALLER_FDS);
		return false;
	}
	/* a confirmation that came since the last wait answers its waits now */
	for (i = 0; i < HTTP_MAX_CLIENTS; i++)
		if (http->clients[i].state == HTTP_CLIENT_PARKED ||
			http->clients[i].state == HTTP_CLIENT_REFRESHING)
			client_watch_waiting(http, &http->clients[i], m, 0, now);
	memcpy(all, fds, nfds * sizeof(*fds));
	all[n].fd = http->listen_fd;
	all[n].events = POLLIN;
	all[n++].revents = 0;
	for (i = 0; i < HTTP_MAX_CLIENTS; i++)
	{
		slot[i] = -1;
		if (http->clients[i].state != HTTP_CLIENT_FREE)
		{
			slot[i] = (int) n;
			all[n].fd = http->clients[i].fd;
			all[n].events = client_events(&http->clients[i]);
			all[n++].revents = 0;
		}
	}
	timeout_ms = clients_deadline(http, timeout_ms < 0 ? 0 : timeout_ms, now);
	if (http->refresher && refresh_busy(http->refresher) && timeout_ms > HTTP_REFRESH_POLL_MS)
		timeout_ms = HTTP_REFRESH_POLL_MS;
	if (!es_wait(es, all, n, timeout_ms) ||
		(http->refresher && !refresh_step(http->refresher)))
		return false;
	memcpy(fds, all, nfds * sizeof(*fds));
	now = pg2es_now_us();
	for (i = 0; i < HTTP_MAX_CLIENTS; i++)
		client_step(http, &http->clients[i], m, slot[i] < 0 ? 0 : all[slot[i]].revents, now);
	if (all[nfds].revents)
		accept_clients(http, now);
	return true;
}

/*
 * http_serve_refreshes: let GET /wait?searchable=1 refresh with r
 * (borrowed; must outlive http's use), from now on.
 */
void
http_serve_refreshes(Http *http, Refresher *r)
{
	http->refresher = r;
}

/*
 * http_close: stop listening; connections still open (parked waits among
 * them) are closed unanswered.
 */
void
http_close(Http *http)
{
	int			i;

	for (i = 0; http->clients && i < HTTP_MAX_CLIENTS; i++)
		if (http->clients[i].state != HTTP_CLIENT_FREE)
			client_close(&http->clients[i]);
	free(http->clients);
	http->clients = NULL;
	if (http->listen_fd >= 0)
		close(http->listen_fd);
	http->listen_fd = -1;
}
