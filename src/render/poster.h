/*
 * poster.h - a share's or a promoter's poster (推广海报): a 750×1334 PNG with
 * the product image, title and price, who recommends it, and a QR code of the
 * link, drawn with cairo and pango in "Noto Sans CJK SC" (fonts-noto-cjk; a
 * generic family draws empty boxes for Chinese without an error), the QR code
 * from libqrencode.
 *
 * Rendering is serialised (one font map, not one per thread) and cheap enough
 * for that: the API caches every poster by the hash of what it shows.
 */
#ifndef QUANZI_RENDER_POSTER_H
#define QUANZI_RENDER_POSTER_H

#include <stdint.h>

#include "util/err.h"

#define POSTER_WIDTH 750
#define POSTER_HEIGHT 1334

struct poster {
    const char *shop_name;
    const char *title;      /* the product's, or the shop's for a link poster */
    int64_t price_fen;      /* < 0: no price line */
    const char *image_path; /* a PNG or JPEG file, or NULL: a tile with the title's first letter */
    const char *headline;   /* "乐乐妈 亲自用过，推荐给你" */
    const char *note;       /* the sharer's words, or "" */
    const char *link;       /* the absolute URL the QR code holds */
    const char *caption;    /* under the QR code: "长按识别二维码" */
};

/* Draws `p` into a PNG file at `path` (written whole or not at all). */
MUST_CHECK enum err poster_render(const struct poster *p, const char *path, struct errinfo *ei);

/* Removes the posters (*.png) of `dir` written before `before_ms` (wall clock, ms since
 * the epoch): a kept poster is drawn again when asked for. *removed: how many went. */
MUST_CHECK enum err poster_prune(const char *dir, int64_t before_ms, int64_t *removed);

/* Frees the font map, cairo's and fontconfig's caches: at exit, for the leak checkers. */
void poster_shutdown(void);

#endif
