/* sessions.h -- how many distinct <profile>:<session> keys were seen
 * recently (health's active_sessions).
 *
 * A fixed table of hashed keys with the time each was last seen: no
 * allocation per request, and a count that may be a little low when two keys
 * share a slot, which is enough for a health figure. */
#ifndef ZEND_SESSIONS_H
#define ZEND_SESSIONS_H

#include <stddef.h>
#include <stdint.h>

/* A key counts for two hours after it was last seen. */
#define SESSIONS_WINDOW_MS (2LL * 3600 * 1000)

struct sessions;

struct sessions *sessions_new(void);
void sessions_free(struct sessions *s);
/* key was seen at now_ms (monotonic). */
void sessions_note(struct sessions *s, const char *key, int64_t now_ms);
/* Keys seen within SESSIONS_WINDOW_MS before now_ms. */
size_t sessions_active(const struct sessions *s, int64_t now_ms);

/* For state.json (zend/state_file.h): fn(ud) runs when a key not in the
 * table is noted (a refresh of a known key says nothing); each visits the
 * keys still within the window (hashed key, monotonic time seen); restore
 * puts one back (seen_ms > 0, monotonic), unless its slot holds a later one. */
typedef void (*sessions_each_fn)(void *ud, uint64_t key, int64_t seen_ms);
void sessions_set_on_new(struct sessions *s, void (*fn)(void *ud), void *ud);
void sessions_each(const struct sessions *s, int64_t now_ms, sessions_each_fn fn, void *ud);
void sessions_restore(struct sessions *s, uint64_t key, int64_t seen_ms);

#endif
