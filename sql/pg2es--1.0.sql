/* sql/pg2es--1.0.sql: extension pg2es, version 1.0 (docs/design.md) */

\echo Use "CREATE EXTENSION pg2es" to load this file. \quit

-- The bulk item of a row, byte-identical to what the output plugin writes
-- for an INSERT of it committed at version (NULL: unversioned): action
-- line, "\n", document, "\n".  NULL when the row has no usable key.
CREATE FUNCTION pg2es.bulk_item(rel regclass, "row" record, version bigint,
                                options text[] DEFAULT '{}')
RETURNS bytea
AS 'MODULE_PATHNAME', 'pg2es_bulk_item'
LANGUAGE C STABLE PARALLEL SAFE;

-- The document _id of a row; NULL when the row has no usable key.
CREATE FUNCTION pg2es.doc_id(rel regclass, "row" record,
                             options text[] DEFAULT '{}')
RETURNS text
AS 'MODULE_PATHNAME', 'pg2es_doc_id'
LANGUAGE C STRICT STABLE PARALLEL SAFE;

-- The document of a row: the JSON object alone.
CREATE FUNCTION pg2es.doc_source(rel regclass, "row" record,
                                 options text[] DEFAULT '{}')
RETURNS bytea
AS 'MODULE_PATHNAME', 'pg2es_doc_source'
LANGUAGE C STRICT STABLE PARALLEL SAFE;

-- The Elasticsearch index a table's rows go to.
CREATE FUNCTION pg2es.index_name(rel regclass, options text[] DEFAULT '{}')
RETURNS text
AS 'MODULE_PATHNAME', 'pg2es_index_name'
LANGUAGE C STRICT STABLE PARALLEL SAFE;

-- The tables the options cover: partition roots, or with
-- partition-index=leaf the partitions.
CREATE FUNCTION pg2es.covered_tables(options text[] DEFAULT '{}')
RETURNS SETOF regclass
AS 'MODULE_PATHNAME', 'pg2es_covered_tables'
LANGUAGE C STRICT STABLE PARALLEL SAFE;

-- The index mapping derived from the table's columns: {"properties": ...}.
CREATE FUNCTION pg2es.mapping(rel regclass, options text[] DEFAULT '{}')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pg2es_mapping'
LANGUAGE C STRICT STABLE PARALLEL SAFE;

-- Durable progress of initial loads: one row per chunk (a range of heap
-- blocks) of a table, so an interrupted load resumes with the chunks not
-- done yet.  Tables of this schema are never decoded.
CREATE TABLE pg2es.load_state (
    slot_name   name        NOT NULL,
    table_name  text        NOT NULL,   -- schema.table, quoted as needed
    chunk       integer     NOT NULL,   -- 0 .. chunks - 1
    chunks      integer     NOT NULL,
    first_block bigint      NOT NULL,   -- ctid range [first_block, end_block)
    end_block   bigint      NOT NULL,
    version     bigint      NOT NULL,   -- the slot's consistent point
    rows_done   bigint      NOT NULL DEFAULT 0,
    done        boolean     NOT NULL DEFAULT false,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (slot_name, table_name, chunk)
);

SELECT pg_catalog.pg_extension_config_dump('pg2es.load_state', '');
