#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common.h"

void zbuf_init(zbuf *b) { memset(b, 0, sizeof(*b)); }

void zbuf_free(zbuf *b)
{
    free(b->data); b->data = NULL;
    b->start = b->end = b->cap = 0;
}

int zbuf_reserve(zbuf *b, size_t more)
{
    if (b->cap - b->end >= more)
        return ZEN_OK;
    /* Reuse the consumed head before growing. */
    if (b->start > 0) {
        memmove(b->data, b->data + b->start, b->end - b->start);
        b->end -= b->start;
        b->start = 0;
        if (b->cap - b->end >= more)
            return ZEN_OK;
    }
    size_t need = b->end + more;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return ZEN_ERR;
        cap *= 2;
    }
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return ZEN_ERR;
    b->data = p;
    b->cap = cap;
    return ZEN_OK;
}

int zbuf_append(zbuf *b, const void *p, size_t n)
{
    if (n == 0)
        return ZEN_OK;
    if (zbuf_reserve(b, n) != ZEN_OK)
        return ZEN_ERR;
    memcpy(b->data + b->end, p, n);
    b->end += n;
    return ZEN_OK;
}

int zbuf_append_str(zbuf *b, const char *s) { return zbuf_append(b, s, strlen(s)); }

int zbuf_append_uint(zbuf *b, uint64_t v, unsigned base)
{
    char digits[20];
    size_t n = sizeof(digits);
    do {
        digits[--n] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    return zbuf_append(b, digits + n, sizeof(digits) - n);
}

int zbuf_append_int(zbuf *b, int64_t v)
{
    if (v >= 0)
        return zbuf_append_uint(b, (uint64_t)v, 10);
    size_t before = zbuf_len(b);
    if (zbuf_append(b, "-", 1) == ZEN_OK &&
        zbuf_append_uint(b, (uint64_t)0 - (uint64_t)v, 10) == ZEN_OK)
        return ZEN_OK;
    b->end = b->start + before;
    return ZEN_ERR;
}

void zbuf_consume(zbuf *b, size_t n)
{
    b->start += n;
    if (b->start >= b->end)
        b->start = b->end = 0;
}

void zbuf_clear(zbuf *b) { b->start = b->end = 0; }

int zbuf_send(zbuf *b, int fd)
{
    while (zbuf_len(b) > 0) {
        ssize_t n = send(fd, zbuf_head(b), zbuf_len(b), MSG_NOSIGNAL);
        if (n > 0)
            zbuf_consume(b, (size_t)n);
        else if (n < 0 && errno == EINTR)
            continue;
        else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return ZBUF_BLOCKED;
        else
            return ZBUF_PEER_GONE;
    }
    return ZBUF_SENT;
}
