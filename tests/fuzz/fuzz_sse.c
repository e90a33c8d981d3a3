/* fuzz_sse.c -- libFuzzer harness for the SSE end-of-stream detector (zend/forward/sse.c).
 *
 * The input is a response body. sse.h promises the detector is total (any
 * bytes are fine), sticky (once complete, always complete) and
 * chunking-blind (any split of the same bytes gives the same answer). Three
 * detectors check that on every input:
 *   - one fed in pieces whose sizes come from the input,
 *   - one fed the same bytes one at a time, compared after every piece,
 *   - one fed everything at once, compared at the end.
 *
 * Input layout: bytes 0..3 are piece sizes used in turn; the rest is the
 * body. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_HEADER 4

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_sse: invariant broken: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < FUZZ_HEADER)
        return 0;
    const uint8_t *steps = data;
    const char *body = (const char *)data + FUZZ_HEADER;
    size_t len = size - FUZZ_HEADER;

    struct sse_detector pieces, bytes, whole;
    sse_detector_init(&pieces);
    sse_detector_init(&bytes);
    sse_detector_init(&whole);
    check(!sse_detector_complete(&pieces), "a fresh detector is not complete");
    sse_detector_feed(&pieces, body, 0);
    check(!sse_detector_complete(&pieces), "feeding nothing changes nothing");

    int was_complete = 0;
    size_t off = 0;
    for (unsigned i = 0; off < len; i++) {
        size_t n = steps[i % 4] % 64;
        if (n == 0) {
            sse_detector_feed(&pieces, body + off, 0); /* a no-op, by contract */
            n = 1;
        }
        if (n > len - off)
            n = len - off;
        sse_detector_feed(&pieces, body + off, n);
        for (size_t k = 0; k < n; k++)
            sse_detector_feed(&bytes, body + off + k, 1);
        off += n;
        int now = sse_detector_complete(&pieces);
        check(now == 0 || now == 1, "complete is 0 or 1");
        if (was_complete)
            check(now, "complete is sticky");
        was_complete = now;
        check(now == sse_detector_complete(&bytes),
              "pieces and single bytes agree at every piece boundary");
    }
    sse_detector_feed(&whole, body, len);
    check(sse_detector_complete(&whole) == sse_detector_complete(&pieces),
          "all at once and in pieces agree");
    /* Stickiness once more: whatever follows an end cannot undo it. */
    if (was_complete) {
        sse_detector_feed(&pieces, "\n\ndata: {\"type\":\"ping\"}\n\n", 26);
        check(sse_detector_complete(&pieces), "complete stays after more events");
    }
    return 0;
}
