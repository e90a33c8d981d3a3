/* tr_count.c -- the local count_tokens estimate of an IR (docs/translate.md,
 * count_tokens): deterministic and tokenizer-free, bytes/4 plus flat costs
 * for attachments, messages and the request envelope. */
#include <stdlib.h>
#include <string.h>

#include "tr_request.h"
#include "zjson.h"

#define TR_COUNT_ATTACHMENT 1600  /* per image or document */
#define TR_COUNT_PER_MESSAGE 4
#define TR_COUNT_BASE 8

struct tally {
    uint64_t bytes;
    int64_t attachments;
};

static void add_str(struct tally *t, const json_t *s)
{
    t->bytes += json_string_length(s);
}

/* The compact JSON of v (a schema, tool input): its bytes. */
static void add_compact(struct tally *t, const json_t *v)
{
    if (!v)
        return;
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s)
        t->bytes += strlen(s);
    free(s);
}

/* A tool_call's args is a JSON text as the client sent it: counted in its
 * compact form, or as it is when it does not parse. */
static void add_args(struct tally *t, const json_t *args)
{
    json_t *v = zjson_load(json_string_value(args) ? json_string_value(args) : "",
                           json_string_length(args), ZJSON_DECODE_ANY);
    if (v)
        add_compact(t, v);
    else
        add_str(t, args);
    json_decref(v);
}

static void add_part(struct tally *t, const json_t *p)
{
    const char *type = json_string_value(json_object_get(p, "type"));
    if (!type)
        return;
    if (!strcmp(type, "text") || !strcmp(type, "thinking")) {
        add_str(t, json_object_get(p, "text"));
    } else if (!strcmp(type, "image") || !strcmp(type, "document")) {
        t->attachments++;
    } else if (!strcmp(type, "tool_call")) {
        add_str(t, json_object_get(p, "name"));
        add_args(t, json_object_get(p, "args"));
    } else if (!strcmp(type, "tool_result")) {
        size_t i;
        const json_t *c;
        json_array_foreach(json_object_get(p, "content"), i, c)
            add_part(t, c);
    }
}

int64_t tr_count_tokens_estimate(const json_t *ir)
{
    struct tally t = {0, 0};
    size_t i, k;
    const json_t *v, *p;
    json_array_foreach(json_object_get(ir, "system"), i, v)
        add_str(&t, json_object_get(v, "text"));
    const json_t *msgs = json_object_get(ir, "messages");
    json_array_foreach(msgs, i, v) {
        json_array_foreach(json_object_get(v, "parts"), k, p)
            add_part(&t, p);
    }
    json_array_foreach(json_object_get(ir, "tools"), i, v) {
        add_str(&t, json_object_get(v, "name"));
        add_str(&t, json_object_get(v, "description"));
        add_compact(&t, json_object_get(v, "schema"));
    }
    return (int64_t)((t.bytes + 3) / 4) + TR_COUNT_ATTACHMENT * t.attachments +
           TR_COUNT_PER_MESSAGE * (int64_t)json_array_size(msgs) + TR_COUNT_BASE;
}
