/*
 * tags.h - interest tags as used on members, products and circles.
 *
 * A tag is a short name (1..LIMIT_TAG_CHARS characters, no control
 * characters, surrounding space trimmed, ASCII letters lower-cased) with a
 * weight in (0, 1], stored in thousandths (1..1000).
 *
 * The vocabulary maps the common interests to one canonical name, the
 * Chinese one, so that "skincare" on a member and "护肤" on a product are the
 * same tag when audiences are computed. Tags outside the vocabulary are kept
 * as given (normalised).
 */
#ifndef QUANZI_DOMAIN_TAGS_H
#define QUANZI_DOMAIN_TAGS_H

#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/err.h"

struct tag {
    const char *name;
    int64_t weight_milli;
};

/* Normalised copy of `name` in `a`, or an error naming `field`. */
MUST_CHECK enum err tag_normalize(struct arena *a, const char *name, size_t len, const char *field,
                                  const char **out, struct errinfo *ei);
struct tag_vocab {
    const char *name; /* canonical (Chinese) */
    const char *en;   /* English alias */
};
size_t tags_vocab_len(void);
const struct tag_vocab *tags_vocab(size_t i);

/*
 * Replaces the tags of one object in the caller's transaction: `del` deletes
 * them (binds the object id), `ins` inserts one (binds shop id, object id,
 * tag, weight). Shared by products and circles.
 */
struct db;
MUST_CHECK enum err tags_replace(struct db *db, const char *del, const char *ins, int64_t shop_id,
                                 int64_t id, const struct tag *tags, size_t n);

/* Reads at most `max` tags of one object with `sql` (binds the object id) into `a`. */
MUST_CHECK enum err tags_read(struct db *db, const char *sql, int64_t id, size_t max,
                              struct arena *a, struct tag **out, size_t *n);

/* Checks count, names (normalising them in place) and duplicates after normalising. */
MUST_CHECK enum err tags_validate(struct arena *a, struct tag *tags, size_t n, const char *field,
                                  struct errinfo *ei);

#endif
