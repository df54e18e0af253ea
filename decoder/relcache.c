/*-------------------------------------------------------------------------
 *
 * relcache.c
 *		The decoder's relation cache, modelled on pgoutput's
 *		RelationSyncCache.
 *
 * Every per-table string a change needs (index name, action-line
 * prefixes, "column": keys) is rendered once here, so that the change path
 * does no catalog lookup and no formatting beyond the values themselves.
 *
 * Invalidation: PostgreSQL executes the catalog invalidations of a decoded
 * transaction at the point of the stream where it committed, so marking an
 * entry invalid from the relcache callback is enough for the very next
 * change to see the new schema.  Callbacks cannot be unregistered and
 * outlive any one decoding session, so they are registered once per
 * process and reach the live caches through a list that a memory context
 * callback keeps current; they only set flags, because they can run in the
 * middle of catalog access.
 *
 * What an entry depends on, and the invalidation that reaches it: the
 * table and its partition root (relcache callback); schemas (syscache
 * callback on NAMESPACEOID: rare, so it drops everything); the types its
 * encoders go through, at any depth: their pg_type rows (syscache callback
 * on TYPEOID, matched by hash value in type_hashes, since every CREATE
 * TABLE, temporary ones included, adds a type) and, for composite types,
 * their pg_class relation, the only thing ALTER TYPE ... ADD/DROP
 * ATTRIBUTE changes (relcache callback, matched in row_types).  Enum
 * labels are read by enum_out at each value, so ALTER TYPE ... ADD VALUE
 * needs nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/transam.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/builtins.h"

#include "compat.h"
#include "naming.h"
#include "relcache.h"
#include "requests.h"

struct RelCache
{
	HTAB	   *hash;			/* RelEntry by relid */
	MemoryContext cxt;
	const Pg2esOptions *opts;
	bool		maps_partitions;	/* some entry names another relation */
	bool		uses_row_types; /* some entry has row_types */
	uint64		invalidations;	/* counts callbacks, to spot a race */
	List	   *pubs;			/* option "publications": the Publication * of
								 * the catalog, in pubs_cxt */
	bool		pubs_valid;		/* false: pubs must be read again */
	MemoryContext pubs_cxt;
	uint64		publication_changes;	/* counts publication callbacks */
	RelEntry   *last;			/* the entry relcache_entry_for returned last
								 * (dynahash never moves an entry, and none is
								 * ever removed) */
	const char *slot_name;		/* decoding: the slot, whose reindexes get
								 * dual writes; NULL otherwise */
	struct SnapBuild *builder;	/* decoding: its snapshot builder */
	RelCache   *next;			/* in live_caches */
	MemoryContextCallback unlink_cb;
};

/* Caches whose memory context still exists. */
static RelCache *live_caches = NULL;
static bool callbacks_registered = false;

static void invalidate_cache_entries(RelCache *cache, bool all,
									 uint32 type_hash);
static void invalidate_entries(bool all, uint32 type_hash);
static bool entry_depends_on(RelEntry *entry, Oid relid);
static void relcache_invalidate_cb(Datum arg, Oid relid);
static void namespace_invalidate_cb(Datum arg, int cacheid, uint32 hashvalue);
static void type_invalidate_cb(Datum arg, int cacheid, uint32 hashvalue);
static void publication_invalidate_cb(Datum arg, int cacheid,
									  uint32 hashvalue);
static void relcache_unlink(void *arg);
static List *relcache_publications(RelCache *cache);
static bool relid_covered(RelCache *cache, Oid relid, const char *schema,
						  const char *table);
static char *render_with_json(const char *prefix, const char *s,
							  const char *suffix, int *len);
static void render_prefixes(ActionPrefixes *out, const char *index);
static void build_names(RelCache *cache, RelEntry *entry, const char *schema,
						const char *table);
static void build_dual(RelCache *cache, RelEntry *entry);
static char *document_field_name(const char *attname);
static void build_index_keys(RelEntry *entry, Oid indexoid);
static void build_option_keys(RelEntry *entry, List *idcols);
static bool keys_in_replica_identity(RelEntry *entry, Relation rel);
static void warn_keys_not_in_identity(RelEntry *entry);
static void build_keys(RelCache *cache, RelEntry *entry, Relation rel,
					   const char *schema, const char *table);
static void build_column_order(RelEntry *entry, Relation rel);
static void warn_key_not_published(RelEntry *entry, const char *column);
static void build_columns(RelCache *cache, RelEntry *entry, const char *schema,
						  const char *table);
static void add_type_hash(RelEntry *entry, Oid typid);
static void collect_type_dependencies(RelEntry *entry,
									  const ValueEncoder *enc);
static Oid	index_relid_of(RelCache *cache, Oid relid);
static char *index_of_rows(RelCache *cache, Oid relid);
static bool still_goes_to(RelCache *cache, Oid relid, const char *index);
static Oid	named_table_going_to(RelCache *cache, RelEntry *entry,
								 const char *schema, const char *table,
								 const char *index);
