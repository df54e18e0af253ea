/*
 * http.c
 *		Metrics and health endpoint (see http.h).
 *
 * A scrape is tiny and rare, so a connection is served in one go when the
 * listening socket is readable: accept, read the request line with a short
 * receive timeout, write the answer, close. The socket is loopback-bound by
 * default; the counters hold no secrets.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

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

	http->listen_fd = -1;
	if (port == 0)
		return true;
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
 * answer: read one request from fd and write the response.
 */
static void
answer(int fd, const Metrics *m)
{
	char		req[1024];
	ssize_t		n;
	Buf			body;
	Buf			resp;
	const char *status = "404 Not Found";
	struct timeval tv = {0, 200000};

	buf_init(&body);
	buf_init(&resp);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
		(n = recv(fd, req, sizeof(req) - 1, 0)) <= 0)
		return;
	req[n] = '\0';
	if (strncmp(req, "GET /metrics ", 13) == 0)
		status = format_metrics(&body, m) ? "200 OK" : "500 Internal Server Error";
	else if (strncmp(req, "GET /healthz ", 13) == 0)
	{
		bool		ready = m->pg_connected && m->es_ok;

		status = ready ? "200 OK" : "503 Service Unavailable";
		if (!buf_append_str(&body, ready ? "ok\n" : "not ready\n"))
			status = "500 Internal Server Error";
	}
	if (buf_printf(&resp, "HTTP/1.1 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
				   "Content-Length: %zu\r\nConnection: close\r\n\r\n",
				   status, body.len) &&
		buf_append(&resp, body.data, body.len) &&
		send(fd, resp.data, resp.len, MSG_NOSIGNAL) < 0)
		log_debug("metrics client went away: %s", strerror(errno));
	buf_free(&body);
	buf_free(&resp);
}

/*
 * http_serve: answer every connection waiting on the listening socket.
 */
void
http_serve(Http *http, const Metrics *m)
{
	int			fd;

	if (http->listen_fd < 0)
		return;
	while ((fd = accept(http->listen_fd, NULL, NULL)) >= 0)
	{
		/* accepted sockets do not inherit O_NONBLOCK on Linux */
		answer(fd, m);
		close(fd);
	}
}

/*
 * http_wait: the one wait of the program: sleep until curl's sockets of es,
 * one of the nfds caller's fds, or the metrics socket is ready, or
 * timeout_ms passes, and answer the metrics clients that are waiting. fds
 * must have room for nfds + 1 entries: the last is this function's (the
 * caller's revents are left as poll set them). http may be NULL (no
 * endpoint, as in verify). Returns false (logged) when curl fails.
 */
bool
http_wait(Http *http, const Metrics *m, Es *es, struct curl_waitfd *fds, unsigned int nfds,
		  int timeout_ms)
{
	bool		listening = http != NULL && http->listen_fd >= 0;

	if (listening)
	{
		fds[nfds].fd = http->listen_fd;
		fds[nfds].events = POLLIN;
		fds[nfds].revents = 0;
	}
	if (!es_wait(es, fds, nfds + (listening ? 1 : 0), timeout_ms < 0 ? 0 : timeout_ms))
		return false;
	if (listening && fds[nfds].revents)
		http_serve(http, m);
	return true;
}

/*
 * http_close: stop listening.
 */
void
http_close(Http *http)
{
	if (http->listen_fd >= 0)
		close(http->listen_fd);
	http->listen_fd = -1;
}
