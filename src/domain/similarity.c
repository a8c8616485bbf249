/*
 * similarity.c - cosine similarity of sparse interest vectors (similarity.h).
 */
#include "domain/similarity.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int by_name(const void *x, const void *y)
{
    return strcmp(((const struct tag *)x)->name, ((const struct tag *)y)->name);
}

void sim_normalize(struct ivec *v)
{
    if (v->n < 2)
        return;
    qsort(v->t, v->n, sizeof *v->t, by_name);
    size_t k = 0;
    for (size_t i = 1; i < v->n; i++) {
        if (!strcmp(v->t[i].name, v->t[k].name))
            v->t[k].weight_milli += v->t[i].weight_milli;
        else
            v->t[++k] = v->t[i];
    }
    v->n = k + 1;
}

struct ivec sim_member_vector(const struct tag *declared, size_t n_declared,
                              const struct tag *learned, size_t n_learned, struct arena *a)
{
    struct ivec v = {0};
    size_t n = n_declared + n_learned;
    if (!n || !(v.t = arena_alloc(a, n * sizeof *v.t)))
        return v;
    for (size_t i = 0; i < n_declared; i++)
        v.t[v.n++] = declared[i];
    for (size_t i = 0; i < n_learned; i++) {
        int64_t w = learned[i].weight_milli / SIM_LEARNED_DIV;
        if (w > 0)
            v.t[v.n++] = (struct tag){learned[i].name, w};
    }
    sim_normalize(&v);
    return v;
}

int64_t sim_cosine_milli(const struct ivec *a, const struct ivec *b)
{
    int64_t dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a->n; i++)
        na += a->t[i].weight_milli * a->t[i].weight_milli;
    for (size_t j = 0; j < b->n; j++)
        nb += b->t[j].weight_milli * b->t[j].weight_milli;
    for (size_t i = 0, j = 0; i < a->n && j < b->n;) {
        int c = strcmp(a->t[i].name, b->t[j].name);
        if (c == 0)
            dot += a->t[i++].weight_milli * b->t[j++].weight_milli;
        else if (c < 0)
            i++;
        else
            j++;
    }
    if (dot <= 0 || na <= 0 || nb <= 0)
        return 0;
    /* doubles hold these sums exactly (< 2^53); sqrt is correctly rounded, so the
     * result is the same on every machine */
    int64_t s = (int64_t)floor(1000.0 * (double)dot / sqrt((double)na * (double)nb) + 1e-9);
    return s > 1000 ? 1000 : s;
}

int64_t sim_prior_milli(int64_t cosine_milli)
{
    return cosine_milli * SIM_PRIOR_NUM / SIM_PRIOR_DEN;
}

size_t sim_matched(const struct ivec *a, const struct ivec *b, const char **out, size_t max)
{
    int64_t score[SIM_MATCHED_MAX] = {0};
    size_t n = 0;
    if (max > SIM_MATCHED_MAX)
        max = SIM_MATCHED_MAX;
    for (size_t i = 0, j = 0; i < a->n && j < b->n;) {
        int c = strcmp(a->t[i].name, b->t[j].name);
        if (c) {
            c < 0 ? i++ : j++;
            continue;
        }
        int64_t s = a->t[i].weight_milli * b->t[j].weight_milli;
        const char *name = a->t[i].name;
        i++, j++;
        /* insertion into the top `max` by score; names arrive sorted, so ties keep name order */
        size_t k = n < max ? n++ : max;
        if (k == max && (max == 0 || s <= score[max - 1]))
            continue;
        if (k == max)
            k = max - 1;
        while (k > 0 && score[k - 1] < s) {
            score[k] = score[k - 1];
            out[k] = out[k - 1];
            k--;
        }
        score[k] = s;
        out[k] = name;
    }
    return n;
}
