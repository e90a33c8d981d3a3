/* Unit tests for zend/ops/health.c: health reports the daemon's resource
 * sample (metrics_sample_resources, once a second) and never samples
 * itself. With 2,000 streams open a health call used to walk 4,000 entries
 * of /proc/self/fd and every malloc arena (issue 15). */
#include <arpa/inet.h>
#include <ev.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "common.h"
#include "config.h"
#include "health.h"
#include "metrics.h"
#include "proxy.h"
#include "testutil.h"

static int listen_any(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    CU_ASSERT_FATAL(listen(fd, 8) == 0);
    return fd;
}

static json_int_t resource(json_t *h, const char *key)
{
    return json_integer_value(json_object_get(json_object_get(h, "resources"), key));
}

/* Descriptors opened after the sample do not show, however often health
 * is asked, and asking takes no sample; the next sample shows them. */
static void test_health_reads_the_sample(void)
{
    enum { EXTRA_FDS = 5, CALLS = 100 };
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    char err[ZEN_ERRLEN];
    const char *json = tu_q("{'providers': {'p1': {'base_url': 'http://127.0.0.1:9'}},"
                            " 'profiles': {'default': ['p1']}}");
    struct zcfg *cfg = zcfg_load_buffer("zen.json", json, strlen(json), err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    struct metrics *m = metrics_new();
    struct proxy *px = proxy_new(loop, listen_any(), cfg, m, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(px);
    metrics_sample_resources(m);
    struct metrics_resources sample;
    metrics_resources(m, &sample);
    int fds[EXTRA_FDS];
    for (int i = 0; i < EXTRA_FDS; i++)
        fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct health_inputs in = {.cfg = cfg, .proxy = px, .metrics = m, .config_path = "zen.json",
                               .config_error = "", .pid = (int)getpid()};
    for (int i = 0; i < CALLS; i++) {
        json_t *h = health_json(&in);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        CU_ASSERT_EQUAL(resource(h, "open_fds"), sample.open_fds);
        CU_ASSERT_EQUAL(resource(h, "rss_bytes"), sample.rss_bytes);
        CU_ASSERT_EQUAL(resource(h, "heap_bytes"), sample.heap_bytes);
        CU_ASSERT_EQUAL(resource(h, "threads"), sample.threads);
        CU_ASSERT_EQUAL(resource(h, "fd_limit"), sample.fd_limit);
        json_decref(h);
    }
    struct metrics_resources after;
    metrics_resources(m, &after);
    CU_ASSERT_EQUAL(after.samples, sample.samples);
    metrics_sample_resources(m);
    json_t *h = health_json(&in);
    CU_ASSERT_EQUAL(resource(h, "open_fds"), sample.open_fds + EXTRA_FDS);
    json_decref(h);
    for (int i = 0; i < EXTRA_FDS; i++)
        close(fds[i]);
    proxy_free(px);
    zcfg_unref(cfg);
    metrics_free(m);
    ev_loop_destroy(loop);
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("health", tu_suite_init, tu_suite_clean);
    TU_ADD(s, test_health_reads_the_sample);
}
