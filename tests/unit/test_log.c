/* Unit tests for lib/log.c: record shape, sinks, levels, rotation. */
#include <CUnit/CUnit.h>
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"
#include "log.h"
#include "testutil.h"
#include "timeutil.h"


static void test_reserved_keys_first(void)
{
    json_t *fields = json_pack("{s:s, s:i, s:s, s:s}", "zeta", "z", "alpha", 1, "level",
                               "sneaky", "event", "fake");
    /* 2026-11-28T00:31:27.123Z */
    char *line = zlog_format(ZLOG_WARN, "provider_failed", fields, 1795825887123LL);
    json_decref(fields);
    CU_ASSERT_PTR_NOT_NULL_FATAL(line);
    const char *want = "{\"timestamp\":\"2026-11-28T00:31:27.123Z\",\"level\":\"warn\","
                       "\"event\":\"provider_failed\",\"zeta\":\"z\",\"alpha\":1}";
    if (strcmp(line, want) != 0)
        fprintf(stderr, "\n  got  %s\n  want %s\n", line, want);
    CU_ASSERT_STRING_EQUAL(line, want);
    free(line);
}

static void test_timestamp_millis_padding(void)
{
    char ts[ZTIME_RFC3339_LEN];
    ztime_format_rfc3339_ms(5, ts);
    CU_ASSERT_STRING_EQUAL(ts, "1970-01-01T00:00:00.005Z");
    ztime_format_rfc3339_ms(ztime_wall_ms(), ts);
    CU_ASSERT_EQUAL(strlen(ts), 24);
    CU_ASSERT_EQUAL(ts[10], 'T');
    CU_ASSERT_EQUAL(ts[19], '.');
    CU_ASSERT_EQUAL(ts[23], 'Z');
}

struct captured {
    int count;
    char last[1024];
    char last_event[64];
};

static void capture_sink(void *ctx, int level, const char *event, const char *line, size_t len)
{
    struct captured *c = ctx;
    c->count++;
    snprintf(c->last, sizeof(c->last), "%.*s", (int)len, line);
    snprintf(c->last_event, sizeof(c->last_event), "%s", event);
}

static void test_sinks_and_levels(void)
{
    char path[4200], err[ZEN_ERRLEN];
    snprintf(path, sizeof(path), "%s/levels.log", tu_tmpdir);
    zlog_reset();
    CU_ASSERT_EQUAL_FATAL(zlog_open_file(path, ZLOG_INFO, 0, 0, err, sizeof(err)), ZEN_OK);
    struct captured cap = {0};
    CU_ASSERT_EQUAL(zlog_add_sink(capture_sink, &cap, ZLOG_WARN), ZEN_OK);
    zlog_pack(ZLOG_DEBUG, "too_quiet", "{s:i}", "n", 1);
    zlog_pack(ZLOG_INFO, "kept", "{s:s}", "who", "file");
    zlog_pack(ZLOG_ERROR, "everywhere", "{s:b}", "bad", 1);
    zlog_emit(ZLOG_WARN, "no_fields", NULL);
    CU_ASSERT_EQUAL(cap.count, 2);
    CU_ASSERT_STRING_EQUAL(cap.last_event, "no_fields");
    CU_ASSERT_PTR_NULL(strchr(cap.last, '\n'));
    zlog_remove_sink(capture_sink, &cap);
    zlog_pack(ZLOG_ERROR, "after_remove", "{}");
    CU_ASSERT_EQUAL(cap.count, 2);
    zlog_reset();

    char *text = tu_read_file(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NULL(strstr(text, "too_quiet"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"event\":\"kept\",\"who\":\"file\"}\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"event\":\"everywhere\""));
    /* Every line is one JSON object. */
    int lines = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        json_t *j = json_loads(l, 0, NULL);
        CU_ASSERT_PTR_NOT_NULL(j);
        json_decref(j);
        lines++;
    }
    CU_ASSERT_EQUAL(lines, 4);
    free(text);
    struct stat st;
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
}

static void test_pack_error_still_logs(void)
{
    struct captured cap = {0};
    zlog_reset();
    zlog_add_sink(capture_sink, &cap, ZLOG_DEBUG);
    zlog_pack(ZLOG_INFO, "broken_format", "{s:s}", "text", "\xff\xfe not utf-8");
    CU_ASSERT_EQUAL(cap.count, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(cap.last, "\"log_error\""));
    zlog_reset();
}

static void test_rotation(void)
{
    char path[4200], err[ZEN_ERRLEN], rotated[4300];
    snprintf(path, sizeof(path), "%s/rot.log", tu_tmpdir);
    zlog_reset();
    /* Each record is ~100 bytes; 300-byte files hold about three. */
    CU_ASSERT_EQUAL_FATAL(zlog_open_file(path, ZLOG_DEBUG, 300, 2, err, sizeof(err)), ZEN_OK);
    for (int i = 0; i < 40; i++)
        zlog_pack(ZLOG_INFO, "tick", "{s:i, s:s}", "i", i, "pad", "xxxxxxxxxxxxxxxxxxxx");
    zlog_reset();
    struct stat st;
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_TRUE(st.st_size <= 300);
    snprintf(rotated, sizeof(rotated), "%s.1", path);
    CU_ASSERT_EQUAL(stat(rotated, &st), 0);
    CU_ASSERT_TRUE(st.st_size <= 300 && st.st_size > 0);
    snprintf(rotated, sizeof(rotated), "%s.2", path);
    CU_ASSERT_EQUAL(stat(rotated, &st), 0);
    snprintf(rotated, sizeof(rotated), "%s.3", path);
    CU_ASSERT_NOT_EQUAL(stat(rotated, &st), 0); /* keep=2: the oldest fell off */
    /* The newest record is in the live file, whole. */
    char *text = tu_read_file(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"i\":39,"));
    CU_ASSERT_EQUAL(text[strlen(text) - 1], '\n');
    free(text);
    /* Records in rotated files are whole too: the file starts a record. */
    snprintf(rotated, sizeof(rotated), "%s.1", path);
    text = tu_read_file(rotated);
    CU_ASSERT_EQUAL(strncmp(text, "{\"timestamp\":", 13), 0);
    free(text);
}

static void test_level_names(void)
{
    int lvl;
    CU_ASSERT_EQUAL(zlog_level_parse("warning", &lvl), ZEN_OK);
    CU_ASSERT_EQUAL(lvl, ZLOG_WARN);
    CU_ASSERT_EQUAL(zlog_level_parse("debug", &lvl), ZEN_OK);
    CU_ASSERT_EQUAL(lvl, ZLOG_DEBUG);
    CU_ASSERT_EQUAL(zlog_level_parse("verbose", &lvl), ZEN_ERR);
    CU_ASSERT_STRING_EQUAL(zlog_level_name(ZLOG_ERROR), "error");
}

static int suite_clean(void)
{
    zlog_reset();
    return tu_suite_clean();
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("log", tu_suite_init, suite_clean);
    TU_ADD(s, test_reserved_keys_first);
    TU_ADD(s, test_timestamp_millis_padding);
    TU_ADD(s, test_sinks_and_levels);
    TU_ADD(s, test_pack_error_still_logs);
    TU_ADD(s, test_rotation);
    TU_ADD(s, test_level_names);
}
