/* methods.h -- control method and notification names, shared by zend and
 * zenctl so neither can drift from the other (see PROTOCOL.md). */
#ifndef ZEN_METHODS_H
#define ZEN_METHODS_H

#define RPC_PROTO_VERSION 1

#define RPC_HELLO "hello"
#define RPC_STATUS "status"
#define RPC_SHUTDOWN "shutdown"
#define RPC_METRICS "metrics"

/* Notification zend sends on a `shutdown` caller's connection right before
 * it exits: {drained, aborted, uptime_s}. */
#define RPC_NOTIFY_SHUTDOWN_DONE "shutdown.done"

/* msgid 0 is never used by zenctl: zend answers a peer it refuses
 * (wrong uid) with an unsolicited error response carrying msgid 0. */
#define RPC_UNSOLICITED_MSGID 0

#endif
