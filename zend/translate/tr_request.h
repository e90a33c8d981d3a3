/* tr_request.h -- request translation (docs/translate.md, requests):
 * three parsers (A, C, R -> IR) and three emitters (IR -> A, C, R).
 *
 * The canonical request (IR) is a jansson object in the fixed shape below.
 * It is JSON rather than a tree of C structs because every input and output
 * is JSON anyway: the parsers and emitters are allow-lists that move values
 * between documents, and a test can write an IR as a literal. Parsers build
 * exactly this shape and nothing else; emitters read only this shape.
 *
 *   { "source":  "A"|"C"|"R",          the client format it was parsed from
 *     "model":   string,
 *     "system":  [ {"text": s, "cache_control"?: object} ],
 *     "messages":[ {"role": "user"|"assistant", "parts": [part, ...]} ],
 *     "tools":   [ tool, ... ],
 *     "tool_choice"?: {"mode": "auto"|"any"|"none"|"tool", "name"?: s},
 *     "parallel"?: bool,               absent = unset
 *     "max_tokens"?: int, "temperature"?: real, "top_p"?: real, "top_k"?: int,
 *     "stop"?: [s, ...],
 *     "stream": bool,
 *     "include_usage"?: bool,          C: stream_options.include_usage
 *     "user"?: s,
 *     "reasoning": {"mode": "off"|"budget"|"effort"|"adaptive",
 *                   "budget"?: int, "effort"?: s},
 *     "response_format"?: {"type": "text"|"json_object"}
 *                       | {"type": "json_schema", "name": s, "schema": object, "strict"?: bool},
 *     "n"?: int,                       C `n` as sent (checked against the wire)
 *     "stateful"?: s }                 R: the name of the field that needs server state
 *                                      ("previous_response_id", "conversation", "background")
 *
 *   part:
 *     {"type":"text", "text": s, "cache_control"?: object}
 *     {"type":"image", "source":"base64", "media_type": s, "data": s, "cache_control"?}
 *     {"type":"image", "source":"url", "url": s}
 *     {"type":"image", "source":"file", "file_id": s, "family": "A"|"R"}
 *     {"type":"document", "source":"pdf", "data": s (base64), "title"?: s}
 *     {"type":"document", "source":"text", "data": s, "title"?: s}
 *     {"type":"document", "source":"url", "url": s, "title"?: s}
 *     {"type":"thinking", "text": s, "signature": s, "origin": "A"|"C"|"R"}
 *         origin R: signature is the reasoning item's encrypted_content ("" if none)
 *     {"type":"redacted", "data": s}
 *     {"type":"tool_call", "id": s, "name": s, "args": s (a JSON text), "custom"?: true}
 *         custom: an R custom_tool_call; args is then {"input": <its input>}
 *     {"type":"tool_result", "call_id": s, "content": [text or image parts],
 *      "is_error"?: true, "custom"?: true}
 *
 *   tool:
 *     {"name": s, "description"?: s, "schema": object, "strict"?: bool,
 *      "kind": "function"|"custom", "format"?: object (R custom tool format),
 *      "cache_control"?: object}
 *
 * The parsers apply the parse rules (system hoisting, R item grouping, C
 * tool messages -> tool_result parts in a user message, data URLs,
 * refusals as text ...); the emitters apply the emit rules (structure,
 * sanitised ids, shortened names, reasoning carriers, limits, allow-list).
 * Both ignore what the shape above does not hold. */
#ifndef ZEND_TR_REQUEST_H
#define ZEND_TR_REQUEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "tr_types.h"

/* Parses a client body of format f into a new IR. Refuses (NULL, err set to
 * a message fit for the client's 400) a body that is not a JSON object, or
 * whose `messages` (A, C) / `input` (R) is missing or of the wrong type, or
 * an R `item_reference` (zend keeps no output items yet: the message names
 * the id and the fix, `"store": false`). */
json_t *tr_request_parse(enum tr_format f, const char *body, size_t len, char *err,
                         size_t errlen);
/* The same from a body already parsed (doc is only read). */
json_t *tr_request_parse_doc(enum tr_format f, const json_t *doc, char *err, size_t errlen);

/* Checks an IR against the wire it is about to be emitted for. Returns 0, or
 * -1 with err set (a 400 in the client's format, and no upstream call):
 * n > 1 towards A or R; a stateful R request towards A or C. */
int tr_request_check(const json_t *ir, enum tr_format wire, char *err, size_t errlen);

/* Per-provider emit settings (docs/config.md, provider keys). */
struct tr_emit_opts {
    int max_tokens_legacy;       /* C: send `max_tokens`, not `max_completion_tokens` */
    int64_t default_max_tokens;  /* A: max_tokens when the client gave none (0: 32000) */
    int thinking_adaptive;       /* A: thinking {type: adaptive} + output_config.effort */
    int drop_sampling;           /* A: never send temperature, top_p, top_k */
};

/* Emits the IR as a body for `wire` (a malloc'd compact JSON text, *len set)
 * and records in ctx what the answer needs: shortened tool names, custom
 * tools, the model. The model emitted is the IR's (mapping happened before
 * parsing). Returns NULL only when out of memory. */
char *tr_request_emit(const json_t *ir, enum tr_format wire, const struct tr_emit_opts *o,
                      struct tr_ctx *ctx, size_t *len);

/* Passthrough edits (same format both sides). A: removes thinking blocks
 * whose signature starts "zend1." and then applies the thinking-with-tools
 * rule; R: removes input `reasoning` items whose encrypted_content starts
 * "zend1.". Returns NULL when the body needs no edit (it is then forwarded
 * byte-identical) or is not JSON; else a malloc'd body with *out_len set. */
char *tr_passthrough_strip(enum tr_format f, const char *body, size_t len, size_t *out_len);
/* Does the body hold "zend1." anywhere (the cheap test before any edit)? */
int tr_passthrough_tagged(const char *body, size_t len);

/* The local count_tokens estimate of an IR (docs/translate.md, count_tokens):
 * ceil(B/4) + 1600 per image + 1600 per document + 4 per message + 8. */
int64_t tr_count_tokens_estimate(const json_t *ir);

/* Does the IR ask for reasoning (A thinking on, or an effort other than
 * none/minimal)? Selects the reasoning_model tier. */
int tr_request_wants_reasoning(const json_t *ir);

/* Is ir exactly of the shape above (every member's type, enum strings, part
 * types, no other member)? Returns 1, or 0 with err naming the first
 * offending member ("messages[1].parts[0].text: wrong type"). For tests and
 * the fuzzer: a parse result always passes (tr_ir_check.c). */
int tr_ir_valid(const json_t *ir, char *err, size_t errlen);

#endif
