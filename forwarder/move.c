/*
 * move.c
 *		Rebuilding a document whose key changed while a TOASTed value stayed
 *		(see move.h).
 *
 * The JSON here is the plugin's own or a _source Elasticsearch stored, and
 * only its top-level members are found, with jsoncmp.h's walker: it finds
 * where values end and decodes nothing, so every value is copied byte for
 * byte. Action lines carry only names and ids, and go through jansson.
 */
#include "move.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsoncmp.h"

/* Reads the members of one object, in order (jsoncmp.h's walker). */
typedef struct ObjectReader
{
	const char *p;
	const char *end;
} ObjectReader;

static PG2ES_MUSTCHECK bool object_open(ObjectReader *r, const char *text, size_t len);
static int	object_next(ObjectReader *r, JsonMember *m);
static bool find_member(const char *text, size_t len, const char *key, size_t key_len, JsonMember *m);
static PG2ES_MUSTCHECK bool action_target(const char *line, size_t len, const char *action, char **index, char **id);
static PG2ES_MUSTCHECK bool read_update_body(const char *body, size_t len, MovePlan *plan);
static PG2ES_MUSTCHECK bool append_index_action(const MovePlan *plan, Buf *out);
static PG2ES_MUSTCHECK bool append_member(Buf *out, const JsonMember *m, bool *first);

/*
 * object_open: start reading the object text[0..len) (blanks around it
 * allowed); false when it is not one object.
 */
static PG2ES_MUSTCHECK bool
object_open(ObjectReader *r, const char *text, size_t len)
{
	const char *end = text + len;
	const char *close = jsoncmp_skip(text, end);

	if (close == NULL || (r->p = jsoncmp_enter(text, end, '{')) == NULL)
		return false;
	for (; close < end; close++)
		if (*close != ' ' && *close != '\t' && *close != '\n' && *close != '\r')
			return false;
	r->end = end;
	return true;
}

/*
 * object_next: the next member into *m (its key between the quotes): 1,
 * or 0 at the end of the object, -1 when it is malformed.
 */
static int
object_next(ObjectReader *r, JsonMember *m)
{
	return jsoncmp_next_member(&r->p, r->end, m);
}

/*
 * find_member: the member with the key key[0..key_len) (as written,
 * without quotes) of the object text[0..len) into *m; false when absent
 * or malformed.
 */
static bool
find_member(const char *text, size_t len, const char *key, size_t key_len, JsonMember *m)
{
	ObjectReader r;

	if (!object_open(&r, text, len))
		return false;
	while (object_next(&r, m) == 1)
		if (m->keylen == key_len && memcmp(m->key, key, key_len) == 0)
			return true;
	return false;
}

/*
 * action_target: the decoded _index and _id of the action line
 * line[0..len) of the given action; false when it is not one.
 */
static PG2ES_MUSTCHECK bool
action_target(const char *line, size_t len, const char *action, char **index, char **id)
{
	json_t	   *doc = json_loadb(line, len, 0, NULL);
	json_t	   *body = json_object_get(doc, action);
	const char *i = json_string_value(json_object_get(body, "_index"));
	const char *d = json_string_value(json_object_get(body, "_id"));
	bool		ok = i && d && (*index = strdup(i)) != NULL && (*id = strdup(d)) != NULL;

	json_decref(doc);
	return ok;
}

/*
 * read_update_body: the guard version and the fields of the partial
 * update body[0..len): {"script":{...,"params":{"v":V,"doc":{...}}}}, or
 * {"doc":{...}} with versioning off.
 */
static PG2ES_MUSTCHECK bool
read_update_body(const char *body, size_t len, MovePlan *plan)
{
	JsonMember	script;
	JsonMember	params;
	JsonMember	v;
	JsonMember	doc;
	char	   *end;

	if (find_member(body, len, "doc", 3, &doc))
		plan->versioned = false;
	else if (find_member(body, len, "script", 6, &script) &&
			 find_member(script.value, script.valuelen, "params", 6, &params) &&
			 find_member(params.value, params.valuelen, "v", 1, &v) &&
			 find_member(params.value, params.valuelen, "doc", 3, &doc) &&
			 v.value[0] >= '0' && v.value[0] <= '9')
	{
		errno = 0;
		plan->version = strtoull(v.value, &end, 10);
		if (errno != 0 || end != v.value + v.valuelen || plan->version > INT64_MAX)
			return false;
		plan->versioned = true;
	}
	else
		return false;
	plan->doc = doc.value;
	plan->doc_len = doc.valuelen;
	return doc.value[0] == '{';
}

