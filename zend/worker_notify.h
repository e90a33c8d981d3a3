/* worker_notify.h -- the bytes a worker sends its supervisor (worker.h).
 *
 * Apart from worker.h so the daemon's lifecycle (daemon.c), which sends
 * them, does not include the worker that runs it. */
#ifndef ZEND_WORKER_NOTIFY_H
#define ZEND_WORKER_NOTIFY_H

#define WORKER_NOTIFY_READY 'R'
#define WORKER_NOTIFY_DRAINING 'D'
#define WORKER_NOTIFY_SHUTDOWN 'S'  /* the shutdown RPC: zend ends, not only this worker */
#define WORKER_NOTIFY_HEARTBEAT 'H'

#endif
