#include "render/poster.h"

#include <cairo.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <fontconfig/fontconfig.h>
#include <pango/pangocairo.h>
#include <pthread.h>
#include <qrencode.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
/* after stdio.h: it names FILE */
#include <jpeglib.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

#define FONT "Noto Sans CJK SC"
#define MARGIN 40

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static PangoFontMap *fontmap; /* one for every thread, under `lock` */

/* --- images --- */

struct jpeg_failure {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
};

static void jpeg_fail(j_common_ptr c)
{
    longjmp(((struct jpeg_failure *)(void *)c->err)->jump, 1);
}

/* A JPEG file as a cairo surface (RGB24), or NULL. */
static cairo_surface_t *load_jpeg(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct jpeg_decompress_struct d;
    struct jpeg_failure fail;
    cairo_surface_t *volatile s = NULL;
    d.err = jpeg_std_error(&fail.mgr);
    fail.mgr.error_exit = jpeg_fail;
    if (setjmp(fail.jump)) {
        jpeg_destroy_decompress(&d);
        fclose(f);
        if (s)
            cairo_surface_destroy(s);
        return NULL;
    }
    jpeg_create_decompress(&d);
    jpeg_stdio_src(&d, f);
    jpeg_read_header(&d, TRUE);
    d.out_color_space = JCS_RGB;
    /* decode at 1/2..1/8 scale when the picture is far larger than the poster needs */
    while (d.scale_denom < 8 && d.image_width / (d.scale_denom * 2) >= POSTER_WIDTH)
        d.scale_denom *= 2;
    jpeg_start_decompress(&d);
    s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)d.output_width, (int)d.output_height);
    unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    JSAMPLE *row = malloc((size_t)d.output_width * 3);
    while (row && d.output_scanline < d.output_height) {
        JSAMPROW rows[1] = {row};
        uint32_t *out = (uint32_t *)(void *)(data + (size_t)stride * d.output_scanline);
        jpeg_read_scanlines(&d, rows, 1);
        for (JDIMENSION x = 0; x < d.output_width; x++)
            out[x] = 0xff000000u | (uint32_t)row[3 * x] << 16 | (uint32_t)row[3 * x + 1] << 8 |
                     row[3 * x + 2];
    }
    free(row);
    cairo_surface_mark_dirty(s);
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    fclose(f);
    return s;
}

static cairo_surface_t *load_image(const char *path)
{
    if (!path)
        return NULL;
    const char *dot = strrchr(path, '.');
    cairo_surface_t *s = NULL;
    if (dot && strcmp(dot, ".png") == 0)
        s = cairo_image_surface_create_from_png(path);
    else if (dot && strcmp(dot, ".jpg") == 0)
        s = load_jpeg(path);
    if (s && cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        s = NULL;
    }
    return s; /* WebP and broken files: the tile instead */
}

/* The picture, cropped to cover the w×h box at (x, y) with its middle kept. */
static void draw_cover(cairo_t *cr, cairo_surface_t *img, double x, double y, double w, double h)
{
    double iw = cairo_image_surface_get_width(img), ih = cairo_image_surface_get_height(img);
    double scale = w / iw > h / ih ? w / iw : h / ih;
    cairo_save(cr);
    cairo_rectangle(cr, x, y, w, h);
    cairo_clip(cr);
    cairo_translate(cr, x + (w - iw * scale) / 2, y + (h - ih * scale) / 2);
    cairo_scale(cr, scale, scale);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_restore(cr);
}

/* --- text --- */

/* Draws UTF-8 text in a box `width` wide from (x, y), at most `lines` lines (the last
 * ellipsized; 0: one line, centred); returns the height used. */
static double text(cairo_t *cr, PangoContext *pc, const char *s, const char *font, double x,
                   double y, double width, int lines, double r, double g, double b)
{
    PangoLayout *l = pango_layout_new(pc);
    if (lines == 0) { /* one line, centred in the box */
        pango_layout_set_alignment(l, PANGO_ALIGN_CENTER);
        lines = 1;
    }
    PangoFontDescription *fd = pango_font_description_from_string(font);
    pango_layout_set_font_description(l, fd);
    pango_font_description_free(fd);
    pango_layout_set_width(l, (int)(width * PANGO_SCALE));
    pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
    pango_layout_set_height(l, -lines);
    pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_END);
    pango_layout_set_text(l, s, -1);
    cairo_set_source_rgb(cr, r, g, b);
    cairo_move_to(cr, x, y);
    pango_cairo_update_layout(cr, l);
    pango_cairo_show_layout(cr, l);
    int w = 0, h = 0;
    pango_layout_get_pixel_size(l, &w, &h);
    g_object_unref(l);
    return h;
}

/* --- the QR code --- */

/* The link as a QR code (level M), whole modules, with its 4-module quiet zone, in a
 * size×size white box at (x, y). false when it cannot be encoded. */
static bool draw_qr(cairo_t *cr, const char *link, double x, double y, int size)
{
    QRcode *q = QRcode_encodeString(link, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!q)
        return false;
    int modules = q->width + 8;
    int unit = size / modules;
    double off = (size - unit * modules) / 2.0;
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_rectangle(cr, x, y, size, size);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    for (int row = 0; row < q->width; row++)
        for (int col = 0; col < q->width; col++)
            if (q->data[row * q->width + col] & 1)
                cairo_rectangle(cr, x + off + (col + 4) * unit, y + off + (row + 4) * unit, unit,
                                unit);
    cairo_fill(cr);
    QRcode_free(q);
    return true;
}

