/* fuzz_usage.c -- libFuzzer harness for the usage reader (zend/usage/usage_reader.c).
 *
 * The input is an answer's body as an upstream sent it. usage_reader.h
 * promises the reader is total (any bytes are fine), bounded and
 * chunking-blind (any split of the same bytes gives the same counts). Two
 * readers check that on every input: one fed in pieces whose sizes come
 * from the input, one fed everything at once; their counts must be equal,
 * and every count is USAGE_UNKNOWN or >= 0.
 *
 * Input layout: byte 0 picks the format (% 3) and stream or JSON (bit 2);
 * bytes 1..4 are piece sizes used in turn; the rest is the body. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usage_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_HEADER 5

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_usage: invariant broken: %s\n", what);
        abort();
    }
}

static int count_ok(int64_t v) { return v == USAGE_UNKNOWN || v >= 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < FUZZ_HEADER)
        return 0;
    enum tr_format wire = (enum tr_format)(data[0] % 3);
    int stream = (data[0] >> 2) & 1;
    const uint8_t *steps = data + 1;
    const char *body = (const char *)data + FUZZ_HEADER;
    size_t len = size - FUZZ_HEADER;

    struct usage_reader *pieces = usage_reader_new(wire, stream);
    struct usage_reader *whole = usage_reader_new(wire, stream);
    if (!pieces || !whole) {
        usage_reader_free(pieces);
        usage_reader_free(whole);
        return 0;
    }
    size_t off = 0;
    for (unsigned i = 0; off < len; i++) {
        size_t n = steps[i % 4] % 64 + 1;
        if (n > len - off)
            n = len - off;
        usage_reader_feed(pieces, body + off, n);
        off += n;
    }
    usage_reader_feed(whole, body, len);
    struct usage_tokens a, b;
    usage_reader_result(pieces, &a);
    usage_reader_result(whole, &b);
    check(memcmp(&a, &b, sizeof(a)) == 0, "the same bytes in pieces give the same counts");
    check(count_ok(a.input) && count_ok(a.output) && count_ok(a.cache_read) &&
              count_ok(a.cache_write),
          "every count is unknown or >= 0");
    usage_reader_free(pieces);
    usage_reader_free(whole);
    return 0;
}
