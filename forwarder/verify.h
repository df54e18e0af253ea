/*
 * verify.h
 *		pg2es verify: does each index equal its table?
 */
#ifndef PG2ES_VERIFY_H
#define PG2ES_VERIFY_H

#include <signal.h>

#include "cfg.h"

extern int	verify_run(const Config *cfg, volatile sig_atomic_t *stop);

#endif							/* PG2ES_VERIFY_H */
