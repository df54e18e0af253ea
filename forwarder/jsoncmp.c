/*
 * jsoncmp.c
 *		Walking and comparing JSON text (see jsoncmp.h).
 *
 * The walkers validate structure only as far as they need to find where a
 * value ends; the comparison treats anything malformed as unequal.
 */
#include "jsoncmp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define JSONCMP_MAX_DEPTH 256
#define DOUBLE_DIGITS 17

/*
 * skip_ws: past JSON whitespace.
 */
static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/*
 * skip_string: past the string whose opening quote is at p; NULL if it
 * does not end.
 */
static const char *
skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++)
	{
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/*
 * skip_value: past the value at p (after whitespace), depth levels deep.
 */
static const char *
skip_value(const char *p, const char *end, int depth)
{
	char		close;

	p = skip_ws(p, end);
	if (p >= end || depth > JSONCMP_MAX_DEPTH)
		return NULL;
	if (*p == '"')
		return skip_string(p, end);
	if (*p != '{' && *p != '[')
	{
		const char *start = p;

		while (p < end && (strchr("+-.eE", *p) || (*p >= '0' && *p <= '9') ||
						   (*p >= 'a' && *p <= 'z')))
			p++;
		return p > start ? p : NULL;
	}
	close = *p == '{' ? '}' : ']';
	p = skip_ws(p + 1, end);
	if (p < end && *p == close)
		return p + 1;
	for (;;)
	{
		if (close == '}')
		{
			if (p >= end || *p != '"' || (p = skip_string(p, end)) == NULL)
				return NULL;
			p = skip_ws(p, end);
			if (p >= end || *p++ != ':')
				return NULL;
		}
		if ((p = skip_value(p, end, depth + 1)) == NULL)
			return NULL;
		p = skip_ws(p, end);
		if (p < end && *p == ',')
			p = skip_ws(p + 1, end);
		else if (p < end && *p == close)
			return p + 1;
		else
			return NULL;
	}
}

/*
 * jsoncmp_skip: the end of the JSON value starting at p (leading
 * whitespace allowed), NULL when it is malformed or cut short.
 */
const char *
jsoncmp_skip(const char *p, const char *end)
{
	return skip_value(p, end, 0);
}

/*
 * jsoncmp_enter: p past the opening open ('{' or '['), for the member and
 * element walkers; NULL if the value at p is something else.
 */
const char *
jsoncmp_enter(const char *p, const char *end, char open)
{
	p = skip_ws(p, end);
	return p < end && *p == open ? p + 1 : NULL;
}

/*
 * jsoncmp_next_member: the next member of the object *p is inside (from
 * jsoncmp_enter), advancing *p. Returns 1 with *m set, 0 at the end of the
 * object, -1 when malformed.
 */
int
jsoncmp_next_member(const char **p, const char *end, JsonMember *m)
{
	const char *q = skip_ws(*p, end);
	const char *v;

	if (q < end && *q == ',')
		q = skip_ws(q + 1, end);
	if (q < end && *q == '}')
	{
		*p = q + 1;
		return 0;
	}
	if (q >= end || *q != '"' || (v = skip_string(q, end)) == NULL)
		return -1;
	m->key = q + 1;
	m->keylen = (size_t) (v - q - 2);
	v = skip_ws(v, end);
	if (v >= end || *v != ':')
		return -1;
	m->value = skip_ws(v + 1, end);
	if ((q = skip_value(m->value, end, 1)) == NULL)
		return -1;
	m->valuelen = (size_t) (q - m->value);
	*p = q;
	return 1;
}

/*
 * jsoncmp_next_element: the next element of the array *p is inside, as
 * jsoncmp_next_member.
 */
int
jsoncmp_next_element(const char **p, const char *end, const char **value, size_t *len)
{
	const char *q = skip_ws(*p, end);
	const char *v;

	if (q < end && *q == ',')
		q = skip_ws(q + 1, end);
	if (q < end && *q == ']')
	{
		*p = q + 1;
		return 0;
	}
	if ((v = skip_value(q, end, 1)) == NULL)
		return -1;
	*value = q;
	*len = (size_t) (v - q);
	*p = v;
	return 1;
}

/*
 * next_char: the code point at *p inside a string body (escapes decoded,
 * UTF-8 bytes passed one by one), advancing *p; -1 when malformed.
 */
static long
next_char(const char **p, const char *end)
{
	const char *q = *p;
	long		c;
	char		hex[5] = {0};	/* the 4 digits of a \u escape */

	if (*q != '\\')
	{
		*p = q + 1;
		return (unsigned char) *q;
	}
	if (q + 1 >= end)
		return -1;
	*p = q + 2;
	switch (q[1])
	{
		case 'b':
			return '\b';
		case 'f':
			return '\f';
		case 'n':
			return '\n';
		case 'r':
			return '\r';
		case 't':
			return '\t';
		case 'u':
			if (end - q < 6)
				return -1;
			memcpy(hex, q + 2, 4);
			c = strtol(hex, NULL, 16);
			*p = q + 6;
			/* compare escaped non-ASCII as a code point marker */
			return c < 0x80 ? c : 0x110000 + c;
		default:
			return (unsigned char) q[1];
	}
}

/*
 * strings_equal: two string bodies (no quotes) as decoded text. A \u
 * escape of a non-ASCII character is compared with its UTF-8 bytes.
 */
static bool
strings_equal(const char *a, const char *aend, const char *b, const char *bend)
{
	while (a < aend && b < bend)
	{
		long		ca = next_char(&a, aend);
		long		cb = next_char(&b, bend);

		if (ca < 0 || cb < 0)
			return false;
		if (ca != cb && (ca >= 0x110000 || cb >= 0x110000))
		{
			/* decode the UTF-8 sequence on the other side to compare */
			const char **u = ca >= 0x110000 ? &b : &a;
			const char *uend = ca >= 0x110000 ? bend : aend;
			long		esc = (ca >= 0x110000 ? ca : cb) - 0x110000;
			long		lead = ca >= 0x110000 ? cb : ca;
			int			extra = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc0 ? 1 : -1;
			long		cp = lead & (0x3f >> extra);

			if (extra < 0 || uend - *u < extra)
				return false;
			while (extra-- > 0)
				cp = (cp << 6) | ((unsigned char) *(*u)++ & 0x3f);
			if (cp != esc)
				return false;
		}
		else if (ca != cb)
			return false;
	}
	return a == aend && b == bend;
}

/* A number as sign, significant digits and the power of ten of the last. */
typedef struct Decimal
{
	bool		negative;
	char		digits[1024];
	size_t		ndigits;
	long		exponent;
} Decimal;

static const char *skip_ws(const char *p, const char *end);
static const char *skip_string(const char *p, const char *end);
static const char *skip_value(const char *p, const char *end, int depth);
static long next_char(const char **p, const char *end);
static bool strings_equal(const char *a, const char *aend, const char *b, const char *bend);
static PG2ES_MUSTCHECK bool parse_decimal(const char *text, size_t len, Decimal *d);
static bool numbers_equal(const char *a, size_t alen, const char *b, size_t blen);
static bool find_member(const char *b, const char *bend, const JsonMember *key, JsonMember *found);
static bool skipped(const JsonMember *key, const char *const *skip);
static bool objects_equal(const char *a, const char *aend, const char *b, const char *bend, int depth,
						  const char *const *skip);
static bool arrays_equal(const char *a, const char *aend, const char *b, const char *bend, int depth);
static bool values_equal(const char *a, const char *aend, const char *b, const char *bend, int depth);

/*
 * parse_decimal: the number text[0..len) in canonical form (no leading or
 * trailing zeros in digits; zero has no digits and is never negative).
 */
static PG2ES_MUSTCHECK bool
parse_decimal(const char *text, size_t len, Decimal *d)
{
	const char *p = text;
	const char *end = text + len;
	long		frac = 0;
	bool		seen = false;

	memset(d, 0, sizeof(*d));
	if (p < end && *p == '-')
		d->negative = *p++ == '-';
	for (; p < end && ((*p >= '0' && *p <= '9') || *p == '.'); p++)
	{
		if (*p == '.')
		{
			if (seen)
				return false;
			seen = true;
			continue;
		}
		frac += seen;
		if (d->ndigits == 0 && *p == '0')
			continue;
		if (d->ndigits >= sizeof(d->digits))
			return false;
		d->digits[d->ndigits++] = *p;
	}
	if (p < end && (*p == 'e' || *p == 'E'))
		d->exponent = strtol(p + 1, NULL, 10);
	d->exponent -= frac;
	while (d->ndigits > 0 && d->digits[d->ndigits - 1] == '0')
	{
		d->ndigits--;
		d->exponent++;
	}
	if (d->ndigits == 0)
		d->negative = false, d->exponent = 0;
	return true;
}

/*
 * numbers_equal: see jsoncmp.h.
 */
static bool
numbers_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	Decimal		da;
	Decimal		db;
	char		ta[64];
	char		tb[64];

	if (!parse_decimal(a, alen, &da) || !parse_decimal(b, blen, &db))
		return false;
	if (da.negative == db.negative && da.exponent == db.exponent &&
		da.ndigits == db.ndigits && memcmp(da.digits, db.digits, da.ndigits) == 0)
		return true;
	if (da.ndigits > DOUBLE_DIGITS || db.ndigits > DOUBLE_DIGITS ||
		alen >= sizeof(ta) || blen >= sizeof(tb))
		return false;
	memcpy(ta, a, alen);
	ta[alen] = '\0';
	memcpy(tb, b, blen);
	tb[blen] = '\0';
	return strtod(ta, NULL) == strtod(tb, NULL);
}

