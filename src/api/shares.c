/*
 * shares.c - recommendations and what members do with them: shares and
 * their audience reports, the feed, mutes, reports, and trust (domain/
 * share.h, feed.h, trust.h). A sharer sees how many their share reached and
 * why the others were left out, never who: that a named member muted them
 * is the member's business. The shop sees each person and their outcome.
 */
#include <string.h>

#include "api/api.h"
#include "api/common.h"
#include "domain/experience.h"
#include "domain/feed.h"
#include "domain/share.h"
#include "domain/stats.h"
#include "domain/trust.h"
#include "util/clock.h"

static json_t *report_json(const struct share_report *rep)
{
    json_t *filtered = json_object();
    for (int o = 0; o < SHARE_OUTCOMES_N; o++)
        if (o != SHARE_DELIVERED)
            json_object_set_new(filtered, share_outcome_name((enum share_outcome)o),
                                json_integer(rep->count[o]));
    return json_pack("{s:I, s:I, s:o}", "candidates", (json_int_t)rep->candidates, "delivered",
                     (json_int_t)rep->count[SHARE_DELIVERED], "filtered", filtered);
}

static json_t *trust_json(int64_t milli)
{
    return milli < 0 ? json_null() : json_weight(milli);
}

static json_t *share_json(const void *item)
{
    const struct share *s = item;
    char link[96];
    snprintf(link, sizeof link, "/s/%s", s->token);
    return json_pack(
        "{s:I, s:s, s:s, s:i, s:I, s:I, s:o, s:I, s:s, s:o, s:s, s:{s:I, s:s, s:s, s:o}, s:o,"
        " s:o, s:o}",
        "id", (json_int_t)s->id, "token", s->token, "link", link, "hop", s->hop, "shop_id",
        (json_int_t)s->shop_id, "product_id", (json_int_t)s->product_id, "parent_share_id",
        api_opt_id(s->parent_id), "root_share_id", (json_int_t)s->root_id, "audience",
        s->circle_id ? "circle" : "contacts", "circle_id", api_opt_id(s->circle_id), "note",
        s->note, "sharer", "id", (json_int_t)s->sharer_id, "display_name", s->sharer_name,
        "experience", share_experience_name(s->experience), "experienced_at",
        api_opt_time(s->experienced_at_ms), "trust", trust_json(s->trust_milli), "report",
        report_json(&s->report), "created_at", json_time(s->created_at_ms));
}

/* The body of a share, or of its preview. */
static enum err read_share(struct req *r, struct share_input *in)
{
    static const char *const fields[] = {"product_id", "circle_id",       "audience",
                                         "note",       "parent_share_id", NULL};
    const char *audience = NULL;
    size_t audience_len = 0;
    memset(in, 0, sizeof *in);
    in->sharer_id = r->user.user_id;
    enum err e = req_body(r, fields);
    if (!e)
        e = req_read(r, REQ_INTEGER("product_id", false, 1, INT64_MAX, &in->product_id),
                     REQ_INTEGER("circle_id", false, 1, INT64_MAX, &in->circle_id),
                     REQ_INTEGER("parent_share_id", false, 1, INT64_MAX, &in->parent_id),
                     REQ_STRING("audience", false, &audience, &audience_len),
                     REQ_STRING("note", false, &in->note, &in->note_len));
    if (!e && audience && strcmp(audience, "contacts") && strcmp(audience, "circle"))
        e = req_fail(r, ERR_INVALID, "audience", "audience must be \"circle\" or \"contacts\"");
    in->contacts = audience && !strcmp(audience, "contacts");
    if (!e && in->contacts && in->circle_id)
        e = req_fail(r, ERR_INVALID, "circle_id",
                     "a share goes to a circle or to your contacts, not both");
    return e;
}

enum err api_share_create(struct req *r)
{
    struct share_input in;
    struct share s;
    enum err e = read_share(r, &in);
    if (!e)
        e = share_create(r->db, &in, &r->arena, &s, &r->ei);
    return e ? e : req_reply(r, 201, share_json(&s));
}

enum err api_share_preview(struct req *r)
{
    struct share_input in;
    struct share s;
    enum err e = read_share(r, &in);
    if (!e)
        e = share_preview(r->db, &in, &r->arena, &s, &r->ei);
    if (e)
        return e;
    return req_reply(r, 200,
                     json_pack("{s:I, s:i, s:o}", "product_id", (json_int_t)s.product_id, "hop",
                               s.hop, "report", report_json(&s.report)));
}

