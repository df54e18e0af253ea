/*-------------------------------------------------------------------------
 *
 * options.c
 *		Parsing and matching of the plugin options.
 *
 * One parser serves the output plugin (ctx->output_plugin_options) and the
 * SQL functions (a text[] turned into the same List of DefElem), so the
 * initial load and the stream can never read an option differently.
 *
 * List values are written like SQL qualified names: parts separated by
 * ".", items by ",", and a part in double quotes ("" for a quote) is taken
 * literally, which is how a name holding ".", ",", ":", "+", "*" or '"' is
 * written.  An unquoted "*" matches any run of characters.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "nodes/parsenodes.h"
#include "nodes/value.h"
#include "utils/builtins.h"
#include "utils/varlena.h"

#include "naming.h"
#include "options.h"
#include "pg2es_protocol.h"

/* State of the scanner over one list-valued option. */
typedef struct ListScanner
{
	const char *option;
	const char *value;
	const char *p;
} ListScanner;

typedef void (*OptionParser) (Pg2esOptions *opts, const char *option,
							  const char *value);

static void invalid_value(const char *option, const char *value, const char *why);
static NamePattern scan_name(ListScanner *sc, const char *stops);
static void scan_expect(ListScanner *sc, char c, const char *why);
static bool scan_next_item(ListScanner *sc);
static const char *scan_rest_of_item(ListScanner *sc, size_t *len);
static void scan_table(ListScanner *sc, TablePattern *tp);
static void scan_begin(ListScanner *sc, const char *option, const char *value);
static bool name_patterns_equal(const NamePattern *a, const NamePattern *b);
static bool table_patterns_equal(const TablePattern *a, const TablePattern *b);
static void append_name_pattern(StringInfo out, const NamePattern *np);
static char *table_pattern_text(const TablePattern *tp);
static void check_table_not_repeated(List *list, const TablePattern *tp, const char *option);
static void check_index_not_shared(List *overrides, const IndexOverride *io);
static void parse_tables(Pg2esOptions *opts, const char *option, const char *value);
static void parse_exclude_columns(Pg2esOptions *opts, const char *option,
								  const char *value);
static void parse_index_prefix(Pg2esOptions *opts, const char *option, const char *value);
static void parse_index_names(Pg2esOptions *opts, const char *option, const char *value);
static void check_column_not_repeated(const IdColumnsOverride *ic, const char *column,
									  const char *option);
static void parse_id_columns(Pg2esOptions *opts, const char *option, const char *value);
static void parse_add_fields(Pg2esOptions *opts, const char *option, const char *value);
static void parse_versioning(Pg2esOptions *opts, const char *option, const char *value);
static void parse_partition_index(Pg2esOptions *opts, const char *option,
								  const char *value);
static void parse_framing(Pg2esOptions *opts, const char *option, const char *value);
static void parse_publications(Pg2esOptions *opts, const char *option, const char *value);
static void parse_delete_mode(Pg2esOptions *opts, const char *option, const char *value);
static bool wildcard_match(const char *pattern, const char *name);
static bool name_matches(const NamePattern *np, const char *name);
static bool table_matches(const TablePattern *tp, const char *schema, const char *table);
static void *first_table_match(List *list, const char *schema, const char *table);

/*
 * Reports an invalid option value; why is a full sentence or NULL.  Does
 * not return.
 */
static void
invalid_value(const char *option, const char *value, const char *why)
{
	ereport(ERROR,
			errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			errmsg("option \"%s\" has invalid value \"%s\"", option, value),
			why ? errdetail("%s", why) : 0);
}

/*
 * Reads one name part at the scanner position, up to (not including) the
 * next unquoted character of stops or the end.  The text is palloc'd.
 */
