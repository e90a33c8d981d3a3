/* supervisor.h -- the small process that keeps a worker running
 * (README "Running it for real").
 *
 * It holds the lock, the pid file and both listening sockets, and does no
 * request work. It forks the worker, forwards TERM/INT/HUP/USR1 to it, and
 * restarts it after a crash with doubling backoff, within a budget of
 * restart_max crashes per restart_window_s. Because it keeps the listening
 * sockets open, connections that arrive while a worker is replaced wait in
 * the kernel backlog instead of being refused. Its loop is poll() on a
 * signalfd and the worker's notify pipe: no libev state crosses a fork.
 *
 * Only a shutdown someone asked for ends zend: a signal to the supervisor
 * (forwarded), or the shutdown RPC (the worker says so first). Any other
 * end of a worker, a clean exit 0 too, counts as a crash. A worker whose
 * heartbeat stops for WORKER_UNRESPONSIVE_MS (stopped, or stuck in a
 * callback) is logged as worker_unresponsive, killed and restarted; while
 * the heartbeat comes, systemd's watchdog gets WATCHDOG=1. */
#ifndef ZEND_SUPERVISOR_H
#define ZEND_SUPERVISOR_H

#include "config.h"
#include "paths.h"

struct supervisor_args {
    struct zpaths paths;
    const struct zcfg *cfg;  /* restart_* settings (read once, at start) */
    int listen_fd;           /* closed (set -1) when the worker starts draining */
    int control_fd;
    int control_read_fd;     /* the read-only control socket, -1 without one */
    int ready_fd;            /* --daemonize: gets the exit code byte, 0 once serving */
};

/* Runs workers until an intentional shutdown (0), a fatal exit of the first
 * worker (69, 78), or an exhausted restart budget (75). */
int supervisor_run(struct supervisor_args *a);

/* Tells a waiting `zend --daemonize` parent how start-up went (once). */
void supervisor_report_ready(struct supervisor_args *a, int code);

#endif
