/*
 * demo.h - `quanzi demo`: a believable shop to try quanzi with.
 *
 * 山里核桃 · 老周家, a hometown walnut grower: eight products with interest
 * tags, two circles (a parents' group and a hiking club), five neighbours
 * with interests, circle memberships and contacts. Seeded only when the
 * demo shop is missing, through the same domain functions the API uses.
 */
#ifndef QUANZI_DEMO_H
#define QUANZI_DEMO_H

#include <stdio.h>

#include "db/db.h"

#define DEMO_OWNER_LOGIN "demo@quanzi.test"
#define DEMO_PASSWORD "walnut-demo-2026"
#define DEMO_SLUG "shanli-walnut"

/* 0 on success (seeded or already there); prints what it did to `out`. */
int demo_seed(struct db *db, FILE *out);

#endif
