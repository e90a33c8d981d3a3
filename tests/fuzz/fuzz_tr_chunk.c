/* fuzz_tr_chunk.c -- differential libFuzzer harness for the Chat chunk
 * scanner (zend/translate/tr_chunk_scan.c) in decoder C.
 *
 * The input is a Chat stream. It goes through decoder C twice, with the
 * scanner and through the tree only (tr_decoder_tree_only), fed the same
 * pieces; both sides' IR events (every field) and the Anthropic stream
 * bytes they encode to must be equal (tests/unit/tr_chunk_diff.inc). The
 * harness aborts on the first difference.
 *
 * Input layout: byte 0 bit 0: the body ends cleanly (else a reset); bit 1:
 * a role chunk goes first (START is out before the input's chunks); byte 1
 * seeds the piece sizes (1..64). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../unit/tr_chunk_diff.inc"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_HEADER 2

static const char ROLE[] = "data: {\"id\":\"c1\",\"model\":\"g\",\"choices\":[{\"index\":0,"
                           "\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < FUZZ_HEADER)
        return 0;
    int clean = data[0] & 1, role = (data[0] >> 1) & 1;
    size_t len = size - FUZZ_HEADER, pre = role ? sizeof(ROLE) - 1 : 0;
    char *body = malloc(pre + len + 1);
    if (!body)
        return 0;
    memcpy(body, ROLE, pre);
    memcpy(body + pre, data + FUZZ_HEADER, len);
    const char *what = "";
    if (tr_chunk_diff(body, pre + len, data[1], 64, clean, &what) == 0) {
        fprintf(stderr, "fuzz_tr_chunk: scanner and tree differ (%s)\n", what);
        abort();
    }
    free(body);
    return 0;
}
