/* common.h -- status codes, exit codes and tiny helpers every module uses.
 *
 * Module boundaries return ZEN_OK / ZEN_ERR and fill a caller-supplied error
 * buffer (redis style), so no module ever decides to exit() on its own. */
#ifndef ZEN_COMMON_H
#define ZEN_COMMON_H

#include <stddef.h>

#define ZEN_OK 0
#define ZEN_ERR (-1)

/* Size for caller-supplied error buffers: room for a path plus a message. */
#define ZEN_ERRLEN 1024

/* Process exit codes (docs/operations.md, "Exit codes"; sysexits-style). */
enum zen_exit {
    ZEN_EXIT_OK = 0,
    ZEN_EXIT_FAILURE = 1,      /* generic failure, or zend already running */
    ZEN_EXIT_NOT_RUNNING = 3,  /* zenctl: daemon unreachable */
    ZEN_EXIT_PERMISSION = 4,   /* zenctl: permission denied */
    ZEN_EXIT_USAGE = 64,       /* EX_USAGE */
    ZEN_EXIT_UNAVAILABLE = 69, /* EX_UNAVAILABLE: proxy address in use */
    ZEN_EXIT_TEMPFAIL = 75,    /* EX_TEMPFAIL: restart budget exhausted */
    ZEN_EXIT_CONFIG = 78,      /* EX_CONFIG: invalid configuration */
};

#define ZEN_VERSION_STRING "0.11.0"

/* Bytes in a mebibyte, as a double: sizes are shown and compared in MiB. */
#define MIB (1024.0 * 1024.0)

#define ZEN_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
