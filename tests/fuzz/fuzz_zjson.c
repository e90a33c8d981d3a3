/* fuzz_zjson.c -- libFuzzer harness for lib/zjson.c, differential against
 * jansson's own reader.
 *
 * zjson.h promises the exact verdict and value json_loadb gives, with one
 * documented exception (a NUL byte after a number or literal, which jansson
 * skips and zjson rejects). On every input: both readers agree on accept or
 * reject, and accepted trees dump to the same bytes (values, key order,
 * reals).
 *
 * Input layout: byte 0 holds the flags (bit 0 DECODE_ANY, bit 1 ALLOW_NUL);
 * the rest is the text. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_zjson: invariant broken: %s\n", what);
        abort();
    }
}

static int nul_after_token(const char *t, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (t[i] == '\0' && ((t[i - 1] >= '0' && t[i - 1] <= '9') ||
                             (t[i - 1] >= 'a' && t[i - 1] <= 'z')))
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0] & 3;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    json_t *a = zjson_load(text, len, flags);
    if (nul_after_token(text, len)) {
        check(a == NULL, "zjson accepted a NUL byte");
        return 0;
    }
    size_t jf = ((flags & ZJSON_DECODE_ANY) ? JSON_DECODE_ANY : 0) |
                ((flags & ZJSON_ALLOW_NUL) ? JSON_ALLOW_NUL : 0);
    json_t *b = json_loadb(text, len, jf, NULL);
    check((a == NULL) == (b == NULL), "verdicts differ");
    if (a && b) {
        char *da = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
        char *db = json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY);
        check(da && db && strcmp(da, db) == 0, "trees differ");
        free(da);
        free(db);
    }
    json_decref(a);
    json_decref(b);
    return 0;
}
