/* log_events.h -- the one table of event names zend writes to its log.
 *
 * zend logs these names and no others (tests/check_log_events.py fails on a
 * name logged but missing here, and on a name here missing from
 * docs/operations.md); zenctl offers them to `zenctl logs --event` and its
 * completion scripts are generated from them. Keep the list sorted.
 *
 * The second column is ZLOG_EV_ONCE for config notes that a worker logs once
 * per distinct content: a reload that leaves them as they were logs nothing
 * new (provider_token_missing would otherwise repeat on every reload). */
#ifndef ZEN_LOG_EVENTS_H
#define ZEN_LOG_EVENTS_H

#define ZLOG_EV_EVERY 0
#define ZLOG_EV_ONCE 1

#define ZLOG_EVENTS(X)                              \
    X(accept_paused, ZLOG_EV_EVERY)                 \
    X(budget_exceeded, ZLOG_EV_EVERY)               \
    X(budget_warning, ZLOG_EV_EVERY)                \
    X(client_write_stalled, ZLOG_EV_EVERY)          \
    X(concurrency_limited, ZLOG_EV_EVERY)           \
    X(config_created, ZLOG_EV_EVERY)                \
    X(config_ignored_keys, ZLOG_EV_EVERY)           \
    X(config_last_good_unsaved, ZLOG_EV_EVERY)      \
    X(config_last_good_unusable, ZLOG_EV_EVERY)     \
    X(config_last_good_used, ZLOG_EV_EVERY)         \
    X(config_permissions, ZLOG_EV_EVERY)            \
    X(config_recovered, ZLOG_EV_EVERY)              \
    X(config_reload_failed, ZLOG_EV_EVERY)          \
    X(config_reloaded, ZLOG_EV_EVERY)               \
    X(config_restart_required, ZLOG_EV_EVERY)       \
    X(config_unchanged, ZLOG_EV_EVERY)              \
    X(config_warning, ZLOG_EV_ONCE)                 \
    X(control_bad_frame, ZLOG_EV_EVERY)             \
    X(control_conn_evicted, ZLOG_EV_EVERY)          \
    X(control_conn_timeout, ZLOG_EV_EVERY)          \
    X(control_peer_refused, ZLOG_EV_EVERY)          \
    X(daemon_crashed_restarting, ZLOG_EV_EVERY)     \
    X(daemon_draining, ZLOG_EV_EVERY)               \
    X(daemon_shutdown, ZLOG_EV_EVERY)               \
    X(daemon_start_failed, ZLOG_EV_EVERY)           \
    X(daemon_started, ZLOG_EV_EVERY)                \
    X(listen_not_loopback, ZLOG_EV_EVERY)           \
    X(log_dropped, ZLOG_EV_EVERY)                   \
    X(model_default_applied, ZLOG_EV_EVERY)         \
    X(model_mapped, ZLOG_EV_EVERY)                  \
    X(provider_disabled, ZLOG_EV_EVERY)             \
    X(provider_enabled, ZLOG_EV_EVERY)              \
    X(provider_failed, ZLOG_EV_EVERY)               \
    X(provider_state_changed, ZLOG_EV_EVERY)        \
    X(provider_token_missing, ZLOG_EV_ONCE)         \
    X(provider_wire_fallback, ZLOG_EV_EVERY)        \
    X(provider_wire_learned, ZLOG_EV_EVERY)         \
    X(request_completed, ZLOG_EV_EVERY)             \
    X(request_received, ZLOG_EV_EVERY)              \
    X(resource_leak_suspected, ZLOG_EV_EVERY)       \
    X(resource_warning, ZLOG_EV_EVERY)              \
    X(restart_budget_exhausted, ZLOG_EV_EVERY)      \
    X(state_absent, ZLOG_EV_EVERY)                  \
    X(state_dump, ZLOG_EV_EVERY)                    \
    X(state_entry_dropped, ZLOG_EV_EVERY)           \
    X(state_load_failed, ZLOG_EV_EVERY)             \
    X(state_loaded, ZLOG_EV_EVERY)                  \
    X(state_save_failed, ZLOG_EV_EVERY)             \
    X(state_saved, ZLOG_EV_EVERY)                   \
    X(stream_interrupted, ZLOG_EV_EVERY)            \
    X(usage_dropped, ZLOG_EV_EVERY)                 \
    X(usage_store_failed, ZLOG_EV_EVERY)            \
    X(usage_store_recovered, ZLOG_EV_EVERY)         \
    X(worker_fault, ZLOG_EV_EVERY)                  \
    X(worker_fork_failed, ZLOG_EV_EVERY)            \
    X(worker_unresponsive, ZLOG_EV_EVERY)

/* Every name above, in order, then NULL (a zenctl flag's choices). */
extern const char *const zlog_event_names[];

/* 1 if name is in the table. */
int zlog_event_known(const char *name);
/* 1 if name is a ZLOG_EV_ONCE event; 0 for any other name. */
int zlog_event_once(const char *name);

#endif
