/*
 * similarity.h - how alike a member is to a product, or to another member
 * (RULE: SIMILARITY). Pure functions over sparse interest vectors.
 *
 * A vector is a list of (tag, weight) sorted by tag name (strcmp), each tag
 * once, weights positive integers (thousandths). Similarity is the cosine
 * of two vectors, in thousandths, rounded down:
 *
 *     sim(a, b) = floor(1000 * sum_t a[t] b[t] / sqrt(sum_t a[t]^2 * sum_t b[t]^2))
 *
 * 0 when either vector is empty. A member's vector is built by
 * sim_member_vector(): declared interests at their weight plus learned ones
 * at half theirs (SIM_LEARNED_DIV). A member with neither takes the tags of
 * the circle the share goes to as a weaker prior: the cosine is then scaled
 * by SIM_PRIOR_NUM / SIM_PRIOR_DEN (cosine ignores scale, so a prior made
 * of smaller weights alone would change nothing).
 */
#ifndef QUANZI_DOMAIN_SIMILARITY_H
#define QUANZI_DOMAIN_SIMILARITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/tags.h"
#include "util/arena.h"

#define SIM_LEARNED_DIV 2
#define SIM_PRIOR_NUM 4
#define SIM_PRIOR_DEN 5
#define SIM_MATCHED_MAX 3

struct ivec {
    struct tag *t; /* sorted by name, unique */
    size_t n;
};

/* Sorts tags by name and merges duplicates (summing their weights) in place. */
void sim_normalize(struct ivec *v);

/* The member's vector: declared[t] + learned[t] / SIM_LEARNED_DIV, in `a`. */
struct ivec sim_member_vector(const struct tag *declared, size_t n_declared,
                              const struct tag *learned, size_t n_learned, struct arena *a);

/* The cosine of two vectors in thousandths (0..1000). */
int64_t sim_cosine_milli(const struct ivec *a, const struct ivec *b);

/* The prior's similarity: sim_cosine_milli() scaled down by SIM_PRIOR_NUM / SIM_PRIOR_DEN. */
int64_t sim_prior_milli(int64_t cosine_milli);

/*
 * The tags the two vectors share, those contributing most to their dot
 * product first (ties by name), at most `max`, into out[]; returns how many.
 */
size_t sim_matched(const struct ivec *a, const struct ivec *b, const char **out, size_t max);

#endif
