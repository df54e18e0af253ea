/*
 * test_copyin.c
 *		Unit tests for copyin.c (binary COPY reader and the values of
 *		pg2es.bulk_item_parts) and chunk.c (the chunk planner of the
 *		initial load).
 */
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "copyin.h"
#include "tap.h"

/* What the callback saw: fields joined as "len:bytes;" */
typedef struct Seen
{
	char		text[1024];
	size_t		len;
	int			stop_after;		/* fail on this call (0 = never) */
	int			calls;
} Seen;

static bool
collect(void *arg, int fieldno, const char *data, int32_t len)
{
	Seen	   *s = arg;

	s->calls++;
	if (s->stop_after && s->calls == s->stop_after)
		return false;
	s->len += (size_t) snprintf(s->text + s->len, sizeof(s->text) - s->len, "%d:%d:%.*s;",
								fieldno, len, len < 0 ? 0 : len, data ? data : "");
	return true;
}

/* append a big-endian integer of size bytes to out */
static size_t
put_be(char *out, size_t pos, uint32_t v, int size)
{
	int			i;

	for (i = size - 1; i >= 0; i--)
		out[pos++] = (char) ((v >> (8 * i)) & 0xff);
	return pos;
}

/* a binary COPY stream: header (with extlen bytes of extension), tuples of
 * one field each (NULL for a NULL string), trailer */
static size_t
make_stream(char *out, const char *const *fields, int n, uint32_t flags, uint32_t extlen)
{
	size_t		pos = 0;
	int			i;

	memcpy(out, "PGCOPY\n\377\r\n\0", 11);
	pos = put_be(out, 11, flags, 4);
	pos = put_be(out, pos, extlen, 4);
	memset(out + pos, 'x', extlen);
	pos += extlen;
	for (i = 0; i < n; i++)
	{
		pos = put_be(out, pos, 1, 2);
		if (fields[i] == NULL)
			pos = put_be(out, pos, 0xffffffffu, 4);
		else
		{
			pos = put_be(out, pos, (uint32_t) strlen(fields[i]), 4);
			memcpy(out + pos, fields[i], strlen(fields[i]));
			pos += strlen(fields[i]);
		}
	}
	return put_be(out, pos, 0xffff, 2);
}

/* feed stream in slices of step bytes; returns success of feed+finish */
static bool
feed_sliced(const char *stream, size_t len, size_t step, Seen *seen, char *err)
{
	CopyIn		ci;
	size_t		pos;
	bool		good = true;

	copyin_init(&ci);
	for (pos = 0; pos < len && good; pos += step)
		good = copyin_feed(&ci, stream + pos, len - pos < step ? len - pos : step,
						   collect, seen, err, 256);
	good = good && copyin_finish(&ci, err, 256);
	copyin_free(&ci);
	return good;
}

static void
test_copyin(void)
{
	const char *const fields[] = {"{\"index\":{}}\n{}\n", NULL, "", "a\\b\n"};
	const char *want = "0:16:{\"index\":{}}\n{}\n;0:-1:;0:0:;0:4:a\\b\n;";
	char		stream[512];
	char		err[256];
	size_t		len = make_stream(stream, fields, 4, 0, 0);
	size_t		step;
	bool		all = true;
	Seen		seen;
	CopyIn		ci;

	memset(&seen, 0, sizeof(seen));
	ok(feed_sliced(stream, len, len, &seen, err) && strcmp(seen.text, want) == 0,
	   "a whole stream gives every field, NULL and empty included");
	for (step = 1; step < len; step++)
	{
		memset(&seen, 0, sizeof(seen));
		all &= feed_sliced(stream, len, step, &seen, err) && strcmp(seen.text, want) == 0;
	}
	ok(all, "any slicing of the stream gives the same fields");

	len = make_stream(stream, fields, 1, 0x0000ffffu, 7);
	memset(&seen, 0, sizeof(seen));
	ok(feed_sliced(stream, len, 3, &seen, err) && seen.calls == 1,
	   "a header extension and low flag bits are skipped");

	len = make_stream(stream, fields, 0, 0, 0);
	memset(&seen, 0, sizeof(seen));
	ok(feed_sliced(stream, len, len, &seen, err) && seen.calls == 0, "an empty COPY");

	len = make_stream(stream, fields, 1, 0x00010000u, 0);
	memset(&seen, 0, sizeof(seen));
	ok(!feed_sliced(stream, len, len, &seen, err) && strstr(err, "flags"),
	   "OIDs (a format-breaking flag) are refused: %s", err);

	len = make_stream(stream, fields, 1, 0, 0);
	stream[0] = 'X';
	ok(!feed_sliced(stream, len, len, &seen, err) && strstr(err, "signature"),
	   "a bad signature is refused");

	len = make_stream(stream, fields, 2, 0, 0);
	memset(&seen, 0, sizeof(seen));
	ok(!feed_sliced(stream, len - 2, len, &seen, err) && strstr(err, "trailer"),
	   "a stream without its trailer is incomplete: %s", err);
	ok(!feed_sliced(stream, len - 5, 4, &seen, err) && strstr(err, "inside a tuple"),
	   "a stream cut inside a tuple is incomplete: %s", err);

	len = make_stream(stream, fields, 1, 0, 0);
	memcpy(stream + len, "\0\1", 2);
	memset(&seen, 0, sizeof(seen));
	ok(!feed_sliced(stream, len + 2, len + 2, &seen, err) && strstr(err, "after the trailer"),
	   "data after the trailer is refused");

	len = make_stream(stream, fields, 1, 0, 0);
	put_be(stream, 19 + 2, 0xfffffff0u, 4);
	ok(!feed_sliced(stream, len, len, &seen, err) && strstr(err, "invalid length"),
	   "a negative field length is refused");

	len = make_stream(stream, fields, 3, 0, 0);
	memset(&seen, 0, sizeof(seen));
	seen.stop_after = 2;
	copyin_init(&ci);
	ok(!copyin_feed(&ci, stream, len, collect, &seen, err, sizeof(err)) && seen.calls == 2,
	   "the consumer can stop the reader");
	copyin_free(&ci);
}

