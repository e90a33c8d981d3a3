/* state_file.h -- ZEN_HOME/state.json: the worker's runtime state, kept
 * across a worker crash and a restart of zend (docs/operations.md, "What
 * survives a restart").
 *
 * Without it a crash silently re-enables a provider switched off with
 * `zenctl provider disable` and forgets every cooldown, so the next requests
 * walk straight back into the provider that just failed. The worker writes
 * what it would lose -- manual disables with their expiry, cooldowns (time
 * left, length, consecutive failures, last error), learned wires, the
 * session memory -- at most once a second after a change and once more at
 * a graceful shutdown; every worker loads it right after its provider
 * states exist, before it serves.
 *
 * The file (0600, written to a temporary file, fsynced and renamed, so a
 * crash mid-write leaves the old one whole) never holds a secret: a provider
 * is identified by a fingerprint of its URL and token fingerprint, and an
 * entry whose provider is gone or whose fingerprint differs is dropped.
 * Monotonic deadlines are stored as wall-clock epoch milliseconds, since
 * the monotonic clock does not survive a reboot. A file that cannot be read
 * or parsed is logged (state_load_failed) and ignored -- never fatal, never
 * deleted. */
#ifndef ZEND_STATE_FILE_H
#define ZEND_STATE_FILE_H

#include <ev.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define STATEFILE_NAME "state.json"
#define STATEFILE_VERSION 1
/* Writes after a change are at least this far apart. */
#define STATEFILE_MIN_INTERVAL_MS 1000
/* A bigger file was not written by zend: refused unread. */
#define STATEFILE_MAX_BYTES (4u * 1024 * 1024)

struct provider_states;
struct sessions;
struct statefile;
struct routing_state;
struct smem;

/* What a load did, for the state_loaded record and the tests. */
struct statefile_load_report {
    unsigned restored;          /* provider entries applied */
    unsigned dropped_unknown;   /* provider no longer configured */
    unsigned dropped_identity;  /* its URL or token changed */
    unsigned dropped_invalid;   /* malformed entry */
    unsigned sessions;          /* session keys put back */
    int64_t written_at_ms;      /* the file's written_at (epoch ms) */
};

/* Loads home/state.json into ps and ss (ss may be NULL), then watches both
 * for changes and saves after them. NULL only when out of memory (logged);
 * a missing file is a first start, any other load problem is logged as
 * state_load_failed and leaves ps and ss as they were. */
struct statefile *statefile_open(struct ev_loop *loop, const char *home,
                                 struct provider_states *ps, struct sessions *ss);
/* Also keeps the routing strategy state (round-robin counters, smooth
 * weighted current weights, exploration counters) and the session memory
 * (docs/routing.md): puts back what the file holds of them, then saves them
 * with the rest after every change of the memory. NULL sf is fine. */
void statefile_attach_routing(struct statefile *sf, struct routing_state *rs, struct smem *m);
/* Saves once more (the graceful shutdown's write), stops watching, frees.
 * NULL is fine. Call it before ps and ss are freed. */
void statefile_close(struct statefile *sf);
/* Writes the file now (ZEN_OK), or ZEN_ERR with err. */
int statefile_save(struct statefile *sf, char *err, size_t errlen);

/* ---- the format, pure: no clock, no file (tested on their own) ---- */

/* {"version":1, "written_at":now_wall, "providers":{name:{...}},
 * "sessions":[[key_hex, seen_epoch_ms], ...]}: only providers with
 * something to keep. NULL when out of memory. */
json_t *statefile_encode(struct provider_states *ps, const struct sessions *ss,
                         int64_t now_wall_ms, int64_t now_mono_ms);
/* Applies doc to ps and ss (NULL: sessions ignored). Refuses (ZEN_ERR, err
 * says why, nothing applied) a doc that is not a version-1 state; single
 * bad or stale entries are dropped and counted in *rep (each logged as
 * state_entry_dropped). */
int statefile_decode(const json_t *doc, struct provider_states *ps, struct sessions *ss,
                     int64_t now_wall_ms, int64_t now_mono_ms,
                     struct statefile_load_report *rep, char *err, size_t errlen);

/* Adds "routing" ({key: {counter, explore, weights: {provider: current}}})
 * and "session_memory" ([{profile, session, provider?, scenario, requests,
 * input_tokens, output_tokens, last_seen (epoch ms)}], most recent first) to
 * doc; a NULL part is left out. */
void statefile_encode_routing(json_t *doc, const struct routing_state *rs, const struct smem *m,
                              int64_t now_wall_ms, int64_t now_mono_ms);
/* Puts them back (malformed items and sessions idle too long are skipped);
 * returns the sessions restored. */
unsigned statefile_decode_routing(const json_t *doc, struct routing_state *rs, struct smem *m,
                                  int64_t now_wall_ms, int64_t now_mono_ms);

/* A monotonic moment as wall clock, and back, given one (now) pair. */
int64_t statefile_wall_of(int64_t mono_ms, int64_t now_mono_ms, int64_t now_wall_ms);
int64_t statefile_mono_of(int64_t wall_ms, int64_t now_wall_ms, int64_t now_mono_ms);

#endif
