/* session_memory.c -- a hash table of sessions threaded on an LRU list
 * (session_memory.h). */
#include "session_memory.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#define SMEM_BUCKETS 16384 /* a power of two above SMEM_MAX */

struct smem_node {
    struct smem_entry e;
    uint64_t hash;
    struct smem_node *hnext;
    TAILQ_ENTRY(smem_node) lru; /* head = most recently used */
};

struct smem {
    struct smem_node *buckets[SMEM_BUCKETS];
    TAILQ_HEAD(smem_lru, smem_node) lru;
    size_t count, max;
    int64_t idle_ms;
    void (*on_change)(void *ud);
    void *on_change_ud;
};

static uint64_t hash_key(const char *profile, const char *session)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *p = profile; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ 0) * 1099511628211ULL; /* the separator: "a" + "bc" differs from "ab" + "c" */
    for (const char *p = session; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

struct smem *smem_new(size_t max, int64_t idle_ms)
{
    struct smem *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    TAILQ_INIT(&m->lru);
    m->max = max ? max : SMEM_MAX;
    m->idle_ms = idle_ms > 0 ? idle_ms : SMEM_IDLE_MS;
    return m;
}

static void node_free(struct smem_node *n)
{
    free(n->e.profile);
    free(n->e.session);
    free(n->e.last_provider);
    free(n);
}

static void changed(struct smem *m)
{
    if (m->on_change)
        m->on_change(m->on_change_ud);
}

static void unlink_node(struct smem *m, struct smem_node *n)
{
    struct smem_node **pp = &m->buckets[n->hash & (SMEM_BUCKETS - 1)];
    while (*pp && *pp != n)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = n->hnext;
    TAILQ_REMOVE(&m->lru, n, lru);
    m->count--;
    node_free(n);
}

void smem_free(struct smem *m)
{
    if (!m)
        return;
    struct smem_node *n;
    while ((n = TAILQ_FIRST(&m->lru))) {
        TAILQ_REMOVE(&m->lru, n, lru);
        node_free(n);
    }
    free(m);
}

static struct smem_node *find(const struct smem *m, const char *profile, const char *session)
{
    uint64_t h = hash_key(profile, session);
    for (struct smem_node *n = m->buckets[h & (SMEM_BUCKETS - 1)]; n; n = n->hnext)
        if (n->hash == h && strcmp(n->e.profile, profile) == 0 &&
            strcmp(n->e.session, session) == 0)
            return n;
    return NULL;
}

static int idle(const struct smem *m, const struct smem_node *n, int64_t now_ms)
{
    return now_ms - n->e.last_seen_ms > m->idle_ms;
}

const struct smem_entry *smem_get(const struct smem *m, const char *profile, const char *session,
                                  int64_t now_ms)
{
    const struct smem_node *n = find(m, profile, session);
    return n && !idle(m, n, now_ms) ? &n->e : NULL;
}

/* Puts n (profile and session set) into its bucket; the LRU list is the caller's. */
static void link_node(struct smem *m, struct smem_node *n)
{
    n->hash = hash_key(n->e.profile, n->e.session);
    struct smem_node **head = &m->buckets[n->hash & (SMEM_BUCKETS - 1)];
    n->hnext = *head;
    *head = n;
    m->count++;
}

/* The entry for the key, created (evicting the least recently used when
 * full) and moved to the front; NULL when out of memory. */
static struct smem_node *touch(struct smem *m, const char *profile, const char *session,
                               int64_t now_ms)
{
    struct smem_node *n = find(m, profile, session);
    if (n) {
        if (idle(m, n, now_ms)) { /* gone in all but the sweep: start over */
            free(n->e.last_provider);
            n->e.last_provider = NULL;
            n->e.requests = 0;
            n->e.input_tokens = n->e.output_tokens = 0;
        }
        TAILQ_REMOVE(&m->lru, n, lru);
    } else {
        while (m->count >= m->max && !TAILQ_EMPTY(&m->lru))
            unlink_node(m, TAILQ_LAST(&m->lru, smem_lru));
        n = calloc(1, sizeof(*n));
        if (!n)
            return NULL;
        n->e.profile = strdup(profile);
        n->e.session = strdup(session);
        if (!n->e.profile || !n->e.session) {
            node_free(n);
            return NULL;
        }
        link_node(m, n);
    }
    n->e.last_seen_ms = now_ms;
    TAILQ_INSERT_HEAD(&m->lru, n, lru);
    return n;
}

void smem_note_request(struct smem *m, const char *profile, const char *session, int scenario,
                       int64_t now_ms)
{
    struct smem_node *n = touch(m, profile, session, now_ms);
    if (!n)
        return;
    n->e.requests++;
    n->e.last_scenario = scenario;
    changed(m);
}

void smem_note_served(struct smem *m, const char *profile, const char *session,
                      const char *provider, int64_t input_tokens, int64_t output_tokens,
                      int64_t now_ms)
{
    struct smem_node *n = touch(m, profile, session, now_ms);
    if (!n)
        return;
    if (!n->e.last_provider || strcmp(n->e.last_provider, provider) != 0) {
        char *copy = strdup(provider);
        if (copy) {
            free(n->e.last_provider);
            n->e.last_provider = copy;
        }
    }
    if (input_tokens >= 0)
        n->e.input_tokens = input_tokens;
    if (output_tokens >= 0)
        n->e.output_tokens = output_tokens;
    changed(m);
}

void smem_forget_tokens(struct smem *m, const char *profile, const char *session)
{
    struct smem_node *n = find(m, profile, session);
    if (n) {
        n->e.input_tokens = n->e.output_tokens = 0;
        changed(m);
    }
}

void smem_sweep(struct smem *m, int64_t now_ms)
{
    struct smem_node *n;
    int any = 0;
    /* Oldest last: walk from the tail while entries are idle. */
    while ((n = TAILQ_LAST(&m->lru, smem_lru)) && idle(m, n, now_ms)) {
        unlink_node(m, n);
        any = 1;
    }
    if (any)
        changed(m);
}

size_t smem_count(const struct smem *m) { return m->count; }

void smem_each(const struct smem *m, int64_t now_ms, smem_each_fn fn, void *ud)
{
    const struct smem_node *n;
    TAILQ_FOREACH(n, &m->lru, lru)
        if (!idle(m, n, now_ms))
            fn(ud, &n->e);
}

void smem_restore(struct smem *m, const struct smem_entry *e)
{
    if (find(m, e->profile, e->session))
        return;
    /* Restored oldest first would need sorting; entries come most recent
     * first (smem_each), so each goes to the tail. */
    if (m->count >= m->max)
        return;
    struct smem_node *n = calloc(1, sizeof(*n));
    if (!n)
        return;
    n->e = *e;
    n->e.profile = strdup(e->profile);
    n->e.session = strdup(e->session);
    n->e.last_provider = e->last_provider ? strdup(e->last_provider) : NULL;
    if (!n->e.profile || !n->e.session || (e->last_provider && !n->e.last_provider)) {
        node_free(n);
        return;
    }
    link_node(m, n);
    TAILQ_INSERT_TAIL(&m->lru, n, lru);
}

void smem_set_on_change(struct smem *m, void (*fn)(void *ud), void *ud)
{
    m->on_change = fn;
    m->on_change_ud = ud;
}
