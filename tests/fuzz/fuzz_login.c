/*
 * fuzz_login.c - the login a member types (a mobile number or an e-mail
 * address) and its normal form, the one key of an account.
 *
 * Invariants: an accepted login is an 11-digit mainland mobile number, a '+'
 * and 8 to 15 digits, or an e-mail address in lower case with exactly one
 * '@' that is neither first nor last; normalising it again gives it back
 * (two spellings of one login can never make two accounts); a refusal
 * names the field "login".
 */
#include <ctype.h>
#include <string.h>

#include "domain/account.h"
#include "fuzz.h"
#include "util/limits.h"

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[LIMIT_LOGIN_BYTES + 1], again[LIMIT_LOGIN_BYTES + 1];
    struct errinfo ei = {0};
    if (account_normalize_login((const char *)data, size, out, &ei) != ERR_OK) {
        FUZZ_CHECK(ei.field && strcmp(ei.field, "login") == 0);
        return 0;
    }
    size_t n = strlen(out);
    const char *at = strchr(out, '@');
    if (at) {
        FUZZ_CHECK(at != out && at[1] != '\0' && strchr(at + 1, '@') == NULL);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(!isupper((unsigned char)out[i]) && !isspace((unsigned char)out[i]));
    } else if (out[0] == '+') {
        FUZZ_CHECK(n >= 9 && n <= 16 && all_digits(out + 1, n - 1));
    } else {
        FUZZ_CHECK(n == 11 && out[0] == '1' && out[1] >= '3' && all_digits(out, n));
    }
    FUZZ_CHECK(account_normalize_login(out, n, again, &ei) == ERR_OK);
    FUZZ_CHECK(strcmp(out, again) == 0);
    return 0;
}
