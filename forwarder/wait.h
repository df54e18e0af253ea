/*
 * wait.h
 *		pg2es wait: until the running forwarder has stored everything up to
 *		an LSN.
 *
 * The forwarder confirms a position to its slot only once everything
 * before it is stored in Elasticsearch or dead-lettered (ack.h), so the
 * slot's confirmed_flush_lsn at or past LSN means every transaction that
 * committed before LSN is there. Without --lsn, LSN is the server's WAL
 * position when called: pg_current_wal_lsn(), or pg_last_wal_replay_lsn()
 * on a standby. An idle slot gets there too: when nothing is pending the
 * forwarder confirms the WAL end of the server's keepalives, which follows
 * WAL that carries no transaction (running-xacts records and the like).
 *
 * With --searchable the covered tables' indexes are then refreshed, so that
 * a search right after finds what was stored.
 *
 * Exit status: 0 reached, 1 timed out, 2 an error (no such slot, not a
 * logical slot, a bad setting, PostgreSQL or Elasticsearch failing).
 */
#ifndef PG2ES_WAIT_H
#define PG2ES_WAIT_H

#include <signal.h>

#include "cfg.h"

extern int	wait_run(const Config *cfg, volatile sig_atomic_t *stop);

#endif							/* PG2ES_WAIT_H */
