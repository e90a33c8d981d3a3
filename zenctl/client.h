/* client.h -- zenctl's blocking MessagePack-RPC client.
 *
 * Every wait has a deadline (--timeout), and every failure is classified
 * into the exit codes of control.md §3 so callers only pick the words. */
#ifndef ZENCTL_CLIENT_H
#define ZENCTL_CLIENT_H

#include <jansson.h>
#include <limits.h>
#include <stdint.h>

#include "rpc.h"

struct zc_client {
    int fd;
    char sock_path[PATH_MAX];
    int timeout_ms;
    uint32_t next_msgid;
    struct rpc_reader reader;
};

/* Outcome of a call, mapped 1:1 to exit codes by the caller. */
enum zc_status {
    ZC_OK = 0,
    ZC_REMOTE_ERROR = 1,  /* zend answered an error */
    ZC_UNREACHABLE = 3,   /* no socket, refused, timed out, connection lost */
    ZC_PERMISSION = 4,    /* socket not ours, or zend refused our uid */
};

/* Connects; on failure fills err with what happened and what to do. */
int zc_connect(struct zc_client *c, const char *sock_path, int timeout_ms, char *err,
               size_t errlen);
void zc_close(struct zc_client *c);

/* Sends one request and waits for its answer. On ZC_OK *result holds the
 * result (caller decrefs). On ZC_REMOTE_ERROR, err holds zend's message and
 * *remote_code its code. */
int zc_call(struct zc_client *c, const char *method, const json_t *params, json_t **result,
            int *remote_code, char *err, size_t errlen);

/* Waits up to timeout_ms for the next message (e.g. a notification).
 * Returns 1 with *m filled, 0 on orderly EOF, -1 on timeout or error. */
int zc_read_message(struct zc_client *c, struct rpc_message *m, int timeout_ms, char *err,
                    size_t errlen);

#endif