enum err api_share_get(struct req *r)
{
    struct share s;
    enum err e = share_get(r->db, req_param_id(r, 0), &r->arena, &s);
    if (e == ERR_NOT_FOUND)
        return req_fail(r, e, NULL, "no such share");
    return e ? e : req_reply(r, 200, share_json(&s));
}

enum err api_me_shares(struct req *r)
{
    int64_t limit = 0, before = 0;
    struct share *items = NULL;
    size_t n = 0;
    bool more = false;
    enum err e = api_page(r, &limit, &before);
    if (!e)
        e = share_list_mine(r->db, r->user.user_id, before, limit, &r->arena, &items, &n, &more);
    if (e)
        return e;
    return api_reply_items(r, items, n, sizeof *items, share_json, more, n ? items[n - 1].id : 0);
}

static json_t *audience_json(const void *item)
{
    const struct share_audience_row *x = item;
    return json_pack("{s:I, s:s, s:s, s:o, s:o}", "user_id", (json_int_t)x->user_id, "display_name",
                     x->display_name, "outcome", share_outcome_name(x->outcome), "similarity",
                     json_weight(x->similarity_milli), "root_similarity",
                     json_weight(x->root_similarity_milli));
}

enum err api_share_audience(struct req *r)
{
    int64_t limit = 0, after = 0;
    struct share_audience_row *items = NULL;
    size_t n = 0;
    bool more = false;
    enum err e = api_page(r, &limit, &after);
    if (!e)
        e = share_audience(r->db, req_param_id(r, 0), after, limit, &r->arena, &items, &n, &more);
    if (e)
        return e;
    return api_reply_items(r, items, n, sizeof *items, audience_json, more,
                           n ? items[n - 1].id : 0);
}

/* --- the feed --- */

static json_t *feed_json(const void *item)
{
    const struct feed_item *f = item;
    char link[96];
    snprintf(link, sizeof link, "/s/%s", f->token);
    json_t *feedback = f->sharer_rating
                           ? json_pack("{s:i, s:s}", "rating", f->sharer_rating, "text",
                                       f->sharer_comment ? f->sharer_comment : "")
                           : json_null();
    return json_pack(
        "{s:I, s:I, s:i, s:{s:I, s:s, s:I, s:o, s:I, s:s}, s:{s:I, s:s, s:s, s:o, s:o}, s:s,"
        " s:s, s:o, s:o, s:o, s:o}",
        "id", (json_int_t)f->id, "share_id", (json_int_t)f->share_id, "hop", f->hop, "product",
        "id", (json_int_t)f->product_id, "title", f->product_title, "price_fen",
        (json_int_t)f->price_fen, "image",
        f->image ? json_sprintf("/images/%s", f->image) : json_null(), "shop_id",
        (json_int_t)f->shop_id, "shop_name", f->shop_name, "sharer", "id", (json_int_t)f->sharer_id,
        "display_name", f->sharer_name, "experience", share_experience_name(f->experience),
        "experienced_at", api_opt_time(f->experienced_at_ms), "feedback", feedback, "note", f->note,
        "link", link, "matched_interests", api_lines_json(f->matched), "similarity",
        json_weight(f->similarity_milli), "delivered_at", json_time(f->at_ms), "opened_at",
        api_opt_time(f->opened_at_ms));
}

enum err api_me_feed(struct req *r)
{
    int64_t limit = 0, before = 0;
    struct feed_item *items = NULL;
    size_t n = 0;
    bool more = false;
    enum err e = api_page(r, &limit, &before);
    if (!e)
        e = feed_list(r->db, r->user.user_id, before, limit, &r->arena, &items, &n, &more);
    if (e)
        return e;
    return api_reply_items(r, items, n, sizeof *items, feed_json, more, n ? items[n - 1].id : 0);
}

static enum err feed_mark(struct req *r, bool open)
{
    int64_t id = req_param_id(r, 0);
    enum err e = open ? feed_open(r->db, r->user.user_id, id)
                      : feed_not_interested(r->db, r->user.user_id, id);
    if (e == ERR_NOT_FOUND)
        return req_fail(r, e, NULL, "no such item in your feed");
    if (e)
        return e;
    return req_reply(
        r, 200,
        json_pack("{s:I, s:b}", "id", (json_int_t)id, open ? "opened" : "not_interested", 1));
}

