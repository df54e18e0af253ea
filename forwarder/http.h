/*
 * http.h
 *		Metrics and health endpoint (off unless --metrics-port is given).
 *
 *	GET /healthz  200 "ok" when connected to PostgreSQL and Elasticsearch
 *	              answers, else 503
 *	GET /metrics  Prometheus text format
 *	GET /wait?lsn=X[&timeout=S][&searchable=1]
 *	              200 once the forwarder has confirmed X (everything before
 *	              it is stored), 504 after S seconds (default 60, 0 = no
 *	              limit) without, 400 for a bad or missing parameter;
 *	              searchable=1 refreshes the indexes (refresh.h) before the
 *	              200 (502 when a refresh fails)
 */
#ifndef PG2ES_HTTP_H
#define PG2ES_HTTP_H

#include "buf.h"
#include "common.h"
#include "es.h"
#include "refresh.h"

#define METRICS_MAX_ERROR_TYPES 16
#define METRICS_MAX_LANES 64

/* Counters and gauges, updated by the main loop, read by /metrics. */
typedef struct Metrics
{
	uint64_t	documents_sent; /* items sent in _bulk requests */
	uint64_t	bulk_requests;
	double		bulk_seconds_sum;	/* latency of those requests */
	uint64_t	bulk_bytes;		/* request body bytes on the wire */
	uint64_t	retries;		/* requests or items sent again */
	uint64_t	dead_lettered;
	uint64_t	truncates;
	uint64_t	pauses;			/* replication connection let go (stall) */
	uint64_t	error_count[METRICS_MAX_ERROR_TYPES + 1];	/* last = other */
	char		error_type[METRICS_MAX_ERROR_TYPES][64];
	Lsn			confirmed_lsn;
	Lsn			server_wal_end;
	double		lag_seconds;	/* oldest unconfirmed commit's wait; 0 = none */
	bool		pg_connected;
	bool		es_ok;
	bool		es_forbidden;	/* the last answer was a 403 (a privilege is
								 * missing) */
	/* the lanes of the pipeline (sync.c) */
	uint32_t	lanes;			/* data lanes */
	uint32_t	requests_in_flight; /* to Elasticsearch, all lanes */
	uint32_t	lane_depth[METRICS_MAX_LANES];	/* batches held per lane */
	/* initial load (load.c): tables, and the table being copied */
	uint32_t	load_tables_total;
	uint32_t	load_tables_done;
	uint64_t	load_rows_done;
	double		load_rows_estimated;	/* planner estimate, 0 if unknown */
	double		load_rows_per_second;
	const char *load_table;		/* its name (borrowed from load.c), or NULL */
	/* the online reindex or backfill being carried out (reindex.c) */
	int64_t		reindex_request;	/* its id, 0 = none */
	char		reindex_table[256];
	char		reindex_step[16];
	uint64_t	reindex_rows_done;
	double		reindex_rows_estimated;
	/* the replication slot (slot.c) */
	uint64_t	slot_lost;		/* times the slot was found lost */
	bool		slot_known;		/* the slot figures below were read */
	int64_t		slot_retained_wal_bytes;
	int64_t		slot_safe_wal_size_bytes;	/* INT64_MIN: none given */
	int64_t		slot_max_wal_keep_bytes;	/* -1: unlimited */
} Metrics;

/* connections served at once (parked GET /wait included) */
#define HTTP_MAX_CLIENTS 64
/* sockets a caller of http_wait may add (the initial load's jobs and one) */
#define HTTP_MAX_CALLER_FDS 80
/* the largest request head read */
#define HTTP_MAX_HEAD 2048

typedef enum HttpClientState
{
	HTTP_CLIENT_FREE,			/* slot unused */
	HTTP_CLIENT_READING,		/* the request head is arriving */
	HTTP_CLIENT_PARKED,			/* GET /wait, until confirmed or timed out */
	HTTP_CLIENT_REFRESHING,		/* GET /wait&searchable=1, confirmed: until
								 * its refresh round is over */
	HTTP_CLIENT_WRITING			/* the answer is going out */
} HttpClientState;

/* One connection to the endpoint (http.c). */
typedef struct HttpClient
{
	int			fd;				/* -1 when free */
	HttpClientState state;
	char		head[HTTP_MAX_HEAD + 1];	/* the request so far, NUL-ended */
	size_t		head_len;
	int64_t		deadline_us;	/* reading/writing: give up; parked: time out
								 * (0 = never) */
	Lsn			lsn;			/* parked: the position waited for */
	bool		searchable;		/* parked: refresh the indexes before 200 */
	uint64_t	round;			/* refreshing: the refresh round awaited */
	Buf			out;			/* the answer */
	size_t		sent;			/* bytes of out sent */
} HttpClient;

typedef struct Http
{
	int			listen_fd;		/* -1 when off */
	HttpClient *clients;		/* HTTP_MAX_CLIENTS, owned; NULL when off */
	Refresher  *refresher;		/* for searchable waits (borrowed), or NULL */
} Http;

extern void metrics_item_error(Metrics *m, const char *type);
extern PG2ES_MUSTCHECK bool http_open(Http *http, const char *address, int port);
extern PG2ES_MUSTCHECK bool http_wait(Http *http, const Metrics *m, Es *es,
									  struct curl_waitfd *fds, unsigned int nfds,
									  int timeout_ms);
extern void http_serve_refreshes(Http *http, Refresher *r);
extern void http_close(Http *http);

#endif							/* PG2ES_HTTP_H */
