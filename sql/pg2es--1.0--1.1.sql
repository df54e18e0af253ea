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
