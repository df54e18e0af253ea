/*-------------------------------------------------------------------------
 *
 * publication.h
 *		What the publications of option "publications" say about a table:
 *		whether it is published, as which relation, which actions, which
 *		columns and which rows (docs/design.md, "Publications").
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG2ES_PUBLICATION_H
#define PG2ES_PUBLICATION_H

#include "access/tupdesc.h"
#include "nodes/execnodes.h"
#include "nodes/pg_list.h"
#include "replication/reorderbuffer.h"
#include "utils/rel.h"

/*
 * The row filters of a table: one per published action (a filter of a
 * publication applies to the actions it publishes), and the one a copy of
 * the table applies (every publication's, whatever it publishes, as
 * PostgreSQL's own initial table synchronization does).
 */
typedef enum PubFilter
{
	PUB_FILTER_INSERT,
	PUB_FILTER_UPDATE,
	PUB_FILTER_DELETE,
	PUB_FILTER_COPY,
	PUB_NFILTERS
} PubFilter;

typedef struct PubRelInfo
{
	bool		published;		/* some publication publishes the table */
	bool		pubinsert;
	bool		pubupdate;
	bool		pubdelete;
	bool		pubtruncate;
	Oid			publish_as_relid;	/* whose filter and column list apply: the
									 * table, or under
									 * publish_via_partition_root its topmost
									 * published ancestor */
	bool	   *columns;		/* per attribute of the table (attnum - 1):
								 * published; NULL without option
								 * "publications" (every column) */
	ExprState  *filters[PUB_NFILTERS];	/* NULL: every row */
	EState	   *estate;			/* for the filters; NULL when none */
	TupleTableSlot *slot;		/* virtual, the table's descriptor */
} PubRelInfo;

extern void publication_check_exist(List *names);
extern List *publication_load(List *names);
extern void publication_rel_info_everything(PubRelInfo *info);
extern void publication_rel_info(PubRelInfo *info, List *pubs, Relation rel,
								 TupleDesc desc);
extern bool publication_relid_published(List *pubs, Oid relid);
extern bool publication_action_published(const PubRelInfo *info,
										 enum ReorderBufferChangeType action);
extern bool publication_column_published(const PubRelInfo *info,
										 Form_pg_attribute att);
extern bool publication_row_matches(PubRelInfo *info, PubFilter filter,
									Datum *values, bool *nulls);

#endif							/* PG2ES_PUBLICATION_H */
