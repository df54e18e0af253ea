/*
 * frame.c
 *		Reader for the decoder's framed output (framing=msgpack).
 *
 * A 'w' message payload is a sequence of frames. Each frame starts with a
 * msgpack array (the header); all integers are msgpack unsigned ints:
 *
 *		RELATION  [4, relid, "index name"]
 *		CHANGE    [1, flags, nitems, len]  then len bytes of NDJSON
 *		TRUNCATE  [3, ["index", ...]]
 *		COMMIT    [2, xid, commit_lsn, end_lsn, commit_time]
 *
 * A CHANGE payload holds nitems (1 or 2) bulk items, every line ending in
 * \n: a delete item is one line, any other item an action line and a source
 * line. Anything else is an error: the forwarder never guesses.
 *
 * msgpack-c sizes its allocations from the counts a container header
 * declares, so a hostile five-byte header could ask for gigabytes. Each
 * header is therefore first measured by header_size(), which walks the
 * encoding without allocating and bounds every count by the bytes present;
 * only then is msgpack_unpack_next run on exactly those bytes.
 */
#include "frame.h"

#include <stdio.h>
#include <string.h>

/* Our headers nest at most two deep; deeper input is rejected early. */
#define FRAME_MAX_DEPTH 3

/*
 * read_be: the n-byte big-endian unsigned integer at p.
 */
