/*-------------------------------------------------------------------------
 *
 * publication.c
 *		Reads the publications of option "publications" as pgoutput does:
 *		which tables they publish and as which relation, the actions, the
 *		column lists and the row filters (docs/design.md, "Publications").
 *
 * Everything is read once per relation cache entry (relcache.c), with the
 * catalog as the decoding snapshot shows it at that point of the stream,
 * and thrown away with the entry: the relation cache's callbacks on
 * pg_publication, pg_publication_rel and pg_publication_namespace
 * invalidate every entry, as pgoutput's do.  The row filters are
 * expression states prepared once per entry, so a row costs one
 * evaluation and no catalog lookup.
 *
 * The rules, pgoutput's: a table is published by a publication FOR ALL
 * TABLES, one naming it or its schema, or one naming a partition
 * ancestor (or its schema).  Under publish_via_partition_root the topmost
 * published ancestor's filter and column list apply; across publications
 * the topmost ancestor wins, and the actions of all of them add up.  A
 * publication without a filter for the table (FOR ALL TABLES, FOR TABLES
 * IN SCHEMA, or no WHERE) lets every row through for its actions; the
 * others' filters are OR-ed.  Column lists must agree across
 * publications.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/attmap.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_publication.h"
#include "catalog/pg_publication_rel.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "nodes/makefuncs.h"
#include "rewrite/rewriteManip.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "compat.h"
#include "publication.h"

/* The publications of a table at its topmost published level. */
typedef struct PubLevel
{
	List	   *pubs;			/* Publication * */
	Oid			relid;			/* published as */
	int			level;			/* 0: itself, n: its n-th ancestor */
} PubLevel;

/*
 * ERRORs if a publication of names (char *) does not exist in the catalog
 * as the current snapshot shows it.  Needs a transaction.
 */
void
publication_check_exist(List *names)
{
	ListCell   *lc;

	foreach(lc, names)
		if (!OidIsValid(get_publication_oid(lfirst(lc), true)))
			ereport(ERROR,
					errcode(ERRCODE_UNDEFINED_OBJECT),
					errmsg("publication \"%s\" does not exist",
						   (char *) lfirst(lc)),
					errdetail("Option \"publications\" names it."),
					errhint("Create it with CREATE PUBLICATION, or name an existing one."));
}

/*
 * The Publication * of names that the catalog holds, in the current
 * memory context.  One missing here (a point of the stream before its
 * CREATE PUBLICATION) publishes nothing there.
 */
List *
publication_load(List *names)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, names)
	{
		Publication *pub = GetPublicationByName(lfirst(lc), true);

		if (pub != NULL)
			result = lappend(result, pub);
	}
	return result;
}

static bool names_relation(Publication *pub, Oid relid);
static int	publishing_level(Publication *pub, Oid relid, List *ancestors, Oid *as_relid);
static void find_publishing(PubRelInfo *info, List *pubs, Oid relid, PubLevel *found);
#if PG2ES_HAS_PUBLICATION_FILTERS
static Datum publication_rel_attr(Publication *pub, Oid relid, AttrNumber attno,
								  bool *isnull);
static bool *published_columns(Publication *pub, const PubLevel *found, TupleDesc desc);
static void build_columns(PubRelInfo *info, const PubLevel *found, TupleDesc desc);
static bool gather_filters(const PubLevel *found, PubFilter which, List **quals);
static void build_filters(PubRelInfo *info, const PubLevel *found, Relation rel,
						  TupleDesc desc);
#endif

/* Whether pub names relid itself or its schema. */
static bool
names_relation(Publication *pub, Oid relid)
{
	return SearchSysCacheExists2(PUBLICATIONRELMAP, ObjectIdGetDatum(relid),
								 ObjectIdGetDatum(pub->oid)) ||
		PG2ES_SCHEMA_IN_PUBLICATION(get_rel_namespace(relid), pub->oid);
}

