/* buf.h -- a growable byte buffer with a read cursor.
 *
 * Used for socket input/output queues: append at the tail, consume from the
 * head, and compact lazily so a long-lived connection does not creep. */
#ifndef ZEN_BUF_H
#define ZEN_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct zbuf {
    uint8_t *data;
    size_t start; /* first unread byte */
    size_t end;   /* one past the last written byte */
    size_t cap;
} zbuf;

void zbuf_init(zbuf *b);
void zbuf_free(zbuf *b);
/* Ensures room for `more` bytes after end. Returns ZEN_OK or ZEN_ERR (ENOMEM). */
int zbuf_reserve(zbuf *b, size_t more);
int zbuf_append(zbuf *b, const void *p, size_t n);
int zbuf_append_str(zbuf *b, const char *s);
/* Appends v in decimal (base 10) or lowercase hex (base 16), no printf. */
int zbuf_append_uint(zbuf *b, uint64_t v, unsigned base);
/* Appends v in decimal, with a '-' when negative. */
int zbuf_append_int(zbuf *b, int64_t v);
static inline size_t zbuf_len(const zbuf *b) { return b->end - b->start; }
/* NULL for a buffer never written to: NULL + 0 is undefined behaviour in C. */
static inline uint8_t *zbuf_head(const zbuf *b) { return b->data ? b->data + b->start : NULL; }
/* Drops n bytes from the head (n <= zbuf_len). */
void zbuf_consume(zbuf *b, size_t n);
void zbuf_clear(zbuf *b);

/* Sends b's bytes on a non-blocking socket until they are all out
 * (ZBUF_SENT) or the socket is full (ZBUF_BLOCKED: wait for writable);
 * ZBUF_PEER_GONE when the peer went away. Never raises SIGPIPE. */
enum { ZBUF_PEER_GONE = -1, ZBUF_BLOCKED = 0, ZBUF_SENT = 1 };
int zbuf_send(zbuf *b, int fd);

#endif
