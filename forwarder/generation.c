/*
 * generation.c
 *		Indexes behind aliases (see generation.h).
 */
#include "generation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "log.h"
#include "sha256.h"

/* hex digits of SHA-256(alias) that stand for the part cut off */
#define GENERATION_HASH_DIGITS 16

static size_t alias_cut(const char *alias, size_t len, size_t limit);
static void index_name_into(char name[GENERATION_MAX_INDEX_NAME + 1], const char *alias,
							size_t len, unsigned int generation);
static PG2ES_MUSTCHECK bool pick_write_index(const char *alias, json_t *answer, const char **index,
											 json_t **info);

/*
 * alias_cut: the longest prefix of alias[0..len) of at most limit bytes
 * that ends neither inside a "%xx" escape nor inside a UTF-8 sequence.
 */
static size_t
alias_cut(const char *alias, size_t len, size_t limit)
{
	size_t		cut = 0;

	while (cut < len)
	{
		size_t		step = 1;

		if (alias[cut] == '%')
			step = 3;
		else if (((unsigned char) alias[cut] & 0xc0) == 0xc0)
			while (cut + step < len && ((unsigned char) alias[cut + step] & 0xc0) == 0x80)
				step++;
		if (cut + step > limit)
			break;
		cut += step;
	}
	return cut;
}

/*
 * index_name_into: writes the concrete index of generation (>= 1) of
 * alias[0..len) into name: ALIAS~gN, or over 255 bytes the cut alias + "~"
 * + 16 hex digits of SHA-256(alias) + "~gN" (never longer, so the buffer
 * holds it and nothing here can fail).
 */
static void
index_name_into(char name[GENERATION_MAX_INDEX_NAME + 1], const char *alias, size_t len,
				unsigned int generation)
{
	char		suffix[16];
	size_t		slen = (size_t) snprintf(suffix, sizeof(suffix), "~g%u", generation);
	uint8_t		digest[SHA256_DIGEST_LENGTH];
	size_t		cut = len;
	size_t		n;
	int			i;

	if (len + slen > GENERATION_MAX_INDEX_NAME)
		cut = alias_cut(alias, len,
						GENERATION_MAX_INDEX_NAME - slen - 1 - GENERATION_HASH_DIGITS);
	memcpy(name, alias, cut);
	n = cut;
	if (cut < len)
	{
		sha256_digest(alias, len, digest);
		name[n++] = '~';
		for (i = 0; i < GENERATION_HASH_DIGITS; i++)
			name[n++] = hex_digits[i % 2 == 0 ? digest[i / 2] >> 4 : digest[i / 2] & 0x0f];
	}
	memcpy(name + n, suffix, slen + 1);
}

/*
 * generation_index_name: index_name_into's name, malloc'd (NULL when out
 * of memory).
 */
char *
generation_index_name(const char *alias, size_t len, unsigned int generation)
{
	char		name[GENERATION_MAX_INDEX_NAME + 1];

	index_name_into(name, alias, len, generation);
	return strdup(name);
}

/*
 * generation_of_index: N when index is generation_index_name(alias, N),
 * else 0 (a legacy index, or an index someone else put behind the alias).
 */
unsigned int
generation_of_index(const char *alias, const char *index)
{
	const char *mark = strrchr(index, '~');
	unsigned long n = 0;
	char	   *end = NULL;
	char		expected[GENERATION_MAX_INDEX_NAME + 1];

	if (mark == NULL || mark[1] != 'g' || mark[2] < '1' || mark[2] > '9')
		return 0;
	n = strtoul(mark + 2, &end, 10);
	if (*end != '\0' || n > 4000000000UL)
		return 0;
	index_name_into(expected, alias, strlen(alias), (unsigned int) n);
	return strcmp(expected, index) == 0 ? (unsigned int) n : 0;
}

/*
 * pick_write_index: in the answer to GET /ALIAS ({"INDEX":{"aliases":...,
 * "mappings":...},...}), the index writes to alias go to: the one marked
 * is_write_index, else the only member not marked false. *index and *info
 * (its entry) are borrowed from answer. Returns false (logged) when there is
 * none.
 */
