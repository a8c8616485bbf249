/*
 * audit.c - a shop's compliance audit (GET /shops/{id}/audit), the same
 * findings as `quanzi audit`.
 */
#include "api/api.h"
#include "api/common.h"
#include "domain/audit.h"

json_t *api_audit_json(const struct audit *a)
{
    json_t *findings = json_array();
    for (int i = 0; findings && i < AUDIT_FINDINGS; i++) {
        const struct audit_finding *f = &a->f[i];
        json_t *rows = json_array();
        for (size_t j = 0; rows && j < f->n_rows; j++) {
            json_t *row = json_object();
            for (int c = 0; row && c < AUDIT_COLS; c++)
                if (f->cols[c])
                    json_object_set_new(row, f->cols[c], json_integer(f->rows[j][c]));
            json_array_append_new(rows, row);
        }
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:b, s:b, s:I, s:I, s:o}", "name", f->name, "rule", f->rule,
                      "about", f->about, "required", f->required, "ok", f->ok, "value",
                      (json_int_t)f->value, "count", (json_int_t)f->count, "rows", rows);
        if (o && f->required)
            json_object_set_new(o, "limit", json_integer(f->limit));
        if (o && f->den)
            json_object_set_new(
                o, "of",
                json_pack("{s:I, s:I}", "num", (json_int_t)f->num, "den", (json_int_t)f->den));
        json_array_append_new(findings, o);
    }
    return json_pack("{s:I, s:o, s:b, s:o}", "shop_id", (json_int_t)a->shop_id, "at",
                     json_time(a->at_ms), "ok", a->ok, "findings", findings);
}

enum err api_shop_audit(struct req *r)
{
    struct audit a; /* the caller runs the shop: the route's access */
    enum err e = audit_shop(r->db, req_param_id(r, 0), &r->arena, &a);
    if (e)
        return e;
    return req_reply(r, 200, api_audit_json(&a));
}