static Oid	unseen_table_going_to(RelCache *cache, RelEntry *entry);
static void report_shared_index(const char *a, const char *b,
								const char *index);
static void check_index_not_shared(RelCache *cache, RelEntry *entry);
static void build_covered_entry(RelCache *cache, RelEntry *entry, Relation rel,
								const char *schema, const char *table);
static void build_entry(RelCache *cache, RelEntry *entry, Relation rel);
static int	compare_covered_tables(const ListCell *a, const ListCell *b);

/*
 * Marks invalid the entries of cache whose encoders use the type with
 * TYPEOID hash value type_hash, or every entry when all is true.
 */
static void
invalidate_cache_entries(RelCache *cache, bool all, uint32 type_hash)
{
	HASH_SEQ_STATUS status;
	RelEntry   *entry;

	cache->invalidations++;
	hash_seq_init(&status, cache->hash);
	while ((entry = hash_seq_search(&status)) != NULL)
		if (all || list_member_int(entry->type_hashes, (int) type_hash))
			entry->valid = false;
}

/* invalidate_cache_entries() in every live cache. */
static void
invalidate_entries(bool all, uint32 type_hash)
{
	RelCache   *cache;

	for (cache = live_caches; cache != NULL; cache = cache->next)
		invalidate_cache_entries(cache, all, type_hash);
}

/* Whether entry must be rebuilt when relation relid changes. */
static bool
entry_depends_on(RelEntry *entry, Oid relid)
{
	return entry->index_relid == relid ||
		list_member_oid(entry->row_types, relid);
}

/*
 * Relcache callback: relid changed (InvalidOid: everything).  Entries of
 * partitions whose index is named after relid are invalidated too, since
 * renaming a partition root changes its partitions' index, and so are
 * entries with a column of a composite type whose relation relid is:
 * ALTER TYPE ... ADD/DROP/RENAME ATTRIBUTE invalidates only that relation,
 * not the tables using the type.
 */
static void
relcache_invalidate_cb(Datum arg, Oid relid)
{
	RelCache   *cache;

	if (relid == InvalidOid)
	{
		invalidate_entries(true, 0);
		return;
	}
	for (cache = live_caches; cache != NULL; cache = cache->next)
	{
		RelEntry   *entry;

		cache->invalidations++;
		entry = hash_search(cache->hash, &relid, HASH_FIND, NULL);
		if (entry != NULL)
			entry->valid = false;
		if (cache->maps_partitions || cache->uses_row_types)
		{
			HASH_SEQ_STATUS status;

			hash_seq_init(&status, cache->hash);
			while ((entry = hash_seq_search(&status)) != NULL)
				if (entry_depends_on(entry, relid))
					entry->valid = false;
		}
	}
}

/*
 * Syscache callback for schemas (their names are in index names): rare
 * enough to drop everything.
 */
static void
namespace_invalidate_cb(Datum arg, int cacheid, uint32 hashvalue)
{
	invalidate_entries(true, 0);
}

/*
 * Syscache callback for types: invalidates the entries whose encoders use
 * the type with this hash value (0: every type).
 */
static void
type_invalidate_cb(Datum arg, int cacheid, uint32 hashvalue)
{
	invalidate_entries(hashvalue == 0, hashvalue);
}

/*
 * Syscache callback for pg_publication, pg_publication_rel and
 * pg_publication_namespace: any change may add, drop or change what a
 * table publishes, so the caches that read publications drop everything
 * and read the publications again, as pgoutput does.
 */
static void
publication_invalidate_cb(Datum arg, int cacheid, uint32 hashvalue)
{
	RelCache   *cache;

	for (cache = live_caches; cache != NULL; cache = cache->next)
	{
		HASH_SEQ_STATUS status;
		RelEntry   *entry;

		if (cache->opts->publications == NIL)
			continue;
		cache->invalidations++;
		cache->publication_changes++;
		cache->pubs_valid = false;
		hash_seq_init(&status, cache->hash);
		while ((entry = hash_seq_search(&status)) != NULL)
			entry->valid = false;
	}
}

/* Removes a cache from live_caches when its memory context goes away. */
static void
relcache_unlink(void *arg)
{
	RelCache   *dead = arg;
	RelCache  **link;

	for (link = &live_caches; *link != NULL; link = &(*link)->next)
		if (*link == dead)
		{
			*link = dead->next;
			break;
		}
}

/*
 * Creates an empty cache in a new context under parent (the decoding
 * context, or a function's long-lived context); it dies with parent.
 * opts must live as long.
 */
