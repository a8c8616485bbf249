/*
 * pcache.c - SQLite's own page cache, without a walk of the whole cache at
 * every commit.
 *
 * When a b-tree page splits, SQLite (3.40, balance_nonroot) puts the new
 * pages in order by renumbering them through a spare page number: that of the
 * lock-byte page, 1 GiB into the file (page 524,289 with 2 KiB pages). The
 * default cache (pcache1) then takes that number for the largest it holds,
 * and never forgets it until a truncation: at the end of every transaction
 * SQLite asks it to drop the pages past the end of the file, and with that
 * number far past the end it walks every slot of its hash table, and every
 * page it holds, to find nothing. A store under 1 GiB paid that at most
 * commits, more as its cache filled: a growing store got slower per order
 * until the file passed 1 GiB (bench/growth.c found it: 53% of the grower's
 * time at 360,000 orders, a 440 MiB file).
 *
 * This wraps the default cache and keeps the largest page number really
 * created or moved to (the lock-byte number is only passed through, and never
 * a page of the file), and passes a truncation on only when a page at or past
 * its limit may be there. Everything else is pcache1's own.
 */
#include <sqlite3.h>
#include <stdbool.h>

#include "db/sqlite/internal.h"

#define LOCK_BYTE_OFFSET 0x40000000u /* SQLite's PENDING_BYTE */

struct wcache {
    sqlite3_pcache *inner;
    unsigned max_key; /* no page with a larger number is held but the spare one */
    unsigned spare;   /* the lock-byte page's number: only ever a page in transit */
    bool spare_held;  /* a page has that number now */
};

static sqlite3_pcache_methods2 base; /* pcache1 */

static int w_init(void *arg)
{
    (void)arg;
    return base.xInit ? base.xInit(base.pArg) : SQLITE_OK;
}

static void w_shutdown(void *arg)
{
    (void)arg;
    if (base.xShutdown)
        base.xShutdown(base.pArg);
}

static sqlite3_pcache *w_create(int page_size, int extra, int purgeable)
{
    struct wcache *c = sqlite3_malloc(sizeof *c);
    if (!c)
        return NULL;
    c->inner = base.xCreate(page_size, extra, purgeable);
    if (!c->inner) {
        sqlite3_free(c);
        return NULL;
    }
    c->max_key = 0;
    c->spare = LOCK_BYTE_OFFSET / (unsigned)page_size + 1;
    c->spare_held = false;
    return (sqlite3_pcache *)c;
}

static struct wcache *w(sqlite3_pcache *p)
{
    return (struct wcache *)p;
}

static void w_cachesize(sqlite3_pcache *p, int n)
{
    base.xCachesize(w(p)->inner, n);
}

static int w_pagecount(sqlite3_pcache *p)
{
    return base.xPagecount(w(p)->inner);
}

static sqlite3_pcache_page *w_fetch(sqlite3_pcache *p, unsigned key, int create)
{
    struct wcache *c = w(p);
    sqlite3_pcache_page *pg = base.xFetch(c->inner, key, create);
    if (pg && create && key > c->max_key)
        c->max_key = key; /* counted even if it was there already: never too small */
    return pg;
}

static void w_unpin(sqlite3_pcache *p, sqlite3_pcache_page *pg, int discard)
{
    base.xUnpin(w(p)->inner, pg, discard);
}

static void w_rekey(sqlite3_pcache *p, sqlite3_pcache_page *pg, unsigned old_key, unsigned new_key)
{
    struct wcache *c = w(p);
    base.xRekey(c->inner, pg, old_key, new_key);
    if (old_key == c->spare)
        c->spare_held = false;
    if (new_key == c->spare)
        c->spare_held = true;
    else if (new_key > c->max_key)
        c->max_key = new_key;
}

/* Drops the pages numbered `limit` and up: only when there may be one. */
static void w_truncate(sqlite3_pcache *p, unsigned limit)
{
    struct wcache *c = w(p);
    bool spare = c->spare_held && c->spare >= limit;
    if (limit > c->max_key && !spare)
        return; /* nothing held at or past the limit */
    base.xTruncate(c->inner, limit);
    if (limit <= c->max_key)
        c->max_key = limit ? limit - 1 : 0;
    if (spare)
        c->spare_held = false;
}

static void w_destroy(sqlite3_pcache *p)
{
    base.xDestroy(w(p)->inner);
    sqlite3_free(p);
}

static void w_shrink(sqlite3_pcache *p)
{
    base.xShrink(w(p)->inner);
}

bool sq_pcache_install(void)
{
    static sqlite3_pcache_methods2 ours = {
        .iVersion = 1,
        .xInit = w_init,
        .xShutdown = w_shutdown,
        .xCreate = w_create,
        .xCachesize = w_cachesize,
        .xPagecount = w_pagecount,
        .xFetch = w_fetch,
        .xUnpin = w_unpin,
        .xRekey = w_rekey,
        .xTruncate = w_truncate,
        .xDestroy = w_destroy,
        .xShrink = w_shrink,
    };
    if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &base) != SQLITE_OK || !base.xCreate ||
        !base.xFetch || !base.xTruncate || !base.xShrink)
        return false;
    return sqlite3_config(SQLITE_CONFIG_PCACHE2, &ours) == SQLITE_OK;
}
