#include "domain/check.h"

#include "util/text.h"

enum err check_name(const char *name, size_t len, const char *field, int max_chars,
                    struct errinfo *ei)
{
    const char *s = name;
    size_t n = len;
    text_trim(&s, &n);
    long chars = text_utf8_chars(s, n);
    if (chars < 1 || chars > max_chars)
        return err_set(ei, ERR_INVALID, field, "%s must have 1 to %d characters", field, max_chars);
    if (n != len)
        return err_set(ei, ERR_INVALID, field, "%s may not start or end with spaces", field);
    if (text_has_control(s, n))
        return err_set(ei, ERR_INVALID, field, "%s may not contain control characters", field);
    return ERR_OK;
}

enum err check_text(const char *s, size_t len, const char *field, int max_chars, struct errinfo *ei)
{
    long chars = text_utf8_chars(s, len);
    if (chars < 0 || chars > max_chars)
        return err_set(ei, ERR_INVALID, field, "%s must have at most %d characters", field,
                       max_chars);
    if (text_has_control_but_newline(s, len))
        return err_set(ei, ERR_INVALID, field, "%s may not contain control characters", field);
    return ERR_OK;
}
