/* Unit tests for zend/lastgood.c: the copy of the last zen.json that loaded
 * is written privately and atomically, and read back only when it is safe. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "config.h"
#include "lastgood.h"
#include "secret.h"
#include "testutil.h"

static const char GOOD[] =
    "{\"providers\": {\"p1\": {\"base_url\": \"http://127.0.0.1:9\", \"auth_token\": \"sk-1\"}},"
    " \"profiles\": {\"default\": [\"p1\"]}}";

/* A fresh home with zen.json = GOOD; returns the config's hash in hash. */
static void fresh_home(char *home, size_t homelen, char *config, size_t configlen,
                       char hash[ZSEC_FINGERPRINT_LEN])
{
    snprintf(home, homelen, "%s/h%ld", tu_tmpdir, (long)tu_rng_next() % 1000000);
    CU_ASSERT_EQUAL_FATAL(mkdir(home, 0700), 0);
    tu_write_file(home, "zen.json", GOOD, 0600, config, configlen);
    zsec_fingerprint(GOOD, strlen(GOOD), hash);
}

static void test_save_then_load(void)
{
    char home[4200], config[4400], path[4400], hash[ZSEC_FINGERPRINT_LEN], err[ZEN_ERRLEN];
    fresh_home(home, sizeof(home), config, sizeof(config), hash);
    umask(022); /* the copy is private whatever the umask allows */
    CU_ASSERT_EQUAL(lastgood_save(home, config, hash, err, sizeof(err)), ZEN_OK);
    umask(077);
    snprintf(path, sizeof(path), "%s/%s", home, LASTGOOD_FILE);
    struct stat st;
    CU_ASSERT_EQUAL_FATAL(lstat(path, &st), 0);
    CU_ASSERT_TRUE(S_ISREG(st.st_mode));
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    char *copy = tu_read_file(path);
    CU_ASSERT_STRING_EQUAL(copy, GOOD);
    free(copy);
    char tmp[4500];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    CU_ASSERT_NOT_EQUAL(access(tmp, F_OK), 0); /* renamed away */

    int64_t saved = 0;
    struct zcfg *cfg = lastgood_load(home, config, &saved, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_STRING_EQUAL(cfg->hash, hash);
    CU_ASSERT_STRING_EQUAL(cfg->path, config); /* named after zen.json */
    CU_ASSERT_EQUAL(cfg->n_providers, 1);
    CU_ASSERT_EQUAL(saved / 1000, (int64_t)st.st_mtim.tv_sec);
    zcfg_unref(cfg);
}

static void test_edited_since_is_not_saved(void)
{
    char home[4200], config[4400], path[4400], hash[ZSEC_FINGERPRINT_LEN], err[ZEN_ERRLEN];
    fresh_home(home, sizeof(home), config, sizeof(config), hash);
    tu_write_file(home, "zen.json", "{\"providers\": {", 0600, config, sizeof(config));
    CU_ASSERT_EQUAL(lastgood_save(home, config, hash, err, sizeof(err)), ZEN_OK);
    snprintf(path, sizeof(path), "%s/%s", home, LASTGOOD_FILE);
    CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
}

static void test_symlinks_are_neither_followed_nor_read(void)
{
    char home[4200], config[4400], path[4400], hash[ZSEC_FINGERPRINT_LEN], err[ZEN_ERRLEN];
    char victim[4400], tmp[4500];
    fresh_home(home, sizeof(home), config, sizeof(config), hash);
    tu_write_file(home, "victim", "keep me", 0600, victim, sizeof(victim));
    snprintf(path, sizeof(path), "%s/%s", home, LASTGOOD_FILE);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    /* Planted at both the copy and its temporary name. */
    CU_ASSERT_EQUAL_FATAL(symlink(victim, path), 0);
    CU_ASSERT_EQUAL_FATAL(symlink(victim, tmp), 0);
    CU_ASSERT_EQUAL(lastgood_save(home, config, hash, err, sizeof(err)), ZEN_OK);
    char *kept = tu_read_file(victim);
    CU_ASSERT_STRING_EQUAL(kept, "keep me");
    free(kept);
    struct stat st;
    CU_ASSERT_EQUAL(lstat(path, &st), 0);
    CU_ASSERT_TRUE(S_ISREG(st.st_mode));

    /* A link to a perfectly good config is still refused. */
    tu_write_file(home, "victim", GOOD, 0600, victim, sizeof(victim));
    CU_ASSERT_EQUAL_FATAL(unlink(path), 0);
    CU_ASSERT_EQUAL_FATAL(symlink(victim, path), 0);
    int64_t saved = 0;
    CU_ASSERT_PTR_NULL(lastgood_load(home, config, &saved, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "symlink"));
}

static void test_loose_or_broken_copy_refused(void)
{
    char home[4200], config[4400], path[4400], hash[ZSEC_FINGERPRINT_LEN], err[ZEN_ERRLEN];
    fresh_home(home, sizeof(home), config, sizeof(config), hash);
    int64_t saved = 0;
    CU_ASSERT_PTR_NULL(lastgood_load(home, config, &saved, err, sizeof(err))); /* none */
    tu_write_file(home, LASTGOOD_FILE, GOOD, 0644, path, sizeof(path));
    CU_ASSERT_PTR_NULL(lastgood_load(home, config, &saved, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "refused"));
    tu_write_file(home, LASTGOOD_FILE, "{\"providers\": {", 0600, path, sizeof(path));
    CU_ASSERT_PTR_NULL(lastgood_load(home, config, &saved, err, sizeof(err)));
}

static int suite_init(void)
{
    return tu_suite_init() || zsec_init();
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("lastgood", suite_init, tu_suite_clean);
    tu_rng_seed(7);
    TU_ADD(s, test_save_then_load);
    TU_ADD(s, test_edited_since_is_not_saved);
    TU_ADD(s, test_symlinks_are_neither_followed_nor_read);
    TU_ADD(s, test_loose_or_broken_copy_refused);
}
