/* fuzz_rpc.c -- libFuzzer harness for the MessagePack-RPC reader (proto/rpc.c).
 *
 * The input is the byte stream a peer sends. It is fed to an rpc_reader in
 * pieces whose sizes come from the input itself, and messages are taken out
 * after every piece until the reader needs more or fails, as zend's control
 * connection and zenctl do. The frame scanner also runs on the whole input.
 *
 * Invariants checked besides the sanitizers:
 *   - the scanner is consistent: a frame it finds fits the input and the
 *     cap, every shorter prefix of it is "need more", and the frame alone
 *     scans to the same length;
 *   - every message read re-encodes to a frame that reads back equal
 *     (the encoders and the reader agree).
 *
 * Input layout: byte 0 picks the reader's frame cap (small caps make the
 * size checks bite); bytes 1..4 are piece sizes used in turn; the rest is
 * the stream. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_HEADER 5

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_rpc: invariant broken: %s\n", what);
        abort();
    }
}

static void check_scanner(const uint8_t *p, size_t len, size_t max_frame)
{
    char err[256];
    size_t frame_len = 0;
    int rc = rpc_frame_scan(p, len, max_frame, &frame_len, err, sizeof(err));
    check(rc >= -1 && rc <= 1, "scan result in range");
    if (rc != 1)
        return;
    check(frame_len > 0 && frame_len <= len && frame_len <= max_frame, "frame within bounds");
    size_t again = 0;
    check(rpc_frame_scan(p, frame_len, max_frame, &again, err, sizeof(err)) == 1 &&
              again == frame_len, "frame alone scans to the same length");
    /* A few prefixes (all of them for small frames): none is complete. */
    size_t step = frame_len > 64 ? frame_len / 16 : 1;
    for (size_t n = 0; n < frame_len; n += step) {
        size_t ignored = 0;
        check(rpc_frame_scan(p, n, max_frame, &ignored, err, sizeof(err)) == 0,
              "a strict prefix of a frame needs more");
    }
}

/* Encodes m again and reads it back: it must come out equal. */
static void check_round_trip(const struct rpc_message *m)
{
    zbuf b;
    zbuf_init(&b);
    int rc = ZEN_ERR;
    switch (m->type) {
    case RPC_REQUEST: rc = rpc_encode_request(&b, m->msgid, m->method, m->params); break;
    case RPC_RESPONSE: rc = rpc_encode_response(&b, m->msgid, m->error, m->result); break;
    case RPC_NOTIFICATION: rc = rpc_encode_notification(&b, m->method, m->params); break;
    default: check(0, "message type is one of the three"); break;
    }
    check(rc == ZEN_OK, "a message read can be encoded");

    struct rpc_reader r;
    struct rpc_message back;
    struct rpc_read_error e;
    rpc_reader_init(&r, 0);
    rpc_reader_feed(&r, zbuf_head(&b), zbuf_len(&b));
    int got = rpc_reader_next(&r, &back, &e);
    if (got != RPC_READ_MESSAGE)
        fprintf(stderr, "fuzz_rpc: re-read failed: %s\n", e.message);
    check(got == RPC_READ_MESSAGE, "an encoded message reads back");
    check(rpc_reader_pending(&r) == 0, "the re-encoded frame is consumed whole");
    check(back.type == m->type && back.msgid == m->msgid, "type and msgid survive");
    check((!back.method && !m->method) ||
              (back.method && m->method && strcmp(back.method, m->method) == 0),
          "method survives");
    check((!back.params && !m->params) || json_equal(back.params, m->params), "params survive");
    check((!back.error && !m->error) || json_equal(back.error, m->error), "error survives");
    check((!back.result && !m->result) || json_equal(back.result, m->result), "result survives");
    rpc_message_clear(&back);
    rpc_reader_free(&r);
    zbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < FUZZ_HEADER)
        return 0;
    static const size_t caps[] = {0 /* RPC_MAX_FRAME */, 16, 64, 256, 4096};
    size_t max_frame = caps[data[0] % (sizeof(caps) / sizeof(caps[0]))];
    const uint8_t *steps = data + 1;
    data += FUZZ_HEADER;
    size -= FUZZ_HEADER;

    check_scanner(data, size, max_frame ? max_frame : RPC_MAX_FRAME);

    struct rpc_reader r;
    rpc_reader_init(&r, max_frame);
    size_t off = 0;
    int dead = 0;
    for (unsigned i = 0; off < size && !dead; i++) {
        size_t n = (size_t)steps[i % 4] + 1;
        if (n > size - off)
            n = size - off;
        check(rpc_reader_feed(&r, data + off, n) == ZEN_OK, "feed");
        off += n;
        for (;;) {
            struct rpc_message m;
            struct rpc_read_error e;
            size_t before = rpc_reader_pending(&r);
            int rc = rpc_reader_next(&r, &m, &e);
            if (rc == RPC_READ_MESSAGE) {
                check(rpc_reader_pending(&r) < before, "a message consumes bytes");
                check_round_trip(&m);
                rpc_message_clear(&m);
                continue;
            }
            check(m.method == NULL && m.params == NULL && m.error == NULL && m.result == NULL,
                  "no message is handed out with NEED_MORE or ERROR");
            if (rc == RPC_READ_ERROR) {
                check(e.message[0] != '\0', "an error says why");
                dead = 1; /* the connection would be closed here */
            } else {
                check(rc == RPC_READ_NEED_MORE, "reader result in range");
            }
            break;
        }
    }
    rpc_reader_free(&r);
    return 0;
}