static NamePattern
scan_name(ListScanner *sc, const char *stops)
{
	NamePattern result;
	StringInfoData buf;

	initStringInfo(&buf);
	result.quoted = (*sc->p == '"');
	if (result.quoted)
	{
		sc->p++;
		for (;;)
		{
			if (*sc->p == '\0')
				invalid_value(sc->option, sc->value,
							  "A quoted name is not closed.");
			if (*sc->p == '"' && sc->p[1] != '"')
				break;
			if (*sc->p == '"')
				sc->p++;
			appendStringInfoChar(&buf, *sc->p++);
		}
		sc->p++;
	}
	else
	{
		while (*sc->p != '\0' && strchr(stops, *sc->p) == NULL)
		{
			if (*sc->p == '"')
				invalid_value(sc->option, sc->value,
							  "A double quote may only start a name.");
			appendStringInfoChar(&buf, *sc->p++);
		}
	}
	if (buf.len == 0)
		invalid_value(sc->option, sc->value, "A name is empty.");
	if (*sc->p != '\0' && strchr(stops, *sc->p) == NULL)
		invalid_value(sc->option, sc->value,
					  "A quoted name must be followed by a separator.");
	result.text = buf.data;
	return result;
}

/* Consumes the character c at the scanner position, or reports why not. */
static void
scan_expect(ListScanner *sc, char c, const char *why)
{
	if (*sc->p != c)
		invalid_value(sc->option, sc->value, why);
	sc->p++;
}

/*
 * Moves past the "," between two items.  Returns false at the end of the
 * value; anything else there is an error.
 */
static bool
scan_next_item(ListScanner *sc)
{
	if (*sc->p == '\0')
		return false;
	scan_expect(sc, ',', "Items must be separated by commas.");
	return true;
}

/*
 * Reads the rest of the current item, up to the next comma or the end, as
 * written.  Returns where it starts; *len is its length.
 */
static const char *
scan_rest_of_item(ListScanner *sc, size_t *len)
{
	const char *start = sc->p;

	while (*sc->p != '\0' && *sc->p != ',')
		sc->p++;
	*len = sc->p - start;
	return start;
}

/* Reads "schema.table" at the scanner position. */
static void
scan_table(ListScanner *sc, TablePattern *tp)
{
	tp->schema = scan_name(sc, ".,:+");
	scan_expect(sc, '.', "A table must be written as schema.table.");
	tp->table = scan_name(sc, ".,:+");
}

/* Starts a scanner over value; an empty list is an error. */
static void
scan_begin(ListScanner *sc, const char *option, const char *value)
{
	sc->option = option;
	sc->value = value;
	sc->p = value;
	if (*value == '\0')
		invalid_value(option, value, "The list is empty.");
}

/*
 * Whether two name patterns match the same names: the same text, quoted
 * alike or without a wildcard (then quoting changes nothing).
 */
static bool
name_patterns_equal(const NamePattern *a, const NamePattern *b)
{
	return strcmp(a->text, b->text) == 0 &&
		(a->quoted == b->quoted || strchr(a->text, '*') == NULL);
}

/* Whether two table patterns match the same tables. */
static bool
table_patterns_equal(const TablePattern *a, const TablePattern *b)
{
	return name_patterns_equal(&a->schema, &b->schema) &&
		name_patterns_equal(&a->table, &b->table);
}

/* Appends a name pattern as it would be written in an option. */
static void
append_name_pattern(StringInfo out, const NamePattern *np)
{
	const char *p;

	if (!np->quoted)
	{
		appendStringInfoString(out, np->text);
		return;
	}
	appendStringInfoChar(out, '"');
	for (p = np->text; *p; p++)
	{
		if (*p == '"')
			appendStringInfoChar(out, '"');
		appendStringInfoChar(out, *p);
	}
	appendStringInfoChar(out, '"');
}

/* A table pattern as it would be written in an option, palloc'd. */
static char *
table_pattern_text(const TablePattern *tp)
{
	StringInfoData buf;

	initStringInfo(&buf);
	append_name_pattern(&buf, &tp->schema);
	appendStringInfoChar(&buf, '.');
	append_name_pattern(&buf, &tp->table);
	return buf.data;
}

/*
 * Refuses a table pattern given a second time in a per-table option: which
 * entry would win is not for the order of a list to decide.  list holds
 * TablePatterns or structs beginning with one (options.h).
 */
static void
check_table_not_repeated(List *list, const TablePattern *tp, const char *option)
{
	ListCell   *lc;

	foreach(lc, list)
		if (table_patterns_equal(lfirst(lc), tp))
			ereport(ERROR,
					errcode(ERRCODE_SYNTAX_ERROR),
					errmsg("conflicting or redundant options"),
					errdetail("Table %s is given more than once in option \"%s\".",
							  table_pattern_text(tp), option));
}

