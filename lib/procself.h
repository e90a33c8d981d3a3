/* procself.h -- what the kernel says about this process (/proc/self).
 *
 * One reader for the figures metrics, health and the monitor all need:
 * resident memory, open descriptors (counted or listed), threads. Linux
 * only, like the daemon; every reader returns ZEN_ERR when /proc is not
 * there and leaves its output untouched. */
#ifndef ZEN_PROCSELF_H
#define ZEN_PROCSELF_H

#include <stdint.h>

/* Resident set size in bytes from a statm-format file ("size resident
 * shared ..." in pages). The path is an argument so tests can feed one. */
int procself_statm_rss(const char *path, int64_t *bytes);

/* Resident set size of this process, from /proc/self/statm. */
int procself_rss(int64_t *bytes);

/* "Threads:" of /proc/self/status. */
int procself_threads(int64_t *threads);

/* Called once per open descriptor (the one the listing itself holds is
 * skipped) with its number as text and its readlink target ("socket:[..]",
 * a path, ...); target is "" when readlink failed. */
typedef void procself_fd_fn(void *ud, const char *fd, const char *target);

/* Counts this process's open descriptors into *count and, when fn is not
 * NULL, reports each one to it. */
int procself_fds(int64_t *count, procself_fd_fn *fn, void *ud);

#endif
