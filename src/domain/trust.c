/*
 * trust.c - trust events and the score (trust.h).
 */
#include "domain/trust.h"

#include <string.h>

#include "util/names.h"

static const char *const kind_names[] = {"sale_kept", "good_feedback", "refund",
                                         "muted",     "report_upheld", "bad_feedback"};

const char *trust_kind_name(enum trust_kind k)
{
    return name_of(kind_names, NAMES_LEN(kind_names), k);
}

bool trust_kind_good(enum trust_kind k)
{
    return k == TRUST_SALE_KEPT || k == TRUST_GOOD_FEEDBACK;
}

int64_t trust_score_milli(int64_t good, int64_t bad)
{
    return (good + 1) * 1000 / (good + bad + 2);
}

enum err trust_of(struct db *db, int64_t promoter_id, struct trust *out)
{
    static const char sql[] = "SELECT COALESCE(SUM(good), 0), COUNT(*) FROM trust_events"
                              " WHERE promoter_id = ?";
    struct db_stmt *st = NULL;
    memset(out, 0, sizeof *out);
    enum err e = db_first(db, sql, &st, DB_INT(promoter_id));
    if (e == ERR_OK) {
        out->good = db_col_int64(st, 0);
        out->bad = db_col_int64(st, 1) - out->good;
        db_done(st);
    } else if (e != ERR_NOT_FOUND) {
        return e;
    }
    out->score_milli = trust_score_milli(out->good, out->bad);
    return ERR_OK;
}

enum err trust_record(struct db *db, int64_t shop_id, int64_t promoter_id, enum trust_kind kind,
                      int64_t ref_id, int64_t now)
{
    static const char sql[] =
        "INSERT INTO trust_events (shop_id, promoter_id, kind, good, ref_id, at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (promoter_id, kind, ref_id) DO NOTHING";
    return db_run(db, sql, DB_INT(shop_id), DB_INT(promoter_id), DB_STR(trust_kind_name(kind)),
                  DB_INT(trust_kind_good(kind)), DB_INT(ref_id), DB_INT(now));
}

static enum err read_event(struct db_stmt *st, struct arena *a, void *item)
{
    (void)a;
    struct trust_event *x = item;
    int k = 0;
    x->id = db_col_int64(st, 0);
    (void)name_find(kind_names, NAMES_LEN(kind_names), db_col_text(st, 1, NULL), &k);
    x->kind = (enum trust_kind)k;
    x->good = db_col_int64(st, 2) != 0;
    x->ref_id = db_col_int64(st, 3);
    x->at_ms = db_col_int64(st, 4);
    return ERR_OK;
}

enum err trust_events(struct db *db, int64_t promoter_id, int64_t before_id, int64_t limit,
                      struct arena *a, struct trust_event **out, size_t *n, bool *more)
{
    static const char sql[] = "SELECT id, kind, good, ref_id, at FROM trust_events"
                              " WHERE promoter_id = ? AND id < ? ORDER BY id DESC LIMIT ?";
    void *items = NULL;
    enum err e =
        db_list(db, sql, limit, sizeof **out, read_event, a, &items, n, more, DB_INT(promoter_id),
                DB_INT(before_id ? before_id : INT64_MAX), DB_INT(limit + 1));
    *out = items;
    return e;
}
