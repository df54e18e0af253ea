/*
 * frame.c
 *		Reader for the decoder's framed output (framing=msgpack).
 *
 * A 'w' message payload is a sequence of frames, laid out as
 * protocol/pg2es_protocol.h describes; anything else is an error: the
 * forwarder never guesses.
 *
 * The headers are read directly, element by element, against the one
 * shape each kind has: this runs once per row, and msgpack-c's unpacker
 * (a zone allocated and freed per header) cost more than the rest of the
 * frame. Nothing is allocated, and every length is checked against the
 * bytes present before it is used, so a hostile count can neither make the
 * reader allocate nor read out of bounds (tests/fuzz/fuzz_frame.c).
 */
#include "frame.h"

#include <stdio.h>
#include <string.h>

/* A read position inside a frame header. */
typedef struct Cursor
{
	const unsigned char *p;
	const unsigned char *end;
} Cursor;

static bool read_be(Cursor *c, int n, uint64_t *v);
static bool read_array(Cursor *c, uint64_t *n);
static bool read_uint(Cursor *c, uint64_t *v);
static bool read_str(Cursor *c, const char **str, size_t *len);
static bool read_str_or_nil(Cursor *c, const char **str, size_t *len);
static bool read_bool(Cursor *c, bool *v);
static bool read_word(Cursor *c, const char *const *words, size_t n, int *which);
static bool action_of(const char *line, size_t len, ItemAction *action);
static bool split_items(Frame *frame, const char *data, size_t len, char *errbuf, size_t errlen);
static FrameStatus decode_change(FrameReader *reader, Cursor *c, uint64_t n, Frame *frame,
								 char *errbuf, size_t errlen);
static bool decode_truncate(Cursor *c, Frame *frame);
static bool decode_request(Cursor *c, Request *request);
static bool decode_other(Cursor *c, uint64_t n, Frame *frame, char *errbuf, size_t errlen);

/*
 * read_be: the n-byte big-endian unsigned integer at the cursor, in *v;
 * false when fewer than n bytes are left.
 */
static bool
read_be(Cursor *c, int n, uint64_t *v)
{
	int			i;

	if (c->end - c->p < n)
		return false;
	*v = 0;
	for (i = 0; i < n; i++)
		*v = (*v << 8) | *c->p++;
	return true;
}

/*
 * read_array: an array header (fixarray, array 16, array 32); its element
 * count in *n.
 */
static bool
read_array(Cursor *c, uint64_t *n)
{
	unsigned char b;

	if (c->p == c->end)
		return false;
	b = *c->p++;
	if (b >= 0x90 && b <= 0x9f)
	{
		*n = b & 0x0f;
		return true;
	}
	if (b == 0xdc || b == 0xdd)
		return read_be(c, b == 0xdc ? 2 : 4, n);
	return false;
}

/*
 * read_uint: a non-negative integer in *v. The decoder writes msgpack
 * unsigned ints; a signed encoding of a non-negative value is accepted
 * too, as msgpack-c reads it (a positive integer). Anything else,
 * negative values included, is refused.
 */
static bool
read_uint(Cursor *c, uint64_t *v)
{
	static const int width[] = {1, 2, 4, 8};
	unsigned char b;

	if (c->p == c->end)
		return false;
	b = *c->p++;
	if (b <= 0x7f)
	{
		*v = b;
		return true;
	}
	if (b >= 0xcc && b <= 0xcf)
		return read_be(c, width[b - 0xcc], v);
	if (b >= 0xd0 && b <= 0xd3)
		return read_be(c, width[b - 0xd0], v) && (*v >> (8 * width[b - 0xd0] - 1)) == 0;
	return false;
}

/*
 * read_str: a string (fixstr, str 8/16/32), pointing into the message, in
 * *str and *len.
 */
static bool
read_str(Cursor *c, const char **str, size_t *len)
{
	unsigned char b;
	uint64_t	n;

	if (c->p == c->end)
		return false;
	b = *c->p++;
	if (b >= 0xa0 && b <= 0xbf)
		n = b & 0x1f;
	else if (b < 0xd9 || b > 0xdb || !read_be(c, b == 0xd9 ? 1 : b == 0xda ? 2 : 4, &n))
		return false;
	if (n > (uint64_t) (c->end - c->p))
		return false;
	*str = (const char *) c->p;
	*len = (size_t) n;
	c->p += n;
	return true;
}

/*
 * read_str_or_nil: a non-empty string as read_str, or nil (*str = NULL,
 * *len = 0).
 */
static bool
read_str_or_nil(Cursor *c, const char **str, size_t *len)
{
	if (c->p < c->end && *c->p == 0xc0)
	{
		c->p++;
		*str = NULL;
		*len = 0;
		return true;
	}
	return read_str(c, str, len) && *len > 0;
}

/*
 * read_bool: a msgpack boolean in *v.
 */
static bool
read_bool(Cursor *c, bool *v)
{
	if (c->p == c->end || (*c->p != 0xc2 && *c->p != 0xc3))
		return false;
	*v = *c->p++ == 0xc3;
	return true;
}

