-- A SQL_ASCII database stores any bytes.  The plugin still emits valid
-- UTF-8 JSON: valid UTF-8 sequences pass unchanged, every other high byte is
-- read as Latin-1 and written as \u00XX.
SELECT current_database() AS regress_db \gset
CREATE DATABASE pg2es_sql_ascii ENCODING SQL_ASCII LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c pg2es_sql_ascii
SET synchronous_commit = on;
SELECT 'init' FROM pg_create_logical_replication_slot('ascii_slot', 'pg2es');

CREATE TABLE t_ascii (k text PRIMARY KEY, t text, v varchar, n name, j json, jb jsonb, a text[]);
CREATE FUNCTION raw(bytea) RETURNS text LANGUAGE sql AS $$ SELECT convert_from($1, 'SQL_ASCII') $$;
INSERT INTO t_ascii VALUES
	-- Latin-1 bytes é and ÿ, also in the key (so in _id) and inside JSON strings
	(raw('\x6be9'), raw('\x41e9ff42'), raw('\xe9'), raw('\x6ee9'),
	 raw('\x7b2261e9223a2262ff5c22227d')::json, raw('\x7b2261e9223a2262ff5c22227d')::jsonb,
	 ARRAY[raw('\xe9'), NULL]),
	-- valid UTF-8 (é, 日, an emoji) passes unchanged
	(raw('\x6bc3a9'), raw('\xc3a9e697a5f09f9880'), raw('\xc3a9'), raw('\xe697a5'),
	 raw('\x5b22c3a9225d')::json, raw('\x5b22c3a9225d')::jsonb, ARRAY[raw('\xf09f9880')]),
	-- broken sequences: truncated at the end, cut by an ASCII byte, overlong,
	-- an encoded surrogate, a five-byte form, a lone continuation byte
	(raw('\x6b03'), raw('\x41c3'), raw('\xe69741'), raw('\xc0af'), raw('\x22eda08022')::json,
	 raw('\x22f88880808022')::jsonb, ARRAY[raw('\x80'), raw('\xbf41')]),
	-- control characters, quotes and backslashes (doubled in _id) next to
	-- high bytes
	(raw('\x6b5c04'), raw('\x0ae90a22'), raw('\x5c80'), NULL, NULL, NULL, NULL);
SELECT data FROM pg_logical_slot_get_changes('ascii_slot', NULL, NULL, 'versioning', 'off');

-- the same rows again, checked: every byte of the output is valid UTF-8
-- (convert_from verifies it) and every line is valid JSON
UPDATE t_ascii SET t = t;
SELECT count(*) AS lines,
	bool_and(convert_from(convert_to(line, 'SQL_ASCII'), 'UTF8') IS NOT NULL) AS utf8,
	bool_and(line::json IS NOT NULL) AS json
FROM pg_logical_slot_get_changes('ascii_slot', NULL, NULL, 'versioning', 'off') c,
	regexp_split_to_table(c.data, E'\n') AS line;

SELECT 'stop' FROM pg_drop_replication_slot('ascii_slot');
\c :regress_db
DROP DATABASE pg2es_sql_ascii;
