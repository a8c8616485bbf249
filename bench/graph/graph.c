/*
 * bench_graph - propagation on a real friendship graph (issue 14, point 5).
 *
 *   bench_graph DATA_DIR DB_PATH [STARTS] [SEED]
 *
 * Reads the SNAP ego-Facebook files from DATA_DIR (never copied into the
 * repository) and loads them into one shop of a fresh SQLite database
 * through the store: the 4,039 people as members, the 88,234 friendships as
 * accepted contacts, the egos' circles as the shop's circles (capped at 500
 * members, the ego as each circle's owner, each tagged with its members'
 * three commonest interests), the profile features that are interests
 * (schools, studies, degrees, classes, employers, positions, places,
 * hometowns, languages, religion, politics; not names, birthdays, gender or
 * dates) as declared interest tags, and a few products, each tagged with
 * the commonest interests of one ego network.
 *
 * Then STARTS members (default 300) become promoters with a trial of a
 * product and share it (share_create(), the server's own code) into one of
 * their circles or to their contacts; up to two recipients of each hop-1
 * share are given a trial and pass it on (hop 2). Every share runs on its
 * own day, so the daily caps never bind, and nobody has bought anything:
 * what filters is similarity alone (and, at hop 2, not twice).
 *
 * Prints, per hop: the candidates, delivered and filtered counts, the mean
 * similarity of each to the product and to the root sharer, and what the
 * same threshold at hop 2 without the root rule would have delivered; and
 * the baseline similarity of friends, friends of friends and strangers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "db/migrate.h"
#include "domain/share.h"
#include "domain/similarity.h"
#include "util/clock.h"
#include "util/log.h"

#define NODES 4039
#define MAX_TAGS_PER_NODE 64
#define PRODUCTS 6
#define SIMILARITY_MIN 200 /* the shop's similarity_min for this run, thousandths */

struct node {
    int64_t tags[MAX_TAGS_PER_NODE]; /* global feature ids, with the category folded in */
    int n;
};

static struct node nodes[NODES];
static char feature_name[8192][24]; /* tag names by global feature id ("" when not an interest) */

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "bench_graph: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

