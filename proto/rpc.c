#include "rpc.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* Control messages are small maps; no honest frame declares more elements
 * than this. It bounds what msgpack-c allocates for one frame (each element
 * costs it a 24-byte msgpack_object) and what the JSON conversion builds. */
#define RPC_MAX_ELEMENTS 65536

void rpc_message_clear(struct rpc_message *m)
{
    free(m->method);
    json_decref(m->params);
    json_decref(m->error);
    json_decref(m->result);
    memset(m, 0, sizeof(*m));
}

/* ---- encoding: jansson value -> MessagePack ---- */

static int zbuf_write_cb(void *data, const char *buf, size_t len)
{
    return zbuf_append((zbuf *)data, buf, len) == ZEN_OK ? 0 : -1;
}

static int pack_str(msgpack_packer *pk, const char *s, size_t len)
{
    if (msgpack_pack_str(pk, len) != 0)
        return -1;
    return msgpack_pack_str_body(pk, s, len);
}

static int pack_json(msgpack_packer *pk, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        if (msgpack_pack_map(pk, json_object_size(v)) != 0)
            return -1;
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)v, key, val) {
            if (pack_str(pk, key, strlen(key)) != 0 || pack_json(pk, val) != 0)
                return -1;
        }
        return 0;
    }
    case JSON_ARRAY: {
        if (msgpack_pack_array(pk, json_array_size(v)) != 0)
            return -1;
        size_t i;
        json_t *val;
        json_array_foreach(v, i, val) {
            if (pack_json(pk, val) != 0)
                return -1;
        }
        return 0;
    }
    case JSON_STRING:
        return pack_str(pk, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return msgpack_pack_int64(pk, json_integer_value(v));
    case JSON_REAL:
        return msgpack_pack_double(pk, json_real_value(v));
    case JSON_TRUE:
        return msgpack_pack_true(pk);
    case JSON_FALSE:
        return msgpack_pack_false(pk);
    case JSON_NULL:
        return msgpack_pack_nil(pk);
    }
    return -1;
}

/* params travel as an array holding one map, or an empty array. */
static int pack_params(msgpack_packer *pk, const json_t *params)
{
    if (!params)
        return msgpack_pack_array(pk, 0);
    if (msgpack_pack_array(pk, 1) != 0)
        return -1;
    return pack_json(pk, params);
}

/* Appends a frame to out, or leaves out as it was when packing failed. */
#define ENCODE_BEGIN(out)                                                   \
    size_t rollback_ = (out)->end;                                          \
    msgpack_packer pk_;                                                     \
    msgpack_packer_init(&pk_, (out), zbuf_write_cb);                        \
    int rc_ = 0
#define ENCODE_END(out)                                                     \
    if (rc_ != 0) {                                                         \
        (out)->end = rollback_;                                             \
        return ZEN_ERR;                                                     \
    }                                                                       \
    return ZEN_OK

int rpc_encode_request(zbuf *out, uint32_t msgid, const char *method, const json_t *params)
{
    ENCODE_BEGIN(out);
    rc_ |= msgpack_pack_array(&pk_, 4);
    rc_ |= msgpack_pack_int(&pk_, RPC_REQUEST);
    rc_ |= msgpack_pack_uint32(&pk_, msgid);
    rc_ |= pack_str(&pk_, method, strlen(method));
    rc_ |= pack_params(&pk_, params);
    ENCODE_END(out);
}

int rpc_encode_response(zbuf *out, uint32_t msgid, const json_t *error, const json_t *result)
{
    ENCODE_BEGIN(out);
    rc_ |= msgpack_pack_array(&pk_, 4);
    rc_ |= msgpack_pack_int(&pk_, RPC_RESPONSE);
    rc_ |= msgpack_pack_uint32(&pk_, msgid);
    rc_ |= error ? pack_json(&pk_, error) : msgpack_pack_nil(&pk_);
    rc_ |= result && !error ? pack_json(&pk_, result) : msgpack_pack_nil(&pk_);
    ENCODE_END(out);
}

int rpc_encode_error(zbuf *out, uint32_t msgid, int code, const char *message)
{
    json_t *err = json_pack("{s:i, s:s}", "code", code, "message", message);
    int rc = err ? rpc_encode_response(out, msgid, err, NULL) : ZEN_ERR;
    json_decref(err);
    return rc;
}

int rpc_encode_notification(zbuf *out, const char *method, const json_t *params)
{
    ENCODE_BEGIN(out);
    rc_ |= msgpack_pack_array(&pk_, 3);
    rc_ |= msgpack_pack_int(&pk_, RPC_NOTIFICATION);
    rc_ |= pack_str(&pk_, method, strlen(method));
    rc_ |= pack_params(&pk_, params);
    ENCODE_END(out);
}

