#include "http/router.h"

#include <string.h>

#include "util/arena.h"
#include "util/text.h"

static bool is_int_param(const char *p, size_t len)
{
    /* "{id}" or "{..._id}" */
    return (len == 4 && memcmp(p, "{id}", 4) == 0) ||
           (len > 5 && memcmp(p + len - 4, "_id}", 4) == 0);
}

/* Matches one pattern against split segments; fills params on success. */
static bool match_one(const char *pattern, char **segs, int nsegs, struct route_params *params)
{
    const char *p = pattern;
    int i = 0;
    params->n = 0;
    while (*p) {
        if (*p != '/')
            return false;
        p++;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (i >= nsegs)
            return false;
        const char *seg = segs[i];
        size_t seg_len = strlen(seg);
        if (len > 1 && p[0] == '{') {
            if (seg_len == 0 || params->n >= LIMIT_PATH_SEGMENTS)
                return false;
            int64_t v = 0;
            if (is_int_param(p, len) && !text_parse_id(seg, seg_len, &v))
                return false;
            params->ids[params->n] = v;
            params->strs[params->n] = seg;
            params->n++;
        } else if (len != seg_len || memcmp(p, seg, len) != 0) {
            return false;
        }
        i++;
        p += len;
    }
    return i == nsegs;
}

int router_match(const struct route *routes, size_t n, const char *method, char *path,
                 struct route_params *params)
{
    char *segs[LIMIT_PATH_SEGMENTS + 1];
    int nsegs = 0;
    if (path[0] != '/')
        return -1;
    char *s = path + 1;
    for (;;) {
        if (nsegs > LIMIT_PATH_SEGMENTS)
            return -1;
        segs[nsegs++] = s;
        char *slash = strchr(s, '/');
        if (!slash)
            break;
        *slash = '\0';
        s = slash + 1;
    }
    bool path_matched = false;
    struct route_params tmp;
    for (size_t i = 0; i < n; i++) {
        if (!match_one(routes[i].pattern, segs, nsegs, &tmp))
            continue;
        if (strcmp(routes[i].method, method) == 0) {
            *params = tmp;
            return (int)i;
        }
        path_matched = true;
    }
    return path_matched ? -2 : -1;
}

const char *router_allow(const struct route *routes, size_t n, const char *path, struct arena *a)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    char out[64] = "";
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        char *copy = arena_strdup(a, path);
        struct route_params p;
        if (!copy || router_match(routes, n, methods[m], copy, &p) < 0)
            continue;
        if (out[0])
            strcat(out, ", ");
        strcat(out, methods[m]);
    }
    return arena_strdup(a, out);
}
