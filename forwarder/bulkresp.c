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
 *
 * Speed: building a jansson tree of a clean response cost more CPU than
 * everything else the forwarder does per item. A clean response is
 * therefore first matched by a recognizer of exactly the shape above with
 * no "error" member ("errors" false, plain ASCII strings without escapes,
 * small unsigned integers, each key at most once); anything else, however
 * harmless, goes to jansson. The recognizer never accepts a body that
 * jansson would read differently (tests/fuzz/fuzz_bulkresp.c compares the
 * two on every input).
 */
#include "bulkresp.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool utf8_text(const char *text, size_t len);

static const char *const action_names[] = {"index", "create", "update", "delete", "update"};

/*
 * read_item: fill *out from one element of "items". Returns false (errbuf
 * set; what *out holds is the caller's to free) unless it is
 * {"<sent action>":{"status":N,...}} and its error could be kept.
 */
static PG2ES_MUSTCHECK bool
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
		if (out->error == NULL || (json_is_string(type) && out->error_type == NULL))
		{
			snprintf(errbuf, errlen, "out of memory reading response item %zu", i + 1);
			return false;
		}
	}
	return true;
}

/* A position in a response body, for the clean-response recognizer. */
typedef struct Scan
{
	const char *p;
	const char *end;
} Scan;

/*
 * skip_space: skip JSON whitespace.
 */
