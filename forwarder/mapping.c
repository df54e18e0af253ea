/*
 * mapping.c
 *		Index mappings derived from the tables (see mapping.h).
 */
#include "mapping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "generation.h"
#include "log.h"
#include "pgconn.h"

static bool mapping_query(Buf *query, const char *optlit, const CatalogTable *t, bool pretty);
static char *table_mapping(PGconn *conn, const char *optlit, const CatalogTable *t, bool pretty,
						   bool *lost, char **owner);
static long count_fields(json_t *properties);
static long raised_fields_limit(const char *mapping, long *fields);
static bool error_type_is(const char *body, size_t len, const char *type);
static bool error_reason_has(const char *body, size_t len, const char *text);
static MappingOutcome create_generation(PGconn *conn, const char *optlit, EsCall *call, const CatalogTable *t);
static bool name_collides(const CatalogTable *t, const CatalogTables *tables);
static bool target_collides(const CatalogTable *t, const AliasTarget *target);
static bool ensure_alias(PGconn *conn, const char *optlit, EsCall *call, const CatalogTable *t);
static bool print_create_request(PGconn *conn, const char *optlit, const CatalogTable *t);
static bool cache_open(MappingCache *mc);
static bool known(const MappingCache *mc, const char *index, size_t len);
static char *derive_mapping(MappingCache *mc, const CatalogTable *t, bool *lost, char **owner);

/*
 * mapping_query: the query for table t's mapping (jsonb_pretty'd when
 * pretty) and the name of the table whose index it is: t itself, or its
 * partition root when the root's index is t's (partition-index=root), so
 * that _meta.pg2es.table names what catalog_tables() lists. Returns false
 * when out of memory.
 */
static bool
mapping_query(Buf *query, const char *optlit, const CatalogTable *t, bool pretty)
{
	return buf_printf(query, "SELECT %s(pg2es.mapping(%u::regclass, %s))::text, "
					  "(SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) "
					  "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
					  "WHERE c.oid = COALESCE((SELECT r FROM pg_partition_root(%u::regclass) r "
					  "WHERE pg2es.index_name(r, %s) = pg2es.index_name(%u::regclass, %s)), %u))",
					  pretty ? "jsonb_pretty" : "", t->relid, optlit, t->relid, optlit,
					  t->relid, optlit, t->relid);
}

/*
 * table_mapping: pg2es.mapping() of table t as JSON text, malloc'd
 * ({"properties":{...}}); pretty = jsonb_pretty. *owner (when not NULL)
 * gets the name of the table whose index it is, malloc'd. NULL on
 * failure; then *lost (when not NULL) says whether the connection, not
 * the query, failed: no answer at all (no SQLSTATE), a connection
 * exception (08) or an operator intervention such as a shutdown (57P). A
 * failed query is logged; a lost connection only when lost is NULL (else
 * the caller, who may reconnect, says what happened).
 */
static char *
table_mapping(PGconn *conn, const char *optlit, const CatalogTable *t, bool pretty,
			  bool *lost, char **owner)
{
	PGresult   *res = NULL;
	char	   *mapping = NULL;
	Buf			query;

	buf_init(&query);
	if (owner)
		*owner = NULL;
	if (!mapping_query(&query, optlit, t, pretty))
	{
		log_error("out of memory");
		return NULL;
	}
	res = PQexec(conn, query.data);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		(mapping = strdup(PQgetvalue(res, 0, 0))) != NULL && owner &&
		(*owner = strdup(PQgetvalue(res, 0, 1))) == NULL)
	{
		free(mapping);
		mapping = NULL;
	}
	else if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		bool		gone = PQstatus(conn) != CONNECTION_OK ||
		pgconn_error_of(res) == PGCONN_ERR_CONNECTION;

		if (lost)
			*lost = gone;
		if (!gone || lost == NULL)
			log_error("could not derive the mapping of table %s: %s", t->name,
					  PQerrorMessage(conn));
	}
	PQclear(res);
	buf_free(&query);
	return mapping;
}

/* index.mapping.total_fields.limit's default in every engine */
#define DEFAULT_TOTAL_FIELDS_LIMIT 1000

