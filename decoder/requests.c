/*-------------------------------------------------------------------------
 *
 * requests.c
 *		Reading pg2es.requests inside the decoder (see requests.h).
 *
 * The table is a user catalog table, so its rows can be read during
 * decoding with a historic snapshot.  The snapshot used is the snapshot
 * builder's, not the one of the change being decoded: a transaction that
 * began before a reindex reached state copying, and commits after it,
 * must be dual-written like every later commit, whereas its own early
 * changes carry a snapshot from before (ordering is by commit, as the
 * forwarder sees it).  While a transaction is replayed, the builder's
 * snapshot holds every catalog change committed before that transaction's
 * commit record.  The scan is a systable scan (never SPI, which has no
 * place in a walsender), without an index.
 *
 * Users can alter the table: a row whose columns are missing, of another
 * type, NULL where they may not be, or hold a kind or state the forwarder
 * does not know is reported with a WARNING and otherwise ignored.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "compat.h"
#include "pg2es_protocol.h"
#include "requests.h"

/* The columns read, by position in request_columns. */
enum
{
	COL_ID,
	COL_SLOT_NAME,
	COL_KIND,
	COL_RELID,
	COL_STATE,
	COL_TARGET_INDEX,
	COL_KEEP_OLD,
	NUM_COLUMNS
};

static const struct
{
	const char *name;
	Oid			type;
	bool		nullable;
}			request_columns[NUM_COLUMNS] = {
	{"id", INT8OID, false},
	{"slot_name", NAMEOID, false},
	{"kind", TEXTOID, false},
	{"relid", OIDOID, false},
	{"state", TEXTOID, false},
	{"target_index", TEXTOID, true},
	{"keep_old", BOOLOID, false},
};

/* The words a REQUEST frame may carry: the forwarder stops at any other. */
static const char *const request_kinds[] = {FRAME_REQUEST_KINDS};
static const char *const request_states[] = {FRAME_REQUEST_STATES};

/* Whether schema.table is pg2es.requests. */
bool
requests_is_table(const char *schema, const char *table)
{
	return strcmp(schema, "pg2es") == 0 && strcmp(table, "requests") == 0;
}

static bool find_columns(TupleDesc desc, int attnos[NUM_COLUMNS], const char **wrong);
static bool is_one_of(const char *word, const char *const *words, int n);
static char *short_text(Datum d);
static bool row_from_values(const Datum *values, const bool *nulls,
							const int attnos[NUM_COLUMNS], RequestRow *row,
							const char **why);
static void deform_row(TupleDesc desc, HeapTuple tuple, Datum **values, bool **nulls);

/*
 * Sets attnos[] to the index in desc of each column read; false, with
 * *wrong naming the column, when one is missing or of another type.
 */
static bool
find_columns(TupleDesc desc, int attnos[NUM_COLUMNS], const char **wrong)
{
	int			c;
	int			i;

	for (c = 0; c < NUM_COLUMNS; c++)
	{
		for (i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);

			if (!att->attisdropped &&
				strcmp(NameStr(att->attname), request_columns[c].name) == 0)
				break;
		}
		if (i == desc->natts ||
			TupleDescAttr(desc, i)->atttypid != request_columns[c].type)
		{
			*wrong = request_columns[c].name;
			return false;
		}
		attnos[c] = i;
	}
	return true;
}

/* Whether word is one of words[0..n). */
static bool
is_one_of(const char *word, const char *const *words, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		if (strcmp(word, words[i]) == 0)
			return true;
	return false;
}

/*
 * The text value d as a palloc'd string; NULL when it is stored out of
 * line on disk (no value the forwarder writes is that long, and fetching
 * it is not worth the risk inside the walsender).
 */
static char *
short_text(Datum d)
{
	if (VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(d)))
		return NULL;
	return TextDatumGetCString(d);
}

/*
 * Fills row from one deformed tuple; false, with *why saying what is
 * wrong, for a row the forwarder could not act on.
 */
