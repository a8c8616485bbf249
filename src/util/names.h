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

/*
 * Defines PREFIX_name(value) and PREFIX_parse(text) of an enum over its
 * table of names; a text that names none parses as `fallback` (a stored
 * value read back: the safe state).
 */
#define NAMES_FUNCTIONS(prefix, type, names, fallback)                                             \
    const char *prefix##_name(type v)                                                              \
    {                                                                                              \
        return name_of(names, NAMES_LEN(names), v);                                                \
    }                                                                                              \
    type prefix##_parse(const char *s)                                                             \
    {                                                                                              \
        return (type)name_find_or(names, NAMES_LEN(names), s, fallback);                           \
    }

/*
 * Defines `bool PREFIX_parse(const char *s, type *out)` over an enum's table of names: false
 * (and *out untouched) when no name is s (input to refuse, rather than a stored value).
 */
#define NAMES_PARSE(prefix, type, names)                                                           \
    bool prefix##_parse(const char *s, type *out)                                                  \
    {                                                                                              \
        int v = 0;                                                                                 \
        if (!name_find(names, NAMES_LEN(names), s, &v))                                            \
            return false;                                                                          \
        *out = (type)v;                                                                            \
        return true;                                                                               \
    }

#endif