/*
 * count_fields: the fields the engines count towards
 * index.mapping.total_fields.limit in a "properties" object: every
 * property (an object too), every multi-field under "fields", at any depth.
 */
static long
count_fields(json_t *properties)
{
	const char *name;
	json_t	   *field;
	long		n = 0;

	json_object_foreach(properties, name, field)
	{
		n += 1 + (long) json_object_size(json_object_get(field, "fields"));
		n += count_fields(json_object_get(field, "properties"));
	}
	return n;
}

/*
 * raised_fields_limit: the index.mapping.total_fields.limit an index for
 * the derived mapping (JSON text) needs, or 0 when the default does: when
 * the mapping alone has more fields than the default (a table of 500 text
 * columns and their keyword sub-fields), its fields plus the default's
 * 1000, room for json and jsonb keys. *fields gets the mapping's count.
 */
static long
raised_fields_limit(const char *mapping, long *fields)
{
	json_t	   *root = json_loads(mapping, 0, NULL);

	*fields = count_fields(json_object_get(root, "properties"));
	json_decref(root);
	return *fields > DEFAULT_TOTAL_FIELDS_LIMIT ? *fields + DEFAULT_TOTAL_FIELDS_LIMIT : 0;
}

/*
 * mapping_create_body: append to body the request creating generation
 * (>= 1) of alias[0..alias_len), the index of table, for the derived
 * mapping (JSON text): {"settings":..., "aliases":..., "mappings":...},
 * the mapping with its _meta.pg2es (generation.h), the total-fields limit
 * raised_fields_limit() asks for (said in the log), the settings given
 * (a JSON object as text, e.g. {"index.gc_deletes":"30d"}; NULL = none),
 * and with with_alias the alias as its write index. Returns false when
 * out of memory or when mapping or settings is not a JSON object.
 */
bool
mapping_create_body(Buf *body, const char *mapping, const char *table, const char *alias,
					size_t alias_len, unsigned int generation, bool with_alias,
					const char *settings)
{
	char	   *name = strndup(alias, alias_len);
	char	   *meta = name ? generation_mapping_with_meta(mapping, table, name, generation) : NULL;
	json_t	   *root = json_object();
	json_t	   *set = settings ? json_loads(settings, 0, NULL) : json_object();
	char	   *text = NULL;
	long		fields;
	long		limit = raised_fields_limit(mapping, &fields);
	bool		good;

	if (limit > 0)
		log_info("index \"%s\" is created with index.mapping.total_fields.limit %ld: "
				 "its table's mapping has %ld fields, more than the default limit of %d",
				 name ? name : "", limit, fields, DEFAULT_TOTAL_FIELDS_LIMIT);
	good = meta && root && json_is_object(set) &&
		(limit == 0 || json_object_set_new(set, "index.mapping.total_fields.limit",
										   json_integer((json_int_t) limit)) == 0) &&
		(json_object_size(set) == 0 || json_object_set(root, "settings", set) == 0) &&
		(!with_alias || json_object_set_new(root, "aliases", json_pack("{s:{s:b}}", name,
																	   "is_write_index", 1)) == 0) &&
		json_object_set_new(root, "mappings", json_loads(meta, 0, NULL)) == 0 &&
		(text = json_dumps(root, JSON_COMPACT)) != NULL && buf_append_str(body, text);
	free(text);
	json_decref(set);
	json_decref(root);
	free(meta);
	free(name);
	return good;
}

/*
 * error_type: whether body[0..len) is an Elasticsearch error of the given
 * type ({"error":{"type":...}}).
 */
static bool
error_type_is(const char *body, size_t len, const char *type)
{
	json_t	   *doc = body ? json_loadb(body, len, 0, NULL) : NULL;
	const char *found = json_string_value(json_object_get(json_object_get(doc, "error"),
														  "type"));
	bool		is = found && strcmp(found, type) == 0;

	json_decref(doc);
	return is;
}

/*
 * error_reason_has: whether the "reason" of the Elasticsearch error in
 * body[0..len) contains text.
 */
