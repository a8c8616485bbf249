/*
 * test_web.c - the web front end as the server answers it: the files built into
 * the binary with their types, ETags and security headers, the shell for page
 * paths, JSON 404s for API paths, GET /api/v1/session, and the posters (their
 * QR code read back with zbarimg, their picture from a PNG or a JPEG).
 */
#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cairo.h>
/* after stdio.h: it names FILE */
#include <jpeglib.h>
#include "harness.h"

static void assert_header(const struct resp *r, const char *name, const char *want)
{
    char *v = resp_header(r, name);
    assert_non_null(v);
    if (!strstr(v, want))
        fail_msg("%s: %s (wanted %s)", name, v, want);
    free(v);
}

static void shell_and_files(void **state)
{
    (void)state;
    struct resp r;
    assert_int_equal(http(&S, "GET", "/", NULL, NULL, &r), 200);
    assert_header(&r, "Content-Type", "text/html; charset=utf-8");
    assert_header(&r, "Content-Security-Policy", "script-src 'self'");
    assert_header(&r, "X-Content-Type-Options", "nosniff");
    assert_header(&r, "Referrer-Policy", "same-origin");
    assert_non_null(strstr(r.body, "<script type=\"module\" src=\"/js/app.mjs\"></script>"));
    char *etag = resp_header(&r, "ETag");
    assert_non_null(etag);
    resp_free(&r);

    /* revalidated by its ETag: 304 without a body */
    char inm[128];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    const char *const h[] = {inm, NULL};
    assert_int_equal(http_ex(&S, "GET", "/", NULL, NULL, h, &r), 304);
    assert_int_equal(r.len, 0);
    resp_free(&r);
    free(etag);

    /* modules must be text/javascript, or Chromium refuses them */
    assert_int_equal(http(&S, "GET", "/js/app.mjs", NULL, NULL, &r), 200);
    assert_header(&r, "Content-Type", "text/javascript");
    assert_non_null(strstr(r.body, "import"));
    resp_free(&r);
    assert_int_equal(http(&S, "GET", "/css/app.css", NULL, NULL, &r), 200);
    assert_header(&r, "Content-Type", "text/css");
    resp_free(&r);

    /* a page path the browser routes itself: the shell, query and all */
    const char *pages[] = {"/s/abcdef", "/orders/42", "/seller/audit?x=1", "/product/1"};
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        assert_int_equal(http(&S, "GET", pages[i], NULL, NULL, &r), 200);
        assert_non_null(strstr(r.body, "/js/app.mjs"));
        resp_free(&r);
    }
}

static void api_paths_stay_json(void **state)
{
    (void)state;
    struct resp r;
    const char *paths[] = {"/api/v1/nope", "/api/v1/products/999", "/api", "/images/nope.png"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        assert_int_equal(http(&S, "GET", paths[i], NULL, NULL, &r), 404);
        assert_header(&r, "Content-Type", "application/json");
        assert_string_equal(jstr(r.json, "error.code"), "not_found");
        /* the same headers as a page */
        assert_header(&r, "Content-Security-Policy", "default-src 'self'");
        resp_free(&r);
    }
    /* a page's GET carries no body */
    assert_int_equal(http(&S, "GET", "/feed", NULL, "{\"x\":1}", &r), 413);
    assert_string_equal(jstr(r.json, "error.code"), "body_too_large");
    resp_free(&r);
    /* a page path takes only GET and HEAD */
    assert_int_equal(http(&S, "POST", "/orders/42", NULL, "{}", &r), 404);
    assert_string_equal(jstr(r.json, "error.code"), "not_found");
    resp_free(&r);
}

static void session_anonymous_then_logged_in(void **state)
{
    (void)state;
    struct resp r;
    /* anonymous: 200 with user null (the page asks without an error in the console) */
    assert_int_equal(http(&S, "GET", "/api/v1/session", NULL, NULL, &r), 200);
    assert_true(json_is_null(jget(r.json, "user")));
    assert_true(json_is_null(jget(r.json, "home_shop_id")));
    resp_free(&r);

    int64_t uid = 0;
    char *tok = register_user(&S, "13920000001", "小周", &uid);
    int64_t shop = create_shop(&S, tok, "web-home");
    char *tok2 = register_user(&S, "13920000002", "小李", NULL);
    create_shop(&S, tok2, "web-second");
    assert_int_equal(http(&S, "GET", "/api/v1/session", tok, NULL, &r), 200);
    assert_int_equal(jint(r.json, "user.id"), uid);
    assert_string_equal(jstr(r.json, "user.display_name"), "小周");
    assert_int_equal(jint(r.json, "home_shop_id"), shop); /* the oldest shop */
    json_t *shops = jget(r.json, "user.shops");
    assert_int_equal(json_array_size(shops), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(shops, 0), "role")),
                        "owner");
    resp_free(&r);
    /* a stale token is browsing anonymously, not an error */
    assert_int_equal(http(&S, "GET", "/api/v1/session", "not-a-token", NULL, &r), 200);
    assert_true(json_is_null(jget(r.json, "user")));
    resp_free(&r);
    free(tok);
    free(tok2);
}

