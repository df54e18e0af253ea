/*
 * jsoncmp.h
 *		Walking and comparing JSON text without converting it, for verify
 *		(and for move.c, which splices documents with the walker).
 *
 * Pure: no I/O. Values are compared as JSON values, not bytes: member order,
 * whitespace and string escapes do not matter; numbers are equal when their
 * decimal values are (1.0e2 = 100, exactly, whatever the digits, so big
 * numbers never collapse the way they do as doubles), or when both have at
 * most 17 significant digits and read as the same double (the same float
 * printed by two shortest-round-trip algorithms).
 */
#ifndef PG2ES_JSONCMP_H
#define PG2ES_JSONCMP_H

#include "buf.h"
#include "common.h"

/* One member of an object, as raw text spans. */
typedef struct JsonMember
{
	const char *key;			/* between the quotes, escapes as written */
	size_t		keylen;
	const char *value;			/* the value's text */
	size_t		valuelen;
} JsonMember;

extern const char *jsoncmp_skip(const char *p, const char *end);
extern const char *jsoncmp_enter(const char *p, const char *end, char open);
extern int	jsoncmp_next_member(const char **p, const char *end, JsonMember *m);
extern int	jsoncmp_next_element(const char **p, const char *end, const char **value,
								 size_t *len);
extern bool jsoncmp_find_member(const char *obj, size_t len, const char *key, JsonMember *m);
extern bool jsoncmp_member_true(const char *obj, size_t len, const char *key);
extern PG2ES_MUSTCHECK bool jsoncmp_append_with(Buf *out, const char *obj, size_t len,
												const char *member);
extern bool jsoncmp_equal(const char *a, size_t alen, const char *b, size_t blen);
extern bool jsoncmp_equal_except(const char *a, size_t alen, const char *b, size_t blen,
								 const char *const *skip);

#endif							/* PG2ES_JSONCMP_H */
