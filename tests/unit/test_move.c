/*
 * test_move.c
 *		Unit tests for move.c: reading a key change's pair of items and
 *		rebuilding the new document from the old one, byte for byte.
 */
#include <string.h>

#include "move.h"
#include "tap.h"

#define DEL "{\"delete\":{\"_index\":\"public.t\",\"_id\":\"1\",\"version\":\"ignored\"}}\n"
#define UPD_ACTION "{\"update\":{\"_index\":\"public.t\",\"_id\":\"2\"}}\n"
#define GUARDED(v, doc) \
	"{\"script\":{\"lang\":\"painless\",\"source\":\"if (ctx._version > params.v) " \
	"{ ctx.op = 'noop' } else { ctx._source.putAll(params.doc) }\",\"params\":{\"v\":" v \
	",\"doc\":" doc "}}}\n"

static bool
plan_of(const char *del, const char *upd, MovePlan *plan)
{
	return move_plan(del, strlen(del), upd, strlen(upd), plan);
}

static bool
rebuilt_is(const MovePlan *plan, const char *old, const char *expected)
{
	Buf			out;
	bool		same;

	buf_init(&out);
	same = move_index_item(plan, old, strlen(old), &out) && out.len == strlen(expected) &&
		memcmp(out.data, expected, out.len) == 0;
	if (!same)
		printf("# got: %.*s", (int) out.len, out.data ? out.data : "");
	buf_free(&out);
	return same;
}

int
main(void)
{
	MovePlan	plan;

	ok(plan_of(DEL, UPD_ACTION GUARDED("123456", "{\"id\":2,\"small\":\"b\"}"), &plan) &&
	   strcmp(plan.index, "public.t") == 0 && strcmp(plan.old_id, "1") == 0 &&
	   strcmp(plan.new_id, "2") == 0 && plan.versioned && plan.version == 123456 &&
	   plan.doc_len == strlen("{\"id\":2,\"small\":\"b\"}") &&
	   memcmp(plan.doc, "{\"id\":2,\"small\":\"b\"}", plan.doc_len) == 0,
	   "a guarded partial update: index, both ids, guard version, fields");

	/*
	 * the old document's order; members the update does not replace stay byte
	 * for byte
	 */
	ok(rebuilt_is(&plan,
				  "{\"id\":1,\"big\":\"x}\\\"{y\",\"n\":123456789012345678901234567890.10,"
				  "\"j\":{\"a\":[1,{\"b\":\"]\"}]},\"small\":\"a\",\"z\":null}",
				  "{\"index\":{\"_index\":\"public.t\",\"_id\":\"2\",\"version\":123456,"
				  "\"version_type\":\"external_gte\"}}\n"
				  "{\"id\":2,\"big\":\"x}\\\"{y\","
				  "\"n\":123456789012345678901234567890.10,\"j\":{\"a\":[1,{\"b\":\"]\"}]},"
				  "\"small\":\"b\",\"z\":null}\n"),
	   "rebuilt: the update's fields over the old document, in its order, the rest byte for byte");
	ok(rebuilt_is(&plan, " { \"id\" : 1 , \"t\" : true } ",
				  "{\"index\":{\"_index\":\"public.t\",\"_id\":\"2\",\"version\":123456,"
				  "\"version_type\":\"external_gte\"}}\n{\"id\":2,\"t\":true,\"small\":\"b\"}\n"),
	   "blanks in a re-serialized source are read; new members come last");
	{
		Buf			out;

		buf_init(&out);
		ok_refused(!move_index_item(&plan, "[1]", 3, &out) &&
				   !move_index_item(&plan, "{\"a\":1", 6, &out) &&
				   !move_index_item(&plan, "{\"a\" 1}", 7, &out) &&
				   !move_index_item(&plan, "{\"a\":\"1}", 8, &out),
				   "an old source that is not an object is refused");
		buf_free(&out);
	}
	move_plan_free(&plan);

	ok(plan_of(DEL, UPD_ACTION "{\"doc\":{\"id\":2}}\n", &plan) && !plan.versioned &&
	   rebuilt_is(&plan, "{\"id\":1,\"big\":\"x\"}",
				  "{\"index\":{\"_index\":\"public.t\",\"_id\":\"2\"}}\n{\"id\":2,\"big\":\"x\"}\n"),
	   "versioning off: an unversioned index item");
	move_plan_free(&plan);

	ok(plan_of("{\"delete\":{\"_index\":\"a\\\"b\",\"_id\":\"x|y\"}}\n",
			   "{\"update\":{\"_index\":\"a\\\"b\",\"_id\":\"\\u00e9\"}}\n" GUARDED("7", "{}"),
			   &plan) &&
	   strcmp(plan.index, "a\"b") == 0 && strcmp(plan.new_id, "\xc3\xa9") == 0 &&
	   rebuilt_is(&plan, "{\"k\":1}",
				  "{\"index\":{\"_index\":\"a\\\"b\",\"_id\":\"\xc3\xa9\",\"version\":7,"
				  "\"version_type\":\"external_gte\"}}\n{\"k\":1}\n"),
	   "escaped names are decoded for the URL and encoded again; empty fields");
	move_plan_free(&plan);

	ok_refused(!plan_of(DEL, "{\"update\":{\"_index\":\"other\",\"_id\":\"2\"}}\n{\"doc\":{}}\n", &plan) &&
			   !plan_of(DEL, UPD_ACTION "{\"script\":{\"params\":{\"v\":-1,\"doc\":{}}}}\n", &plan) &&
			   !plan_of(DEL, UPD_ACTION "{\"script\":{\"params\":{\"v\":99999999999999999999,\"doc\":{}}}}\n",
						&plan) &&
			   !plan_of(DEL, UPD_ACTION "{\"script\":{\"params\":{\"v\":1}}}\n", &plan) &&
			   !plan_of(DEL, UPD_ACTION "{\"doc\":[1]}\n", &plan) &&
			   !plan_of(UPD_ACTION, UPD_ACTION "{\"doc\":{}}\n", &plan) &&
			   !plan_of("no newline", UPD_ACTION "{\"doc\":{}}\n", &plan) &&
			   plan.index == NULL,
			   "pairs that are not a key change are refused, nothing left to free");
	return done_testing();
}