/* --- posters --- */

struct bytes {
    unsigned char *p;
    size_t n;
};

static cairo_status_t to_bytes(void *closure, const unsigned char *data, unsigned int len)
{
    struct bytes *b = closure;
    b->p = realloc(b->p, b->n + len);
    memcpy(b->p + b->n, data, len);
    b->n += len;
    return CAIRO_STATUS_SUCCESS;
}

/* A 96×96 picture of one colour, as PNG or JPEG bytes. */
static struct bytes picture(bool jpeg, unsigned char red, unsigned char green, unsigned char blue)
{
    struct bytes b = {NULL, 0};
    if (!jpeg) {
        cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 96, 96);
        cairo_t *cr = cairo_create(s);
        cairo_set_source_rgb(cr, red / 255.0, green / 255.0, blue / 255.0);
        cairo_paint(cr);
        cairo_destroy(cr);
        cairo_surface_write_to_png_stream(s, to_bytes, &b);
        cairo_surface_destroy(s);
        return b;
    }
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned long n = 0;
    jpeg_mem_dest(&c, &b.p, &n);
    c.image_width = c.image_height = 96;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_start_compress(&c, TRUE);
    unsigned char row[96 * 3];
    for (int x = 0; x < 96; x++)
        row[3 * x] = red, row[3 * x + 1] = green, row[3 * x + 2] = blue;
    while (c.next_scanline < 96) {
        JSAMPROW rows[1] = {row};
        jpeg_write_scanlines(&c, rows, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    b.n = n;
    return b;
}

/* The poster's picture area, sampled in its middle: 0xRRGGBB. */
static uint32_t poster_pixel(const char *file, int x, int y)
{
    cairo_surface_t *s = cairo_image_surface_create_from_png(file);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    assert_int_equal(cairo_image_surface_get_width(s), 750);
    assert_int_equal(cairo_image_surface_get_height(s), 1334);
    const unsigned char *d = cairo_image_surface_get_data(s);
    uint32_t px =
        *(const uint32_t *)(const void *)(d + y * cairo_image_surface_get_stride(s) + 4 * x);
    cairo_surface_destroy(s);
    return px & 0xffffff;
}

/* What zbarimg reads off a PNG file: the QR code's text. */
static char *qr_text(const char *file)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "zbarimg -q --raw '%s' 2>/dev/null", file);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    static char out[512];
    size_t n = fread(out, 1, sizeof out - 1, p);
    pclose(p);
    out[n] = '\0';
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    return out;
}

static void save(const struct resp *r, const char *file)
{
    FILE *f = fopen(file, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(r->body, 1, r->len, f), r->len);
    fclose(f);
}

static int64_t product_with_picture(const char *owner, int64_t shop, bool jpeg)
{
    int64_t id = create(&S, fmt("/api/v1/shops/%lld/products", (long long)shop), owner,
                        "{\"title\":\"薄皮核桃 2.5kg 家庭装（老树果）\",\"price_fen\":12800,"
                        "\"stock\":10,\"status\":\"on_sale\",\"trial_available\":true,"
                        "\"tags\":{\"坚果\":0.9}}");
    struct bytes b = picture(jpeg, 0x20, 0x90, 0x30);
    char auth[128];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", owner);
    const char *h[] = {auth, jpeg ? "Content-Type: image/jpeg" : "Content-Type: image/png", NULL};
    struct resp r;
    assert_int_equal(http_bytes(&S, "POST", fmt("/api/v1/products/%lld/images", (long long)id),
                                (const char *)b.p, b.n, h, &r),
                     201);
    resp_free(&r);
    free(b.p);
    return id;
}

