/* monitor.h -- the resource and leak monitor (README "Monitoring"), and the
 * SIGUSR1 state dump (docs/operations.md, "Log events").
 *
 * Every sample (10 s, and whenever health asks) reads RSS, heap, fds and
 * threads. Crossing a threshold (health_max_rss_mb, health_max_fd_ratio)
 * logs `resource_warning` once; it re-arms only after the value falls back
 * below 90 % of the threshold (hysteresis), so a value hovering at the line
 * does not flood the log.
 *
 * Leaks are judged at idle moments only (nothing in flight, no client
 * connection): the first idle sample after the first request (warm-up
 * grows RSS and fds for good) is the baseline; three
 * idle samples in a row with non-socket fds above baseline + 16, RSS above
 * baseline + 20 %, or an upstream transfer that no request or probe owns
 * emit one `resource_leak_suspected` (with an fd table dump) per episode.
 * Sockets are left out of the fd criterion on purpose: curl's connection
 * cache keeps idle provider connections open by design. */
#ifndef ZEND_MONITOR_H
#define ZEND_MONITOR_H

#include <jansson.h>
#include <stdint.h>

#define MONITOR_HYSTERESIS 0.9
#define MONITOR_LEAK_FD_SLACK 16
#define MONITOR_LEAK_RSS_GROWTH 0.20
#define MONITOR_LEAK_SAMPLES 3
#define MONITOR_FD_DUMP_MAX 256

struct zcfg_daemon;
struct proxy;
struct metrics;
struct health_inputs;

/* What a sample looks at; the daemon fills it per call. */
struct monitor_inputs {
    const struct zcfg_daemon *dc; /* health_max_rss_mb, health_max_fd_ratio */
    struct proxy *proxy;
    struct metrics *metrics;
};

struct monitor {
    int rss_warned, fd_warned;
    int have_baseline;
    int64_t base_rss, base_files;
    int suspicious_samples;
    int episode_reported;
};

/* Test hook: sample this often instead of every 10 s. */
#define MONITOR_TEST_INTERVAL_ENV "ZEND_TEST_MONITOR_INTERVAL_MS"

void monitor_sample(struct monitor *m, const struct monitor_inputs *in);
/* One `state_dump` record: connections, provider states, resources. state
 * is the daemon's ("running", "draining", ...). */
void monitor_state_dump(const struct health_inputs *in, const char *state);

#endif
