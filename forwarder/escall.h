/*
 * escall.h
 *		Blocking Elasticsearch requests for the one-off work around the
 *		stream: creating indexes with their mappings, and verify.
 *
 * Wraps a private Es (es.c) and waits for each answer; the streaming
 * pipeline keeps its own Es and never blocks.
 */
#ifndef PG2ES_ESCALL_H
#define PG2ES_ESCALL_H

#include <signal.h>

#include "cfg.h"
#include "es.h"
#include "http.h"

typedef struct EsCall
{
	Es			es;
	volatile sig_atomic_t *stop;	/* set by a signal: give up retrying */
	int			max_attempts;	/* give up after this many; 0 = until stopped */
	Http	   *http;			/* served while waiting, or NULL (borrowed) */
	const Metrics *metrics;		/* what it serves (borrowed) */
	Metrics    *report;			/* es_forbidden kept up to date, or NULL
								 * (borrowed) */
} EsCall;

extern PG2ES_MUSTCHECK bool escall_init(EsCall *call, const Config *cfg,
										volatile sig_atomic_t *stop);
extern void escall_serve(EsCall *call, Http *http, const Metrics *metrics);
extern void escall_report(EsCall *call, Metrics *metrics);
extern void escall_free(EsCall *call);
extern long escall(EsCall *call, const char *method, const char *path,
				   const char *body, size_t len, const Buf **response);

#endif							/* PG2ES_ESCALL_H */
