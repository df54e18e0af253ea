/*
 * test_allocfail.c
 *		The allocation-failure runner's own test: a two-allocation function
 *		written correctly, or broken on purpose as PG2ES_BROKEN says, so that
 *		tests/unit/alloc-failure.sh is seen to fail on each kind of defect
 *		it exists to find (make -C forwarder alloc-failure-check runs both).
 *
 * PG2ES_BROKEN: unset (correct), "leak" (the first copy is not freed when
 * the second fails), "swallow" (the second failure answers "they differ",
 * the answer the first check expects: only the holding check's verdict can
 * see it), "crash" (the second copy is not checked).
 */
#include <stdlib.h>
#include <string.h>

#include "tap.h"

static const char *broken;

/*
 * differ: whether a and b differ (1) or not (0), compared through copies
 * (two allocations); -1 when out of memory.
 */
static int
differ(const char *a, const char *b)
{
	size_t		len = strlen(b);
	char	   *ca = strdup(a);
	char	   *cb;
	int			result;

	if (ca == NULL)
		return -1;
	cb = malloc(len + 1);
	if (cb == NULL && strcmp(broken, "leak") == 0)
		return -1;
	if (cb == NULL && strcmp(broken, "swallow") == 0)
	{
		free(ca);
		return 1;				/* "they differ" whatever they are */
	}
	if (cb == NULL && strcmp(broken, "crash") != 0)
	{
		free(ca);
		return -1;
	}
	memcpy(cb, b, len + 1);
	result = strcmp(ca, cb) != 0;
	free(ca);
	free(cb);
	return result;
}

int
main(void)
{
	broken = getenv("PG2ES_BROKEN") ? getenv("PG2ES_BROKEN") : "";
	ok(differ("left", "right") == 1, "left and right differ");
	ok(differ("same", "same") == 0, "same and same do not");
	return done_testing();
}