static PG2ES_MUSTCHECK bool
pick_write_index(const char *alias, json_t *answer, const char **index, json_t **info)
{
	const char *name;
	json_t	   *entry;
	size_t		members = 0;

	*index = NULL;
	json_object_foreach(answer, name, entry)
	{
		json_t	   *spec = json_object_get(json_object_get(entry, "aliases"), alias);
		json_t	   *write = json_object_get(spec, "is_write_index");

		members++;
		if (json_is_true(write) || (members == 1 && !json_is_false(write)))
		{
			*index = name;
			*info = entry;
		}
		if (json_is_true(write))
			return true;
	}
	if (members == 1 && *index)
		return true;
	log_error("alias \"%s\" points to %zu indexes and none of them is its write index; "
			  "mark one with \"is_write_index\": true (POST /_aliases)", alias, members);
	return false;
}

/*
 * generation_parse_target: what alias stands for, from the 200 answer
 * body[0..len) to GET /ALIAS, into *out (free with generation_target_free).
 * Returns false (logged) on an answer that is not understood or an alias
 * without a write index.
 */
bool
generation_parse_target(const char *alias, const char *body, size_t len, AliasTarget *out)
{
	json_t	   *answer = json_loadb(body, len, 0, NULL);
	json_t	   *info = json_object_get(answer, alias);
	const char *index = alias;
	const char *table;
	bool		good = true;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(answer))
	{
		log_error("could not understand the answer to GET /%s: %.*s", alias,
				  (int) (len > 512 ? 512 : len), body ? body : "");
		good = false;
	}
	else if (json_object_size(answer) == 0)
		out->kind = ALIAS_ABSENT;
	else if (info != NULL)
		out->kind = ALIAS_LEGACY;
	else if ((good = pick_write_index(alias, answer, &index, &info)))
		out->kind = ALIAS_ALIASED;
	if (good && out->kind != ALIAS_ABSENT)
	{
		table = json_string_value(json_object_get(json_object_get(json_object_get(
																				  json_object_get(info, "mappings"), "_meta"), "pg2es"), "table"));
		out->index = strdup(index);
		out->table = table ? strdup(table) : NULL;
		out->generation = out->kind == ALIAS_ALIASED ? generation_of_index(alias, index) : 0;
		if (out->index == NULL || (table && out->table == NULL))
		{
			log_error("out of memory");
			generation_target_free(out);
			good = false;
		}
	}
	json_decref(answer);
	return good;
}

/*
 * generation_lookup: what alias stands for in the engine (GET /ALIAS),
 * into *out (free with generation_target_free). Returns false (logged)
 * when the engine cannot be asked or refuses.
 */
bool
generation_lookup(EsCall *call, const char *alias, AliasTarget *out)
{
	char	   *path = es_index_path(&call->es, alias, "");
	const Buf  *resp = NULL;
	long		status = 0;

	memset(out, 0, sizeof(*out));
	if (path == NULL)
	{
		log_error("out of memory");
		return false;
	}
	status = escall(call, "GET", path, NULL, 0, &resp);
	free(path);
	if (status == 404)
		return true;
	if (status == 200)
		return generation_parse_target(alias, resp->data, resp->len, out);
	if (status != 0)
		log_error("could not look up index or alias \"%s\" (HTTP %ld): %.*s", alias, status,
				  resp && resp->data ? (int) (resp->len > 512 ? 512 : resp->len) : 0,
				  resp && resp->data ? resp->data : "");
	return false;
}

/*
 * generation_next: the generation a rebuild of target creates: one past
 * the current one; 1 behind a legacy index, a missing alias, or an alias
 * over an index not named as a generation.
 */
unsigned int
generation_next(const AliasTarget *target)
{
	return target->generation + 1;
}

/*
 * generation_mapping_with_meta: the derived mapping (JSON text,
 * {"properties":...}) with "_meta":{"pg2es":{"table","alias","generation"}}
 * added, malloc'd; NULL when mapping is not a JSON object or out of memory.
 */
char *
generation_mapping_with_meta(const char *mapping, const char *table, const char *alias,
							 unsigned int generation)
{
	json_t	   *root = json_loads(mapping, 0, NULL);
	json_t	   *meta = json_pack("{s:{s:s,s:s,s:I}}", "pg2es", "table", table, "alias", alias,
								 "generation", (json_int_t) generation);
	char	   *text = NULL;

	if (json_is_object(root) && meta && json_object_set(root, "_meta", meta) == 0)
		text = json_dumps(root, JSON_COMPACT);
	json_decref(meta);
	json_decref(root);
	return text;
}

/*
 * generation_target_free: release what *target owns.
 */
void
generation_target_free(AliasTarget *target)
{
	free(target->index);
	free(target->table);
	memset(target, 0, sizeof(*target));
}