/* ---- frame scanning ---- */

static uint64_t read_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* What one MessagePack header byte announces. */
struct item_shape {
    int hdr;            /* bytes of header, including the type byte */
    int len_bytes;      /* 0, or size of a big-endian length/count after the type byte */
    uint64_t payload;   /* fixed payload bytes (before any length read) */
    int kind;           /* 0 scalar/bytes, 1 array, 2 map */
    uint64_t count;     /* fixarray/fixmap element count */
};

static int shape_of(uint8_t b, struct item_shape *s)
{
    memset(s, 0, sizeof(*s));
    s->hdr = 1;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return 0;
    if (b >= 0x80 && b <= 0x8f) { s->kind = 2; s->count = b & 0x0f; return 0; }
    if (b >= 0x90 && b <= 0x9f) { s->kind = 1; s->count = b & 0x0f; return 0; }
    if (b >= 0xa0 && b <= 0xbf) { s->payload = b & 0x1f; return 0; }
    switch (b) {
    case 0xc4: case 0xd9: s->len_bytes = 1; break;           /* bin8, str8 */
    case 0xc5: case 0xda: s->len_bytes = 2; break;           /* bin16, str16 */
    case 0xc6: case 0xdb: s->len_bytes = 4; break;           /* bin32, str32 */
    case 0xc7: s->len_bytes = 1; s->payload = 1; break;      /* ext8 + type */
    case 0xc8: s->len_bytes = 2; s->payload = 1; break;
    case 0xc9: s->len_bytes = 4; s->payload = 1; break;
    case 0xca: s->payload = 4; break;                        /* float32 */
    case 0xcb: s->payload = 8; break;                        /* float64 */
    case 0xcc: case 0xd0: s->payload = 1; break;
    case 0xcd: case 0xd1: s->payload = 2; break;
    case 0xce: case 0xd2: s->payload = 4; break;
    case 0xcf: case 0xd3: s->payload = 8; break;
    case 0xd4: s->payload = 2; break;                        /* fixext1 + type */
    case 0xd5: s->payload = 3; break;
    case 0xd6: s->payload = 5; break;
    case 0xd7: s->payload = 9; break;
    case 0xd8: s->payload = 17; break;
    case 0xdc: s->kind = 1; s->len_bytes = 2; break;         /* array16 */
    case 0xdd: s->kind = 1; s->len_bytes = 4; break;         /* array32 */
    case 0xde: s->kind = 2; s->len_bytes = 2; break;         /* map16 */
    case 0xdf: s->kind = 2; s->len_bytes = 4; break;         /* map32 */
    default: return -1;                                      /* 0xc1: never used */
    }
    s->hdr += s->len_bytes;
    return 0;
}

int rpc_frame_scan(const uint8_t *p, size_t len, size_t max_frame, size_t *frame_len,
                   char *err, size_t errlen)
{
    size_t pos = 0;
    uint64_t pending = 1;    /* items still to read before the frame ends */
    uint64_t elements = 0;   /* every item declared so far */
    while (pending > 0) {
        if (pos >= max_frame) {
            snprintf(err, errlen, "frame larger than %zu bytes", max_frame);
            return -1;
        }
        if (pos >= len)
            return 0;
        struct item_shape s;
        if (shape_of(p[pos], &s) != 0) {
            snprintf(err, errlen, "invalid MessagePack type byte 0x%02x at offset %zu",
                     p[pos], pos);
            return -1;
        }
        /* The room checks below cover what follows a header, not the header
         * itself: an empty array32 or str32 could end 4 bytes past the cap. */
        if (pos + (size_t)s.hdr > max_frame) {
            snprintf(err, errlen, "frame larger than %zu bytes", max_frame);
            return -1;
        }
        if (pos + (size_t)s.hdr > len)
            return 0;
        uint64_t declared = s.len_bytes ? read_be(p + pos + 1, s.len_bytes) : 0;
        size_t room = pos + (size_t)s.hdr <= max_frame ? max_frame - pos - (size_t)s.hdr : 0;
        pending--;
        if (s.kind) {
            uint64_t count = s.len_bytes ? declared : s.count;
            uint64_t items = s.kind == 2 ? count * 2 : count;
            /* Every element takes at least one byte, so a count larger than
             * the room left in the frame is a lie told to make us allocate. */
            if (pending + items > room) {
                snprintf(err, errlen, "%s at offset %zu declares %llu elements, more than fit "
                         "in a %zu-byte frame", s.kind == 2 ? "map" : "array", pos,
                         (unsigned long long)count, max_frame);
                return -1;
            }
            elements += items;
            if (elements > RPC_MAX_ELEMENTS) {
                snprintf(err, errlen, "frame declares more than %d elements", RPC_MAX_ELEMENTS);
                return -1;
            }
            pending += items;
            pos += (size_t)s.hdr;
        } else {
            uint64_t body = s.payload + declared;
            if (body > room) {
                snprintf(err, errlen, "item at offset %zu declares %llu bytes, more than fit "
                         "in a %zu-byte frame", pos, (unsigned long long)body, max_frame);
                return -1;
            }
            pos += (size_t)s.hdr + (size_t)body;
            if (pos > len)
                return 0;
        }
    }
    *frame_len = pos;
    return 1;
}

