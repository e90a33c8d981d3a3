/* pidlock.h -- "running" means "zend.lock is locked" (docs/operations.md,
 * "Start-up order").
 *
 * The lock is a POSIX record lock (fcntl) rather than flock so a second zend
 * can ask the kernel who holds it (F_GETLK reports the holder's pid) even in
 * the instant before the holder has written zend.pid. The lock dies with the
 * holding process, so a crash never leaves a stale "running" state behind.
 * Caveat of POSIX locks: closing ANY descriptor of zend.lock in the holding
 * process drops the lock, so nothing else may open that file. */
#ifndef ZEND_PIDLOCK_H
#define ZEND_PIDLOCK_H

#include <stddef.h>
#include <sys/types.h>

/* Takes the lock. Returns the lock fd (keep it open), or -1 with *holder set
 * to the running daemon's pid (0 if unknown) and a message in err. */
int pidlock_acquire(const char *lock_path, pid_t *holder, char *err, size_t errlen);

/* Writes pid atomically (temp file + rename) with mode 0644. */
int pidfile_write(const char *pid_path, pid_t pid, char *err, size_t errlen);

#endif
