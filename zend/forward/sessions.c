#include "sessions.h"

#include <stdlib.h>

/* Distinct sessions remembered. */
#define SESSIONS_SLOTS 4096

struct sessions {
    struct { uint64_t key; int64_t seen_ms; } slot[SESSIONS_SLOTS];
    void (*on_new)(void *ud);
    void *on_new_ud;
};

struct sessions *sessions_new(void) { return calloc(1, sizeof(struct sessions)); }

void sessions_free(struct sessions *s) { free(s); }

void sessions_note(struct sessions *s, const char *key, int64_t now_ms)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a: enough to tell sessions apart */
    for (const char *p = key; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    size_t i = h % SESSIONS_SLOTS;
    int is_new = s->slot[i].key != h || s->slot[i].seen_ms <= 0;
    s->slot[i].key = h;
    s->slot[i].seen_ms = now_ms;
    if (is_new && s->on_new)
        s->on_new(s->on_new_ud);
}

void sessions_set_on_new(struct sessions *s, void (*fn)(void *ud), void *ud)
{
    s->on_new = fn;
    s->on_new_ud = ud;
}

void sessions_each(const struct sessions *s, int64_t now_ms, sessions_each_fn fn, void *ud)
{
    for (size_t i = 0; i < SESSIONS_SLOTS; i++)
        if (s->slot[i].seen_ms > 0 && now_ms - s->slot[i].seen_ms <= SESSIONS_WINDOW_MS)
            fn(ud, s->slot[i].key, s->slot[i].seen_ms);
}

void sessions_restore(struct sessions *s, uint64_t key, int64_t seen_ms)
{
    size_t i = key % SESSIONS_SLOTS;
    if (seen_ms <= 0 || seen_ms < s->slot[i].seen_ms)
        return; /* the slot already holds a later sighting */
    s->slot[i].key = key;
    s->slot[i].seen_ms = seen_ms;
}

size_t sessions_active(const struct sessions *s, int64_t now_ms)
{
    size_t n = 0;
    for (size_t i = 0; i < SESSIONS_SLOTS; i++)
        n += s->slot[i].seen_ms > 0 && now_ms - s->slot[i].seen_ms <= SESSIONS_WINDOW_MS;
    return n;
}
