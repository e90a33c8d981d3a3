/* tr_chunk_scan.h -- the usual Chat stream chunk, read without a tree.
 *
 * Nearly every chunk of a Chat stream is a text (or reasoning) delta, an
 * empty delta with a finish_reason, or both, and decoder C only needs a
 * handful of bytes out of it. Building a jansson tree for each one was most
 * of what a translated stream cost (about 40 allocations per chunk), so this
 * scanner walks the chunk with the allocation-free JSON reader (zjson.h)
 * instead and hands the facts decoder C reads. It takes a chunk only when
 * those facts are all decoder C would use from its tree; anything else
 * (an error, tool calls, a refusal, escaped keys, a duplicate key among the
 * ones read, a delta that is not an object, a token count that is not a
 * plain integer ...) is refused, and the caller builds the tree as before. tests/unit/
 * test_tr_chunk_scan.c and the fuzz_tr_chunk harness hold the two paths to
 * the same events. */
#ifndef ZEND_TR_CHUNK_SCAN_H
#define ZEND_TR_CHUNK_SCAN_H

#include <stddef.h>

#include "tr_types.h"

/* A string as it stands in the chunk: its bytes, and whether any is an
 * escape (then zjson_reader_unescape gives the value). NULL when absent,
 * empty or not a string. */
struct tr_chunk_str {
    const char *s;
    size_t len;
    int escaped;
};

/* Longest finish_reason the scanner takes (longer ones go to the tree). */
#define TR_CHUNK_FINISH_MAX 63

struct tr_chunk {
    struct tr_chunk_str id, model; /* as tr_dec_start takes them */
    int has_usage;                 /* a usage object, read as tr_dec_usage_c reads it */
    struct tr_usage usage;
    int has_choice;                /* choices holds the one a client sees (index 0 or none) */
    struct tr_chunk_str reasoning; /* its delta's reasoning_content, else reasoning */
    struct tr_chunk_str content;   /* its delta's content */
    char finish[TR_CHUNK_FINISH_MAX + 1]; /* its finish_reason, "" when none */
};

/* Reads the chunk data[0, len): 1 when it is one JSON object decoder C would
 * read as exactly *c says (no error; the chosen choice has an object delta
 * with no refusal and no tool calls), 0 when the caller must build the
 * tree. Never allocates; c's strings point into data. */
int tr_chunk_scan(const char *data, size_t len, struct tr_chunk *c);

/* The last chunk taken, for the next one. A stream's chunks mostly differ
 * from each other in one string, the delta's text: the rest (id, model,
 * created, the choice's keys ...) is the same bytes every time. A chunk
 * that is the remembered one with only that string token replaced by
 * another valid, non-empty string token is read as the same chunk with
 * another text: the same grammar around a token of the same kind, the same
 * keys, so the same facts but the text. Its bytes are checked, not the
 * rest again. */
struct tr_chunk_memo {
    char *buf;             /* the chunk (NULL: nothing remembered) */
    size_t len, cap;
    size_t tok, tok_end;   /* its varying string token, quotes included */
    int tok_is_content;    /* the token is the text (else the reasoning) */
    struct tr_chunk c;     /* its facts, pointing into buf */
};

/* tr_chunk_scan through the memo: the same answer and facts, whichever way
 * they were found. The memo only ever allocates to hold a larger chunk. */
int tr_chunk_scan_memo(struct tr_chunk_memo *m, const char *data, size_t len, struct tr_chunk *c);
void tr_chunk_memo_fini(struct tr_chunk_memo *m);

#endif
