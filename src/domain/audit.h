/*
 * audit.h - the compliance audit of a shop: measurements that show the shop
 * sells to consumers and is not a pyramid, each with the rows behind it.
 *
 * Owns audit_events (what the rules refused, written by audit_event_add());
 * reads commissions, ledger entries, orders and promoters. The findings are
 * one table in audit.c, measured in one read snapshot.
 * A finding is `required` when the rules make any other value impossible
 * (a failing one means a bug or tampering: `quanzi audit` exits non-zero);
 * the others measure or flag.
 */
#ifndef QUANZI_DOMAIN_AUDIT_H
#define QUANZI_DOMAIN_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "util/arena.h"
#include "util/err.h"

#define AUDIT_COLS 4
#define AUDIT_ROWS_MAX 50 /* rows listed per finding; `count` has them all */

struct audit_finding {
    const char *name;  /* e.g. "max_chain_depth" */
    const char *rule;  /* the RULE tag it checks */
    const char *about; /* one line for people */
    bool required;     /* must hold (see above) */
    bool ok;
    int64_t value;
    int64_t limit;                /* what `value` is compared with (when required) */
    int64_t num, den;             /* for shares: num of den */
    const char *cols[AUDIT_COLS]; /* names of the row columns (NULL: unused) */
    int64_t (*rows)[AUDIT_COLS];  /* up to AUDIT_ROWS_MAX */
    size_t n_rows;
    int64_t count; /* rows behind the finding, all of them */
};

#define AUDIT_FINDINGS 12

struct audit {
    int64_t shop_id;
    int64_t at_ms;
    struct audit_finding f[AUDIT_FINDINGS];
    bool ok; /* every required finding holds */
};

/* Records what a rule refused (kind: self_purchase, self_invite, invite_cycle), inside
 * the caller's write transaction. */
MUST_CHECK enum err audit_event_add(struct db *db, int64_t shop_id, const char *kind,
                                    int64_t user_id, int64_t ref_id, const char *detail);

/* Every shop's id, ascending (for `quanzi audit` over all shops). */
MUST_CHECK enum err audit_shop_ids(struct db *db, struct arena *a, int64_t **ids, size_t *n);

MUST_CHECK enum err audit_shop(struct db *db, int64_t shop_id, struct arena *a, struct audit *out);

#endif