/*
 * The level at which pub publishes relid (ancestors: its partition
 * ancestors, parent first), -1 when it does not; *as_relid is the relation
 * its changes are published as.
 */
static int
publishing_level(Publication *pub, Oid relid, List *ancestors, Oid *as_relid)
{
	int			top = 0;
	int			n = 0;
	ListCell   *lc;

	*as_relid = relid;
	if (pub->alltables)
		top = list_length(ancestors);
	else
	{
		foreach(lc, ancestors)
		{
			n++;
			if (names_relation(pub, lfirst_oid(lc)))
				top = n;
		}
		if (top == 0 && !names_relation(pub, relid))
			return -1;
	}
	if (!pub->pubviaroot || top == 0)
		return 0;
	*as_relid = list_nth_oid(ancestors, top - 1);
	return top;
}

/*
 * Collects into *found the publications of pubs that publish relid at its
 * topmost level, and adds up the actions of every one that publishes it.
 */
static void
find_publishing(PubRelInfo *info, List *pubs, Oid relid, PubLevel *found)
{
	List	   *ancestors = get_rel_relispartition(relid) ?
	get_partition_ancestors(relid) : NIL;
	ListCell   *lc;

	found->pubs = NIL;
	found->relid = relid;
	found->level = 0;
	foreach(lc, pubs)
	{
		Publication *pub = lfirst(lc);
		Oid			as_relid;
		int			level = publishing_level(pub, relid, ancestors, &as_relid);

		if (level < 0)
			continue;
		info->published = true;
		info->pubinsert |= pub->pubactions.pubinsert;
		info->pubupdate |= pub->pubactions.pubupdate;
		info->pubdelete |= pub->pubactions.pubdelete;
		info->pubtruncate |= pub->pubactions.pubtruncate;
		if (level < found->level)
			continue;
		if (level > found->level)
			found->pubs = NIL;
		found->level = level;
		found->relid = as_relid;
		found->pubs = lappend(found->pubs, pub);
	}
}

/*
 * Whether any of pubs publishes the changes of table relid; a partitioned
 * table (whose own changes are its partitions') counts as published when
 * it or one of its leaf partitions is, since its index holds them.
 */
bool
publication_relid_published(List *pubs, Oid relid)
{
	PubRelInfo	info;
	PubLevel	found;
	ListCell   *lc;

	memset(&info, 0, sizeof(info));
	find_publishing(&info, pubs, relid, &found);
	if (info.published || get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE)
		return info.published;
	foreach(lc, find_all_inheritors(relid, NoLock, NULL))
	{
		Oid			member = lfirst_oid(lc);

		if (get_rel_relkind(member) == RELKIND_RELATION &&
			publication_relid_published(pubs, member))
			return true;
	}
	return false;
}

/* Without option "publications": every action, column and row. */
void
publication_rel_info_everything(PubRelInfo *info)
{
	memset(info, 0, sizeof(PubRelInfo));
	info->published = true;
	info->pubinsert = true;
	info->pubupdate = true;
	info->pubdelete = true;
	info->pubtruncate = true;
}

#if PG2ES_HAS_PUBLICATION_FILTERS

/*
 * The pg_publication_rel attribute attno of (relid, pub): its text (a
 * node tree or an int2vector, palloc'd), or NULL when the publication has
 * none for the table (no row: FOR ALL TABLES or FOR TABLES IN SCHEMA; or a
 * NULL value).
 */
static Datum
publication_rel_attr(Publication *pub, Oid relid, AttrNumber attno,
					 bool *isnull)
{
	HeapTuple	tuple;
	Datum		value;

	*isnull = true;
	if (pub->alltables)
		return (Datum) 0;
	tuple = SearchSysCache2(PUBLICATIONRELMAP, ObjectIdGetDatum(relid),
							ObjectIdGetDatum(pub->oid));
	if (!HeapTupleIsValid(tuple))
		return (Datum) 0;
	value = SysCacheGetAttr(PUBLICATIONRELMAP, tuple, attno, isnull);
	if (!*isnull)
		value = datumCopy(value, false, -1);
	ReleaseSysCache(tuple);
	return value;
}