enum err api_feed_open(struct req *r)
{
    return feed_mark(r, true);
}

enum err api_feed_not_interested(struct req *r)
{
    return feed_mark(r, false);
}

/* --- mutes --- */

static json_t *mute_json(const void *item)
{
    const struct mute *m = item;
    return json_pack("{s:I, s:o, s:o, s:s, s:o}", "id", (json_int_t)m->id, "user_id",
                     api_opt_id(m->user_id), "shop_id", api_opt_id(m->shop_id), "name", m->name,
                     "created_at", json_time(m->created_at_ms));
}

enum err api_mute_add(struct req *r)
{
    static const char *const fields[] = {"user_id", "shop_id", NULL};
    int64_t user = 0, shop = 0;
    struct mute m;
    bool created = false;
    enum err e = req_body(r, fields);
    if (!e)
        e = req_read(r, REQ_INTEGER("user_id", false, 1, INT64_MAX, &user),
                     REQ_INTEGER("shop_id", false, 1, INT64_MAX, &shop));
    if (!e)
        e = mute_add(r->db, r->user.user_id, user, shop, &r->arena, &m, &created, &r->ei);
    if (e)
        return e;
    return req_reply(r, created ? 201 : 200, mute_json(&m));
}

enum err api_me_mutes(struct req *r)
{
    int64_t limit = 0, before = 0;
    struct mute *items = NULL;
    size_t n = 0;
    bool more = false;
    enum err e = api_page(r, &limit, &before);
    if (!e)
        e = mute_list(r->db, r->user.user_id, before, limit, &r->arena, &items, &n, &more);
    if (e)
        return e;
    return api_reply_items(r, items, n, sizeof *items, mute_json, more, n ? items[n - 1].id : 0);
}

enum err api_mute_remove(struct req *r)
{
    enum err e = mute_remove(r->db, r->user.user_id, req_param_id(r, 0));
    return api_reply_removed(r, e, "removed", NULL, "no such mute");
}

/* --- reports --- */

static json_t *abuse_report_json(const void *item)
{
    const struct report *x = item;
    return json_pack("{s:I, s:I, s:I, s:{s:I, s:s}, s:{s:I, s:s}, s:s, s:s, s:o, s:o}", "id",
                     (json_int_t)x->id, "shop_id", (json_int_t)x->shop_id, "share_id",
                     (json_int_t)x->share_id, "reporter", "id", (json_int_t)x->reporter_id,
                     "display_name", x->reporter_name, "sharer", "id", (json_int_t)x->sharer_id,
                     "display_name", x->sharer_name, "reason", x->reason, "status",
                     report_status_name(x->status), "created_at", json_time(x->created_at_ms),
                     "decided_at", api_opt_time(x->decided_at_ms));
}

enum err api_report_add(struct req *r)
{
    static const char *const fields[] = {"share_id", "reason", NULL};
    int64_t share_id = 0;
    const char *reason = NULL;
    size_t reason_len = 0;
    struct report x;
    enum err e = req_body(r, fields);
    if (!e)
        e = req_read(r, REQ_INTEGER("share_id", true, 1, INT64_MAX, &share_id),
                     REQ_STRING("reason", true, &reason, &reason_len));
    if (!e)
        e = report_add(r->db, r->user.user_id, share_id, reason, reason_len, &r->arena, &x, &r->ei);
    return e ? e : req_reply(r, 201, abuse_report_json(&x));
}

enum err api_shop_reports(struct req *r)
{
    const char *status = req_query(r, "status");
    enum report_status st = REPORT_OPEN;
    int64_t limit = 0, before = 0;
    struct report *items = NULL;
    size_t n = 0;
    bool more = false;
    enum err e = api_page(r, &limit, &before);
    if (!e && status && !report_status_parse(status, &st))
        e = req_fail(r, ERR_INVALID, "status", "status must be open, upheld or dismissed");
    if (!e)
        e = report_list_shop(r->db, req_param_id(r, 0), st, before, limit, &r->arena, &items, &n,
                             &more);
    if (e)
        return e;
    return api_reply_items(r, items, n, sizeof *items, abuse_report_json, more,
                           n ? items[n - 1].id : 0);
}