/*
 * move_plan: read the plugin's delete item del[0..del_len) (under
 * delete-mode=soft: the "index" marking the old document deleted) and partial
 * update item upd[0..upd_len) (action line, then body). False when they
 * are not such a pair of one index; *plan then holds nothing to free.
 */
bool
move_plan(const char *del, size_t del_len, const char *upd, size_t upd_len, MovePlan *plan)
{
	const char *del_nl = memchr(del, '\n', del_len);
	const char *upd_nl = memchr(upd, '\n', upd_len);
	char	   *upd_index = NULL;
	bool		ok;

	memset(plan, 0, sizeof(*plan));
	ok = del_nl && upd_nl &&
		(action_target(del, (size_t) (del_nl - del), "delete", &plan->index, &plan->old_id) ||
		 action_target(del, (size_t) (del_nl - del), "index", &plan->index, &plan->old_id)) &&
		action_target(upd, (size_t) (upd_nl - upd), "update", &upd_index, &plan->new_id) &&
		strcmp(plan->index, upd_index) == 0 &&
		read_update_body(upd_nl + 1, upd_len - (size_t) (upd_nl + 1 - upd), plan);
	free(upd_index);
	if (!ok)
		move_plan_free(plan);
	return ok;
}

void
move_plan_free(MovePlan *plan)
{
	free(plan->index);
	free(plan->old_id);
	free(plan->new_id);
	memset(plan, 0, sizeof(*plan));
}

/*
 * append_index_action: the action line indexing the new _id, versioned as
 * the partial update's guard was.
 */
static PG2ES_MUSTCHECK bool
append_index_action(const MovePlan *plan, Buf *out)
{
	json_t	   *target = plan->versioned
	? json_pack("{s:s, s:s, s:I, s:s}", "_index", plan->index, "_id", plan->new_id,
				"version", (json_int_t) plan->version, "version_type", "external_gte")
	: json_pack("{s:s, s:s}", "_index", plan->index, "_id", plan->new_id);
	json_t	   *action = target ? json_pack("{s:o}", "index", target) : NULL;
	char	   *text = NULL;
	bool		ok;

	if (action)
		text = json_dumps(action, JSON_COMPACT);
	ok = text && buf_append_str(out, text) && buf_append(out, "\n", 1);
	free(text);
	json_decref(action);
	return ok;
}

/*
 * append_member: ,"key":value (no comma before the first).
 */
static PG2ES_MUSTCHECK bool
append_member(Buf *out, const JsonMember *m, bool *first)
{
	bool		ok = (*first || buf_append(out, ",", 1)) &&
	buf_append(out, "\"", 1) && buf_append(out, m->key, m->keylen) &&
	buf_append(out, "\":", 2) && buf_append(out, m->value, m->valuelen);

	*first = false;
	return ok;
}

/*
 * move_index_item: the index item of the new _id into out: the old
 * document old_source[0..old_len) with the update's fields put over it, as
 * painless's putAll would. The old document's members keep their order
 * (the plugin's column order, so the result is what it would have encoded
 * for the whole row), the update's new members follow. False when the old
 * document is not a JSON object or memory runs out; out then holds a part
 * of the item.
 */
bool
move_index_item(const MovePlan *plan, const char *old_source, size_t old_len, Buf *out)
{
	ObjectReader r;
	JsonMember	m;
	JsonMember	put;
	int			next;
	bool		first = true;

	if (!object_open(&r, old_source, old_len) || !append_index_action(plan, out) ||
		!buf_append(out, "{", 1))
		return false;
	while ((next = object_next(&r, &m)) == 1)
	{
		if (find_member(plan->doc, plan->doc_len, m.key, m.keylen, &put))
		{
			m.value = put.value;
			m.valuelen = put.valuelen;
		}
		if (!append_member(out, &m, &first))
			return false;
	}
	if (next != 0 || !object_open(&r, plan->doc, plan->doc_len))
		return false;
	while ((next = object_next(&r, &put)) == 1)
		if (!find_member(old_source, old_len, put.key, put.keylen, &m) &&
			!append_member(out, &put, &first))
			return false;
	return next == 0 && buf_append(out, "}\n", 2);
}
