/*
 * reqtable.h
 *		pg2es.requests and pg2es.slot_options from the client side, over an
 *		ordinary connection: `pg2es reindex` inserts requests, after
 *		checking each table against the plugin options the slot's forwarder
 *		recorded at its start (docs/design.md "Requests"; the stream's side
 *		is request.h).
 */
#ifndef PG2ES_REQTABLE_H
#define PG2ES_REQTABLE_H

#include <libpq-fe.h>

#include "cfg.h"
#include "common.h"

extern int	reqtable_reindex_run(const Config *cfg);
extern PG2ES_MUSTCHECK bool reqtable_record_options(PGconn *conn, const Config *cfg);

#endif							/* PG2ES_REQTABLE_H */
