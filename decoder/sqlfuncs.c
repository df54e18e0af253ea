/*-------------------------------------------------------------------------
 *
 * sqlfuncs.c
 *		The C functions of extension pg2es (docs/design.md, "SQL extension").
 *
 * They share the plugin's option parser, relation cache and item writer,
 * so that an initial load produces exactly the bytes decoding would.  A
 * load calls them once per row: parsed options and the relation cache are
 * kept in fn_extra for the whole query and rebuilt only when the options
 * argument changes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "nodes/makefuncs.h"
#include "port/pg_bswap.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "framing.h"
#include "item.h"
#include "options.h"
#include "publication.h"
#include "relcache.h"

PG_FUNCTION_INFO_V1(pg2es_bulk_item);
PG_FUNCTION_INFO_V1(pg2es_bulk_item_parts);
PG_FUNCTION_INFO_V1(pg2es_doc_id);
PG_FUNCTION_INFO_V1(pg2es_doc_source);
PG_FUNCTION_INFO_V1(pg2es_index_name);
PG_FUNCTION_INFO_V1(pg2es_covered_tables);
PG_FUNCTION_INFO_V1(pg2es_mapping);

/* What a function keeps in fn_extra between the rows of one query. */
typedef struct FunctionState
{
	MemoryContext cxt;			/* holds all of this */
	ArrayType  *options;		/* copy of the options argument */
	Pg2esOptions opts;
	RelCache   *cache;
	ItemWriter	writer;
	bool		begun;			/* writer was begun with the two below */
	bool		have_version;
	int64		version;
	/* bulk_item_parts: the item whose parts are being returned, or NULL */
	MemoryContext parts_cxt;	/* holds parts; reset when it is done */
	char	   *parts;
	Size		parts_len;
	Size		parts_sent;
} FunctionState;

static List *options_from_array(ArrayType *array);
static FunctionState *function_state(FunctionCallInfo fcinfo, int optarg);
static RelEntry *table_entry(FunctionState *state, Oid relid, bool must_cover);
static HeapTuple row_argument(FunctionCallInfo fcinfo, int argno, RelEntry *entry);
static void begin_writer(FunctionState *state, bool have_version, int64 version);
static void init_bytea_buffer(StringInfo buf);
static bytea *finish_bytea_buffer(StringInfo buf);
static bool write_bulk_item(FunctionCallInfo fcinfo, StringInfo buf, int extra);
static void forget_parts(Datum arg);
static Datum next_part(FunctionCallInfo fcinfo, ReturnSetInfo *rsi, FunctionState *state);
static void begin_parts(ReturnSetInfo *rsi, FunctionState *state, StringInfo buf, int prefix);

/*
 * Turns a text[] of "name=value" and bare "name" strings into the List of
 * DefElem the option parser takes.  Allocates in the current context.
 */
static List *
options_from_array(ArrayType *array)
{
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	List	   *result = NIL;
	int			i;

	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &nelems);
	for (i = 0; i < nelems; i++)
	{
		char	   *item;
		char	   *eq;

		if (nulls[i])
			ereport(ERROR,
					errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					errmsg("options must not contain NULL"));
		item = TextDatumGetCString(elems[i]);
		eq = strchr(item, '=');
		if (eq)
		{
			*eq = '\0';
			result = lappend(result, makeDefElem(item,
												 (Node *) makeString(eq + 1),
												 -1));
		}
		else
			result = lappend(result, makeDefElem(item, NULL, -1));
	}
	return result;
}

/*
 * The function's state for the options in argument optarg (NULL = none),
 * made or remade in a context under fn_mcxt.
 */
static FunctionState *
function_state(FunctionCallInfo fcinfo, int optarg)
{
	FunctionState *state = fcinfo->flinfo->fn_extra;
	ArrayType  *options = PG_ARGISNULL(optarg) ? NULL :
	PG_GETARG_ARRAYTYPE_P(optarg);
	MemoryContext cxt;
	MemoryContext oldcxt;

	if (state != NULL &&
		(options == NULL ? state->options == NULL :
		 (state->options != NULL &&
		  VARSIZE(options) == VARSIZE(state->options) &&
		  memcmp(options, state->options, VARSIZE(options)) == 0)))
		return state;

	if (state != NULL)
	{
		fcinfo->flinfo->fn_extra = NULL;
		MemoryContextDelete(state->cxt);
	}
	cxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "pg2es function",
								ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);
	state = palloc0(sizeof(FunctionState));
	state->cxt = cxt;
	if (options)
	{
		state->options = palloc(VARSIZE(options));
		memcpy(state->options, options, VARSIZE(options));
	}
	options_parse(&state->opts, options ? options_from_array(options) : NIL);
	if (state->opts.publications != NIL)
		publication_check_exist(state->opts.publications);
	state->cache = relcache_create(cxt, &state->opts);
	item_writer_init(&state->writer, &state->opts, cxt);
	MemoryContextSwitchTo(oldcxt);

	fcinfo->flinfo->fn_extra = state;
	return state;
}

