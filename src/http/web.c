#include "http/web.h"

#include <stdbool.h>
#include <string.h>

static const struct web_file *find(const char *path, size_t len)
{
    for (size_t i = 0; i < web_files_len; i++)
        if (strlen(web_files[i].path) == len && memcmp(web_files[i].path, path, len) == 0)
            return &web_files[i];
    return NULL;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

const struct web_file *web_lookup(const char *path)
{
    if (path[0] != '/' || starts_with(path, "/api/") || strcmp(path, "/api") == 0 ||
        starts_with(path, "/images/"))
        return NULL;
    size_t len = strcspn(path, "?");
    const struct web_file *f = len > 1 ? find(path, len) : NULL;
    return f ? f : find("/index.html", strlen("/index.html"));
}

const char *web_content_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".json", "application/json; charset=utf-8"},
        {".txt", "text/plain; charset=utf-8"},
        {".ico", "image/x-icon"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}
