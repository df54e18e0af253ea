-- delete-mode=soft: a DELETE, and the old _id of a key change, write the
-- row's document again with "__deleted": true instead of a "delete": the
-- key columns under the default replica identity, the whole old row under
-- REPLICA IDENTITY FULL; the add-fields too, with __op "d".  Versioned at
-- the transaction's version, as the delete would be.  The SQL functions
-- (rows that exist are never deleted) are unchanged but take the option;
-- the mapping gets __deleted as boolean.
SET synchronous_commit = on;
\set VERBOSITY terse
CREATE EXTENSION pg2es;

SELECT 'init' FROM pg_create_logical_replication_slot('soft', 'pg2es');

CREATE TABLE soft_plain (id int PRIMARY KEY, note text, n int);
CREATE TABLE soft_full (a int, b text, note text, PRIMARY KEY (a, b));
ALTER TABLE soft_full REPLICA IDENTITY FULL;

INSERT INTO soft_plain VALUES (1, 'one', 10), (2, 'two', 20);
INSERT INTO soft_full VALUES (1, 'x', 'first'), (2, 'y', NULL);
UPDATE soft_plain SET note = 'uno' WHERE id = 1;
DELETE FROM soft_plain WHERE id = 2;
-- a key change: the old _id soft-deleted, then the new row
UPDATE soft_plain SET id = 3 WHERE id = 1;
DELETE FROM soft_full WHERE a = 1;
UPDATE soft_full SET b = 'z' WHERE a = 2;
-- the deleted row comes back: an ordinary index replaces the soft-deleted document
INSERT INTO soft_plain VALUES (2, 'two again', 22);

SELECT data FROM pg_logical_slot_peek_changes('soft', NULL, NULL,
    'versioning', 'off', 'delete-mode', 'soft');

-- with add-fields (__op "d") and the default hard mode for comparison
SELECT data FROM pg_logical_slot_peek_changes('soft', NULL, NULL,
    'versioning', 'off', 'delete-mode', 'soft', 'add-fields', 'table,op')
WHERE data LIKE '%"__deleted"%';
SELECT data FROM pg_logical_slot_peek_changes('soft', NULL, NULL,
    'versioning', 'off', 'delete-mode', 'hard')
WHERE data LIKE '%delete%';

-- versioned: the soft delete carries the version a delete would (the
-- commit LSN, external_gte), shown without its value
SELECT regexp_replace(data, '"version":[0-9]+', '"version":V', 'g')
FROM pg_logical_slot_peek_changes('soft', NULL, NULL, 'delete-mode', 'soft')
WHERE data LIKE '%"__deleted"%';
SELECT count(*) AS at_the_delete_version
FROM pg_logical_slot_peek_changes('soft', NULL, NULL, 'delete-mode', 'soft') s
JOIN pg_logical_slot_peek_changes('soft', NULL, NULL, 'delete-mode', 'hard') h
  ON s.lsn = h.lsn AND h.data LIKE '{"delete"%'
  AND substring(s.data from '"version":([0-9]+)') = substring(h.data from '"version":([0-9]+)')
WHERE s.data LIKE '%"__deleted"%';

-- bad values
SELECT data FROM pg_logical_slot_peek_changes('soft', NULL, NULL, 'delete-mode', 'gone');
SELECT data FROM pg_logical_slot_peek_changes('soft', NULL, NULL, 'delete-mode', 'soft', 'delete-mode', 'hard');

-- the SQL functions take the option; the mapping marks __deleted boolean
SELECT pg2es.mapping('soft_plain', ARRAY['delete-mode=soft']);
SELECT pg2es.mapping('soft_plain', ARRAY['delete-mode=hard']);
SELECT convert_from(pg2es.bulk_item('soft_plain', r, 7, ARRAY['delete-mode=soft']), 'UTF8')
FROM soft_plain r ORDER BY id;
SELECT convert_from(pg2es.doc_source('soft_plain', r, ARRAY['delete-mode=soft']), 'UTF8') FROM soft_plain r ORDER BY id;
SELECT pg2es.mapping('soft_plain', ARRAY['delete-mode=maybe']);

SELECT 'stop' FROM pg_drop_replication_slot('soft');
DROP TABLE soft_plain, soft_full;
DROP EXTENSION pg2es;