/* ---- decoding: MessagePack object -> jansson value ---- */

static json_t *to_json(const msgpack_object *o, char *err, size_t errlen)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return json_null();
    case MSGPACK_OBJECT_BOOLEAN:
        return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > (uint64_t)INT64_MAX) {
            snprintf(err, errlen, "integer %llu out of range", (unsigned long long)o->via.u64);
            return NULL;
        }
        return json_integer((json_int_t)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer(o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: {
        /* JSON has no NaN or infinity: jansson refuses them. */
        json_t *r = json_real(o->via.f64);
        if (!r)
            snprintf(err, errlen, "number %g is not finite", o->via.f64);
        return r;
    }
    case MSGPACK_OBJECT_STR: {
        /* msgpack-c leaves ptr NULL for an empty string; jansson refuses NULL. */
        json_t *s = json_stringn(o->via.str.size ? o->via.str.ptr : "", o->via.str.size);
        if (!s)
            snprintf(err, errlen, "string is not valid UTF-8");
        return s;
    }
    case MSGPACK_OBJECT_ARRAY: {
        json_t *arr = json_array();
        for (uint32_t i = 0; arr && i < o->via.array.size; i++) {
            json_t *v = to_json(&o->via.array.ptr[i], err, errlen);
            if (!v || json_array_append_new(arr, v) != 0) {
                json_decref(arr);
                return NULL;
            }
        }
        return arr;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *map = json_object();
        for (uint32_t i = 0; map && i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            const char *key = kv->key.via.str.size ? kv->key.via.str.ptr : "";
            if (kv->key.type != MSGPACK_OBJECT_STR || memchr(key, '\0', kv->key.via.str.size)) {
                snprintf(err, errlen, "map keys must be strings");
                json_decref(map);
                return NULL;
            }
            json_t *v = to_json(&kv->val, err, errlen);
            if (!v) {
                json_decref(map);
                return NULL;
            }
            /* setn_new takes v even when it fails (it frees it then). */
            if (json_object_setn_new(map, key, kv->key.via.str.size, v) != 0) {
                snprintf(err, errlen, "map key is not valid UTF-8");
                json_decref(map);
                return NULL;
            }
        }
        return map;
    }
    default:
        snprintf(err, errlen, "binary and extension types are not used by this protocol");
        return NULL;
    }
}

static int get_msgid(const msgpack_object *o, uint32_t *msgid)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > UINT32_MAX)
        return ZEN_ERR;
    *msgid = (uint32_t)o->via.u64;
    return ZEN_OK;
}

static int get_method(const msgpack_object *o, char **method)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0 || o->via.str.size > 128 ||
        memchr(o->via.str.ptr, '\0', o->via.str.size))
        return ZEN_ERR;
    *method = strndup(o->via.str.ptr, o->via.str.size);
    return *method ? ZEN_OK : ZEN_ERR;
}

static int get_params(const msgpack_object *o, json_t **params, char *err, size_t errlen)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > 1 ||
        (o->via.array.size == 1 && o->via.array.ptr[0].type != MSGPACK_OBJECT_MAP)) {
        snprintf(err, errlen, "params must be an array holding one map, or empty");
        return ZEN_ERR;
    }
    *params = o->via.array.size ? to_json(&o->via.array.ptr[0], err, errlen) : json_object();
    return *params ? ZEN_OK : ZEN_ERR;
}