static void
test_chunks(void)
{
	ChunkRange	r;
	uint64_t	per;
	uint32_t	n;
	uint32_t	i;
	uint64_t	next = 0;
	bool		contiguous = true;

	ok(chunk_pages(0, 2) == CHUNK_MIN_PAGES && chunk_count(0, CHUNK_MIN_PAGES) == 1,
	   "an empty table is one chunk");
	r = chunk_range(CHUNK_MIN_PAGES, 0, 1);
	ok(r.first_block == 0 && r.open_end, "a single chunk is open-ended");
	ok(chunk_count(100, chunk_pages(100, 2)) == 1, "a small table is one chunk");
	per = chunk_pages(100000, 2);
	n = chunk_count(100000, per);
	ok(per == 12500 && n == 8, "a large table gives jobs * 4 chunks (%llu pages x %u)",
	   (unsigned long long) per, n);
	for (i = 0; i < n; i++)
	{
		r = chunk_range(per, i, n);
		contiguous &= r.first_block == next && (r.open_end == (i == n - 1));
		next = r.end_block;
	}
	ok(contiguous && next >= 100000, "the chunks are contiguous, cover the table, last is open");
	ok(chunk_pages(UINT64_C(100000000), 4) == CHUNK_MAX_PAGES, "chunks are at most 1 GB");
	ok(chunk_count(CHUNK_BLOCK_LIMIT * 2, CHUNK_MAX_PAGES) == 32768,
	   "block numbers stop at 2^32 - 1");
	ok(chunk_count(1000, 0) == 1, "a zero chunk size means one chunk");
}

/* a first value of pg2es.bulk_item_parts: the length of an item, then text */
static size_t
first_value(char *out, uint32_t item_len, const char *text)
{
	size_t		pos = put_be(out, 0, item_len, 4);

	memcpy(out + pos, text, strlen(text));
	return pos + strlen(text);
}

static void
test_itemparts(void)
{
	ItemParts	parts;
	char		v[64];
	const char *item = NULL;
	size_t		item_len = 0;
	char	   *block = NULL;
	char		err[128];
	size_t		n;

	itemparts_init(&parts);
	n = first_value(v, 5, "small");
	ok(itemparts_feed(&parts, v, n, &item, &item_len, &block, err, sizeof(err)) == ITEMPARTS_ITEM &&
	   item == v + 4 && item_len == 5 && block == NULL,
	   "a whole item is used where it lies");
	n = first_value(v, 11, "large");
	ok(itemparts_feed(&parts, v, n, &item, &item_len, &block, err, sizeof(err)) == ITEMPARTS_MORE,
	   "the first part of a large item asks for more");
	ok(itemparts_feed(&parts, " r", 2, &item, &item_len, &block, err, sizeof(err)) == ITEMPARTS_MORE,
	   "so does a middle part");
	ok(!itemparts_finish(&parts, err, sizeof(err)) && strstr(err, "7 of 11") != NULL,
	   "rows that end inside an item are an error: %s", err);
	ok(itemparts_feed(&parts, "ow!\n", 4, &item, &item_len, &block, err, sizeof(err)) == ITEMPARTS_ITEM &&
	   block != NULL && item == block && item_len == 11 && memcmp(item, "large row!\n", 11) == 0,
	   "the last part completes the item in a block of its size");
	free(block);
	ok(itemparts_finish(&parts, err, sizeof(err)), "after it, the reader is between items");

	n = first_value(v, 3, "");
	ok(itemparts_feed(&parts, v, 2, &item, &item_len, &block, err, sizeof(err)) == ITEMPARTS_ERROR &&
	   strstr(err, "no length") != NULL, "a value too short for the length: %s", err);
	n = first_value(v, 3, "toolong");
	ok(itemparts_feed(&parts, v, n, &item, &item_len, &block, err, sizeof(err)) == ITEMPARTS_ERROR &&
	   strstr(err, "longer than its item") != NULL, "a value longer than its item: %s", err);
	n = first_value(v, 6, "abc");
	ok(itemparts_feed(&parts, v, n, &item, &item_len, &block, err, sizeof(err)) == ITEMPARTS_MORE &&
	   itemparts_feed(&parts, "defg", 4, &item, &item_len, &block, err, sizeof(err)) == ITEMPARTS_ERROR &&
	   strstr(err, "overruns") != NULL, "a part overrunning its item: %s", err);
	itemparts_free(&parts);
	ok(parts.block == NULL, "free leaves the reader empty");
}

int
main(void)
{
	test_copyin();
	test_chunks();
	test_itemparts();
	return done_testing();
}
