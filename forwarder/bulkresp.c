/*
 * bulkresp.c
 *		Reading Elasticsearch _bulk responses (jansson) and classifying them.
 *
 * Response shape (with BULKRESP_FILTER_PATH):
 *		{"errors":bool,"items":[{"index":{"_id":"..","status":201}},
 *								{"delete":{"_id":"..","status":404}},
 *								{"index":{"_id":"..","status":400,"error":{"type":..,"reason":..}}}]}
 * one entry per item sent, in request order, keyed by the action sent.
 *
 * An HTTP 200 is not success: every item is looked at. A body that is not
 * JSON, or has a different number of items, or items under other actions,
 * means we cannot tell what happened, so the whole request is retried;
 * versions make resending harmless, and nothing is acknowledged meanwhile.
 */
#include "bulkresp.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const action_names[] = {"index", "create", "update", "delete"};

/*
 * read_item: fill *out from one element of "items". Returns false (errbuf
 * set) unless it is {"<sent action>":{"status":N,...}}.
 */
static bool
read_item(json_t *elem, ItemAction sent, size_t i, BulkRespItem *out,
		  char *errbuf, size_t errlen)
{
	json_t	   *result;
	json_t	   *status;
	json_t	   *error;
	json_t	   *type;

	if (!json_is_object(elem) || json_object_size(elem) != 1 ||
		(result = json_object_get(elem, action_names[sent])) == NULL ||
		!json_is_object(result))
	{
		snprintf(errbuf, errlen, "response item %zu is not a \"%s\" result", i + 1, action_names[sent]);
		return false;
	}
	status = json_object_get(result, "status");
	if (!json_is_integer(status) || json_integer_value(status) < 100 ||
		json_integer_value(status) > 599)
	{
		snprintf(errbuf, errlen, "response item %zu has no valid status", i + 1);
		return false;
	}
	out->status = (int) json_integer_value(status);
	error = json_object_get(result, "error");
	if (error != NULL)
	{
		out->error = json_dumps(error, JSON_COMPACT | JSON_ENCODE_ANY);
		type = json_is_object(error) ? json_object_get(error, "type") : NULL;
		if (json_is_string(type))
			out->error_type = strdup(json_string_value(type));
	}
	return true;
}

/*
 * bulkresp_parse: read a 200 response to a request of nsent items whose
 * actions are sent[]. On success items[0..nsent) are filled (free them with
 * bulkresp_items_free). Returns false, with errbuf set and nothing left
 * allocated, when the response cannot be trusted.
 */
bool
bulkresp_parse(const char *body, size_t len, const ItemAction *sent, size_t nsent,
			   BulkRespItem *items, char *errbuf, size_t errlen)
{
	json_error_t jerr;
	json_t	   *root;
	json_t	   *array;
	size_t		i;

	memset(items, 0, nsent * sizeof(BulkRespItem));
	root = json_loadb(body, len, 0, &jerr);
	if (root == NULL)
	{
		snprintf(errbuf, errlen, "bulk response is not JSON: %s", jerr.text);
		return false;
	}
	array = json_object_get(root, "items");
	if (!json_is_array(array) || json_array_size(array) != nsent)
	{
		snprintf(errbuf, errlen, "bulk response has %zu items for %zu sent",
				 json_is_array(array) ? json_array_size(array) : 0, nsent);
		json_decref(root);
		return false;
	}
	for (i = 0; i < nsent; i++)
	{
		if (!read_item(json_array_get(array, i), sent[i], i, &items[i], errbuf, errlen))
		{
			bulkresp_items_free(items, i + 1);
			json_decref(root);
			return false;
		}
	}
	json_decref(root);
	return true;
}

/*
 * bulkresp_items_free: free what bulkresp_parse allocated in items[0..n).
 */
void
bulkresp_items_free(BulkRespItem *items, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
	{
		free(items[i].error);
		free(items[i].error_type);
		items[i].error = NULL;
		items[i].error_type = NULL;
	}
}

/*
 * bulkresp_item_outcome: the fate of an item of the given action that got
 * status.
 *
 * 409 on a versioned item means the same or a newer version is stored: done.
 * 404 on a delete means the document is already gone: done. (An update has no
 * version, so its 409 is a real conflict, retried.) 429 and 5xx are
 * transient. Other 4xx will fail the same way every time: permanent.
 */
ItemOutcome
bulkresp_item_outcome(ItemAction action, int status)
{
	if (status >= 200 && status <= 299)
		return ITEM_DONE;
	if (status == 404 && action == ITEM_DELETE)
		return ITEM_DONE;
	if (status == 409)
		return action == ITEM_UPDATE ? ITEM_RETRY : ITEM_DONE;
	if (status == 429 || status >= 500)
		return ITEM_RETRY;
	return ITEM_FAILED;
}

/*
 * bulkresp_request_outcome: how to treat a whole _bulk request answered with
 * http_status (0 = no answer: connection failure or timeout).
 *
 * 400 means the request as a whole was refused (an over-long _id, a
 * malformed update body...; nothing applied) and 413 that it was too big:
 * both are cured by splitting. 401/403/406 and the like are configuration or
 * cluster problems; retrying (and saying so in the log) is all we can do
 * without dropping data.
 */
RequestOutcome
bulkresp_request_outcome(long http_status)
{
	if (http_status == 200)
		return REQUEST_READ_ITEMS;
	if (http_status == 400 || http_status == 413)
		return REQUEST_SPLIT;
	return REQUEST_RETRY;
}

/*
 * bulkresp_request_error: a malloc'd compact JSON object describing a whole
 * request failure, for the dead-letter file: the body's "error" member when
 * it has one, otherwise {"type":"http_error","status":N,"reason":"<body>"}
 * with the body cut at 1 kB. Returns NULL only on memory exhaustion.
 */
char *
bulkresp_request_error(long http_status, const char *body, size_t len)
{
	json_t	   *root = json_loadb(body, len, 0, NULL);
	json_t	   *error = root ? json_object_get(root, "error") : NULL;
	char	   *out;

	if (error == NULL)
	{
		json_t	   *reason = json_stringn(body, len > 1024 ? 1024 : len);

		/* a body cut inside a UTF-8 sequence, or not text at all */
		if (reason == NULL)
			reason = json_string("(response body is not UTF-8 text)");

		error = json_pack("{s:s,s:I,s:o*}", "type", "http_error",
						  "status", (json_int_t) http_status, "reason", reason);
		out = error ? json_dumps(error, JSON_COMPACT) : NULL;
		json_decref(error);
	}
	else
		out = json_dumps(error, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(root);
	return out;
}
