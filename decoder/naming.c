/*-------------------------------------------------------------------------
 *
 * naming.c
 *		Elasticsearch index names derived from schema and table names.
 *
 * The default index name is PREFIX + escaped(schema) + "." +
 * escaped(table), where escaped() keeps a-z, 0-9, "_" and "-" and writes
 * every other byte as "%" and two lower-case hex digits.  Because "%" and
 * "." are always escaped inside a part, different tables always get
 * different names.  Names over Elasticsearch's 255-byte limit are cut and
 * completed with a hash of the full name (see docs/design.md).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"

#include "compat.h"
#include "naming.h"

/* Where an over-long name is cut, leaving room for "~" + 16 hex digits. */
#define INDEX_NAME_CUT (ES_MAX_INDEX_NAME - 1 - 16)

static void append_escaped_part(StringInfo out, const char *name,
								bool at_start);
static int	hex_value(char c);
static char *unescape_part(const char *part, int len);

/*
 * Appends name escaped as an index name part.  at_start says whether the
 * first byte is the first byte of the whole index name, where "_" and "-"
 * are not allowed either.
 */
static void
append_escaped_part(StringInfo out, const char *name, bool at_start)
{
	const unsigned char *p;

	for (p = (const unsigned char *) name; *p; p++)
	{
		bool		keep = (*p >= 'a' && *p <= 'z') ||
		(*p >= '0' && *p <= '9') || *p == '_' || *p == '-';

		if (keep && !(at_start && p == (const unsigned char *) name &&
					  (*p == '_' || *p == '-')))
			appendStringInfoChar(out, (char) *p);
		else
		{
			char		buf[3] = {'%'};

			hex_encode((const char *) p, 1, buf + 1);
			appendBinaryStringInfo(out, buf, 3);
		}
	}
}

/*
 * Appends the first ndigits (at most 64) lower-case hex digits of the
 * SHA-256 of data.  Must run inside a transaction (see compat.h).
 */
void
naming_append_sha256_hex(StringInfo out, const char *data, int len,
						 int ndigits)
{
	uint8		digest[PG2ES_SHA256_LENGTH];
	char		hex[2 * PG2ES_SHA256_LENGTH];

	Assert(ndigits <= 2 * PG2ES_SHA256_LENGTH);
	pg2es_sha256(data, len, digest);
	hex_encode((const char *) digest, PG2ES_SHA256_LENGTH, hex);
	appendBinaryStringInfo(out, hex, ndigits);
}

/*
 * Appends the default index name of schema.table with the given (already
 * validated, lower-case) prefix.  The result is always a valid
 * Elasticsearch index name.  Allocates in the current memory context.
 */
void
naming_default_index(StringInfo out, const char *prefix, const char *schema,
					 const char *table)
{
	StringInfoData name;
	int			cut;

	initStringInfo(&name);
	appendStringInfoString(&name, prefix);
	append_escaped_part(&name, schema, name.len == 0);
	appendStringInfoChar(&name, '.');
	append_escaped_part(&name, table, false);

	if (name.len <= ES_MAX_INDEX_NAME)
	{
		appendBinaryStringInfo(out, name.data, name.len);
		pfree(name.data);
		return;
	}

	/* Cut at INDEX_NAME_CUT bytes or just before, never inside a "%xx". */
	cut = 0;
	while (cut < name.len)
	{
		int			step = (name.data[cut] == '%') ? 3 : 1;

		if (cut + step > INDEX_NAME_CUT)
			break;
		cut += step;
	}
	appendBinaryStringInfo(out, name.data, cut);
	appendStringInfoChar(out, '~');
	naming_append_sha256_hex(out, name.data, name.len, 16);
	pfree(name.data);
}

/* The value of lower-case hex digit c (as hex_encode writes them), or -1. */
static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Undoes append_escaped_part on len bytes of part; palloc'd. */
static char *
unescape_part(const char *part, int len)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < len; i++)
	{
		if (part[i] == '%' && i + 2 < len && hex_value(part[i + 1]) >= 0 &&
			hex_value(part[i + 2]) >= 0)
		{
			appendStringInfoChar(&buf, (char) (hex_value(part[i + 1]) * 16 +
											   hex_value(part[i + 2])));
			i += 2;
		}
		else
			appendStringInfoChar(&buf, part[i]);
	}
	return buf.data;
}

/*
 * The schema and table whose default index name (naming_default_index with
 * prefix) index would be, palloc'd into *schema and *table; false when
 * index is not of that form or was cut and hashed.  The caller compares
 * the named table's actual index name, which this does not guarantee.
 */
bool
naming_parse_default_index(const char *index, const char *prefix,
						   char **schema, char **table)
{
	size_t		plen = strlen(prefix);
	const char *rest = index + plen;
	const char *dot;

	if (strncmp(index, prefix, plen) != 0 || strchr(rest, '~') != NULL ||
		(dot = strchr(rest, '.')) == NULL || strchr(dot + 1, '.') != NULL ||
		dot == rest || dot[1] == '\0')
		return false;
	*schema = unescape_part(rest, (int) (dot - rest));
	*table = unescape_part(dot + 1, (int) strlen(dot + 1));
	return true;
}

/*
 * Checks name against Elasticsearch's rules for index names: not empty,
 * no upper case, none of \ / * ? " < > | , # : or space, not starting with
 * "-", "_" or "+", not "." or "..", at most 255 bytes.  A prefix (is_prefix)
 * may be empty and is only checked for its characters and start.  Returns
 * NULL when valid, else a sentence saying what is wrong.
 */
const char *
naming_index_problem(const char *name, bool is_prefix)
{
	const char *p;

	if (!is_prefix && name[0] == '\0')
		return "An index name cannot be empty.";
	if (name[0] == '-' || name[0] == '_' || name[0] == '+')
		return "An index name cannot start with \"-\", \"_\" or \"+\".";
	if (!is_prefix && (strcmp(name, ".") == 0 || strcmp(name, "..") == 0))
		return "An index name cannot be \".\" or \"..\".";
	if (strlen(name) > ES_MAX_INDEX_NAME)
		return "An index name cannot be longer than 255 bytes.";
	for (p = name; *p; p++)
	{
		if (*p >= 'A' && *p <= 'Z')
			return "An index name must be lower case.";
		if (strchr("\\/*?\"<>|,#: ", *p) != NULL)
			return "An index name cannot contain a space or any of \\ / * ? \" < > | , # :";
	}
	return NULL;
}