static uint64_t
read_be(const unsigned char *p, int n)
{
	uint64_t	v = 0;
	int			i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/*
 * Type bytes 0xc4..0xdf that are not fixed-size ints/floats: how wide
 * their length field is, whether an ext type byte follows it, and whether
 * the length counts raw bytes, array elements or map pairs. Fixed-size
 * types have a nonzero total size instead.
 */
typedef struct MsgpackCode
{
	unsigned char code;
	unsigned char total;		/* whole size of a fixed-size type, else 0 */
	unsigned char lenbytes;		/* width of the big-endian length */
	unsigned char extbyte;		/* 1 for ext types (a type byte follows) */
	unsigned char kind;			/* 0 raw bytes, 1 array, 2 map */
} MsgpackCode;

static const MsgpackCode msgpack_codes[] = {
	{0xc4, 0, 1, 0, 0}, {0xc5, 0, 2, 0, 0}, {0xc6, 0, 4, 0, 0},
	{0xc7, 0, 1, 1, 0}, {0xc8, 0, 2, 1, 0}, {0xc9, 0, 4, 1, 0},
	{0xca, 5, 0, 0, 0}, {0xcb, 9, 0, 0, 0},
	{0xcc, 2, 0, 0, 0}, {0xcd, 3, 0, 0, 0}, {0xce, 5, 0, 0, 0}, {0xcf, 9, 0, 0, 0},
	{0xd0, 2, 0, 0, 0}, {0xd1, 3, 0, 0, 0}, {0xd2, 5, 0, 0, 0}, {0xd3, 9, 0, 0, 0},
	{0xd4, 3, 0, 0, 0}, {0xd5, 4, 0, 0, 0}, {0xd6, 6, 0, 0, 0}, {0xd7, 10, 0, 0, 0},
	{0xd8, 18, 0, 0, 0},
	{0xd9, 0, 1, 0, 0}, {0xda, 0, 2, 0, 0}, {0xdb, 0, 4, 0, 0},
	{0xdc, 0, 2, 0, 1}, {0xdd, 0, 4, 0, 1}, {0xde, 0, 2, 0, 2}, {0xdf, 0, 4, 0, 2},
};

/*
 * object_head: decode the type byte(s) of the object at data[0..len):
 * *head = bytes of type and length fields, *payload = raw bytes after
 * them, *children = nested objects after them. Returns false for a
 * truncated head or the reserved byte 0xc1.
 */
static bool
object_head(const unsigned char *data, size_t len, size_t *head,
			uint64_t *payload, uint64_t *children)
{
	unsigned char b = data[0];
	const MsgpackCode *c;
	uint64_t	n;

	*head = 1;
	*payload = *children = 0;
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
		return true;			/* fixint, nil, bool */
	if (b <= 0x8f)
		*children = 2 * (uint64_t) (b & 0x0f);	/* fixmap */
	else if (b <= 0x9f)
		*children = b & 0x0f;	/* fixarray */
	else if (b <= 0xbf)
		*payload = b & 0x1f;	/* fixstr */
	if (b <= 0xbf)
		return true;
	if (b == 0xc1)
		return false;
	c = &msgpack_codes[b - 0xc4];
	if (c->total)
	{
		*payload = c->total - 1u;
		return true;
	}
	*head = 1 + c->lenbytes + c->extbyte;
	if (len < *head)
		return false;
	n = read_be(data + 1, c->lenbytes);
	if (c->kind == 0)
		*payload = n;
	else
		*children = c->kind == 2 ? 2 * n : n;
	return true;
}

/*
 * object_size: encoded size of the msgpack object at data[0..len) in *size.
 * Returns false when it is truncated, uses the reserved byte 0xc1 or nests
 * deeper than FRAME_MAX_DEPTH. Never allocates.
 */
static bool
object_size(const unsigned char *data, size_t len, int depth, size_t *size)
{
	size_t		head;
	uint64_t	payload;
	uint64_t	children;
	size_t		pos;

	if (len == 0 || depth > FRAME_MAX_DEPTH ||
		!object_head(data, len, &head, &payload, &children) ||
		len < head || payload > len - head)
		return false;
	pos = head + (size_t) payload;
	/* each child takes at least one byte, so this loop is bounded by len */
	for (; children > 0; children--)
	{
		size_t		child;

		if (!object_size(data + pos, len - pos, depth + 1, &child))
			return false;
		pos += child;
	}
	*size = pos;
	return true;
}

/*
 * frame_reader_init: start reading the frames of data[0..len). The caller
 * keeps ownership of data and must keep it alive while frames are used.
 */
void
frame_reader_init(FrameReader *reader, const char *data, size_t len)
{
	reader->data = data;
	reader->len = len;
	reader->pos = 0;
	msgpack_unpacked_init(&reader->unpacked);
}

/*
 * frame_reader_destroy: free the reader's msgpack zone.
 */
void
frame_reader_destroy(FrameReader *reader)
{
	msgpack_unpacked_destroy(&reader->unpacked);
}

/*
 * get_uint: element i of the header array as an unsigned int, or false.
 */
static bool
get_uint(const msgpack_object_array *a, uint32_t i, uint64_t *out)
{
	if (i >= a->size || a->ptr[i].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return false;
	*out = a->ptr[i].via.u64;
	return true;
}

/*
 * action_of: the bulk action named by the action line at line[0..len).
 */
static bool
action_of(const char *line, size_t len, ItemAction *action)
{
	static const struct
	{
		const char *text;
		ItemAction	action;
	}			actions[] = {
		{"{\"index\"", ITEM_INDEX}, {"{\"create\"", ITEM_CREATE},
		{"{\"update\"", ITEM_UPDATE}, {"{\"delete\"", ITEM_DELETE},
	};
	size_t		i;

	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
	{
		size_t		n = strlen(actions[i].text);

		if (len >= n && memcmp(line, actions[i].text, n) == 0)
		{
			*action = actions[i].action;
			return true;
		}
	}
	return false;
}

/*
 * split_items: cut a CHANGE payload into its nitems bulk items. Returns
 * false (errbuf set) unless the payload is exactly nitems whole items.
 */
static bool
split_items(Frame *frame, const char *data, size_t len, char *errbuf, size_t errlen)
{
	size_t		pos = 0;
	size_t		i;

	for (i = 0; i < frame->nitems; i++)
	{
		FrameItem  *item = &frame->items[i];
		int			lines;
		size_t		start = pos;

		for (lines = 0; lines < 2; lines++)
		{
			const char *nl = memchr(data + pos, '\n', len - pos);

			if (nl == NULL)
			{
				snprintf(errbuf, errlen, "CHANGE frame item %zu has a line not ending in a newline", i + 1);
				return false;
			}
			if (lines == 0 && !action_of(data + pos, (size_t) (nl - data - pos), &item->action))
			{
				snprintf(errbuf, errlen, "CHANGE frame item %zu has an unknown bulk action", i + 1);
				return false;
			}
			pos = (size_t) (nl - data) + 1;
			if (item->action == ITEM_DELETE)
				break;
		}
		item->data = data + start;
		item->len = pos - start;
	}
	if (pos != len)
	{
		snprintf(errbuf, errlen, "CHANGE frame has %zu bytes after its %zu items", len - pos, frame->nitems);
		return false;
	}
	return true;
}

/*
 * decode_change: fill a CHANGE frame from header a; its payload follows the
 * header at reader->pos, which is advanced past it.
 */
static bool
decode_change(FrameReader *reader, const msgpack_object_array *a, Frame *frame,
			  char *errbuf, size_t errlen)
{
	uint64_t	nitems;
	uint64_t	len;

	if (a->size != 4 || !get_uint(a, 1, &frame->flags) ||
		!get_uint(a, 2, &nitems) || !get_uint(a, 3, &len))
	{
		snprintf(errbuf, errlen, "malformed CHANGE frame header");
		return false;
	}
	if (nitems < 1 || nitems > FRAME_MAX_ITEMS)
	{
		snprintf(errbuf, errlen, "CHANGE frame declares %llu items", (unsigned long long) nitems);
		return false;
	}
	if (len > reader->len - reader->pos)
	{
		snprintf(errbuf, errlen, "CHANGE frame declares %llu bytes but the message has %zu left",
				 (unsigned long long) len, reader->len - reader->pos);
		return false;
	}
	frame->nitems = (size_t) nitems;
	if (!split_items(frame, reader->data + reader->pos, (size_t) len, errbuf, errlen))
		return false;
	reader->pos += (size_t) len;
	return true;
}

/*
 * decode_other: fill a COMMIT, TRUNCATE or RELATION frame from header a.
 */
static bool
decode_other(const msgpack_object_array *a, Frame *frame, char *errbuf, size_t errlen)
{
	uint64_t	commit_time;
	size_t		i;

	switch (frame->kind)
	{
		case FRAME_COMMIT:
			if (a->size == 5 && get_uint(a, 1, &frame->xid) &&
				get_uint(a, 2, &frame->commit_lsn) &&
				get_uint(a, 3, &frame->end_lsn) &&
				get_uint(a, 4, &commit_time) && commit_time <= INT64_MAX)
			{
				frame->commit_time = (int64_t) commit_time;
				return true;
			}
			break;
		case FRAME_RELATION:
			if (a->size == 3 && get_uint(a, 1, &frame->relid) &&
				a->ptr[2].type == MSGPACK_OBJECT_STR && a->ptr[2].via.str.size > 0)
			{
				frame->relation_index = a->ptr[2].via.str.ptr;
				frame->relation_index_len = a->ptr[2].via.str.size;
				return true;
			}
			break;
		case FRAME_TRUNCATE:
			if (a->size != 2 || a->ptr[1].type != MSGPACK_OBJECT_ARRAY ||
				a->ptr[1].via.array.size == 0)
				break;
			for (i = 0; i < a->ptr[1].via.array.size; i++)
				if (a->ptr[1].via.array.ptr[i].type != MSGPACK_OBJECT_STR ||
					a->ptr[1].via.array.ptr[i].via.str.size == 0)
					break;
			if (i < a->ptr[1].via.array.size)
				break;
			frame->indexes = a->ptr[1].via.array.ptr;
			frame->nindexes = a->ptr[1].via.array.size;
			return true;
		case FRAME_CHANGE:
			break;
	}
	snprintf(errbuf, errlen, "malformed frame header of kind %d", (int) frame->kind);
	return false;
}

/*
 * frame_reader_next: decode the next frame into *frame.
 *
 * Returns FRAME_END after the last frame, FRAME_ERROR (errbuf set, at most
 * errlen bytes) for anything malformed, including an unknown frame kind.
 * After FRAME_ERROR the rest of the message must not be used.
 */
FrameStatus
frame_reader_next(FrameReader *reader, Frame *frame, char *errbuf, size_t errlen)
{
	size_t		hsize;
	size_t		off = 0;
	const msgpack_object_array *a;
	uint64_t	kind;

	if (reader->pos == reader->len)
		return FRAME_END;
	memset(frame, 0, sizeof(*frame));
	if (!object_size((const unsigned char *) reader->data + reader->pos,
					 reader->len - reader->pos, 0, &hsize) ||
		msgpack_unpack_next(&reader->unpacked, reader->data + reader->pos,
							hsize, &off) != MSGPACK_UNPACK_SUCCESS || off != hsize)
	{
		snprintf(errbuf, errlen, "truncated or invalid msgpack frame header at byte %zu", reader->pos);
		return FRAME_ERROR;
	}
	reader->pos += hsize;
	if (reader->unpacked.data.type != MSGPACK_OBJECT_ARRAY ||
		!get_uint(&reader->unpacked.data.via.array, 0, &kind))
	{
		snprintf(errbuf, errlen, "frame header is not an array starting with a frame kind");
		return FRAME_ERROR;
	}
	a = &reader->unpacked.data.via.array;
	if (kind < FRAME_CHANGE || kind > FRAME_RELATION)
	{
		snprintf(errbuf, errlen, "unknown frame kind %llu", (unsigned long long) kind);
		return FRAME_ERROR;
	}
	frame->kind = (FrameKind) kind;
	if (frame->kind == FRAME_CHANGE
		? !decode_change(reader, a, frame, errbuf, errlen)
		: !decode_other(a, frame, errbuf, errlen))
		return FRAME_ERROR;
	return FRAME_OK;
}

/*
 * frame_truncate_index: the i-th index name of a TRUNCATE frame (not
 * NUL-terminated; valid as long as the frame is).
 */
void
frame_truncate_index(const Frame *frame, size_t i, const char **name, size_t *len)
{
	*name = frame->indexes[i].via.str.ptr;
	*len = frame->indexes[i].via.str.size;
}