/* The interest categories and the short names their tags get. */
static const char *tag_prefix(const char *category)
{
    static const struct {
        const char *category, *prefix;
    } map[] = {
        {"education;school;id", "school"}, {"education;concentration;id", "study"},
        {"education;degree;id", "degree"}, {"education;classes;id", "class"},
        {"work;employer;id", "employer"},  {"work;position;id", "position"},
        {"work;location;id", "workplace"}, {"location;id", "place"},
        {"hometown;id", "hometown"},       {"languages;id", "language"},
        {"religion", "religion"},          {"political", "politics"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(category, map[i].category))
            return map[i].prefix;
    return NULL;
}

static FILE *open_in(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return fopen(path, "r");
}

static const int egos[] = {0, 107, 348, 414, 686, 698, 1684, 1912, 3437, 3980};
#define EGOS (int)(sizeof egos / sizeof egos[0])

/* Each ego's feature names: local index -> global feature id (or -1 when not an interest). */
static int read_featnames(const char *dir, int ego, int64_t *local, int max)
{
    char name[64], line[512];
    snprintf(name, sizeof name, "%d.featnames", ego);
    FILE *f = open_in(dir, name);
    if (!f)
        die("cannot read", name);
    int n = 0;
    while (fgets(line, sizeof line, f) && n < max) {
        char *sp = strchr(line, ' ');
        char *feat = strstr(line, ";anonymized feature ");
        local[n] = -1;
        if (sp && feat) {
            *feat = '\0';
            long id = atol(feat + strlen(";anonymized feature "));
            const char *prefix = tag_prefix(sp + 1);
            if (prefix && id >= 0 && id < 8192) {
                snprintf(feature_name[id], sizeof feature_name[id], "%s-%ld", prefix, id);
                local[n] = id;
            }
        }
        n++;
    }
    fclose(f);
    return n;
}

static void add_tag(struct node *nd, int64_t id)
{
    for (int i = 0; i < nd->n; i++)
        if (nd->tags[i] == id)
            return;
    if (nd->n < MAX_TAGS_PER_NODE)
        nd->tags[nd->n++] = id;
}

static void read_features(const char *dir)
{
    static int64_t local[2048];
    static char line[1 << 16];
    for (int k = 0; k < EGOS; k++) {
        int nf = read_featnames(dir, egos[k], local, 2048);
        char name[64];
        for (int pass = 0; pass < 2; pass++) {
            snprintf(name, sizeof name, pass ? "%d.egofeat" : "%d.feat", egos[k]);
            FILE *f = open_in(dir, name);
            if (!f)
                die("cannot read", name);
            while (fgets(line, sizeof line, f)) {
                char *p = line, *end;
                long node = pass ? egos[k] : strtol(p, &end, 10);
                if (!pass)
                    p = end;
                if (node < 0 || node >= NODES)
                    continue;
                for (int i = 0; i < nf; i++) {
                    long v = strtol(p, &end, 10);
                    if (end == p)
                        break;
                    p = end;
                    if (v == 1 && local[i] >= 0)
                        add_tag(&nodes[node], local[i]);
                }
            }
            fclose(f);
        }
    }
}

static struct db *db;

static void run(const char *sql, struct db_arg a, struct db_arg b, struct db_arg c, struct db_arg d)
{
    if (db_run(db, sql, a, b, c, d))
        die("store", db_errmsg(db));
}

static int64_t user_id(int node)
{
    return node + 2; /* 1 is the shop's owner */
}

/* The commonest interests among `members`, at most `max`, into out (ids). */
static int common_tags(const int *members, int n, int64_t *out, int max)
{
    static int count[8192];
    memset(count, 0, sizeof count);
    for (int i = 0; i < n; i++)
        for (int t = 0; t < nodes[members[i]].n; t++)
            count[nodes[members[i]].tags[t]]++;
    int k = 0;
    for (; k < max; k++) {
        int best = -1;
        for (int id = 0; id < 8192; id++)
            if (count[id] > 0 && (best < 0 || count[id] > count[best]))
                best = id;
        if (best < 0)
            break;
        out[k] = best;
        count[best] = 0;
    }
    return k;
}

struct circle_rec {
    int64_t id;
    int ego;
};
static struct circle_rec circles[256];
static int n_circles;
static int *node_circles[NODES]; /* circle indexes per node */
static int node_n_circles[NODES];
static int *adj[NODES], deg[NODES];

static void load(const char *dir)
{
    static char line[1 << 16];
    int applied = 0;
    struct errinfo ei = {0};
    if (migrate_run(db, &applied, &ei))
        die("migrate", ei.message);
    if (db_begin(db, DB_TX_WRITE))
        die("begin", db_errmsg(db));
    if (db_exec(db, "INSERT INTO users (id, login, password_hash, display_name, created_at)"
                    " VALUES (1, 'owner', 'x', 'owner', 0);"
                    "INSERT INTO shops (id, owner_id, name, slug, trial_ends_at, l1_bps, l2_bps,"
                    " settle_days, binding_days, similarity_milli, created_at, updated_at)"
                    " VALUES (1, 1, 'ego-facebook', 'ego-facebook', 0, 1000, 500, 7, 30, 200,"
                    " 0, 0);"
                    "INSERT INTO shop_roles (shop_id, user_id, role, created_at)"
                    " VALUES (1, 1, 'owner', 0);"
                    "UPDATE shops SET feed_daily_shop = 10"))
        die("seed", db_errmsg(db));
    static const char user[] = "INSERT INTO users (id, login, password_hash, display_name,"
                               " created_at) VALUES (?, ?, 'x', ?, 0)";
    static const char interest[] =
        "INSERT INTO member_interests (user_id, source, tag, weight_milli, updated_at)"
        " VALUES (?, 'declared', ?, 1000, 0)";
    for (int i = 0; i < NODES; i++) {
        char login[32];
        snprintf(login, sizeof login, "fb%d", i);
        run(user, DB_INT(user_id(i)), DB_STR(login), DB_STR(login), DB_SKIP);
        for (int t = 0; t < nodes[i].n; t++)
            run(interest, DB_INT(user_id(i)), DB_STR(feature_name[nodes[i].tags[t]]), DB_SKIP,
                DB_SKIP);
    }
    /* friendships */
    FILE *f = open_in(dir, "facebook_combined.txt");
    if (!f)
        die("cannot read", "facebook_combined.txt");
    static const char contact[] =
        "INSERT INTO contacts (user_lo, user_hi, requested_by, status, created_at, accepted_at)"
        " VALUES (?, ?, ?, 'accepted', 0, 0) ON CONFLICT DO NOTHING";
    static int ea[100000], eb[100000];
    int edges = 0;
    while (fgets(line, sizeof line, f) && edges < 100000) {
        int a = 0, b = 0;
        if (sscanf(line, "%d %d", &a, &b) != 2 || a == b || a < 0 || b < 0 || a >= NODES ||
            b >= NODES)
            continue;
        int lo = a < b ? a : b, hi = a < b ? b : a;
        run(contact, DB_INT(user_id(lo)), DB_INT(user_id(hi)), DB_INT(user_id(lo)), DB_SKIP);
        ea[edges] = a, eb[edges] = b, edges++;
        deg[a]++, deg[b]++;
    }
    fclose(f);
    for (int i = 0; i < NODES; i++)
        adj[i] = calloc((size_t)deg[i] + 1, sizeof(int)), deg[i] = 0;
    for (int e = 0; e < edges; e++)
        adj[ea[e]][deg[ea[e]]++] = eb[e], adj[eb[e]][deg[eb[e]]++] = ea[e];
    /* circles */
    static const char circle[] =
        "INSERT INTO circles (shop_id, name, kind, capacity, member_count, invite_code,"
        " created_at, updated_at) VALUES (1, ?, 'interest', ?, ?, ?, 0, 0) RETURNING id";
    static const char member[] = "INSERT INTO circle_members (shop_id, circle_id, user_id, role,"
                                 " joined_at) VALUES (1, ?, ?, ?, 0) ON CONFLICT DO NOTHING";
    static const char ctag[] = "INSERT INTO circle_tags (shop_id, circle_id, tag, weight_milli)"
                               " VALUES (1, ?, ?, 1000)";
    for (int k = 0; k < EGOS; k++) {
        char name[64];
        snprintf(name, sizeof name, "%d.circles", egos[k]);
        FILE *cf = open_in(dir, name);
        if (!cf)
            die("cannot read", name);
        while (fgets(line, sizeof line, cf) && n_circles < 256) {
            int members[600], n = 0;
            char *p = strchr(line, '\t'), *end;
            while (p && n < 499) { /* 500 with the ego */
                long v = strtol(p, &end, 10);
                if (end == p)
                    break;
                p = end;
                if (v >= 0 && v < NODES && v != egos[k])
                    members[n++] = (int)v;
            }
            if (n < 1)
                continue;
            members[n++] = egos[k];
            int64_t id = 0;
            char code[32], cname[64];
            snprintf(code, sizeof code, "EGO%dC%d", egos[k], n_circles);
            snprintf(cname, sizeof cname, "ego %d circle %d", egos[k], n_circles);
            if (db_value(db, circle, &id, DB_STR(cname), DB_INT(n < 2 ? 2 : n), DB_INT(n),
                         DB_STR(code)))
                die("circle", db_errmsg(db));
            for (int i = 0; i < n; i++) {
                run(member, DB_INT(id), DB_INT(user_id(members[i])),
                    DB_STR(members[i] == egos[k] ? "owner" : "member"), DB_SKIP);
                int m = members[i];
                int *grown =
                    realloc(node_circles[m], (size_t)(node_n_circles[m] + 1) * sizeof(int));
                if (!grown)
                    die("memory", NULL);
                node_circles[m] = grown;
                node_circles[m][node_n_circles[m]++] = n_circles;
            }
            int64_t tags[3];
            int nt = common_tags(members, n, tags, 3);
            for (int t = 0; t < nt; t++)
                run(ctag, DB_INT(id), DB_STR(feature_name[tags[t]]), DB_SKIP, DB_SKIP);
            circles[n_circles].id = id;
            circles[n_circles].ego = egos[k];
            n_circles++;
        }
        fclose(cf);
    }
    /* products: each tagged with the commonest interests of one ego network (its circles'
     * members), weights 1, 0.7, 0.5 */
    static const char product[] =
        "INSERT INTO products (id, shop_id, title, price_fen, stock, stock_in, status,"
        " created_at, updated_at) VALUES (?, 1, ?, 1000, 1000000, 1000000, 'on_sale', 0, 0)";
    static const char ptag[] = "INSERT INTO product_tags (shop_id, product_id, tag, weight_milli)"
                               " VALUES (1, ?, ?, ?)";
    for (int p = 0; p < PRODUCTS; p++) {
        int ego = egos[p], members[NODES], n = 0;
        for (int i = 0; i < NODES; i++)
            for (int c = 0; c < node_n_circles[i]; c++)
                if (circles[node_circles[i][c]].ego == ego) {
                    members[n++] = i;
                    break;
                }
        int64_t tags[3];
        int nt = common_tags(members, n, tags, 3);
        char title[32];
        snprintf(title, sizeof title, "product of ego %d", ego);
        run(product, DB_INT(p + 1), DB_STR(title), DB_SKIP, DB_SKIP);
        static const int64_t w[] = {1000, 700, 500};
        for (int t = 0; t < nt; t++)
            run(ptag, DB_INT(p + 1), DB_STR(feature_name[tags[t]]), DB_INT(w[t]), DB_SKIP);
    }
    if (db_commit(db))
        die("commit", db_errmsg(db));
    fprintf(stderr, "loaded %d members, %d friendships, %d circles, %d products\n", NODES, edges,
            n_circles, PRODUCTS);
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

/* Makes `node` able to share product p: a trial, and (promoter) an active promoter record. */
static void experience(int node, int p, bool promoter)
{
    static const char trial[] = "INSERT INTO trials (shop_id, product_id, user_id, granted_by,"
                                " created_at) VALUES (1, ?, ?, 1, 0) ON CONFLICT DO NOTHING";
    static const char prom[] =
        "INSERT INTO promoters (shop_id, user_id, status, invite_code, ref_token, created_at,"
        " updated_at) VALUES (1, ?, 'active', ?, ?, 0, 0) ON CONFLICT DO NOTHING";
    run(trial, DB_INT(p + 1), DB_INT(user_id(node)), DB_SKIP, DB_SKIP);
    if (promoter) {
        char code[32], ref[32];
        snprintf(code, sizeof code, "P%d", node);
        snprintf(ref, sizeof ref, "R%d", node);
        run(prom, DB_INT(user_id(node)), DB_STR(code), DB_STR(ref), DB_SKIP);
    }
}

/* One share by `node`: into one of its circles (half the time, when it has any) or to its
 * contacts; the share's id, 0 when refused. */
static int64_t share_by(int node, int p, int64_t parent, struct arena *a)
{
    struct share_input in = {
        .sharer_id = user_id(node), .product_id = parent ? 0 : p + 1, .parent_id = parent};
    if (node_n_circles[node] && next_rand() % 2)
        in.circle_id = circles[node_circles[node][next_rand() % (uint64_t)node_n_circles[node]]].id;
    else
        in.contacts = true;
    struct share s;
    struct errinfo ei = {0};
    clock_advance(MS_PER_DAY); /* its own day: the daily caps do not bind */
    enum err e = share_create(db, &in, a, &s, &ei);
    if (e) {
        fprintf(stderr, "share by %d: %s %s\n", node, err_code(e), ei.message);
        return 0;
    }
    return s.id;
}

/* Mean cosine of member pairs: friends (every edge), friends of friends, strangers (samples). */
static void baselines(void)
{
    struct arena a;
    arena_init(&a, 64 << 20);
    static struct ivec vec[NODES];
    for (int i = 0; i < NODES; i++) {
        vec[i].t = arena_alloc(&a, (size_t)(nodes[i].n + 1) * sizeof(struct tag));
        for (int t = 0; t < nodes[i].n; t++)
            vec[i].t[t] = (struct tag){feature_name[nodes[i].tags[t]], 1000};
        vec[i].n = (size_t)nodes[i].n;
        sim_normalize(&vec[i]);
    }
    int64_t sum = 0, n = 0;
    for (int i = 0; i < NODES; i++)
        for (int k = 0; k < deg[i]; k++)
            if (adj[i][k] > i)
                sum += sim_cosine_milli(&vec[i], &vec[adj[i][k]]), n++;
    printf("| friends (every pair) | %lld | %.3f |\n", (long long)n,
           (double)sum / (double)n / 1000);
    int64_t fsum = 0, fn = 0, ssum = 0, sn = 0;
    for (int s = 0; s < 200000; s++) {
        int u = (int)(next_rand() % NODES);
        if (!deg[u])
            continue;
        int v = adj[u][next_rand() % (uint64_t)deg[u]];
        int w = adj[v][next_rand() % (uint64_t)deg[v]];
        bool direct = w == u;
        for (int k = 0; !direct && k < deg[u]; k++)
            direct = adj[u][k] == w;
        if (!direct)
            fsum += sim_cosine_milli(&vec[u], &vec[w]), fn++;
        int x = (int)(next_rand() % NODES), y = (int)(next_rand() % NODES);
        if (x != y)
            ssum += sim_cosine_milli(&vec[x], &vec[y]), sn++;
    }
    printf("| friends of friends (sampled, not friends) | %lld | %.3f |\n", (long long)fn,
           (double)fsum / (double)fn / 1000);
    printf("| strangers (random pairs) | %lld | %.3f |\n", (long long)sn,
           (double)ssum / (double)sn / 1000);
    arena_release(&a);
}

static void report(void)
{
    static const char sql[] =
        "SELECT hop, COUNT(*), SUM(CASE WHEN outcome = 'delivered' THEN 1 ELSE 0 END),"
        " AVG(similarity_milli), AVG(root_similarity_milli),"
        " AVG(CASE WHEN outcome = 'delivered' THEN similarity_milli END),"
        " AVG(CASE WHEN outcome = 'delivered' THEN root_similarity_milli END),"
        " AVG(CASE WHEN outcome <> 'delivered' THEN similarity_milli END),"
        " AVG(CASE WHEN outcome <> 'delivered' THEN root_similarity_milli END),"
        " SUM(CASE WHEN outcome = 'similarity' THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN outcome = 'already_reached' THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN outcome = 'delivered' OR (outcome = 'similarity' AND similarity_milli"
        "  >= 200) THEN 1 ELSE 0 END),"
        " AVG(CASE WHEN outcome = 'delivered' OR (outcome = 'similarity' AND similarity_milli"
        "  >= 200) THEN root_similarity_milli END),"
        " (SELECT COUNT(*) FROM shares s WHERE s.hop = a.hop)"
        " FROM share_audience a GROUP BY hop ORDER BY hop";
    struct db_stmt *st = NULL;
    enum err e = db_query(db, sql, &st, DB_SKIP);
    printf("\n| hop | shares | candidates | delivered | filtered: similarity | filtered: already "
           "reached | sim. to product: all / delivered / filtered | sim. to root sharer: all / "
           "delivered / filtered | same threshold, no root rule: delivered, sim. to root |\n");
    printf("|---|---|---|---|---|---|---|---|---|\n");
    while (!e && db_next(st, &e))
        printf("| %lld | %lld | %lld | %lld | %lld | %lld | %.3f / %.3f / %.3f | %.3f / %.3f / %.3f"
               " | %lld, %.3f |\n",
               (long long)db_col_int64(st, 0), (long long)db_col_int64(st, 13),
               (long long)db_col_int64(st, 1), (long long)db_col_int64(st, 2),
               (long long)db_col_int64(st, 9), (long long)db_col_int64(st, 10),
               atof(db_col_text(st, 3, NULL) ? db_col_text(st, 3, NULL) : "0") / 1000,
               atof(db_col_text(st, 5, NULL) ? db_col_text(st, 5, NULL) : "0") / 1000,
               atof(db_col_text(st, 7, NULL) ? db_col_text(st, 7, NULL) : "0") / 1000,
               atof(db_col_text(st, 4, NULL) ? db_col_text(st, 4, NULL) : "0") / 1000,
               atof(db_col_text(st, 6, NULL) ? db_col_text(st, 6, NULL) : "0") / 1000,
               atof(db_col_text(st, 8, NULL) ? db_col_text(st, 8, NULL) : "0") / 1000,
               (long long)db_col_int64(st, 11),
               atof(db_col_text(st, 12, NULL) ? db_col_text(st, 12, NULL) : "0") / 1000);
    if (st)
        db_done(st);
    if (e)
        die("report", db_errmsg(db));
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_graph DATA_DIR DB_PATH [STARTS] [SEED]\n");
        return 2;
    }
    int starts = argc > 3 ? atoi(argv[3]) : 300;
    if (argc > 4)
        rng ^= (uint64_t)atoll(argv[4]) * 0x9E3779B97F4A7C15ULL;
    log_set_level(LOG_WARN);
    unlink(argv[2]);
    struct db_options opt = {.url = argv[2], .sync = DB_SYNC_NORMAL, .busy_timeout_ms = 5000};
    struct errinfo ei = {0};
    if (db_open(&opt, &db, &ei))
        die("open", ei.message);
    read_features(argv[1]);
    load(argv[1]);
    share_limits.daily_max = 50;

    struct arena a;
    int64_t hop1 = 0, hop2 = 0;
    int64_t t0 = clock_mono_us();
    for (int s = 0; s < starts; s++) {
        int node = (int)(next_rand() % NODES), p = (int)(next_rand() % PRODUCTS);
        if (!deg[node])
            continue;
        experience(node, p, true);
        arena_init(&a, 8 << 20);
        int64_t id = share_by(node, p, 0, &a);
        arena_release(&a);
        if (!id)
            continue;
        hop1++;
        /* up to two recipients pass it on */
        static const char recipients[] =
            "SELECT user_id FROM share_audience WHERE share_id = ? AND outcome = 'delivered'"
            " ORDER BY user_id";
        int got[600], n = 0;
        struct db_stmt *st = NULL;
        enum err e = db_query(db, recipients, &st, DB_INT(id));
        while (!e && db_next(st, &e) && n < 600)
            got[n++] = (int)db_col_int64(st, 0) - 2;
        if (st)
            db_done(st);
        for (int k = 0; k < 2 && n; k++) {
            int r = got[next_rand() % (uint64_t)n];
            experience(r, p, false);
            arena_init(&a, 8 << 20);
            hop2 += share_by(r, p, id, &a) != 0;
            arena_release(&a);
        }
    }
    int64_t t1 = clock_mono_us();
    printf("ego-Facebook: %d members, shop similarity_min %.2f; %lld hop-1 and %lld hop-2 shares "
           "in %.1f s (%.2f ms a share)\n\n",
           NODES, SIMILARITY_MIN / 1000.0, (long long)hop1, (long long)hop2,
           (double)(t1 - t0) / 1e6, (double)(t1 - t0) / 1000.0 / (double)(hop1 + hop2));
    printf("| pairs | n | mean similarity |\n|---|---|---|\n");
    baselines();
    report();
    db_close(db);
    return 0;
}
