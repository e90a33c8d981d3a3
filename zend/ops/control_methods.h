/* control_methods.h -- the RPC method table behind the control socket.
 *
 * control.c moves frames; this module decides what each method does and
 * whether it may run now: while zend drains, only read-only methods answer
 * (the others get RPC_ERR_SHUTTING_DOWN). It is the RPC edge: daemon state
 * and typed reports become JSON here (or in the views it calls). */
#ifndef ZEND_CONTROL_METHODS_H
#define ZEND_CONTROL_METHODS_H

#include <jansson.h>

#include "control.h"

/* A control_dispatch_fn; ctx is the struct zend_daemon the worker runs. */
json_t *control_methods_dispatch(void *ctx, struct control_conn *c, const char *method,
                                 const json_t *params, struct rpc_error *err);

#endif
