/*
 * copyin.c
 *		Reader for PostgreSQL's binary COPY format (see copyin.h).
 *
 * The layout (PostgreSQL documentation, COPY, "Binary Format"), all
 * integers in network byte order:
 *
 *	header   11 bytes  "PGCOPY\n\377\r\n\0"
 *	         int32     flags: bit 16 = OIDs included; bits 16-31 are
 *	                   format-breaking (abort if unknown), bits 0-15 may be
 *	                   ignored
 *	         int32     length of the header extension, then that many bytes
 *	tuple    int16     field count, then per field:
 *	         int32     length (-1 = NULL), then that many bytes
 *	trailer  int16     -1
 */
#include "copyin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char copy_signature[11] = "PGCOPY\n\377\r\n";	/* and a NUL */

#define HEADER_FIXED_LEN (11 + 4 + 4)

/*
 * copyin_init: a reader expecting the header.
 */
void
copyin_init(CopyIn *ci)
{
	ci->state = COPYIN_HEADER;
	buf_init(&ci->carry);
	ci->tuples = 0;
}

/*
 * copyin_free: release the carried bytes.
 */
void
copyin_free(CopyIn *ci)
{
	buf_free(&ci->carry);
}

static long parse_header(const char *p, size_t n, char *errbuf, size_t errlen);
static long tuple_length(const char *p, size_t n, bool *trailer, char *errbuf, size_t errlen);
static bool emit_tuple(const char *p, CopyInFieldFn fn, void *arg);
static bool consume(CopyIn *ci, const char *p, size_t n, size_t *used, CopyInFieldFn fn, void *arg,
					char *errbuf, size_t errlen);
static ItemPartsStatus first_part(ItemParts *parts, const char *data, size_t len,
								  const char **item, size_t *item_len, char *errbuf, size_t errlen);

/*
 * parse_header: the header at p[0..n). Returns the bytes it takes, 0 when
 * more are needed, -1 (errbuf set) when it is not a binary COPY header.
 */
static long
parse_header(const char *p, size_t n, char *errbuf, size_t errlen)
{
	uint32_t	flags;
	uint32_t	extlen;

	if (n < HEADER_FIXED_LEN)
		return 0;
	if (memcmp(p, copy_signature, sizeof(copy_signature)) != 0)
	{
		snprintf(errbuf, errlen, "COPY data does not begin with the binary signature");
		return -1;
	}
	flags = read_be32(p + 11);
	if ((flags & 0xffff0000u) != 0)
	{
		snprintf(errbuf, errlen, "COPY data has unsupported header flags 0x%08x", flags);
		return -1;
	}
	extlen = read_be32(p + 15);
	if (extlen > (1u << 30))
	{
		snprintf(errbuf, errlen, "COPY header extension of %u bytes is invalid", extlen);
		return -1;
	}
	if (n - HEADER_FIXED_LEN < extlen)
		return 0;
	return (long) (HEADER_FIXED_LEN + extlen);
}

/*
 * tuple_length: the size of the tuple (or trailer) at p[0..n), so it can be
 * handed over whole. Returns 0 when more bytes are needed, -1 (errbuf set)
 * on a malformed length; *trailer says it was the trailer.
 */
static long
tuple_length(const char *p, size_t n, bool *trailer, char *errbuf, size_t errlen)
{
	int16_t		nfields;
	size_t		pos = 2;
	int			i;

	*trailer = false;
	if (n < 2)
		return 0;
	nfields = (int16_t) read_be16(p);
	if (nfields == -1)
	{
		*trailer = true;
		return 2;
	}
	if (nfields < 0)
	{
		snprintf(errbuf, errlen, "COPY tuple with invalid field count %d", nfields);
		return -1;
	}
	for (i = 0; i < nfields; i++)
	{
		int32_t		flen;

		if (n - pos < 4)
			return 0;
		flen = (int32_t) read_be32(p + pos);
		pos += 4;
		if (flen < -1)
		{
			snprintf(errbuf, errlen, "COPY field with invalid length %d", flen);
			return -1;
		}
		if (flen > 0)
		{
			if (n - pos < (size_t) flen)
				return 0;
			pos += (size_t) flen;
		}
	}
	return (long) pos;
}

/*
 * emit_tuple: call fn for each field of the complete tuple at p.
 */
static bool
emit_tuple(const char *p, CopyInFieldFn fn, void *arg)
{
	int			nfields = (int16_t) read_be16(p);
	size_t		pos = 2;
	int			i;

	for (i = 0; i < nfields; i++)
	{
		int32_t		flen = (int32_t) read_be32(p + pos);

		pos += 4;
		if (!fn(arg, i, flen < 0 ? NULL : p + pos, flen))
			return false;
		if (flen > 0)
			pos += (size_t) flen;
	}
	return true;
}

/*
 * consume: parse whole units from p[0..n); *used = the bytes taken (the
 * rest is an incomplete unit). Returns false on an error (errbuf set, or
 * the callback's own).
 */
