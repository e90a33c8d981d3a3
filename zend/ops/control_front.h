/* control_front.h -- the control sockets' front desk: a thread that accepts
 * control peers and answers `health` without waiting for the worker's event
 * loop (docs/operations.md, "Health").
 *
 * With thousands of streams open, one iteration of the loop can take
 * milliseconds (a burst of ready sockets); a health call queued behind it
 * measured the loop's worst moment, not the daemon. So the loop publishes a
 * health snapshot -- the health RPC's result, a tree it hands over and never
 * touches again -- as it is about to sleep, whenever the front asked for one
 * and at most every CONTROL_FRONT_PERIOD_MS while it is busy. The front
 * answers:
 *  - from the snapshot, when the loop is asleep, has handled nothing since
 *    it was built, and built it less than CONTROL_FRONT_PERIOD_MS ago (it
 *    is current);
 *  - else it asks for a fresh one and waits up to CONTROL_FRONT_WAIT_US for
 *    the loop's next pause;
 *  - else from the last one, whose age the answer carries (snapshot_age_ms).
 *    A loop that has been inside one iteration for CONTROL_FRONT_STALL_MS or
 *    more serves nobody: that answer says `unhealthy` and why.
 *
 * Everything else goes to the loop's control servers, with the connection:
 * any other method, a peer that is neither zend's user nor root (the
 * read-only socket's admission reads the config), a frame that does not
 * parse, a deadline, or more than CONTROL_FRONT_MAX_CONNECTIONS peers. The
 * connection is handed over whole (control_adopt: its unanswered bytes, its
 * unsent answers, its deadline clocks) and the loop owns it from then on,
 * so answers keep their order and the loop logs what it always logged. The
 * front itself never logs: zlog belongs to the loop. */
#ifndef ZEND_CONTROL_FRONT_H
#define ZEND_CONTROL_FRONT_H

#include <ev.h>

#include "control.h"

#define CONTROL_FRONT_MAX_CONNECTIONS 32
#define CONTROL_FRONT_PERIOD_MS 100
#define CONTROL_FRONT_WAIT_US 500
#define CONTROL_FRONT_STALL_MS 1000
/* A peer that asks faster than it reads stops being read past this. */
#define CONTROL_FRONT_OUTPUT_BYTES (64u * 1024)
/* Tests that read health right after changing state and run under
 * valgrind (where an iteration takes longer than CONTROL_FRONT_WAIT_US)
 * may lengthen the wait, in milliseconds. */
#define CONTROL_FRONT_TEST_WAIT_ENV "ZEND_TEST_HEALTH_WAIT_MS"

struct control_front;

/* The servers' sockets, each with the server that takes over its peers
 * (read_server NULL: no read-only socket). Both servers must have been
 * started on loop with accept 0. build(ctx) makes the health result, on
 * the loop. NULL when the thread cannot start; the caller then lets the
 * servers accept for themselves. */
struct control_front *control_front_start(struct ev_loop *loop, struct control_server *server,
                                          int fd, struct control_server *read_server,
                                          int read_fd, control_produce_fn build, void *ctx);
/* Publishes a snapshot now, on the loop: a method that changed what health
 * says calls it before its answer goes out, so a health call made after
 * that answer arrived shows the change even if the loop is still busy. */
void control_front_publish(struct control_front *f);
/* Stops the thread and closes its connections (answers written so far get
 * a short flush) and those handed over but not yet taken. On the loop's
 * thread, after the loop has stopped or before it runs again. */
void control_front_stop(struct control_front *f);

#endif
