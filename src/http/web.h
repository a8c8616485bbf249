/*
 * web.h - the web front end's files (web/ in the repository), built into the
 * binary by cmake/embed_web.cmake, and which of them a path answers.
 *
 * The pages are one shell (index.html) whose ES modules draw every screen from
 * the public JSON API; any page path the shell does not know itself (/s/{token},
 * /orders/42, ...) answers the shell, which routes in the browser. API paths
 * (/api/...) and images never do: an unknown one stays a JSON 404.
 */
#ifndef QUANZI_HTTP_WEB_H
#define QUANZI_HTTP_WEB_H

#include <stddef.h>

struct web_file {
    const char *path; /* "/index.html", "/js/app.mjs" */
    const unsigned char *data;
    size_t len;
    const char *etag; /* quoted, from the content's hash */
};

extern const struct web_file web_files[];
extern const size_t web_files_len;

/* The file that answers a GET of `path` (without its query): the file of that
 * name, else the shell for a page path; NULL for the API and image paths. */
const struct web_file *web_lookup(const char *path);
/* The Content-Type of a file, from its extension. */
const char *web_content_type(const char *path);

/* The Content-Security-Policy of every answer: scripts, styles and everything
 * else from this server only (no inline script or style), images also as data:
 * or blob: URLs (a chosen file previewed before upload), no framing. */
#define WEB_CSP                                                                                    \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "        \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "                 \
    "frame-ancestors 'none'"

#endif
