/*-------------------------------------------------------------------------
 *
 * ddl.c
 *		What a schema change means for the indexes of the tables it
 *		touches (README, "Schema changes").
 *
 * The WAL does not carry the rows an ALTER TABLE rewrites or moves, so
 * the extension's event trigger (sql/pg2es--1.0--1.1.sql) asks for a
 * request in pg2es.requests after such a change, which the forwarder
 * carries out at that point of the stream.  This file reads the collected
 * command, which SQL cannot look into.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "tcop/deparse_utility.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(pg2es_ddl_request_kind);

/* The request kinds, weakest first: a reindex also does a backfill's work. */
typedef enum DdlRequest
{
	DDL_NONE,
	DDL_BACKFILL,
	DDL_REINDEX
} DdlRequest;

static DdlRequest alter_table_request(const AlterTableCmd *cmd);
static DdlRequest rename_request(const RenameStmt *stmt);

/*
 * What one ALTER TABLE subcommand needs: a changed or dropped column
 * changes the mapping and every document (reindex: a new generation with
 * the mapping derived again); an attached or detached partition adds or
 * removes rows of the root's index (backfill: copy, then delete the
 * documents whose rows are gone).
 */
static DdlRequest
alter_table_request(const AlterTableCmd *cmd)
{
	switch (cmd->subtype)
	{
		case AT_AlterColumnType:
		case AT_DropColumn:
#if PG_VERSION_NUM < 160000
			/* before 16, a DROP COLUMN that recurses to children is this */
		case AT_DropColumnRecurse:
#endif
			return DDL_REINDEX;
		case AT_AttachPartition:
		case AT_DetachPartition:
			return DDL_BACKFILL;
		default:
			return DDL_NONE;
	}
}

/*
 * A renamed table writes to the index named after its new name, which
 * does not exist yet: a reindex creates it with every row (a backfill
 * copies into an existing index only); a renamed column's documents keep
 * the old field, and the mapping names it: reindex.
 */
static DdlRequest
rename_request(const RenameStmt *stmt)
{
	if (stmt->renameType == OBJECT_TABLE ||
		(stmt->renameType == OBJECT_COLUMN && stmt->relationType == OBJECT_TABLE))
		return DDL_REINDEX;
	return DDL_NONE;
}

/*
 * pg2es.ddl_request_kind(pg_ddl_command): 'reindex', 'backfill' or NULL,
 * what the command (from pg_event_trigger_ddl_commands()) needs for the
 * index of the table it changed.
 */
Datum
pg2es_ddl_request_kind(PG_FUNCTION_ARGS)
{
	CollectedCommand *cmd = (CollectedCommand *) PG_GETARG_POINTER(0);
	DdlRequest	request = DDL_NONE;
	ListCell   *lc;

	if (cmd->type == SCT_AlterTable)
	{
		foreach(lc, cmd->d.alterTable.subcmds)
		{
			CollectedATSubcmd *sub = lfirst(lc);
			DdlRequest	one = alter_table_request((AlterTableCmd *) sub->parsetree);

			request = Max(request, one);
		}
	}
	else if (cmd->type == SCT_Simple && IsA(cmd->parsetree, RenameStmt))
		request = rename_request((RenameStmt *) cmd->parsetree);
	if (request == DDL_NONE)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(request == DDL_REINDEX ? "reindex" : "backfill"));
}
