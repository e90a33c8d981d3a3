/* tr_detect.h -- which format a client speaks and which endpoint it calls,
 * from the path after /<profile>/<session> (docs/translate.md, detection). */
#ifndef ZEND_TR_DETECT_H
#define ZEND_TR_DETECT_H

#include <stddef.h>

#include "tr_types.h"

enum tr_endpoint {
    TR_EP_OTHER,          /* forwarded untouched to any provider */
    TR_EP_MESSAGES,       /* A /v1/messages */
    TR_EP_COUNT_TOKENS,   /* A /v1/messages/count_tokens */
    TR_EP_CHAT,           /* C /chat/completions */
    TR_EP_RESPONSES,      /* R /responses */
    TR_EP_RESPONSES_OTHER,/* R /responses/<id>...: never translated */
    TR_EP_MODELS,         /* GET /models */
};

struct tr_detected {
    enum tr_format format;
    enum tr_endpoint endpoint;
};

/* path: the upstream path (query allowed, ignored); method: "GET", "POST"..;
 * zen_client: the X-Zen-Client header or NULL; anthropic_version: whether an
 * anthropic-version header is present. Rules, in order:
 *   1 ends /responses -> R responses; 2 contains /responses/ -> R other;
 *   3 ends /chat/completions -> C chat; 4 X-Zen-Client: codex -> C chat;
 *   5 ends /messages/count_tokens -> A count_tokens; 6 ends /messages -> A
 *   messages; 7 GET ending /models -> models, A with anthropic-version else C;
 *   8 anything else -> A other. */
void tr_detect(const char *path, const char *method, const char *zen_client,
               int anthropic_version, struct tr_detected *out);

/* The upstream path of a translated request to `wire` for this endpoint:
 * "/v1/messages", "/v1/messages/count_tokens", "/v1/chat/completions",
 * "/v1/responses", "/v1/models"; NULL when the endpoint is never sent
 * translated (other, responses-other, count_tokens to a non-A wire). */
const char *tr_wire_path(enum tr_format wire, enum tr_endpoint ep);

#endif
