/*
 * test_jsoncmp.c
 *		Unit tests for jsoncmp.c (JSON walking and value comparison, used by
 *		pg2es verify).
 */
#include <string.h>

#include "jsoncmp.h"
#include "tap.h"

static bool
eq(const char *a, const char *b)
{
	return jsoncmp_equal(a, strlen(a), b, strlen(b));
}

static void
test_equal(void)
{
	ok(eq("{\"a\":1,\"b\":[true,null,\"x\"]}", "{ \"b\" : [ true , null , \"x\" ] , \"a\" : 1 }"),
	   "member order and whitespace do not matter");
	ok(!eq("{\"a\":1}", "{\"a\":1,\"b\":2}") && !eq("{\"a\":1,\"b\":2}", "{\"a\":1}"),
	   "a missing member differs");
	ok(!eq("[1,2]", "[2,1]") && !eq("[1]", "[1,1]"), "arrays are compared in order");
	ok(eq("100", "1e2") && eq("1.50", "1.5") && eq("-0.0", "0") && eq("1E+2", "100.000"),
	   "numbers compare as decimal values");
	ok(eq("0.1", "0.10000000000000001"), "the same double printed two ways is equal");
	ok(!eq("1000000000000000000000000000001", "1000000000000000000000000000000"),
	   "big numbers are compared exactly, not as doubles");
	ok(!eq("0.1", "0.1000000000000000055511151231257827"),
	   "more than 17 significant digits are compared exactly");
	ok(!eq("1", "-1") && !eq("12", "1.2"), "sign and scale matter");
	ok(eq("\"caf\\u00e9\"", "\"caf\xc3\xa9\"") && eq("\"a\\/b\\n\"", "\"a/b\\u000a\""),
	   "strings compare decoded");
	ok(!eq("\"caf\\u00e8\"", "\"caf\xc3\xa9\""), "a different character differs");
	ok(!eq("\"1\"", "1") && !eq("true", "\"true\"") && !eq("null", "false"),
	   "types must match");
	ok(eq("{\"\\u0061\":1}", "{\"a\":1}"), "member names compare decoded");
	ok(!eq("{\"a\":1", "{\"a\":1}") && !eq("[1,]", "[1]") && !eq("{\"a\":1} x", "{\"a\":1}"),
	   "malformed or trailing text is never equal");
}

static void
test_walk(void)
{
	const char *doc = "{\"docs\":[{\"_id\":\"1\",\"found\":true,\"_source\":{\"a\":[1,{\"b\":\"}\"}]}},"
	"{\"_id\":\"2\",\"found\":false}]}";
	const char *end = doc + strlen(doc);
	const char *whole = "[1, [2, [3]]] ";
	const char *cut = "[1, [2, [3]] ";
	const char *p = jsoncmp_enter(doc, end, '{');
	const char *arr;
	const char *v;
	size_t		len;
	JsonMember	m;
	int			n = 0;

	ok(p && jsoncmp_next_member(&p, end, &m) == 1 && m.keylen == 4 &&
	   memcmp(m.key, "docs", 4) == 0, "the first member is found");
	arr = jsoncmp_enter(m.value, m.value + m.valuelen, '[');
	while (arr && jsoncmp_next_element(&arr, end, &v, &len) == 1)
		n++;
	ok(n == 2, "the array's elements are walked (a brace inside a string is skipped)");
	ok(jsoncmp_next_member(&p, end, &m) == 0, "the object ends");
	ok(jsoncmp_skip(whole, whole + strlen(whole)) == whole + strlen(whole) - 1 &&
	   jsoncmp_skip(cut, cut + strlen(cut)) == NULL,
	   "skip finds the end of a value, or NULL when cut");
}

/* equal except the members named in skip (NULL-terminated) */
static bool
eq_except(const char *a, const char *b, const char *const *skip)
{
	return jsoncmp_equal_except(a, strlen(a), b, strlen(b), skip);
}

static void
test_equal_except(void)
{
	const char *const skip[] = {"__lsn", "__op", NULL};

	ok(eq_except("{\"id\":1,\"__lsn\":\"0/16B3748\",\"__op\":\"u\"}",
				 "{\"id\":1,\"__lsn\":null,\"__op\":\"r\"}", skip),
	   "skipped members may differ");
	ok(eq_except("{\"id\":1,\"__lsn\":\"0/1\"}", "{\"id\":1}", skip) &&
	   eq_except("{\"id\":1}", "{\"\\u005f_op\":\"c\",\"id\":1}", skip),
	   "skipped members may be absent on either side (names compare decoded)");
	ok(!eq_except("{\"id\":1,\"__lsn\":null}", "{\"id\":2,\"__lsn\":null}", skip) &&
	   !eq_except("{\"id\":1,\"__ts_ms\":1}", "{\"id\":1,\"__ts_ms\":2}", skip) &&
	   !eq_except("{\"id\":1}", "{\"id\":1,\"x\":2}", skip),
	   "the other members are still compared");
	ok(!eq_except("{\"o\":{\"__op\":\"c\"}}", "{\"o\":{\"__op\":\"r\"}}", skip),
	   "only top-level members are skipped");
	ok(eq_except("[1]", "[1]", skip) && !eq_except("{\"__op\":1", "{}", skip) &&
	   eq_except("{\"__op\":1}", "{\"__op\":2}", skip) &&
	   !eq_except("{\"__op\":1}", "{\"__op\":2}", NULL),
	   "non-objects and malformed text as jsoncmp_equal; NULL skips nothing");
}

static Buf	marked;

/* the object with "__deleted":true added (in marked), or "(false)" */
static const char *
with_mark(const char *obj)
{
	buf_reset(&marked);
	if (!jsoncmp_append_with(&marked, obj, strlen(obj), "\"__deleted\":true") ||
		!buf_append(&marked, "", 1))
		return "(false)";
	return marked.data;
}

static void
test_members(void)
{
	const char *doc = " {\"a\":{\"__deleted\":true},\"__deleted\":true,\"n\":123456789012345678901234567890} ";
	JsonMember	m;

	ok(jsoncmp_find_member(doc, strlen(doc), "n", &m) && m.valuelen == 30 &&
	   !jsoncmp_find_member(doc, strlen(doc), "x", &m), "a top-level member is found by its key");
	ok(jsoncmp_member_true(doc, strlen(doc), "__deleted") &&
	   !jsoncmp_member_true("{\"__deleted\":false}", 19, "__deleted") &&
	   !jsoncmp_member_true("{\"a\":{\"__deleted\":true}}", 25, "__deleted"),
	   "only a top-level true counts");
	ok(strcmp(with_mark("{\"n\":1.50000000000000000001, \"s\":\"}\"}"),
			  "{\"n\":1.50000000000000000001, \"s\":\"}\",\"__deleted\":true}") == 0 &&
	   strcmp(with_mark(" { } "), " { \"__deleted\":true}") == 0,
	   "a member is added last, every other byte kept");
	ok(strcmp(with_mark("[1]"), "(false)") == 0 && strcmp(with_mark("{\"a\":"), "(false)") == 0,
	   "not an object: refused");
	buf_free(&marked);
}

int
main(void)
{
	test_members();
	test_equal();
	test_equal_except();
	test_walk();
	return done_testing();
}
