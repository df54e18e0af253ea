/*
 * test_frame.c
 *		Unit tests for frame.c: the framed-mode reader of docs/design.md.
 */
#include <msgpack.h>
#include <string.h>

#include "frame.h"
#include "tap.h"

static msgpack_sbuffer sbuf;
static msgpack_packer pk;

static void
pack_change(uint64_t flags, uint64_t nitems, const char *ndjson)
{
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_uint64(&pk, flags);
	msgpack_pack_uint64(&pk, nitems);
	msgpack_pack_uint64(&pk, strlen(ndjson));
	msgpack_sbuffer_write(&sbuf, ndjson, strlen(ndjson));
}

static void
pack_commit(uint64_t xid, uint64_t commit_lsn, uint64_t end_lsn, uint64_t time)
{
	msgpack_pack_array(&pk, 5);
	msgpack_pack_uint64(&pk, 2);
	msgpack_pack_uint64(&pk, xid);
	msgpack_pack_uint64(&pk, commit_lsn);
	msgpack_pack_uint64(&pk, end_lsn);
	msgpack_pack_uint64(&pk, time);
}

static void
pack_str(const char *s)
{
	msgpack_pack_str(&pk, strlen(s));
	msgpack_pack_str_body(&pk, s, strlen(s));
}

/* a REQUEST header; target and index NULL are packed as nil */
static void
pack_request(uint64_t id, const char *kind, const char *state, const char *target,
			 bool keep_old, const char *index)
{
	msgpack_pack_array(&pk, 8);
	msgpack_pack_uint64(&pk, 5);
	msgpack_pack_uint64(&pk, id);
	pack_str(kind);
	msgpack_pack_uint64(&pk, 16390);
	pack_str(state);
	if (target)
		pack_str(target);
	else
		msgpack_pack_nil(&pk);
	if (keep_old)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	if (index)
		pack_str(index);
	else
		msgpack_pack_nil(&pk);
}

/* read every frame of the buffer; returns the status of the last call */
static FrameStatus
read_all(const char *data, size_t len, Frame *frames, int max, int *n, char *err)
{
	FrameReader r;
	FrameStatus fs;

	*n = 0;
	frame_reader_init(&r, data, len);
	while ((fs = frame_reader_next(&r, &frames[*n], err, 256)) == FRAME_OK && *n < max - 1)
		(*n)++;
	return fs;
}

static FrameStatus
read_buffer(Frame *frames, int max, int *n, char *err)
{
	return read_all(sbuf.data, sbuf.size, frames, max, n, err);
}

static void
reset(void)
{
	msgpack_sbuffer_clear(&sbuf);
}

