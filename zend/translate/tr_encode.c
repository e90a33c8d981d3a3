/* tr_encode.c -- the encoder dispatcher (tr_encode.h) and the helpers its
 * per-format parts share: ids, JSON strings, SSE framing, tool args. */
#include "tr_encode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tr_ctx.h"
#include "tr_encode_int.h"
#include "zjson.h"

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t fresh_seed(const void *salt)
{
    uint64_t s = 0;
    /* Ids only need to be unique, not secret: entropy when the kernel has
     * it, else time and an address. */
    if (getentropy(&s, sizeof(s)) != 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)(uintptr_t)salt;
    }
    return s;
}

struct tr_encoder *tr_encoder_new(const struct tr_ctx *ctx, int sse)
{
    struct tr_encoder *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->ctx = ctx;
    e->fmt = ctx->client;
    e->sse = sse;
    e->rng = fresh_seed(e);
    tr_agg_init(&e->agg);
    return e;
}

void tr_encoder_set_id_seed(struct tr_encoder *e, uint64_t seed)
{
    e->rng = seed;
}

void tr_encoder_free(struct tr_encoder *e)
{
    if (!e)
        return;
    tr_agg_fini(&e->agg);
    free(e->queue);
    free(e);
}

void tr_enc_new_id(struct tr_encoder *e, const char *prefix, char *out, size_t outlen)
{
    uint64_t hi = splitmix64(&e->rng), lo = splitmix64(&e->rng);
    snprintf(out, outlen, "%s%08x%016llx", prefix, (unsigned)(hi & 0xffffffffu),
             (unsigned long long)lo);
}

void tr_enc_set_resp_id(struct tr_encoder *e, const char *prefix)
{
    const char *id = e->agg.id ? e->agg.id : "";
    if (!*id)
        tr_enc_new_id(e, prefix, e->resp_id, sizeof(e->resp_id));
    else if (e->fmt == TR_FORMAT_R && strncmp(id, "resp_", 5) != 0)
        snprintf(e->resp_id, sizeof(e->resp_id), "resp_%s", id);
    else
        snprintf(e->resp_id, sizeof(e->resp_id), "%s", id);
}

