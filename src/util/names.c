#include "util/names.h"

#include <string.h>

const char *name_of(const char *const *names, size_t n, int v)
{
    return v >= 0 && (size_t)v < n ? names[v] : "?";
}

bool name_find(const char *const *names, size_t n, const char *s, int *out)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (int)i;
            return true;
        }
    return false;
}

int name_find_or(const char *const *names, size_t n, const char *s, int fallback)
{
    int v = fallback;
    (void)name_find(names, n, s, &v);
    return v;
}
