/*
 * test_bulkresp.c
 *		Unit tests for bulkresp.c: reading _bulk responses, item fates.
 */
#include <stdlib.h>
#include <string.h>

#include "bulkresp.h"
#include "tap.h"

static bool
parse(const char *body, const ItemAction *sent, size_t n, BulkRespItem *items, char *err)
{
	return bulkresp_parse(body, strlen(body), sent, n, items, err, 256);
}

int
main(void)
{
	BulkRespItem items[4];
	char		err[256];
	char	   *e;
	const char *body;
	const ItemAction three[] = {ITEM_INDEX, ITEM_DELETE, ITEM_INDEX};

	ok(parse("{\"errors\":false,\"items\":[{\"index\":{\"_id\":\"1\",\"status\":201}},"
			 "{\"delete\":{\"_id\":\"2\",\"status\":404}},{\"index\":{\"status\":200}}]}",
			 three, 3, items, err), "a clean response parses");
	ok(items[0].status == 201 && items[1].status == 404 && items[2].status == 200 &&
	   items[0].error == NULL, "statuses in request order");
	bulkresp_items_free(items, 3);

	ok(parse(" {\"took\":12, \"errors\" : false,\n\"items\":[{\"index\":{\"status\":201,\"_id\":\"a b\"}},"
			 "{\"delete\":{\"status\":404}},{\"index\":{\"_id\":\"\\u00e9\",\"status\":200}}]}\n",
			 three, 3, items, err), "a clean response with spaces, took and an escaped _id parses");
	ok(items[0].status == 201 && items[1].status == 404 && items[2].status == 200 &&
	   items[2].error == NULL, "its statuses in request order");
	bulkresp_items_free(items, 3);
	ok_refused(!parse("{\"errors\":false,\"items\":[{\"index\":{\"status\":201}},{\"delete\":{\"status\":200}},"
					  "{\"index\":{\"status\":201}}]} x", three, 3, items, err),
			   "trailing bytes after a clean response are refused");
	ok_refused(!parse("{\"errors\":false,\"items\":[{\"index\":{\"status\":201.5}},{\"delete\":{\"status\":200}},"
					  "{\"index\":{\"status\":201}}]}", three, 3, items, err),
			   "a fractional status is refused");
	ok(parse("{\"errors\":false,\"items\":[{\"index\":{\"status\":201,\"status\":500}},{\"delete\":{\"status\":200}},"
			 "{\"index\":{\"status\":201}}]}", three, 3, items, err) && items[0].status == 500,
	   "a repeated key reads as jansson reads it (the last one)");
	bulkresp_items_free(items, 3);

	ok(parse("{\"errors\":true,\"items\":[{\"index\":{\"_id\":\"1\",\"status\":400,\"error\":"
			 "{\"type\":\"document_parsing_exception\",\"reason\":\"[1:15] failed to parse\"}}},"
			 "{\"delete\":{\"status\":200}},{\"index\":{\"status\":429,\"error\":{\"type\":"
			 "\"es_rejected_execution_exception\",\"reason\":\"queue full\"}}}]}",
			 three, 3, items, err), "a response with errors parses");
	ok(items[0].status == 400 && items[0].error && strstr(items[0].error, "failed to parse") &&
	   strcmp(items[0].error_type, "document_parsing_exception") == 0, "item error object and type kept");
	ok(items[2].error_type && strcmp(items[2].error_type, "es_rejected_execution_exception") == 0,
	   "second error type");
	bulkresp_items_free(items, 3);

	ok_refused(!parse("{\"errors\":false,\"items\":[{\"index\":{\"status\":201}},{\"delete\":{\"status\":200}}]}",
					  three, 3, items, err) && strstr(err, "2 items for 3 sent"),
			   "fewer items than sent is refused (%s)", err);
	ok_refused(!parse("<html>502 Bad Gateway</html>", three, 3, items, err), "a body that is not JSON is refused");
	ok_refused(!parse("", three, 3, items, err), "an empty body is refused");
	ok_refused(!parse("{\"errors\":false}", three, 3, items, err), "a response without items is refused");
	ok_refused(!parse("{\"items\":[{\"index\":{\"status\":201}},{\"index\":{\"status\":200}},{\"index\":{\"status\":201}}]}",
					  three, 3, items, err), "an item under another action is refused");
	ok_refused(!parse("{\"items\":[{\"index\":{\"status\":\"201\"}},{\"delete\":{\"status\":200}},{\"index\":{\"status\":201}}]}",
					  three, 3, items, err), "a non-integer status is refused");
	ok_refused(!parse("{\"items\":[{\"index\":{}},{\"delete\":{\"status\":200}},{\"index\":{\"status\":201}}]}",
					  three, 3, items, err), "a missing status is refused");
	ok_refused(!parse("{\"items\":[{\"index\":{\"status\":201},\"x\":1},{\"delete\":{\"status\":200}},{\"index\":{\"status\":201}}]}",
					  three, 3, items, err), "an item with two keys is refused");

	ok(bulkresp_item_outcome(ITEM_INDEX, 201) == ITEM_DONE, "201 done");
	ok(bulkresp_item_outcome(ITEM_INDEX, 409) == ITEM_DONE, "409 on a versioned index item: done");
	ok(bulkresp_item_outcome(ITEM_DELETE, 409) == ITEM_DONE, "409 on a versioned delete: done");
	ok(bulkresp_item_outcome(ITEM_UPDATE, 409) == ITEM_RETRY, "409 on an unversioned update: retried");
	ok(bulkresp_item_outcome(ITEM_DELETE, 404) == ITEM_DONE, "404 on a delete: done");
	ok(bulkresp_item_outcome(ITEM_INDEX, 404) == ITEM_FAILED, "404 on an index item: permanent");
	ok(bulkresp_item_outcome(ITEM_UPDATE, 404) == ITEM_DONE, "404 on a partial update (row deleted later): done");
	ok(bulkresp_item_outcome(ITEM_UPDATE_MUST_EXIST, 404) == ITEM_FAILED, "404 on the partial update of a moved key: permanent");
	ok(bulkresp_item_outcome(ITEM_INDEX, 429) == ITEM_RETRY, "429 retried");
	ok(bulkresp_item_outcome(ITEM_INDEX, 503) == ITEM_RETRY, "503 retried");
	ok(bulkresp_item_outcome(ITEM_INDEX, 403) == ITEM_RETRY, "403 (a write block, a missing privilege) waits");
	ok(bulkresp_item_outcome(ITEM_INDEX, 400) == ITEM_FAILED, "400 permanent");
	{
		BulkRespItem alias_race = {400, "{\"type\":\"invalid_index_name_exception\",\"reason\":\"Invalid index name [a], already exists as alias\"}",
		"invalid_index_name_exception"};
		BulkRespItem bad_name = {400, "{\"type\":\"invalid_index_name_exception\",\"reason\":\"must be lowercase\"}",
		"invalid_index_name_exception"};

		ok(bulkresp_answered_outcome(ITEM_INDEX, &alias_race) == ITEM_RETRY,
		   "400 'already exists as alias' (an auto-create racing a recovering cluster state): retried");
		ok(bulkresp_answered_outcome(ITEM_INDEX, &bad_name) == ITEM_FAILED, "another invalid index name: permanent");
	}

	ok(bulkresp_request_outcome(200) == REQUEST_READ_ITEMS, "200: read the items");
	ok(bulkresp_request_outcome(400) == REQUEST_SPLIT, "400: split");
	ok(bulkresp_request_outcome(413) == REQUEST_SPLIT, "413: split");
	ok(bulkresp_request_outcome(0) == REQUEST_RETRY, "no answer: retry");
	ok(bulkresp_request_outcome(503) == REQUEST_RETRY, "503: retry");
	ok(bulkresp_request_outcome(401) == REQUEST_RETRY, "401: retry (logged), never dropped");

	body = "{\"error\":{\"type\":\"action_request_validation_exception\"},\"status\":400}";
	e = bulkresp_request_error(400, body, strlen(body));
	ok(e && strcmp(e, "{\"type\":\"action_request_validation_exception\"}") == 0, "request error: the error member");
	free(e);
	e = bulkresp_request_error(413, "", 0);
	ok(e && strstr(e, "\"status\":413") && strstr(e, "http_error"), "request error for an empty 413 body");
	free(e);
	e = bulkresp_request_error(400, "\xff\xfe", 2);
	ok(e && strstr(e, "not UTF-8"), "request error for a binary body is still JSON");
	free(e);
	e = bulkresp_request_error(502, "caf\xc3\xa9 \xf0\x9f\x90\x98", 10);
	ok(e && strstr(e, "\"reason\":\"caf\xc3\xa9 \xf0\x9f\x90\x98\""),
	   "request error: a UTF-8 body is the reason");
	free(e);
	e = bulkresp_request_error(502, "\xc0\xaf \xed\xa0\x80", 6);
	ok(e && strstr(e, "not UTF-8"), "request error: overlong forms and surrogates are not text");
	free(e);
	return done_testing();
}