static bool values_equal(const char *a, const char *aend, const char *b, const char *bend,
						 int depth);

/*
 * find_member: the value of the member of object body b named like key
 * (decoded), or NULL.
 */
static bool
find_member(const char *b, const char *bend, const JsonMember *key, JsonMember *found)
{
	int			r;

	while ((r = jsoncmp_next_member(&b, bend, found)) == 1)
		if (strings_equal(key->key, key->key + key->keylen, found->key,
						  found->key + found->keylen))
			return true;
	return false;
}

/*
 * skipped: whether the member named key is one of the names in skip (a
 * NULL-terminated list, or NULL for none).
 */
static bool
skipped(const JsonMember *key, const char *const *skip)
{
	for (; skip && *skip; skip++)
		if (strings_equal(key->key, key->key + key->keylen, *skip, *skip + strlen(*skip)))
			return true;
	return false;
}

/*
 * objects_equal: the objects after their '{': same member count, and each
 * member of a equal to b's member of that name; members named in skip
 * (see skipped) are left out on both sides.
 */
static bool
objects_equal(const char *a, const char *aend, const char *b, const char *bend, int depth,
			  const char *const *skip)
{
	const char *pa = a;
	const char *pb = b;
	JsonMember	ma;
	JsonMember	mb;
	int			r;
	size_t		na = 0;
	size_t		nb = 0;

	while ((r = jsoncmp_next_member(&pb, bend, &mb)) == 1)
		nb += !skipped(&mb, skip);
	if (r < 0)
		return false;
	while ((r = jsoncmp_next_member(&pa, aend, &ma)) == 1)
	{
		if (skipped(&ma, skip))
			continue;
		na++;
		if (!find_member(b, bend, &ma, &mb) ||
			!values_equal(ma.value, ma.value + ma.valuelen, mb.value,
						  mb.value + mb.valuelen, depth + 1))
			return false;
	}
	return r == 0 && na == nb;
}

