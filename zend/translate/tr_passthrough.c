/* tr_passthrough.c -- the only edits a same-format request gets
 * (docs/translate.md, passthrough): zend's own reasoning carriers
 * ("zend1." signatures and encrypted_content) are removed, since the real
 * upstream would reject them, e.g. after a failover from an OpenAI provider
 * to an Anthropic one mid-conversation. A body without them is not touched:
 * the caller forwards it byte-identical. */
#include "tr_emit_int.h"
#include "zjson.h"

#include <string.h>

static int zend_tag(const json_t *s)
{
    const char *v = json_string_value(s);
    return v && strncmp(v, "zend1.", 6) == 0;
}

/* A: removes thinking blocks signed "zend1." (and messages left empty by
 * that); returns how many blocks went. */
static size_t strip_a(json_t *body)
{
    json_t *messages = json_object_get(body, "messages");
    size_t removed = 0;
    for (size_t i = 0; i < json_array_size(messages);) {
        json_t *content = json_object_get(json_array_get(messages, i), "content");
        size_t before = removed;
        for (size_t j = 0; j < json_array_size(content);) {
            json_t *b = json_array_get(content, j);
            const char *type = json_string_value(json_object_get(b, "type"));
            if (type && strcmp(type, "thinking") == 0 &&
                zend_tag(json_object_get(b, "signature"))) {
                json_array_remove(content, j);
                removed++;
            } else {
                j++;
            }
        }
        /* A rejects a message with empty content (a thinking-only turn) */
        if (removed > before && json_array_size(content) == 0)
            json_array_remove(messages, i);
        else
            i++;
    }
    if (removed) {
        const char *type = json_string_value(json_object_get(json_object_get(body, "thinking"),
                                                             "type"));
        int on = type && (strcmp(type, "enabled") == 0 || strcmp(type, "adaptive") == 0);
        if (on && !tr_a_thinking_allowed(messages))
            json_object_del(body, "thinking");
    }
    return removed;
}

/* R: removes input reasoning items whose encrypted_content is zend's. */
static size_t strip_r(json_t *body)
{
    json_t *input = json_object_get(body, "input");
    size_t removed = 0;
    for (size_t i = 0; i < json_array_size(input);) {
        json_t *item = json_array_get(input, i);
        const char *type = json_string_value(json_object_get(item, "type"));
        if (type && strcmp(type, "reasoning") == 0 &&
            zend_tag(json_object_get(item, "encrypted_content"))) {
            json_array_remove(input, i);
            removed++;
        } else {
            i++;
        }
    }
    return removed;
}

int tr_passthrough_tagged(const char *body, size_t len)
{
    /* memchr for the needle's rarest byte, then a compare: glibc's memmem
     * walked a 100 KB conversation at 2 instructions a byte, memchr at a
     * small fraction of that. */
    if (!body || len < 6)
        return 0;
    const char *p = body, *end = body + len;
    while (end - p >= 6 && (p = memchr(p, 'z', (size_t)(end - p - 5))) != NULL) {
        if (memcmp(p, "zend1.", 6) == 0)
            return 1;
        p++;
    }
    return 0;
}

char *tr_passthrough_strip(enum tr_format f, const char *body, size_t len, size_t *out_len)
{
    if (f == TR_FORMAT_C || !body)
        return NULL;
    /* Cheap test first: most bodies carry no tag and are never parsed. */
    if (!tr_passthrough_tagged(body, len))
        return NULL;
    json_t *root = zjson_load(body, len, 0);
    if (!json_is_object(root)) {
        json_decref(root);
        return NULL;
    }
    size_t removed = f == TR_FORMAT_A ? strip_a(root) : strip_r(root);
    char *out = NULL;
    if (removed) {
        /* jansson's default 17 digits: every number keeps its exact value */
        out = json_dumps(root, JSON_COMPACT);
        if (out && out_len)
            *out_len = strlen(out);
    }
    json_decref(root);
    return out;
}
