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

/* The writer: appends v as compact JSON to out, byte for byte what
 * json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(p))
 * writes (p 0: jansson's default, 17 digits): keys in their order, "\\",
 * "\"" and control characters escaped (\b \f \n \r \t, else \u00XX),
 * everything else as is. jansson goes through a callback per piece and
 * decodes every code point; this writer copies runs of plain bytes. Returns
 * 0, or -1 (out of memory, or a string that is not valid UTF-8, which
 * jansson refuses too) with out as it was. */
int zjson_dump(const json_t *v, int real_precision, zbuf *out);

/* The same into a new malloc'd, NUL-terminated text (free() it); *len, when
 * given, is its length. NULL on failure. */
char *zjson_dumps(const json_t *v, int real_precision, size_t *len);

#endif
