/* methods.h -- control method and notification names, shared by zend and
 * zenctl so neither can drift from the other (see proto/PROTOCOL.md). */
#ifndef ZEN_METHODS_H
#define ZEN_METHODS_H

#define RPC_PROTO_VERSION 1

#define RPC_HELLO "hello"
#define RPC_STATUS "status"
#define RPC_SHUTDOWN "shutdown"
#define RPC_METRICS "metrics"
#define RPC_METRICS_SUBSCRIBE "metrics.subscribe"
#define RPC_LOGS_SUBSCRIBE "logs.subscribe"
#define RPC_LOGS_UNSUBSCRIBE "logs.unsubscribe"
#define RPC_HEALTH "health"
#define RPC_PROVIDERS "providers"
#define RPC_PROVIDER_ENABLE "provider.enable"
#define RPC_PROVIDER_DISABLE "provider.disable"
#define RPC_RELOAD "reload"
#define RPC_SESSIONS "sessions"
#define RPC_USAGE_QUERY "usage.query"
#define RPC_USAGE_BUDGET "usage.budget"
#define RPC_USAGE_REPAIR "usage.repair"
#define RPC_CONFIG_GET "config.get"

/* provider.disable's for_s: more than 0, at most ten years (365-day years).
 * Beyond that a deadline in milliseconds would overflow; nobody means it. */
#define RPC_DISABLE_MAX_S (10.0 * 365 * 86400)

/* Notification zend sends on a `shutdown` caller's connection right before
 * it exits: {drained, aborted, uptime_s}. */
#define RPC_NOTIFY_SHUTDOWN_DONE "shutdown.done"
#define RPC_NOTIFY_LOG "log"
#define RPC_NOTIFY_LOG_END "log.end"
#define RPC_NOTIFY_METRICS "metrics"

/* msgid 0 is never used by zenctl: zend answers a peer it refuses
 * (wrong uid) with an unsolicited error response carrying msgid 0. */
#define RPC_UNSOLICITED_MSGID 0

#endif