/*
 * The columns pub publishes of table rel, as flags per attribute of desc
 * (rel's, palloc'd): its column list, mapped by name from the relation
 * its changes are published as; without one, every column but generated
 * ones (PostgreSQL 18: stored ones too when publish_generated_columns =
 * stored).  Virtual generated columns are never published.
 */
static bool *
published_columns(Publication *pub, const PubLevel *found, TupleDesc desc)
{
	bool	   *cols = palloc0(sizeof(bool) * Max(desc->natts, 1));
	bool		isnull;
	Datum		list = publication_rel_attr(pub, found->relid,
											Anum_pg_publication_rel_prattrs,
											&isnull);
	Bitmapset  *members = isnull ? NULL :
	pub_collist_to_bitmapset(NULL, list, CurrentMemoryContext);
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || PG2ES_ATT_IS_VIRTUAL(att))
			continue;
		if (!isnull)
			cols[i] = bms_is_member(get_attnum(found->relid,
											   NameStr(att->attname)),
									members);
		else
			cols[i] = !att->attgenerated ||
				PG2ES_PUB_PUBLISHES_STORED_GENERATED(pub);
	}
	return cols;
}

/*
 * Sets info->columns from the publications of found, which must agree
 * (pgoutput refuses the same).
 */
static void
build_columns(PubRelInfo *info, const PubLevel *found, TupleDesc desc)
{
	ListCell   *lc;

	foreach(lc, found->pubs)
	{
		bool	   *cols = published_columns(lfirst(lc), found, desc);

		if (info->columns == NULL)
			info->columns = cols;
		else if (memcmp(info->columns, cols, sizeof(bool) * desc->natts) != 0)
			ereport(ERROR,
					errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					errmsg("cannot use different column lists for table %s in different publications",
						   quote_qualified_identifier(get_namespace_name(get_rel_namespace(found->relid)),
													  get_rel_name(found->relid))));
	}
}

/*
 * Gathers the filters of found's publications for one action (all of them
 * for PUB_FILTER_COPY) into *quals (node trees); returns false when one
 * of them lets every row through.
 */
static bool
gather_filters(const PubLevel *found, PubFilter which, List **quals)
{
	ListCell   *lc;

	*quals = NIL;
	foreach(lc, found->pubs)
	{
		Publication *pub = lfirst(lc);
		bool		isnull = true;
		Datum		qual = (Datum) 0;

		if ((which == PUB_FILTER_INSERT && !pub->pubactions.pubinsert) ||
			(which == PUB_FILTER_UPDATE && !pub->pubactions.pubupdate) ||
			(which == PUB_FILTER_DELETE && !pub->pubactions.pubdelete))
			continue;
		if (!PG2ES_SCHEMA_IN_PUBLICATION(get_rel_namespace(found->relid),
										 pub->oid))
			qual = publication_rel_attr(pub, found->relid,
										Anum_pg_publication_rel_prqual,
										&isnull);
		if (isnull)
			return false;
		*quals = lappend(*quals, stringToNode(TextDatumGetCString(qual)));
	}
	return true;
}

/*
 * Prepares info->filters for table rel (descriptor desc), in the current
 * memory context: each action's filters OR-ed, their columns renumbered
 * from the relation the changes are published as to rel's own.
 */
