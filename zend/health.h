/* health.h -- the `health` and `providers` views (operations.md §9).
 *
 * Health joins passive signals (cooldowns, auth failures, the recent error
 * rate of real traffic) with the active checker and the process's own
 * resources. Building it is a read of in-memory state plus a few /proc
 * reads: well under a millisecond. */
#ifndef ZEND_HEALTH_H
#define ZEND_HEALTH_H

#include <jansson.h>

struct zend_daemon;

/* A provider whose recent attempts fail this often is degraded. */
#define HEALTH_DEGRADED_ERROR_RATE 0.05

struct zcfg;
struct provider_state;

json_t *health_json(struct zend_daemon *d);
/* healthy | degraded | unhealthy | unknown | disabled, as in health. */
const char *health_provider_status(const struct zcfg *cfg, const struct provider_state *s);
json_t *providers_json(struct zend_daemon *d);

#endif
