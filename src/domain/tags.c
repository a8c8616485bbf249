#include "domain/tags.h"

#include <string.h>

#include "db/db.h"
#include "util/limits.h"
#include "util/text.h"

static const struct tag_vocab vocab[] = {
    {"护肤", "skincare"},
    {"美妆", "makeup"},
    {"母婴", "parenting"},
    {"育儿", "childcare"},
    {"早教", "early-education"},
    {"跑步", "running"},
    {"健身", "fitness"},
    {"瑜伽", "yoga"},
    {"骑行", "cycling"},
    {"户外", "outdoor"},
    {"露营", "camping"},
    {"钓鱼", "fishing"},
    {"茶", "tea"},
    {"咖啡", "coffee"},
    {"酒", "wine"},
    {"坚果", "nuts"},
    {"零食", "snacks"},
    {"农产品", "farm-produce"},
    {"有机", "organic"},
    {"烘焙", "baking"},
    {"养生", "wellness"},
    {"宠物", "pets"},
    {"园艺", "gardening"},
    {"家居", "home"},
    {"手工", "handmade"},
    {"绘画", "painting"},
    {"摄影", "photography"},
    {"读书", "reading"},
    {"音乐", "music"},
    {"旅行", "travel"},
    {"数码", "gadgets"},
    {"服饰", "clothing"},
    {"老人", "elderly-care"},
};

size_t tags_vocab_len(void)
{
    return sizeof vocab / sizeof vocab[0];
}

const struct tag_vocab *tags_vocab(size_t i)
{
    return i < tags_vocab_len() ? &vocab[i] : NULL;
}

enum err tag_normalize(struct arena *a, const char *name, size_t len, const char *field,
                       const char **out, struct errinfo *ei)
{
    text_trim(&name, &len);
    long chars = text_utf8_chars(name, len);
    if (chars < 1 || chars > LIMIT_TAG_CHARS)
        return err_set(ei, ERR_INVALID, field, "a tag must have 1 to %d characters",
                       LIMIT_TAG_CHARS);
    if (text_has_control(name, len))
        return err_set(ei, ERR_INVALID, field, "a tag may not contain control characters");
    char *s = arena_strndup(a, name, len);
    if (!s)
        return ERR_TOO_LARGE;
    for (char *p = s; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    for (size_t i = 0; i < tags_vocab_len(); i++)
        if (strcmp(s, vocab[i].en) == 0) {
            s = (char *)vocab[i].name; /* static storage, never written */
            break;
        }
    *out = s;
    return ERR_OK;
}

enum err tags_validate(struct arena *a, struct tag *tags, size_t n, const char *field,
                       struct errinfo *ei)
{
    if (n > LIMIT_TAGS)
        return err_set(ei, ERR_OUT_OF_RANGE, field, "at most %d tags", LIMIT_TAGS);
    for (size_t i = 0; i < n; i++) {
        enum err e = tag_normalize(a, tags[i].name, strlen(tags[i].name), field, &tags[i].name, ei);
        if (e)
            return e;
        if (tags[i].weight_milli < 1 || tags[i].weight_milli > 1000)
            return err_set(ei, ERR_OUT_OF_RANGE, field,
                           "the weight of tag \"%s\" must be above 0 and at most 1", tags[i].name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(tags[j].name, tags[i].name) == 0)
                return err_set(ei, ERR_INVALID, field, "tag \"%s\" is given twice", tags[i].name);
    }
    return ERR_OK;
}

enum err tags_replace(struct db *db, const char *del, const char *ins, int64_t shop_id, int64_t id,
                      const struct tag *tags, size_t n)
{
    enum err e = db_run(db, del, DB_INT(id));
    for (size_t i = 0; e == ERR_OK && i < n; i++)
        e = db_run(db, ins, DB_INT(shop_id), DB_INT(id), DB_STR(tags[i].name),
                   DB_INT(tags[i].weight_milli));
    return e;
}

static enum err read_tag(struct db_stmt *st, struct arena *a, void *item)
{
    struct tag *t = item;
    t->name = db_col_dup(st, 0, a);
    t->weight_milli = db_col_int64(st, 1);
    return ERR_OK;
}

enum err tags_read(struct db *db, const char *sql, int64_t id, size_t max, struct arena *a,
                   struct tag **out, size_t *n)
{
    void *items = NULL;
    enum err e =
        db_list(db, sql, (int64_t)max, sizeof **out, read_tag, a, &items, n, NULL, DB_INT(id));
    *out = items;
    return e;
}