static bool
consume(CopyIn *ci, const char *p, size_t n, size_t *used, CopyInFieldFn fn, void *arg,
		char *errbuf, size_t errlen)
{
	size_t		pos = 0;
	long		unit;
	bool		trailer;

	*used = 0;
	while (pos < n)
	{
		if (ci->state == COPYIN_DONE)
		{
			snprintf(errbuf, errlen, "COPY data continues after the trailer");
			return false;
		}
		if (ci->state == COPYIN_HEADER)
			unit = parse_header(p + pos, n - pos, errbuf, errlen);
		else
			unit = tuple_length(p + pos, n - pos, &trailer, errbuf, errlen);
		if (unit < 0)
			return false;
		if (unit == 0)
			break;
		if (ci->state == COPYIN_HEADER)
			ci->state = COPYIN_TUPLES;
		else if (trailer)
			ci->state = COPYIN_DONE;
		else
		{
			if (!emit_tuple(p + pos, fn, arg))
			{
				snprintf(errbuf, errlen, "stopped by the consumer");
				return false;
			}
			ci->tuples++;
		}
		pos += (size_t) unit;
		*used = pos;
	}
	return true;
}

/*
 * copyin_feed: read the next len bytes of the stream (borrowed), calling
 * fn for every field of every tuple they complete. Bytes of an unfinished
 * unit are copied and kept for the next call. Returns false, with errbuf
 * set, on malformed data, when fn returns false, or when memory runs out.
 */
bool
copyin_feed(CopyIn *ci, const char *data, size_t len, CopyInFieldFn fn, void *arg,
			char *errbuf, size_t errlen)
{
	size_t		used;

	errbuf[0] = '\0';
	if (ci->carry.len == 0)
	{
		/* the usual case: whole tuples straight from the message */
		if (!consume(ci, data, len, &used, fn, arg, errbuf, errlen))
			return false;
		if (used < len && !buf_append(&ci->carry, data + used, len - used))
			goto oom;
		return true;
	}
	if (!buf_append(&ci->carry, data, len))
		goto oom;
	if (!consume(ci, ci->carry.data, ci->carry.len, &used, fn, arg, errbuf, errlen))
		return false;
	/* keep only the unfinished unit, at the front */
	memmove(ci->carry.data, ci->carry.data + used, ci->carry.len - used);
	ci->carry.len -= used;
	return true;
oom:
	snprintf(errbuf, errlen, "out of memory reading COPY data");
	return false;
}

/*
 * copyin_finish: whether the stream ended properly (the trailer read and
 * nothing left over); errbuf says what is wrong otherwise.
 */
bool
copyin_finish(const CopyIn *ci, char *errbuf, size_t errlen)
{
	if (ci->state == COPYIN_DONE && ci->carry.len == 0)
		return true;
	snprintf(errbuf, errlen, "COPY data ended %s",
			 ci->state == COPYIN_HEADER ? "before its header was complete"
			 : ci->carry.len ? "inside a tuple" : "without the trailer");
	return false;
}

void
itemparts_init(ItemParts *parts)
{
	memset(parts, 0, sizeof(*parts));
}

void
itemparts_free(ItemParts *parts)
{
	free(parts->block);
	itemparts_init(parts);
}

/*
 * first_part: the first value of an item, data[0..len): the item itself
 * when it is whole (*item, *item_len set), else the start of parts->block.
 */
static ItemPartsStatus
first_part(ItemParts *parts, const char *data, size_t len,
		   const char **item, size_t *item_len, char *errbuf, size_t errlen)
{
	size_t		whole;

	if (len < 4)
	{
		snprintf(errbuf, errlen, "a first value of %zu bytes has no length", len);
		return ITEMPARTS_ERROR;
	}
	whole = read_be32(data);
	if (whole < len - 4)
	{
		snprintf(errbuf, errlen, "a value of %zu bytes is longer than its item of %zu", len - 4, whole);
		return ITEMPARTS_ERROR;
	}
	if (whole == len - 4)
	{
		*item = data + 4;
		*item_len = whole;
		return ITEMPARTS_ITEM;
	}
	if ((parts->block = malloc(whole)) == NULL)
	{
		snprintf(errbuf, errlen, "out of memory for an item of %zu bytes", whole);
		return ITEMPARTS_ERROR;
	}
	parts->len = whole;
	parts->filled = len - 4;
	memcpy(parts->block, data + 4, parts->filled);
	return ITEMPARTS_MORE;
}

/*
 * itemparts_feed: one value data[0..len) of pg2es.bulk_item_parts. On
 * ITEMPARTS_ITEM, *item and *item_len give the item and *block is the
 * malloc'd block holding it, which the caller then owns, or NULL when the
 * item lies in data.
 */
ItemPartsStatus
itemparts_feed(ItemParts *parts, const char *data, size_t len,
			   const char **item, size_t *item_len, char **block,
			   char *errbuf, size_t errlen)
{
	*block = NULL;
	if (parts->block == NULL)
		return first_part(parts, data, len, item, item_len, errbuf, errlen);
	if (len > parts->len - parts->filled)
	{
		snprintf(errbuf, errlen, "a value of %zu bytes overruns its item (%zu of %zu bytes in)",
				 len, parts->filled, parts->len);
		return ITEMPARTS_ERROR;
	}
	memcpy(parts->block + parts->filled, data, len);
	parts->filled += len;
	if (parts->filled < parts->len)
		return ITEMPARTS_MORE;
	*item = *block = parts->block;
	*item_len = parts->len;
	itemparts_init(parts);
	return ITEMPARTS_ITEM;
}

/*
 * itemparts_finish: the values ended (the COPY did): false if inside an
 * item.
 */
bool
itemparts_finish(const ItemParts *parts, char *errbuf, size_t errlen)
{
	if (parts->block == NULL)
		return true;
	snprintf(errbuf, errlen, "the rows ended inside an item (%zu of %zu bytes)", parts->filled,
			 parts->len);
	return false;
}