static void posters(void **state)
{
    (void)state;
    struct resp r;
    char *owner = register_user(&S, "13920000010", "周师傅", NULL);
    int64_t shop = create_shop(&S, owner, "web-posters");
    int64_t circle = create(&S, fmt("/api/v1/shops/%lld/circles", (long long)shop), owner,
                            "{\"name\":\"宝妈群\",\"kind\":\"parents\"}");
    int64_t product = 0;
    for (int jpeg = 0; jpeg < 2; jpeg++) {
        product = product_with_picture(owner, shop, jpeg);
        int64_t share = create(&S, "/api/v1/shares", owner,
                               fmt("{\"product_id\":%lld,\"circle_id\":%lld,\"note\":\"自家的\"}",
                                   (long long)product, (long long)circle));
        assert_int_equal(
            http(&S, "GET", fmt("/api/v1/shares/%lld", (long long)share), owner, NULL, &r), 200);
        char link[256];
        snprintf(link, sizeof link, "http://127.0.0.1:%d%s", S.port, jstr(r.json, "link"));
        resp_free(&r);

        const char *path = fmt("/api/v1/shares/%lld/poster.png", (long long)share);
        assert_int_equal(http(&S, "GET", path, owner, NULL, &r), 200);
        char *ct = resp_header(&r, "Content-Type");
        assert_string_equal(ct, "image/png");
        free(ct);
        assert_true(r.len > 8 && memcmp(r.body, "\x89PNG\r\n\x1a\n", 8) == 0);
        char file[320];
        snprintf(file, sizeof file, "%s/poster-%d.png", S.dir, jpeg);
        save(&r, file);
        char *etag = resp_header(&r, "ETag");
        resp_free(&r);
        /* the exact link, the size, and the product's picture (green) where it belongs */
        assert_string_equal(qr_text(file), link);
        uint32_t px = poster_pixel(file, 375, 450);
        assert_true((px >> 8 & 0xff) > 0x70 && (px >> 16 & 0xff) < 0x40);

        /* cached: the same file again, revalidated by its ETag */
        char inm[128];
        snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
        char auth[128];
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", owner);
        const char *h[] = {inm, auth, NULL};
        assert_int_equal(http_ex(&S, "GET", path, NULL, NULL, h, &r), 304);
        resp_free(&r);
        free(etag);
    }

    /* a promoter's link poster: the link of their own token */
    int64_t uid = 0;
    char *member = register_user(&S, "13920000012", "乐乐妈", &uid);
    create(&S, fmt("/api/v1/shops/%lld/trials", (long long)shop), owner,
           fmt("{\"user_id\":%lld,\"product_id\":%lld}", (long long)uid, (long long)product));
    int64_t pid = create(&S, fmt("/api/v1/shops/%lld/promoters", (long long)shop), member, "{}");
    assert_int_equal(
        http(&S, "POST", fmt("/api/v1/promoters/%lld/approve", (long long)pid), owner, NULL, &r),
        200);
    resp_free(&r);
    assert_int_equal(
        http(&S, "GET", fmt("/api/v1/me/promoter?shop_id=%lld", (long long)shop), member, NULL, &r),
        200);
    char link[256];
    snprintf(link, sizeof link, "http://127.0.0.1:%d/s/%s", S.port, jstr(r.json, "ref_token"));
    resp_free(&r);
    assert_int_equal(http(&S, "GET",
                          fmt("/api/v1/me/promoter/poster.png?shop_id=%lld", (long long)shop),
                          member, NULL, &r),
                     200);
    char file[320];
    snprintf(file, sizeof file, "%s/poster-link.png", S.dir);
    save(&r, file);
    resp_free(&r);
    assert_string_equal(qr_text(file), link);
    free(member);
    /* a promoter the shop has not approved yet has no link poster */
    int64_t uid2 = 0;
    char *waiting = register_user(&S, "13920000013", "果果妈", &uid2);
    create(&S, fmt("/api/v1/shops/%lld/trials", (long long)shop), owner,
           fmt("{\"user_id\":%lld,\"product_id\":%lld}", (long long)uid2, (long long)product));
    create(&S, fmt("/api/v1/shops/%lld/promoters", (long long)shop), waiting, "{}");
    refused(&S, "GET", fmt("/api/v1/me/promoter/poster.png?shop_id=%lld", (long long)shop), waiting,
            NULL, 404, "not_found", "shop_id");
    free(waiting);

    /* another shop's member: as if the share did not exist */
    char *other = register_user(&S, "13920000011", "路人", NULL);
    refused(&S, "GET", "/api/v1/shares/1/poster.png", other, NULL, 404, "not_found", NULL);
    refused(&S, "GET", "/api/v1/shares/999/poster.png", owner, NULL, 404, "not_found", NULL);
    /* a link poster is for the shop's own active promoters */
    refused(&S, "GET", fmt("/api/v1/me/promoter/poster.png?shop_id=%lld", (long long)shop), other,
            NULL, 404, "not_found", "shop_id");
    refused(&S, "GET", "/api/v1/me/promoter/poster.png", other, NULL, 400, "missing_field",
            "shop_id");
    free(other);
    free(owner);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shell_and_files),
        cmocka_unit_test(api_paths_stay_json),
        cmocka_unit_test(session_anonymous_then_logged_in),
        cmocka_unit_test(posters),
    };
    int rc = cmocka_run_group_tests(tests, srv_group_up, srv_group_down);
    curl_global_cleanup();
    return rc;
}
