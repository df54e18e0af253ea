/*
 * buf.h
 *		Growable byte buffer, and the forwarder's one JSON string escaper.
 *
 * A Buf owns its storage. Functions that can grow it return false when
 * memory is exhausted and leave the buffer exactly as it was, so a caller can
 * report the failure and keep (or retry) what it had.
 */
#ifndef PG2ES_BUF_H
#define PG2ES_BUF_H

#include "common.h"

typedef struct Buf
{
	char	   *data;			/* owned; NULL until the first growth */
	size_t		len;			/* bytes in use */
	size_t		cap;			/* bytes allocated */
} Buf;

extern void buf_init(Buf *buf);
extern void buf_free(Buf *buf);
extern void buf_reset(Buf *buf);
extern PG2ES_MUSTCHECK bool buf_reserve(Buf *buf, size_t extra);
extern PG2ES_MUSTCHECK bool buf_append(Buf *buf, const void *data, size_t len);
extern PG2ES_MUSTCHECK bool buf_append_str(Buf *buf, const char *str);
extern PG2ES_MUSTCHECK bool buf_printf(Buf *buf, const char *fmt,...) PG2ES_PRINTF(2, 3);
extern void buf_take(Buf *dst, Buf *src);

/* lower-case hexadecimal digits, the forwarder's one table of them */
extern const char hex_digits[17];

extern PG2ES_MUSTCHECK bool buf_append_json_string(Buf *buf, const char *text, size_t len);
extern size_t json_escape_byte(unsigned char c, char out[7]);

#endif							/* PG2ES_BUF_H */
