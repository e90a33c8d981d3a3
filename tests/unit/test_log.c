/* Unit tests for lib/log.c: record shape, sinks, levels, rotation. */
#include <CUnit/CUnit.h>
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "log.h"
#include "log_events.h"
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

/* /dev/full fails every write with ENOSPC: each record is counted, once,
 * and nothing is logged about it (that would recurse). */
static void test_full_disk_counted(void)
{
    char err[ZEN_ERRLEN];
    struct captured cap = {0};
    struct zlog_file_report r;
    zlog_reset();
    CU_ASSERT_EQUAL_FATAL(zlog_open_file("/dev/full", ZLOG_INFO, 0, 0, err, sizeof(err)),
                          ZEN_OK);
    zlog_add_sink(capture_sink, &cap, ZLOG_DEBUG);
    zlog_file_report(&r);
    CU_ASSERT_EQUAL(r.write_failed, 0);
    CU_ASSERT_FALSE(r.failing);
    for (int i = 0; i < 3; i++)
        zlog_pack(ZLOG_INFO, "lost", "{s:i}", "i", i);
    zlog_pack(ZLOG_DEBUG, "below_file_level", "{}"); /* never meant for the file */
    zlog_file_report(&r);
    CU_ASSERT_EQUAL(r.write_failed, 3);
    CU_ASSERT_TRUE(r.failing);
    CU_ASSERT_TRUE(r.last_failure_ms > 0);
    CU_ASSERT_EQUAL(cap.count, 4); /* the other sinks still got every record, nothing more */
    /* A writable file again: the next record clears "failing", not the count. */
    char path[4200];
    snprintf(path, sizeof(path), "%s/after-full.log", tu_tmpdir);
    CU_ASSERT_EQUAL_FATAL(zlog_open_file(path, ZLOG_INFO, 0, 0, err, sizeof(err)), ZEN_OK);
    zlog_pack(ZLOG_INFO, "written", "{}");
    zlog_file_report(&r);
    CU_ASSERT_EQUAL(r.write_failed, 3);
    CU_ASSERT_FALSE(r.failing);
    zlog_reset();
}

/* Every line of path parses as one JSON object; returns how many. */
static int count_whole_records(const char *path, int *bad)
{
    char *text = tu_read_file(path);
    int lines = 0;
    *bad = 0;
    if (!text)
        return -1;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        json_t *j = json_loads(l, 0, NULL);
        if (json_is_object(j))
            lines++;
        else
            (*bad)++;
        json_decref(j);
    }
    free(text);
    return lines;
}

/* A disk that fills in the middle of a record: RLIMIT_FSIZE makes write()
 * stop short at the limit, the way ENOSPC does on a nearly full disk. The
 * cut record must not stay half in the file, nor get the next one glued on. */
static void test_short_write_leaves_whole_records(void)
{
    char path[4200], err[ZEN_ERRLEN];
    snprintf(path, sizeof(path), "%s/short.log", tu_tmpdir);
    zlog_reset();
    CU_ASSERT_EQUAL_FATAL(zlog_open_file(path, ZLOG_INFO, 0, 0, err, sizeof(err)), ZEN_OK);
    zlog_pack(ZLOG_INFO, "first", "{s:s}", "pad", "0123456789");
    struct stat st;
    CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
    off_t whole = st.st_size;

    struct rlimit saved, small;
    CU_ASSERT_EQUAL_FATAL(getrlimit(RLIMIT_FSIZE, &saved), 0);
    void (*old_xfsz)(int) = signal(SIGXFSZ, SIG_IGN); /* EFBIG instead of a kill */
    small = saved;
    small.rlim_cur = (rlim_t)whole + 40; /* room for 40 bytes of a ~90-byte record */
    CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_FSIZE, &small), 0);
    zlog_pack(ZLOG_INFO, "cut_short", "{s:s}", "pad", "0123456789");
    zlog_pack(ZLOG_INFO, "no_room", "{s:s}", "pad", "0123456789");
    CU_ASSERT_EQUAL(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, old_xfsz);

    struct zlog_file_report r;
    zlog_file_report(&r);
    CU_ASSERT_EQUAL(r.write_failed, 2);
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_size, whole); /* the 40 bytes were taken back */
    zlog_pack(ZLOG_INFO, "room_again", "{s:s}", "pad", "0123456789");
    zlog_reset();

    int bad;
    CU_ASSERT_EQUAL(count_whole_records(path, &bad), 2);
    CU_ASSERT_EQUAL(bad, 0);
    char *text = tu_read_file(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NULL(strstr(text, "cut_short"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"event\":\"room_again\""));
    free(text);
}

/* Another user's symlink at the log's name is not followed: the file it
 * points at is neither appended to nor created. */