static enum err decide(struct req *r, bool uphold)
{
    int64_t id = req_param_id(r, 0);
    struct report x;
    enum err e = report_decide(r->db, id, uphold, r->user.user_id, &r->ei);
    if (!e)
        e = report_get(r->db, id, &r->arena, &x);
    return e ? e : req_reply(r, 200, abuse_report_json(&x));
}

enum err api_report_uphold(struct req *r)
{
    return decide(r, true);
}

enum err api_report_dismiss(struct req *r)
{
    return decide(r, false);
}

/* --- trust --- */

static json_t *trust_event_json(const void *item)
{
    const struct trust_event *x = item;
    return json_pack("{s:I, s:s, s:b, s:I, s:o}", "id", (json_int_t)x->id, "kind",
                     trust_kind_name(x->kind), "good", x->good, "ref_id", (json_int_t)x->ref_id,
                     "at", json_time(x->at_ms));
}

enum err api_promoter_trust(struct req *r)
{
    int64_t id = req_param_id(r, 0), limit = 0, before = 0;
    struct trust t;
    struct trust_event *items = NULL;
    size_t n = 0;
    bool more = false;
    struct shop shop;
    enum err e = api_page(r, &limit, &before);
    if (!e)
        e = trust_of(r->db, id, &t);
    if (!e)
        e = trust_events(r->db, id, before, limit, &r->arena, &items, &n, &more);
    if (!e)
        e = shop_get(r->db, r->party.shop_id, &r->arena, &shop);
    if (e)
        return e;
    return req_reply(r, 200,
                     json_pack("{s:I, s:I, s:o, s:I, s:I, s:o, s:I, s:b, s:o, s:o}", "promoter_id",
                               (json_int_t)id, "shop_id", (json_int_t)r->party.shop_id, "score",
                               json_weight(t.score_milli), "good", (json_int_t)t.good, "bad",
                               (json_int_t)t.bad, "trust_min",
                               json_weight(shop.settings.trust_min_milli), "trust_reach",
                               (json_int_t)shop.settings.trust_reach, "reach_limited",
                               t.score_milli < shop.settings.trust_min_milli, "items",
                               api_array(items, n, sizeof *items, trust_event_json), "next_cursor",
                               api_next_cursor(r, more, n ? items[n - 1].id : 0)));
}

/* --- per-hop figures --- */

static json_t *opt_weight(int64_t milli)
{
    return milli < 0 ? json_null() : json_weight(milli);
}

static json_t *stats_json(const struct propagation_stats *st)
{
    json_t *hops = json_array();
    for (int i = 0; i < SHARE_HOPS_MAX; i++) {
        const struct hop_stats *h = &st->hop[i];
        json_t *filtered = json_object();
        for (int o = 0; o < SHARE_OUTCOMES_N; o++)
            if (o != SHARE_DELIVERED)
                json_object_set_new(filtered, share_outcome_name((enum share_outcome)o),
                                    json_integer(h->count[o]));
        int64_t delivered = h->count[SHARE_DELIVERED];
        json_array_append_new(
            hops,
            json_pack("{s:i, s:I, s:I, s:I, s:o, s:{s:o, s:o}, s:{s:o, s:o}, s:I, s:I, s:o, s:I}",
                      "hop", i + 1, "shares", (json_int_t)h->shares, "candidates",
                      (json_int_t)h->candidates, "delivered", (json_int_t)delivered, "filtered",
                      filtered, "similarity_delivered", "mean", opt_weight(h->mean_delivered_milli),
                      "median", opt_weight(h->median_delivered_milli), "similarity_filtered",
                      "mean", opt_weight(h->mean_filtered_milli), "median",
                      opt_weight(h->median_filtered_milli), "opened", (json_int_t)h->opened,
                      "orders", (json_int_t)h->orders, "conversion",
                      delivered ? json_weight(h->orders * 1000 / delivered) : json_null(),
                      "revenue_fen", (json_int_t)h->revenue_fen));
    }
    return hops;
}

enum err api_share_stats(struct req *r)
{
    int64_t id = req_param_id(r, 0);
    struct propagation_stats st;
    enum err e = stats_share(r->db, id, &st);
    return e ? e
             : req_reply(
                   r, 200,
                   json_pack("{s:I, s:o}", "share_id", (json_int_t)id, "hops", stats_json(&st)));
}

