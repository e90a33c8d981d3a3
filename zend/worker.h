/* worker.h -- the process that serves: one libev loop owning all daemon
 * state (README "Running it for real").
 *
 * It gets the listening sockets already bound (by the supervisor, or by
 * main with --no-supervisor), loads zen.json afresh and serves until shut
 * down. A restarted worker whose zen.json broke while the old one ran starts
 * from zen.json.last-good (lastgood.h) instead: one crash must not become an
 * outage. It tells the supervisor through notify_fd when it serves ('R'),
 * when the shutdown RPC ends zend ('S'), when it starts draining ('D'), and
 * that its loop still turns ('H', every heartbeat_ms). */
#ifndef ZEND_WORKER_H
#define ZEND_WORKER_H

#include <stdint.h>
#include <sys/types.h>

#include "paths.h"
#include "worker_notify.h"

/* Test hook: a worker started with this variable set aborts after that many
 * milliseconds of serving (crash-restart tests). Never set it otherwise. */
#define WORKER_TEST_ABORT_ENV "ZEND_TEST_ABORT_AFTER_MS"
/* Test hook: "AFTER,FOR" -- after AFTER ms of serving, the worker's loop
 * sleeps FOR ms inside one callback (a loop stuck in one iteration, for the
 * health front's tests). Never set it otherwise. */
#define WORKER_TEST_STALL_ENV "ZEND_TEST_STALL_LOOP_MS"

/* Test hooks for the heartbeat: how often the worker sends one, and how
 * long the supervisor waits without one before it kills the worker. */
#define WORKER_HEARTBEAT_ENV "ZEND_TEST_HEARTBEAT_MS"
#define WORKER_UNRESPONSIVE_ENV "ZEND_TEST_UNRESPONSIVE_MS"
/* Defaults roomy enough for a worker under valgrind, whose loop can stall
 * for a few seconds on its own. */
#define WORKER_HEARTBEAT_MS 1000
#define WORKER_UNRESPONSIVE_MS 10000

struct worker_args {
    struct zpaths paths;
    int listen_fd;          /* owned: closed when draining starts */
    int control_fd;         /* owned: closed at exit */
    int control_read_fd;    /* the read-only control socket, or -1; owned */
    pid_t supervisor_pid;
    unsigned restarts;
    int notify_fd;          /* -1 without a supervisor */
    int64_t heartbeat_ms;   /* 0: no heartbeat (no supervisor) */
};

/* Serves until shutdown. Returns the exit code (0, 1, 69, 78). */
int worker_main(const struct worker_args *a);

#endif
