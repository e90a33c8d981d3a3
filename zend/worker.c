#include "worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "config.h"
#include "control.h"
#include "control_front.h"
#include "control_methods.h"
#include "daemon.h"
#include "fault.h"
#include "lastgood.h"
#include "ledger.h"
#include "log.h"
#include "logbus.h"
#include "metrics.h"
#include "proxy.h"
#include "state_file.h"
#include "timeutil.h"

/* The address actually bound (a configured port 0 becomes a real one). */
static void describe_listener(int fd, char *out, size_t outlen)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
            port = ntohs(s6->sin6_port);
        } else {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
            port = ntohs(s4->sin_port);
        }
    }
    zcfg_format_listen(host, port, out, outlen);
}

/* The log bus's publish callback: new records go to live subscribers. */
static void publish_to_control(void *ctx, int level, const char *event, const char *line,
                               size_t len)
{
    if (ctx)
        control_publish_log(ctx, level, event, line, len);
}

static void test_abort_cb(struct ev_loop *loop, ev_timer *w, int revents) { abort(); }

static void test_stall_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    int64_t ms = (int64_t)(intptr_t)w->data;
    struct timespec left = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
}

/* Sent from the loop itself, so it stops when the loop does: a worker that
 * is stopped, or spinning inside one callback, falls silent. */
static void heartbeat_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    zend_notify_supervisor(w->data, WORKER_NOTIFY_HEARTBEAT);
}

/* A restarted worker whose zen.json broke while the old one ran: serve the
 * config that was in force, and say so (health, log) until the file is
 * fixed. why is zen.json's error. */
static struct zcfg *load_last_good(struct zend_daemon *d, const char *why)
{
    char lg_err[ZEN_ERRLEN];
    int64_t saved_ms = 0;
    struct zcfg *cfg =
        lastgood_load(d->paths.home, d->paths.config, &saved_ms, lg_err, sizeof(lg_err));
    if (!cfg) {
        zlog_pack(ZLOG_ERROR, "config_last_good_unusable", "{s:s}", "detail", lg_err);
        return NULL;
    }
    snprintf(d->config_error, sizeof(d->config_error), "%s", why);
    d->config_loaded_wall_ms = saved_ms;
    char saved_at[ZTIME_RFC3339_LEN];
    ztime_format_rfc3339_ms(saved_ms, saved_at);
    zlog_pack(ZLOG_WARN, "config_last_good_used", "{s:s, s:s, s:s, s:s}", "detail", why, "path",
              LASTGOOD_FILE, "config_hash", cfg->hash, "saved_at", saved_at);
    return cfg;
}

