/*
 * memo.h - a per-thread memo of public renderings (opaque bytes), for reads
 * that every visitor makes the same way (a shop or product page).
 *
 * An entry is served while no object of its kind was written by this
 * process since it was stored, and for at most MEMO_TTL_MS (the bound on
 * staleness across processes). Never use it for decisions: orders, stock
 * checks and permissions read the store.
 */
#ifndef QUANZI_DOMAIN_MEMO_H
#define QUANZI_DOMAIN_MEMO_H

#include <stddef.h>
#include <stdint.h>

enum memo_kind { MEMO_SHOP, MEMO_PRODUCT, MEMO_KINDS };

#define MEMO_TTL_MS 1000

/* Every write of an object of kind `k` calls this. */
void memo_invalidate(enum memo_kind k);
/* The stored rendering, valid until this thread's next memo call, or NULL. */
const char *memo_get(enum memo_kind k, int64_t id, size_t *len);
void memo_put(enum memo_kind k, int64_t id, const char *bytes, size_t len);

#endif
