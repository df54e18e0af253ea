-- Schema changes in the middle of the stream show in the very next change.
SET synchronous_commit = on;

SELECT 'init' FROM pg_create_logical_replication_slot('schema', 'pg2es');

CREATE TABLE sch (id int PRIMARY KEY, a int, b text);
INSERT INTO sch VALUES (1, 10, 'one');
ALTER TABLE sch ADD COLUMN c text DEFAULT 'dflt';
INSERT INTO sch VALUES (2, 20, 'two');
-- a row written before the column came: its default, not null
UPDATE sch SET a = 11 WHERE id = 1;
ALTER TABLE sch DROP COLUMN b;
INSERT INTO sch VALUES (3, 30, 'three');
ALTER TABLE sch RENAME COLUMN a TO a_renamed;
INSERT INTO sch VALUES (4, 40, 'four');
ALTER TABLE sch ALTER COLUMN a_renamed TYPE text;
INSERT INTO sch VALUES (5, 'fifty', 'five');
ALTER TABLE sch RENAME TO sch_renamed;
INSERT INTO sch_renamed VALUES (6, 'sixty', 'six');
CREATE SCHEMA sch_other;
ALTER TABLE sch_renamed SET SCHEMA sch_other;
INSERT INTO sch_other.sch_renamed VALUES (7, 'seventy', 'seven');
ALTER SCHEMA sch_other RENAME TO sch_other2;
INSERT INTO sch_other2.sch_renamed VALUES (8, 'eighty', 'eight');
-- the key changes: a new primary key
ALTER TABLE sch_other2.sch_renamed DROP CONSTRAINT sch_pkey;
ALTER TABLE sch_other2.sch_renamed ADD PRIMARY KEY (a_renamed);
INSERT INTO sch_other2.sch_renamed VALUES (9, 'ninety', 'nine');
-- a table created after the slot, and changes in the same transaction
-- as the DDL
BEGIN;
CREATE TABLE sch_new (id int PRIMARY KEY, x text);
INSERT INTO sch_new VALUES (1, 'new');
ALTER TABLE sch_new ADD COLUMN y int;
INSERT INTO sch_new VALUES (2, 'newer', 2);
COMMIT;

SELECT data FROM pg_logical_slot_get_changes('schema', NULL, NULL, 'versioning', 'off');

-- the same in one decoding session: the cache is invalidated, never stale
INSERT INTO sch_new VALUES (3, 'x', 3);
ALTER TABLE sch_new DROP COLUMN x;
INSERT INTO sch_new VALUES (4, 4);
ALTER TABLE sch_new RENAME TO sch_new2;
INSERT INTO sch_new2 VALUES (5, 5);
SELECT data FROM pg_logical_slot_get_changes('schema', NULL, NULL, 'versioning', 'off');

SELECT pg_drop_replication_slot('schema');
DROP TABLE sch_other2.sch_renamed, sch_new2;
DROP SCHEMA sch_other2;
