/*
 * allocfail.c
 *		An allocator that fails the Nth allocation, for the allocation-failure
 *		runs of the unit tests (tests/unit/alloc-failure.sh, in the spirit of
 *		curl's torture tests).
 *
 * Linked into the alloc-tests binaries only, with the linker's --wrap for
 * malloc, calloc, realloc, strdup and strndup: every call from the modules
 * and from the test itself comes here first; the C library's and the other
 * libraries' own calls do not (their failures are not ours to handle).
 * jansson's allocations come here through json_set_alloc_funcs, so the
 * modules that build or parse JSON are tortured too, with one exception:
 * jansson 2.14's lexer ignores a failed growth of its token buffer
 * (lex_save drops strbuffer_append_byte's status), then parses on with a
 * token cut short or reads past it.  So when the failing allocation falls
 * inside json_loadb or json_loads (wrapped too), the allocation succeeds
 * and the whole parse returns NULL instead: the failure jansson reports
 * elsewhere, whose handling by the modules is what is tested here.
 *
 * PG2ES_ALLOC_FAIL=N makes the Nth counted allocation return NULL with
 * errno ENOMEM, once; every other one succeeds.  Unset: nothing fails, the
 * allocations are only counted.  tap.h (built with TAP_ALLOC_FAIL) asks
 * which check was running when the failure came; see its comment.
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocfail.h"

void	   *__real_malloc(size_t size);
void	   *__real_calloc(size_t n, size_t size);
void	   *__real_realloc(void *p, size_t size);
void	   *__wrap_malloc(size_t size);
void	   *__wrap_calloc(size_t n, size_t size);
void	   *__wrap_realloc(void *p, size_t size);
char	   *__wrap_strdup(const char *s);
char	   *__wrap_strndup(const char *s, size_t n);
json_t	   *__real_json_loadb(const char *buffer, size_t buflen, size_t flags, json_error_t *error);
json_t	   *__real_json_loads(const char *input, size_t flags, json_error_t *error);
json_t	   *__wrap_json_loadb(const char *buffer, size_t buflen, size_t flags, json_error_t *error);
json_t	   *__wrap_json_loads(const char *input, size_t flags, json_error_t *error);

static unsigned long fail_at = 0;	/* 0: never */
static unsigned long count = 0;
static bool failed = false;		/* the failure was injected */
static bool pending = false;	/* ... and not yet taken by allocfail_take */
static bool parsing = false;	/* inside json_loadb or json_loads */
static bool absorbed = false;	/* the failure fell in a parse failing anyway */

static void *json_malloc(size_t size);
static void json_free(void *p);
static json_t *parse_failed_if_injected(json_t *parsed, unsigned long before,
										json_error_t *error);

/* allocation_fails: counts one allocation; whether it must fail */
static bool
allocation_fails(void)
{
	if (++count != fail_at)
		return false;
	failed = true;
	pending = true;
	if (parsing)
		return false;			/* parse_failed_if_injected fails the parse */
	errno = ENOMEM;
	return true;
}

void *
__wrap_malloc(size_t size)
{
	return allocation_fails() ? NULL : __real_malloc(size);
}

void *
__wrap_calloc(size_t n, size_t size)
{
	return allocation_fails() ? NULL : __real_calloc(n, size);
}

/* a failed realloc leaves p allocated, as the real one does */
void *
__wrap_realloc(void *p, size_t size)
{
	return allocation_fails() ? NULL : __real_realloc(p, size);
}

char *
__wrap_strdup(const char *s)
{
	return __wrap_strndup(s, strlen(s));
}

char *
__wrap_strndup(const char *s, size_t n)
{
	size_t		len = strnlen(s, n);
	char	   *copy = __wrap_malloc(len + 1);

	if (copy == NULL)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return copy;
}

static void *
json_malloc(size_t size)
{
	return __wrap_malloc(size);
}

static void
json_free(void *p)
{
	free(p);
}

/*
 * parse_failed_if_injected: parsed, or NULL (freed, error filled) when the
 * failure was injected since allocation number before (the parse's first).
 * A parse of bad input fails whatever the allocator does: the failure is
 * absorbed, and nothing has to report it.
 */
static json_t *
parse_failed_if_injected(json_t *parsed, unsigned long before, json_error_t *error)
{
	parsing = false;
	if (fail_at <= before || fail_at > count)
		return parsed;
	if (parsed == NULL)
	{
		absorbed = true;
		pending = false;
		return NULL;
	}
	json_decref(parsed);
	if (error != NULL)
	{
		memset(error, 0, sizeof(*error));
		snprintf(error->text, sizeof(error->text), "out of memory");
	}
	return NULL;
}

json_t *
__wrap_json_loadb(const char *buffer, size_t buflen, size_t flags, json_error_t *error)
{
	unsigned long before = count;

	parsing = true;
	return parse_failed_if_injected(__real_json_loadb(buffer, buflen, flags, error), before,
									error);
}

json_t *
__wrap_json_loads(const char *input, size_t flags, json_error_t *error)
{
	unsigned long before = count;

	parsing = true;
	return parse_failed_if_injected(__real_json_loads(input, flags, error), before, error);
}

/* reads PG2ES_ALLOC_FAIL before main, and before jansson allocates */
__attribute__((constructor))
static void
allocfail_start(void)
{
	const char *n = getenv("PG2ES_ALLOC_FAIL");

	if (n != NULL && *n != '\0')
		fail_at = strtoul(n, NULL, 10);
	json_set_alloc_funcs(json_malloc, json_free);
}

bool
allocfail_take(void)
{
	bool		was = pending;

	pending = false;
	return was;
}

bool
allocfail_injected(void)
{
	return failed;
}

bool
allocfail_absorbed(void)
{
	return absorbed;
}

unsigned long
allocfail_count(void)
{
	return count;
}

unsigned long
allocfail_target(void)
{
	return fail_at;
}
