#include "tr_ctx.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void tr_ctx_init(struct tr_ctx *c, enum tr_format client, enum tr_format wire)
{
    memset(c, 0, sizeof(*c));
    c->client = client;
    c->wire = wire;
}

void tr_ctx_reset_attempt(struct tr_ctx *c)
{
    for (size_t i = 0; i < c->n_names; i++) {
        free(c->names[i].wire);
        free(c->names[i].client);
    }
    free(c->names);
    c->names = NULL;
    c->n_names = 0;
    for (size_t i = 0; i < c->n_custom_tools; i++)
        free(c->custom_tools[i]);
    free(c->custom_tools);
    c->custom_tools = NULL;
    c->n_custom_tools = 0;
    free(c->model);
    c->model = NULL;
}

void tr_ctx_fini(struct tr_ctx *c)
{
    tr_ctx_reset_attempt(c);
}

int tr_ctx_add_name(struct tr_ctx *c, const char *wire, const char *client)
{
    struct tr_name_pair *v = realloc(c->names, (c->n_names + 1) * sizeof(*v));
    if (!v)
        return -1;
    c->names = v;
    char *w = strdup(wire), *cl = strdup(client);
    if (!w || !cl) {
        free(w);
        free(cl);
        return -1;
    }
    v[c->n_names++] = (struct tr_name_pair){w, cl};
    return 0;
}

const char *tr_ctx_client_name(const struct tr_ctx *c, const char *wire, size_t wire_len,
                               size_t *out_len)
{
    for (size_t i = 0; i < c->n_names; i++) {
        const char *w = c->names[i].wire;
        if (strlen(w) == wire_len && memcmp(w, wire, wire_len) == 0) {
            *out_len = strlen(c->names[i].client);
            return c->names[i].client;
        }
    }
    *out_len = wire_len;
    return wire;
}

int tr_ctx_add_custom_tool(struct tr_ctx *c, const char *client_name)
{
    char **v = realloc(c->custom_tools, (c->n_custom_tools + 1) * sizeof(*v));
    if (!v)
        return -1;
    c->custom_tools = v;
    if (!(v[c->n_custom_tools] = strdup(client_name)))
        return -1;
    c->n_custom_tools++;
    return 0;
}

int tr_ctx_is_custom(const struct tr_ctx *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->n_custom_tools; i++)
        if (strlen(c->custom_tools[i]) == len && memcmp(c->custom_tools[i], name, len) == 0)
            return 1;
    return 0;
}

const char *tr_format_name(enum tr_format f)
{
    switch (f) {
    case TR_FORMAT_A: return "anthropic";
    case TR_FORMAT_C: return "chat";
    case TR_FORMAT_R: return "responses";
    }
    return "?";
}

/* ---- error classes ---- */

enum tr_err_class tr_err_class_from_status(int status)
{
    switch (status) {
    case 401: return TR_ERR_AUTHENTICATION;
    case 402: return TR_ERR_BILLING;
    case 403: return TR_ERR_PERMISSION;
    case 404: return TR_ERR_NOT_FOUND;
    case 408: case 504: return TR_ERR_TIMEOUT;
    case 413: return TR_ERR_TOO_LARGE;
    case 429: return TR_ERR_RATE_LIMIT;
    case 529: return TR_ERR_OVERLOADED;
    default: return status >= 400 && status < 500 ? TR_ERR_INVALID_REQUEST : TR_ERR_API;
    }
}

/* Every type either family uses, and its class. */
static const struct {
    const char *type;
    enum tr_err_class cls;
    char family; /* 'A' Anthropic, 'O' OpenAI, 'B' both */
} known_types[] = {
    {"invalid_request_error", TR_ERR_INVALID_REQUEST, 'B'},
    {"authentication_error", TR_ERR_AUTHENTICATION, 'A'},
    {"invalid_api_key", TR_ERR_AUTHENTICATION, 'O'},
    {"billing_error", TR_ERR_BILLING, 'A'},
    {"insufficient_quota", TR_ERR_BILLING, 'O'},
    {"permission_error", TR_ERR_PERMISSION, 'B'},
    {"not_found_error", TR_ERR_NOT_FOUND, 'B'},
    {"model_not_found", TR_ERR_NOT_FOUND, 'O'},
    {"timeout_error", TR_ERR_TIMEOUT, 'A'},
    {"timeout", TR_ERR_TIMEOUT, 'O'},
    {"request_too_large", TR_ERR_TOO_LARGE, 'A'},
    {"rate_limit_error", TR_ERR_RATE_LIMIT, 'B'},
    {"rate_limit_exceeded", TR_ERR_RATE_LIMIT, 'O'},
    {"overloaded_error", TR_ERR_OVERLOADED, 'A'},
    {"server_is_overloaded", TR_ERR_OVERLOADED, 'O'},
    {"api_error", TR_ERR_API, 'A'},
    {"server_error", TR_ERR_API, 'O'},
};
#define N_KNOWN_TYPES (sizeof(known_types) / sizeof(known_types[0]))

enum tr_err_class tr_err_class_from_type(const char *type, enum tr_err_class fallback)
{
    if (!type)
        return fallback;
    for (size_t i = 0; i < N_KNOWN_TYPES; i++)
        if (strcasecmp(type, known_types[i].type) == 0)
            return known_types[i].cls;
    return fallback;
}

int tr_err_type_in_family(const char *type, enum tr_format f)
{
    if (!type)
        return 0;
    char want = f == TR_FORMAT_A ? 'A' : 'O';
    for (size_t i = 0; i < N_KNOWN_TYPES; i++)
        if (strcmp(type, known_types[i].type) == 0)
            return known_types[i].family == 'B' || known_types[i].family == want;
    return 0;
}

const char *tr_err_class_a_type(enum tr_err_class c)
{
    switch (c) {
    case TR_ERR_INVALID_REQUEST: return "invalid_request_error";
    case TR_ERR_AUTHENTICATION: return "authentication_error";
    case TR_ERR_BILLING: return "billing_error";
    case TR_ERR_PERMISSION: return "permission_error";
    case TR_ERR_NOT_FOUND: return "not_found_error";
    case TR_ERR_TIMEOUT: return "timeout_error";
    case TR_ERR_TOO_LARGE: return "request_too_large";
    case TR_ERR_RATE_LIMIT: return "rate_limit_error";
    case TR_ERR_OVERLOADED: return "overloaded_error";
    case TR_ERR_API: return "api_error";
    }
    return "api_error";
}

const char *tr_err_class_c_type(enum tr_err_class c)
{
    switch (c) {
    case TR_ERR_INVALID_REQUEST: return "invalid_request_error";
    case TR_ERR_AUTHENTICATION: return "invalid_request_error";
    case TR_ERR_BILLING: return "insufficient_quota";
    case TR_ERR_PERMISSION: return "permission_error";
    case TR_ERR_NOT_FOUND: return "not_found_error";
    case TR_ERR_TIMEOUT: return "timeout";
    case TR_ERR_TOO_LARGE: return "invalid_request_error";
    case TR_ERR_RATE_LIMIT: return "rate_limit_error";
    case TR_ERR_OVERLOADED: return "server_error";
    case TR_ERR_API: return "server_error";
    }
    return "server_error";
}

const char *tr_err_class_c_code(enum tr_err_class c)
{
    switch (c) {
    case TR_ERR_AUTHENTICATION: return "invalid_api_key";
    case TR_ERR_BILLING: return "insufficient_quota";
    case TR_ERR_RATE_LIMIT: return "rate_limit_exceeded";
    case TR_ERR_OVERLOADED: return "server_is_overloaded";
    default: return NULL;
    }
}
