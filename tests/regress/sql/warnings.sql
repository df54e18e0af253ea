-- The WARNINGs given once per table and decoding session are each given
-- once: none silences another, also across a rebuild of the table's entry.
SET synchronous_commit = on;
\set VERBOSITY terse

SELECT 'init' FROM pg_create_logical_replication_slot('warnings', 'pg2es');

-- id-columns code is not in the replica identity (the primary key) at
-- first: deletes lack the key; then code becomes the replica identity,
-- and a key change keeps a TOASTed value the WAL does not hold.
CREATE TABLE warn_t (id int PRIMARY KEY, code text NOT NULL, big text);
CREATE UNIQUE INDEX warn_t_code ON warn_t (code);
ALTER TABLE warn_t ALTER COLUMN big SET STORAGE EXTERNAL;
INSERT INTO warn_t VALUES (1, 'a', 'one'), (2, 'b', 'two'),
    (3, 'c', repeat('x', 3000)), (4, 'd', repeat('y', 3000));
DELETE FROM warn_t WHERE id = 1;
DELETE FROM warn_t WHERE id = 2;
ALTER TABLE warn_t REPLICA IDENTITY USING INDEX warn_t_code;
UPDATE warn_t SET code = 'e' WHERE id = 3;
UPDATE warn_t SET code = 'f' WHERE id = 4;

-- three WARNINGs, one each: not in the identity, a change lacking its key
-- (the first delete; the second is skipped silently), the key change
-- with TOAST (the first one)
SELECT regexp_replace(data, '([a-z])\1{20,}', '\1...', 'g') AS data
FROM pg_logical_slot_get_changes('warnings', NULL, NULL, 'versioning', 'off',
    'id-columns', 'public.warn_t:code');

-- a partition truncated alone: once per partition, beside (and after) the
-- WARNINGs of the same partition (REPLICA IDENTITY NOTHING leaves its key
-- out of the WAL, so its deletes are skipped)
CREATE TABLE warn_parted (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE warn_p1 PARTITION OF warn_parted FOR VALUES FROM (0) TO (10);
CREATE TABLE warn_p2 PARTITION OF warn_parted FOR VALUES FROM (10) TO (20);
ALTER TABLE warn_p1 REPLICA IDENTITY NOTHING;
INSERT INTO warn_parted VALUES (1), (2), (11);
DELETE FROM warn_p1 WHERE id = 1;
TRUNCATE warn_p1;
TRUNCATE warn_p1;
DELETE FROM warn_p1 WHERE id = 2;
TRUNCATE warn_p2;
TRUNCATE warn_p2;

SELECT count(*) AS messages
FROM pg_logical_slot_peek_binary_changes('warnings', NULL, NULL,
    'framing', 'msgpack');

-- the same WARNINGs by SQLSTATE: 55000 (object not in prerequisite
-- state) for the replica identity and the skipped change, 0A000 (feature
-- not supported) for the partitions' TRUNCATE
\set VERBOSITY sqlstate
SELECT count(*) AS messages
FROM pg_logical_slot_get_binary_changes('warnings', NULL, NULL,
    'framing', 'msgpack');
\set VERBOSITY terse

SELECT pg_drop_replication_slot('warnings');
DROP TABLE warn_t, warn_parted;
