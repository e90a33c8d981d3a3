/* zjson.h -- a fast JSON reader and writer for jansson values.
 *
 * jansson's own reader pulls its input one byte at a time through a callback
 * and copies every token into a growing buffer before it looks at it; on the
 * translated path that was a third of all the work a request costs. This
 * reader walks the buffer directly (runs of plain string bytes are scanned,
 * not copied byte by byte) and builds exactly the value json_loadb builds:
 * same accepted texts, same rejected ones, same values, same key order.
 * tests/unit/test_zjson.c and the fuzz_zjson harness hold it to that,
 * against json_loadb itself.
 *
 * The rules it shares with jansson 2.14: RFC 8259 grammar; whitespace is
 * space, tab, LF, CR; strings must be valid UTF-8 (no overlongs, no encoded
 * surrogates, nothing above U+10FFFF) with no raw control characters; a
 * \uD800-\uDBFF escape needs a \uDC00-\uDFFF escape right after it; an
 * object key may not hold U+0000, and a string value only with
 * ZJSON_ALLOW_NUL; a later duplicate key replaces the earlier value in the
 * earlier place; an integer outside long long and a real outside double are
 * errors; values nest at most JSON_PARSER_MAX_DEPTH deep (2048; a scalar
 * counts one level); nothing but whitespace may follow the value.
 *
 * One difference, on purpose: a NUL byte is never JSON here, while jansson
 * 2.14 skips one that follows a number or a literal ("[1<NUL>]" parses). */
#ifndef ZEN_ZJSON_H
#define ZEN_ZJSON_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"

/* Flags: the meaning of jansson's flags of the same names. */
#define ZJSON_DECODE_ANY 0x1  /* any value at the top, not only an object or array */
#define ZJSON_ALLOW_NUL 0x2   /* string values may hold U+0000 */

/* Parses len bytes (no terminator needed). Returns a new reference, or NULL
 * when the text is not JSON (or memory ran out). */
json_t *zjson_load(const char *data, size_t len, unsigned flags);

/* Is [str, str + len) valid UTF-8 by jansson's rules (no overlongs, no
 * surrogates, nothing above U+10FFFF)? ASCII runs 16 bytes at a time. */
int zjson_utf8_valid(const char *str, size_t len);

/* json_string(str), the same value and the same NULL (str NULL or not
 * valid UTF-8), with a faster UTF-8 check: for the big strings of a
 * translated request (json_pack's "s" checks a byte at a time; pass
 * zjson_string(s) with "o" instead). */
json_t *zjson_string(const char *str);

/* The reader that builds nothing: for a caller that wants a few facts out
 * of a big text, without a tree. It walks the text value by value, and the
 * caller skips what it does not want; everything it walks over, skipped or
 * not, is checked by zjson_load's rules with flags 0 (no NUL in a string),
 * so a text walked to its end (zjson_reader_end) without an error is one
 * zjson_load(text, len, 0) takes. It never allocates. An error (-1) means
 * the text is not JSON, or once, cheaply, that the reader cannot tell: a
 * number of 64 bytes or more with an exponent; a caller that must know
 * asks zjson_load. Strings are handed out as their bytes in the text
 * (escaped says whether any escape is among them: those bytes are not
 * decoded). Whitespace before any token is skipped. */
struct zjson_reader {
    const unsigned char *p, *end;
    int depth; /* containers open around the position */
};

void zjson_reader_init(struct zjson_reader *r, const char *data, size_t len);
/* The first byte of the next value ('{', '[', '"', 't', 'f', 'n', '-' or a
 * digit), or -1 at the end of the text. */
int zjson_reader_peek(struct zjson_reader *r);
/* At '{' or '[': goes in. 1 when a member follows (zjson_reader_key next in
 * an object), 0 for an empty one (then already left), -1 not JSON. */
int zjson_reader_enter(struct zjson_reader *r);
/* At an object's member: its key and the ':' after it; 0 or -1. */
int zjson_reader_key(struct zjson_reader *r, const char **key, size_t *len, int *escaped);
/* At a string value: its bytes; 0 or -1 (-1 for any other value too). */
int zjson_reader_string(struct zjson_reader *r, const char **s, size_t *len, int *escaped);
/* Checks and skips one value; 0 or -1. */
int zjson_reader_skip(struct zjson_reader *r);
/* After a member of the container closed by close ('}' or ']'): 1 when
 * another member follows, 0 when the container ends (and is left), -1. */
int zjson_reader_next(struct zjson_reader *r, int close);
/* After the top value: 0 when nothing but whitespace is left, else -1. */
int zjson_reader_end(struct zjson_reader *r);
/* The object at r member by member: fn gets each key (its bytes) with the
 * reader at the value, which fn reads or skips; 0 from fn goes on. A value
 * that is not an object is skipped. 0 once past the value, -1 when the text
 * is not JSON, a key has an escape (it could spell any key), or fn was
 * nonzero. */
typedef int (*zjson_member_fn)(struct zjson_reader *r, const char *key, size_t len, void *ud);
int zjson_reader_members(struct zjson_reader *r, zjson_member_fn fn, void *ud);
/* The value of a string the reader handed out (its bytes, escaped or not):
 * decoded into out, which has room for len bytes (no escape is shorter than
 * what it stands for). Returns the decoded length, or (size_t)-1 for bytes
 * the reader would not have handed out (a bad escape). */
size_t zjson_reader_unescape(const char *s, size_t len, char *out);

/* The writer: appends v as compact JSON to out, byte for byte what
 * json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(p))
 * writes (p 0: jansson's default, 17 digits): keys in their order, "\\",
 * "\"" and control characters escaped (\b \f \n \r \t, else \u00XX),
 * everything else as is. jansson goes through a callback per piece and
 * decodes every code point; this writer copies runs of plain bytes. Returns
 * 0, or -1 (out of memory, or a string that is not valid UTF-8, which
 * jansson refuses too) with out as it was. */
int zjson_dump(const json_t *v, int real_precision, zbuf *out);

/* One string value, len bytes (NUL allowed: written \u0000), as zjson_dump
 * writes it; 0, or -1 (not valid UTF-8, out of memory) with out as it was. */
int zjson_dump_string(const char *s, size_t len, zbuf *out);

/* The same into a new malloc'd, NUL-terminated text (free() it); *len, when
 * given, is its length. NULL on failure. */
char *zjson_dumps(const json_t *v, int real_precision, size_t *len);

#endif