/*
 * The cache entry of table relid; with must_cover, an ERROR if the
 * options do not cover it.  The relation is opened (and locked until the
 * end of the transaction) only when the entry must be built.
 */
static RelEntry *
table_entry(FunctionState *state, Oid relid, bool must_cover)
{
	RelEntry   *entry = relcache_lookup(state->cache, relid);

	if (entry == NULL)
	{
		Relation	rel = relation_open(relid, AccessShareLock);

		if (rel->rd_rel->relkind != RELKIND_RELATION &&
			rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
			ereport(ERROR,
					errcode(ERRCODE_WRONG_OBJECT_TYPE),
					errmsg("\"%s\" is not a table",
						   RelationGetRelationName(rel)));
		entry = relcache_entry_for(state->cache, rel);
		relation_close(rel, NoLock);
	}
	if (must_cover && !entry->covered)
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("table %s is not covered by the options",
					   entry->qualified_name));
	return entry;
}

/* The row argument argno as a HeapTuple of the entry's table. */
static HeapTuple
row_argument(FunctionCallInfo fcinfo, int argno, RelEntry *entry)
{
	HeapTupleHeader td = PG_GETARG_HEAPTUPLEHEADER(argno);
	HeapTuple	tuple = palloc(sizeof(HeapTupleData));

	if (HeapTupleHeaderGetTypeId(td) != entry->reltype)
		ereport(ERROR,
				errcode(ERRCODE_DATATYPE_MISMATCH),
				errmsg("row is not of the row type of table %s",
					   entry->qualified_name));
	tuple->t_len = HeapTupleHeaderGetDatumLength(td);
	ItemPointerSetInvalid(&tuple->t_self);
	tuple->t_tableOid = InvalidOid;
	tuple->t_data = td;
	return tuple;
}

/* Begins the item writer for version (if have_version) unless it is. */
static void
begin_writer(FunctionState *state, bool have_version, int64 version)
{
	if (state->begun && state->have_version == have_version &&
		state->version == version)
		return;
	item_writer_begin(&state->writer, have_version, (uint64) version,
					  false, 0);
	state->begun = true;
	state->have_version = have_version;
	state->version = version;
}

/* Starts a StringInfo that will become a bytea. */
static void
init_bytea_buffer(StringInfo buf)
{
	initStringInfo(buf);
	appendStringInfoSpaces(buf, VARHDRSZ);
}

/* The bytea made of buf (started with init_bytea_buffer). */
static bytea *
finish_bytea_buffer(StringInfo buf)
{
	SET_VARSIZE(buf->data, buf->len);
	return (bytea *) buf->data;
}

/*
 * Writes into buf, a bytea buffer begun with room for extra bytes after
 * the header, the "index" item of the row of bulk_item's arguments; false
 * when it has none (a row that cannot be addressed, or one the
 * publications' filter rejects).
 */
static bool
write_bulk_item(FunctionCallInfo fcinfo, StringInfo buf, int extra)
{
	FunctionState *state;
	RelEntry   *entry;
	HeapTuple	tuple;
	ItemResult	result;
	bool		have_version = !PG_ARGISNULL(2);
	int64		version = have_version ? PG_GETARG_INT64(2) : 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		return false;
	state = function_state(fcinfo, 3);
	entry = table_entry(state, PG_GETARG_OID(0), true);
	tuple = row_argument(fcinfo, 1, entry);

	begin_writer(state, have_version, version);
	init_bytea_buffer(buf);
	appendStringInfoSpaces(buf, extra);
	return item_write_insert(&state->writer, buf, entry, tuple, 'r', &result);
}

/*
 * pg2es.bulk_item(rel, row, version, options): the "index" item of row,
 * both lines ending in "\n", as decoding writes it for an INSERT in a
 * transaction committed at version (NULL: unversioned).  NULL when the
 * row cannot be addressed (decoding skips such rows) or the publications'
 * filter rejects it.
 */
Datum
pg2es_bulk_item(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	if (!write_bulk_item(fcinfo, &buf, 0))
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(finish_bytea_buffer(&buf));
}

/*
 * The end of a query (or a rescan) while an item's parts were being
 * returned: the next call must begin with a new row.
 */
static void
forget_parts(Datum arg)
{
	FunctionState *state = (FunctionState *) DatumGetPointer(arg);

	state->parts = NULL;
	MemoryContextReset(state->parts_cxt);
}

