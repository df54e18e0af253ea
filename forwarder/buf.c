/*
 * buf.c
 *		Growable byte buffer (see buf.h for the ownership rules).
 */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Smallest allocation; avoids a run of tiny reallocs for short buffers. */
#define BUF_MIN_CAP 256

/*
 * buf_init: make an empty buffer that owns nothing yet.
 */
void
buf_init(Buf *buf)
{
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
}

/*
 * buf_free: release the storage; the buffer is empty and reusable after.
 */
void
buf_free(Buf *buf)
{
	free(buf->data);
	buf_init(buf);
}

/*
 * buf_reset: forget the contents but keep the storage for reuse.
 */
void
buf_reset(Buf *buf)
{
	buf->len = 0;
}

/*
 * buf_reserve: make room for at least extra more bytes (plus a terminating
 * zero byte, so the contents can always be used as a C string).
 *
 * Returns false on overflow or when realloc fails; the buffer is then
 * untouched (realloc keeps the old block on failure).
 */
bool
buf_reserve(Buf *buf, size_t extra)
{
	size_t		need;
	size_t		cap;
	char	   *data;

	if (extra > SIZE_MAX - buf->len - 1)
		return false;
	need = buf->len + extra + 1;
	if (need <= buf->cap)
		return true;
	cap = buf->cap < BUF_MIN_CAP ? BUF_MIN_CAP : buf->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	data = realloc(buf->data, cap);
	if (data == NULL)
		return false;
	buf->data = data;
	buf->cap = cap;
	return true;
}

/*
 * buf_append: copy len bytes from data to the end. The caller keeps
 * ownership of data. Returns false (buffer unchanged) on memory exhaustion.
 */
bool
buf_append(Buf *buf, const void *data, size_t len)
{
	if (!buf_reserve(buf, len))
		return false;
	if (len > 0)
		memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
	return true;
}

/*
 * buf_append_str: append a NUL-terminated string (without its NUL).
 */
bool
buf_append_str(Buf *buf, const char *str)
{
	return buf_append(buf, str, strlen(str));
}

/*
 * buf_printf: append formatted text. Returns false (buffer unchanged) on
 * memory exhaustion or a formatting error.
 */
bool
buf_printf(Buf *buf, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !buf_reserve(buf, (size_t) n))
		return false;
	va_start(ap, fmt);
	vsnprintf(buf->data + buf->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	buf->len += (size_t) n;
	return true;
}

/*
 * buf_take: move src's storage into dst (whose old storage is freed); src is
 * left empty. No allocation, so it cannot fail.
 */
void
buf_take(Buf *dst, Buf *src)
{
	free(dst->data);
	*dst = *src;
	buf_init(src);
}

const char	hex_digits[17] = "0123456789abcdef";

/*
 * json_escape_byte: the JSON escape of byte c into out (\" \\ \n \r \t,
 * \u00XX for the other control characters), returning its length; 0 when
 * c stands for itself. Bytes of 0x80 and above are UTF-8 and pass as they
 * are: every connection asks PostgreSQL for UTF-8.
 */
size_t
json_escape_byte(unsigned char c, char out[7])
{
	switch (c)
	{
		case '"':
		case '\\':
			out[0] = '\\';
			out[1] = (char) c;
			return 2;
		case '\n':
			memcpy(out, "\\n", 2);
			return 2;
		case '\r':
			memcpy(out, "\\r", 2);
			return 2;
		case '\t':
			memcpy(out, "\\t", 2);
			return 2;
	}
	if (c >= 0x20)
		return 0;
	memcpy(out, "\\u00", 4);
	out[4] = hex_digits[c >> 4];
	out[5] = hex_digits[c & 0xf];
	return 6;
}

/*
 * buf_append_json_string: text[0..len) as a JSON string, quotes included.
 */
bool
buf_append_json_string(Buf *buf, const char *text, size_t len)
{
	size_t		old_len = buf->len;
	size_t		i;
	size_t		start = 0;
	char		esc[7];
	size_t		n;
	bool		good = buf_append(buf, "\"", 1);

	for (i = 0; good && i < len; i++)
	{
		if ((n = json_escape_byte((unsigned char) text[i], esc)) == 0)
			continue;
		good = buf_append(buf, text + start, i - start) && buf_append(buf, esc, n);
		start = i + 1;
	}
	good = good && buf_append(buf, text + start, len - start) && buf_append(buf, "\"", 1);
	if (!good)
		buf->len = old_len;
	return good;
}
