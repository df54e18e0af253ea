-- include-tables, exclude-tables and exclude-columns.
SET synchronous_commit = on;

SELECT 'init' FROM pg_create_logical_replication_slot('filters', 'pg2es');

CREATE SCHEMA filt_app;
CREATE SCHEMA "filt.odd";
CREATE TABLE filt_app.users (id int PRIMARY KEY, email text, password_hash text);
CREATE TABLE filt_app.user_logs (id int PRIMARY KEY, msg text);
CREATE TABLE filt_app.orders (id int PRIMARY KEY, total int);
CREATE TABLE "filt.odd"."t,1" (id int PRIMARY KEY, "p*" text, "q" text);
CREATE TABLE public.filt_other (id int PRIMARY KEY);

INSERT INTO filt_app.users VALUES (1, 'a@example.com', 'secret');
INSERT INTO filt_app.user_logs VALUES (1, 'login');
INSERT INTO filt_app.orders VALUES (1, 100);
INSERT INTO "filt.odd"."t,1" VALUES (1, 'p', 'q');
INSERT INTO public.filt_other VALUES (1);

-- patterns with *
SELECT data FROM pg_logical_slot_peek_changes('filters', NULL, NULL, 'versioning', 'off',
    'include-tables', 'filt_app.user*');
SELECT data FROM pg_logical_slot_peek_changes('filters', NULL, NULL, 'versioning', 'off',
    'include-tables', 'filt_*.*', 'exclude-tables', '*.user_logs,*.orders');
SELECT data FROM pg_logical_slot_peek_changes('filters', NULL, NULL, 'versioning', 'off',
    'exclude-tables', 'filt_app.*,*.*other');
-- quoted names are literal: "." "," and "*" inside them
SELECT data FROM pg_logical_slot_peek_changes('filters', NULL, NULL, 'versioning', 'off',
    'include-tables', '"filt.odd"."t,1"', 'exclude-columns', '"filt.odd"."t,1"."p*"');
SELECT data FROM pg_logical_slot_peek_changes('filters', NULL, NULL, 'versioning', 'off',
    'include-tables', '"filt.odd".*', 'exclude-columns', '*.*.q');
-- a quoted "*" is not a wildcard
SELECT data FROM pg_logical_slot_peek_changes('filters', NULL, NULL, 'versioning', 'off',
    'include-tables', '"*"."*"');
-- secrets left out; key columns stay usable for the _id even when excluded
SELECT data FROM pg_logical_slot_peek_changes('filters', NULL, NULL, 'versioning', 'off',
    'include-tables', 'filt_app.users', 'exclude-columns', 'filt_app.users.password_hash,*.*.id');
-- the extension's own schema is never decoded
CREATE SCHEMA pg2es;
CREATE TABLE pg2es.internal (id int PRIMARY KEY);
INSERT INTO pg2es.internal VALUES (1);
SELECT count(*) FROM pg_logical_slot_peek_changes('filters', NULL, NULL)
WHERE data LIKE '%pg2es.internal%';

SELECT pg_drop_replication_slot('filters');
DROP SCHEMA filt_app, "filt.odd", pg2es CASCADE;
DROP TABLE public.filt_other;