/*
 * Refuses two index-names entries sending their tables to one index: an
 * index holds one table's documents (a TRUNCATE of one table deletes its
 * index's documents).
 */
static void
check_index_not_shared(List *overrides, const IndexOverride *io)
{
	ListCell   *lc;

	foreach(lc, overrides)
	{
		IndexOverride *other = lfirst(lc);

		if (strcmp(other->index, io->index) == 0)
			ereport(ERROR,
					errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					errmsg("tables %s and %s are both mapped to index \"%s\"",
						   table_pattern_text(&other->table),
						   table_pattern_text(&io->table), io->index),
					errdetail("An index holds the documents of one table: a TRUNCATE of either table would delete the other's documents."),
					errhint("Give each table its own index in option \"index-names\"."));
	}
}

/* include-tables, exclude-tables: schema.table patterns. */
static void
parse_tables(Pg2esOptions *opts, const char *option, const char *value)
{
	ListScanner sc;
	List	   *result = NIL;

	scan_begin(&sc, option, value);
	do
	{
		TablePattern *tp = palloc(sizeof(TablePattern));

		scan_table(&sc, tp);
		result = lappend(result, tp);
	} while (scan_next_item(&sc));

	if (strcmp(option, "include-tables") == 0)
		opts->include_tables = result;
	else
		opts->exclude_tables = result;
}

/* exclude-columns: schema.table.column patterns. */
static void
parse_exclude_columns(Pg2esOptions *opts, const char *option,
					  const char *value)
{
	ListScanner sc;

	scan_begin(&sc, option, value);
	do
	{
		ColumnPattern *cp = palloc(sizeof(ColumnPattern));

		scan_table(&sc, &cp->table);
		scan_expect(&sc, '.', "A column must be written as schema.table.column.");
		cp->column = scan_name(&sc, ".,:+");
		opts->exclude_columns = lappend(opts->exclude_columns, cp);
	} while (scan_next_item(&sc));
}