/* The next part of the item being returned, or the end of its set. */
static Datum
next_part(FunctionCallInfo fcinfo, ReturnSetInfo *rsi, FunctionState *state)
{
	Size		n = Min(state->parts_len - state->parts_sent, FRAME_PIECE_BYTES);
	bytea	   *part;

	if (n == 0)
	{
		UnregisterExprContextCallback(rsi->econtext, forget_parts,
									  PointerGetDatum(state));
		forget_parts(PointerGetDatum(state));
		rsi->isDone = ExprEndResult;
		PG_RETURN_NULL();
	}
	part = palloc(VARHDRSZ + n);
	SET_VARSIZE(part, VARHDRSZ + n);
	memcpy(VARDATA(part), state->parts + state->parts_sent, n);
	state->parts_sent += n;
	rsi->isDone = ExprMultipleResult;
	PG_RETURN_BYTEA_P(part);
}

/*
 * Keeps the item in buf (after its prefix) for the parts after the first,
 * which buf then becomes.
 */
static void
begin_parts(ReturnSetInfo *rsi, FunctionState *state, StringInfo buf, int prefix)
{
	if (state->parts_cxt == NULL)
		state->parts_cxt = AllocSetContextCreate(state->cxt, "pg2es item parts",
												 ALLOCSET_DEFAULT_SIZES);
	state->parts_len = buf->len - prefix;
	state->parts = MemoryContextAlloc(state->parts_cxt, state->parts_len);
	memcpy(state->parts, buf->data + prefix, state->parts_len);
	/* the first value, with its length prefix, is FRAME_PIECE_BYTES too */
	state->parts_sent = FRAME_PIECE_BYTES - (prefix - VARHDRSZ);
	RegisterExprContextCallback(rsi->econtext, forget_parts,
								PointerGetDatum(state));
	buf->len = VARHDRSZ + FRAME_PIECE_BYTES;
}

/*
 * pg2es.bulk_item_parts(rel, row, version, options): bulk_item's item as
 * a set of values of at most FRAME_PIECE_BYTES bytes, so that a client
 * reading a large row (the initial load) never holds it in its receive
 * buffer and again in its own copy.  The first value begins with the
 * item's length in bytes, 4 bytes big-endian; the values after it carry
 * the rest, in order.  No value where bulk_item is NULL.  A small item is
 * returned as one value without a copy.
 */
Datum
pg2es_bulk_item_parts(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsi = (ReturnSetInfo *) fcinfo->resultinfo;
	FunctionState *state = fcinfo->flinfo->fn_extra;
	StringInfoData buf;
	uint32		len;
	const int	prefix = VARHDRSZ + sizeof(len);

	if (rsi == NULL || !IsA(rsi, ReturnSetInfo) ||
		!(rsi->allowedModes & SFRM_ValuePerCall))
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("pg2es.bulk_item_parts must be called in a SELECT list or FROM"));
	rsi->returnMode = SFRM_ValuePerCall;
	if (state != NULL && state->parts != NULL)
		return next_part(fcinfo, rsi, state);
	if (!write_bulk_item(fcinfo, &buf, sizeof(len)))
	{
		rsi->isDone = ExprEndResult;
		PG_RETURN_NULL();
	}
	len = pg_hton32((uint32) (buf.len - prefix));
	memcpy(buf.data + VARHDRSZ, &len, sizeof(len));
	rsi->isDone = ExprSingleResult;
	if (buf.len - VARHDRSZ > FRAME_PIECE_BYTES)
	{
		begin_parts(rsi, fcinfo->flinfo->fn_extra, &buf, prefix);
		rsi->isDone = ExprMultipleResult;
	}
	PG_RETURN_BYTEA_P(finish_bytea_buffer(&buf));
}

/*
 * pg2es.doc_id(rel, row, options): the row's _id, NULL if none (no key,
 * or a row the publications' filter rejects).
 */
Datum
pg2es_doc_id(PG_FUNCTION_ARGS)
{
	FunctionState *state = function_state(fcinfo, 2);
	RelEntry   *entry = table_entry(state, PG_GETARG_OID(0), true);
	HeapTuple	tuple = row_argument(fcinfo, 1, entry);
	const char *id = item_doc_id(&state->writer, entry, tuple);

	if (id == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(pg_any_to_server(id, strlen(id),
													  PG_UTF8)));
}

/*
 * pg2es.doc_source(rel, row, options): the row's document as bulk_item
 * writes it, unversioned (so __lsn is null), without a newline; NULL for
 * a row the publications' filter rejects.
 */
Datum
pg2es_doc_source(PG_FUNCTION_ARGS)
{
	FunctionState *state = function_state(fcinfo, 2);
	RelEntry   *entry = table_entry(state, PG_GETARG_OID(0), true);
	HeapTuple	tuple = row_argument(fcinfo, 1, entry);
	StringInfoData buf;

	begin_writer(state, false, 0);
	init_bytea_buffer(&buf);
	if (!item_append_source(&state->writer, &buf, entry, tuple, 'r'))
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(finish_bytea_buffer(&buf));
}

