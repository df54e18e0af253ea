/*
 * tap.h
 *		Minimal TAP output for the forwarder's unit tests.
 *
 * ok(cond, name) prints "ok N - name" or "not ok N - name"; done_testing()
 * prints the plan and returns the exit status (1 if anything failed).
 */
#ifndef PG2ES_TAP_H
#define PG2ES_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int	tap_count = 0;
static int	tap_failed = 0;

#define ok(cond, ...) tap_ok((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

__attribute__((format(printf, 4, 5)))
static void
tap_ok(int pass, const char *file, int line, const char *fmt,...)
{
	va_list		ap;

	tap_count++;
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

static int
done_testing(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif							/* PG2ES_TAP_H */