static bool
error_reason_has(const char *body, size_t len, const char *text)
{
	json_t	   *doc = json_loadb(body, len, 0, NULL);
	const char *reason = json_string_value(json_object_get(json_object_get(doc, "error"),
														   "reason"));
	bool		has = reason && strstr(reason, text) != NULL;

	json_decref(doc);
	return has;
}

/*
 * mapping_create_outcome: what Elasticsearch's answer (status, body) to
 * PUT /index means. An index that exists already is left as it is.
 */
MappingOutcome
mapping_create_outcome(long status, const char *body, size_t len)
{
	if (status == 200)
		return MAPPING_CREATED;

	/*
	 * the generation exists, a concrete index is named like the alias, or the
	 * alias has a write index already (the engines answer 500 to that)
	 */
	if ((status == 400 && (error_type_is(body, len, "resource_already_exists_exception") ||
						   error_type_is(body, len, "invalid_alias_name_exception"))) ||
		(status == 500 && error_type_is(body, len, "illegal_state_exception")))
		return MAPPING_EXISTED;
	/* the name is an alias (an online reindex put it there): its index exists */
	if (status == 400 && error_type_is(body, len, "invalid_index_name_exception") &&
		error_reason_has(body, len, "already exists as alias"))
		return MAPPING_EXISTED;
	if (es_status_transient(status))
		return MAPPING_RETRY;
	return MAPPING_REFUSED;
}

/*
 * create_generation: PUT /ALIAS~g1 for table t with its mapping and the
 * alias t->index, waited for. MAPPING_CREATED, MAPPING_EXISTED (the
 * generation, or a concrete index named like the alias, came meanwhile),
 * or MAPPING_REFUSED (logged) when it could not be made.
 */
static MappingOutcome
create_generation(PGconn *conn, const char *optlit, EsCall *call, const CatalogTable *t)
{
	char	   *mapping = table_mapping(conn, optlit, t, false, NULL, NULL);
	char	   *index = generation_index_name(t->index, strlen(t->index), 1);
	char	   *path = index ? es_index_path(&call->es, index, "") : NULL;
	Buf			body;
	const Buf  *resp = NULL;
	long		status = 0;
	MappingOutcome outcome = MAPPING_REFUSED;

	buf_init(&body);
	if (mapping && path &&
		mapping_create_body(&body, mapping, t->name, t->index, strlen(t->index), 1, true, NULL))
	{
		status = escall(call, "PUT", path, body.data, body.len, &resp);
		outcome = mapping_create_outcome(status, resp ? resp->data : NULL, resp ? resp->len : 0);
	}
	if (outcome == MAPPING_CREATED)
		log_info("created index \"%s\" behind alias \"%s\" with the mapping of table %s", index,
				 t->index, t->name);
	else if (outcome != MAPPING_EXISTED && status != 0)
		log_error("Elasticsearch refused to create index \"%s\" with alias \"%s\" (HTTP %ld): %.*s",
				  index, t->index, status, resp && resp->data ? (int) resp->len : 0,
				  resp && resp->data ? resp->data : "");
	buf_free(&body);
	free(path);
	free(index);
	free(mapping);
	return outcome == MAPPING_RETRY ? MAPPING_REFUSED : outcome;
}

/*
 * name_collides: whether table t's index name is the name of a generation
 * of another covered table's alias (possible only with index-names).
 * Logged, naming both.
 */
static bool
name_collides(const CatalogTable *t, const CatalogTables *tables)
{
	size_t		i;
	unsigned int n;

	for (i = 0; i < tables->n; i++)
		if (&tables->items[i] != t &&
			(n = generation_of_index(tables->items[i].index, t->index)) > 0)
		{
			log_error("index name \"%s\" of table %s is the name of generation %u of index \"%s\" of table %s; "
					  "give one of them another index name (index-names)",
					  t->index, t->name, n, tables->items[i].index, tables->items[i].name);
			return true;
		}
	return false;
}

/*
 * target_collides: whether what t's index name stands for in the engine
 * belongs to another table by its _meta.pg2es.table. Logged, naming both.
 */
