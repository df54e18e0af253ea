-- The role the pg2es forwarder logs in as, with the least rights that work.
--
-- Run it as a superuser (only a superuser may create a REPLICATION role), in
-- the database to sync, after the tables exist:
--
--   psql -v ON_ERROR_STOP=1 -d demo -v sync_password='...' -f sql/role.sql
--
-- psql variables (-v name=value):
--   sync_password  optional; without it the role keeps its password (a new
--                  role gets none: set one with \password pg2es_sync, or
--                  authenticate it another way in pg_hba.conf)
--   table_owner    optional, default the user running this script: the role
--                  that creates the application's tables from now on (see
--                  the default privileges below)
--
-- The reference article grants its connector role SUPERUSER, which also lets
-- it read every table of every database, change any setting, run programs
-- on the server through COPY ... PROGRAM and drop the cluster.  pg2es needs
-- none of that.  What it needs, and why, is below; everything not granted
-- here (SUPERUSER, CREATEDB, CREATEROLE, BYPASSRLS, any write to an
-- application table) it does not have.
--
-- Know what REPLICATION gives: logical decoding reads the WAL, so a
-- replication role can stream every table of a database it may connect to,
-- whatever its table grants say (the plugin's include-tables option, not a
-- GRANT, limits what the stream carries).  Two things keep it contained:
-- pg_hba.conf lines that name only the synced database for this role (a
-- logical replication connection matches its database name; never give it a
-- "replication" line, which would allow physical copies of the whole
-- cluster with pg_basebackup), and the CONNECT grant below.

-- The SQL functions the initial load and `pg2es verify` call live in the
-- extension, and the role may not create it (nor update it: a database
-- that has an older version gets the current one).
CREATE EXTENSION IF NOT EXISTS pg2es;
ALTER EXTENSION pg2es UPDATE;

SELECT 'CREATE ROLE pg2es_sync'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pg2es_sync') \gexec

-- LOGIN: the forwarder connects as this role.
-- REPLICATION: needed to open a replication connection (replication=database)
--   and run CREATE_REPLICATION_SLOT / START_REPLICATION / DROP_REPLICATION_SLOT
--   with the pg2es output plugin.  On servers with output_plugin_libraries
--   (15.19 and the minor releases of the other branches of the same day)
--   every role, superusers included, may only use the plugins listed there,
--   so pg2es must be.
-- The NO... attributes are the defaults; stating them fixes a role that
-- existed before with more rights.
ALTER ROLE pg2es_sync WITH LOGIN REPLICATION
	NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;

\if :{?sync_password}
-- The statement holds the password in clear: keep it out of the server log
-- and pg_stat_statements for this session (the setting is a harmless
-- placeholder where pg_stat_statements is not loaded).
SET log_statement = 'none';
SET log_min_duration_statement = -1;
SET pg_stat_statements.track_utility = off;
ALTER ROLE pg2es_sync PASSWORD :'sync_password';
RESET log_statement;
RESET log_min_duration_statement;
\endif

\if :{?table_owner}
\else
SELECT current_user AS table_owner \gset
\endif

-- CONNECT: every connection, replication ones included, needs it.  PUBLIC
-- has it by default, but hardened servers revoke it from PUBLIC.
GRANT CONNECT ON DATABASE :"DBNAME" TO pg2es_sync;

-- USAGE on the schema: to name the tables in the initial load's
-- COPY (SELECT ... FROM public.todos ...) and in verify.
GRANT USAGE ON SCHEMA public TO pg2es_sync;

-- SELECT on the tables: the initial load copies them inside the slot's
-- snapshot and verify reads them.  The stream itself needs no table grant.
-- Repeat these two lines (and the default privileges) for each schema to
-- sync, or grant SELECT on the covered tables only when the plugin option
-- include-tables limits the sync to some tables.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO pg2es_sync;

-- Default privileges: tables that table_owner creates later in this schema
-- get SELECT for pg2es_sync too.  With the default options pg2es syncs every
-- table, so a new table starts streaming at once (REPLICATION already shows
-- its rows); without this grant only its initial load and verify would fail,
-- with "permission denied", which protects nothing.  Drop this statement if
-- new tables must be granted one by one.
ALTER DEFAULT PRIVILEGES FOR ROLE :"table_owner" IN SCHEMA public
	GRANT SELECT ON TABLES TO pg2es_sync;

-- The extension's functions (pg2es.bulk_item, doc_id, doc_source,
-- index_name, covered_tables, mapping): the initial load and verify run the
-- decoder's own encoder through them, so copied rows are byte-identical to
-- streamed ones.  PUBLIC may execute new functions by default; the explicit
-- grant keeps working where a DBA revoked that.
GRANT USAGE ON SCHEMA pg2es TO pg2es_sync;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pg2es TO pg2es_sync;

-- pg2es.load_state: the initial load records its progress there, one row
-- per chunk of a table, so that an interrupted load resumes instead of
-- starting again.  SELECT reads it back (and serves UPDATE ... WHERE);
-- DELETE forgets a slot's or a table's old progress when its load starts
-- over.
GRANT SELECT, INSERT, UPDATE, DELETE ON pg2es.load_state TO pg2es_sync;

-- pg2es.slot_options: the forwarder records the plugin options it streams
-- with at start (an upsert: INSERT ... ON CONFLICT DO UPDATE), so that
-- `pg2es reindex` can check a table is covered while no forwarder runs.
GRANT SELECT, INSERT, UPDATE ON pg2es.slot_options TO pg2es_sync;

-- pg2es.requests: the forwarder reads its slot's open requests at start,
-- records their progress (UPDATE of state, target_index, error), and asks
-- for a backfill of a table that becomes covered while it streams (INSERT).
-- It never deletes one.  No other table of the schema exists.
GRANT SELECT, INSERT, UPDATE ON pg2es.requests TO pg2es_sync;
