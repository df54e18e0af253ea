/*
 * test_generation.c
 *		Unit tests for generation.c and sha256.c: generation index names,
 *		and what an alias stands for in the answer to GET /ALIAS.
 */
#include <stdlib.h>
#include <string.h>

#include "generation.h"
#include "sha256.h"
#include "tap.h"

/* Whether SHA-256(text) is the expected hex digest. */
static bool
digest_is(const char *text, size_t len, const char *expected)
{
	uint8_t		digest[SHA256_DIGEST_LENGTH];
	char		hex[2 * SHA256_DIGEST_LENGTH + 1];
	int			i;

	sha256_digest(text, len, digest);
	for (i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	return strcmp(hex, expected) == 0;
}

static void
test_sha256(void)
{
	char		thousand[1000];

	memset(thousand, 'x', sizeof(thousand));
	ok(digest_is("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
	   "sha256 of the empty string");
	ok(digest_is("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	   "sha256 of abc");
	ok(digest_is("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
				 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
	   "sha256 of 56 bytes (padding in a second block)");
	ok(digest_is(thousand, sizeof(thousand),
				 "44f8354494a5ba03ba1792a8d3e9c534c47a9181980fde7a3f44b06ef2ae7c7f"),
	   "sha256 of 1000 bytes");
}

/* Whether generation_index_name(alias, generation) is expected. */
static bool
name_is(const char *alias, unsigned int generation, const char *expected)
{
	char	   *name = generation_index_name(alias, strlen(alias), generation);
	bool		same = name && strcmp(name, expected) == 0 && strlen(name) <= 255;

	if (!same)
		printf("# got \"%s\"\n", name ? name : "(null)");
	free(name);
	return same;
}

/* A string of n copies of c followed by tail, in buf. */
static const char *
repeat(char *buf, char c, size_t n, const char *tail)
{
	memset(buf, c, n);
	memcpy(buf + n, tail, strlen(tail) + 1);
	return buf;
}

static void
test_names(void)
{
	char		alias[512];
	char		expected[512];
	char		cut[300];

	ok(name_is("public.todos", 1, "public.todos~g1"), "generation 1 of public.todos");
	ok(name_is("public.todos", 12, "public.todos~g12"), "generation 12");
	ok(name_is(repeat(alias, 'a', 252, ""), 1, repeat(expected, 'a', 252, "~g1")),
	   "255 bytes are not cut");
	repeat(alias, 'a', 253, "");
	snprintf(expected, sizeof(expected), "%s~32859a3ab65ac529~g1", repeat(cut, 'a', 235, ""));
	ok(name_is(alias, 1, expected), "256 bytes are cut to 255 with the alias's hash");
	repeat(alias, 'a', 233, "%2ebbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	snprintf(expected, sizeof(expected), "%s~48a1f2a63e462c06~g1", repeat(cut, 'a', 233, ""));
	ok(name_is(alias, 1, expected), "never cut inside a %%xx escape");
	repeat(alias, 'a', 234, "\xc3\xa9" "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	snprintf(expected, sizeof(expected), "%s~8551db50f2e6c980~g1", repeat(cut, 'a', 234, ""));
	ok(name_is(alias, 1, expected), "never cut inside a UTF-8 sequence");
}

static void
test_generation_of(void)
{
	char		alias[300];
	char	   *name;

	ok(generation_of_index("public.todos", "public.todos~g3") == 3, "generation 3 read back");
	ok(generation_of_index("public.todos", "public.todos") == 0, "a legacy index: 0");
	ok(generation_of_index("public.todos", "public.todos~g0") == 0, "~g0 is none");
	ok(generation_of_index("public.todos", "public.todos~g01") == 0, "~g01 is none");
	ok(generation_of_index("public.todos", "public.todos~g1x") == 0, "~g1x is none");
	ok(generation_of_index("public.todo", "public.todos~g1") == 0, "another alias's: 0");
	repeat(alias, 'z', 260, "");
	name = generation_index_name(alias, strlen(alias), 7);
	ok(name && generation_of_index(alias, name) == 7, "a shortened name read back");
	free(name);
}

/* generation_parse_target of answer for alias public.todos. */
static bool
parse(const char *answer, AliasTarget *t)
{
	return generation_parse_target("public.todos", answer, strlen(answer), t);
}

static void
test_parse(void)
{
	AliasTarget t;

	ok(parse("{\"public.todos\":{\"aliases\":{},\"mappings\":{\"properties\":{}}}}", &t) &&
	   t.kind == ALIAS_LEGACY && strcmp(t.index, "public.todos") == 0 && t.table == NULL &&
	   t.generation == 0 && generation_next(&t) == 1, "a legacy index without _meta");
	generation_target_free(&t);
	ok(parse("{\"public.todos\":{\"mappings\":{\"_meta\":{\"pg2es\":{\"table\":\"public.x\"}}}}}",
			 &t) && t.kind == ALIAS_LEGACY && strcmp(t.table, "public.x") == 0,
	   "a legacy index's _meta.pg2es.table");
	generation_target_free(&t);
	ok(parse("{\"public.todos~g2\":{\"aliases\":{\"public.todos\":{\"is_write_index\":true}},"
			 "\"mappings\":{\"_meta\":{\"pg2es\":{\"table\":\"public.todos\",\"generation\":2}}}}}",
			 &t) && t.kind == ALIAS_ALIASED && strcmp(t.index, "public.todos~g2") == 0 &&
	   t.generation == 2 && strcmp(t.table, "public.todos") == 0 && generation_next(&t) == 3,
	   "an alias over generation 2");
	generation_target_free(&t);
	ok(parse("{\"public.todos~g1\":{\"aliases\":{\"public.todos\":{}}},"
			 "\"public.todos~g2\":{\"aliases\":{\"public.todos\":{\"is_write_index\":true}}}}",
			 &t) && t.kind == ALIAS_ALIASED && t.generation == 2,
	   "two members: the write index");
	generation_target_free(&t);
	ok(parse("{\"mine\":{\"aliases\":{\"public.todos\":{}}}}", &t) &&
	   t.kind == ALIAS_ALIASED && strcmp(t.index, "mine") == 0 && t.generation == 0 &&
	   generation_next(&t) == 1, "one member without is_write_index: it");
	generation_target_free(&t);
	ok_refused(!parse("{\"a\":{\"aliases\":{\"public.todos\":{}}},\"b\":{\"aliases\":{\"public.todos\":{}}}}",
					  &t), "two members and no write index: refused");
	ok_refused(!parse("{\"a\":{\"aliases\":{\"public.todos\":{\"is_write_index\":false}}}}", &t),
			   "one member marked not the write index: refused");
	ok(parse("{}", &t) && t.kind == ALIAS_ABSENT && t.index == NULL, "nothing: absent");
	ok_refused(!parse("[1]", &t), "not an object: refused");
}

static void
test_meta(void)
{
	char	   *m = generation_mapping_with_meta("{\"properties\":{\"a\":{\"type\":\"long\"}}}",
												 "public.todos", "public.todos", 4);

	ok(m && strcmp(m, "{\"properties\":{\"a\":{\"type\":\"long\"}},\"_meta\":{\"pg2es\":"
				   "{\"table\":\"public.todos\",\"alias\":\"public.todos\",\"generation\":4}}}") == 0,
	   "_meta.pg2es added to the mapping");
	free(m);
	ok_refused(generation_mapping_with_meta("[]", "t", "a", 1) == NULL, "not an object: NULL");
}

int
main(void)
{
	test_sha256();
	test_names();
	test_generation_of();
	test_parse();
	test_meta();
	return done_testing();
}