static bool
target_collides(const CatalogTable *t, const AliasTarget *target)
{
	if (target->table == NULL || strcmp(target->table, t->name) == 0)
		return false;
	if (target->kind == ALIAS_LEGACY)
		log_error("index \"%s\" of table %s exists and belongs to table %s (its _meta.pg2es.table); "
				  "give one of the tables another index name (index-names), or delete the index",
				  t->index, t->name, target->table);
	else
		log_error("alias \"%s\" of table %s points to index \"%s\" of table %s (its _meta.pg2es.table); "
				  "give one of the tables another index name (index-names), or move the alias",
				  t->index, t->name, target->index, target->table);
	return true;
}

/*
 * ensure_alias: make table t's index name usable: a legacy concrete index
 * or an existing alias is used as it is; neither gives generation 1 with
 * the alias. Another forwarder creating it at the same moment is fine: it
 * is looked up again. Returns false (logged) on a collision or failure.
 */
static bool
ensure_alias(PGconn *conn, const char *optlit, EsCall *call, const CatalogTable *t)
{
	AliasTarget target;
	bool		good;
	int			looks;

	for (looks = 0; looks < 2; looks++)
	{
		MappingOutcome outcome;

		if (!generation_lookup(call, t->index, &target))
			return false;
		if (target.kind != ALIAS_ABSENT || looks == 1)
			break;
		if ((outcome = create_generation(conn, optlit, call, t)) != MAPPING_EXISTED)
			return outcome == MAPPING_CREATED;
	}
	if (target.kind == ALIAS_ABSENT)
		log_error("index \"%s~g1\" exists but alias \"%s\" of table %s does not point to it; "
				  "delete that index, or add the alias (POST /_aliases)", t->index, t->index,
				  t->name);
	good = target.kind != ALIAS_ABSENT && !target_collides(t, &target);
	if (good && target.kind == ALIAS_LEGACY)
		log_info("index \"%s\" of table %s is a concrete index, not an alias: used as it is "
				 "(\"pg2es reindex %s\" moves it behind an alias)", t->index, t->name, t->name);
	else if (good)
		log_debug("alias \"%s\" of table %s writes to index \"%s\"", t->index, t->name,
				  target.index);
	generation_target_free(&target);
	return good;
}

/*
 * mapping_ensure_indexes: make every covered table's index name usable
 * (ensure_alias; nothing with --mappings=dynamic, where the engine creates
 * a concrete index at the first write). Each one is noted in seen (when
 * not NULL), so that the stream does not create it again. Two covered
 * tables never share an index (the plugin refuses it, naming both), nor
 * may one's name be another's generation. Returns false (logged) on
 * failure.
 */
bool
mapping_ensure_indexes(PGconn *conn, const Config *cfg, EsCall *call,
					   const CatalogTables *tables, MappingCache *seen)
{
	char	   *optlit;
	size_t		i;
	bool		good = true;

	if (cfg->mappings_dynamic)
		return true;
	if ((optlit = catalog_options_literal(conn, cfg)) == NULL)
	{
		log_error("out of memory");
		return false;
	}
	for (i = 0; good && i < tables->n; i++)
		good = !name_collides(&tables->items[i], tables);
	for (i = 0; good && i < tables->n; i++)
		if ((good = ensure_alias(conn, optlit, call, &tables->items[i])) && seen)
			mapping_note_created(seen, tables->items[i].index);
	free(optlit);
	return good;
}

/*
 * print_create_request: the request creating table t's first generation,
 * in Kibana console form, on stdout. Returns false (logged) on failure.
 */
static bool
print_create_request(PGconn *conn, const char *optlit, const CatalogTable *t)
{
	char	   *mapping = table_mapping(conn, optlit, t, false, NULL, NULL);
	char	   *index = generation_index_name(t->index, strlen(t->index), 1);
	json_t	   *body = NULL;
	char	   *pretty = NULL;
	Buf			compact;

	buf_init(&compact);
	if (mapping && index &&
		mapping_create_body(&compact, mapping, t->name, t->index, strlen(t->index), 1, true, NULL) &&
		(body = json_loadb(compact.data, compact.len, 0, NULL)) != NULL &&
		(pretty = json_dumps(body, JSON_INDENT(4))) != NULL)
		printf("# table %s, alias \"%s\"\nPUT /%s\n%s\n\n", t->name, t->index, index, pretty);
	else if (mapping)
		log_error("out of memory");
	free(pretty);
	json_decref(body);
	buf_free(&compact);
	free(index);
	free(mapping);
	return pretty != NULL;
}

