/* fault.h -- the worker's last words (README "Running it for real").
 *
 * On SIGSEGV, SIGBUS, SIGFPE or SIGABRT the worker appends one JSON line
 * `worker_fault` (signal, pid, backtrace) to zend.log using only
 * async-signal-safe calls, then dies of the same signal so the supervisor
 * sees a crash and restarts it. */
#ifndef ZEND_FAULT_H
#define ZEND_FAULT_H

void fault_install(void);

#endif
