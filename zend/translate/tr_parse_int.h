/* tr_parse_int.h -- private to the request parsers (tr_parse*.c): the
 * builder that grows an IR (tr_request.h) and the part constructors every
 * format shares, so the three parsers produce one shape by construction.
 *
 * Conventions: every constructor returns a new reference, or NULL when the
 * value would be empty or the input does not fit (the caller then drops it:
 * unknown or malformed parts are dropped, never fatal). Getters borrow. */
#ifndef ZEND_TR_PARSE_INT_H
#define ZEND_TR_PARSE_INT_H

#include <jansson.h>
#include <stddef.h>

/* What kind of message the last one in the IR is, so that parts arriving
 * later can join it (R item grouping, consecutive tool outputs). */
enum trp_kind {
    TRP_NONE,
    TRP_USER,        /* a user turn: never merged with the next */
    TRP_ASSISTANT,   /* an assistant turn */
    TRP_TOOLS,       /* a user message made of tool results */
};

struct trp {
    json_t *ir;            /* owned until trp_finish hands it over */
    json_t *system;        /* borrowed: ir.system */
    json_t *messages;      /* borrowed: ir.messages */
    json_t *tools;         /* borrowed: ir.tools */
    enum trp_kind last;    /* the kind of messages[-1] */
    char *err;
    size_t errlen;
};

/* A fresh IR with its fixed members (source, model from body, empty
 * system/messages/tools, stream, reasoning off). */
void trp_init(struct trp *b, const char *source, const json_t *body, char *err, size_t errlen);
/* Drops tool_choice and parallel when no tool is left, returns the IR. */
json_t *trp_finish(struct trp *b);
/* Sets err (printf-style), frees the IR, returns NULL. */
json_t *trp_fail(struct trp *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends the parts (stolen) as a message of `kind`. With merge, they join
 * the last message when it is of the same kind. Nothing happens for an
 * empty array. */
void trp_push(struct trp *b, enum trp_kind kind, int merge, json_t *parts);
/* Appends one system text part (dropped when empty). */
void trp_system(struct trp *b, const char *text, const json_t *cache_control);
/* A string or an array of text-like parts (`type` one of text_types, a
 * NULL-terminated list) into system parts. */
void trp_system_content(struct trp *b, const json_t *content, const char *const *text_types);

/* ---- getters (borrowed; NULL / default when absent or of another type) ---- */
const char *trp_str(const json_t *o, const char *key);
const json_t *trp_obj(const json_t *o, const char *key);
const json_t *trp_arr(const json_t *o, const char *key);
int trp_type_is(const json_t *o, const char *type);

/* ---- parts ---- */
/* A message's content: a string (one text part) or an array whose
 * elements `part` turns into parts (NULL: dropped). A new array. */
json_t *trp_content(const json_t *content, json_t *(*part)(const json_t *));
/* Appends p (stolen, may be NULL) to arr. */
void trp_add(json_t *arr, json_t *p);
json_t *trp_text(const char *text, const json_t *cache_control);
/* A URL that may be a data URL `data:<mt>;base64,<data>` (base64 image)
 * or anything else (url image). */
json_t *trp_image_url(const char *url, const json_t *cache_control);
json_t *trp_image_b64(const char *media_type, const char *data, const json_t *cache_control);
json_t *trp_image_file(const char *file_id, const char *family);
/* A PDF data URL as a document part; NULL for anything else. */
json_t *trp_pdf_data_url(const char *url, const char *title);
json_t *trp_document(const char *source, const char *key, const char *value, const char *title);
/* "[file omitted: <id>]": a file id that cannot cross families. */
json_t *trp_file_omitted(const char *file_id);
json_t *trp_thinking(const char *text, const char *signature, const char *origin);
json_t *trp_redacted(const char *data);
/* args: a JSON text kept as sent ("{}" when NULL). */
json_t *trp_tool_call(const char *id, const char *name, const char *args, int custom);
/* A custom tool call: args = {"input": input}. */
json_t *trp_custom_call(const char *id, const char *name, const json_t *input);
/* content: stolen array of text/image parts. */
json_t *trp_tool_result(const char *call_id, json_t *content, int is_error, int custom);

/* ---- tools and parameters ---- */
/* Appends a tool; schema may be NULL (the default object schema) and is
 * copied, with "type":"object" added when it has no type. */
void trp_tool(struct trp *b, const char *name, const char *description, const json_t *schema,
              const json_t *strict, const char *kind, const json_t *format,
              const json_t *cache_control);
/* The schema every custom tool shows a function-only wire: {"input": string}. */
json_t *trp_custom_schema(void);
void trp_tool_choice(struct trp *b, const char *mode, const char *name);
/* C/R string choices "auto" | "required" | "none". Returns 0 if recognised. */
int trp_tool_choice_word(struct trp *b, const char *word);
/* Copy body[key] into ir[as] when it has the right type; numbers into
 * reals for trp_copy_real. */
void trp_copy_int(struct trp *b, const json_t *body, const char *key, const char *as);
void trp_copy_real(struct trp *b, const json_t *body, const char *key, const char *as);
void trp_copy_bool(struct trp *b, const json_t *body, const char *key, const char *as);
void trp_copy_str(struct trp *b, const json_t *body, const char *key, const char *as);
/* A stop_sequences / C stop: a string or an array of strings. */
void trp_stop(struct trp *b, const json_t *stop);
/* C reasoning_effort / R reasoning.effort: "none" is off. */
void trp_effort(struct trp *b, const json_t *effort);
/* The flattened response_format (type text | json_object | json_schema). */
void trp_response_format(struct trp *b, const char *type, const json_t *schema_holder);

#endif
