/*
 * http.h
 *		Metrics and health endpoint (off unless --metrics-port is given).
 *
 *	GET /healthz  200 "ok" when connected to PostgreSQL and Elasticsearch
 *	              answers, else 503
 *	GET /metrics  Prometheus text format
 */
#ifndef PG2ES_HTTP_H
#define PG2ES_HTTP_H

#include "common.h"
#include "es.h"

#define METRICS_MAX_ERROR_TYPES 16
#define METRICS_MAX_LANES 64

/* Counters and gauges, updated by the main loop, read by /metrics. */
typedef struct Metrics
{
	uint64_t	documents_sent;		/* items sent in _bulk requests */
	uint64_t	bulk_requests;
	double		bulk_seconds_sum;	/* latency of those requests */
	uint64_t	bulk_bytes;			/* request body bytes on the wire */
	uint64_t	retries;			/* requests or items sent again */
	uint64_t	dead_lettered;
	uint64_t	truncates;
	uint64_t	pauses;				/* replication connection let go (stall) */
	uint64_t	error_count[METRICS_MAX_ERROR_TYPES + 1];	/* last = other */
	char		error_type[METRICS_MAX_ERROR_TYPES][64];
	Lsn			confirmed_lsn;
	Lsn			server_wal_end;
	double		lag_seconds;		/* oldest unconfirmed commit's wait; 0 = none */
	bool		pg_connected;
	bool		es_ok;
	bool		es_forbidden;	/* the last answer was a 403 (a privilege is missing) */
	/* the lanes of the pipeline (sync.c) */
	uint32_t	lanes;				/* data lanes */
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
	uint64_t	slot_lost;			/* times the slot was found lost */
	bool		slot_known;			/* the slot figures below were read */
	int64_t		slot_retained_wal_bytes;
	int64_t		slot_safe_wal_size_bytes;	/* INT64_MIN: none given */
	int64_t		slot_max_wal_keep_bytes;	/* -1: unlimited */
} Metrics;

typedef struct Http
{
	int			listen_fd;		/* -1 when off */
} Http;

extern void metrics_item_error(Metrics *m, const char *type);
extern PG2ES_MUSTCHECK bool http_open(Http *http, const char *address, int port);
extern void http_serve(Http *http, const Metrics *m);
extern PG2ES_MUSTCHECK bool http_wait(Http *http, const Metrics *m, Es *es,
									  struct curl_waitfd *fds, unsigned int nfds,
									  int timeout_ms);
extern void http_close(Http *http);

#endif							/* PG2ES_HTTP_H */
