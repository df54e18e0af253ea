-- Unchanged TOASTed values (> 2 kB): never lost.  REPLICA IDENTITY FULL
-- takes them from the old tuple (a full index); DEFAULT gives a partial,
-- unversioned update of the columns present.
SET synchronous_commit = on;
\set VERBOSITY terse

SELECT 'init' FROM pg_create_logical_replication_slot('toast', 'pg2es');

CREATE TABLE toast_default (id int PRIMARY KEY, big text, small text);
ALTER TABLE toast_default ALTER COLUMN big SET STORAGE EXTERNAL;
CREATE TABLE toast_full (id int PRIMARY KEY, big text, small text);
ALTER TABLE toast_full ALTER COLUMN big SET STORAGE EXTERNAL;
ALTER TABLE toast_full REPLICA IDENTITY FULL;
-- a TOASTed key column
CREATE TABLE toast_key (k text PRIMARY KEY, small text);
ALTER TABLE toast_key ALTER COLUMN k SET STORAGE EXTERNAL;

INSERT INTO toast_default VALUES (1, repeat('d', 3000), 'a');
UPDATE toast_default SET small = 'b';
UPDATE toast_default SET big = repeat('e', 3000), small = 'c';
INSERT INTO toast_full VALUES (1, repeat('f', 3000), 'a');
UPDATE toast_full SET small = 'b';
UPDATE toast_full SET id = 2;
INSERT INTO toast_key VALUES (repeat('k', 2500), 'a');
UPDATE toast_key SET small = 'b';
-- a key change keeping a TOASTed value, without FULL: the new document
-- cannot be completed (WARNING); the old one is deleted
UPDATE toast_default SET id = 2;

SELECT regexp_replace(data, '([a-z])\1{20,}', '\1...(' || '\1' || ')', 'g') AS data,
       length(data)
FROM pg_logical_slot_peek_changes('toast', NULL, NULL, 'versioning', 'off');

-- the whole value is there, not a placeholder
SELECT count(*) AS full_values
FROM pg_logical_slot_peek_changes('toast', NULL, NULL, 'versioning', 'off')
WHERE data LIKE '%"' || repeat('f', 3000) || '"%';

-- with versioning on, the partial update carries no version (Elasticsearch
-- refuses it) but is a script that applies the columns only while the
-- document is not newer than the change (v: the commit LSN, masked here)
SELECT regexp_replace(data, '"v":[0-9]+,', '"v":V,') AS guarded_update
FROM pg_logical_slot_get_changes('toast', NULL, NULL)
WHERE data LIKE '{"update"%';

-- A guarded partial update that applies raises the document's internal
-- version by one, so the later items of that _id in the same transaction
-- carry V+1, V+2... (V: the commit LSN), and a later partial update is
-- guarded by it; other documents and the next transaction keep V.  Shown
-- as offsets from the smallest version of each transaction.
BEGIN;
INSERT INTO toast_default VALUES (10, repeat('g', 3000), 'a');
INSERT INTO toast_default VALUES (11, repeat('h', 3000), 'a');
UPDATE toast_default SET small = 'b' WHERE id = 10;
UPDATE toast_default SET small = 'c' WHERE id = 10;
UPDATE toast_default SET small = 'b', big = 'short' WHERE id = 11;
UPDATE toast_default SET small = 'd', big = 'short' WHERE id = 10;
DELETE FROM toast_default WHERE id = 10;
COMMIT;
BEGIN;
UPDATE toast_default SET big = repeat('i', 3000) WHERE id = 11;
UPDATE toast_default SET small = 'c' WHERE id = 11;
DELETE FROM toast_default WHERE id = 11;
COMMIT;
WITH items AS (
  SELECT row_number() OVER () AS n, xid::text AS xid,
         substring(data from '^\{"([a-z]+)"') AS action,
         substring(data from '"_id":"([^"]*)"') AS id,
         coalesce(substring(data from '"version":([0-9]+)'),
                  substring(data from '"v":([0-9]+)'))::numeric AS version
  FROM pg_logical_slot_get_changes('toast', NULL, NULL))
SELECT action, id,
       'V+' || (version - min(version) OVER (PARTITION BY xid)) AS version
FROM items ORDER BY n;

SELECT pg_drop_replication_slot('toast');
DROP TABLE toast_default, toast_full, toast_key;
