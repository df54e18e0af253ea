-- INSERT, UPDATE and DELETE as bulk items, byte for byte.
SET synchronous_commit = on;

SELECT 'init' FROM pg_create_logical_replication_slot('basic', 'pg2es');

CREATE TABLE basic (id int PRIMARY KEY, name text, score float8, ok bool);

INSERT INTO basic VALUES (1, 'one', 1.5, true);
INSERT INTO basic VALUES (2, NULL, NULL, NULL);
UPDATE basic SET name = 'uno' WHERE id = 1;
DELETE FROM basic WHERE id = 2;
BEGIN;
INSERT INTO basic VALUES (3, 'three', -0.25, false);
UPDATE basic SET score = 3 WHERE id = 3;
DELETE FROM basic WHERE id = 3;
COMMIT;

-- versioning off: no version keys; one message per change, no trailing
-- newline (pg_recvlogical adds one)
SELECT data, right(data, 1) = E'\n' AS ends_with_newline
FROM pg_logical_slot_peek_changes('basic', NULL, NULL, 'versioning', 'off');

-- versioning on (the default): version = the commit LSN of the transaction,
-- the same for every change of it, with external_gte
SELECT count(*) AS changes,
       count(DISTINCT (regexp_match(data, '"version":(\d+),'))[1]) AS versions,
       bool_and(data ~ '^\{"(index|delete)":\{"_index":"public\.basic","_id":"\d+","version":\d+,"version_type":"external_gte"\}\}')
         AS well_formed,
       bool_and((regexp_match(data, '"version":(\d+),'))[1]::numeric =
                (regexp_match(data, '"__lsn":"([0-9A-F/]+)"'))[1]::pg_lsn - '0/0')
         FILTER (WHERE data LIKE '%"__lsn"%') AS version_is_commit_lsn
FROM pg_logical_slot_peek_changes('basic', NULL, NULL, 'add-fields', 'lsn');

-- the version is the commit record's LSN: compare with test_decoding's
-- view of the same transactions, where COMMIT rows come at end_lsn and the
-- commit record starts before it
SELECT 'init' FROM pg_create_logical_replication_slot('basic_td', 'test_decoding');
INSERT INTO basic VALUES (4, 'four', 4, true);
SELECT (regexp_match(p.data, '"version":(\d+),'))[1]::numeric < t.lsn - '0/0' AS version_before_commit_end,
       (regexp_match(p.data, '"version":(\d+),'))[1]::numeric > c.lsn - '0/0' AS version_after_change
FROM pg_logical_slot_peek_changes('basic', NULL, NULL) p
     CROSS JOIN (SELECT lsn FROM pg_logical_slot_peek_changes('basic_td', NULL, NULL)
                 WHERE data LIKE 'COMMIT%') t
     CROSS JOIN (SELECT lsn FROM pg_logical_slot_peek_changes('basic_td', NULL, NULL)
                 WHERE data LIKE 'table%') c
WHERE p.data LIKE '%"_id":"4"%';
SELECT pg_drop_replication_slot('basic_td');

-- get_changes consumes; a second call shows nothing
SELECT count(*) FROM pg_logical_slot_get_changes('basic', NULL, NULL);
SELECT count(*) FROM pg_logical_slot_get_changes('basic', NULL, NULL);

SELECT pg_drop_replication_slot('basic');
DROP TABLE basic;
