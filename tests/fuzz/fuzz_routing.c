/* fuzz_routing.c -- libFuzzer harness for the routing facts (zend/forward/
 * routing.c), differential: the one-pass scan against the tree.
 *
 * routing_scan_facts reads the facts without a tree and gives up on what it
 * cannot read; routing.h promises that when it does not give up, its facts
 * are exactly routing_facts_from_doc's on zjson_load's tree. On every input:
 * a scan that does not give up saw a text zjson_load takes, and its facts
 * (model, matches, input_tokens) are the tree's; routing_read_facts (scan,
 * else tree) always gives the tree's facts.
 *
 * Input layout: byte 0 % 3 picks the client format (A, C, R); the rest is
 * the body. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routing.h"
#include "tr_types.h"
#include "zjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_routing: invariant broken: %s\n", what);
        abort();
    }
}

static int same(const struct routing_facts *a, const struct routing_facts *b)
{
    return strcmp(a->model, b->model) == 0 && a->matches == b->matches &&
           a->input_tokens == b->input_tokens;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const int formats[] = {TR_FORMAT_A, TR_FORMAT_C, TR_FORMAT_R};
    int format = formats[data[0] % 3];
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    struct routing_facts scan, tree, read;
    json_t *doc = zjson_load(body, len, 0);
    routing_facts_from_doc(format, doc, 0, &tree);
    if (routing_scan_facts(format, body, len, &scan) == 0) {
        check(doc != NULL, "the scan read a text zjson_load refuses");
        check(same(&scan, &tree), "scan and tree facts differ");
    }
    routing_read_facts(format, body, len, 0, &read);
    check(same(&read, &tree), "routing_read_facts differs from the tree");
    json_decref(doc);
    return 0;
}
