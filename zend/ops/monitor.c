#include "monitor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "config.h"
#include "health.h"
#include "log.h"
#include "metrics.h"
#include "procself.h"
#include "provider_state.h"
#include "proxy.h"

struct fd_dump {
    json_t *table;
    int64_t non_sockets;
};

static void fd_dump_one(void *ud, const char *fd, const char *target)
{
    struct fd_dump *d = ud;
    if (!*target) /* closed between the listing and readlink */
        return;
    if (strncmp(target, "socket:", 7) != 0)
        d->non_sockets++;
    if (json_object_size(d->table) < MONITOR_FD_DUMP_MAX)
        json_object_set_new(d->table, fd, json_string(target));
}

/* fd -> readlink target, and how many of them are not sockets. */
static json_t *fd_table(int64_t *non_sockets)
{
    struct fd_dump d = {json_object(), 0};
    int64_t count;
    procself_fds(&count, fd_dump_one, &d);
    *non_sockets = d.non_sockets;
    return d.table;
}

/* Logs resource_warning when value crosses limit; re-arms below 90 %. */
static void threshold(int *warned, const char *resource, double value, double limit)
{
    if (limit <= 0)
        return;
    if (!*warned && value > limit) {
        *warned = 1;
        zlog_pack(ZLOG_WARN, "resource_warning", "{s:s, s:f, s:f}", "resource", resource,
                  "value", value, "threshold", limit);
    } else if (*warned && value < limit * MONITOR_HYSTERESIS) {
        *warned = 0;
    }
}

static void check_leaks(struct monitor *m, const struct monitor_inputs *in, int64_t rss)
{
    int idle = proxy_in_flight(in->proxy) == 0 && proxy_client_connections(in->proxy) == 0;
    /* Only idle moments are comparable, and only once warm: the first
     * request grows RSS and fds for good (TLS, curl's caches, buffers). */
    if (!idle || metrics_requests_total(in->metrics) == 0)
        return;
    int64_t files;
    json_t *fds = fd_table(&files);
    size_t stray = proxy_upstream_transfers(in->proxy) -
                   pstates_active_transfers(proxy_provider_states(in->proxy));
    if (!m->have_baseline) {
        m->have_baseline = 1;
        m->base_rss = rss;
        m->base_files = files;
        json_decref(fds);
        return;
    }
    int grew_files = files > m->base_files + MONITOR_LEAK_FD_SLACK;
    int grew_rss = (double)rss > (double)m->base_rss * (1.0 + MONITOR_LEAK_RSS_GROWTH);
    if (!grew_files && !grew_rss && stray == 0) {
        m->suspicious_samples = 0;
        m->episode_reported = 0;
        json_decref(fds);
        return;
    }
    if (++m->suspicious_samples < MONITOR_LEAK_SAMPLES || m->episode_reported) {
        json_decref(fds);
        return;
    }
    m->episode_reported = 1;
    json_t *what = json_array();
    if (grew_files)
        json_array_append_new(what, json_string("fds"));
    if (grew_rss)
        json_array_append_new(what, json_string("rss"));
    if (stray)
        json_array_append_new(what, json_string("transfers"));
    zlog_pack(ZLOG_WARN, "resource_leak_suspected",
              "{s:o, s:{s:I, s:I}, s:{s:I, s:I, s:I}, s:{s:o, s:I}}", "what", what, "baseline",
              "files", (json_int_t)m->base_files, "rss_bytes", (json_int_t)m->base_rss,
              "current", "files", (json_int_t)files, "rss_bytes", (json_int_t)rss,
              "stray_transfers", (json_int_t)stray, "dump", "fds", fds, "client_connections",
              (json_int_t)proxy_client_connections(in->proxy));
}

void monitor_sample(struct monitor *m, const struct monitor_inputs *in)
{
    const struct zcfg_daemon *dc = in->dc;
    metrics_sample_resources(in->metrics);
    struct metrics_resources r;
    metrics_resources(in->metrics, &r);
    int64_t rss = r.rss_bytes;
    threshold(&m->rss_warned, "rss", (double)rss / MIB, (double)dc->health_max_rss_mb);
    if (r.fd_limit > 0)
        threshold(&m->fd_warned, "open_fds", (double)r.open_fds,
                  dc->health_max_fd_ratio * (double)r.fd_limit);
    check_leaks(m, in, rss);
}

void monitor_state_dump(const struct health_inputs *in, const char *state)
{
    json_t *h = health_json(in);
    int64_t files;
    json_t *fds = fd_table(&files);
    zlog_pack(ZLOG_INFO, "state_dump", "{s:s, s:I, s:I, s:I, s:O, s:O, s:o}", "state",
              state, "in_flight", (json_int_t)proxy_in_flight(in->proxy),
              "client_connections", (json_int_t)proxy_client_connections(in->proxy),
              "upstream_transfers", (json_int_t)proxy_upstream_transfers(in->proxy), "providers",
              json_object_get(h, "providers"), "resources", json_object_get(h, "resources"),
              "fds", fds);
    json_decref(h);
}
