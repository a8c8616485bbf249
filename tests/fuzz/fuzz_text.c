/*
 * fuzz_text.c - the small text helpers every input passes through: ids and
 * numbers from paths, queries and config; UTF-8 counting and repair (error
 * messages); trimming; control characters; Idempotency-Key values.
 *
 * Invariants: an accepted id is the canonical decimal spelling of a positive
 * number; an accepted int64 is within its bounds; repaired text is valid
 * UTF-8, never longer, unchanged if it was valid already, and a second
 * repair changes nothing; a trimmed slice lies within its input with no
 * space at either end.
 */
#include <inttypes.h>
#include <string.h>

#include "domain/idempotency.h"
#include "fuzz.h"
#include "util/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    FUZZ_CHECK(s != NULL);
    memcpy(s, data, size);
    s[size] = '\0';
    size_t len = strlen(s); /* up to the first NUL, as C strings from the wire */

    int64_t id = 0;
    if (text_parse_id(s, size, &id)) {
        char back[32];
        snprintf(back, sizeof back, "%" PRId64, id);
        FUZZ_CHECK(id > 0 && strlen(back) == size && memcmp(back, s, size) == 0);
    }

    int64_t bound = size ? (int64_t)data[0] * 1000 : 0, v = 0; /* the first byte sets it */
    if (text_parse_int64(s, -bound, bound, &v))
        FUZZ_CHECK(v >= -bound && v <= bound);

    long chars = text_utf8_chars(s, len);
    FUZZ_CHECK(chars <= (long)len);
    char *fixed = malloc(len + 1);
    FUZZ_CHECK(fixed != NULL);
    memcpy(fixed, s, len + 1);
    text_utf8_repair(fixed);
    size_t flen = strlen(fixed);
    FUZZ_CHECK(flen <= len && text_utf8_chars(fixed, flen) >= 0);
    if (chars >= 0)
        FUZZ_CHECK(strcmp(fixed, s) == 0);
    char *twice = malloc(flen + 1);
    FUZZ_CHECK(twice != NULL);
    memcpy(twice, fixed, flen + 1);
    text_utf8_repair(twice);
    FUZZ_CHECK(strcmp(twice, fixed) == 0);

    const char *t = s;
    size_t tlen = len;
    text_trim(&t, &tlen);
    FUZZ_CHECK(t >= s && t + tlen <= s + len);
    if (tlen)
        FUZZ_CHECK(t[0] != ' ' && t[tlen - 1] != ' ');

    if (!text_has_control(s, len))
        FUZZ_CHECK(!text_has_control_but_newline(s, len));

    if (idem_key_valid(s))
        for (size_t i = 0; i < len; i++)
            FUZZ_CHECK(s[i] > ' ' && s[i] < 0x7f);

    free(twice);
    free(fixed);
    free(s);
    return 0;
}
