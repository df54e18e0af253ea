/*
 * dlq.h
 *		Dead-letter store for items Elasticsearch refused for good.
 *
 * Two append-only files:
 *	PATH         the refused items, byte for byte as sent: an NDJSON _bulk
 *	             body that can be replayed once the cause is fixed with
 *	             curl -H 'Content-Type: application/x-ndjson'
 *	                  --data-binary @PATH http://host:9200/_bulk
 *	PATH.errors  one JSON object per refused item, in the same order:
 *	             {"ts":"<UTC time>","status":N,"action":<the item's action
 *	             line>,"error":<Elasticsearch's error object>}
 * Keeping the errors out of PATH keeps PATH a valid _bulk body.
 */
#ifndef PG2ES_DLQ_H
#define PG2ES_DLQ_H

#include <stdio.h>

#include "common.h"

typedef struct Dlq
{
	char	   *path;			/* owned */
	FILE	   *items;			/* NULL until the first write */
	FILE	   *errors;
} Dlq;

extern PG2ES_MUSTCHECK bool dlq_init(Dlq *dlq, const char *path);
extern PG2ES_MUSTCHECK bool dlq_write(Dlq *dlq, const char *item, size_t len,
									  int status, const char *error_json);
extern PG2ES_MUSTCHECK bool dlq_sync(Dlq *dlq);
extern void dlq_close(Dlq *dlq);

#endif							/* PG2ES_DLQ_H */