int
main(void)
{
	Frame		f[8];
	int			n;
	char		err[256];
	const char *ins = "{\"index\":{\"_index\":\"public.t\",\"_id\":\"1\",\"version\":42,\"version_type\":\"external_gte\"}}\n{\"id\":1}\n";
	const char *keychange = "{\"delete\":{\"_index\":\"public.t\",\"_id\":\"1\"}}\n{\"index\":{\"_index\":\"public.t\",\"_id\":\"2\"}}\n{\"id\":2}\n";
	const char *upd = "{\"update\":{\"_index\":\"public.t\",\"_id\":\"3\"}}\n{\"doc\":{\"a\":1}}\n";
	size_t		i;
	int			errors = 0;
	FrameStatus fs;

	msgpack_sbuffer_init(&sbuf);
	msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);

	/* RELATION, CHANGE, CHANGE(2 items), CHANGE(update), TRUNCATE, COMMIT */
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint64(&pk, 4);
	msgpack_pack_uint64(&pk, 16384);
	pack_str("public.t");
	pack_change(0, 1, ins);
	pack_change(0, 2, keychange);
	pack_change(FRAME_FLAG_UNVERSIONED, 1, upd);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint64(&pk, 3);
	msgpack_pack_array(&pk, 2);
	pack_str("public.a");
	pack_str("public.b");
	msgpack_pack_uint64(&pk, UINT64_C(0x100000028));
	pack_commit(735, UINT64_C(0x100000028), UINT64_C(0x100000058), UINT64_C(1700000000000000));
	fs = read_buffer(f, 8, &n, err);
	ok(fs == FRAME_END && n == 6, "a message of six frames reads to the end");
	ok(f[0].kind == FRAME_RELATION && f[0].relid == 16384 && f[0].relation_index_len == 8 &&
	   memcmp(f[0].relation_index, "public.t", 8) == 0, "RELATION frame");
	ok(f[1].kind == FRAME_CHANGE && f[1].nitems == 1 && f[1].items[0].action == ITEM_INDEX &&
	   f[1].items[0].len == strlen(ins) && memcmp(f[1].items[0].data, ins, strlen(ins)) == 0,
	   "CHANGE frame with one index item");
	ok(f[2].nitems == 2 && f[2].items[0].action == ITEM_DELETE &&
	   f[2].items[0].len == (size_t) (strchr(keychange, '\n') - keychange + 1) &&
	   f[2].items[1].action == ITEM_INDEX &&
	   f[2].items[0].len + f[2].items[1].len == strlen(keychange),
	   "key change: a one-line delete then an index item");
	ok(f[3].flags == FRAME_FLAG_UNVERSIONED && f[3].items[0].action == ITEM_UPDATE,
	   "unversioned partial update flagged");
	ok(f[5].kind == FRAME_COMMIT && f[5].xid == 735 && f[5].commit_lsn == UINT64_C(0x100000028) &&
	   f[5].end_lsn == UINT64_C(0x100000058) && f[5].commit_time == INT64_C(1700000000000000),
	   "COMMIT frame");
	/* TRUNCATE's names point into the message */
	{
		FrameReader r;
		Frame		t;
		const char *name;
		size_t		len;

		frame_reader_init(&r, sbuf.data, sbuf.size);
		while ((fs = frame_reader_next(&r, &t, err, sizeof(err))) == FRAME_OK && t.kind != FRAME_TRUNCATE)
			;
		ok(fs == FRAME_OK && t.nindexes == 2 && t.truncate_version == UINT64_C(0x100000028),
		   "TRUNCATE frame with two indexes and its version");
		frame_truncate_index(&t, 1, &name, &len);
		ok(len == 8 && memcmp(name, "public.b", 8) == 0, "TRUNCATE index names");
	}

	ok(read_all("", 0, f, 8, &n, err) == FRAME_END && n == 0, "an empty message has no frames");

	/* every truncation of the message is an error, never a wrong frame */
	for (i = 1; i < sbuf.size; i++)
	{
		FrameReader r;
		Frame		t;

		frame_reader_init(&r, sbuf.data, i);
		while ((fs = frame_reader_next(&r, &t, err, sizeof(err))) == FRAME_OK)
			;
		/* cuts that fall exactly between frames are valid shorter messages */
		if (fs != FRAME_ERROR && fs != FRAME_END)
			errors++;
	}
	ok(errors == 0, "every truncated copy reads as an error or a shorter message");

	reset();
	pack_change(0, 1, "{\"index\":{}}\n{\"a\":1}\n");
	sbuf.size -= 3;
	fs = read_buffer(f, 8, &n, err);
	ok(fs == FRAME_ERROR && strstr(err, "declares") != NULL, "a CHANGE longer than the message is an error");

	reset();
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint64(&pk, 9);
	msgpack_pack_uint64(&pk, 0);
	fs = read_buffer(f, 8, &n, err);
	ok(fs == FRAME_ERROR && strstr(err, "unknown frame kind 9") != NULL, "an unknown frame kind is an error");

	reset();
	pack_change(0, 3, ins);
	ok(read_buffer(f, 8, &n, err) == FRAME_ERROR, "three items in a CHANGE is an error");

	reset();
	pack_change(0, 2, ins);
	ok(read_buffer(f, 8, &n, err) == FRAME_ERROR, "fewer items than declared is an error");

	reset();
	pack_change(0, 1, "{\"index\":{}}\n{\"a\":1}");
	ok(read_buffer(f, 8, &n, err) == FRAME_ERROR, "a last line without a newline is an error");

	reset();
	pack_change(0, 1, "{\"index\":{}}\n{\"a\":1}\n{\"b\":2}\n");
	ok(read_buffer(f, 8, &n, err) == FRAME_ERROR, "extra lines after the items are an error");

	reset();
	pack_change(0, 1, "{\"bogus\":{}}\n{\"a\":1}\n");
	ok(read_buffer(f, 8, &n, err) == FRAME_ERROR, "an unknown bulk action is an error");

	reset();
	msgpack_pack_array(&pk, 5);
	msgpack_pack_uint64(&pk, 2);
	msgpack_pack_int64(&pk, -1);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_uint64(&pk, 2);
	msgpack_pack_uint64(&pk, 3);
	ok(read_buffer(f, 8, &n, err) == FRAME_ERROR, "a negative integer in a header is an error");

	/* signed encodings of non-negative values read as msgpack-c reads them */
	ok(read_all("\x95\x02\xd0\x05\xd1\x00\x06\xd2\x00\x00\x00\x07\xd3\x00\x00\x00\x00\x00\x00\x00\x08",
				21, f, 8, &n, err) == FRAME_END && n == 1 && f[0].xid == 5 && f[0].commit_lsn == 6 &&
	   f[0].end_lsn == 7 && f[0].commit_time == 8, "non-negative signed integers of every width");
	ok(read_all("\x95\x02\xd0\xff\x00\x00\x00", 7, f, 8, &n, err) == FRAME_ERROR,
	   "a negative int 8 is an error");
	reset();
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint64(&pk, 4);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_str(&pk, 40);
	msgpack_pack_str_body(&pk, "a_name_longer_than_a_fixstr_can_hold_xyz", 40);
	ok(read_buffer(f, 8, &n, err) == FRAME_END && n == 1 && f[0].relation_index_len == 40,
	   "a str 8 index name");

	/* COVERED: a table a publication change brought in */
	reset();
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint64(&pk, 6);
	msgpack_pack_uint64(&pk, 16390);
	pack_str("public.late");
	pack_str("public.late");
	pack_commit(736, 1, 2, 3);
	ok(read_buffer(f, 8, &n, err) == FRAME_END && n == 2 && f[0].kind == FRAME_COVERED &&
	   f[0].relid == 16390 && f[0].relation_index_len == 11 &&
	   memcmp(f[0].relation_index, "public.late", 11) == 0 && f[0].covered_table_len == 11 &&
	   memcmp(f[0].covered_table, "public.late", 11) == 0 && f[1].kind == FRAME_COMMIT,
	   "COVERED frame before its COMMIT");
	reset();
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint64(&pk, 6);
	msgpack_pack_uint64(&pk, 16390);
	pack_str("public.late");
	ok(read_buffer(f, 8, &n, err) == FRAME_ERROR && strstr(err, "kind 6") != NULL,
	   "a COVERED frame without its table name is an error");
	reset();
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint64(&pk, 6);
	msgpack_pack_uint64(&pk, 16390);
	pack_str("public.late");
	pack_str("");
	ok(read_buffer(f, 8, &n, err) == FRAME_ERROR, "a COVERED frame with an empty table name is an error");

	reset();
	msgpack_pack_map(&pk, 1);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_uint64(&pk, 1);
	ok(read_buffer(f, 8, &n, err) == FRAME_ERROR, "a header that is not an array is an error");

	/* a header declaring four billion elements must not allocate them */
	ok(read_all("\x92\x03\xdd\xff\xff\xff\xff", 7, f, 8, &n, err) == FRAME_ERROR,
	   "a huge declared array count is an error, not an allocation");
	ok(read_all("\x91\xc1", 2, f, 8, &n, err) == FRAME_ERROR, "the reserved byte 0xc1 is an error");

	reset();
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint64(&pk, 3);
	msgpack_pack_array(&pk, 0);
	msgpack_pack_uint64(&pk, 1);
	ok(read_buffer(f, 8, &n, err) == FRAME_ERROR, "a TRUNCATE naming no index is an error");

	reset();
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint64(&pk, 3);
	msgpack_pack_array(&pk, 1);
	pack_str("public.a");
	ok(read_buffer(f, 8, &n, err) == FRAME_ERROR, "a TRUNCATE without its version is an error");

	reset();
	pack_request(7, "reindex", "copying", "public.t~g2", true, "public.t");
	pack_request(8, "backfill", "requested", NULL, false, NULL);
	fs = read_buffer(f, 8, &n, err);
	ok(fs == FRAME_END && n == 2 && f[0].kind == FRAME_REQUEST && f[0].request.id == 7 &&
	   f[0].request.kind == REQUEST_REINDEX && f[0].request.relid == 16390 &&
	   f[0].request.state == REQUEST_COPYING && f[0].request.target_index_len == 11 &&
	   memcmp(f[0].request.target_index, "public.t~g2", 11) == 0 && f[0].request.keep_old &&
	   f[0].request.index_len == 8 && memcmp(f[0].request.index, "public.t", 8) == 0,
	   "REQUEST frame of a reindex being copied");
	ok(f[1].request.kind == REQUEST_BACKFILL && f[1].request.state == REQUEST_REQUESTED &&
	   f[1].request.target_index == NULL && !f[1].request.keep_old && f[1].request.index == NULL,
	   "REQUEST frame with nil target and index");
	reset();
	pack_request(7, "rebuild", "copying", NULL, false, "public.t");
	ok(read_buffer(f, 8, &n, err) == FRAME_ERROR, "a REQUEST of an unknown kind is an error");
	reset();
	pack_request(7, "reindex", "paused", NULL, false, "public.t");
	ok(read_buffer(f, 8, &n, err) == FRAME_ERROR, "a REQUEST in an unknown state is an error");
	reset();
	pack_request(7, "reindex", "copying", "", false, "public.t");
	ok(read_buffer(f, 8, &n, err) == FRAME_ERROR, "a REQUEST with an empty target index is an error");
	ok(read_all("\x98\x05\x07\xa7reindex\x01\xa9requested\xc0\x01\xc0", 25, f, 8, &n, err) ==
	   FRAME_ERROR, "a REQUEST whose keep_old is not a boolean is an error");

	msgpack_sbuffer_destroy(&sbuf);
	return done_testing();
}