/*
 * read_word: a string at the cursor that is one of words[0..n); its
 * position in *which.
 */
static bool
read_word(Cursor *c, const char *const *words, size_t n, int *which)
{
	const char *str;
	size_t		len;
	size_t		i;

	if (!read_str(c, &str, &len))
		return false;
	for (i = 0; i < n; i++)
	{
		if (strlen(words[i]) == len && memcmp(words[i], str, len) == 0)
		{
			*which = (int) i;
			return true;
		}
	}
	return false;
}

/*
 * frame_reader_init: start reading the frames of data[0..len). The caller
 * keeps ownership of data and must keep it alive while frames are used.
 * The reader owns nothing: there is nothing to free.
 */
void
frame_reader_init(FrameReader *reader, const char *data, size_t len)
{
	reader->data = data;
	reader->len = len;
	reader->pos = 0;
}

/*
 * action_of: the bulk action named by the action line at line[0..len),
 * which must start with {"<action>".
 */
static bool
action_of(const char *line, size_t len, ItemAction *action)
{
	static const struct
	{
		const char *text;
		size_t		len;
		ItemAction	action;
	}			actions[] = {
		{"{\"index\"", 8, ITEM_INDEX}, {"{\"create\"", 9, ITEM_CREATE},
		{"{\"update\"", 9, ITEM_UPDATE}, {"{\"delete\"", 9, ITEM_DELETE},
	};
	size_t		i;

	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
	{
		if (len >= actions[i].len && line[2] == actions[i].text[2] &&
			memcmp(line, actions[i].text, actions[i].len) == 0)
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
 * decode_change: the rest of a CHANGE header of n elements (after the kind)
 * at the cursor, then its payload, which follows the header; reader->pos
 * is set past the payload. FRAME_PARTIAL (see there) leaves reader->pos
 * at the frame's start.
 */
static FrameStatus
decode_change(FrameReader *reader, Cursor *c, uint64_t n, Frame *frame,
			  char *errbuf, size_t errlen)
{
	uint64_t	nitems;
	uint64_t	len;
	size_t		header_end;

	if (n != FRAME_CHANGE_FIELDS || !read_uint(c, &frame->flags) || !read_uint(c, &nitems) ||
		!read_uint(c, &len))
	{
		snprintf(errbuf, errlen, "malformed CHANGE frame header");
		return FRAME_ERROR;
	}
	header_end = (size_t) ((const char *) c->p - reader->data);
	if (nitems < 1 || nitems > FRAME_MAX_ITEMS)
	{
		snprintf(errbuf, errlen, "CHANGE frame declares %llu items", (unsigned long long) nitems);
		return FRAME_ERROR;
	}
	if (len > reader->len - header_end && (frame->flags & FRAME_FLAG_CONTINUED) &&
		len <= SIZE_MAX - header_end)
	{
		/* reader->pos stays at the frame's start (frame_reader_rest) */
		frame->whole_len = header_end - reader->pos + (size_t) len;
		return FRAME_PARTIAL;
	}
	reader->pos = header_end;
	if (len > reader->len - reader->pos)
	{
		snprintf(errbuf, errlen, "CHANGE frame declares %llu bytes but the message has %zu left",
				 (unsigned long long) len, reader->len - reader->pos);
		return FRAME_ERROR;
	}
	frame->nitems = (size_t) nitems;
	if (!split_items(frame, reader->data + reader->pos, (size_t) len, errbuf, errlen))
		return FRAME_ERROR;
	reader->pos += (size_t) len;
	return FRAME_OK;
}

/*
 * decode_truncate: the index names of a TRUNCATE header (at least one
 * name, none empty), and its version, at the cursor.
 */
static bool
decode_truncate(Cursor *c, Frame *frame)
{
	uint64_t	count;
	uint64_t	i;
	const char *name;
	size_t		len;

	if (!read_array(c, &count) || count == 0)
		return false;
	frame->indexes = (const char *) c->p;

	/*
	 * each name takes at least one byte, so this loop is bounded by the
	 * message
	 */
	for (i = 0; i < count; i++)
		if (!read_str(c, &name, &len) || len == 0)
			return false;
	frame->indexes_len = (size_t) ((const char *) c->p - frame->indexes);
	frame->nindexes = (size_t) count;
	return read_uint(c, &frame->truncate_version);
}

/*
 * decode_request: the rest of a REQUEST header (after the kind) at the
 * cursor; kind and state must be words of FRAME_REQUEST_KINDS and
 * FRAME_REQUEST_STATES, whose order request.h's enums follow.
 */
static bool
decode_request(Cursor *c, Request *request)
{
	static const char *const kinds[] = {FRAME_REQUEST_KINDS};
	static const char *const states[] = {FRAME_REQUEST_STATES};
	int			kind;
	int			state;

	_Static_assert(sizeof(kinds) / sizeof(kinds[0]) == REQUEST_BACKFILL + 1,
				   "RequestKind has one value per word of FRAME_REQUEST_KINDS");
	_Static_assert(sizeof(states) / sizeof(states[0]) == REQUEST_FAILED + 1,
				   "RequestState has one value per word of FRAME_REQUEST_STATES");

	if (!read_uint(c, &request->id) ||
		!read_word(c, kinds, sizeof(kinds) / sizeof(kinds[0]), &kind) ||
		!read_uint(c, &request->relid) ||
		!read_word(c, states, sizeof(states) / sizeof(states[0]), &state) ||
		!read_str_or_nil(c, &request->target_index, &request->target_index_len) ||
		!read_bool(c, &request->keep_old) ||
		!read_str_or_nil(c, &request->index, &request->index_len))
		return false;
	request->kind = (RequestKind) kind;
	request->state = (RequestState) state;
	return true;
}

/*
 * decode_other: the rest of a COMMIT, TRUNCATE, RELATION, REQUEST or
 * COVERED header of n elements (after the kind) at the cursor.
 */
static bool
decode_other(Cursor *c, uint64_t n, Frame *frame, char *errbuf, size_t errlen)
{
	uint64_t	commit_time;

	switch (frame->kind)
	{
		case FRAME_COMMIT:
			if (n == FRAME_COMMIT_FIELDS && read_uint(c, &frame->xid) &&
				read_uint(c, &frame->commit_lsn) && read_uint(c, &frame->end_lsn) &&
				read_uint(c, &commit_time) && commit_time <= INT64_MAX)
			{
				frame->commit_time = (int64_t) commit_time;
				return true;
			}
			break;
		case FRAME_RELATION:
			if (n == FRAME_RELATION_FIELDS && read_uint(c, &frame->relid) &&
				read_str(c, &frame->relation_index, &frame->relation_index_len) &&
				frame->relation_index_len > 0)
				return true;
			break;
		case FRAME_TRUNCATE:
			if (n == FRAME_TRUNCATE_FIELDS && decode_truncate(c, frame))
				return true;
			break;
		case FRAME_REQUEST:
			if (n == FRAME_REQUEST_FIELDS && decode_request(c, &frame->request))
				return true;
			break;
		case FRAME_COVERED:
			if (n == FRAME_COVERED_FIELDS && read_uint(c, &frame->relid) &&
				read_str(c, &frame->relation_index, &frame->relation_index_len) &&
				frame->relation_index_len > 0 &&
				read_str(c, &frame->covered_table, &frame->covered_table_len) &&
				frame->covered_table_len > 0)
				return true;
			break;
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
 * errlen bytes) for anything malformed, including an unknown frame kind,
 * FRAME_PARTIAL for a split CHANGE (frame.h). After FRAME_ERROR or
 * FRAME_PARTIAL the reader must not be asked for more.
 */
FrameStatus
frame_reader_next(FrameReader *reader, Frame *frame, char *errbuf, size_t errlen)
{
	Cursor		c;
	uint64_t	n;
	uint64_t	kind;

	if (reader->pos == reader->len)
		return FRAME_END;
	memset(frame, 0, sizeof(*frame));
	c.p = (const unsigned char *) reader->data + reader->pos;
	c.end = (const unsigned char *) reader->data + reader->len;
	if (!read_array(&c, &n) || n == 0 || !read_uint(&c, &kind))
	{
		snprintf(errbuf, errlen, "frame header at byte %zu is not an array starting with a frame kind",
				 reader->pos);
		return FRAME_ERROR;
	}
	if (kind < FRAME_CHANGE || kind > FRAME_COVERED)
	{
		snprintf(errbuf, errlen, "unknown frame kind %llu", (unsigned long long) kind);
		return FRAME_ERROR;
	}
	frame->kind = (FrameKind) kind;
	if (frame->kind == FRAME_CHANGE)
		return decode_change(reader, &c, n, frame, errbuf, errlen);
	if (!decode_other(&c, n, frame, errbuf, errlen))
		return FRAME_ERROR;
	reader->pos = (size_t) ((const char *) c.p - reader->data);
	return FRAME_OK;
}

/*
 * frame_reader_rest: the message's bytes from the frame last read on, which
 * after FRAME_PARTIAL are the split CHANGE frame's first part.
 */
void
frame_reader_rest(const FrameReader *reader, const char **data, size_t *len)
{
	*data = reader->data + reader->pos;
	*len = reader->len - reader->pos;
}

/*
 * frame_truncate_index: the i-th index name (i < nindexes) of a TRUNCATE
 * frame (not NUL-terminated; valid as long as the message is). The names
 * were checked when the frame was read.
 */
void
frame_truncate_index(const Frame *frame, size_t i, const char **name, size_t *len)
{
	Cursor		c;

	c.p = (const unsigned char *) frame->indexes;
	c.end = c.p + frame->indexes_len;
	*name = NULL;
	*len = 0;
	do
	{
		if (!read_str(&c, name, len))
			return;				/* cannot happen: decode_truncate checked them */
	} while (i-- > 0);
}