RelCache *
relcache_create(MemoryContext parent, const Pg2esOptions *opts)
{
	MemoryContext cxt = AllocSetContextCreate(parent, "pg2es relation cache",
											  ALLOCSET_DEFAULT_SIZES);
	RelCache   *cache = MemoryContextAllocZero(cxt, sizeof(RelCache));
	HASHCTL		hctl;

	cache->cxt = cxt;
	cache->opts = opts;
	cache->pubs_cxt = AllocSetContextCreate(cxt, "pg2es publications",
											ALLOCSET_SMALL_SIZES);
	hctl.keysize = sizeof(Oid);
	hctl.entrysize = sizeof(RelEntry);
	hctl.hcxt = cxt;
	cache->hash = hash_create("pg2es relation cache", 64, &hctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	cache->unlink_cb.func = relcache_unlink;
	cache->unlink_cb.arg = cache;
	MemoryContextRegisterResetCallback(cxt, &cache->unlink_cb);
	cache->next = live_caches;
	live_caches = cache;

	if (!callbacks_registered)
	{
		CacheRegisterRelcacheCallback(relcache_invalidate_cb, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, namespace_invalidate_cb,
									  (Datum) 0);
		CacheRegisterSyscacheCallback(TYPEOID, type_invalidate_cb,
									  (Datum) 0);
		CacheRegisterSyscacheCallback(PUBLICATIONOID,
									  publication_invalidate_cb, (Datum) 0);
		CacheRegisterSyscacheCallback(PUBLICATIONRELMAP,
									  publication_invalidate_cb, (Datum) 0);
		PG2ES_REGISTER_SCHEMA_PUBLICATION_CALLBACK(publication_invalidate_cb);
		callbacks_registered = true;
	}
	return cache;
}

/*
 * Frees the cache now (it would go with its parent context anyway); the
 * invalidation callbacks stop reaching it.
 */
void
relcache_destroy(RelCache *cache)
{
	MemoryContextDelete(cache->cxt);
}

/*
 * The publications of option "publications" as the catalog shows them now
 * (the decoding snapshot's point of the stream), read again after a
 * publication callback.
 */
static List *
relcache_publications(RelCache *cache)
{
	if (!cache->pubs_valid)
	{
		MemoryContext oldcxt;

		/* A callback while the catalog is read makes the next call read it. */
		cache->pubs_valid = true;
		MemoryContextReset(cache->pubs_cxt);
		cache->pubs = NIL;
		oldcxt = MemoryContextSwitchTo(cache->pubs_cxt);
		cache->pubs = publication_load(cache->opts->publications);
		MemoryContextSwitchTo(oldcxt);
	}
	return cache->pubs;
}

/*
 * How many publication callbacks this cache has seen: the decoder compares
 * it across a transaction to know when the covered tables may have
 * changed.
 */
uint64
relcache_publication_changes(RelCache *cache)
{
	return cache->publication_changes;
}

/*
 * Whether the options and the publications cover table relid, whose index
 * is named after schema.table.
 */
static bool
relid_covered(RelCache *cache, Oid relid, const char *schema,
			  const char *table)
{
	return options_table_covered(cache->opts, schema, table) &&
		(cache->opts->publications == NIL ||
		 publication_relid_published(relcache_publications(cache), relid));
}

/* Returns pfree-able "prefix" + JSON string of s + "suffix". */
static char *
render_with_json(const char *prefix, const char *s, const char *suffix,
				 int *len)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, prefix);
	json_append_string(&buf, s, strlen(s));
	appendStringInfoString(&buf, suffix);
	*len = buf.len;
	return buf.data;
}

/* Renders the action-line prefixes of index into out (current context). */
static void
render_prefixes(ActionPrefixes *out, const char *index)
{
	out->index_action = render_with_json("{\"index\":{\"_index\":", index,
										 ",\"_id\":", &out->index_action_len);
	out->delete_action = render_with_json("{\"delete\":{\"_index\":", index,
										  ",\"_id\":", &out->delete_action_len);
	out->update_action = render_with_json("{\"update\":{\"_index\":", index,
										  ",\"_id\":", &out->update_action_len);
}

/*
 * Sets the entry's strings that depend on the names of the table the
 * index is named after: index name, action prefixes, __table field.
 */
static void
build_names(RelCache *cache, RelEntry *entry, const char *schema,
			const char *table)
{
	const char *override = options_index_override(cache->opts, schema, table);
	StringInfoData buf;
	ActionPrefixes prefixes;

	initStringInfo(&buf);
	if (override)
		appendStringInfoString(&buf, override);
	else
		naming_default_index(&buf, cache->opts->index_prefix, schema, table);
	entry->index_name = buf.data;
	entry->qualified_name = quote_qualified_identifier(schema, table);
	render_prefixes(&prefixes, buf.data);
	entry->index_action = prefixes.index_action;
	entry->index_action_len = prefixes.index_action_len;
	entry->delete_action = prefixes.delete_action;
	entry->delete_action_len = prefixes.delete_action_len;
	entry->update_action = prefixes.update_action;
	entry->update_action_len = prefixes.update_action_len;
	entry->table_field = render_with_json(",\"__table\":",
										  psprintf("%s.%s", schema, table),
										  "", &entry->table_field_len);
}