static void test_symlink_not_followed(void)
{
    char path[4200], target[4200], err[ZEN_ERRLEN];
    snprintf(path, sizeof(path), "%s/planted.log", tu_tmpdir);
    snprintf(target, sizeof(target), "%s/victim", tu_tmpdir);
    tu_write_file(tu_tmpdir, "victim", "precious\n", 0600, target, sizeof(target));
    CU_ASSERT_EQUAL_FATAL(symlink(target, path), 0);
    zlog_reset();
    CU_ASSERT_EQUAL(zlog_open_file(path, ZLOG_INFO, 0, 0, err, sizeof(err)), ZEN_ERR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "symbolic link"));
    zlog_pack(ZLOG_ERROR, "anything", "{}");
    char *text = tu_read_file(target);
    CU_ASSERT_STRING_EQUAL(text, "precious\n");
    free(text);
    zlog_reset();
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

/* A reload's new level reaches every sink, and leaves stderr as it was: off
 * in a daemonized zend (issue 9: only stderr changed, and it came back on). */
static void test_set_level_every_sink(void)
{
    char path[4200], errpath[4200], err[ZEN_ERRLEN];
    snprintf(path, sizeof(path), "%s/relevel.log", tu_tmpdir);
    snprintf(errpath, sizeof(errpath), "%s/relevel.stderr", tu_tmpdir);
    zlog_reset();
    CU_ASSERT_EQUAL_FATAL(zlog_open_file(path, ZLOG_INFO, 0, 0, err, sizeof(err)), ZEN_OK);
    struct captured cap = {0};
    CU_ASSERT_EQUAL(zlog_add_sink(capture_sink, &cap, ZLOG_INFO), ZEN_OK);
    zlog_set_stderr(0, ZLOG_ERROR); /* what --daemonize does */
    int saved = dup(STDERR_FILENO);
    FILE *errf = fopen(errpath, "w");
    CU_ASSERT_FATAL(saved >= 0 && errf != NULL);
    dup2(fileno(errf), STDERR_FILENO);

    zlog_pack(ZLOG_DEBUG, "before_relevel", "{}");
    zlog_set_level(ZLOG_DEBUG);
    zlog_pack(ZLOG_DEBUG, "after_relevel", "{}");
    zlog_set_level(ZLOG_ERROR);
    zlog_pack(ZLOG_WARN, "quiet_again", "{}");

    dup2(saved, STDERR_FILENO);
    close(saved);
    fclose(errf);
    CU_ASSERT_EQUAL(cap.count, 1);
    CU_ASSERT_STRING_EQUAL(cap.last_event, "after_relevel");
    zlog_reset();
    char *text = tu_read_file(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NULL(strstr(text, "before_relevel"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "after_relevel"));
    CU_ASSERT_PTR_NULL(strstr(text, "quiet_again"));
    free(text);
    char *errtext = tu_read_file(errpath);
    CU_ASSERT_PTR_NOT_NULL_FATAL(errtext);
    CU_ASSERT_STRING_EQUAL(errtext, ""); /* stderr stayed off */
    free(errtext);
}

static void test_journal_stream_matches(void)
{
    CU_ASSERT_TRUE(zlog_journal_stream_matches("8:1234", 8, 1234));
    CU_ASSERT_TRUE(zlog_journal_stream_matches("18446744073709551615:1", 18446744073709551615ULL,
                                               1));
    CU_ASSERT_FALSE(zlog_journal_stream_matches("8:1234", 8, 1235));
    CU_ASSERT_FALSE(zlog_journal_stream_matches("9:1234", 8, 1234));
    CU_ASSERT_FALSE(zlog_journal_stream_matches(NULL, 8, 1234));
    CU_ASSERT_FALSE(zlog_journal_stream_matches("", 0, 0));
    CU_ASSERT_FALSE(zlog_journal_stream_matches(":", 0, 0));
    CU_ASSERT_FALSE(zlog_journal_stream_matches("8:", 8, 0));
    CU_ASSERT_FALSE(zlog_journal_stream_matches(":1234", 0, 1234));
    CU_ASSERT_FALSE(zlog_journal_stream_matches("8:1234x", 8, 1234));
    CU_ASSERT_FALSE(zlog_journal_stream_matches("8 1234", 8, 1234));
    CU_ASSERT_FALSE(zlog_journal_stream_matches("99999999999999999999:1", 0, 1));
}

static void test_syslog_priority(void)
{
    CU_ASSERT_EQUAL(zlog_syslog_priority(ZLOG_DEBUG), 7);
    CU_ASSERT_EQUAL(zlog_syslog_priority(ZLOG_INFO), 6);
    CU_ASSERT_EQUAL(zlog_syslog_priority(ZLOG_WARN), 4);
    CU_ASSERT_EQUAL(zlog_syslog_priority(ZLOG_ERROR), 3);
    CU_ASSERT_EQUAL(zlog_syslog_priority(42), 6);
}

/* stderr that is the journal gets "<N>" before each line; the file does
 * not, and a JOURNAL_STREAM naming another file changes nothing. */
static void test_stderr_journal_prefix(void)
{
    char path[4200], errpath[4200], err[ZEN_ERRLEN], env[64];
    snprintf(path, sizeof(path), "%s/journal.log", tu_tmpdir);
    snprintf(errpath, sizeof(errpath), "%s/journal.stderr", tu_tmpdir);
    int saved = dup(STDERR_FILENO);
    FILE *errf = fopen(errpath, "w");
    CU_ASSERT_FATAL(saved >= 0 && errf != NULL);
    struct stat st;
    CU_ASSERT_EQUAL_FATAL(fstat(fileno(errf), &st), 0);
    dup2(fileno(errf), STDERR_FILENO);
    for (int journal = 1; journal >= 0; journal--) {
        zlog_reset();
        CU_ASSERT_EQUAL(zlog_open_file(path, ZLOG_DEBUG, 0, 0, err, sizeof(err)), ZEN_OK);
        snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
                 (unsigned long long)st.st_ino + (journal ? 0 : 1));
        setenv("JOURNAL_STREAM", env, 1);
        zlog_set_stderr(1, ZLOG_DEBUG);
        zlog_pack(ZLOG_WARN, journal ? "journal_warn" : "plain_warn", "{}");
        zlog_pack(ZLOG_DEBUG, journal ? "journal_debug" : "plain_debug", "{}");
    }
    unsetenv("JOURNAL_STREAM");
    zlog_reset();
    dup2(saved, STDERR_FILENO);
    close(saved);
    fclose(errf);
    char *errtext = tu_read_file(errpath);
    CU_ASSERT_PTR_NOT_NULL_FATAL(errtext);
    CU_ASSERT_EQUAL(strncmp(errtext, "<4>{\"timestamp\":", 16), 0);
    const char *dbg = strstr(errtext, "\n<7>{\"timestamp\":");
    CU_ASSERT_PTR_NOT_NULL(dbg);
    CU_ASSERT_PTR_NOT_NULL(dbg && strstr(dbg, "journal_debug"));
    const char *plain = strstr(errtext, "\n{\"timestamp\":");
    CU_ASSERT_PTR_NOT_NULL(plain && strstr(plain, "plain_warn"));
    free(errtext);
    char *text = tu_read_file(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(strncmp(text, "{\"timestamp\":", 13), 0);
    CU_ASSERT_PTR_NULL(strchr(text, '<'));
    free(text);
}

/* zlog_enabled answers for every sink, not just one. */
static void test_enabled_any_sink(void)
{
    zlog_reset();
    CU_ASSERT_FALSE(zlog_enabled(ZLOG_ERROR));
    struct captured cap = {0};
    CU_ASSERT_EQUAL(zlog_add_sink(capture_sink, &cap, ZLOG_WARN), ZEN_OK);
    CU_ASSERT_FALSE(zlog_enabled(ZLOG_INFO));
    CU_ASSERT_TRUE(zlog_enabled(ZLOG_WARN));
    zlog_set_level(ZLOG_DEBUG);
    CU_ASSERT_TRUE(zlog_enabled(ZLOG_DEBUG));
    zlog_reset();
}

static void test_event_table(void)
{
    size_t n = 0;
    for (; zlog_event_names[n]; n++)
        if (n > 0)
            CU_ASSERT(strcmp(zlog_event_names[n - 1], zlog_event_names[n]) < 0);
    CU_ASSERT(n > 40);
    CU_ASSERT_TRUE(zlog_event_known("request_completed"));
    CU_ASSERT_TRUE(zlog_event_known("worker_fault"));
    CU_ASSERT_FALSE(zlog_event_known("request_complete"));
    CU_ASSERT_FALSE(zlog_event_known(NULL));
    CU_ASSERT_TRUE(zlog_event_once("provider_token_missing"));
    CU_ASSERT_FALSE(zlog_event_once("config_permissions"));
    CU_ASSERT_FALSE(zlog_event_once("no_such_event"));
    CU_ASSERT_FALSE(zlog_event_once(NULL));
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
    TU_ADD(s, test_set_level_every_sink);
    TU_ADD(s, test_full_disk_counted);
    TU_ADD(s, test_short_write_leaves_whole_records);
    TU_ADD(s, test_symlink_not_followed);
    TU_ADD(s, test_journal_stream_matches);
    TU_ADD(s, test_syslog_priority);
    TU_ADD(s, test_stderr_journal_prefix);
    TU_ADD(s, test_enabled_any_sink);
    TU_ADD(s, test_event_table);
}
