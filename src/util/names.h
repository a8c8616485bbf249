/*
 * names.h - the names of an enum's values, as stored and shown: one table
 * per enum (static strings, in the enum's order), owned by the module of the
 * enum, which alone compares them.
 */
#ifndef QUANZI_UTIL_NAMES_H
#define QUANZI_UTIL_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* names[v], or "?" when v is outside the table. */
const char *name_of(const char *const *names, size_t n, int v);
/* The value named s (NULL names none): false when no name is s. */
bool name_find(const char *const *names, size_t n, const char *s, int *out);
/* The value named s, or `fallback` when no name is s (a stored value read back). */
int name_find_or(const char *const *names, size_t n, const char *s, int fallback);

#define NAMES_LEN(names) (sizeof(names) / sizeof((names)[0]))

#endif