static void draw(cairo_t *cr, PangoContext *pc, const struct poster *p, cairo_surface_t *img)
{
    const double W = POSTER_WIDTH, H = POSTER_HEIGHT, inner = W - 2 * MARGIN;
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    /* the shop's band */
    cairo_set_source_rgb(cr, 0.91, 0.33, 0.24);
    cairo_rectangle(cr, 0, 0, W, 110);
    cairo_fill(cr);
    text(cr, pc, p->shop_name, FONT " Bold 34px", MARGIN, 30, inner, 1, 1, 1, 1);
    /* the picture, or a tile with the title's first letter */
    double y = 110, ph = 680;
    if (img) {
        draw_cover(cr, img, 0, y, W, ph);
    } else {
        cairo_set_source_rgb(cr, 0.95, 0.89, 0.83);
        cairo_rectangle(cr, 0, y, W, ph);
        cairo_fill(cr);
        char first[8] = ""; /* the title's first character (UTF-8), if it has one */
        size_t n = 0;
        if (p->title[0]) {
            n = 1;
            while (n < sizeof first - 1 && (p->title[n] & 0xc0) == 0x80)
                n++;
        }
        memcpy(first, p->title, n);
        first[n] = '\0';
        text(cr, pc, first, FONT " Bold 240px", 0, y + 170, W, 0, 0.63, 0.39, 0.23);
    }
    y += ph + 28;
    y += text(cr, pc, p->title, FONT " Bold 40px", MARGIN, y, inner, 2, 0.13, 0.13, 0.13) + 10;
    if (p->price_fen >= 0) {
        char price[48];
        snprintf(price, sizeof price, "¥%lld.%02lld", (long long)(p->price_fen / 100),
                 (long long)(p->price_fen % 100));
        y += text(cr, pc, price, FONT " Bold 52px", MARGIN, y, inner, 1, 0.91, 0.33, 0.24) + 10;
    }
    /* who recommends it, and the QR code beside their words */
    const int qr = 220;
    double qy = H - MARGIN - qr - 40, left = inner - qr - 24;
    if (y > qy - 10)
        qy = y + 10;
    double ty = qy + 6;
    ty += text(cr, pc, p->headline, FONT " Bold 30px", MARGIN, ty, left, 2, 0.2, 0.2, 0.2) + 8;
    if (p->note && *p->note)
        text(cr, pc, p->note, FONT " 26px", MARGIN, ty, left, 3, 0.45, 0.45, 0.45);
    draw_qr(cr, p->link, W - MARGIN - qr, qy, qr);
    text(cr, pc, p->caption, FONT " 22px", W - MARGIN - qr, qy + qr + 6, qr, 1, 0.5, 0.5, 0.5);
}

enum err poster_render(const struct poster *p, const char *path, struct errinfo *ei)
{
    cairo_surface_t *img = load_image(p->image_path);
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    /* one at a time: the font map is shared, and so is the temporary name */
    pthread_mutex_lock(&lock);
    if (!fontmap)
        fontmap = pango_cairo_font_map_new();
    PangoContext *pc = pango_font_map_create_context(fontmap);
    cairo_surface_t *s =
        cairo_image_surface_create(CAIRO_FORMAT_RGB24, POSTER_WIDTH, POSTER_HEIGHT);
    cairo_t *cr = cairo_create(s);
    pango_cairo_update_context(cr, pc);
    draw(cr, pc, p, img);
    cairo_destroy(cr);
    g_object_unref(pc);
    cairo_status_t st = cairo_surface_write_to_png(s, tmp);
    bool ok = st == CAIRO_STATUS_SUCCESS && rename(tmp, path) == 0;
    if (!ok)
        unlink(tmp);
    pthread_mutex_unlock(&lock);
    cairo_surface_destroy(s);
    if (img)
        cairo_surface_destroy(img);
    if (!ok) {
        LOG(LOG_ERROR, "poster_failed", "status=%d", (int)st);
        return err_set(ei, ERR_INTERNAL, NULL, "the poster could not be written");
    }
    return ERR_OK;
}

enum err poster_prune(const char *dir, int64_t before_ms, int64_t *removed)
{
    *removed = 0;
    DIR *d = opendir(dir);
    if (!d)
        return ERR_INTERNAL;
    int fd = dirfd(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t n = strlen(e->d_name);
        struct stat st;
        if (n < 5 || strcmp(e->d_name + n - 4, ".png") != 0 ||
            fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        int64_t mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        if (mtime_ms < before_ms && unlinkat(fd, e->d_name, 0) == 0)
            (*removed)++;
    }
    closedir(d);
    return ERR_OK;
}

void poster_shutdown(void)
{
    pthread_mutex_lock(&lock);
    if (fontmap) {
        g_object_unref(fontmap);
        fontmap = NULL;
    }
    cairo_debug_reset_static_data();
    FcFini();
    pthread_mutex_unlock(&lock);
}
