/*
 * token.h - opaque random tokens. A token is 32 random bytes in unpadded
 * base64url (43 characters); only its SHA-256 (hex) is ever stored.
 */
#ifndef QUANZI_DOMAIN_TOKEN_H
#define QUANZI_DOMAIN_TOKEN_H

#include <stddef.h>

#define TOKEN_LEN 43
#define TOKEN_HASH_HEX 65

void token_new(char out[TOKEN_LEN + 1]);
void token_hash(const char *token, size_t len, char out[TOKEN_HASH_HEX]);
/* `len` random characters without 0/O, 1/I/L (easy to read aloud and to type),
 * written to out[len + 1]: invite codes. */
void token_code(char *out, size_t len);

#endif
