#include "demo.h"

#include <string.h>

#include "domain/account.h"
#include "domain/catalog.h"
#include "domain/circle.h"
#include "domain/contact.h"
#include "domain/order.h"
#include "domain/payment.h"
#include "domain/feed.h"
#include "domain/promoter.h"
#include "domain/share.h"
#include "domain/shop.h"
#include "util/arena.h"

struct demo_product {
    const char *title, *description;
    int64_t price_fen, stock, repurchase_days;
    bool trial;
    struct tag tags[3];
};

static const struct demo_product products[] = {
    {"薄皮核桃 2.5kg 家庭装",
     "太行山脚下的老树核桃，自然落果，晒足七天。壳薄，手一捏就开，核桃仁饱满不苦涩。",
     12800,
     120,
     60,
     true,
     {{"坚果", 900}, {"农产品", 700}, {"养生", 400}}},
    {"原味核桃仁 500g",
     "手工剥好的核桃仁，低温烘干，适合给孩子直接吃或做辅食。",
     6800,
     200,
     30,
     false,
     {{"坚果", 900}, {"母婴", 600}, {"零食", 500}}},
    {"核桃芝麻黑豆粉 400g",
     "核桃仁、黑芝麻、黑豆现磨，无添加糖。早上冲一杯，老人孩子都爱喝。",
     5900,
     150,
     30,
     false,
     {{"养生", 900}, {"老人", 600}, {"坚果", 500}}},
    {"琥珀核桃仁 250g",
     "老周媳妇的手艺：麦芽糖和芝麻炒的琥珀核桃，甜而不腻。",
     4500,
     80,
     0,
     false,
     {{"零食", 900}, {"坚果", 700}}},
    {"山核桃油 500ml",
     "冷榨核桃油，适合凉拌和宝宝辅食。开封后请冷藏。",
     8800,
     60,
     90,
     false,
     {{"母婴", 800}, {"养生", 600}}},
    {"核桃木手工砧板",
     "修剪下来的核桃木，村里木匠老李打磨，一木一纹。",
     16800,
     15,
     0,
     false,
     {{"手工", 900}, {"家居", 700}}},
    {"山楂核桃糕 300g",
     "秋天的山楂和核桃，一起熬成糕，开胃解馋。",
     3800,
     100,
     0,
     false,
     {{"零食", 800}, {"农产品", 500}}},
    {"试吃装：薄皮核桃 250g",
     "第一次买的朋友先尝尝，好吃再说。",
     1500,
     300,
     0,
     true,
     {{"坚果", 900}, {"农产品", 600}}},
};

struct demo_member {
    const char *login, *name;
    struct tag tags[3];
    int circle; /* 0: the parents' group, 1: the hiking club */
};

static const struct demo_member members[] = {
    {"13910000001", "乐乐妈", {{"母婴", 900}, {"早教", 700}, {"零食", 400}}, 0},
    {"13910000002", "王老师", {{"读书", 800}, {"养生", 600}, {"茶", 500}}, 1},
    {"13910000003", "跑步的小陈", {{"跑步", 900}, {"户外", 800}, {"坚果", 500}}, 0},
    {"13910000004", "张阿姨", {{"养生", 900}, {"老人", 700}, {"园艺", 500}}, 1},
    {"13910000005", "豆豆爸", {{"母婴", 700}, {"露营", 800}, {"摄影", 500}}, 0},
    {"13910000006", "果果妈", {{"母婴", 800}, {"坚果", 700}, {"零食", 500}}, 0},
    {"13910000007", "小雨", {{"摄影", 900}, {"旅行", 700}, {"坚果", 600}}, 0},
};

static size_t tag_count(const struct tag *t)
{
    size_t n = 0;
    while (n < 3 && t[n].name)
        n++;
    return n;
}

static int fail(FILE *out, const char *what, const struct errinfo *ei, enum err e)
{
    fprintf(out, "demo: %s failed: %s (%s)\n", what, ei->message[0] ? ei->message : "",
            err_code(e));
    return 1;
}