/*
 * Sets entry->dual when this slot's reindex of the table the entry's
 * index belongs to is copying or switching (requests.c), in the entry's
 * context.
 */
static void
build_dual(RelCache *cache, RelEntry *entry)
{
	char	   *target = requests_dual_target(cache->builder, cache->slot_name,
											  entry->index_relid);

	if (target == NULL)
		return;
	entry->dual = palloc(sizeof(DualTarget));
	entry->dual->index_name = target;
	render_prefixes(&entry->dual->prefixes, target);
}

/*
 * The metadata fields of Elasticsearch (8, 9) and OpenSearch (1 to 3),
 * without their leading underscore: a document holding one of them at its
 * top level is refused (or, for _doc_count, changes what the engine counts).
 */
static const char *const metadata_fields[] = {
	"id", "index", "index_mode", "source", "routing", "version", "seq_no",
	"primary_term", "ignored", "ignored_source", "field_names", "doc_count",
	"data_stream_timestamp", "nested_path", "tsid", "ts_routing_hash",
	"tier", "feature", "type", "size", "inference_fields"
};

/*
 * The document field of a column named attname, palloc'd: attname, except
 * that one more underscore is put in front of a name whose first path
 * component (up to a dot) is one or more underscores followed by a
 * metadata field's name: "_id" is field "__id", "__id" is "___id",
 * "_source.x" is "__source.x".  Different columns never share a field (the
 * renamed names are exactly those that start with such a component, and
 * they stay among them), and no field is a metadata field.
 */
static char *
document_field_name(const char *attname)
{
	const char *base = attname;
	size_t		len;
	int			i;

	while (*base == '_')
		base++;
	len = strcspn(base, ".");
	if (base == attname)
		return pstrdup(attname);
	for (i = 0; i < lengthof(metadata_fields); i++)
		if (strlen(metadata_fields[i]) == len &&
			strncmp(base, metadata_fields[i], len) == 0)
			return psprintf("_%s", attname);
	return pstrdup(attname);
}

/* Appends attnums of the key columns of index indexoid to entry->keys. */
static void
build_index_keys(RelEntry *entry, Oid indexoid)
{
	HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
	Form_pg_index index;
	int			i;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for index %u", indexoid);
	index = (Form_pg_index) GETSTRUCT(tup);
	entry->nkeys = index->indnkeyatts;
	entry->keys = palloc(sizeof(AttrNumber) * entry->nkeys);
	for (i = 0; i < entry->nkeys; i++)
		entry->keys[i] = index->indkey.values[i];
	ReleaseSysCache(tup);
}

/*
 * Sets entry->keys from the id-columns option's names, resolved against
 * the table's own descriptor (a partition's column numbers may differ from
 * its root's, whose name the option uses).
 */
static void
build_option_keys(RelEntry *entry, List *idcols)
{
	ListCell   *lc;

	entry->keys = palloc(sizeof(AttrNumber) * list_length(idcols));
	foreach(lc, idcols)
	{
		const char *name = lfirst(lc);
		int			i;

		for (i = 0; i < entry->desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(entry->desc, i);

			if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
				break;
		}
		if (i == entry->desc->natts)
			ereport(ERROR,
					errcode(ERRCODE_UNDEFINED_COLUMN),
					errmsg("column \"%s\" named by option \"id-columns\" does not exist in table %s",
						   name, entry->qualified_name));
		entry->keys[entry->nkeys++] = i + 1;
	}
}

/*
 * Whether the WAL holds the old value of every key column for deletes and
 * key changes: always under REPLICA IDENTITY FULL, else only for columns
 * of the replica identity index (none under NOTHING, or DEFAULT without a
 * primary key).
 */
static bool
keys_in_replica_identity(RelEntry *entry, Relation rel)
{
	Oid			replindex;
	HeapTuple	tup;
	Form_pg_index index;
	int			k;
	int			j;
	bool		all = true;

	if (rel->rd_rel->relreplident == REPLICA_IDENTITY_FULL)
		return true;
	replindex = RelationGetReplicaIndex(rel);
	if (!OidIsValid(replindex))
		return false;
	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(replindex));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for index %u", replindex);
	index = (Form_pg_index) GETSTRUCT(tup);
	for (k = 0; k < entry->nkeys && all; k++)
	{
		for (j = 0; j < index->indnkeyatts; j++)
			if (index->indkey.values[j] == entry->keys[k])
				break;
		all = (j < index->indnkeyatts);
	}
	ReleaseSysCache(tup);
	return all;
}

/*
 * Says once per table and session that deletes and key changes cannot be
 * followed, when the entry is built: the first skipped delete may come
 * much later (and says so too).
 */
static void
warn_keys_not_in_identity(RelEntry *entry)
{
	if (!relentry_warn_first(entry, REL_WARNED_KEYS_NOT_IN_IDENTITY))
		return;
	ereport(WARNING,
			errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			errmsg("the _id columns of table %s are not in its replica identity",
				   entry->qualified_name),
			errdetail("Its deletes are skipped, and a key change leaves the document of the old key in place."),
			errhint("Set REPLICA IDENTITY FULL on the table."));
}

