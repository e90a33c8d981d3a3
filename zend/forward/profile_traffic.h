/* profile_traffic.h -- when each profile last had a request (health: a
 * profile that served traffic in the last PTRAFFIC_RECENT_MS and has no
 * usable provider makes zend unhealthy; docs/operations.md, "Health").
 *
 * A fixed table of hashed profile names with the time each was last seen:
 * no allocation per request, O(1) to note, and a reload that renames
 * profiles needs nothing (an old name simply stops being looked up). */
#ifndef ZEND_PROFILE_TRAFFIC_H
#define ZEND_PROFILE_TRAFFIC_H

#include <stdint.h>

/* A profile counts as serving traffic for ten minutes after its last request. */
#define PTRAFFIC_RECENT_MS (10LL * 60 * 1000)

struct profile_traffic;

struct profile_traffic *ptraffic_new(void);
/* Accepts NULL. */
void ptraffic_free(struct profile_traffic *t);
/* A request for profile `name` arrived at now_ms (monotonic). */
void ptraffic_note(struct profile_traffic *t, const char *name, int64_t now_ms);
/* Did profile `name` get a request within PTRAFFIC_RECENT_MS before now_ms? */
int ptraffic_recent(const struct profile_traffic *t, const char *name, int64_t now_ms);

#endif
