/*
 * check.h - validation of user-written text shared by the domain modules.
 * Each check names `field` in its error.
 */
#ifndef QUANZI_DOMAIN_CHECK_H
#define QUANZI_DOMAIN_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

/* One line: 1..max_chars characters, no surrounding spaces, no control characters. */
MUST_CHECK enum err check_name(const char *s, size_t len, const char *field, int max_chars,
                               struct errinfo *ei);
/* Free text: 0..max_chars characters; newlines and tabs allowed, other controls not. */
MUST_CHECK enum err check_text(const char *s, size_t len, const char *field, int max_chars,
                               struct errinfo *ei);

#endif
