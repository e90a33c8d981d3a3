/* Unit tests for lib/paths.c: ZEN_HOME resolution order and directories. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "paths.h"
#include "testutil.h"


static void test_home_resolution_order(void)
{
    struct zpaths p;
    char err[ZEN_ERRLEN];
    setenv("HOME", "/home/someone", 1);
    setenv("ZEN_HOME", "/srv/zen", 1);
    setenv("GOZEN_CONFIG_DIR", "/srv/gozen", 1);
    CU_ASSERT_EQUAL(zpaths_resolve(&p, "/flag/home", NULL, err, sizeof(err)), ZEN_OK);
    CU_ASSERT_STRING_EQUAL(p.home, "/flag/home");
    CU_ASSERT_STRING_EQUAL(p.config, "/flag/home/zen.json");
    CU_ASSERT_STRING_EQUAL(p.sock, "/flag/home/zend.sock");
    CU_ASSERT_STRING_EQUAL(p.pid, "/flag/home/zend.pid");
    CU_ASSERT_STRING_EQUAL(p.lock, "/flag/home/zend.lock");
    CU_ASSERT_EQUAL(zpaths_resolve(&p, NULL, NULL, err, sizeof(err)), ZEN_OK);
    CU_ASSERT_STRING_EQUAL(p.home, "/srv/zen");
    unsetenv("ZEN_HOME");
    CU_ASSERT_EQUAL(zpaths_resolve(&p, NULL, NULL, err, sizeof(err)), ZEN_OK);
    CU_ASSERT_STRING_EQUAL(p.home, "/srv/gozen");
    setenv("GOZEN_CONFIG_DIR", "", 1); /* empty counts as unset */
    CU_ASSERT_EQUAL(zpaths_resolve(&p, NULL, "/etc/zen.json", err, sizeof(err)), ZEN_OK);
    CU_ASSERT_STRING_EQUAL(p.home, "/home/someone/.zen");
    CU_ASSERT_STRING_EQUAL(p.config, "/etc/zen.json");
}

static void test_relative_paths_made_absolute(void)
{
    struct zpaths p;
    char err[ZEN_ERRLEN], cwd[4096], want[4200];
    CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof(cwd)));
    CU_ASSERT_EQUAL(zpaths_resolve(&p, "rel/home", "c.json", err, sizeof(err)), ZEN_OK);
    snprintf(want, sizeof(want), "%s/rel/home", cwd);
    CU_ASSERT_STRING_EQUAL(p.home, want);
    snprintf(want, sizeof(want), "%s/c.json", cwd);
    CU_ASSERT_STRING_EQUAL(p.config, want);
}

static void test_socket_path_too_long(void)
{
    struct zpaths p;
    char err[ZEN_ERRLEN], home[300];
    memset(home, 'a', sizeof(home) - 1);
    home[0] = '/';
    home[sizeof(home) - 1] = '\0';
    CU_ASSERT_EQUAL(zpaths_resolve(&p, home, NULL, err, sizeof(err)), ZEN_ERR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "use a shorter --home"));
}

static void test_mkdir_private(void)
{
    char dir[4300], err[ZEN_ERRLEN];
    snprintf(dir, sizeof(dir), "%s/a/b/c", tu_tmpdir);
    CU_ASSERT_EQUAL(zpaths_mkdir_private(dir, err, sizeof(err)), ZEN_OK);
    struct stat st;
    CU_ASSERT_EQUAL(stat(dir, &st), 0);
    CU_ASSERT_TRUE(S_ISDIR(st.st_mode));
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0700);
    CU_ASSERT_EQUAL(zpaths_mkdir_private(dir, err, sizeof(err)), ZEN_OK); /* idempotent */
    char file[4400];
    tu_write_file(dir, "f", "x", 0600, file, sizeof(file));
    CU_ASSERT_EQUAL(zpaths_mkdir_private(file, err, sizeof(err)), ZEN_ERR);
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("paths", tu_suite_init, tu_suite_clean);
    TU_ADD(s, test_home_resolution_order);
    TU_ADD(s, test_relative_paths_made_absolute);
    TU_ADD(s, test_socket_path_too_long);
    TU_ADD(s, test_mkdir_private);
}
