#include "client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"
#include "methods.h"
#include "timeutil.h"

#define ZC_READ_CHUNK 65536

int zc_connect(struct zc_client *c, const char *sock_path, int timeout_ms, char *err,
               size_t errlen)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->timeout_ms = timeout_ms;
    c->next_msgid = 1; /* 0 is reserved for zend's unsolicited refusal */
    snprintf(c->sock_path, sizeof(c->sock_path), "%s", sock_path);
    rpc_reader_init(&c->reader, RPC_MAX_FRAME);

    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(sock_path) >= sizeof(sun.sun_path)) {
        snprintf(err, errlen, "socket path too long: %s", sock_path);
        return ZC_UNREACHABLE;
    }
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return ZC_UNREACHABLE;
    }
    if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
        return ZC_OK;
    int e = errno;
    close(c->fd);
    c->fd = -1;
    switch (e) {
    case ENOENT:
        c->not_running = 1;
        snprintf(err, errlen, "zend is not running (no socket at %s; start it with: zend)",
                 sock_path);
        return ZC_UNREACHABLE;
    case ECONNREFUSED:
        c->not_running = 1;
        snprintf(err, errlen, "zend is not running (connection refused at %s; a stale "
                 "socket? start it with: zend)", sock_path);
        return ZC_UNREACHABLE;
    case EACCES:
    case EPERM:
        snprintf(err, errlen, "permission denied on %s (it belongs to another user; run "
                 "zenctl as the user running zend)", sock_path);
        return ZC_PERMISSION;
    default:
        snprintf(err, errlen, "cannot connect to %s: %s", sock_path, strerror(e));
        return ZC_UNREACHABLE;
    }
}

void zc_close(struct zc_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    rpc_reader_free(&c->reader);
}

static int send_all(struct zc_client *c, const zbuf *b, int64_t deadline, char *err,
                    size_t errlen)
{
    size_t off = 0, len = zbuf_len(b);
    while (off < len) {
        int64_t left = deadline - ztime_mono_ms();
        struct pollfd p = {.fd = c->fd, .events = POLLOUT};
        if (left <= 0 || poll(&p, 1, (int)left) == 0) {
            snprintf(err, errlen, "timed out talking to zend at %s", c->sock_path);
            return ZC_UNREACHABLE;
        }
        ssize_t n = send(c->fd, zbuf_head(b) + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            snprintf(err, errlen, "lost the connection to zend: %s", strerror(errno));
            return ZC_UNREACHABLE;
        }
        off += (size_t)n;
    }
    return ZC_OK;
}

int zc_take_message(struct zc_client *c, struct rpc_message *m, char *err, size_t errlen)
{
    struct rpc_read_error re;
    int rc = rpc_reader_next(&c->reader, m, &re);
    if (rc == RPC_READ_MESSAGE)
        return ZC_READ_OK;
    if (rc == RPC_READ_ERROR) {
        snprintf(err, errlen, "zend sent a malformed message: %s", re.message);
        return ZC_READ_FAILED;
    }
    return ZC_READ_TIMEOUT;
}

int zc_receive(struct zc_client *c, char *err, size_t errlen)
{
    char buf[ZC_READ_CHUNK];
    ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return ZC_READ_OK;
    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
        snprintf(err, errlen, "zend closed the connection");
        return ZC_READ_EOF;
    }
    if (n < 0) {
        snprintf(err, errlen, "reading from zend: %s", strerror(errno));
        return ZC_READ_FAILED;
    }
    if (rpc_reader_feed(&c->reader, buf, (size_t)n) != ZEN_OK) {
        snprintf(err, errlen, "out of memory reading from zend");
        return ZC_READ_FAILED;
    }
    return ZC_READ_OK;
}

int zc_read_message(struct zc_client *c, struct rpc_message *m, int timeout_ms, char *err,
                    size_t errlen)
{
    int64_t deadline = ztime_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        int rc = zc_take_message(c, m, err, errlen);
        if (rc != ZC_READ_TIMEOUT)
            return rc;
        int wait = -1;
        if (timeout_ms >= 0) {
            int64_t left = deadline - ztime_mono_ms();
            wait = left > 0 ? (int)left : 0; /* 0: just look */
        }
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int pr = poll(&p, 1, wait);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0) {
            snprintf(err, errlen, "waiting for zend: %s", strerror(errno));
            return ZC_READ_FAILED;
        }
        if (pr == 0) {
            snprintf(err, errlen, "timed out after %d ms waiting for zend at %s", timeout_ms,
                     c->sock_path);
            return ZC_READ_TIMEOUT;
        }
        rc = zc_receive(c, err, errlen);
        if (rc != ZC_READ_OK)
            return rc;
    }
}

int zc_call(struct zc_client *c, const char *method, const json_t *params, json_t **result,
            int *remote_code, char *err, size_t errlen)
{
    *result = NULL;
    *remote_code = 0;
    uint32_t msgid = c->next_msgid++;
    zbuf out;
    zbuf_init(&out);
    int64_t deadline = ztime_mono_ms() + c->timeout_ms;
    int rc = rpc_encode_request(&out, msgid, method, params) == ZEN_OK
                 ? send_all(c, &out, deadline, err, errlen)
                 : ZC_UNREACHABLE;
    zbuf_free(&out);
    /* A refused peer may find the socket closed before its request is
     * out; zend's refusal is then already waiting to be read. */
    int send_failed = rc != ZC_OK;
    for (;;) {
        int left = (int)(deadline - ztime_mono_ms());
        struct rpc_message m;
        char rerr[ZEN_ERRLEN];
        int got = zc_read_message(c, &m, send_failed ? 0 : (left > 0 ? left : 0), rerr,
                                  sizeof(rerr));
        if (got <= 0) {
            if (!send_failed)
                snprintf(err, errlen, "%s", rerr);
            return ZC_UNREACHABLE;
        }
        int mine = m.type == RPC_RESPONSE &&
                   (m.msgid == msgid || (m.msgid == RPC_UNSOLICITED_MSGID && m.error));
        if (!mine) {
            rpc_message_clear(&m); /* a notification that raced ahead */
            continue;
        }
        if (m.error) {
            *remote_code = (int)json_integer_value(json_object_get(m.error, "code"));
            const char *msg = json_string_value(json_object_get(m.error, "message"));
            snprintf(err, errlen, "%s", msg ? msg : "error without a message");
            rpc_message_clear(&m);
            return *remote_code == RPC_ERR_PERMISSION ? ZC_PERMISSION : ZC_REMOTE_ERROR;
        }
        *result = m.result;
        m.result = NULL;
        rpc_message_clear(&m);
        return ZC_OK;
    }
}
