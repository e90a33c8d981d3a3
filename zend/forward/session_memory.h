/* session_memory.h -- what zend remembers of each conversation
 * (docs/routing.md, "Sessions"): per <profile>:<session>, the provider that
 * served its last turn (session affinity), its last scenario, its request
 * count and the tokens of its last successful response (the sticky
 * longContext rule). `zenctl sessions` lists it; state.json keeps it.
 *
 * At most SMEM_MAX entries (the least recently used goes), and an entry idle
 * longer than SMEM_IDLE_MS is dropped by smem_sweep. Times are monotonic
 * milliseconds, except in the each/restore pair, which speaks wall-clock ms
 * so the memory survives a restart. */
#ifndef ZEND_SESSION_MEMORY_H
#define ZEND_SESSION_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#define SMEM_MAX 10000
#define SMEM_IDLE_MS (2LL * 3600 * 1000)

struct smem_entry {
    char *profile, *session;
    char *last_provider;   /* NULL until a turn was served */
    int last_scenario;     /* enum zcfg_scenario */
    uint64_t requests;
    int64_t input_tokens, output_tokens; /* of the last served turn; 0 = unknown */
    int64_t last_seen_ms;  /* monotonic */
};

struct smem;

/* max: entries kept (0 = SMEM_MAX); idle_ms: 0 = SMEM_IDLE_MS. */
struct smem *smem_new(size_t max, int64_t idle_ms);
void smem_free(struct smem *m);
/* The entry, or NULL; an entry idle too long counts as gone. */
const struct smem_entry *smem_get(const struct smem *m, const char *profile, const char *session,
                                  int64_t now_ms);
/* A request of the session arrived with this scenario: creates or refreshes
 * its entry (most recently used) and counts the request. */
void smem_note_request(struct smem *m, const char *profile, const char *session, int scenario,
                       int64_t now_ms);
/* A turn was served by provider with these token counts (< 0: unknown, the
 * previous value is kept). */
void smem_note_served(struct smem *m, const char *profile, const char *session,
                      const char *provider, int64_t input_tokens, int64_t output_tokens,
                      int64_t now_ms);
/* The conversation restarted or was compacted: its tokens are forgotten. */
void smem_forget_tokens(struct smem *m, const char *profile, const char *session);
/* Drops entries idle longer than the idle time. */
void smem_sweep(struct smem *m, int64_t now_ms);
size_t smem_count(const struct smem *m);
/* Visits live entries, most recently used first. */
typedef void (*smem_each_fn)(void *ud, const struct smem_entry *e);
void smem_each(const struct smem *m, int64_t now_ms, smem_each_fn fn, void *ud);
/* Puts an entry back (state.json); last_seen_ms is monotonic here. */
void smem_restore(struct smem *m, const struct smem_entry *e);
/* fn(ud) runs whenever the memory changed (state.json's dirty mark). */
void smem_set_on_change(struct smem *m, void (*fn)(void *ud), void *ud);

#endif
