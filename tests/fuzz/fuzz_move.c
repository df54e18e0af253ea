/*
 * fuzz_move.c
 *		libFuzzer target for rebuilding a moved document (forwarder/move.c).
 *
 * The input is a partial update body, a NUL byte, and an old _source (as
 * Elasticsearch would answer GET _source). Whatever the bytes, reading and
 * splicing must stay within them; and when both are JSON objects jansson
 * accepts, the rebuilt source must be one too, holding every key of both.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "move.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char del[] = "{\"delete\":{\"_index\":\"i\",\"_id\":\"1\"}}\n";
static const char action[] = "{\"update\":{\"_index\":\"i\",\"_id\":\"2\"}}\n";

/*
 * check_rebuilt: the source line of the rebuilt item (after its action
 * line) is an object with every key of doc and old.
 */
static void
check_rebuilt(const Buf *out, json_t *doc, json_t *old)
{
	const char *nl = memchr(out->data, '\n', out->len);
	json_t	   *got = nl ? json_loadb(nl + 1, out->len - (size_t) (nl + 1 - out->data), 0, NULL) : NULL;
	const char *key;
	json_t	   *value;

	if (got == NULL || !json_is_object(got))
		abort();
	json_object_foreach(doc, key, value)
		if (json_object_get(got, key) == NULL)
		abort();
	json_object_foreach(old, key, value)
		if (json_object_get(got, key) == NULL)
		abort();
	json_decref(got);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *sep = memchr(data, 0, size);
	char	   *upd;
	size_t		body_len;
	MovePlan	plan;
	Buf			out;

	if (sep == NULL)
		return 0;
	body_len = (size_t) (sep - data);
	if ((upd = malloc(sizeof(action) + body_len)) == NULL)
		return 0;
	memcpy(upd, action, sizeof(action) - 1);
	memcpy(upd + sizeof(action) - 1, data, body_len);
	buf_init(&out);
	if (move_plan(del, sizeof(del) - 1, upd, sizeof(action) - 1 + body_len, &plan))
	{
		const char *old = (const char *) sep + 1;
		size_t		old_len = size - body_len - 1;

		if (move_index_item(&plan, old, old_len, &out))
		{
			json_t	   *doc = json_loadb(plan.doc, plan.doc_len, 0, NULL);
			json_t	   *oldj = json_loadb(old, old_len, 0, NULL);

			if (json_is_object(doc) && json_is_object(oldj))
				check_rebuilt(&out, doc, oldj);
			json_decref(doc);
			json_decref(oldj);
		}
		move_plan_free(&plan);
	}
	buf_free(&out);
	free(upd);
	return 0;
}
