-- Document _ids: composite keys, key changes, long keys, replica identity.
SET synchronous_commit = on;

SELECT 'init' FROM pg_create_logical_replication_slot('keys', 'pg2es');

-- composite key: "\" doubled, "|" written as "\|", joined with "|"
CREATE TABLE keys_comp (a text, b int, c text, v int, PRIMARY KEY (c, a, b));
INSERT INTO keys_comp VALUES ('x|y', 1, 'z', 0), ('x', 1, 'y|z', 0),
    ('back\slash', 2, 'p\|q', 0), ('', 3, '', 0);
-- key change: delete of the old _id, then the new row, in one change
UPDATE keys_comp SET b = 10 WHERE a = 'x';
-- no key change: index only
UPDATE keys_comp SET v = 1 WHERE a = 'x';
DELETE FROM keys_comp WHERE a = 'x|y';

-- single key column: its text as it is
CREATE TABLE keys_one (k text PRIMARY KEY, v int);
INSERT INTO keys_one VALUES ('plain'), ('with "quote" and \ and |'),
    (repeat('a', 512)), (repeat('b', 513)), ('#sha256:short'), ('');
UPDATE keys_one SET k = repeat('c', 600) WHERE k = 'plain';
DELETE FROM keys_one WHERE k = repeat('b', 513);

-- replica identity index instead of a primary key
CREATE TABLE keys_ri (u int NOT NULL, w text NOT NULL, v text);
CREATE UNIQUE INDEX keys_ri_uw ON keys_ri (w, u);
ALTER TABLE keys_ri REPLICA IDENTITY USING INDEX keys_ri_uw;
INSERT INTO keys_ri VALUES (1, 'one', 'v1');
UPDATE keys_ri SET v = 'v2';
UPDATE keys_ri SET u = 2;
DELETE FROM keys_ri;

SELECT data FROM pg_logical_slot_get_changes('keys', NULL, NULL, 'versioning', 'off');

-- long and "#sha256:" keys are hashed: "#sha256:" + hex SHA-256 of the text
SELECT k = repeat('a', 512) AS is_512, '#sha256:' || encode(sha256(convert_to(k, 'UTF8')), 'hex') AS hashed
FROM (VALUES (repeat('a', 512)), (repeat('b', 513)), ('#sha256:short'), (''), (repeat('c', 600))) AS v(k);

SELECT pg_drop_replication_slot('keys');
DROP TABLE keys_comp, keys_one, keys_ri;
