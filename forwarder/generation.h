/*
 * generation.h
 *		Indexes behind aliases: the concrete index names of an alias's
 *		generations, and what an alias name stands for in the engine.
 *
 * The index name the decoder computes for a table (public.todos, or its
 * override) is an alias. The concrete index of its generation N (N >= 1) is
 * ALIAS~gN; "~" is escaped in every default name, so no default name looks
 * like a generation. Over 255 bytes, the alias part is cut (never inside a
 * "%xx" escape or a UTF-8 sequence) and "~" + 16 hex digits of SHA-256(ALIAS)
 * go before "~gN", as the decoder shortens long names. A concrete index named
 * ALIAS itself (made by older pg2es versions or by the Debezium sink) is a
 * legacy index and is used as it is. Indexes pg2es creates carry
 * "_meta":{"pg2es":{"table":...,"alias":...,"generation":N}} in their mapping.
 */
#ifndef PG2ES_GENERATION_H
#define PG2ES_GENERATION_H

#include "escall.h"

/* Elasticsearch's limit on an index name, in bytes */
#define GENERATION_MAX_INDEX_NAME 255

/* What an alias name stands for in the engine. */
typedef enum AliasKind
{
	ALIAS_ABSENT,				/* neither an index nor an alias */
	ALIAS_LEGACY,				/* a concrete index of that very name */
	ALIAS_ALIASED				/* an alias, with a write index */
} AliasKind;

typedef struct AliasTarget
{
	AliasKind	kind;
	char	   *index;			/* owned: the concrete index writes go to (the
								 * name itself when legacy); NULL when absent */
	unsigned int generation;	/* N when index is ALIAS~gN, else 0 */
	char	   *table;			/* owned: index's _meta.pg2es.table, or NULL */
} AliasTarget;

extern PG2ES_MUSTCHECK char *generation_index_name(const char *alias, size_t len, unsigned int generation);
extern unsigned int generation_of_index(const char *alias, const char *index);
extern PG2ES_MUSTCHECK bool generation_parse_target(const char *alias, const char *body,
													size_t len, AliasTarget *out);
extern PG2ES_MUSTCHECK bool generation_lookup(EsCall *call, const char *alias,
											  AliasTarget *out);
extern unsigned int generation_next(const AliasTarget *target);
extern PG2ES_MUSTCHECK char *generation_mapping_with_meta(const char *mapping, const char *table,
														  const char *alias, unsigned int generation);
extern void generation_target_free(AliasTarget *target);

#endif							/* PG2ES_GENERATION_H */
