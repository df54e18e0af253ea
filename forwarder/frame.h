/*
 * frame.h
 *		Reader for the decoder's framed output (framing=msgpack).
 *
 * Pure: no I/O, no global state. See docs/design.md "Framed mode".
 */
#ifndef PG2ES_FRAME_H
#define PG2ES_FRAME_H

#include <msgpack.h>

#include "common.h"

typedef enum FrameKind
{
	FRAME_CHANGE = 1,
	FRAME_COMMIT = 2,
	FRAME_TRUNCATE = 3,
	FRAME_RELATION = 4
} FrameKind;

/* CHANGE flag bit 0: the frame holds an unversioned (partial update) item */
#define FRAME_FLAG_UNVERSIONED 1

/* Bulk action of one item, read from its action line. */
typedef enum ItemAction
{
	ITEM_INDEX,
	ITEM_CREATE,
	ITEM_UPDATE,
	ITEM_DELETE
} ItemAction;

/* One bulk item inside a CHANGE payload: its lines, each ending in \n. */
typedef struct FrameItem
{
	const char *data;			/* points into the message */
	size_t		len;
	ItemAction	action;
} FrameItem;

#define FRAME_MAX_ITEMS 2

/*
 * One decoded frame. Pointers refer to the message bytes (or the reader's
 * msgpack zone) and are valid until the next frame_reader_next call.
 */
typedef struct Frame
{
	FrameKind	kind;
	/* CHANGE */
	uint64_t	flags;
	size_t		nitems;
	FrameItem	items[FRAME_MAX_ITEMS];
	/* COMMIT */
	uint64_t	xid;
	Lsn			commit_lsn;
	Lsn			end_lsn;
	int64_t		commit_time;	/* microseconds since the Unix epoch */
	/* RELATION */
	uint64_t	relid;
	const char *relation_index;
	size_t		relation_index_len;
	/* TRUNCATE: nindexes msgpack strings */
	const msgpack_object *indexes;
	size_t		nindexes;
} Frame;

/* Walks the frames of one message. */
typedef struct FrameReader
{
	const char *data;			/* the message, owned by the caller */
	size_t		len;
	size_t		pos;
	msgpack_unpacked unpacked;
} FrameReader;

typedef enum FrameStatus
{
	FRAME_OK,					/* *frame holds the next frame */
	FRAME_END,					/* the message has no more frames */
	FRAME_ERROR					/* malformed; errbuf says why */
} FrameStatus;

extern void frame_reader_init(FrameReader *reader, const char *data, size_t len);
extern void frame_reader_destroy(FrameReader *reader);
extern PG2ES_MUSTCHECK FrameStatus frame_reader_next(FrameReader *reader,
													 Frame *frame,
													 char *errbuf,
													 size_t errlen);
extern void frame_truncate_index(const Frame *frame, size_t i,
								 const char **name, size_t *len);

#endif							/* PG2ES_FRAME_H */
