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
 * NULL, reports each one to it. A count alone comes from
 * procself_fd_count_stat where the kernel offers it: listing 4,000
 * descriptors took 10-15 ms, a stall of the event loop at every sample. */
int procself_fds(int64_t *count, procself_fd_fn *fn, void *ud);

/* The count as the size of /proc/self/fd, one stat (Linux 6.2 and later;
 * earlier kernels report 0 there, and this returns ZEN_ERR). */
int procself_fd_count_stat(int64_t *count);

#endif