/*
 * arrays_equal: the arrays after their '[', element by element.
 */
static bool
arrays_equal(const char *a, const char *aend, const char *b, const char *bend, int depth)
{
	const char *va;
	const char *vb;
	size_t		la;
	size_t		lb;
	int			ra;
	int			rb;

	for (;;)
	{
		ra = jsoncmp_next_element(&a, aend, &va, &la);
		rb = jsoncmp_next_element(&b, bend, &vb, &lb);
		if (ra != rb || ra < 0)
			return false;
		if (ra == 0)
			return true;
		if (!values_equal(va, va + la, vb, vb + lb, depth + 1))
			return false;
	}
}

/*
 * values_equal: two JSON values (each span exactly one value, whitespace
 * around allowed).
 */
static bool
values_equal(const char *a, const char *aend, const char *b, const char *bend, int depth)
{
	const char *ea;
	const char *eb;

	a = skip_ws(a, aend);
	b = skip_ws(b, bend);
	if (depth > JSONCMP_MAX_DEPTH || a >= aend || b >= bend ||
		(ea = skip_value(a, aend, depth)) == NULL || (eb = skip_value(b, bend, depth)) == NULL)
		return false;
	if (*a == '{' && *b == '{')
		return objects_equal(a + 1, ea, b + 1, eb, depth, NULL);
	if (*a == '[' && *b == '[')
		return arrays_equal(a + 1, ea, b + 1, eb, depth);
	if (*a == '"' && *b == '"')
		return strings_equal(a + 1, ea - 1, b + 1, eb - 1);
	if ((*a == '-' || (*a >= '0' && *a <= '9')) && (*b == '-' || (*b >= '0' && *b <= '9')))
		return numbers_equal(a, (size_t) (ea - a), b, (size_t) (eb - b));
	return ea - a == eb - b && memcmp(a, b, (size_t) (ea - a)) == 0;
}

