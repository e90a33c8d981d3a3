/* rpc.h -- the MessagePack-RPC codec shared by zend and zenctl (proto/PROTOCOL.md).
 *
 * Wire format: request [0, msgid, method, params], response
 * [1, msgid, error, result], notification [2, method, params]; params is an
 * array holding one map (or empty). Messages are handed to callers as jansson
 * values so handlers and renderers work with one data model.
 *
 * msgpack-c trusts declared container sizes: a 5-byte map32 header can make
 * it allocate gigabytes. So the reader never gives msgpack-c a byte it has
 * not first walked itself: rpc_frame_scan() finds the end of one frame, caps
 * it at max_frame bytes and checks every array/map count against the bytes
 * that may still follow (each element needs at least one). Only a complete,
 * plausible frame is unpacked. */
#ifndef ZEN_RPC_H
#define ZEN_RPC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define RPC_MAX_FRAME (1024 * 1024)

enum rpc_type { RPC_REQUEST = 0, RPC_RESPONSE = 1, RPC_NOTIFICATION = 2 };

/* Error codes carried in a response's error map. */
enum rpc_error_code {
    RPC_ERR_UNKNOWN_METHOD = 1,
    RPC_ERR_BAD_PARAMS = 2,
    RPC_ERR_INTERNAL = 3,
    RPC_ERR_CONFIG = 4,
    RPC_ERR_PERMISSION = 5,
    RPC_ERR_SHUTTING_DOWN = 6,
    RPC_ERR_UNAVAILABLE = 7, /* the usage ledger is off or its file unusable */
};

struct rpc_message {
    int type;          /* enum rpc_type */
    uint32_t msgid;    /* request, response */
    char *method;      /* request, notification */
    json_t *params;    /* request, notification: the map ({} when params was []) */
    json_t *error;     /* response: {code, message}, or NULL on success */
    json_t *result;    /* response: the result (NULL when error is set) */
};

void rpc_message_clear(struct rpc_message *m);

/* Encoders append one frame to out. They refuse JSON values MessagePack
 * cannot carry (none today) and return ZEN_ERR only on allocation failure. */
int rpc_encode_request(zbuf *out, uint32_t msgid, const char *method, const json_t *params);
int rpc_encode_response(zbuf *out, uint32_t msgid, const json_t *error, const json_t *result);
int rpc_encode_error(zbuf *out, uint32_t msgid, int code, const char *message);
int rpc_encode_notification(zbuf *out, const char *method, const json_t *params);

/* Frame scanner. Returns 1 with *frame_len set when p holds a complete
 * frame, 0 when more bytes are needed, -1 (message in err) when the bytes
 * cannot be a valid frame within max_frame. */
int rpc_frame_scan(const uint8_t *p, size_t len, size_t max_frame, size_t *frame_len,
                   char *err, size_t errlen);

/* Incremental reader: feed bytes as they arrive, take messages out. */
struct rpc_reader {
    zbuf in;
    size_t max_frame;
};

struct rpc_read_error {
    char message[256];
    int has_msgid; /* a request's msgid could be read: answer before closing */
    uint32_t msgid;
};

enum { RPC_READ_ERROR = -1, RPC_READ_NEED_MORE = 0, RPC_READ_MESSAGE = 1 };

/* Decodes one whole frame, as rpc_frame_scan measured it (frame_len), into
 * out: RPC_READ_MESSAGE, or RPC_READ_ERROR with e filled in. */
int rpc_decode_frame(const uint8_t *p, size_t frame_len, struct rpc_message *out,
                     struct rpc_read_error *e);

void rpc_reader_init(struct rpc_reader *r, size_t max_frame);
void rpc_reader_free(struct rpc_reader *r);
int rpc_reader_feed(struct rpc_reader *r, const void *data, size_t len);
/* Takes the next message. RPC_READ_ERROR means the stream is unusable and
 * the connection should be closed (after answering, when e->has_msgid). */
int rpc_reader_next(struct rpc_reader *r, struct rpc_message *out, struct rpc_read_error *e);
/* Bytes buffered but not yet a whole frame. */
size_t rpc_reader_pending(const struct rpc_reader *r);

#endif
