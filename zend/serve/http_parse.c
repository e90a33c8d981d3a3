/* http_parse.c -- the request side of the inbound HTTP server: llhttp's
 * callbacks build a struct http_request, counting the head against
 * max_header_bytes and charging the body to the server-wide budget; a
 * callback that refuses sets reject_status (and reject_msg) for
 * http_server.c to answer. */
#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "grow.h"
#include "http_conn.h"
#include "http_server.h"
#include "timeutil.h"

/* Rough per-line overhead (": ", CRLF) counted towards max_header_bytes. */
#define HTTP_HEADER_LINE_OVERHEAD 4

/* ---- requests ---- */

const char *http_request_header(const struct http_request *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

void http_request_free(struct http_request *r)
{
    if (!r)
        return;
    free(r->target);
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    zbuf_free(&r->body);
    free(r);
}

/* ---- the body budget ---- */

/* Charges n more body bytes to the server-wide budget for c's request.
 * Refuses (nothing charged) when that would pass max_body_bytes_total. */
static int body_charge(struct http_conn *c, size_t n)
{
    struct http_server *s = c->srv;
    if (n > s->limits.max_body_bytes_total ||
        s->body_bytes_held > s->limits.max_body_bytes_total - n)
        return -1;
    s->body_bytes_held += n;
    c->body_charged += n;
    return 0;
}

/* The request's body is gone (request freed, or refused and discarded). */
void http_body_release(struct http_conn *c)
{
    c->srv->body_bytes_held -= c->body_charged;
    c->body_charged = 0;
}

/* ---- parser callbacks ---- */

static int count_head(struct http_conn *c, size_t n)
{
    c->head_bytes += n;
    if (c->head_bytes > c->srv->limits.max_header_bytes) {
        c->reject_status = 431;
        return -1;
    }
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    struct http_conn *c = p->data;
    if (count_head(c, len) != 0)
        return -1;
    size_t old = c->req->target ? strlen(c->req->target) : 0;
    char *t = realloc(c->req->target, old + len + 1);
    if (!t)
        return -1;
    memcpy(t + old, at, len);
    t[old + len] = '\0';
    c->req->target = t;
    return 0;
}

/* Moves the header collected in hfield/hvalue into the request. */
static int finish_header(struct http_conn *c)
{
    if (zbuf_len(&c->hfield) == 0)
        return 0;
    struct http_request *r = c->req;
    if (r->n_headers >= HTTP_MAX_HEADERS) {
        c->reject_status = 431;
        return -1;
    }
    /* A client's head has a dozen or two lines: room for 256 up front
     * was 4 KB of every request, and of every open stream. */
    static const struct zgrow_policy growth = {HTTP_INITIAL_HEADERS, 2, HTTP_MAX_HEADERS};
    struct http_header *room = zgrow_room(r->headers, r->n_headers, &r->headers_cap,
                                          sizeof(*room), NULL, &growth);
    if (!room)
        return -1;
    r->headers = room;
    struct http_header *h = &r->headers[r->n_headers];
    h->name = strndup((const char *)zbuf_head(&c->hfield), zbuf_len(&c->hfield));
    /* An empty value may never have touched hvalue: its head is NULL then. */
    h->value = zbuf_len(&c->hvalue)
                   ? strndup((const char *)zbuf_head(&c->hvalue), zbuf_len(&c->hvalue))
                   : strdup("");
    if (!h->name || !h->value) {
        free(h->name);
        free(h->value);
        return -1;
    }
    r->n_headers++;
    zbuf_clear(&c->hfield);
    zbuf_clear(&c->hvalue);
    c->in_value = 0;
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    struct http_conn *c = p->data;
    if (count_head(c, len + (c->in_value ? HTTP_HEADER_LINE_OVERHEAD : 0)) != 0)
        return -1;
    if (c->in_value && finish_header(c) != 0)
        return -1;
    return zbuf_append(&c->hfield, at, len) == ZEN_OK ? 0 : -1;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    struct http_conn *c = p->data;
    if (count_head(c, len) != 0)
        return -1;
    c->in_value = 1;
    return zbuf_append(&c->hvalue, at, len) == ZEN_OK ? 0 : -1;
}

/* A request-target with a space or control byte (llhttp lets a TAB
 * through) would reach curl and fail there as a provider's network error. */
static int target_is_clean(const char *t)
{
    for (; *t; t++)
        if ((unsigned char)*t <= 0x20 || (unsigned char)*t == 0x7f)
            return 0;
    return 1;
}

static int on_headers_complete(llhttp_t *p)
{
    struct http_conn *c = p->data;
    if (finish_header(c) != 0)
        return -1;
    struct http_request *r = c->req;
    if (!r->target)
        return -1;
    /* Only HTTP/1.0 and 1.1 are spoken here; llhttp parses "HTTP/2.0" too. */
    if (llhttp_get_http_major(p) != 1 || llhttp_get_http_minor(p) > 1) {
        c->reject_status = 505;
        return -1;
    }
    if (!target_is_clean(r->target)) {
        c->reject_status = 400;
        c->reject_msg = "invalid character (space or control) in the request target";
        return -1;
    }
    snprintf(r->method, sizeof(r->method), "%s", llhttp_method_name(llhttp_get_method(p)));
    r->http_minor = llhttp_get_http_minor(p);
    r->keep_alive = llhttp_should_keep_alive(p);
    r->start_s = ztime_mono_s();
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > c->srv->limits.max_body_bytes) {
        c->reject_status = 413;
        return -1;
    }
    /* A declared length is charged whole, before a byte of it is read. */
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > 0 &&
        body_charge(c, (size_t)p->content_length) != 0) {
        c->reject_status = 503;
        return -1;
    }
    c->body_deadline_s = r->start_s + c->srv->limits.body_total_timeout_s;
    /* Answer Expect: 100-continue at once; curl and some SDKs otherwise
     * wait a second before sending the body. */
    const char *expect = http_request_header(r, "expect");
    int has_body = (p->flags & F_CHUNKED) || ((p->flags & F_CONTENT_LENGTH) && p->content_length);
    if (expect && strcasecmp(expect, "100-continue") == 0 && has_body && r->http_minor >= 1) {
        zbuf_append_str(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
        http_conn_send(c);
    }
    c->state = CONN_BODY;
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    struct http_conn *c = p->data;
    size_t total = zbuf_len(&c->req->body) + len;
    if (total > c->srv->limits.max_body_bytes) {
        c->reject_status = 413;
        return -1;
    }
    /* Chunked bodies are charged as they grow. */
    if (total > c->body_charged && body_charge(c, total - c->body_charged) != 0) {
        c->reject_status = 503;
        return -1;
    }
    return zbuf_append(&c->req->body, at, len) == ZEN_OK ? 0 : -1;
}

static int on_message_complete(llhttp_t *p)
{
    struct http_conn *c = p->data;
    c->message_done = 1;
    /* Pausing here comes before llhttp's own upgrade pause, so the upgrade
     * is noted now: such a connection closes after its response. */
    c->upgrade = llhttp_get_upgrade(p);
    /* Stop here: a pipelined request behind this one waits its turn. */
    return HPE_PAUSED;
}

void http_parse_settings_init(llhttp_settings_t *settings)
{
    llhttp_settings_init(settings);
    settings->on_url = on_url;
    settings->on_header_field = on_header_field;
    settings->on_header_value = on_header_value;
    settings->on_headers_complete = on_headers_complete;
    settings->on_body = on_body;
    settings->on_message_complete = on_message_complete;
}
