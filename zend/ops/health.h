/* health.h -- the `health` and `providers` views (docs/operations.md, "Health").
 *
 * Health joins passive signals (cooldowns, auth failures, the recent error
 * rate of real traffic) with the active checker and the process's own
 * resources. Building it is a read of in-memory state plus a few /proc
 * reads: well under a millisecond.
 *
 * It reads typed reports (pstate_report, metrics summaries) and takes
 * everything else as explicit inputs; it never looks inside the daemon. The
 * JSON it returns is the RPC result itself (the edge). */
#ifndef ZEND_HEALTH_H
#define ZEND_HEALTH_H

#include <jansson.h>
#include <stdint.h>

struct zcfg;
struct proxy;
struct metrics;
struct ledger;

/* What health needs from the process; the daemon fills it per call. */
struct health_inputs {
    const struct zcfg *cfg;
    struct proxy *proxy;
    struct metrics *metrics;
    const char *config_path;       /* zen.json, named in the "invalid" reason */
    const char *config_error;      /* "" while zen.json loads */
    int64_t config_loaded_wall_ms; /* when the config in force was loaded */
    int draining;
    double uptime_s;
    int pid, supervisor_pid;
    unsigned restarts;
    struct ledger *ledger;         /* the usage ledger; NULL when daemon.usage is off */
};

/* The `health` RPC result. */
json_t *health_json(const struct health_inputs *in);
/* The `providers` RPC result: {providers: [...]}, in config order. */
json_t *providers_json(const struct health_inputs *in);

#endif