/*
 * mapping_print: --print-mappings: for each covered table, the request
 * that would create its index's first generation behind its alias, in
 * Kibana console form, on stdout; nothing is written anywhere. Returns
 * the exit status.
 */
int
mapping_print(const Config *cfg)
{
	PGconn	   *conn = catalog_connect(cfg);
	CatalogTables tables;
	char	   *optlit = NULL;
	size_t		i;
	int			status = 1;

	if (conn && (optlit = catalog_options_literal(conn, cfg)) != NULL &&
		catalog_tables(conn, cfg, NULL, 0, &tables))
	{
		status = 0;
		for (i = 0; status == 0 && i < tables.n; i++)
			if (!print_create_request(conn, optlit, &tables.items[i]))
				status = 1;
		catalog_tables_free(&tables);
	}
	free(optlit);
	PQfinish(conn);
	return status;
}

/*
 * mapping_cache_init: an empty cache; nothing is opened until needed.
 * cfg is borrowed.
 */
void
mapping_cache_init(MappingCache *mc, const Config *cfg)
{
	memset(mc, 0, sizeof(*mc));
	mc->cfg = cfg;
	mc->disabled = cfg->mappings_dynamic;
}

/*
 * mapping_cache_free: close and release everything.
 */
void
mapping_cache_free(MappingCache *mc)
{
	size_t		i;

	for (i = 0; i < mc->nknown; i++)
		free(mc->known[i]);
	free(mc->known);
	free(mc->optlit);
	PQfinish(mc->conn);
	memset(mc, 0, sizeof(*mc));
}

/*
 * cache_open: the connection and the plugin options, at first need.
 * Without the extension the cache turns itself off (said once).
 */
static bool
cache_open(MappingCache *mc)
{
	PGresult   *res;

	if (mc->conn && mc->optlit)
		return true;
	if (mc->conn == NULL && (mc->conn = catalog_connect(mc->cfg)) == NULL)
		return false;
	res = PQexec(mc->conn, "SELECT 1 FROM pg_extension WHERE extname = 'pg2es'");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 0)
	{
		log_warning("extension pg2es is not installed: new indexes get dynamic mappings");
		mc->disabled = true;
	}
	PQclear(res);
	if (mc->optlit == NULL)
		mc->optlit = catalog_options_literal(mc->conn, mc->cfg);
	return !mc->disabled && mc->optlit;
}

/*
 * mapping_note_created: index exists now (created, found, or refused for
 * good): it is not asked for again in this run.
 */
void
mapping_note_created(MappingCache *mc, const char *index)
{
	char	  **grown = realloc(mc->known, (mc->nknown + 1) * sizeof(char *));

	if (grown == NULL)
		return;
	mc->known = grown;
	if ((mc->known[mc->nknown] = strdup(index)) != NULL)
		mc->nknown++;
}

/*
 * known: whether index[0..len) was dealt with in this run.
 */
static bool
known(const MappingCache *mc, const char *index, size_t len)
{
	size_t		i;

	for (i = 0; i < mc->nknown; i++)
		if (strlen(mc->known[i]) == len && memcmp(mc->known[i], index, len) == 0)
			return true;
	return false;
}

/*
 * derive_mapping: table t's mapping on the cache's connection, malloc'd, or
 * NULL (*lost says whether the connection was lost); *owner gets the name
 * of the table whose index it is (table_mapping). A connection lost
 * before the query (PostgreSQL restarted since it was opened, while the
 * stream reconnected by itself) is opened again and the query asked once
 * more, so that the stream need not start again for it.
 */
