/*
 * bulkresp.h
 *		Reading Elasticsearch _bulk responses and deciding each item's fate.
 *
 * Pure: no I/O. Requests ask for BULKRESP_FILTER_PATH so a clean response
 * is small but still has one entry per item, in request order (dropping the
 * successful items, as filter_path=items.*.error alone does, would break the
 * position mapping).
 */
#ifndef PG2ES_BULKRESP_H
#define PG2ES_BULKRESP_H

#include "common.h"
#include "frame.h"

#define BULKRESP_FILTER_PATH "errors,items.*.status,items.*.error,items.*._id"

/* What to do with one item after a response. */
typedef enum ItemOutcome
{
	ITEM_DONE,					/* stored, or already superseded: acknowledge */
	ITEM_RETRY,					/* transient: send again later */
	ITEM_FAILED					/* permanent: dead-letter (or stop) */
} ItemOutcome;

/* What to do with a whole request, from its HTTP status. */
typedef enum RequestOutcome
{
	REQUEST_READ_ITEMS,			/* 200: look at every item */
	REQUEST_SPLIT,				/* 400/413: one item spoils the request */
	REQUEST_RETRY				/* anything else, including no answer */
} RequestOutcome;

/* One item's result as read from the response. */
typedef struct BulkRespItem
{
	int			status;			/* HTTP status of the item */
	char	   *error;			/* malloc'd compact JSON error object, or NULL */
	char	   *error_type;		/* malloc'd error.type, or NULL */
} BulkRespItem;

extern PG2ES_MUSTCHECK bool bulkresp_parse(const char *body, size_t len,
										   const ItemAction *sent, size_t nsent,
										   BulkRespItem *items,
										   char *errbuf, size_t errlen);
extern PG2ES_MUSTCHECK bool bulkresp_parse_json(const char *body, size_t len,
												const ItemAction *sent, size_t nsent,
												BulkRespItem *items,
												char *errbuf, size_t errlen);
extern void bulkresp_items_free(BulkRespItem *items, size_t n);
extern ItemOutcome bulkresp_item_outcome(ItemAction action, int status);
extern ItemOutcome bulkresp_answered_outcome(ItemAction action, const BulkRespItem *item);
extern RequestOutcome bulkresp_request_outcome(long http_status);
extern PG2ES_MUSTCHECK char *bulkresp_request_error(long http_status, const char *body, size_t len);

#endif							/* PG2ES_BULKRESP_H */
