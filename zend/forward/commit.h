/* commit.h -- the commit point of a passthrough answer (docs/operations.md,
 * "Commit point").
 *
 * A provider may answer 200 and then fail: Anthropic sends `event: error`
 * overloaded_error as a stream's first event, relays die right after
 * message_start, some relays put an error object in a 200 JSON body. So a
 * passthrough answer is not sent the moment its head arrives: the attempt
 * loop holds the head and the first bytes until this module says the answer
 * is worth committing to (a stream's first content event, its end, or 64 KiB
 * held; the attempt loop adds the commit_timeout_ms deadline), or that it
 * failed, which makes the attempt a failed one and the next provider gets
 * the request with the client none the wiser.
 *
 * A stream is watched by the translator's decoder for its wire
 * (tr_decode.h): its first OPEN is the first content event (Anthropic
 * content_block_start/delta; Chat a chunk with non-empty content,
 * tool_calls or reasoning_content; Responses the first output item with
 * content), its ERROR an in-band error or a stream that ended unfinished.
 * The decoder runs only until the commit: after it the bytes are relayed
 * as they come, at the relay's usual cost.
 *
 * Pure logic: no loop, no clock, no I/O. */
#ifndef ZEND_COMMIT_H
#define ZEND_COMMIT_H

#include <stddef.h>

#include "http_header.h"
#include "tr_types.h"

/* Held bytes beyond this commit the answer anyway. */
#define COMMIT_HOLD_MAX (64u * 1024)

enum commit_verdict {
    COMMIT_HOLD,    /* keep holding */
    COMMIT_NOW,     /* send the head and what is held, then relay as usual */
    COMMIT_FAILED,  /* the attempt failed: err_class / err_msg say how */
};

/* A held stream on its way to its commit point. */
struct commit_watch {
    struct tr_decoder *dec;
    int content;                 /* a content event was seen */
    int finished;                /* the answer ended complete */
    int failed;                  /* an error (in-band, or the end of an unfinished stream) */
    enum tr_err_class err_class; /* failed: what the upstream said */
    char err_msg[512];
};

/* Starts watching a stream in wire's format. 0, or -1 out of memory. */
int commit_watch_init(struct commit_watch *w, enum tr_format wire);
/* The next bytes of the stream (split anywhere); held: the bytes held so
 * far, these included. */
enum commit_verdict commit_watch_feed(struct commit_watch *w, const char *data, size_t len,
                                      size_t held);
/* The stream ended before its commit point (transport_ok: cleanly; why: the
 * transport's reason otherwise). COMMIT_NOW when it ended complete. */
enum commit_verdict commit_watch_end(struct commit_watch *w, int transport_ok, const char *why);
/* Drops the decoder (safe twice, and on a zeroed struct). */
void commit_watch_fini(struct commit_watch *w);

/* Is a passthrough answer held until it is whole, to see whether it is an
 * error object (docs/operations.md, "A 2xx that is an error")? A 2xx other
 * than 204/205 to anything but HEAD, with a JSON Content-Type
 * (application/json or a +json type) and no Content-Length above
 * COMMIT_HOLD_MAX. */
int commit_json_held(int status, const char *method, const struct http_header *h, size_t n);
/* Is a whole 2xx JSON body an error: an object with an `error` object and
 * none of `content`, `choices`, `output`? Accepts any bytes. */
int commit_json_is_error(const char *body, size_t len);

#endif
