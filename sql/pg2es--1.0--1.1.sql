/* sql/pg2es--1.0--1.1.sql: extension pg2es, from version 1.0 to 1.1 (docs/design.md) */

\echo Use "ALTER EXTENSION pg2es UPDATE TO '1.1'" to load this file. \quit

-- Requests to the forwarder of a slot, made by `pg2es reindex` and carried
-- out by the forwarder, which updates state as it goes.  The decoder reads
-- this table during decoding (hence user_catalog_table: its rows are then
-- visible to the historic snapshot, as of each decoded change) and turns
-- every INSERT and UPDATE of a row of its slot into a REQUEST frame, so a
-- request reaches the forwarder in stream order, wherever it runs.  While
-- a reindex is copying or switching, the decoder writes each item of its
-- table twice: to the index and to target_index.
CREATE TABLE pg2es.requests (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slot_name    name        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('reindex', 'backfill')),
    relid        oid         NOT NULL,  -- the table whose index it is (the
                                        -- partition root under
                                        -- partition-index=root)
    table_name   text        NOT NULL,  -- quoted schema.table at request time
    keep_old     boolean     NOT NULL DEFAULT false,
    state        text        NOT NULL DEFAULT 'requested'
        CHECK (state IN ('requested', 'copying', 'switching', 'done', 'failed')),
    target_index text,                  -- the index the copy writes; set with
                                        -- state copying
    error        text,
    requested_at timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
) WITH (user_catalog_table = true);

-- At most one open request per table and slot.
CREATE UNIQUE INDEX requests_open ON pg2es.requests (slot_name, relid)
    WHERE state IN ('requested', 'copying', 'switching');

-- The plugin options each slot's forwarder streams with ("name=value" or a
-- bare "name"), recorded at its start: `pg2es reindex` checks against them
-- that a table is covered, even while no forwarder runs.
CREATE TABLE pg2es.slot_options (
    slot_name  name        PRIMARY KEY,
    options    text[]      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Neither table is marked for pg_dump: both are about replication slots,
-- which a dump does not carry either.

-- Schema changes whose rewritten or moved rows the WAL does not carry
-- (README, "Schema changes"): after an ALTER TABLE that changes or drops
-- a column, attaches or detaches a partition, or renames the table or a
-- column, a request for the index of the table (its partition root under
-- partition-index=root) of every slot whose options cover it, in the same
-- transaction, so the forwarder acts at that point of the stream.  An open
-- request for the table is left as it is (it copies the table later).
CREATE FUNCTION pg2es.ddl_request_kind(pg_ddl_command)
RETURNS text
AS 'MODULE_PATHNAME', 'pg2es_ddl_request_kind'
LANGUAGE C STRICT;

CREATE FUNCTION pg2es.request_after_ddl()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cmd  record;
    req  record;
    kind text;
BEGIN
    FOR cmd IN SELECT * FROM pg_event_trigger_ddl_commands()
               WHERE object_type IN ('table', 'table column')
    LOOP
        kind := pg2es.ddl_request_kind(cmd.command);
        CONTINUE WHEN kind IS NULL;
        FOR req IN SELECT slot_name, options FROM pg2es.slot_options
        LOOP
            PERFORM pg2es.request_for_slot(req.slot_name, req.options, kind,
                                           cmd.objid);
        END LOOP;
    END LOOP;
END
$$;

-- The request of one slot: for changed's index (or its partition root's),
-- if the options cover it.  Options it cannot parse (a slot recorded by
-- another version) give a WARNING, never a failed schema change.
CREATE FUNCTION pg2es.request_for_slot(slot_name name, options text[],
                                       kind text, changed oid)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    target regclass;
BEGIN
    SELECT c.relid INTO target
    FROM pg2es.covered_tables(options) AS c(relid)
    WHERE c.relid IN (changed::regclass, pg_partition_root(changed))
    LIMIT 1;
    -- (no ON CONFLICT: a user catalog table does not take it)
    IF target IS NOT NULL AND NOT EXISTS (
        SELECT FROM pg2es.requests r
        WHERE r.slot_name = request_for_slot.slot_name AND r.relid = target
          AND r.state IN ('requested', 'copying', 'switching'))
    THEN
        INSERT INTO pg2es.requests (slot_name, kind, relid, table_name)
        VALUES (request_for_slot.slot_name, request_for_slot.kind, target,
                target::text);
    END IF;
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'pg2es: no % request for slot "%" after this schema change: %',
        request_for_slot.kind, request_for_slot.slot_name, SQLERRM;
END
$$;

CREATE EVENT TRIGGER pg2es_schema_changes ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE')
    EXECUTE FUNCTION pg2es.request_after_ddl();

-- DROP TABLE of a table some slot may cover: its index is kept (pg2es
-- never deletes an index it did not just create), and the dropping
-- session and the server log are told so, since the WAL says nothing.
CREATE FUNCTION pg2es.warn_after_drop()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    obj record;
BEGIN
    IF NOT EXISTS (SELECT FROM pg2es.slot_options) THEN
        RETURN;
    END IF;
    FOR obj IN SELECT * FROM pg_event_trigger_dropped_objects()
               WHERE object_type = 'table' AND original
                 AND schema_name IS DISTINCT FROM 'pg2es'
    LOOP
        RAISE WARNING 'pg2es: table %.% was dropped; its Elasticsearch index is kept',
            quote_ident(obj.schema_name), quote_ident(obj.object_name)
            USING HINT = 'Delete the index (or its alias and generations) in Elasticsearch if it is no longer wanted.';
    END LOOP;
END
$$;

CREATE EVENT TRIGGER pg2es_dropped_tables ON sql_drop
    WHEN TAG IN ('DROP TABLE')
    EXECUTE FUNCTION pg2es.warn_after_drop();

-- The bulk item of a row as pg2es.bulk_item writes it, in values of at most
-- 1 MB: the first begins with the item's length in bytes (4 bytes,
-- big-endian), the others carry the rest in order; no value for a row
-- bulk_item gives NULL.  The initial load reads rows this way so that a
-- large row is never held whole in the client's receive buffer.
CREATE FUNCTION pg2es.bulk_item_parts(rel regclass, "row" record, version bigint,
                                      options text[] DEFAULT '{}')
RETURNS SETOF bytea
AS 'MODULE_PATHNAME', 'pg2es_bulk_item_parts'
LANGUAGE C STABLE PARALLEL SAFE ROWS 1;