static void
build_filters(PubRelInfo *info, const PubLevel *found, Relation rel,
			  TupleDesc desc)
{
	AttrMap    *map = NULL;
	int			which;

	for (which = 0; which < PUB_NFILTERS; which++)
	{
		List	   *quals;
		Node	   *expr;
		bool		whole_row;

		if (!gather_filters(found, which, &quals) || quals == NIL)
			continue;
		expr = list_length(quals) == 1 ? linitial(quals) :
			(Node *) make_orclause(quals);
		if (found->relid != RelationGetRelid(rel))
		{
			if (map == NULL)
			{
				Relation	as = RelationIdGetRelation(found->relid);

				if (!RelationIsValid(as))
					elog(ERROR, "could not open relation with OID %u", found->relid);
				map = PG2ES_BUILD_ATTRMAP_BY_NAME(desc, RelationGetDescr(as));
				RelationClose(as);
			}
			expr = map_variable_attnos(expr, 1, 0, map, InvalidOid, &whole_row);
		}
		if (info->estate == NULL)
		{
			info->estate = CreateExecutorState();
			info->slot = MakeSingleTupleTableSlot(desc, &TTSOpsVirtual);
		}
		info->filters[which] = ExecPrepareExpr((Expr *) expr, info->estate);
	}
}

#endif							/* PG2ES_HAS_PUBLICATION_FILTERS */

/*
 * Fills *info for table rel (desc: the copy of its descriptor that lives
 * as long as info) from pubs (Publication *), in the current memory
 * context, which must last as long as info.
 */
void
publication_rel_info(PubRelInfo *info, List *pubs, Relation rel,
					 TupleDesc desc)
{
	PubLevel	found;

	memset(info, 0, sizeof(PubRelInfo));
	find_publishing(info, pubs, RelationGetRelid(rel), &found);
	info->publish_as_relid = found.relid;
	if (!info->published &&
		rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
		info->published = publication_relid_published(pubs,
													  RelationGetRelid(rel));
	if (!info->published)
		return;
#if PG2ES_HAS_PUBLICATION_FILTERS
	build_columns(info, &found, desc);
	build_filters(info, &found, rel, desc);
#else
	{
		int			i;

		/* No column lists before 15: every column but generated ones. */
		info->columns = palloc0(sizeof(bool) * Max(desc->natts, 1));
		for (i = 0; i < desc->natts; i++)
			info->columns[i] = !TupleDescAttr(desc, i)->attisdropped &&
				!TupleDescAttr(desc, i)->attgenerated;
	}
#endif
}

/* Whether the publications publish changes of kind action. */
bool
publication_action_published(const PubRelInfo *info,
							 enum ReorderBufferChangeType action)
{
	switch (action)
	{
		case REORDER_BUFFER_CHANGE_INSERT:
			return info->pubinsert;
		case REORDER_BUFFER_CHANGE_UPDATE:
			return info->pubupdate;
		case REORDER_BUFFER_CHANGE_DELETE:
			return info->pubdelete;
		default:
			return false;
	}
}

/* Whether the publications publish column att of the table. */
bool
publication_column_published(const PubRelInfo *info, Form_pg_attribute att)
{
	return info->columns == NULL || info->columns[att->attnum - 1];
}

/*
 * Whether the row values/nulls (the table's attributes, deformed) passes
 * filter; a NULL result does not, as in pgoutput.  Allocates only in the
 * filter's per-tuple context, reset here.
 */
bool
publication_row_matches(PubRelInfo *info, PubFilter filter, Datum *values,
						bool *nulls)
{
	ExprState  *state = info->filters[filter];
	TupleTableSlot *slot = info->slot;
	ExprContext *econtext;
	Datum		result;
	bool		isnull;

	if (state == NULL)
		return true;
	ExecClearTuple(slot);
	memcpy(slot->tts_values, values,
		   sizeof(Datum) * slot->tts_tupleDescriptor->natts);
	memcpy(slot->tts_isnull, nulls,
		   sizeof(bool) * slot->tts_tupleDescriptor->natts);
	ExecStoreVirtualTuple(slot);
	ResetPerTupleExprContext(info->estate);
	econtext = GetPerTupleExprContext(info->estate);
	econtext->ecxt_scantuple = slot;
	result = ExecEvalExprSwitchContext(state, econtext, &isnull);
	return !isnull && DatumGetBool(result);
}