const char *tr_enc_model(const struct tr_encoder *e)
{
    if (e->agg.model && *e->agg.model)
        return e->agg.model;
    return e->ctx->model ? e->ctx->model : "";
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    unsigned cp = c & (0x3f >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

json_t *tr_jstrn(const char *s, size_t n)
{
    if (!s || !n)
        return json_string("");
    json_t *j = json_stringn(s, n);
    if (j)
        return j;
    /* Invalid UTF-8: replace each bad byte by U+FFFD (3 bytes). */
    char *fixed = malloc(n * 3 + 1);
    if (!fixed)
        return json_string("");
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq((const unsigned char *)s + i, n - i);
        if (l) {
            memcpy(fixed + o, s + i, l);
            o += l;
            i += l;
        } else {
            memcpy(fixed + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    j = json_stringn(fixed, o);
    free(fixed);
    return j ? j : json_string("");
}

json_t *tr_jstr(const char *s)
{
    return tr_jstrn(s, s ? strlen(s) : 0);
}

json_t *tr_jbuf(const zbuf *b)
{
    return tr_jstrn((const char *)zbuf_head(b), zbuf_len(b));
}

/* Each takes obj's reference. A NULL object (a json_pack that failed: out
 * of memory) writes nothing rather than a malformed event. */
static void framed(zbuf *out, const char *head, const char *type, json_t *obj)
{
    if (!obj)
        return;
    size_t before = zbuf_len(out);
    if (type) {
        zbuf_append_str(out, "event: ");
        zbuf_append_str(out, type);
        zbuf_append_str(out, "\n");
    }
    zbuf_append_str(out, head);
    if (zjson_dump(obj, 0, out) == 0)
        zbuf_append_str(out, "\n\n");
    else
        out->end = out->start + before; /* no half event */
    json_decref(obj);
}

void tr_json_append(zbuf *out, json_t *obj)
{
    if (obj)
        zjson_dump(obj, 0, out);
    json_decref(obj);
}

void tr_sse_event(zbuf *out, const char *type, json_t *obj)
{
    framed(out, "data: ", type, obj);
}

void tr_sse_data(zbuf *out, json_t *obj)
{
    framed(out, "data: ", NULL, obj);
}

json_t *tr_sanitized_id(const char *id)
{
    size_t n = strlen(id);
    char *s = malloc(n + 1);
    if (!s)
        return json_string("");
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-';
        s[i] = ok ? c : '_';
    }
    s[n] = '\0';
    json_t *j = json_string(s);
    free(s);
    return j;
}

const char *tr_thinking_carrier(enum tr_format wire)
{
    switch (wire) {
    case TR_FORMAT_C: return "zend1.c";
    case TR_FORMAT_R: return "zend1.r";
    case TR_FORMAT_A: return "";
    }
    return "";
}

json_t *tr_args_object(const zbuf *args)
{
    json_t *j = NULL;
    if (zbuf_len(args))
        j = zjson_load((const char *)zbuf_head(args), zbuf_len(args), ZJSON_DECODE_ANY);
    /* Double-encoded args (a JSON string holding the object) are common on
     * relays: one level is unwrapped. */
    if (j && json_is_string(j)) {
        json_t *inner = zjson_load(json_string_value(j), json_string_length(j), 0);
        json_decref(j);
        j = inner;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        j = json_object();
    }
    return j;
}

json_t *tr_args_string(const zbuf *args)
{
    if (!zbuf_len(args))
        return json_string("{}");
    return tr_jbuf(args);
}

const char *tr_enc_err_type(const struct tr_event *ev, enum tr_format client)
{
    if (ev->err_type && tr_err_type_in_family(ev->err_type, client))
        return ev->err_type;
    return client == TR_FORMAT_A ? tr_err_class_a_type(ev->err_class)
                                 : tr_err_class_c_type(ev->err_class);
}

static void encode_stream(struct tr_encoder *e, const struct tr_event *ev,
                          struct tr_agg_block *b, zbuf *out)
{
    switch (e->fmt) {
    case TR_FORMAT_A: tr_enc_a_event(e, ev, b, out); break;
    case TR_FORMAT_C: tr_enc_c_event(e, ev, b, out); break;
    case TR_FORMAT_R: tr_enc_r_event(e, ev, b, out); break;
    }
}

void tr_encoder_event(struct tr_encoder *e, const struct tr_event *ev, zbuf *out)
{
    if (e->done)
        return;
    if (ev->kind == TR_EV_KEEPALIVE) {
        if (e->sse)
            zbuf_append_str(out, e->fmt == TR_FORMAT_A ? "event: ping\ndata: {\"type\":\"ping\"}\n\n"
                                                       : ": keep-alive\n\n");
        return;
    }
    /* A decoder that skipped START still gets a well-formed answer. */
    if (!e->agg.started && ev->kind != TR_EV_START && ev->kind != TR_EV_ERROR) {
        struct tr_event start = {.kind = TR_EV_START};
        tr_encoder_event(e, &start, out);
    }
    struct tr_agg_block *b = tr_agg_event(&e->agg, e->ctx, ev);
    switch (ev->kind) {
    case TR_EV_START:
        if (*e->resp_id)
            return; /* a second START */
        tr_enc_set_resp_id(e, e->fmt == TR_FORMAT_A   ? "msg_"
                              : e->fmt == TR_FORMAT_C ? "chatcmpl-"
                                                      : "resp_");
        break;
    case TR_EV_OPEN:
    case TR_EV_DELTA:
    case TR_EV_SIG:
    case TR_EV_CLOSE:
        if (!b)
            return;
        break;
    case TR_EV_FINISH:
    case TR_EV_ERROR:
        e->done = 1;
        if (!*e->resp_id) /* an error before START: R's response.failed needs an id */
            tr_enc_set_resp_id(e, e->fmt == TR_FORMAT_R ? "resp_" : "msg_");
        break;
    case TR_EV_KEEPALIVE:
        return;
    }
    if (e->sse)
        encode_stream(e, ev, b, out);
    else if (ev->kind == TR_EV_FINISH)
        tr_render_json(e, out);
}
