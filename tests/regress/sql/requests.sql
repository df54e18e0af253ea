-- pg2es.requests (docs/design.md "Requests"): a REQUEST frame for each
-- INSERT and UPDATE of a row of this slot, and the dual writes of a
-- reindex that is copying or switching.  frames() and mp_value() come from
-- framing.sql.
SET synchronous_commit = on;
\set VERBOSITY terse
CREATE EXTENSION pg2es;

-- A frame as text, relids shown as table names; COMMIT frames left out.
CREATE FUNCTION shown(msg bytea) RETURNS SETOF text
LANGUAGE sql AS $$
    SELECT CASE WHEN f LIKE '[4,%'
                THEN jsonb_set(f::jsonb, '{1}', to_jsonb(((f::jsonb)->>1)::oid::regclass::text))::text
                WHEN f LIKE '[5,%'
                THEN jsonb_set(f::jsonb, '{3}', to_jsonb(((f::jsonb)->>3)::oid::regclass::text))::text
                ELSE f END
    FROM frames(msg) f WHERE f NOT LIKE '[2,%'
$$;

SELECT 'init' FROM pg_create_logical_replication_slot('reqs', 'pg2es');

CREATE TABLE rq (id int PRIMARY KEY, v text);
CREATE TABLE rq_parted (id int PRIMARY KEY, v text) PARTITION BY RANGE (id);
CREATE TABLE rq_parted_1 PARTITION OF rq_parted FOR VALUES FROM (0) TO (100);
CREATE TABLE rq_other (id int PRIMARY KEY);

-- a request of this slot gives a frame, one of another slot none; until
-- the reindex is copying, items go to the index alone; then to both (a
-- key change: both items twice; a TRUNCATE names both indexes), while
-- switching too, and once done to the index alone again
INSERT INTO pg2es.requests (slot_name, kind, relid, table_name)
VALUES ('reqs', 'reindex', 'rq'::regclass, 'public.rq'),
       ('other', 'reindex', 'rq'::regclass, 'public.rq');
INSERT INTO rq VALUES (1, 'a');
UPDATE pg2es.requests SET state = 'copying', target_index = 'public.rq~g2', updated_at = now()
WHERE slot_name = 'reqs';
INSERT INTO rq VALUES (2, 'b');
UPDATE pg2es.requests SET state = 'copying', target_index = 'public.rq~g9' WHERE slot_name = 'other';
UPDATE rq SET id = 3 WHERE id = 2;
DELETE FROM rq WHERE id = 1;
TRUNCATE rq;
UPDATE pg2es.requests SET state = 'switching' WHERE slot_name = 'reqs';
INSERT INTO rq VALUES (4, 'd');
UPDATE pg2es.requests SET state = 'done' WHERE slot_name = 'reqs';
INSERT INTO rq VALUES (5, 'e');
SELECT shown(data) FROM pg_logical_slot_get_binary_changes('reqs', NULL, NULL,
    'framing', 'msgpack', 'versioning', 'off');

-- a new decoding session reads the table itself: a reindex left copying
-- is dual-written from the first change on; plain mode writes both items
-- in one message and no frame
INSERT INTO pg2es.requests (slot_name, kind, relid, table_name, keep_old)
VALUES ('reqs', 'reindex', 'rq'::regclass, 'public.rq', true);
UPDATE pg2es.requests SET state = 'copying', target_index = 'public.rq~g3'
WHERE slot_name = 'reqs' AND state = 'requested';
SELECT count(*) FROM pg_logical_slot_get_binary_changes('reqs', NULL, NULL, 'framing', 'msgpack');
INSERT INTO rq VALUES (6, 'f');
SELECT shown(data) FROM pg_logical_slot_peek_binary_changes('reqs', NULL, NULL,
    'framing', 'msgpack', 'versioning', 'off');
SELECT data FROM pg_logical_slot_get_changes('reqs', NULL, NULL, 'versioning', 'off');
DELETE FROM pg2es.requests WHERE slot_name = 'reqs' AND state = 'copying';
INSERT INTO rq VALUES (7, 'g');
SELECT data FROM pg_logical_slot_get_changes('reqs', NULL, NULL, 'versioning', 'off');

-- a backfill never dual-writes; the partitions of a root being reindexed
-- write to the root's index and its target; the frame's index is null for
-- a table the options leave out
INSERT INTO pg2es.requests (slot_name, kind, relid, table_name, state, target_index)
VALUES ('reqs', 'backfill', 'rq'::regclass, 'public.rq', 'copying', 'public.rq'),
       ('reqs', 'reindex', 'rq_parted'::regclass, 'public.rq_parted', 'copying', 'public.rq_parted~g2'),
       ('reqs', 'reindex', 'rq_other'::regclass, 'public.rq_other', 'requested', NULL);
INSERT INTO rq VALUES (8, 'h');
INSERT INTO rq_parted VALUES (1, 'p');
SELECT shown(data) FROM pg_logical_slot_get_binary_changes('reqs', NULL, NULL,
    'framing', 'msgpack', 'versioning', 'off', 'exclude-tables', 'public.rq_other');

-- a row the forwarder could not act on: WARNING, no frame
ALTER TABLE pg2es.requests DROP CONSTRAINT requests_state_check;
INSERT INTO pg2es.requests (slot_name, kind, relid, table_name, state)
VALUES ('reqs', 'reindex', 'rq_other'::regclass, 'public.rq_other', 'paused');
SELECT shown(data) FROM pg_logical_slot_get_binary_changes('reqs', NULL, NULL,
    'framing', 'msgpack', 'versioning', 'off');

SELECT pg_drop_replication_slot('reqs');
DROP TABLE rq, rq_parted, rq_other;
DROP EXTENSION pg2es;
DROP FUNCTION shown(bytea), frames(bytea), mp_value(bytea, int);
