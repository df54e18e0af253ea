-- Tables without a key: a WARNING once per table and session, no items;
-- id-columns with REPLICA IDENTITY FULL makes them work.
SET synchronous_commit = on;
\set VERBOSITY terse

SELECT 'init' FROM pg_create_logical_replication_slot('nokey', 'pg2es');

CREATE TABLE nokey_plain (a int, b text);
CREATE TABLE nokey_full (a int, b text, c text);
ALTER TABLE nokey_full REPLICA IDENTITY FULL;
CREATE TABLE nokey_default (a int, b text);

INSERT INTO nokey_plain VALUES (1, 'one'), (2, 'two');
UPDATE nokey_plain SET b = 'uno' WHERE a = 1;
DELETE FROM nokey_plain WHERE a = 2;
INSERT INTO nokey_full VALUES (1, 'x', 'one'), (2, 'y', 'two');
UPDATE nokey_full SET c = 'uno' WHERE a = 1;
UPDATE nokey_full SET b = 'z' WHERE a = 1;
DELETE FROM nokey_full WHERE a = 2;
INSERT INTO nokey_full VALUES (NULL, 'null key', 'skipped');
INSERT INTO nokey_default VALUES (1, 'one');
DELETE FROM nokey_default;

-- without options: one WARNING per table, nothing else
SELECT data FROM pg_logical_slot_peek_changes('nokey', NULL, NULL, 'versioning', 'off');

-- id-columns: FULL identity gives deletes and key changes; DEFAULT gives
-- inserts and updates, and its deletes are skipped with a WARNING
SELECT data FROM pg_logical_slot_get_changes('nokey', NULL, NULL, 'versioning', 'off',
    'id-columns', 'public.nokey_full:a+b,public.nokey_default:a');

-- id-columns naming a column the table lacks
INSERT INTO nokey_plain VALUES (3, 'three');
SELECT data FROM pg_logical_slot_get_changes('nokey', NULL, NULL,
    'id-columns', 'public.nokey_plain:nosuch');

SELECT pg_drop_replication_slot('nokey');
DROP TABLE nokey_plain, nokey_full, nokey_default;