/*
 * jsoncmp_equal: whether a[0..alen) and b[0..blen) hold equal JSON values
 * (see jsoncmp.h); false when either is malformed or has trailing text.
 */
bool
jsoncmp_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	return jsoncmp_equal_except(a, alen, b, blen, NULL);
}

/*
 * jsoncmp_equal_except: jsoncmp_equal, except that when both values are
 * objects, their members named in skip (NULL-terminated, unescaped names;
 * NULL for none) are left out of the comparison: present or not, equal
 * or not. Only the top level is concerned.
 */
bool
jsoncmp_equal_except(const char *a, size_t alen, const char *b, size_t blen,
					 const char *const *skip)
{
	const char *ea = jsoncmp_skip(a, a + alen);
	const char *eb = jsoncmp_skip(b, b + blen);
	const char *sa;
	const char *sb;

	if (ea == NULL || eb == NULL || skip_ws(ea, a + alen) != a + alen ||
		skip_ws(eb, b + blen) != b + blen)
		return false;
	sa = skip_ws(a, ea);
	sb = skip_ws(b, eb);
	if (skip != NULL && *sa == '{' && *sb == '{')
		return objects_equal(sa + 1, ea, sb + 1, eb, 0, skip);
	return values_equal(a, a + alen, b, b + blen, 0);
}

/*
 * jsoncmp_find_member: the top-level member key (as written, without
 * quotes) of the JSON object obj[0..len) into *m; false when absent or
 * malformed.
 */
bool
jsoncmp_find_member(const char *obj, size_t len, const char *key, JsonMember *m)
{
	const char *p = jsoncmp_enter(obj, obj + len, '{');
	size_t		keylen = strlen(key);

	while (p && jsoncmp_next_member(&p, obj + len, m) == 1)
		if (m->keylen == keylen && memcmp(m->key, key, keylen) == 0)
			return true;
	return false;
}

/*
 * jsoncmp_member_true: whether the JSON object obj[0..len) has a top-level
 * member key whose value is true: the mark of a soft-deleted document
 * ("__deleted", delete-mode=soft).
 */
bool
jsoncmp_member_true(const char *obj, size_t len, const char *key)
{
	JsonMember	m;

	return jsoncmp_find_member(obj, len, key, &m) && m.valuelen == 4 &&
		memcmp(m.value, "true", 4) == 0;
}

/*
 * jsoncmp_append_with: append to out the JSON object obj[0..len) with the
 * member text member (such as "\"__deleted\":true") added last, every other
 * byte as it was: a document keeps its exact numbers, which a JSON library
 * would round or refuse. False (out may hold part of it) when obj is not
 * one object, or out of memory.
 */
bool
jsoncmp_append_with(Buf *out, const char *obj, size_t len, const char *member)
{
	const char *end = jsoncmp_skip(obj, obj + len);
	const char *p = jsoncmp_enter(obj, obj + len, '{');
	JsonMember	m;
	int			members;

	if (end == NULL || p == NULL || (members = jsoncmp_next_member(&p, end, &m)) < 0)
		return false;
	/* end - 1 is the object's closing brace */
	return buf_append(out, obj, (size_t) (end - 1 - obj)) &&
		(members == 0 || buf_append(out, ",", 1)) &&
		buf_append_str(out, member) && buf_append(out, "}", 1);
}