int worker_main(const struct worker_args *a)
{
    static struct zend_daemon d; /* zeroed: every watcher starts inactive */
    ev_timer test_abort, test_stall, heartbeat;
    struct statefile *state_file = NULL;
    char err[ZEN_ERRLEN];
    int code = ZEN_EXIT_FAILURE;

    d.paths = a->paths;
    d.cfg = zcfg_load_file(a->paths.config, err, sizeof(err));
    d.config_loaded_wall_ms = ztime_wall_ms();
    if (d.cfg) {
        zend_save_last_good(&d);
    } else if (a->restarts > 0) {
        /* Only the very first start stops at a bad config (exit 78). */
        d.cfg = load_last_good(&d, err);
    }
    if (!d.cfg) {
        fprintf(stderr, "%s\n", err);
        zlog_pack(ZLOG_ERROR, "daemon_start_failed", "{s:s, s:s, s:i}", "stage", "config",
                  "detail", err, "exit_code", ZEN_EXIT_CONFIG);
        return ZEN_EXIT_CONFIG;
    }
    const struct zcfg_daemon *dc = &d.cfg->daemon;
    zend_log_config_notes(&d, d.cfg);
    fault_install();

    d.loop = ev_default_loop(EVFLAG_AUTO);
    d.pid = getpid();
    d.supervisor_pid = a->supervisor_pid;
    d.restarts = a->restarts;
    d.notify_fd = a->notify_fd;
    d.started_wall_ms = ztime_wall_ms();
    d.started_mono_ms = ztime_mono_ms();
    d.state = ZEND_STARTING;
    /* This process's copies: draining closes the listener here, and the
     * supervisor closes its own when told, so new connections are refused. */
    d.listen_fd = a->listen_fd;
    d.control_fd = a->control_fd;
    describe_listener(d.listen_fd, d.listen, sizeof(d.listen));

    d.control = control_new(d.control_fd, control_methods_dispatch, &d);
    d.control_read_fd = a->control_read_fd;
    if (d.control_read_fd >= 0)
        d.control_read = control_new_read_only(d.control_read_fd, control_methods_dispatch, &d,
                                                control_methods_reader_allowed);
    /* The ring starts with the tail of zend.log: what happened before us. */
    d.logbus = logbus_new((size_t)dc->log_ring);
    if (d.logbus) {
        char log_path[PATH_MAX];
        if (dc->log_file[0] &&
            zpaths_join(log_path, sizeof(log_path), a->paths.home, dc->log_file) == ZEN_OK)
            logbus_preload(d.logbus, log_path);
        logbus_attach(d.logbus, dc->log_level, publish_to_control, d.control);
    }
    d.metrics = metrics_new();
    if (d.control && d.metrics && (d.control_read_fd < 0 || d.control_read))
        d.proxy = proxy_new(d.loop, d.listen_fd, d.cfg, d.metrics, err, sizeof(err));
    if (!d.proxy) {
        fprintf(stderr, "zend: cannot start: %s\n", d.metrics ? err : "out of memory");
        goto out;
    }
    /* Before serving: a crash must not re-enable what was disabled or
     * forget what was cooling (state_file.h). */
    state_file = statefile_open(d.loop, a->paths.home, proxy_provider_states(d.proxy),
                                proxy_sessions(d.proxy));
    statefile_attach_routing(state_file, proxy_routing_state(d.proxy),
                             proxy_session_memory(d.proxy));
    zend_apply_usage_config(&d);
    const char *abort_ms = getenv(WORKER_TEST_ABORT_ENV);
    if (abort_ms && *abort_ms) {
        ev_timer_init(&test_abort, test_abort_cb, atof(abort_ms) / 1000.0, 0.);
        ev_timer_start(d.loop, &test_abort);
    }
    const char *stall = getenv(WORKER_TEST_STALL_ENV);
    long stall_after = 0, stall_for = 0;
    if (stall && sscanf(stall, "%ld,%ld", &stall_after, &stall_for) == 2 && stall_for > 0) {
        ev_timer_init(&test_stall, test_stall_cb, (double)stall_after / 1000.0, 0.);
        test_stall.data = (void *)(intptr_t)stall_for;
        ev_timer_start(d.loop, &test_stall);
    }

    if (d.notify_fd >= 0 && a->heartbeat_ms > 0) {
        double every = (double)a->heartbeat_ms / 1000.0;
        ev_timer_init(&heartbeat, heartbeat_cb, every, every);
        heartbeat.data = &d;
        ev_timer_start(d.loop, &heartbeat);
    }

    /* Control peers are accepted by the health front's thread, which hands
     * the loop every connection that asks for more than health. */
    control_start(d.control, d.loop, 0);
    if (d.control_read)
        control_start(d.control_read, d.loop, 0);
    d.control_front = control_front_start(d.loop, d.control, d.control_fd, d.control_read,
                                          d.control_read_fd, control_methods_health, &d);
    if (!d.control_front) { /* no thread: the loop answers health too */
        control_start(d.control, d.loop, 1);
        if (d.control_read)
            control_start(d.control_read, d.loop, 1);
    }
    code = zend_worker_run(&d);

out:
    statefile_close(state_file); /* the shutdown's write, while the states exist */
    proxy_free(d.proxy);
    d.proxy = NULL; /* the ledger's late callbacks look (daemon.c, spend_loaded) */
    /* After the proxy (its last requests' rows) and before the control
     * server (queries still pending get their error answers flushed). */
    ledger_close(d.ledger);
    d.ledger = NULL;
    metrics_free(d.metrics);
    logbus_free(d.logbus);
    control_front_stop(d.control_front);
    d.control_front = NULL;
    control_close(d.control);
    control_close(d.control_read);
    if (d.listen_fd >= 0)
        close(d.listen_fd);
    if (d.control_fd >= 0)
        close(d.control_fd);
    if (d.control_read_fd >= 0)
        close(d.control_read_fd);
    zcfg_unref(d.cfg);
    json_decref(d.notes_logged);
    d.notes_logged = NULL;
    ev_loop_destroy(d.loop);
    return code;
}