/* Checks the shape of one unpacked frame and converts it. */
static int decode_message(const msgpack_object *o, struct rpc_message *m,
                          struct rpc_read_error *e)
{
    char *err = e->message;
    size_t errlen = sizeof(e->message);
    memset(m, 0, sizeof(*m));
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 3 ||
        o->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        snprintf(err, errlen, "not a MessagePack-RPC message (expected [type, ...])");
        return ZEN_ERR;
    }
    const msgpack_object *f = o->via.array.ptr;
    uint32_t n = o->via.array.size;
    m->type = (int)f[0].via.u64;
    switch (f[0].via.u64) {
    case RPC_REQUEST:
        if (n != 4 || get_msgid(&f[1], &m->msgid) != ZEN_OK) {
            snprintf(err, errlen, "a request is [0, msgid, method, params]");
            return ZEN_ERR;
        }
        e->has_msgid = 1;
        e->msgid = m->msgid;
        if (get_method(&f[2], &m->method) != ZEN_OK) {
            snprintf(err, errlen, "method must be a non-empty string");
            return ZEN_ERR;
        }
        return get_params(&f[3], &m->params, err, errlen);
    case RPC_RESPONSE:
        if (n != 4 || get_msgid(&f[1], &m->msgid) != ZEN_OK) {
            snprintf(err, errlen, "a response is [1, msgid, error, result]");
            return ZEN_ERR;
        }
        if (f[2].type != MSGPACK_OBJECT_NIL) {
            m->error = to_json(&f[2], err, errlen);
            return m->error ? ZEN_OK : ZEN_ERR;
        }
        m->result = to_json(&f[3], err, errlen);
        return m->result ? ZEN_OK : ZEN_ERR;
    case RPC_NOTIFICATION:
        if (n != 3 || get_method(&f[1], &m->method) != ZEN_OK) {
            snprintf(err, errlen, "a notification is [2, method, params]");
            return ZEN_ERR;
        }
        return get_params(&f[2], &m->params, err, errlen);
    default:
        snprintf(err, errlen, "unknown message type %llu", (unsigned long long)f[0].via.u64);
        return ZEN_ERR;
    }
}

/* ---- reader ---- */

/* A frame refused by the scanner may still start like a request
 * ([0, msgid, ...]); reading that msgid lets the sender learn why. */
static int peek_request_msgid(const uint8_t *p, size_t len, uint32_t *msgid)
{
    if (len < 3 || p[0] != 0x94 || p[1] != 0x00)
        return 0;
    if (p[2] <= 0x7f) {
        *msgid = p[2];
        return 1;
    }
    int width = p[2] == 0xcc ? 1 : p[2] == 0xcd ? 2 : p[2] == 0xce ? 4 : 0;
    if (!width || len < 3 + (size_t)width)
        return 0;
    *msgid = (uint32_t)read_be(p + 3, width);
    return 1;
}

void rpc_reader_init(struct rpc_reader *r, size_t max_frame)
{
    zbuf_init(&r->in);
    r->max_frame = max_frame ? max_frame : RPC_MAX_FRAME;
}

void rpc_reader_free(struct rpc_reader *r) { zbuf_free(&r->in); }

int rpc_reader_feed(struct rpc_reader *r, const void *data, size_t len)
{
    return zbuf_append(&r->in, data, len);
}

size_t rpc_reader_pending(const struct rpc_reader *r) { return zbuf_len(&r->in); }

int rpc_decode_frame(const uint8_t *p, size_t frame_len, struct rpc_message *out,
                     struct rpc_read_error *e)
{
    memset(e, 0, sizeof(*e));
    memset(out, 0, sizeof(*out));
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    msgpack_unpack_return ret = msgpack_unpack_next(&u, (const char *)p, frame_len, &off);
    int rc = RPC_READ_ERROR;
    if (ret != MSGPACK_UNPACK_SUCCESS || off != frame_len) {
        /* The scanner accepted it, so this is nesting beyond msgpack-c's
         * fixed stack (32 levels) or an allocation failure. */
        snprintf(e->message, sizeof(e->message), "frame could not be unpacked (nested too "
                 "deeply or out of memory)");
    } else if (decode_message(&u.data, out, e) == ZEN_OK) {
        rc = RPC_READ_MESSAGE;
    } else {
        rpc_message_clear(out);
    }
    msgpack_unpacked_destroy(&u);
    return rc;
}

int rpc_reader_next(struct rpc_reader *r, struct rpc_message *out, struct rpc_read_error *e)
{
    memset(e, 0, sizeof(*e));
    memset(out, 0, sizeof(*out));
    size_t frame_len = 0;
    int scan = rpc_frame_scan(zbuf_head(&r->in), zbuf_len(&r->in), r->max_frame, &frame_len,
                              e->message, sizeof(e->message));
    if (scan == 0)
        return RPC_READ_NEED_MORE;
    if (scan < 0) {
        e->has_msgid = peek_request_msgid(zbuf_head(&r->in), zbuf_len(&r->in), &e->msgid);
        return RPC_READ_ERROR;
    }
    int rc = rpc_decode_frame(zbuf_head(&r->in), frame_len, out, e);
    zbuf_consume(&r->in, frame_len);
    return rc;
}
