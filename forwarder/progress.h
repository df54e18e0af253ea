/*
 * progress.h
 *		The initial load's progress report: a line rewritten in place on a
 *		terminal, or a log line, every period.
 *
 * "loading TABLE: done / ~estimate (p%) rows, rate rows/s, time left".
 * The period is half a second on a terminal and 10 s in a log, or the
 * number of seconds (0.01 to 86400) in the environment variable
 * PG2ES_PROGRESS_INTERVAL. A log line written meanwhile erases an
 * unfinished terminal line first (log_partial_line), so as not to continue
 * it; the next report draws it again.
 */
#ifndef PG2ES_PROGRESS_H
#define PG2ES_PROGRESS_H

#include "common.h"

typedef struct Progress
{
	bool		on_tty;			/* stderr is a terminal */
	int64_t		period_us;
	int64_t		next_us;		/* the next report is due then */
} Progress;

extern void progress_init(Progress *p, bool on_tty);
extern void progress_restart(Progress *p, int64_t now_us);
extern bool progress_due(Progress *p, int64_t now_us, bool final);
extern void progress_show(Progress *p, const char *table, uint64_t done, double estimate,
						  double rate, bool final);

#endif							/* PG2ES_PROGRESS_H */