int demo_seed(struct db *db, FILE *out)
{
    struct arena a;
    struct errinfo ei = {0};
    struct shop shop;
    struct account acc;
    struct session_new sess;
    enum err e;
    int rc = 1;
    arena_init(&a, 4 << 20);
    if (shop_get_by_slug(db, DEMO_SLUG, &a, &shop) == ERR_OK) {
        fprintf(out, "demo shop \"%s\" is there (id %lld); owner login %s, password %s\n",
                shop.name, (long long)shop.id, DEMO_OWNER_LOGIN, DEMO_PASSWORD);
        rc = 0;
        goto out;
    }
    static const char owner_name[] = "周师傅";
    e = account_register(db, DEMO_OWNER_LOGIN, strlen(DEMO_OWNER_LOGIN), DEMO_PASSWORD,
                         strlen(DEMO_PASSWORD), owner_name, strlen(owner_name), NULL, &a, &acc,
                         &sess, NULL, &ei);
    if (e) {
        rc = fail(out, "owner", &ei, e);
        goto out;
    }
    int64_t owner = acc.id;
    static const char name[] = "山里核桃 · 老周家";
    static const char story[] =
        "我家在太行山脚下种了三十年核桃。不打膨大剂，自然落果，晒足七天再发货。\n"
        "以前只卖给村里和县城的老主顾，现在孩子们在城里的家长群里帮着推荐，"
        "吃过的人再介绍给身边的朋友。好不好吃，您尝过再说。";
    if ((e = shop_create(db, owner, name, strlen(name), DEMO_SLUG, strlen(DEMO_SLUG), story,
                         strlen(story), 30, &a, &shop, &ei))) {
        rc = fail(out, "shop", &ei, e);
        goto out;
    }
    int64_t first_product = 0, trial_product = 0;
    const char *trial_title = "";
    for (size_t i = 0; i < sizeof products / sizeof products[0]; i++) {
        const struct demo_product *p = &products[i];
        struct tag tags[3];
        memcpy(tags, p->tags, sizeof tags);
        struct product_input in = {.title = p->title,
                                   .title_len = strlen(p->title),
                                   .description = p->description,
                                   .description_len = strlen(p->description),
                                   .has_price = true,
                                   .price_fen = p->price_fen,
                                   .has_stock = true,
                                   .stock = p->stock,
                                   .has_status = true,
                                   .status = PRODUCT_ON_SALE,
                                   .has_repurchase = true,
                                   .repurchase_days = p->repurchase_days,
                                   .has_trial = true,
                                   .trial_available = p->trial,
                                   .has_tags = true,
                                   .tags = tags,
                                   .n_tags = tag_count(p->tags)};
        int64_t id;
        if ((e = catalog_create(db, shop.id, &in, &a, &id, &ei))) {
            rc = fail(out, "product", &ei, e);
            goto out;
        }
        if (!first_product)
            first_product = id;
        if (p->trial && !trial_product)
            trial_product = id, trial_title = p->title;
    }
    struct tag parents_tags[] = {{"母婴", 900}, {"零食", 500}};
    struct tag hiking_tags[] = {{"户外", 900}, {"跑步", 600}, {"坚果", 400}};
    struct circle_input parents = {.name = "阳光小区宝妈群",
                                   .name_len = strlen("阳光小区宝妈群"),
                                   .has_kind = true,
                                   .kind = CIRCLE_PARENTS,
                                   .has_capacity = true,
                                   .capacity = 200,
                                   .has_tags = true,
                                   .tags = parents_tags,
                                   .n_tags = 2};
    struct circle_input hiking = {.name = "周末太行徒步",
                                  .name_len = strlen("周末太行徒步"),
                                  .has_kind = true,
                                  .kind = CIRCLE_FITNESS,
                                  .has_tags = true,
                                  .tags = hiking_tags,
                                  .n_tags = 3};
    int64_t circle_ids[2];
    struct circle circles[2];
    if ((e = circle_create(db, shop.id, owner, &parents, &a, &circle_ids[0], &ei)) ||
        (e = circle_create(db, shop.id, owner, &hiking, &a, &circle_ids[1], &ei)) ||
        (e = circle_get(db, circle_ids[0], &a, &circles[0])) ||
        (e = circle_get(db, circle_ids[1], &a, &circles[1]))) {
        rc = fail(out, "circle", &ei, e);
        goto out;
    }
    int64_t ids[sizeof members / sizeof members[0]];
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
        const struct demo_member *m = &members[i];
        if ((e = account_register(db, m->login, strlen(m->login), DEMO_PASSWORD,
                                  strlen(DEMO_PASSWORD), m->name, strlen(m->name), NULL, &a, &acc,
                                  &sess, NULL, &ei))) {
            rc = fail(out, "member", &ei, e);
            goto out;
        }
        ids[i] = acc.id;
        struct tag tags[3];
        memcpy(tags, m->tags, sizeof tags);
        int64_t joined;
        if ((e = account_set_interests(db, acc.id, &a, tags, tag_count(m->tags), &ei)) ||
            (e = circle_join(db, acc.id, circles[m->circle].invite_code, &joined, &ei))) {
            rc = fail(out, "member", &ei, e);
            goto out;
        }
    }
    /* the parents' group knows each other; the runner knows a parent */
    enum contact_state st;
    const int pairs[][2] = {{0, 4}, {0, 2}, {2, 4}, {1, 3}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        if ((e = contact_request(db, ids[pairs[i][0]], ids[pairs[i][1]], &st, &ei)) ||
            (e = contact_accept(db, ids[pairs[i][1]], ids[pairs[i][0]], &ei))) {
            rc = fail(out, "contacts", &ei, e);
            goto out;
        }
    /* two promoters, one invited by the other, and a neighbour's order through the first
     * one's link: the promoter centre, the ledger and the audit have something to show */
    struct shop_patch auto_approve = {.set[SHOP_SET_promoter_auto_approve] = true,
                                      .settings.promoter_auto_approve = true};
    struct promoter first, second;
    bool created = false;
    struct order made;
    int64_t trial = 0, order_id = 0;
    struct order_item_in item = {.product_id = first_product, .qty = 1};
    static const char addr_name[] = "王芳", phone[] = "13910000005", region[] = "河北省邢台市",
                      line[] = "阳光小区 6-302";
    if ((e = shop_update(db, shop.id, &auto_approve, &ei)) ||
        (e = trial_grant(db, shop.id, trial_product, ids[0], owner, &trial, &ei)) ||
        (e = promoter_apply(db, shop.id, ids[0], NULL, &a, &first, &created, &ei)) ||
        (e = trial_grant(db, shop.id, trial_product, ids[2], owner, &trial, &ei)) ||
        (e = promoter_apply(db, shop.id, ids[2], first.invite_code, &a, &second, &created, &ei))) {
        rc = fail(out, "promoters", &ei, e);
        goto out;
    }
    struct order_new on = {.shop_id = shop.id,
                           .buyer_id = ids[4],
                           .items = &item,
                           .n_items = 1,
                           .share_token = first.ref_token,
                           .address = {addr_name, phone, region, line, strlen(addr_name),
                                       strlen(phone), strlen(region), strlen(line)}};
    if ((e = order_create(db, &on, &a, &made, &ei)) || !(order_id = made.id) ||
        (e = payment_apply(
             db, &(struct payment){.provider = "offline", .order_id = order_id, .actor_id = owner},
             &ei))) {
        rc = fail(out, "order", &ei, e);
        goto out;
    }
    /* 王老师 bought two bags directly, received them, and one arrived crushed: a partial
     * refund waits in the shop's after-sales queue (GET /shops/{id}/refunds) */
    static const char name2[] = "王老师", phone2[] = "13910000002", region2[] = "河北省邢台市",
                      line2[] = "书香苑 2-101", carrier[] = "顺丰", tracking[] = "SF1402837465",
                      reason[] = "有一袋路上压碎了，核桃仁都碎成渣";
    struct order_item_in two = {.product_id = first_product, .qty = 2};
    struct order_new direct = {.shop_id = shop.id,
                               .buyer_id = ids[1],
                               .items = &two,
                               .n_items = 1,
                               .address = {name2, phone2, region2, line2, strlen(name2),
                                           strlen(phone2), strlen(region2), strlen(line2)}};
    int64_t direct_id = 0, refund_id = 0;
    if ((e = order_create(db, &direct, &a, &made, &ei)) || !(direct_id = made.id) ||
        (e = payment_apply(
             db, &(struct payment){.provider = "offline", .order_id = direct_id, .actor_id = owner},
             &ei)) ||
        (e = order_ship(db, direct_id, carrier, strlen(carrier), tracking, strlen(tracking), owner,
                        &ei)) ||
        (e = order_receive(db, direct_id, ids[1], &ei)) ||
        (e = refund_request(db, direct_id, ids[1], products[0].price_fen, reason, strlen(reason),
                            &refund_id, &ei))) {
        rc = fail(out, "refund", &ei, e);
        goto out;
    }
    /* 小雨 muted 乐乐妈; then 乐乐妈, who tried the walnuts, recommends them to the parents'
     * group: some are reached, the others left out, each for a reason (RULE: SIMILARITY,
     * RULE: MUTES) */
    struct mute mute;
    struct share shared;
    struct share_audience_row *who = NULL;
    size_t n_who = 0;
    bool more = false;
    static const char note[] = "我家孩子天天要吃，先拿试吃装尝尝";
    struct share_input si = {.sharer_id = ids[0],
                             .product_id = trial_product,
                             .circle_id = circles[0].id,
                             .note = note,
                             .note_len = strlen(note)};
    if ((e = mute_add(db, ids[6], ids[0], 0, &a, &mute, &created, &ei)) ||
        (e = share_create(db, &si, &a, &shared, &ei)) ||
        (e = share_audience(db, shared.id, 0, 100, &a, &who, &n_who, &more))) {
        rc = fail(out, "share", &ei, e);
        goto out;
    }
    fprintf(out,
            "demo shop created (id %lld): %zu products, 2 circles (invite codes %s, %s), %zu "
            "members\n"
            "  owner login %s, password %s\n"
            "  members log in with 13910000001 .. 13910000007 and the same password\n"
            "  promoters: %s (invite code %s) and %s, whom %s invited; order %lld came through\n"
            "  %s's link and is paid, its commission pending; order %lld, received, has a\n"
            "  refund request waiting for the shop's decision\n",
            (long long)shop.id, sizeof products / sizeof products[0], circles[0].invite_code,
            circles[1].invite_code, sizeof members / sizeof members[0], DEMO_OWNER_LOGIN,
            DEMO_PASSWORD, first.display_name, first.invite_code, second.display_name,
            first.display_name, (long long)order_id, first.display_name, (long long)direct_id);
    fprintf(out,
            "  %s, who tried %s, recommended it to %s (share %lld): %lld reached, %lld left out\n",
            first.display_name, trial_title, circles[0].name, (long long)shared.id,
            (long long)shared.report.count[SHARE_DELIVERED],
            (long long)(shared.report.candidates - shared.report.count[SHARE_DELIVERED]));
    for (size_t i = 0; i < n_who; i++)
        fprintf(out, "    %s: %s%s (similarity %lld.%03lld)\n", who[i].display_name,
                who[i].outcome == SHARE_DELIVERED ? "in their feed" : "left out: ",
                who[i].outcome == SHARE_DELIVERED ? "" : share_outcome_name(who[i].outcome),
                (long long)(who[i].similarity_milli / 1000),
                (long long)(who[i].similarity_milli % 1000));
    rc = 0;
out:
    arena_release(&a);
    return rc;
}
