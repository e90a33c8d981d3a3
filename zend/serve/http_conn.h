/* http_conn.h -- the HTTP server's connection and server structs, shared by
 * its two files only: http_server.c (connections, output, the response API)
 * and http_parse.c (the llhttp callbacks that build a request, and the
 * server-wide body budget they charge). No other module includes this. */
#ifndef ZEND_HTTP_CONN_H
#define ZEND_HTTP_CONN_H

#include <ev.h>
#include <llhttp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "acceptor.h"
#include "buf.h"
#include "http_server_types.h"

enum conn_state {
    CONN_IDLE,     /* between requests */
    CONN_HEAD,     /* reading a request head */
    CONN_BODY,     /* reading its body */
    CONN_HANDLING, /* handed to the handler; response in progress */
    CONN_CLOSING,  /* flushing output, then lingering, then closed */
};

struct http_conn {
    struct http_server *srv;
    LIST_ENTRY(http_conn) link; /* in http_server.conns, newest first */
    int fd;
    ev_io read_io, write_io;
    ev_timer timer;  /* meaning depends on state: see arm_state_timer */
    ev_timer defer;  /* zero-delay: resume parsing, or finish a dead connection */
    ev_timer eof_probe; /* after EOF: is the client gone or only half-closed? */
    llhttp_t parser;
    zbuf in, out;
    enum conn_state state;
    int fresh;                 /* no request yet on this connection */
    struct http_request *req;
    size_t head_bytes;
    zbuf hfield, hvalue;       /* the header being parsed (may arrive in pieces) */
    int in_value;
    int reject_status;         /* set by a parser callback: answer this and close */
    const char *reject_msg;    /* its message when the status alone says too little */
    int message_done;
    int upgrade;
    /* response */
    int handler_active;
    void *handler_data;
    int resp_started;
    int resp_chunked;
    int resp_no_body;          /* 1xx, 204, 304: body writes are dropped */
    int resp_keep_alive;
    int corked;                /* a head waits in out for its body (http_server.corked) */
    LIST_ENTRY(http_conn) corked_link;
    uint64_t resp_bytes;
    int want_writable;
    int dead;                  /* client gone; finish from the loop */
    int peer_eof;              /* the client half-closed: answer what it sent, then close */
    int eof_probed;            /* the interim response that tells closed from half-closed went out */
    int eof_checks;
    size_t linger_bytes;
    /* this request's share of the server's body budget (body_charge) */
    size_t body_charged;
    double body_deadline_s;    /* monotonic: the whole body is due by then */
};

struct http_server {
    struct ev_loop *loop;
    int listen_fd;
    struct http_limits limits;
    struct http_callbacks cb;
    void *ctx;
    struct acceptor acceptor;
    LIST_HEAD(, http_conn) conns;
    size_t nconns;
    int draining;
    llhttp_settings_t settings;
    /* Connections whose response head waits for its body, so both leave in
     * one send; the prepare watcher sends what is still waiting before the
     * loop blocks again (a head is never held past the loop iteration). */
    LIST_HEAD(, http_conn) corked;
    ev_prepare uncork;
    size_t body_bytes_held;    /* sum of every connection's body_charged */
};

/* ---- http_parse.c ---- */

/* Points the llhttp callbacks at the request parser; p->data is the conn. */
void http_parse_settings_init(llhttp_settings_t *settings);
/* Frees a request and everything it owns; NULL is fine. */
void http_request_free(struct http_request *r);
/* Gives back the request's share of the server's body budget (request freed,
 * or refused and discarded). */
void http_body_release(struct http_conn *c);

/* ---- http_server.c ---- */

/* Sends what is queued in c->out now, and waits for writability if needed. */
void http_conn_send(struct http_conn *c);

#endif
