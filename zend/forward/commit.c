/* commit.c -- the commit point of a passthrough answer. See commit.h. */
#include "commit.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "forward_headers.h"
#include "tr_decode.h"
#include "zjson.h"

static void on_event(void *ud, const struct tr_event *ev)
{
    struct commit_watch *w = ud;
    switch (ev->kind) {
    case TR_EV_OPEN:
        w->content = 1;
        break;
    case TR_EV_FINISH:
        w->finished = 1;
        break;
    case TR_EV_ERROR:
        w->failed = 1;
        w->err_class = ev->err_class;
        snprintf(w->err_msg, sizeof(w->err_msg), "%.*s", (int)ev->text_len,
                 ev->text ? ev->text : "");
        break;
    default:
        break;
    }
}

int commit_watch_init(struct commit_watch *w, enum tr_format wire)
{
    memset(w, 0, sizeof(*w));
    w->dec = tr_decoder_new(wire, 1, on_event, w);
    return w->dec ? 0 : -1;
}

/* What the events so far mean. A failure wins over content seen in the
 * same bytes: nothing has reached the client yet, so the next provider may
 * still serve it whole. */
static enum commit_verdict verdict(const struct commit_watch *w, size_t held)
{
    if (w->failed)
        return COMMIT_FAILED;
    if (w->content || w->finished || held > COMMIT_HOLD_MAX)
        return COMMIT_NOW;
    return COMMIT_HOLD;
}

enum commit_verdict commit_watch_feed(struct commit_watch *w, const char *data, size_t len,
                                      size_t held)
{
    if (!w->failed && !w->finished)
        tr_decoder_feed(w->dec, data, len);
    return verdict(w, held);
}

enum commit_verdict commit_watch_end(struct commit_watch *w, int transport_ok, const char *why)
{
    if (!tr_decoder_done(w->dec))
        tr_decoder_end(w->dec, transport_ok, why);
    /* The decoder ended with FINISH or ERROR: never still holding. */
    return w->failed ? COMMIT_FAILED : COMMIT_NOW;
}

void commit_watch_fini(struct commit_watch *w)
{
    tr_decoder_free(w->dec);
    w->dec = NULL;
}

/* application/json, application/problem+json ... (parameters allowed). */
static int is_json_type(const char *ctype)
{
    if (!ctype)
        return 0;
    size_t n = strcspn(ctype, ";");
    while (n > 0 && (ctype[n - 1] == ' ' || ctype[n - 1] == '\t'))
        n--;
    if (n == 16 && strncasecmp(ctype, "application/json", 16) == 0)
        return 1;
    return n > 5 && strncasecmp(ctype, "application/", 12) == 0 &&
           strncasecmp(ctype + n - 5, "+json", 5) == 0;
}

int commit_json_held(int status, const char *method, const struct http_header *h, size_t n)
{
    if (status < 200 || status >= 300 || status == 204 || status == 205)
        return 0;
    if (!method || strcmp(method, "HEAD") == 0)
        return 0;
    if (!is_json_type(fwdh_find(h, n, "content-type")))
        return 0;
    /* An error object is small: a big answer is relayed as it comes. */
    const char *clen = fwdh_find(h, n, "content-length");
    return !clen || strtoull(clen, NULL, 10) <= COMMIT_HOLD_MAX;
}

int commit_json_is_error(const char *body, size_t len)
{
    /* An answer that never says "error" is not one, and that is nearly every
     * answer: only those that do are parsed (a key spelled with \u escapes is
     * not looked for). Parsing every answer cost more than the rest of a
     * passthrough request's own work. */
    if (!body || len == 0 || !memmem(body, len, "\"error\"", 7))
        return 0;
    json_t *doc = zjson_load(body, len, 0);
    int error = json_is_object(json_object_get(doc, "error")) &&
                !json_object_get(doc, "content") && !json_object_get(doc, "choices") &&
                !json_object_get(doc, "output");
    json_decref(doc);
    return error;
}