/* index-prefix: lower-cased, then checked like the start of an index name. */
static void
parse_index_prefix(Pg2esOptions *opts, const char *option, const char *value)
{
	char	   *prefix = pstrdup(value);
	char	   *p;
	const char *why;

	for (p = prefix; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	why = naming_index_problem(prefix, true);
	if (why)
		invalid_value(option, value, why);
	opts->index_prefix = prefix;
}

/* index-names: schema.table:index, the index name validated. */
static void
parse_index_names(Pg2esOptions *opts, const char *option, const char *value)
{
	ListScanner sc;

	scan_begin(&sc, option, value);
	do
	{
		IndexOverride *io = palloc(sizeof(IndexOverride));
		const char *start;
		size_t		len;
		const char *why;

		scan_table(&sc, &io->table);
		scan_expect(&sc, ':', "Each item must be written as schema.table:index.");
		start = scan_rest_of_item(&sc, &len);
		io->index = pnstrdup(start, len);
		why = naming_index_problem(io->index, false);
		if (why)
			invalid_value(option, value, why);
		check_table_not_repeated(opts->index_names, &io->table, option);
		check_index_not_shared(opts->index_names, io);
		opts->index_names = lappend(opts->index_names, io);
	} while (scan_next_item(&sc));
}

/* Refuses a column named twice in one table's id-columns entry. */
static void
check_column_not_repeated(const IdColumnsOverride *ic, const char *column,
						  const char *option)
{
	ListCell   *lc;

	foreach(lc, ic->columns)
		if (strcmp(lfirst(lc), column) == 0)
			ereport(ERROR,
					errcode(ERRCODE_SYNTAX_ERROR),
					errmsg("conflicting or redundant options"),
					errdetail("Column \"%s\" is given more than once for table %s in option \"%s\".",
							  column, table_pattern_text(&ic->table), option));
}

/* id-columns: schema.table:col1+col2. */
static void
parse_id_columns(Pg2esOptions *opts, const char *option, const char *value)
{
	ListScanner sc;

	scan_begin(&sc, option, value);
	do
	{
		IdColumnsOverride *ic = palloc0(sizeof(IdColumnsOverride));

		scan_table(&sc, &ic->table);
		scan_expect(&sc, ':', "Each item must be written as schema.table:column+column.");
		check_table_not_repeated(opts->id_columns, &ic->table, option);
		for (;;)
		{
			NamePattern col = scan_name(&sc, ",+");

			check_column_not_repeated(ic, col.text, option);
			ic->columns = lappend(ic->columns, col.text);
			if (*sc.p != '+')
				break;
			sc.p++;
		}
		opts->id_columns = lappend(opts->id_columns, ic);
	} while (scan_next_item(&sc));
}

/* add-fields: a comma list of table, lsn, commit-time, op. */
static void
parse_add_fields(Pg2esOptions *opts, const char *option, const char *value)
{
	ListScanner sc;

	scan_begin(&sc, option, value);
	do
	{
		size_t		len;
		const char *start = scan_rest_of_item(&sc, &len);

		if (len == 5 && strncmp(start, "table", len) == 0)
			opts->add_fields |= ADD_FIELD_TABLE;
		else if (len == 3 && strncmp(start, "lsn", len) == 0)
			opts->add_fields |= ADD_FIELD_LSN;
		else if (len == 11 && strncmp(start, "commit-time", len) == 0)
			opts->add_fields |= ADD_FIELD_COMMIT_TIME;
		else if (len == 2 && strncmp(start, "op", len) == 0)
			opts->add_fields |= ADD_FIELD_OP;
		else
			invalid_value(option, value,
						  "The fields are table, lsn, commit-time and op.");
	} while (scan_next_item(&sc));
}

static void
parse_versioning(Pg2esOptions *opts, const char *option, const char *value)
{
	if (!parse_bool(value, &opts->versioning))
		invalid_value(option, value, "The value must be a boolean.");
}

static void
parse_partition_index(Pg2esOptions *opts, const char *option,
					  const char *value)
{
	if (strcmp(value, "root") == 0)
		opts->partition_leaf = false;
	else if (strcmp(value, "leaf") == 0)
		opts->partition_leaf = true;
	else
		invalid_value(option, value, "The value must be root or leaf.");
}

static void
parse_framing(Pg2esOptions *opts, const char *option, const char *value)
{
	if (strcmp(value, "none") == 0)
		opts->framed = false;
	else if (strcmp(value, FRAMING_MSGPACK) == 0)
		opts->framed = true;
	else
		invalid_value(option, value, "The value must be none or msgpack.");
}

/*
 * publications: a comma list of publication names, read as SQL
 * identifiers (as pgoutput reads publication_names): unquoted names are
 * lower-cased, double quotes keep case and commas.
 */
static void
parse_publications(Pg2esOptions *opts, const char *option, const char *value)
{
	List	   *names;

	if (!SplitIdentifierString(pstrdup(value), ',', &names) || names == NIL)
		invalid_value(option, value,
					  "The value must be a comma list of publication names.");
	opts->publications = names;
}

/* delete-mode: hard (a removal deletes the document) or soft (marks it). */
static void
parse_delete_mode(Pg2esOptions *opts, const char *option, const char *value)
{
	if (strcmp(value, "hard") == 0)
		opts->soft_delete = false;
	else if (strcmp(value, "soft") == 0)
		opts->soft_delete = true;
	else
		invalid_value(option, value, "The value must be hard or soft.");
}

static const struct
{
	const char *name;
	OptionParser parse;
	bool		is_bool;		/* a bare option (no value) means true */
}			option_table[] =
{
	{"include-tables", parse_tables, false},
	{"exclude-tables", parse_tables, false},
	{"exclude-columns", parse_exclude_columns, false},
	{"index-prefix", parse_index_prefix, false},
	{"index-names", parse_index_names, false},
	{"id-columns", parse_id_columns, false},
	{"add-fields", parse_add_fields, false},
	{"versioning", parse_versioning, true},
	{"partition-index", parse_partition_index, false},
	{FRAMING_OPTION, parse_framing, false},
	{"publications", parse_publications, false},
	{"delete-mode", parse_delete_mode, false},
};

/*
 * Fills *opts from a List of DefElem (arg NULL for a bare option, else a
 * String).  Unknown, repeated and invalid options are ERRORs naming the
 * option.  Everything is allocated in the current memory context.
 */
void
options_parse(Pg2esOptions *opts, List *defels)
{
	bool		seen[lengthof(option_table)] = {0};
	ListCell   *lc;

	memset(opts, 0, sizeof(Pg2esOptions));
	opts->index_prefix = "";
	opts->versioning = true;

	foreach(lc, defels)
	{
		DefElem    *elem = lfirst_node(DefElem, lc);
		int			i;

		for (i = 0; i < lengthof(option_table); i++)
			if (strcmp(elem->defname, option_table[i].name) == 0)
				break;
		if (i == lengthof(option_table))
			ereport(ERROR,
					errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					errmsg("option \"%s\" is unknown", elem->defname),
					errhint("The options are include-tables, exclude-tables, exclude-columns, index-prefix, index-names, id-columns, add-fields, versioning, partition-index, framing, publications and delete-mode."));
		if (seen[i])
			ereport(ERROR,
					errcode(ERRCODE_SYNTAX_ERROR),
					errmsg("conflicting or redundant options"),
					errdetail("Option \"%s\" is given more than once.",
							  elem->defname));
		seen[i] = true;
		if (elem->arg == NULL && !option_table[i].is_bool)
			ereport(ERROR,
					errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					errmsg("option \"%s\" requires a value", elem->defname));
		option_table[i].parse(opts, elem->defname,
							  elem->arg ? strVal(elem->arg) : "true");
	}
}

/* Whether name matches pattern text with "*" wildcards. */
static bool
wildcard_match(const char *pattern, const char *name)
{
	const char *star = NULL;
	const char *resume = NULL;

	while (*name)
	{
		if (*pattern == '*')
		{
			star = pattern++;
			resume = name;
		}
		else if (*pattern == *name)
		{
			pattern++;
			name++;
		}
		else if (star)
		{
			pattern = star + 1;
			name = ++resume;
		}
		else
			return false;
	}
	while (*pattern == '*')
		pattern++;
	return *pattern == '\0';
}

static bool
name_matches(const NamePattern *np, const char *name)
{
	if (np->quoted)
		return strcmp(np->text, name) == 0;
	return wildcard_match(np->text, name);
}

static bool
table_matches(const TablePattern *tp, const char *schema, const char *table)
{
	return name_matches(&tp->schema, schema) && name_matches(&tp->table, table);
}

/*
 * The first element of list whose table pattern matches schema.table, or
 * NULL.  The elements are TablePatterns or structs that begin with one (the
 * per-table overrides: see options.h).
 */
static void *
first_table_match(List *list, const char *schema, const char *table)
{
	ListCell   *lc;

	foreach(lc, list)
		if (table_matches(lfirst(lc), schema, table))
			return lfirst(lc);
	return NULL;
}

/*
 * Whether the options cover schema.table.  The extension's own schema
 * (pg2es, holding the initial load's bookkeeping) is never covered.
 */
bool
options_table_covered(const Pg2esOptions *opts, const char *schema,
					  const char *table)
{
	if (strcmp(schema, "pg2es") == 0)
		return false;
	if (opts->include_tables != NIL &&
		first_table_match(opts->include_tables, schema, table) == NULL)
		return false;
	return first_table_match(opts->exclude_tables, schema, table) == NULL;
}

/* Whether exclude-columns leaves schema.table.column out of documents. */
bool
options_column_excluded(const Pg2esOptions *opts, const char *schema,
						const char *table, const char *column)
{
	ListCell   *lc;

	foreach(lc, opts->exclude_columns)
	{
		ColumnPattern *cp = lfirst(lc);

		if (table_matches(&cp->table, schema, table) &&
			name_matches(&cp->column, column))
			return true;
	}
	return false;
}

/* The index-names override for schema.table (first match), or NULL. */
const char *
options_index_override(const Pg2esOptions *opts, const char *schema,
					   const char *table)
{
	IndexOverride *io = first_table_match(opts->index_names, schema, table);

	return io != NULL ? io->index : NULL;
}

/* The id-columns names (List of char *) for schema.table, or NIL. */
List *
options_id_columns(const Pg2esOptions *opts, const char *schema,
				   const char *table)
{
	IdColumnsOverride *ic = first_table_match(opts->id_columns, schema, table);

	return ic != NULL ? ic->columns : NIL;
}
