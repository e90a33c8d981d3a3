/* fuzz_tr_request.c -- libFuzzer harness for the request parsers
 * (zend/translate/tr_parse*.c, docs/translate.md, requests).
 *
 * Input layout: byte 0 picks the client format (byte % 3: 0 A, 1 C, 2 R;
 * the seed corpus spells them '0', '1', '2'); the rest is the body.
 * Besides the sanitizers it checks that:
 *   - a refusal always says why (a non-empty message);
 *   - every IR a parser returns is exactly of the IR shape (tr_ir_valid);
 *   - the wire checks, the token estimate and the reasoning test run on it
 *     (they may only read the shape), and the estimate is at least its
 *     fixed cost (8 + 4 per message). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tr_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what, const char *detail)
{
    if (!ok) {
        fprintf(stderr, "fuzz_tr_request: invariant broken: %s%s%s\n", what,
                detail ? ": " : "", detail ? detail : "");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum tr_format f = (enum tr_format)(data[0] % 3);
    char err[512];
    err[0] = '\0';
    json_t *ir = tr_request_parse(f, (const char *)data + 1, size - 1, err, sizeof(err));
    if (!ir) {
        check(err[0] != '\0', "a refusal carries a message", NULL);
        return 0;
    }
    char verr[256];
    check(tr_ir_valid(ir, verr, sizeof(verr)) == 1, "a parse result is of the IR shape", verr);
    for (int w = TR_FORMAT_A; w <= TR_FORMAT_R; w++) {
        err[0] = '\0';
        int rc = tr_request_check(ir, (enum tr_format)w, err, sizeof(err));
        check(rc == 0 || (rc == -1 && err[0]), "a failed wire check says why", NULL);
    }
    int64_t n = tr_count_tokens_estimate(ir);
    check(n >= 8 + 4 * (int64_t)json_array_size(json_object_get(ir, "messages")),
          "the estimate covers its fixed costs", NULL);
    (void)tr_request_wants_reasoning(ir);
    json_decref(ir);
    return 0;
}