/*
 * Sets entry->keys: the id-columns option's columns when it names the
 * table (an override, even of a primary key), else the primary key, else
 * the replica identity index.  None of them leaves nkeys 0.  Warns when
 * the WAL will not hold the old keys.
 */
static void
build_keys(RelCache *cache, RelEntry *entry, Relation rel,
		   const char *schema, const char *table)
{
	List	   *idcols = options_id_columns(cache->opts, schema, table);
	Oid			replindex;

	if (idcols != NIL)
		build_option_keys(entry, idcols);
	else
	{
		/* Fills rel->rd_pkindex. */
		list_free(RelationGetIndexList(rel));
		replindex = RelationGetReplicaIndex(rel);
		if (OidIsValid(rel->rd_pkindex))
			build_index_keys(entry, rel->rd_pkindex);
		else if (OidIsValid(replindex))
			build_index_keys(entry, replindex);
	}
	if (entry->nkeys > 0 && !keys_in_replica_identity(entry, rel))
		warn_keys_not_in_identity(entry);
}

/*
 * Sets entry->columns: the included columns in the order of the table the
 * index is named after, so that a partition with its own column order
 * (an attached table) writes the same documents as its root.
 */
static void
build_column_order(RelEntry *entry, Relation rel)
{
	Relation	named = rel;
	TupleDesc	desc;
	int			i;

	if (entry->index_relid != RelationGetRelid(rel))
		named = RelationIdGetRelation(entry->index_relid);
	if (!RelationIsValid(named))
		elog(ERROR, "could not open relation with OID %u", entry->index_relid);
	desc = RelationGetDescr(named);

	entry->columns = palloc(sizeof(int) * Max(desc->natts, 1));
	entry->ncolumns = 0;
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		int			j;

		if (att->attisdropped)
			continue;
		for (j = 0; j < entry->desc->natts; j++)
		{
			Form_pg_attribute own = TupleDescAttr(entry->desc, j);

			if (!own->attisdropped &&
				strcmp(NameStr(own->attname), NameStr(att->attname)) == 0)
				break;
		}
		if (j < entry->desc->natts && entry->cols[j].included)
			entry->columns[entry->ncolumns++] = j;
	}
	if (named != rel)
		RelationClose(named);
}

/*
 * Says, when an entry is built, that a publication's column list leaves
 * out an _id column: its value still makes the _id (a document needs
 * one), though not a field.  PostgreSQL itself refuses updates and
 * deletes of such a table when the publication publishes them.
 */
static void
warn_key_not_published(RelEntry *entry, const char *column)
{
	ereport(WARNING,
			errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
			errmsg("the column list of table %s in option \"publications\" leaves out _id column \"%s\"",
				   entry->qualified_name, column),
			errdetail("The column's values still make the documents' _id, but are not in their fields."),
			errhint("Add the column to the publication's column list."));
}

/*
 * Sets entry->cols: the pre-escaped keys (document_field_name: the stream,
 * the load, the mapping and verify all take them from here) and encoders.
 * Key columns get an encoder even when left out of documents, since the _id
 * needs them.
 */
static void
build_columns(RelCache *cache, RelEntry *entry, const char *schema,
			  const char *table)
{
	TupleDesc	desc = entry->desc;
	int			i;

	entry->cols = palloc0(sizeof(RelColumn) * Max(desc->natts, 1));
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		RelColumn  *col = &entry->cols[i];
		bool		is_key = false;
		int			k;

		if (att->attisdropped)
			continue;
		for (k = 0; k < entry->nkeys; k++)
			is_key |= (entry->keys[k] == i + 1);
		col->included = !PG2ES_ATT_IS_VIRTUAL(att) &&
			publication_column_published(&entry->pub, att) &&
			!options_column_excluded(cache->opts, schema, table,
									 NameStr(att->attname));
		if (is_key && !publication_column_published(&entry->pub, att))
			warn_key_not_published(entry, NameStr(att->attname));
		if (!col->included && !is_key)
			continue;
		col->varlena = (att->attlen == -1);
		col->key = render_with_json(",",
									document_field_name(NameStr(att->attname)),
									":", &col->keylen);
		encoder_init(&col->enc, att->atttypid, entry->cxt);
	}
}

/* Adds the TYPEOID syscache hash value of type typid to entry->type_hashes. */
static void
add_type_hash(RelEntry *entry, Oid typid)
{
	uint32		hash = GetSysCacheHashValue1(TYPEOID, ObjectIdGetDatum(typid));

	entry->type_hashes = lappend_int(entry->type_hashes, (int) hash);
}

/*
 * Records in entry what the encoder enc depends on, at any depth (array
 * elements, range subtypes, composite fields): every type's hash value in
 * type_hashes (the domain and its base type both), and every composite
 * type's relation in row_types.  Allocates in the current context (the
 * entry's).
 */
