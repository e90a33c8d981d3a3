/* testutil.h -- small helpers shared by the unit-test runners. */
#ifndef ZEN_TESTUTIL_H
#define ZEN_TESTUTIL_H

#include <CUnit/CUnit.h>
#include <stddef.h>
#include <stdint.h>

/* Each runner defines this: add its suites to the registry. */
void register_tests(void);

/* Makes a fresh private temp directory; path is written into out. */
void tu_mkdtemp(char *out, size_t outlen);
/* rm -r of a temp directory made by tu_mkdtemp. */
void tu_rmtree(const char *path);
/* Writes data to dir/name with the given mode; the full path goes to out. */
void tu_write_file(const char *dir, const char *name, const char *data, int mode, char *out,
                   size_t outlen);
/* Reads a whole file into a malloc'd NUL-terminated string (NULL if absent). */
char *tu_read_file(const char *path);

/* A suite-wide private temp directory, made by tu_suite_init and removed by
 * tu_suite_clean (use them as the suite's init/clean functions). */
extern char tu_tmpdir[4096];
int tu_suite_init(void);
int tu_suite_clean(void);

/* A reproducible xorshift64* generator (rand() differs across libcs). */
void tu_rng_seed(uint64_t seed);
uint64_t tu_rng_next(void);
size_t tu_rng_below(size_t n); /* 0 when n is 0 */

/* A test literal written with ' for " (' -> "): a string in a ring of 8
 * buffers, so a result outlives a few more calls. */
char *tu_q(const char *s);

/* Split-anywhere feeding: a body handed to a consumer whole, in fixed-size
 * pieces, split in two at one position, or in random 1-3 byte pieces. */
enum tu_plan_mode { TU_PLAN_WHOLE, TU_PLAN_FIXED, TU_PLAN_SPLIT, TU_PLAN_RANDOM };
struct tu_plan {
    enum tu_plan_mode mode;
    size_t arg; /* FIXED: piece size; SPLIT: position; RANDOM: seed */
};
typedef void (*tu_feed_fn)(void *ctx, const char *p, size_t n);
/* Feeds in[0..n) to feed(ctx, ...) as the plan says (RANDOM reseeds tu_rng). */
void tu_feed_plan(const char *in, size_t n, const struct tu_plan *p, tu_feed_fn feed, void *ctx);

#define TU_ADD(suite, fn) CU_add_test(suite, #fn, fn)

#endif
