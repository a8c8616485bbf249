/*
 * fuzz_body.c - a request body as handlers read it: the JSON parse (content
 * type, duplicate keys, depth, the arena's cap), the strict field readers
 * (unknown fields, types, ranges, NUL), tag objects and their normalisation,
 * text checks, an order as POST /orders reads and checks it, and the error
 * body built from whatever was refused.
 *
 * Input: byte 0 picks one of the forms below, byte 1 the Content-Type, the
 * rest is the body. Invariants: an accepted field has its type and range, a
 * normalised tag is its own normal form; a refusal is a 4xx whose JSON body is valid, carries the
 * refusal's code and names a field only when that field is valid UTF-8.
 */
#include <string.h>

#include "api/api.h"
#include "api/common.h"
#include "domain/check.h"
#include "domain/order.h"
#include "domain/tags.h"
#include "fuzz.h"
#include "http/jsonmem.h"
#include "http/req.h"
#include "util/limits.h"
#include "util/text.h"

enum kind { STR, NAME, TEXT, INT, NINT, BOOL, FRAC, TAGS, ORDER };

struct field {
    const char *name;
    enum kind kind;
    bool required;
};

/* Shaped after the API's own bodies (register, shop, product, circle, order parts). */
static const struct field forms[][8] = {
    {{"login", STR, true}, {"password", STR, true}, {"display_name", NAME, true}},
    {{"name", NAME, true},
     {"slug", STR, true},
     {"story", TEXT, false},
     {"binding_days", INT, false},
     {"buyer_cap_30d", INT, false}},
    {{"title", NAME, true},
     {"price_fen", INT, true},
     {"stock", INT, false},
     {"tags", TAGS, false},
     {"l1_bps", NINT, false},
     {"trial_available", BOOL, false},
     {"description", TEXT, false}},
    {{"tags", TAGS, false}},
    {{"weight", FRAC, true}, {"reason", TEXT, false}, {"amount_fen", INT, true}},
    {{"(POST /orders)", ORDER, true}}, /* the whole body, as the order handler reads it */
};
#define N_FORMS (sizeof forms / sizeof forms[0])

static const char *const content_types[] = {"application/json", "application/json; charset=utf-8",
                                            "text/plain", NULL};

static void check_refusal(struct req *r, enum err e)
{
    int status = err_status(e);
    FUZZ_CHECK(status >= 400 && status < 500);
    if (r->ei.field)
        FUZZ_CHECK(text_utf8_chars(r->ei.field, strlen(r->ei.field)) >= 0);
    if (r->arena.exhausted)
        return; /* the server answers this one from a static body */
    json_t *body = req_error_json(r, e);
    FUZZ_CHECK(body != NULL);
    char *text = json_dumps(body, JSON_DUMP_FLAGS);
    FUZZ_CHECK(text != NULL);
    json_t *back = json_loads(text, 0, NULL);
    FUZZ_CHECK(back != NULL);
    json_t *code = json_object_get(json_object_get(back, "error"), "code");
    FUZZ_CHECK(json_is_string(code) && strcmp(json_string_value(code), err_code(e)) == 0);
    json_t *msg = json_object_get(json_object_get(back, "error"), "message");
    FUZZ_CHECK(json_is_string(msg) && json_string_length(msg) > 0);
}