static void
collect_type_dependencies(RelEntry *entry, const ValueEncoder *enc)
{
	int			i;

	add_type_hash(entry, enc->typid);
	if (enc->basetypid != enc->typid)
		add_type_hash(entry, enc->basetypid);
	if (enc->element != NULL)
		collect_type_dependencies(entry, enc->element);
	if (enc->rowdesc == NULL)
		return;
	entry->row_types = lappend_oid(entry->row_types,
								   get_typ_typrelid(enc->basetypid));
	for (i = 0; i < enc->rowdesc->natts; i++)
		if (!TupleDescAttr(enc->rowdesc, i)->attisdropped)
			collect_type_dependencies(entry, &enc->fields[i]);
}

/*
 * The relation whose name the index of relid is named after: relid itself,
 * or under partition-index=root the root of the partition tree it is in.
 */
static Oid
index_relid_of(RelCache *cache, Oid relid)
{
	if (!cache->opts->partition_leaf && get_rel_relispartition(relid))
		return llast_oid(get_partition_ancestors(relid));
	return relid;
}

/*
 * The index the rows of relid go to as the catalog says now, palloc'd in
 * the current memory context; NULL when it was dropped or is not covered.
 */
static char *
index_of_rows(RelCache *cache, Oid relid)
{
	Oid			named;
	char	   *schema;
	char	   *table;
	const char *override;
	StringInfoData buf;

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		return NULL;
	named = index_relid_of(cache, relid);
	schema = get_namespace_name(get_rel_namespace(named));
	table = get_rel_name(named);
	if (schema == NULL || table == NULL ||
		!relid_covered(cache, named, schema, table))
		return NULL;
	if ((override = options_index_override(cache->opts, schema, table)) != NULL)
		return pstrdup(override);
	initStringInfo(&buf);
	naming_default_index(&buf, cache->opts->index_prefix, schema, table);
	return buf.data;
}

/*
 * Whether the rows of relid, as the catalog says now, go to index: false
 * when it was dropped or is no longer covered.  Allocates in the current
 * memory context.
 */
static bool
still_goes_to(RelCache *cache, Oid relid, const char *index)
{
	char	   *name = index_of_rows(cache, relid);

	return name != NULL && strcmp(name, index) == 0;
}

/*
 * A covered table other than entry's, named schema.table, whose rows the
 * catalog sends to index; InvalidOid when there is none.
 */
