/* listener.h -- the proxy's listening socket.
 *
 * Bound before the worker starts so a busy port is a clear start-up error
 * (exit 69) and, with the supervisor, so the socket outlives any one worker. */
#ifndef ZEND_LISTENER_H
#define ZEND_LISTENER_H

#include <stddef.h>

#define LISTENER_BACKLOG 511

/* Binds and listens on host:port (numeric host; port 0 = ephemeral).
 * Returns the fd, or -1 with err set; *in_use tells EADDRINUSE apart. The
 * port actually bound is written to *bound_port. */
int listener_open(const char *host, int port, int *bound_port, int *in_use, char *err,
                  size_t errlen);

/* Best effort: "pid 1234 (nginx)" for whoever listens on TCP `port`, from
 * /proc when readable; "" when unknown. */
void listener_describe_holder(int port, char *out, size_t outlen);

#endif