/* pg2es.index_name(rel, options): the index the table's rows go to. */
Datum
pg2es_index_name(PG_FUNCTION_ARGS)
{
	FunctionState *state = function_state(fcinfo, 1);
	RelEntry   *entry = table_entry(state, PG_GETARG_OID(0), false);

	PG_RETURN_TEXT_P(cstring_to_text(entry->index_name));
}

/* Mappings of the add-fields, in document order. */
static const struct
{
	int			field;
	const char *mapping;
}			add_field_mappings[] =
{
	{ADD_FIELD_TABLE, ",\"__table\":{\"type\":\"keyword\"}"},
	{ADD_FIELD_LSN, ",\"__lsn\":{\"type\":\"keyword\"}"},
	{ADD_FIELD_COMMIT_TIME, ",\"__ts_ms\":{\"type\":\"date\",\"format\":\"epoch_millis\"}"},
	{ADD_FIELD_OP, ",\"__op\":{\"type\":\"keyword\"}"},
};

/* delete-mode=soft: the mark of a deleted row's document */
static const char deleted_mapping[] = ",\"__deleted\":{\"type\":\"boolean\"}";

/*
 * pg2es.mapping(rel, options): {"properties":{...}} for the documents of
 * the table: one field per column in them, then the add-fields (and
 * __deleted under delete-mode=soft); with
 * "dynamic_templates" when a json or jsonb object is in it, to keep the
 * objects of its values within the engines' depth limit.
 */
Datum
pg2es_mapping(PG_FUNCTION_ARGS)
{
	FunctionState *state = function_state(fcinfo, 1);
	RelEntry   *entry = table_entry(state, PG_GETARG_OID(0), true);
	StringInfoData buf;
	int			skip = 1;		/* the leading comma of the first field */
	bool		dynamic = false;
	int			i;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"properties\":{");
	for (i = 0; i < entry->ncolumns; i++)
	{
		int			att = entry->columns[i];
		RelColumn  *col = &entry->cols[att];

		appendBinaryStringInfo(&buf, col->key + skip, col->keylen - skip);
		skip = 0;
		encoder_append_es_mapping(&buf, &col->enc,
								  TupleDescAttr(entry->desc, att)->atttypmod,
								  false);
		dynamic |= encoder_es_mapping_is_dynamic(&col->enc, false);
	}
	for (i = 0; i < lengthof(add_field_mappings); i++)
	{
		if (!(state->opts.add_fields & add_field_mappings[i].field))
			continue;
		appendStringInfoString(&buf, add_field_mappings[i].mapping + skip);
		skip = 0;
	}
	if (state->opts.soft_delete)
		appendStringInfoString(&buf, deleted_mapping + skip);
	appendStringInfoChar(&buf, '}');
	if (dynamic)
	{
		appendStringInfoString(&buf, ",\"dynamic_templates\":");
		encoder_append_es_dynamic_templates(&buf);
	}
	appendStringInfoChar(&buf, '}');

	/*
	 * the keys are UTF-8, as in documents; jsonb_in reads the server's
	 * encoding
	 */
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in,
										CStringGetDatum(pg_any_to_server(buf.data, buf.len,
																		 PG_UTF8))));
}

/* pg2es.covered_tables(options): SETOF regclass, see relcache_covered_tables. */
Datum
pg2es_covered_tables(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	List	   *tables;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext oldcxt;
		Pg2esOptions *opts;
		RelCache   *cache;
		ArrayType  *options = PG_ARGISNULL(0) ? NULL :
		PG_GETARG_ARRAYTYPE_P(0);

		funcctx = SRF_FIRSTCALL_INIT();
		oldcxt = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		opts = palloc(sizeof(Pg2esOptions));
		options_parse(opts, options ? options_from_array(options) : NIL);
		if (opts->publications != NIL)
			publication_check_exist(opts->publications);
		cache = relcache_create(funcctx->multi_call_memory_ctx, opts);
		funcctx->user_fctx = relcache_covered_tables(cache);
		relcache_destroy(cache);
		MemoryContextSwitchTo(oldcxt);
	}

	funcctx = SRF_PERCALL_SETUP();
	tables = funcctx->user_fctx;
	if (funcctx->call_cntr < list_length(tables))
	{
		/* SRF_RETURN_NEXT counts the row before it reads its argument. */
		Oid			relid = list_nth_oid(tables, funcctx->call_cntr);

		SRF_RETURN_NEXT(funcctx, ObjectIdGetDatum(relid));
	}
	SRF_RETURN_DONE(funcctx);
}