static bool
row_from_values(const Datum *values, const bool *nulls,
				const int attnos[NUM_COLUMNS], RequestRow *row,
				const char **why)
{
	int			c;

	for (c = 0; c < NUM_COLUMNS; c++)
		if (nulls[attnos[c]] && !request_columns[c].nullable)
		{
			*why = psprintf("column \"%s\" is null", request_columns[c].name);
			return false;
		}
	row->id = DatumGetInt64(values[attnos[COL_ID]]);
	row->slot_name = pstrdup(NameStr(*DatumGetName(values[attnos[COL_SLOT_NAME]])));
	row->kind = short_text(values[attnos[COL_KIND]]);
	row->relid = DatumGetObjectId(values[attnos[COL_RELID]]);
	row->state = short_text(values[attnos[COL_STATE]]);
	row->target_index = nulls[attnos[COL_TARGET_INDEX]] ? NULL :
		short_text(values[attnos[COL_TARGET_INDEX]]);
	row->keep_old = DatumGetBool(values[attnos[COL_KEEP_OLD]]);
	if (row->id <= 0)
		*why = "its id is not positive";
	else if (row->kind == NULL || !is_one_of(row->kind, request_kinds, lengthof(request_kinds)))
		*why = "its kind is neither reindex nor backfill";
	else if (row->state == NULL ||
			 !is_one_of(row->state, request_states, lengthof(request_states)))
		*why = "its state is not one pg2es knows";
	else if (!nulls[attnos[COL_TARGET_INDEX]] &&
			 (row->target_index == NULL || row->target_index[0] == '\0' ||
			  strlen(row->target_index) > 255))
		*why = "its target_index is not an index name";
	else
		return true;
	return false;
}

/* Deforms tuple of desc into palloc'd arrays. */
static void
deform_row(TupleDesc desc, HeapTuple tuple, Datum **values, bool **nulls)
{
	*values = palloc(sizeof(Datum) * Max(desc->natts, 1));
	*nulls = palloc(sizeof(bool) * Max(desc->natts, 1));
	heap_deform_tuple(tuple, desc, *values, *nulls);
}

/*
 * Reads the new row of a decoded INSERT or UPDATE of pg2es.requests
 * (rel) into *row, allocating in the current context.  A row that cannot
 * be read is reported with a WARNING: false.
 */
bool
requests_read_change(Relation rel, HeapTuple tuple, RequestRow *row)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			attnos[NUM_COLUMNS];
	const char *wrong;
	const char *why;
	Datum	   *values;
	bool	   *nulls;

	if (!find_columns(desc, attnos, &wrong))
	{
		ereport(WARNING,
				errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				errmsg("ignoring a change of pg2es.requests: column \"%s\" is missing or of another type",
					   wrong),
				errhint("Run ALTER EXTENSION pg2es UPDATE, or restore the table as the extension creates it."));
		return false;
	}
	deform_row(desc, tuple, &values, &nulls);
	if (row_from_values(values, nulls, attnos, row, &why))
		return true;
	ereport(WARNING,
			errcode(ERRCODE_DATA_EXCEPTION),
			errmsg("ignoring a change of pg2es.requests: %s", why));
	return false;
}

/*
 * The target_index of slot_name's reindex of relid that is copying or
 * switching, as of the snapshot builder's snapshot (see above), palloc'd
 * in the current context; NULL when there is none, or no pg2es.requests.
 * Rows that cannot be read were reported when they were decoded, and are
 * skipped here.
 */
char *
requests_dual_target(struct SnapBuild *builder, const char *slot_name, Oid relid)
{
	Oid			nsp = get_namespace_oid("pg2es", true);
	Oid			reqid = OidIsValid(nsp) ? get_relname_relid("requests", nsp) : InvalidOid;
	Snapshot	snapshot;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tuple;
	int			attnos[NUM_COLUMNS];
	const char *why;
	char	   *target = NULL;

	if (!OidIsValid(reqid))
		return NULL;
	rel = table_open(reqid, AccessShareLock);
	if (!find_columns(RelationGetDescr(rel), attnos, &why))
	{
		table_close(rel, AccessShareLock);
		return NULL;
	}
	/* the builder keeps its snapshot while it replays a transaction */
	snapshot = PG2ES_BUILDER_SNAPSHOT(builder);
	scan = systable_beginscan(rel, InvalidOid, false, snapshot, 0, NULL);
	while (target == NULL && (tuple = systable_getnext(scan)) != NULL)
	{
		RequestRow	row;
		Datum	   *values;
		bool	   *nulls;

		deform_row(RelationGetDescr(rel), tuple, &values, &nulls);
		if (row_from_values(values, nulls, attnos, &row, &why) &&
			row.relid == relid && row.target_index != NULL &&
			strcmp(row.slot_name, slot_name) == 0 &&
			strcmp(row.kind, "reindex") == 0 &&
			(strcmp(row.state, "copying") == 0 || strcmp(row.state, "switching") == 0))
			target = row.target_index;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return target;
}
