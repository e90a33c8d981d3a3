/* sessions.c -- `zenctl sessions`: what zend remembers of each conversation
 * (docs/routing.md, "Sessions"): the provider that served its last turn
 * (session affinity), its last scenario, requests, tokens and idle time. */
#include <stdio.h>

#include "client.h"
#include "commands.h"
#include "common.h"
#include "methods.h"
#include "view.h"

int zc_cmd_sessions(struct zc_ctx *ctx)
{
    json_t *res;
    int rc = zc_call_for_view(ctx, RPC_SESSIONS, &res);
    if (rc != ZEN_EXIT_OK || !res)
        return rc; /* a failure, or -o json already printed */
    static const char *const head[] = {"PROFILE", "SESSION", "REQUESTS", "SCENARIO",
                                       "PROVIDER", "INPUT TOKENS", "IDLE"};
    struct zv_table t;
    /* REQUESTS (2), INPUT TOKENS (5) and IDLE (6) are numbers: right-aligned. */
    zv_table_init(&t, (int)ZEN_ARRAY_LEN(head), 0x64u);
    for (size_t i = 0; i < ZEN_ARRAY_LEN(head); i++)
        zv_table_cell(&t, NULL, "%s", head[i]);
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(res, "sessions"), i, s) {
        char idle[32];
        zv_duration(zv_num(s, "idle_s"), idle, sizeof(idle));
        zv_table_cell(&t, NULL, "%s", zv_str(s, "profile", "?"));
        zv_table_cell(&t, NULL, "%s", zv_str(s, "session", "?"));
        zv_table_cell(&t, NULL, "%lld", zv_int(s, "requests"));
        zv_table_cell(&t, NULL, "%s", zv_str(s, "scenario", "-"));
        zv_table_cell(&t, NULL, "%s", zv_str(s, "provider", "-"));
        zv_table_cell(&t, NULL, "%lld", zv_int(s, "input_tokens"));
        zv_table_cell(&t, NULL, "%s", idle);
    }
    zv_table_print(&t, stdout, ctx->color);
    zv_table_free(&t);
    json_decref(res);
    return ZEN_EXIT_OK;
}
