/*
 * tap.h
 *		Minimal TAP output for the forwarder's unit tests.
 *
 * ok(cond, name) prints "ok N - name" or "not ok N - name"; done_testing()
 * prints the plan and returns the exit status (1 if anything failed).
 *
 * Built with TAP_ALLOC_FAIL (the alloc-tests binaries, linked with
 * allocfail.c), the same test runs with one allocation failed
 * (PG2ES_ALLOC_FAIL=N) and its verdict changes meaning.  The check during
 * which the allocation failed (or the first one after it, when it failed
 * in the test's own setup between checks) "holds" the failure:
 *	- it must fail: the error reached the caller.  A holding check that
 *	  passes means a failure was swallowed (code that went on as if the
 *	  memory were there, or reported success without it), and the run fails;
 *	- the checks after it may fail or pass as they like: they run on the
 *	  state the failure left, which must still be safe to use and to free.
 *	  A test whose next steps need what failed (a batch that is not
 *	  there) asks tap_reported() and frees what it holds instead.
 * A refusal check (ok_refused: the code must say no to something, or
 * answer "try again") holds a failure legitimately when it passes, since
 * the failed allocation also ends in a "no"; so does a parse of bad JSON
 * (allocfail.c).  Crashes and leaks are the sanitizers' (the run is an
 * ASan build); done_testing prints one "# alloc-fail:" line saying what
 * happened and returns 0 when the failure was reported, 1 when it was
 * swallowed; with no failure injected (N past the last allocation) it is
 * the ordinary verdict, which ends the runner's N = 1, 2, ... loop.
 */
#ifndef PG2ES_TAP_H
#define PG2ES_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int	tap_count = 0;
static int	tap_failed = 0;

#ifdef TAP_ALLOC_FAIL
#include "allocfail.h"

static int	tap_holder = 0;		/* the check holding the failure */
static bool tap_swallowed = false;	/* ... and it passed */
#endif

#define ok(cond, ...) tap_ok((cond) ? 1 : 0, false, __FILE__, __LINE__, __VA_ARGS__)
#define ok_refused(cond, ...) tap_ok((cond) ? 1 : 0, true, __FILE__, __LINE__, __VA_ARGS__)

/* tap_hold: under allocation failure, whether this check holds it */
static void
tap_hold(int pass, bool refusal)
{
#ifdef TAP_ALLOC_FAIL
	if (!allocfail_take())
		return;
	tap_holder = tap_count;
	tap_swallowed = pass && !refusal;
#endif
}

__attribute__((format(printf, 5, 6)))
static void
tap_ok(int pass, bool refusal, const char *file, int line, const char *fmt,...)
{
	va_list		ap;

	tap_count++;
	tap_hold(pass, refusal);
	if (!pass)
		tap_failed++;
	printf("%sok %d - ", pass ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass)
		printf("#   failed at %s line %d\n", file, line);
}

/* whether a check has reported the injected failure (never, without one) */
static inline bool
tap_reported(void)
{
#ifdef TAP_ALLOC_FAIL
	return tap_holder > 0 && !tap_swallowed;
#else
	return false;
#endif
}

static int
done_testing(void)
{
	printf("1..%d\n", tap_count);
#ifdef TAP_ALLOC_FAIL
	if (allocfail_take())
	{
		printf("# alloc-fail: allocation %lu failed after the last check: not reported\n",
			   allocfail_target());
		return 1;
	}
	if (allocfail_absorbed())
	{
		printf("# alloc-fail: allocation %lu failed in a parse of input that does not parse:"
			   " nothing to report\n", allocfail_target());
		return 0;
	}
	if (allocfail_injected())
	{
		printf("# alloc-fail: allocation %lu failed in check %d: %s\n", allocfail_target(),
			   tap_holder, tap_swallowed ? "SWALLOWED (the check passed)" : "reported");
		return tap_swallowed ? 1 : 0;
	}
	printf("# alloc-fail: not reached (%lu allocations)\n", allocfail_count());
#endif
	return tap_failed ? 1 : 0;
}

#endif							/* PG2ES_TAP_H */
