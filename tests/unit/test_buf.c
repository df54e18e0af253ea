/*
 * test_buf.c
 *		Unit tests for buf.c: the buffer and the JSON string escaper.
 */
#include <string.h>

#include "buf.h"
#include "tap.h"

/* buf_append_json_string: every escape, and UTF-8 passed through */
static void
test_json_string(void)
{
	static const char text[] = "a\"b\\c\nd\re\tf\001g\037h\x7f\xc3\xa9";
	static const char want[] = "x\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u001fh\x7f\xc3\xa9\"";
	Buf			b;

	buf_init(&b);
	ok(buf_append_str(&b, "x") && buf_append_json_string(&b, text, sizeof(text) - 1) &&
	   b.len == sizeof(want) - 1 && memcmp(b.data, want, b.len) == 0,
	   "a JSON string: quote, backslash, \\n \\r \\t, \\u00XX, UTF-8 as is");
	buf_reset(&b);
	ok(buf_append_json_string(&b, "\0z", 2) && strcmp(b.data, "\"\\u0000z\"") == 0,
	   "a NUL byte in a counted string is escaped");
	buf_free(&b);
}

int
main(void)
{
	Buf			b;
	Buf			c;
	size_t		i;
	bool		all = true;

	buf_init(&b);
	ok(b.data == NULL && b.len == 0, "an initialized buffer is empty");
	ok(buf_append(&b, "abc", 3) && b.len == 3 && memcmp(b.data, "abc", 3) == 0,
	   "append copies bytes");
	ok(b.data[b.len] == '\0', "contents stay NUL-terminated");
	ok(buf_append_str(&b, "def") && strcmp(b.data, "abcdef") == 0, "append_str");
	ok(buf_printf(&b, "-%d-%s", 42, "x") && strcmp(b.data, "abcdef-42-x") == 0, "printf appends");
	for (i = 0; i < 100000; i++)
		all &= buf_append(&b, "0123456789", 10);
	ok(all && b.len == 11 + 1000000, "grows to a megabyte");
	ok(!buf_reserve(&b, SIZE_MAX - 5) && b.len == 1000011 && memcmp(b.data, "abcdef", 6) == 0,
	   "an impossible growth fails and leaves the buffer intact");
	buf_reset(&b);
	ok(b.len == 0 && b.cap > 0, "reset keeps the storage");
	ok(buf_append(&b, "", 0) && b.len == 0, "appending nothing works");
	buf_init(&c);
	ok(buf_append_str(&b, "moved"), "refill");
	buf_take(&c, &b);
	ok(c.len == 5 && strcmp(c.data, "moved") == 0 && b.data == NULL && b.len == 0,
	   "take moves ownership and empties the source");
	buf_free(&c);
	ok(c.data == NULL && c.cap == 0, "free leaves an empty buffer");
	test_json_string();
	return done_testing();
}
