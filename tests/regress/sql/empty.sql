-- Transactions that touch no covered table produce nothing, in plain and
-- in framed mode.
SET synchronous_commit = on;

SELECT 'init' FROM pg_create_logical_replication_slot('empty', 'pg2es');

CREATE TABLE empty_covered (id int PRIMARY KEY);
CREATE TABLE empty_excluded (id int PRIMARY KEY);
CREATE UNLOGGED TABLE empty_unlogged (id int PRIMARY KEY);
CREATE TEMP TABLE empty_temp (id int PRIMARY KEY);

INSERT INTO empty_excluded VALUES (1);
INSERT INTO empty_unlogged VALUES (1);
INSERT INTO empty_temp VALUES (1);
BEGIN;
INSERT INTO empty_covered VALUES (1);
ROLLBACK;
BEGIN;
INSERT INTO empty_covered VALUES (2);
SAVEPOINT s;
INSERT INTO empty_covered VALUES (3);
ROLLBACK TO SAVEPOINT s;
COMMIT;
ALTER TABLE empty_covered ADD COLUMN v int;
SELECT pg_logical_emit_message(true, 'pg2es-test', 'not a row') IS NOT NULL AS emitted;
BEGIN;
INSERT INTO empty_excluded SELECT generate_series(2, 300);
COMMIT;

-- only the committed row: not the rolled-back ones, not the DDL, the
-- logical message, the unlogged or temporary or excluded tables
SELECT data FROM pg_logical_slot_peek_changes('empty', NULL, NULL, 'versioning', 'off',
    'exclude-tables', 'public.empty_excluded');
SELECT count(*) AS messages, sum(length(data)) AS bytes
FROM pg_logical_slot_peek_binary_changes('empty', NULL, NULL, 'framing', 'msgpack',
    'exclude-tables', 'public.empty_excluded');
-- nothing at all when nothing is covered
SELECT count(*) FROM pg_logical_slot_peek_changes('empty', NULL, NULL,
    'include-tables', 'nosuch.*');
SELECT count(*) FROM pg_logical_slot_get_binary_changes('empty', NULL, NULL,
    'framing', 'msgpack', 'include-tables', 'nosuch.*');

SELECT pg_drop_replication_slot('empty');
DROP TABLE empty_covered, empty_excluded, empty_unlogged, empty_temp;