static char *
derive_mapping(MappingCache *mc, const CatalogTable *t, bool *lost, char **owner)
{
	char	   *mapping;

	*lost = false;
	if ((mapping = table_mapping(mc->conn, mc->optlit, t, false, lost, owner)) != NULL ||
		!*lost)
		return mapping;
	log_info("the catalog connection to PostgreSQL was lost (%s); reconnecting it",
			 PQerrorMessage(mc->conn));
	PQfinish(mc->conn);
	mc->conn = NULL;
	if (!cache_open(mc))
		return NULL;
	mapping = table_mapping(mc->conn, mc->optlit, t, false, lost, owner);
	if (mapping == NULL && *lost)
		log_error("could not derive the mapping of table %s: %s", t->name,
				  PQerrorMessage(mc->conn));
	return mapping;
}

/*
 * mapping_for_relation: a RELATION frame said relation relid writes to
 * index[0..len) (an alias). When that index may not exist yet, put the
 * body of the request creating its generation 1 (PUT /ALIAS~g1) with the
 * relation's mapping and the alias into body. A relation
 * that vanished meanwhile, or a failed query, leaves the index to dynamic
 * mapping (logged); a stale catalog connection is opened again once
 * (derive_mapping); a connection still lost gives MAPPING_ASK_AGAIN: the
 * stream starts again, and the frame comes again.
 */
MappingNeed
mapping_for_relation(MappingCache *mc, uint64_t relid, const char *index, size_t len,
					 Buf *body)
{
	CatalogTable t;
	char		name[64];
	char	   *mapping;
	char	   *owner = NULL;
	bool		lost = false;

	if (mc == NULL || mc->disabled || known(mc, index, len))
		return MAPPING_NOTHING;
	if (!cache_open(mc))
		return mc->disabled ? MAPPING_NOTHING : MAPPING_ASK_AGAIN;
	memset(&t, 0, sizeof(t));
	snprintf(name, sizeof(name), "with oid %llu", (unsigned long long) relid);
	t.relid = (unsigned int) relid;
	t.name = name;
	mapping = derive_mapping(mc, &t, &lost, &owner);
	if (mapping && owner && mapping_create_body(body, mapping, owner, index, len, 1, true, NULL))
	{
		free(owner);
		free(mapping);
		return MAPPING_CREATE;
	}
	free(owner);
	free(mapping);
	if (lost || mc->conn == NULL)
	{
		PQfinish(mc->conn);
		mc->conn = NULL;
		lost = true;
	}
	else
		log_warning("index \"%.*s\" may get a dynamic mapping", (int) len, index);
	return lost ? MAPPING_ASK_AGAIN : MAPPING_NOTHING;
}

/*
 * mapping_create_generation: PUT /INDEX for table t's mapping derived now,
 * carrying _meta.pg2es (generation.h; t->index is the alias) and the
 * settings given (a JSON object as text, e.g. {"index.gc_deletes":"30d"};
 * NULL = none), without the alias (the caller moves it), waited for. An
 * index of that name existing already is an error: the caller removes its
 * own leftovers first. Returns false (logged).
 */
bool
mapping_create_generation(PGconn *conn, const char *optlit, EsCall *call, const CatalogTable *t,
						  const char *index, unsigned int generation, const char *settings)
{
	char	   *text = table_mapping(conn, optlit, t, false, NULL, NULL);
	char	   *path = es_index_path(&call->es, index, "");
	Buf			body;
	const Buf  *resp = NULL;
	long		status = 0;

	buf_init(&body);
	if (text && path &&
		mapping_create_body(&body, text, t->name, t->index, strlen(t->index), generation, false,
							settings))
		status = escall(call, "PUT", path, body.data, body.len, &resp);
	if (status == 200)
		log_info("created index \"%s\" with the mapping of table %s", index, t->name);
	else if (status != 0)
		log_error("Elasticsearch refused to create index \"%s\" (HTTP %ld): %.*s", index,
				  status, resp && resp->data ? (int) resp->len : 0, resp && resp->data ? resp->data : "");
	else if (text && !*call->stop)
		log_error("could not create index \"%s\"", index);
	buf_free(&body);
	free(path);
	free(text);
	return status == 200;
}
