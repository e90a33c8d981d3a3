/* tr_detect.c -- the client's format and endpoint from the request path
 * (docs/translate.md, detection). */
#include "tr_detect.h"

#include <string.h>
#include <strings.h>

/* Does path[0..len) end with suffix? */
static int ends_with(const char *path, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(path + len - n, suffix, n) == 0;
}

static int contains(const char *path, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(path + i, needle, n) == 0)
            return 1;
    return 0;
}

void tr_detect(const char *path, const char *method, const char *zen_client,
               int anthropic_version, struct tr_detected *out)
{
    if (!path)
        path = "";
    /* The query never decides the format (Claude Code adds ?beta=true). */
    size_t len = strcspn(path, "?");
    /* Rule 4 is GoZen's: its Codex launcher marks requests with the
     * header, and the header beats the Anthropic paths below it. */
    int codex = zen_client && strcasecmp(zen_client, "codex") == 0;

    if (ends_with(path, len, "/responses"))
        *out = (struct tr_detected){TR_FORMAT_R, TR_EP_RESPONSES};
    else if (contains(path, len, "/responses/"))
        *out = (struct tr_detected){TR_FORMAT_R, TR_EP_RESPONSES_OTHER};
    else if (ends_with(path, len, "/chat/completions") || codex)
        *out = (struct tr_detected){TR_FORMAT_C, TR_EP_CHAT};
    else if (ends_with(path, len, "/messages/count_tokens"))
        *out = (struct tr_detected){TR_FORMAT_A, TR_EP_COUNT_TOKENS};
    else if (ends_with(path, len, "/messages"))
        *out = (struct tr_detected){TR_FORMAT_A, TR_EP_MESSAGES};
    else if (ends_with(path, len, "/models") && method && strcmp(method, "GET") == 0)
        *out = (struct tr_detected){anthropic_version ? TR_FORMAT_A : TR_FORMAT_C,
                                    TR_EP_MODELS};
    else
        *out = (struct tr_detected){TR_FORMAT_A, TR_EP_OTHER};
}

const char *tr_wire_path(enum tr_format wire, enum tr_endpoint ep)
{
    switch (ep) {
    case TR_EP_MESSAGES:
    case TR_EP_CHAT:
    case TR_EP_RESPONSES:
        switch (wire) {
        case TR_FORMAT_A: return "/v1/messages";
        case TR_FORMAT_C: return "/v1/chat/completions";
        case TR_FORMAT_R: return "/v1/responses";
        }
        return NULL;
    case TR_EP_COUNT_TOKENS:
        /* Only Anthropic counts tokens; other wires get zend's estimate. */
        return wire == TR_FORMAT_A ? "/v1/messages/count_tokens" : NULL;
    case TR_EP_MODELS:
        return "/v1/models";
    case TR_EP_OTHER:
    case TR_EP_RESPONSES_OTHER:
        return NULL; /* never translated: the path goes upstream as it came */
    }
    return NULL;
}
