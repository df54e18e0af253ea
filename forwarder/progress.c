/*
 * progress.c
 *		The initial load's progress report (see progress.h).
 */
#include "progress.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

#define PROGRESS_TTY_US 500000
#define PROGRESS_LOG_US (10 * 1000000)
#define PROGRESS_ENV "PG2ES_PROGRESS_INTERVAL"

static void format_duration(char *out, size_t size, double secs);
static int64_t period_us(bool on_tty);
static void describe_progress(char *out, size_t size, uint64_t done, double estimate, double rate, bool final);

/*
 * format_duration: seconds as "1h02m", "3m05s" or "12s" into out, rounded
 * up: a time left below a second must not read "0s".
 */
static void
format_duration(char *out, size_t size, double secs)
{
	long		s = secs <= 0 ? 0 : secs > 1e8 ? 99999999 : (long) secs;

	if (s < secs)
		s++;

	if (s >= 3600)
		snprintf(out, size, "%ldh%02ldm", s / 3600, s / 60 % 60);
	else if (s >= 60)
		snprintf(out, size, "%ldm%02lds", s / 60, s % 60);
	else
		snprintf(out, size, "%lds", s);
}

/*
 * period_us: microseconds between reports: PROGRESS_ENV when it holds a
 * sensible number of seconds, else the default for a terminal or a log.
 */
static int64_t
period_us(bool on_tty)
{
	const char *env = getenv(PROGRESS_ENV);
	char	   *end;
	double		secs;

	if (env == NULL || *env == '\0')
		return on_tty ? PROGRESS_TTY_US : PROGRESS_LOG_US;
	errno = 0;
	secs = strtod(env, &end);
	if (errno == 0 && *end == '\0' && secs >= 0.01 && secs <= 86400)
		return (int64_t) (secs * 1e6);
	log_warning("ignoring %s=%s: not a number of seconds from 0.01 to 86400", PROGRESS_ENV, env);
	return on_tty ? PROGRESS_TTY_US : PROGRESS_LOG_US;
}

/*
 * describe_progress: "done / ~estimate (p%) rows, rate rows/s, time left"
 * into out; the total is "?" without an estimate, the time left "?" also
 * before the first row, and 0s once the estimate is reached or final.
 */
static void
describe_progress(char *out, size_t size, uint64_t done, double estimate, double rate, bool final)
{
	char		left[32] = "?";
	char		total[48] = "?";

	if (estimate > 0)
	{
		/* rounded down: 100% only once the estimate is reached */
		snprintf(total, sizeof(total), "~%.0f (%d%%)", estimate,
				 (int) (100.0 * (double) done / (estimate > (double) done ? estimate : (double) done)));
		if (rate > 0 && estimate > (double) done)
			format_duration(left, sizeof(left), (estimate - (double) done) / rate);
		else if (estimate <= (double) done)
			snprintf(left, sizeof(left), "0s");
	}
	snprintf(out, size, "%llu / %s rows, %.0f rows/s, %s left", (unsigned long long) done,
			 total, rate, final ? "0s" : left);
}

/*
 * progress_init: reports on a terminal or to the log, at the period the
 * environment sets or the default for either.
 */
void
progress_init(Progress *p, bool on_tty)
{
	p->on_tty = on_tty;
	p->period_us = period_us(on_tty);
	p->next_us = 0;
}

/*
 * progress_restart: a new table starts at now_us: its first report comes
 * one period later.
 */
void
progress_restart(Progress *p, int64_t now_us)
{
	p->next_us = now_us + p->period_us;
}

/*
 * progress_due: whether to report now (always when final); the next one is
 * then due a period later.
 */
bool
progress_due(Progress *p, int64_t now_us, bool final)
{
	if (!final && now_us < p->next_us)
		return false;
	p->next_us = now_us + p->period_us;
	return true;
}

/*
 * progress_show: report table's figures: a line rewritten in place on a
 * terminal (\r, then erase to the end of the line), a log line otherwise.
 * final ends the table's line.
 */
void
progress_show(Progress *p, const char *table, uint64_t done, double estimate, double rate,
			  bool final)
{
	char		figures[160];

	describe_progress(figures, sizeof(figures), done, estimate, rate, final);
	if (p->on_tty)
	{
		fprintf(stderr, "\rpg2es: loading %s: %s\033[K%s", table, figures, final ? "\n" : "");
		log_partial_line(!final);
	}
	else
		log_info("loading %s: %s", table, figures);
}
