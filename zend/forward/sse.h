/* sse.h -- tells a finished event stream from a truncated one (README "How the
 * proxy behaves": "Streaming").
 *
 * An upstream that dies mid-stream must never look like a complete answer
 * to the client, and at the TCP level both end the same way. The protocol
 * says which is which: a complete stream has sent its end marker. This
 * detector watches the relayed bytes for one, whatever the protocol:
 *   - an "event: message_stop" line                       (Anthropic)
 *   - a data line whose JSON has "type": "message_stop"    (Anthropic)
 *   - a "data: [DONE]" line                               (OpenAI)
 *   - a data line whose JSON has a "finish_reason" that is neither null nor
 *     ""                                                  (OpenAI chat)
 *   - an "event: response.completed" line, or a data line whose JSON has
 *     "type": "response.completed"                        (OpenAI Responses)
 *
 * It only observes: the bytes it is fed go to the client unchanged. It is
 * incremental and chunking-blind (any split of the same bytes gives the same
 * answer; lines end in LF, CRLF or CR, as SSE allows), bounded (a fixed-size
 * struct, no allocation; a 100 KB data line is scanned, not stored) and
 * total (any bytes at all are fine input).
 *
 * JSON keys are matched as whole tokens with optional whitespace around the
 * ':' -- a "type" inside a JSON string is escaped (\"type\") and so is never
 * mistaken for one -- across all data lines of one event, joined by '\n' as
 * SSE joins them. Whole-line markers count once their line has ended. */
#ifndef ZEND_SSE_H
#define ZEND_SSE_H

#include <stddef.h>

/* Bytes kept of each line: enough for the whole-line markers above with
 * generous trailing whitespace; longer lines are never whole-line markers. */
#define SSE_LINE_KEEP 64

struct sse_detector {
    int complete;            /* sticky: an end marker was seen */
    int after_cr;            /* last byte was CR: an LF right after it ends nothing */
    size_t line_len;         /* bytes of the current line so far (saturating) */
    int line_kind;           /* enum sse_line_kind (sse.c) */
    char line[SSE_LINE_KEEP]; /* the first bytes of the current line */
    /* JSON token matching over the current event's data (sse.c). */
    int key_pos;             /* bytes of a candidate key matched, quotes included; 0 = none */
    unsigned key_alive;      /* candidate keys still matching (bit per key) */
    int value_state;         /* enum sse_value_state (sse.c) */
    int value_key;           /* which key the value belongs to */
    int value_pos;           /* bytes of a candidate string value matched */
    unsigned value_alive;    /* candidate values still matching (bit per value) */
};

void sse_detector_init(struct sse_detector *d);

/* Feeds the next response body bytes, split anywhere. len 0 is a no-op. */
void sse_detector_feed(struct sse_detector *d, const char *data, size_t len);

/* 1 once an end marker has been seen, else 0. */
int sse_detector_complete(const struct sse_detector *d);

#endif
