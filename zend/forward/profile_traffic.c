#include "profile_traffic.h"

#include <stdlib.h>

/* Distinct profile names remembered; a config with more profiles than this
 * (none seen so far) makes the least recently seen one forget its traffic. */
#define PTRAFFIC_SLOTS 256

struct profile_traffic {
    struct { uint64_t key; int64_t seen_ms; } slot[PTRAFFIC_SLOTS];
};

static uint64_t name_hash(const char *name)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a, 64 bits: names do not collide in practice */
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return h ? h : 1; /* 0 marks a free slot */
}

struct profile_traffic *ptraffic_new(void) { return calloc(1, sizeof(struct profile_traffic)); }

void ptraffic_free(struct profile_traffic *t) { free(t); }

/* The slot of key (*found set), else the free slot it would take, else,
 * when the table is full, the least recently seen one. */
static size_t find(const struct profile_traffic *t, uint64_t key, int *found)
{
    size_t oldest = 0;
    for (size_t k = 0; k < PTRAFFIC_SLOTS; k++) {
        size_t i = (key + k) % PTRAFFIC_SLOTS;
        if (t->slot[i].key == key || t->slot[i].key == 0) {
            *found = t->slot[i].key == key;
            return i;
        }
        if (t->slot[i].seen_ms < t->slot[oldest].seen_ms)
            oldest = i;
    }
    *found = 0;
    return oldest; /* full: the least recently seen name gives way */
}

void ptraffic_note(struct profile_traffic *t, const char *name, int64_t now_ms)
{
    uint64_t key = name_hash(name);
    int found;
    size_t i = find(t, key, &found);
    t->slot[i].key = key;
    t->slot[i].seen_ms = now_ms;
}

int ptraffic_recent(const struct profile_traffic *t, const char *name, int64_t now_ms)
{
    int found;
    size_t i = find(t, name_hash(name), &found);
    return found && now_ms - t->slot[i].seen_ms <= PTRAFFIC_RECENT_MS;
}