static enum err read_field(struct req *r, const struct field *f)
{
    enum err e = ERR_OK;
    switch (f->kind) {
    case STR:
    case NAME:
    case TEXT: {
        const char *s = NULL;
        size_t len = 0;
        e = req_str(r, f->name, f->required, &s, &len);
        if (e || !s)
            return e;
        FUZZ_CHECK(memchr(s, '\0', len) == NULL);
        if (f->kind == NAME)
            e = check_name(s, len, f->name, 40, &r->ei);
        else if (f->kind == TEXT)
            e = check_text(s, len, f->name, 200, &r->ei);
        if (!e && f->kind != STR)
            FUZZ_CHECK(text_utf8_chars(s, len) >= 0);
        return e;
    }
    case INT: {
        int64_t v = -1;
        bool present = false;
        e = req_int(r, f->name, f->required, 0, 100000000, &v, &present);
        if (!e && present)
            FUZZ_CHECK(v >= 0 && v <= 100000000);
        return e;
    }
    case NINT: {
        int64_t v = -1;
        bool is_null = false, present = false;
        e = api_nullable_int(r, f->name, 0, 10000, &v, &is_null, &present);
        if (!e && present && !is_null)
            FUZZ_CHECK(v >= 0 && v <= 10000);
        return e;
    }
    case BOOL: {
        bool v = false, present = false;
        return req_bool(r, f->name, f->required, &v, &present);
    }
    case FRAC: {
        int64_t milli = -1;
        bool present = false;
        e = req_fraction_milli(r, f->name, f->required, false, &milli, &present);
        if (!e && present)
            FUZZ_CHECK(milli >= 1 && milli <= 1000);
        return e;
    }
    case ORDER:
        return ERR_OK; /* a whole-body form: read_order() */
    case TAGS: {
        struct tag *tags = NULL;
        size_t n = 0;
        bool present = false;
        e = api_tags(r, f->name, 8, &tags, &n, &present);
        if (!e && present)
            e = tags_validate(&r->arena, tags, n, f->name, &r->ei);
        for (size_t i = 0; !e && i < n; i++) {
            FUZZ_CHECK(tags[i].weight_milli >= 1 && tags[i].weight_milli <= 1000);
            FUZZ_CHECK(text_utf8_chars(tags[i].name, strlen(tags[i].name)) > 0);
            /* a normal name is its own normal form: one tag, one spelling */
            const char *again = NULL;
            FUZZ_CHECK(tag_normalize(&r->arena, tags[i].name, strlen(tags[i].name), f->name, &again,
                                     &r->ei) == ERR_OK);
            FUZZ_CHECK(strcmp(again, tags[i].name) == 0);
        }
        return e;
    }
    }
    return e;
}

/* POST /orders: the API's reading, then the domain's checks that need no data. */
static enum err read_order(struct req *r)
{
    struct order_new in = {.buyer_id = 1};
    enum err e = api_order_input(r, &in);
    if (!e)
        e = order_check_new(&in, &r->ei);
    if (e)
        return e;
    FUZZ_CHECK(in.shop_id >= 1 && in.n_items >= 1 && in.n_items <= ORDER_ITEMS_MAX);
    for (size_t i = 0; i < in.n_items; i++) {
        FUZZ_CHECK(in.items[i].product_id >= 1);
        FUZZ_CHECK(in.items[i].qty >= 1 && in.items[i].qty <= ORDER_QTY_MAX);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(in.items[j].product_id != in.items[i].product_id);
    }
    const struct address *ad = &in.address;
    FUZZ_CHECK(text_utf8_chars(ad->name, ad->name_len) > 0 &&
               text_utf8_chars(ad->region, ad->region_len) > 0 &&
               text_utf8_chars(ad->line, ad->line_len) > 0 && ad->phone_len > 0);
    FUZZ_CHECK(!in.share_token || (strlen(in.share_token) >= 1 && strlen(in.share_token) <= 64));
    return ERR_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool installed;
    if (!installed) {
        jsonmem_install();
        installed = true;
    }
    if (size < 2)
        return 0;
    const struct field *form = forms[data[0] % N_FORMS];
    const char *ct = content_types[data[1] % 4];
    struct req r;
    memset(&r, 0, sizeof r);
    arena_init(&r.arena, LIMIT_ARENA_BYTES);
    jsonmem_use(&r.arena);
    r.body_len = size - 2;
    r.body = arena_strndup(&r.arena, (const char *)data + 2, r.body_len);

    enum err e = req_parse_body(&r, ct);
    if (!e && r.json && form[0].kind == ORDER) {
        e = read_order(&r);
    } else if (!e && r.json) {
        const char *allowed[9];
        size_t n = 0;
        for (; n < 8 && form[n].name; n++)
            allowed[n] = form[n].name;
        allowed[n] = NULL;
        e = req_body(&r, allowed);
        for (size_t i = 0; !e && i < n; i++)
            e = read_field(&r, &form[i]);
    }
    if (e)
        check_refusal(&r, e);
    jsonmem_use(NULL);
    arena_release(&r.arena);
    return 0;
}