static Oid
named_table_going_to(RelCache *cache, RelEntry *entry, const char *schema,
					 const char *table, const char *index)
{
	Oid			nsp = get_namespace_oid(schema, true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid(table, nsp) : InvalidOid;
	char		kind = OidIsValid(relid) ? get_rel_relkind(relid) : '\0';

	if ((kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE) ||
		index_relid_of(cache, relid) == entry->index_relid ||
		!still_goes_to(cache, relid, index))
		return InvalidOid;
	return index_relid_of(cache, relid);
}

/*
 * A covered table not yet seen by this cache that goes to entry's index:
 * the table whose derived name the index is, or a table an index-names
 * entry without wildcards sends there.  InvalidOid when there is none.
 */
static Oid
unseen_table_going_to(RelCache *cache, RelEntry *entry)
{
	char	   *schema;
	char	   *table;
	Oid			found = InvalidOid;
	ListCell   *lc;

	if (naming_parse_default_index(entry->index_name, cache->opts->index_prefix,
								   &schema, &table))
		found = named_table_going_to(cache, entry, schema, table, entry->index_name);
	foreach(lc, cache->opts->index_names)
	{
		IndexOverride *io = lfirst(lc);

		if (OidIsValid(found))
			break;
		if (strcmp(io->index, entry->index_name) != 0 ||
			(!io->table.schema.quoted && strchr(io->table.schema.text, '*')) ||
			(!io->table.table.quoted && strchr(io->table.table.text, '*')))
			continue;
		found = named_table_going_to(cache, entry, io->table.schema.text,
									 io->table.table.text, entry->index_name);
	}
	return found;
}

/*
 * Reports that tables a and b go to one index, naming them in a stable
 * order (whichever came first).  Does not return.
 */
static void
report_shared_index(const char *a, const char *b, const char *index)
{
	ereport(ERROR,
			errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			errmsg("tables %s and %s are both mapped to index \"%s\"",
				   strcmp(a, b) < 0 ? a : b, strcmp(a, b) < 0 ? b : a, index),
			errdetail("An index holds the documents of one table: a TRUNCATE of either table would delete the other's documents."),
			errhint("Give each table its own index in option \"index-names\"."));
}

/*
 * Refuses entry (covered, names just built) when another covered table
 * seen by this cache goes to the same index, as an index-names target
 * equal to another table's derived name, or a wildcard index-names
 * pattern, would have it: an index holds one table's documents, and a
 * TRUNCATE of one table deletes its index's documents.  Partitions of one
 * root share the root's index and are one table here.  An entry not valid
 * any more (a renamed or dropped table) is checked against the catalog.
 * Tables not seen yet are found by name (unseen_table_going_to), so the
 * refusal does not wait for both to change in one session.
 */
static void
check_index_not_shared(RelCache *cache, RelEntry *entry)
{
	HASH_SEQ_STATUS status;
	RelEntry   *other;
	Oid			found;

	hash_seq_init(&status, cache->hash);
	while ((other = hash_seq_search(&status)) != NULL)
	{
		if (other == entry || !other->covered || other->index_name == NULL ||
			other->index_relid == entry->index_relid ||
			strcmp(other->index_name, entry->index_name) != 0)
			continue;
		if (!other->valid && !still_goes_to(cache, other->relid, entry->index_name))
			continue;
		hash_seq_term(&status);
		report_shared_index(other->qualified_name, entry->qualified_name,
							entry->index_name);
	}
	if (OidIsValid(found = unseen_table_going_to(cache, entry)))
		report_shared_index(quote_qualified_identifier(get_namespace_name(get_rel_namespace(found)),
													   get_rel_name(found)),
							entry->qualified_name, entry->index_name);
}

/*
 * The part of build_entry for a table the options cover: its keys, column
 * encoders and the row buffers, in the current (the entry's) context.
 */
static void
build_covered_entry(RelCache *cache, RelEntry *entry, Relation rel,
					const char *schema, const char *table)
{
	int			natts = Max(entry->desc->natts, 1);
	int			i;

	check_index_not_shared(cache, entry);
	if (cache->slot_name != NULL)
		build_dual(cache, entry);
	build_keys(cache, entry, rel, schema, table);
	build_columns(cache, entry, schema, table);
	build_column_order(entry, rel);
	for (i = 0; i < entry->desc->natts; i++)
		if (entry->cols[i].enc.encode != NULL)
			collect_type_dependencies(entry, &entry->cols[i].enc);
	if (entry->row_types != NIL)
		cache->uses_row_types = true;
	entry->values = palloc(sizeof(Datum) * natts);
	entry->nulls = palloc(sizeof(bool) * natts);
	entry->oldvalues = palloc(sizeof(Datum) * natts);
	entry->oldnulls = palloc(sizeof(bool) * natts);
}

/*
 * (Re)computes everything about rel in entry, in a fresh context (the old
 * one, if any, is freed).  Runs catalog lookups: valid in a decoding
 * callback (historic snapshot) and in a normal transaction.
 */
static void
build_entry(RelCache *cache, RelEntry *entry, Relation rel)
{
	uint64		invalidations = cache->invalidations;
	MemoryContext oldcxt;
	const char *schema;
	const char *table;

	/* Nothing may point into the old context, even if this fails. */
	entry->row_types = NIL;
	entry->type_hashes = NIL;
	entry->index_name = NULL;
	entry->covered = false;
	publication_rel_info_everything(&entry->pub);
	entry->dual = NULL;
	if (entry->cxt)
		MemoryContextDelete(entry->cxt);
	entry->cxt = AllocSetContextCreate(cache->cxt, "pg2es relation",
									   ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(entry->cxt);

	entry->announced = false;
	entry->index_relid = index_relid_of(cache, RelationGetRelid(rel));
	if (entry->index_relid != RelationGetRelid(rel))
		cache->maps_partitions = true;
	schema = get_namespace_name(get_rel_namespace(entry->index_relid));
	table = get_rel_name(entry->index_relid);
	if (schema == NULL || table == NULL)
		elog(ERROR, "cache lookup failed for relation %u", entry->index_relid);

	entry->reltype = rel->rd_rel->reltype;
	entry->desc = CreateTupleDescCopyConstr(RelationGetDescr(rel));
	entry->nkeys = 0;
	entry->old_row_whole = rel->rd_rel->relreplident == REPLICA_IDENTITY_FULL;
	build_names(cache, entry, schema, table);
	entry->is_requests = requests_is_table(schema, table);
	if (cache->opts->publications != NIL)
		publication_rel_info(&entry->pub, relcache_publications(cache), rel,
							 entry->desc);
	entry->covered = entry->pub.published &&
		options_table_covered(cache->opts, schema, table);
	if (entry->covered)
		build_covered_entry(cache, entry, rel, schema, table);
	MemoryContextSwitchTo(oldcxt);

	/* An invalidation that came in while we read the catalogs wins. */
	entry->valid = (invalidations == cache->invalidations);
}

/* The valid entry for relid, or NULL if there is none yet. */
RelEntry *
relcache_lookup(RelCache *cache, Oid relid)
{
	RelEntry   *entry = hash_search(cache->hash, &relid, HASH_FIND, NULL);

	return (entry != NULL && entry->valid) ? entry : NULL;
}

/*
 * The entry for rel, built or rebuilt as needed.  The entry stays usable
 * until the next call for the same relation; its memory belongs to the
 * cache.
 */
RelEntry *
relcache_entry_for(RelCache *cache, Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	bool		found;
	RelEntry   *entry = cache->last;

	/* Changes mostly come in runs for one table: skip the hash lookup. */
	if (entry != NULL && entry->relid == relid && entry->valid)
		return entry;

	entry = hash_search(cache->hash, &relid, HASH_ENTER, &found);
	cache->last = entry;
	if (!found)
	{
		entry->valid = false;
		entry->warned = 0;
		entry->cxt = NULL;
	}
	if (!entry->valid)
		build_entry(cache, entry, rel);
	return entry;
}

/* A covered table before sorting. */
typedef struct CoveredTable
{
	Oid			relid;
	char	   *schema;
	char	   *table;
} CoveredTable;

/* Orders covered tables by schema, then name. */
static int
compare_covered_tables(const ListCell *a, const ListCell *b)
{
	const CoveredTable *x = lfirst(a);
	const CoveredTable *y = lfirst(b);
	int			cmp = strcmp(x->schema, y->schema);

	return cmp != 0 ? cmp : strcmp(x->table, y->table);
}

/*
 * The user tables the cache's options and publications cover, as a List
 * of relids sorted by schema and name: permanent ordinary and partitioned
 * tables, partition roots (not their partitions) unless
 * partition-index=leaf, then partitions and not the partitioned tables.
 * Scans pg_class with the current snapshot (in decoding, the stream's).
 * Allocates in the current memory context.
 */
List *
relcache_covered_tables(RelCache *cache)
{
	Relation	pg_class = table_open(RelationRelationId, AccessShareLock);
	SysScanDesc scan = systable_beginscan(pg_class, InvalidOid, false,
										  NULL, 0, NULL);
	HeapTuple	tuple;
	List	   *tables = NIL;
	List	   *result = NIL;
	ListCell   *lc;

	while ((tuple = systable_getnext(scan)) != NULL)
	{
		Form_pg_class form = (Form_pg_class) GETSTRUCT(tuple);
		CoveredTable *table;

		if (form->oid < FirstNormalObjectId ||
			form->relpersistence != RELPERSISTENCE_PERMANENT ||
			(form->relkind != RELKIND_RELATION &&
			 form->relkind != RELKIND_PARTITIONED_TABLE))
			continue;
		if (cache->opts->partition_leaf ?
			form->relkind == RELKIND_PARTITIONED_TABLE : form->relispartition)
			continue;
		table = palloc(sizeof(CoveredTable));
		table->relid = form->oid;
		table->schema = get_namespace_name(form->relnamespace);
		table->table = pstrdup(NameStr(form->relname));
		tables = lappend(tables, table);
	}
	systable_endscan(scan);
	table_close(pg_class, AccessShareLock);

	/* Publications are read outside the scan, by syscache. */
	foreach(lc, tables)
	{
		CoveredTable *table = lfirst(lc);

		if (!relid_covered(cache, table->relid, table->schema, table->table))
			tables = foreach_delete_current(tables, lc);
	}
	list_sort(tables, compare_covered_tables);
	foreach(lc, tables)
		result = lappend_oid(result, ((CoveredTable *) lfirst(lc))->relid);
	return result;
}

/*
 * Makes the cache follow slot_name's requests (decoding only): entries
 * built from now on carry the dual target of a reindex under way, read
 * with builder's snapshot.  slot_name must live as long as the cache.
 */
void
relcache_follow_requests(RelCache *cache, const char *slot_name,
						 struct SnapBuild *builder)
{
	cache->slot_name = slot_name;
	cache->builder = builder;
	relcache_invalidate_all(cache);
}

/*
 * The index of table relid with the cache's options, palloc'd in the
 * current context: NULL when relid is not a table the options cover (a
 * partition whose rows go to its root's index, or under
 * partition-index=leaf a partitioned table, is not).
 */
char *
relcache_index_name(RelCache *cache, Oid relid)
{
	char		kind = get_rel_relkind(relid);

	if ((kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE) ||
		(kind == RELKIND_PARTITIONED_TABLE && cache->opts->partition_leaf) ||
		index_relid_of(cache, relid) != relid)
		return NULL;
	return index_of_rows(cache, relid);
}

/*
 * Marks invalid the entries of table relid and of the partitions whose
 * index is relid's: a decoded change of relid's request may start or end
 * its dual writes.
 */
void
relcache_invalidate_index_of(RelCache *cache, Oid relid)
{
	HASH_SEQ_STATUS status;
	RelEntry   *entry;

	cache->invalidations++;
	hash_seq_init(&status, cache->hash);
	while ((entry = hash_seq_search(&status)) != NULL)
		if (entry->relid == relid || entry->index_relid == relid)
			entry->valid = false;
}

/* Marks every entry of the cache invalid. */
void
relcache_invalidate_all(RelCache *cache)
{
	invalidate_cache_entries(cache, true, 0);
}
