/*
 * mapping.c
 *		Index mappings derived from the tables (see mapping.h).
 */
#include "mapping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/*
 * table_mapping: pg2es.mapping() of table t as JSON text, malloc'd
 * ({"properties":{...}}); pretty = jsonb_pretty. NULL (logged) on failure.
 */
static char *
table_mapping(PGconn *conn, const char *optlit, const CatalogTable *t, bool pretty)
{
	char		sql[512 + 64];
	PGresult   *res;
	char	   *mapping = NULL;
	Buf			query;

	buf_init(&query);
	snprintf(sql, sizeof(sql), "SELECT %s(pg2es.mapping(%u::regclass, ",
			 pretty ? "jsonb_pretty" : "", t->relid);
	if (!buf_append_str(&query, sql) || !buf_append_str(&query, optlit) ||
		!buf_append_str(&query, "))::text"))
	{
		buf_free(&query);
		return NULL;
	}
	res = PQexec(conn, query.data);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		mapping = strdup(PQgetvalue(res, 0, 0));
	else
		log_error("could not derive the mapping of table %s: %s", t->name, PQerrorMessage(conn));
	PQclear(res);
	buf_free(&query);
	return mapping;
}

/*
 * create_index: PUT /INDEX with the table's mapping. An index that exists
 * already is left as it is (resource_already_exists_exception). Returns
 * false (logged) when Elasticsearch refuses otherwise or cannot be reached.
 */
static bool
create_index(PGconn *conn, const char *optlit, EsCall *call, const CatalogTable *t)
{
	char	   *mapping = table_mapping(conn, optlit, t, false);
	char	   *path = escall_index_path(call, t->index, "");
	Buf			body;
	const Buf  *resp = NULL;
	long		status = 0;

	buf_init(&body);
	if (mapping && path && buf_printf(&body, "{\"mappings\":%s}", mapping))
		status = escall(call, "PUT", path, body.data, body.len, &resp);
	if (status == 200)
		log_info("created index \"%s\" with the mapping of table %s", t->index, t->name);
	else if (status == 400 && resp && resp->data &&
			 strstr(resp->data, "resource_already_exists_exception"))
		log_debug("index \"%s\" exists; its mapping is left as it is", t->index);
	else if (status != 0)
		log_error("Elasticsearch refused to create index \"%s\" (HTTP %ld): %.*s", t->index,
				  status, resp && resp->data ? (int) resp->len : 0, resp && resp->data ? resp->data : "");
	buf_free(&body);
	free(path);
	free(mapping);
	return status == 200 || (status == 400 && resp && resp->data &&
							 strstr(resp->data, "resource_already_exists_exception"));
}

/*
 * mapping_ensure_indexes: create the missing indexes of tables with their
 * derived mappings (nothing with --mappings=dynamic). Several tables may
 * share an index (index-names, partitions with partition-index=leaf): the
 * first creates it. Returns false (logged) on failure.
 */
bool
mapping_ensure_indexes(PGconn *conn, const Config *cfg, EsCall *call,
					   const CatalogTables *tables)
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
		good = create_index(conn, optlit, call, &tables->items[i]);
	free(optlit);
	return good;
}

/*
 * mapping_print: --print-mappings: for each covered table, the request
 * that would create its index, in Kibana console form, on stdout; nothing
 * is written anywhere. Returns the exit status.
 */
int
mapping_print(const Config *cfg)
{
	PGconn	   *conn = catalog_connect(cfg);
	CatalogTables tables;
	char	   *optlit = NULL;
	char	   *mapping;
	size_t		i;
	int			status = 1;

	if (conn && (optlit = catalog_options_literal(conn, cfg)) != NULL &&
		catalog_tables(conn, cfg, NULL, 0, &tables))
	{
		status = 0;
		for (i = 0; status == 0 && i < tables.n; i++)
		{
			if ((mapping = table_mapping(conn, optlit, &tables.items[i], true)) == NULL)
				status = 1;
			else
				printf("# table %s\nPUT /%s\n{\"mappings\": %s}\n\n", tables.items[i].name,
					   tables.items[i].index, mapping);
			free(mapping);
		}
		catalog_tables_free(&tables);
	}
	free(optlit);
	PQfinish(conn);
	return status;
}

/*
 * mapping_cache_init: an empty cache; nothing is opened until needed.
 * cfg and stop are borrowed.
 */
void
mapping_cache_init(MappingCache *mc, const Config *cfg, volatile sig_atomic_t *stop)
{
	memset(mc, 0, sizeof(*mc));
	mc->cfg = cfg;
	mc->stop = stop;
	mc->disabled = cfg->mappings_dynamic;
}

/*
 * mapping_cache_free: close and release everything.
 */
void
mapping_cache_free(MappingCache *mc)
{
	size_t		i;

	if (mc->call_ready)
		escall_free(&mc->call);
	for (i = 0; i < mc->nknown; i++)
		free(mc->known[i]);
	free(mc->known);
	free(mc->optlit);
	PQfinish(mc->conn);
	memset(mc, 0, sizeof(*mc));
}

/*
 * cache_open: the connection, options and HTTP client, at first need.
 * Without the extension the cache turns itself off (said once).
 */
static bool
cache_open(MappingCache *mc)
{
	PGresult   *res;

	if (mc->conn && mc->optlit && mc->call_ready)
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
	if (!mc->call_ready && escall_init(&mc->call, mc->cfg, mc->stop))
	{
		mc->call.max_attempts = 1;	/* never hold up the stream loop */
		mc->call_ready = true;
	}
	return !mc->disabled && mc->optlit && mc->call_ready;
}

/*
 * remember: add index to the known list.
 */
static void
remember(MappingCache *mc, const char *index)
{
	char	  **grown = realloc(mc->known, (mc->nknown + 1) * sizeof(char *));

	if (grown == NULL)
		return;
	mc->known = grown;
	if ((mc->known[mc->nknown] = strdup(index)) != NULL)
		mc->nknown++;
}

/*
 * mapping_note_relation: a RELATION frame said relation relid writes to
 * index[0..len): create that index with the relation's mapping if it does
 * not exist yet, before the changes that follow are sent (the frame comes
 * first, and this blocks for one request). Failures are logged and leave
 * the index to dynamic mapping; they never stop the stream.
 */
void
mapping_note_relation(MappingCache *mc, uint64_t relid, const char *index, size_t len)
{
	CatalogTable t;
	size_t		i;
	char		name[64];

	if (mc == NULL || mc->disabled)
		return;
	memset(&t, 0, sizeof(t));
	if ((t.index = strndup(index, len)) == NULL)
		return;
	for (i = 0; i < mc->nknown; i++)
		if (strcmp(mc->known[i], t.index) == 0)
			break;
	if (i == mc->nknown && cache_open(mc))
	{
		snprintf(name, sizeof(name), "with oid %llu", (unsigned long long) relid);
		t.relid = (unsigned int) relid;
		t.name = name;
		if (create_index(mc->conn, mc->optlit, &mc->call, &t))
			remember(mc, t.index);
		else
			log_warning("index \"%s\" may get a dynamic mapping", t.index);
	}
	free(t.index);
}
