/*
 * sha256.h
 *		SHA-256 (FIPS 180-4), for the hash that shortens over-long index
 *		names the way the decoder's naming.c does (docs/design.md "Index
 *		names").
 */
#ifndef PG2ES_SHA256_H
#define PG2ES_SHA256_H

#include "common.h"

#define SHA256_DIGEST_LENGTH 32

extern void sha256_digest(const void *data, size_t len,
						  uint8_t digest[SHA256_DIGEST_LENGTH]);

#endif							/* PG2ES_SHA256_H */
