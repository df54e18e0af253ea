/*
 * refresh.h
 *		Making what the forwarder stored searchable: POST /INDEX/_refresh of
 *		every index of the slot's covered tables, for pg2es wait
 *		--searchable and GET /wait?searchable=1.
 *
 * Refreshes run in rounds, one index after the other, on a client of their
 * own driven without blocking (refresh_step), so that the forwarder's loop
 * serves them between its other work. A waiter asks for a round
 * (refresh_want) once its LSN is confirmed and is answered when that round
 * is over: a round started after the confirmation covers every document it
 * confirmed. An index that does not exist holds nothing to see.
 */
#ifndef PG2ES_REFRESH_H
#define PG2ES_REFRESH_H

#include "cfg.h"
#include "es.h"

typedef struct Refresher
{
	Es			es;
	char	  **paths;			/* "/INDEX/_refresh", one per index; owned */
	size_t		npaths;
	size_t		next;			/* the running round's next path */
	bool		running;
	uint64_t	wanted;			/* the newest round asked for */
	uint64_t	started;		/* the newest round started */
	uint64_t	done;			/* the newest round over */
	uint64_t	failed;			/* the newest round with a failure */
	long		failed_status;	/* its HTTP status (0 = no answer) */
} Refresher;

extern PG2ES_MUSTCHECK bool refresh_init(Refresher *r, const Config *cfg);
extern void refresh_free(Refresher *r);
extern uint64_t refresh_want(Refresher *r);
extern PG2ES_MUSTCHECK bool refresh_step(Refresher *r);
extern bool refresh_done(const Refresher *r, uint64_t round, long *failed_status);
extern bool refresh_busy(const Refresher *r);
extern PG2ES_MUSTCHECK bool refresh_wait(Refresher *r, uint64_t round, long *failed_status);

#endif							/* PG2ES_REFRESH_H */
