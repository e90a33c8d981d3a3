/* client.h -- zenctl's blocking MessagePack-RPC client.
 *
 * Every wait has a deadline (--timeout), and every failure is classified
 * into the exit codes of docs/operations.md so callers only pick the words. */
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
    int not_running; /* zc_connect found no socket, or nobody listening on it */
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

/* Results of reading: compare with <= 0 for "no message". */
enum zc_read {
    ZC_READ_TIMEOUT = -2,
    ZC_READ_FAILED = -1, /* connection error or a malformed message */
    ZC_READ_EOF = 0,     /* zend closed the connection (or reset it) */
    ZC_READ_OK = 1,
};

/* Waits up to timeout_ms (< 0: for ever) for the next message, e.g. a
 * notification. Returns an enum zc_read; on ZC_READ_OK *m is filled. */
int zc_read_message(struct zc_client *c, struct rpc_message *m, int timeout_ms, char *err,
                    size_t errlen);

/* For callers that poll c->fd themselves alongside other descriptors
 * (metrics --watch): zc_take_message hands out a message already buffered
 * (ZC_READ_OK), or says there is none (ZC_READ_TIMEOUT), without reading;
 * zc_receive reads once what the socket holds (ZC_READ_OK, possibly with no
 * complete message yet, ZC_READ_EOF or ZC_READ_FAILED). */
int zc_take_message(struct zc_client *c, struct rpc_message *m, char *err, size_t errlen);
int zc_receive(struct zc_client *c, char *err, size_t errlen);

#endif
