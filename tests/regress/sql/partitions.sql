-- Partitioned tables: changes of the partitions go to the root's index by
-- default, to each partition's own with partition-index=leaf.
SET synchronous_commit = on;

SELECT 'init' FROM pg_create_logical_replication_slot('parts', 'pg2es');

CREATE TABLE parts (id int, region text, v text, PRIMARY KEY (id, region))
    PARTITION BY LIST (region);
CREATE TABLE parts_eu PARTITION OF parts FOR VALUES IN ('eu');
-- a sub-partitioned partition, and one attached with other column numbers
CREATE TABLE parts_us PARTITION OF parts FOR VALUES IN ('us')
    PARTITION BY RANGE (id);
CREATE TABLE parts_us_low PARTITION OF parts_us FOR VALUES FROM (0) TO (100);
CREATE TABLE parts_asia (dropme int, v text, region text NOT NULL, id int NOT NULL);
ALTER TABLE parts_asia DROP COLUMN dropme;
ALTER TABLE parts ATTACH PARTITION parts_asia FOR VALUES IN ('asia');

INSERT INTO parts VALUES (1, 'eu', 'a'), (2, 'us', 'b'), (3, 'asia', 'c');
UPDATE parts SET v = 'cc' WHERE id = 3;
-- moving a row to another partition: a delete and an insert
UPDATE parts SET region = 'eu' WHERE id = 2;
DELETE FROM parts WHERE id = 1;

SELECT data FROM pg_logical_slot_peek_changes('parts', NULL, NULL, 'versioning', 'off');
SELECT data FROM pg_logical_slot_peek_changes('parts', NULL, NULL, 'versioning', 'off',
    'partition-index', 'leaf');
-- filters and options name the root (the logical table)
SELECT data FROM pg_logical_slot_get_changes('parts', NULL, NULL, 'versioning', 'off',
    'exclude-columns', 'public.parts.v', 'include-tables', 'public.parts',
    'add-fields', 'table');

-- renaming the root renames the index of every partition
ALTER TABLE parts RENAME TO parts_renamed;
INSERT INTO parts_renamed VALUES (4, 'eu', 'd'), (5, 'us', 'e');
SELECT data FROM pg_logical_slot_get_changes('parts', NULL, NULL, 'versioning', 'off');

SELECT pg_drop_replication_slot('parts');
DROP TABLE parts_renamed;
