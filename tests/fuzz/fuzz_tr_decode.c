/* fuzz_tr_decode.c -- libFuzzer harness for the answer decoders
 * (zend/translate/tr_decode*.c, tr_sse.c).
 *
 * The input is an upstream answer. tr_decode.h promises that whatever the
 * bytes, a decoder never breaks the IR event invariants (tr_types.h) and ends
 * with exactly one FINISH or ERROR once the body has ended. Every event goes
 * through the invariant checker (tr_check.c); the harness aborts with its
 * message on the first violation, when block numbers do not run 0, 1, 2 ...
 * in OPEN order, or when the decoder is not done after tr_decoder_end. Every
 * borrowed string is read in full, so a bad pointer or length shows under
 * ASan.
 *
 * Input layout: byte 0 picks the wire (A, C, R) and the mode (stream, JSON)
 * as byte0 % 6, whether the body ends cleanly (bit 0 of byte0 / 6) and
 * whether the caller's grace timer fires before the end (bit 1); byte 1
 * seeds the sizes of the pieces the rest is fed in. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tr_check.h"
#include "tr_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_HEADER 2

struct run {
    struct tr_checker k;
    int opened;
    unsigned sum;
};

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_tr_decode: invariant broken: %s\n", what);
    abort();
}

static void touch(struct run *r, const char *s, size_t n)
{
    if (n && !s)
        fail("a NULL string with a length");
    for (size_t i = 0; i < n; i++)
        r->sum += (unsigned char)s[i];
}

static void on_event(void *ud, const struct tr_event *ev)
{
    struct run *r = ud;
    if (tr_checker_event(&r->k, ev) < 0)
        fail(r->k.violation);
    touch(r, ev->id, ev->id_len);
    touch(r, ev->name, ev->name_len);
    touch(r, ev->model, ev->model_len);
    touch(r, ev->text, ev->text_len);
    touch(r, ev->stop_sequence, ev->stop_sequence_len);
    if (ev->err_type)
        for (const char *p = ev->err_type; *p; p++)
            r->sum += (unsigned char)*p;
    if (ev->kind == TR_EV_OPEN) {
        if (ev->block != r->opened++)
            fail("block numbers do not follow OPEN order");
        if (ev->block_kind == TR_BLOCK_TOOL && ev->id_len == 0)
            fail("a tool block without an id");
    }
    if ((ev->kind == TR_EV_DELTA || ev->kind == TR_EV_SIG) && ev->text_len == 0)
        fail("an empty DELTA or SIG");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < FUZZ_HEADER)
        return 0;
    unsigned pick = data[0] % 6, flags = data[0] / 6;
    enum tr_format wire = (enum tr_format)(pick / 2);
    int sse = pick % 2 == 0;
    uint32_t rng = data[1] * 2654435761u + 1;
    const char *body = (const char *)data + FUZZ_HEADER;
    size_t len = size - FUZZ_HEADER;

    struct run r = {.opened = 0};
    tr_checker_init(&r.k);
    struct tr_decoder *d = tr_decoder_new(wire, sse, on_event, &r);
    if (!d)
        return 0;
    for (size_t off = 0; off < len;) {
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        size_t n = 1 + rng % 64;
        if (n > len - off)
            n = len - off;
        tr_decoder_feed(d, body + off, n);
        off += n;
    }
    if ((flags & 2) && tr_decoder_awaiting_end(d)) {
        tr_decoder_finalize(d);
        if (!tr_decoder_done(d))
            fail("finalize did not end an awaiting stream");
    }
    tr_decoder_end(d, flags & 1, (flags & 1) ? NULL : "reset");
    if (!tr_decoder_done(d))
        fail("the decoder is not done after its end");
    if (tr_checker_end(&r.k, 1) != 0)
        fail(r.k.violation);
    tr_decoder_feed(d, body, len); /* ignored after the end */
    tr_decoder_end(d, 1, NULL);
    tr_decoder_free(d);
    return 0;
}
