#include "util/assert.h"

#include "util/log.h"

#ifdef QUANZI_INVARIANTS_ABORT
bool invariants_abort = true;
#else
bool invariants_abort = false;
#endif

bool invariant_failed(const char *what, const char *file, int line)
{
    LOG(LOG_ERROR, "invariant_failed", "what=\"%s\" at=%s:%d", what, file, line);
    if (invariants_abort) {
        fprintf(stderr, "fatal: invariant broken: %s at %s:%d\n", what, file, line);
        abort();
    }
    return false;
}
