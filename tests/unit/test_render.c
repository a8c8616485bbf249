/* Posters drawn to files: their size, a picture that cannot be read, text too long for
 * its lines, the pruning of old ones, and everything freed at the end (the leak checker). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cairo.h>
#include <cmocka.h>

#include "render/poster.h"

static char dir[64];

static int up(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/quanzi-render-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int down(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    poster_shutdown();
    return system(cmd);
}

static void assert_poster(const char *file)
{
    cairo_surface_t *s = cairo_image_surface_create_from_png(file);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    assert_int_equal(cairo_image_surface_get_width(s), POSTER_WIDTH);
    assert_int_equal(cairo_image_surface_get_height(s), POSTER_HEIGHT);
    cairo_surface_destroy(s);
}

static void draws_whatever_it_is_given(void **state)
{
    (void)state;
    char long_title[2048] = "";
    for (int i = 0; i < 60; i++)
        strcat(long_title, "薄皮核桃家庭装");
    char unreadable[128], file[128];
    snprintf(unreadable, sizeof unreadable, "%s/picture.webp", dir);
    FILE *f = fopen(unreadable, "w");
    fputs("RIFF....WEBPVP8 not really", f);
    fclose(f);
    struct poster cases[] = {
        {"山里核桃", "薄皮核桃 2.5kg", 12800, NULL, "乐乐妈 亲自试用过，推荐给你", "好吃",
         "http://127.0.0.1:8080/s/abc", "长按识别二维码"},
        /* a picture cairo cannot read, text far longer than its lines, no price, no note */
        {"山里核桃", long_title, -1, unreadable, long_title, "", "http://127.0.0.1:8080/s/x",
         "长按识别二维码"},
        /* an empty title and a link as long as a QR code of level M holds comfortably */
        {"", "", 0, "/nonexistent.jpg", "", "",
         "https://shop.example.com/s/"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(file, sizeof file, "%s/p%zu.png", dir, i);
        struct errinfo ei = {0};
        assert_int_equal(poster_render(&cases[i], file, &ei), ERR_OK);
        assert_poster(file);
    }
    /* a file that cannot be written: an error, and nothing left behind */
    struct errinfo ei = {0};
    assert_int_equal(poster_render(&cases[0], "/nonexistent-dir/p.png", &ei), ERR_INTERNAL);
}

static void prunes_old_posters(void **state)
{
    (void)state;
    char old[128], fresh[128], other[128];
    snprintf(old, sizeof old, "%s/old.png", dir);
    snprintf(fresh, sizeof fresh, "%s/fresh.png", dir);
    snprintf(other, sizeof other, "%s/notes.txt", dir);
    const char *files[] = {old, fresh, other};
    for (size_t i = 0; i < 3; i++) {
        FILE *f = fopen(files[i], "w");
        fputs("x", f);
        fclose(f);
    }
    struct timespec times[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}}; /* 1970 */
    assert_int_equal(utimensat(AT_FDCWD, old, times, 0), 0);
    assert_int_equal(utimensat(AT_FDCWD, other, times, 0), 0);
    int64_t removed = -1;
    int64_t now_ms = (int64_t)time(NULL) * 1000;
    assert_int_equal(poster_prune(dir, now_ms - 60 * 1000, &removed), ERR_OK);
    assert_true(removed >= 1); /* old.png (and none of the fresh ones) */
    assert_int_equal(access(old, F_OK), -1);
    assert_int_equal(access(fresh, F_OK), 0);
    assert_int_equal(access(other, F_OK), 0); /* not a poster */
    assert_int_equal(poster_prune("/nonexistent-dir", now_ms, &removed), ERR_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(draws_whatever_it_is_given),
        cmocka_unit_test(prunes_old_posters),
    };
    return cmocka_run_group_tests(tests, up, down);
}
