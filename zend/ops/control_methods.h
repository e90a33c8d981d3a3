/* control_methods.h -- the RPC method table behind the control socket.
 *
 * control.c moves frames; this module decides what each method does and
 * whether it may run now: while zend drains, only read-only methods answer
 * (the others get RPC_ERR_SHUTTING_DOWN), and on the read-only socket only
 * the monitoring ones (the others get RPC_ERR_PERMISSION). It is the RPC edge: daemon state
 * and typed reports become JSON here (or in the views it calls). */
#ifndef ZEND_CONTROL_METHODS_H
#define ZEND_CONTROL_METHODS_H

#include <jansson.h>
#include <sys/types.h>

#include "control.h"

/* A control_dispatch_fn; ctx is the struct zend_daemon the worker runs. */
json_t *control_methods_dispatch(void *ctx, struct control_conn *c, const char *method,
                                 const json_t *params, struct rpc_error *err);

/* The health RPC's result (a control_produce_fn; ctx is the struct
 * zend_daemon): what control_front answers from. The tree is built fresh
 * and shares no value with the daemon, because the front's thread owns it
 * from then on (jansson reference counts are not shared across threads). */
json_t *control_methods_health(void *ctx);

/* A control_peer_fn for the read-only socket: is the peer one of the
 * running config's daemon.control_readers? ctx is the struct zend_daemon. */
int control_methods_reader_allowed(void *ctx, uid_t uid, gid_t gid);

#endif