static void
skip_space(Scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

/*
 * scan_char: skip whitespace, then consume c if it is next.
 */
static PG2ES_MUSTCHECK bool
scan_char(Scan *s, char c)
{
	/* Elasticsearch writes no whitespace: look for c first */
	if (s->p < s->end && *s->p == c)
	{
		s->p++;
		return true;
	}
	skip_space(s);
	if (s->p == s->end || *s->p != c)
		return false;
	s->p++;
	return true;
}

/*
 * scan_word: skip whitespace, then consume the literal word if it is next.
 */
static PG2ES_MUSTCHECK bool
scan_word(Scan *s, const char *word)
{
	size_t		len = strlen(word);

	skip_space(s);
	if ((size_t) (s->end - s->p) < len || memcmp(s->p, word, len) != 0)
		return false;
	s->p += len;
	return true;
}

/*
 * scan_plain_string: a string of printable ASCII without escapes (what
 * jansson would read as the same bytes), in *str and *len.
 */
static PG2ES_MUSTCHECK bool
scan_plain_string(Scan *s, const char **str, size_t *len)
{
	const char *q;

	if (!scan_char(s, '"'))
		return false;
	for (q = s->p; q < s->end && *q != '"'; q++)
		if (*q < 0x20 || *q > 0x7e || *q == '\\')
			return false;
	if (q == s->end)
		return false;
	*str = s->p;
	*len = (size_t) (q - s->p);
	s->p = q + 1;
	return true;
}

/*
 * scan_key: a member name (plain string) and its colon; *key and *len
 * point into the body.
 */
static PG2ES_MUSTCHECK bool
scan_key(Scan *s, const char **key, size_t *len)
{
	return scan_plain_string(s, key, len) && scan_char(s, ':');
}

/*
 * key_is: whether key[0..len) is the NUL-terminated name.
 */
static bool
key_is(const char *key, size_t len, const char *name)
{
	return len == strlen(name) && memcmp(key, name, len) == 0;
}

/*
 * scan_uint: an unsigned JSON integer of at most 9 digits (a sign,
 * fraction, exponent, leading zero or more digits go to jansson).
 */
static PG2ES_MUSTCHECK bool
scan_uint(Scan *s, long *value)
{
	const char *start;

	skip_space(s);
	start = s->p;
	*value = 0;
	while (s->p < s->end && *s->p >= '0' && *s->p <= '9' && s->p - start < 10)
		*value = *value * 10 + (*s->p++ - '0');
	if (s->p == start || s->p - start > 9 || (*start == '0' && s->p - start > 1))
		return false;
	return s->p == s->end || (*s->p != '.' && *s->p != 'e' && *s->p != 'E');
}

/*
 * clean_item: one element of "items" in its clean form,
 * {"<sent action>":{"_id":"..","status":N}} (members in any order, _id
 * optional), into *out.
 */
static PG2ES_MUSTCHECK bool
clean_item(Scan *s, ItemAction sent, BulkRespItem *out)
{
	bool		have_id = false;
	bool		have_status = false;
	long		status = 0;
	const char *key;
	size_t		len;
	const char *id;
	size_t		idlen;

	if (!scan_char(s, '{') || !scan_key(s, &key, &len) ||
		!key_is(key, len, action_names[sent]) || !scan_char(s, '{'))
		return false;
	do
	{
		if (!scan_key(s, &key, &len))
			return false;
		if (!have_status && key_is(key, len, "status"))
		{
			if (!scan_uint(s, &status) || status < 100 || status > 599)
				return false;
			have_status = true;
		}
		else if (!have_id && key_is(key, len, "_id"))
		{
			if (!scan_plain_string(s, &id, &idlen))
				return false;
			have_id = true;
		}
		else
			return false;
	} while (scan_char(s, ','));
	out->status = (int) status;
	return have_status && scan_char(s, '}') && scan_char(s, '}');
}

/*
 * clean_items: the "items" array of nsent clean items.
 */
static PG2ES_MUSTCHECK bool
clean_items(Scan *s, const ItemAction *sent, size_t nsent, BulkRespItem *items)
{
	size_t		i;

	if (!scan_char(s, '['))
		return false;
	for (i = 0; i < nsent; i++)
		if ((i > 0 && !scan_char(s, ',')) || !clean_item(s, sent[i], &items[i]))
			return false;
	return scan_char(s, ']');
}

/*
 * parse_clean: recognize a clean response, {"errors":false,"items":[...]}
 * with clean items and perhaps other members holding small integers
 * ("took"), and fill items[0..nsent) from it. False means "not in this
 * form": jansson must read it (items may then hold stale statuses; they
 * own no memory).
 */
static PG2ES_MUSTCHECK bool
parse_clean(const char *body, size_t len, const ItemAction *sent, size_t nsent,
			BulkRespItem *items)
{
	Scan		s = {body, body + len};
	bool		have_items = false;
	bool		have_errors = false;
	const char *key;
	size_t		keylen;
	long		ignored;

	if (!scan_char(&s, '{'))
		return false;
	do
	{
		if (!scan_key(&s, &key, &keylen))
			return false;
		if (key_is(key, keylen, "items"))
		{
			if (have_items || !clean_items(&s, sent, nsent, items))
				return false;
			have_items = true;
		}
		else if (key_is(key, keylen, "errors"))
		{
			if (have_errors || !scan_word(&s, "false"))
				return false;
			have_errors = true;
		}
		else if (!scan_uint(&s, &ignored))
			return false;
	} while (scan_char(&s, ','));
	if (!scan_char(&s, '}') || !have_items || !have_errors)
		return false;
	skip_space(&s);
	return s.p == s.end;
}

/*
 * bulkresp_parse: read a 200 response to a request of nsent items whose
 * actions are sent[]. On success items[0..nsent) are filled (free them with
 * bulkresp_items_free). Returns false, with errbuf set and nothing left
 * allocated, when the response cannot be trusted. A clean response is
 * recognized without jansson; the result is the same as
 * bulkresp_parse_json's.
 */
bool
bulkresp_parse(const char *body, size_t len, const ItemAction *sent, size_t nsent,
			   BulkRespItem *items, char *errbuf, size_t errlen)
{
	memset(items, 0, nsent * sizeof(BulkRespItem));
	if (parse_clean(body, len, sent, nsent, items))
		return true;
	return bulkresp_parse_json(body, len, sent, nsent, items, errbuf, errlen);
}

/*
 * bulkresp_parse_json: bulkresp_parse with jansson only (every response
 * that is not clean; exported so the fuzz target can compare the two).
 */
bool
bulkresp_parse_json(const char *body, size_t len, const ItemAction *sent, size_t nsent,
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
 * 404 on a delete means the document is already gone: done. 404 on a
 * partial update means a replay after the row was deleted (the replay
 * carries that delete too): done, except for ITEM_UPDATE_MUST_EXIST, whose
 * document was to be created by the same change: its columns are lost.
 * (An update has no version, so its 409 is a real conflict, retried.) 429
 * and 5xx are transient. 403 is a block on the index (an operator's
 * index.blocks.write, a FORBIDDEN cluster block of older engines) or a
 * missing privilege: both last until someone lifts them, and the item
 * must then still be applied, so it waits with the transient ones. Other
 * 4xx will fail the same way every time: permanent.
 */
ItemOutcome
bulkresp_item_outcome(ItemAction action, int status)
{
	if (status >= 200 && status <= 299)
		return ITEM_DONE;
	if (status == 404 && (action == ITEM_DELETE || action == ITEM_UPDATE))
		return ITEM_DONE;
	if (status == 409)
		return action == ITEM_UPDATE || action == ITEM_UPDATE_MUST_EXIST
			? ITEM_RETRY : ITEM_DONE;
	if (status == 429 || status == 403 || status >= 500)
		return ITEM_RETRY;
	return ITEM_FAILED;
}

/*
 * bulkresp_answered_outcome: bulkresp_item_outcome of an answered item,
 * but for the one 400 that passes: invalid_index_name_exception "already
 * exists as alias" comes from a bulk whose index creation raced the
 * cluster state (a node recovering it after a restart) for an index name
 * that is an alias, so the next try writes through the alias.
 */
ItemOutcome
bulkresp_answered_outcome(ItemAction action, const BulkRespItem *item)
{
	if (item->status == 400 && item->error_type && item->error &&
		strcmp(item->error_type, "invalid_index_name_exception") == 0 &&
		strstr(item->error, "already exists as alias") != NULL)
		return ITEM_RETRY;
	return bulkresp_item_outcome(action, item->status);
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
 * utf8_text: whether text[0..len) is UTF-8 that jansson takes as a string
 * (no overlong form, surrogate or code point past U+10FFFF), so that a
 * NULL from json_stringn can only mean out of memory.
 */
static bool
utf8_text(const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *) text;
	const unsigned char *end = p + len;

	while (p < end)
	{
		int			extra = *p < 0x80 ? 0 : *p >= 0xc2 && *p <= 0xdf ? 1 :
		*p >= 0xe0 && *p <= 0xef ? 2 : *p >= 0xf0 && *p <= 0xf4 ? 3 : -1;
		uint32_t	cp;
		int			i;

		if (extra < 0 || end - p <= extra)
			return false;
		cp = *p & (0x7f >> (extra + (extra > 0)));
		for (i = 1; i <= extra; i++)
		{
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((extra == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
			(extra == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		p += extra + 1;
	}
	return true;
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
		size_t		cut = len > 1024 ? 1024 : len;
		json_t	   *reason;

		/* a body cut inside a UTF-8 sequence, or not text at all */
		if (!utf8_text(body, cut))
			reason = json_string("(response body is not UTF-8 text)");
		else
			reason = json_stringn(body, cut);
		/* "o" fails on a NULL reason (out of memory), and takes it anyway */
		error = json_pack("{s:s,s:I,s:o}", "type", "http_error",
						  "status", (json_int_t) http_status, "reason", reason);
		out = error ? json_dumps(error, JSON_COMPACT) : NULL;
		json_decref(error);
	}
	else
		out = json_dumps(error, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(root);
	return out;
}
