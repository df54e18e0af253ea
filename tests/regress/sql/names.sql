-- Hostile table and column names give valid, distinct index names and
-- valid JSON keys; hostile values stay data.
SET synchronous_commit = on;

SELECT 'init' FROM pg_create_logical_replication_slot('names', 'pg2es');

CREATE SCHEMA "_Hostile Schema";
CREATE TABLE "MyTable" (id int PRIMARY KEY);
CREATE TABLE "my table" (id int PRIMARY KEY);
CREATE TABLE "my.table" (id int PRIMARY KEY);
CREATE TABLE "my%2etable" (id int PRIMARY KEY);
CREATE TABLE "quote""d,comma#hash:colon*star?" (id int PRIMARY KEY);
CREATE TABLE "+plus" (id int PRIMARY KEY);
CREATE TABLE "ünïcødé" (id int PRIMARY KEY);
CREATE TABLE "_Hostile Schema"."-dash" (id int PRIMARY KEY);
-- over 255 bytes once escaped: cut, then "~" and a hash of the full name
CREATE SCHEMA "ÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄ";
CREATE TABLE "ÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄ"."ÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖa" (id int PRIMARY KEY);
CREATE TABLE "ÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄ"."ÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖb" (id int PRIMARY KEY);
CREATE TABLE hostile_cols (
    "Id" int PRIMARY KEY,
    "a.b" text,
    "quo""te" text,
    "back\slash" text,
    "new
line" text,
    "tab	char" text,
    "ключ" text
);

INSERT INTO "MyTable" VALUES (1);
INSERT INTO "my table" VALUES (1);
INSERT INTO "my.table" VALUES (1);
INSERT INTO "my%2etable" VALUES (1);
INSERT INTO "quote""d,comma#hash:colon*star?" VALUES (1);
INSERT INTO "+plus" VALUES (1);
INSERT INTO "ünïcødé" VALUES (1);
INSERT INTO "_Hostile Schema"."-dash" VALUES (1);
INSERT INTO "ÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄ"."ÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖa" VALUES (1);
INSERT INTO "ÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄ"."ÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖÖb" VALUES (1);
INSERT INTO hostile_cols VALUES
    (1, '"}', E'line1\nline2\r\n', E'\n{"delete":{"_index":"x","_id":"1"}}\n', E'tab\tbell\x07', '\"\\', 'значение');

SELECT (regexp_match(data, '"_index":"([^"]*)"'))[1] AS index_name
FROM pg_logical_slot_peek_changes('names', NULL, NULL, 'versioning', 'off')
WHERE data NOT LIKE '%hostile_cols%';

-- all valid (lower case, allowed characters and start, <= 255 bytes)
-- and distinct
SELECT count(*) AS tables,
       count(DISTINCT idx) AS distinct_names,
       bool_and(idx ~ '^[a-z0-9%.~][a-z0-9_%.~-]*$' AND octet_length(idx) <= 255) AS all_valid,
       max(octet_length(idx)) AS longest
FROM (SELECT (regexp_match(data, '"_index":"([^"]*)"'))[1] AS idx
      FROM pg_logical_slot_peek_changes('names', NULL, NULL)
      WHERE data NOT LIKE '%hostile_cols%') n;

-- hostile values: two lines, both valid JSON, the values intact
SELECT data FROM pg_logical_slot_peek_changes('names', NULL, NULL, 'versioning', 'off')
WHERE data LIKE '%hostile_cols%';
SELECT array_length(string_to_array(data, E'\n'), 1) AS lines,
       (string_to_array(data, E'\n'))[2]::jsonb = jsonb_build_object(
           'Id', 1, 'a.b', '"}', 'quo"te', E'line1\nline2\r\n',
           'back\slash', E'\n{"delete":{"_index":"x","_id":"1"}}\n',
           E'new\nline', E'tab\tbell\x07', E'tab\tchar', '\"\\',
           'ключ', 'значение') AS values_intact
FROM pg_logical_slot_get_changes('names', NULL, NULL, 'versioning', 'off')
WHERE data LIKE '%hostile_cols%';

SELECT pg_drop_replication_slot('names');
DROP TABLE "MyTable", "my table", "my.table", "my%2etable", "quote""d,comma#hash:colon*star?",
    "+plus", "ünïcødé", hostile_cols;
DROP SCHEMA "_Hostile Schema", "ÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄ" CASCADE;
