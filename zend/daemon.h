/* daemon.h -- the worker's state and lifecycle.
 *
 * One libev loop owns everything here: one thread, so no locks on the
 * request path. main() prepares what the supervisor will later own (lock,
 * pid file, listening sockets) and hands them to zend_worker_run(). */
#ifndef ZEND_DAEMON_H
#define ZEND_DAEMON_H

#include <ev.h>
#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"
#include "config.h"
#include "monitor.h"
#include "paths.h"

enum zend_state { ZEND_STARTING, ZEND_RUNNING, ZEND_DRAINING };

/* The resource monitor (README "Monitoring") looks this often. */
#define ZEND_RESOURCE_SAMPLE_S 10.0
/* How old health's resources may be: they are a sample, not read per call. */
#define ZEND_SAMPLE_S 1.0
/* Edits of zen.json closer together than this make one reload. */
#define ZEND_RELOAD_DEBOUNCE_S 0.3

struct control_server;
struct health_inputs;
struct monitor_inputs;
struct proxy;
struct metrics;
struct logbus;
struct ledger;

struct zend_daemon {
    struct ev_loop *loop;
    struct zpaths paths;
    struct zcfg *cfg;
    /* zen.json on disk does not load (a refused reload, or a restart that
     * fell back on zen.json.last-good): the loader's message, "" when it
     * loads. Health is degraded while it is set. */
    char config_error[ZEN_ERRLEN];
    int64_t config_loaded_wall_ms;  /* when the config in force was loaded */
    enum zend_state state;
    pid_t pid;
    pid_t supervisor_pid;
    int64_t started_wall_ms;
    int64_t started_mono_ms;
    unsigned restarts;

    int listen_fd;                  /* the proxy socket (this worker's copy) */
    int control_fd;                 /* the control socket (this worker's copy) */
    int control_read_fd;            /* the read-only control socket, or -1 */
    int notify_fd;                  /* to the supervisor; -1 when alone */
    char listen[ZCFG_HOST_MAX + 16]; /* as bound, e.g. "127.0.0.1:19841" */
    struct control_server *control;
    struct control_server *control_read; /* NULL without daemon.control_read_socket */
    struct control_front *control_front; /* answers health off the loop; NULL: the servers accept */
    struct proxy *proxy;
    struct metrics *metrics;
    struct logbus *logbus;
    struct ledger *ledger;          /* ZEN_HOME/usage.db; NULL while daemon.usage.enabled is false */
    int spend_loaded;               /* the budgets' spend was asked of the ledger */
    ev_timer resource_timer;        /* the resource monitor (monitor.h) */
    ev_timer sample_timer;          /* samples RSS, fds, heap for health and metrics */
    struct monitor monitor;
    ev_signal sig_usr1;

    ev_signal sig_term, sig_int, sig_hup;
    ev_stat config_watch;           /* an edit of zen.json triggers a reload */
    ev_timer reload_debounce;       /* an editor's write-rename is one reload */
    ev_timer shutdown_timer;
    const char *shutdown_reason;    /* "signal" | "rpc" */
    int64_t drain_timeout_ms;
    unsigned drained, aborted;
    json_t *notes_logged;           /* once-notes of the config in force (a set) */
};

const char *zend_state_name(enum zend_state s);
double zend_uptime_s(const struct zend_daemon *d);

/* Emits what the config loader wanted said (ignored keys, missing env
 * tokens, loose file permissions...). A ZLOG_EV_ONCE note (log_events.h)
 * that the previous config of this worker had too is not repeated. */
void zend_log_config_notes(struct zend_daemon *d, const struct zcfg *cfg);

/* One byte to the supervisor (worker.h: ready, draining); nothing when alone. */
void zend_notify_supervisor(struct zend_daemon *d, char what);

/* What health (and the state dump) reads, as of now; borrowed pointers. */
void zend_health_inputs(const struct zend_daemon *d, struct health_inputs *in);
void zend_monitor_inputs(const struct zend_daemon *d, struct monitor_inputs *in);

/* Runs the loop until shutdown completes. Returns the process exit code. */
int zend_worker_run(struct zend_daemon *d);

/* Starts a graceful shutdown (docs/operations.md, "Limiter and shutdown").
 * Calling it again while draining does nothing. drain_timeout_ms < 0 means "the configured one". */
void zend_begin_shutdown(struct zend_daemon *d, const char *reason, int64_t drain_timeout_ms);

/* Copies the zen.json just loaded to zen.json.last-good (lastgood.h); a
 * failure is logged (config_last_good_unsaved), never fatal. */
void zend_save_last_good(struct zend_daemon *d);

/* Opens or closes the usage ledger as d->cfg's daemon.usage says (at start
 * and on every reload): enabled opens ZEN_HOME/usage.db, disabled flushes
 * and closes it (queries in flight get an error), and a new retention_days
 * applies at once. */
void zend_apply_usage_config(struct zend_daemon *d);

/* Reloads zen.json (README "Running it for real"). On success *summary (may
 * be NULL) gets {config_hash, unchanged, added, removed, changed, restart_required};
 * on failure the old config stays, err holds "file:line:col: message" and
 * health is degraded until a reload succeeds. Bytes equal to the running
 * config's change nothing and log no config_reloaded (a debug
 * config_unchanged), whatever the source. */
int zend_reload(struct zend_daemon *d, const char *source, json_t **summary, char *err,
                size_t errlen);

#endif