/* ?NAME=YYYY-MM-DD, a China calendar day: its start (end: the start of the next day). */
static enum err query_day(struct req *r, const char *name, bool end, int64_t *ms)
{
    const char *v = req_query(r, name);
    if (!v)
        return ERR_OK;
    if (!clock_parse_china_date(v, ms))
        return req_fail(r, ERR_INVALID, name, "%s must be a date, YYYY-MM-DD (China time)", name);
    if (end)
        *ms += MS_PER_DAY;
    return ERR_OK;
}

enum err api_shop_stats(struct req *r)
{
    int64_t now = clock_now_ms();
    int64_t to = clock_china_day_start(now) + MS_PER_DAY, from = to - 30 * MS_PER_DAY;
    struct propagation_stats st;
    enum err e = query_day(r, "from", false, &from);
    if (!e)
        e = query_day(r, "to", true, &to);
    if (!e && from >= to)
        e = req_fail(r, ERR_INVALID, "to", "to must not be before from");
    if (!e)
        e = stats_shop(r->db, req_param_id(r, 0), from, to, &st);
    if (e)
        return e;
    return req_reply(r, 200,
                     json_pack("{s:I, s:o, s:o, s:o}", "shop_id", (json_int_t)req_param_id(r, 0),
                               "from", json_time(from), "to", json_time(to), "hops",
                               stats_json(&st)));
}

/* --- feedback and follow-ups --- */

enum err api_feedback_add(struct req *r)
{
    static const char *const fields[] = {"rating", "text", NULL};
    int64_t rating = 0;
    const char *text = NULL;
    size_t text_len = 0;
    struct feedback f;
    enum err e = req_body(r, fields);
    if (!e)
        e = req_read(r, REQ_INTEGER("rating", true, 1, 5, &rating),
                     REQ_STRING("text", false, &text, &text_len));
    if (!e)
        e = feedback_add(r->db, req_param_id(r, 0), r->user.user_id, (int)rating, text, text_len,
                         &r->arena, &f, &r->ei);
    return e ? e : req_reply(r, 201, api_feedback_json(&f));
}

static json_t *followup_json(const void *item)
{
    const struct followup *f = item;
    return json_pack("{s:I, s:s, s:I, s:{s:I, s:s}, s:o, s:s, s:o, s:s, s:o}", "id",
                     (json_int_t)f->id, "kind", followup_kind_name(f->kind), "order_id",
                     (json_int_t)f->order_id, "buyer", "id", (json_int_t)f->buyer_id,
                     "display_name", f->buyer_name, "product",
                     f->product_id ? json_pack("{s:I, s:s}", "id", (json_int_t)f->product_id,
                                               "title", f->product_title ? f->product_title : "")
                                   : json_null(),
                     "status", f->done ? "done" : "open", "due_at", json_time(f->due_at_ms), "note",
                     f->note, "done_at", api_opt_time(f->done_at_ms));
}

enum err api_shop_followups(struct req *r)
{
    const char *status = req_query(r, "status");
    enum followup_view view = FOLLOWUPS_DUE;
    int64_t limit = 0, after = 0;
    struct followup *items = NULL;
    size_t n = 0;
    bool more = false;
    enum err e = api_page(r, &limit, &after);
    if (!e && status && !followup_view_parse(status, &view))
        e = req_fail(r, ERR_INVALID, "status", "status must be due, upcoming or done");
    if (!e)
        e = followup_list(r->db, req_param_id(r, 0), view, clock_now_ms(), after, limit, &r->arena,
                          &items, &n, &more);
    if (e)
        return e;
    return api_reply_items(r, items, n, sizeof *items, followup_json, more,
                           n ? items[n - 1].id : 0);
}

enum err api_followup_done(struct req *r)
{
    static const char *const fields[] = {"note", NULL};
    int64_t id = req_param_id(r, 0);
    const char *note = NULL;
    size_t note_len = 0;
    struct followup f;
    enum err e = r->body_len ? req_body(r, fields) : ERR_OK; /* the note is optional */
    if (!e && r->body_len)
        e = req_read(r, REQ_STRING("note", false, &note, &note_len));
    if (!e)
        e = followup_done(r->db, id, r->user.user_id, note, note_len, &r->ei);
    if (!e)
        e = followup_get(r->db, id, &r->arena, &f);
    return e ? e : req_reply(r, 200, followup_json(&f));
}
