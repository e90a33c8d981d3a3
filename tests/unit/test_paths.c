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

/* The ssh rule for ZEN_HOME: ours, and writable by nobody else. */
static void test_check_home(void)
{
    char dir[4300], err[ZEN_ERRLEN];
    snprintf(dir, sizeof(dir), "%s/home", tu_tmpdir);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    CU_ASSERT_EQUAL(zpaths_check_home(dir, err, sizeof(err)), ZEN_OK);
    CU_ASSERT_EQUAL(chmod(dir, 0755), 0); /* readable by others is their business */
    CU_ASSERT_EQUAL(zpaths_check_home(dir, err, sizeof(err)), ZEN_OK);
    static const mode_t refused[] = {0777, 0770, 0702, 01777};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        CU_ASSERT_EQUAL(chmod(dir, refused[i]), 0);
        err[0] = '\0';
        CU_ASSERT_EQUAL(zpaths_check_home(dir, err, sizeof(err)), ZEN_ERR);
        char want[4400];
        snprintf(want, sizeof(want), "fix: chmod 700 %s", dir);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "writable by group or others"));
    }
    CU_ASSERT_EQUAL(chmod(dir, 0700), 0);
    if (geteuid() == 0) {
        CU_ASSERT_EQUAL(chown(dir, 65534, 65534), 0);
        CU_ASSERT_EQUAL(zpaths_check_home(dir, err, sizeof(err)), ZEN_ERR);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "owned by uid 65534, not by zend's user (uid 0)"));
        CU_ASSERT_EQUAL(chown(dir, 0, 0), 0);
    }
    /* A symlink in place of the home is refused, even to a good directory. */
    char link[4300];
    snprintf(link, sizeof(link), "%s/home-link", tu_tmpdir);
    CU_ASSERT_EQUAL_FATAL(symlink(dir, link), 0);
    CU_ASSERT_EQUAL(zpaths_check_home(link, err, sizeof(err)), ZEN_ERR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a directory"));
}

/* The config's directory: the real file's, after symlinks. */
static void test_check_config_dir(void)
{
    char safe[4300], open_dir[4300], file[4400], link[4400], err[ZEN_ERRLEN];
    snprintf(safe, sizeof(safe), "%s/safe", tu_tmpdir);
    snprintf(open_dir, sizeof(open_dir), "%s/open", tu_tmpdir);
    CU_ASSERT_EQUAL_FATAL(mkdir(safe, 0700), 0);
    CU_ASSERT_EQUAL_FATAL(mkdir(open_dir, 0700), 0);
    CU_ASSERT_EQUAL(chmod(open_dir, 0777), 0);
    tu_write_file(open_dir, "zen.json", "{}", 0600, file, sizeof(file));
    snprintf(link, sizeof(link), "%s/zen.json", safe);
    CU_ASSERT_EQUAL_FATAL(symlink(file, link), 0);
    /* The link sits in a safe directory; the file it names does not. */
    CU_ASSERT_EQUAL(zpaths_check_config_dir(link, err, sizeof(err)), ZEN_ERR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, open_dir));
    CU_ASSERT_EQUAL(chmod(open_dir, 0755), 0);
    CU_ASSERT_EQUAL(zpaths_check_config_dir(link, err, sizeof(err)), ZEN_OK);
    CU_ASSERT_EQUAL(zpaths_check_config_dir("/nonexistent/zen.json", err, sizeof(err)), ZEN_ERR);
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("paths", tu_suite_init, tu_suite_clean);
    TU_ADD(s, test_home_resolution_order);
    TU_ADD(s, test_relative_paths_made_absolute);
    TU_ADD(s, test_socket_path_too_long);
    TU_ADD(s, test_mkdir_private);
    TU_ADD(s, test_check_home);
    TU_ADD(s, test_check_config_dir);
}
