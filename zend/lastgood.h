/* lastgood.h -- ZEN_HOME/zen.json.last-good: the bytes of the last zen.json a
 * worker loaded (README "Running it for real").
 *
 * A broken edit of zen.json is refused by reload and the old config keeps
 * serving; but the next worker (after a crash) reads the file afresh, and
 * without a copy of the old config one crash would become an outage. So
 * every worker that loads zen.json saves its bytes here, and a restarted
 * worker that cannot load zen.json starts from this copy instead.
 *
 * The copy may hold literal secrets, and it lives in a directory others
 * could try to plant things in: it is written 0600 to a fresh temporary file
 * (O_EXCL, O_NOFOLLOW) and renamed into place, and read back only when it is
 * a regular file (never a symlink) that we own and no one else can read. */
#ifndef ZEND_LASTGOOD_H
#define ZEND_LASTGOOD_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define LASTGOOD_FILE "zen.json.last-good"

/* Copies the file at config_path to home/zen.json.last-good, provided its
 * bytes still hash to `hash` (the config just loaded from it): a file edited
 * in between is left for the next load to save. ZEN_OK (saved, or skipped
 * for that reason), else ZEN_ERR with err. */
int lastgood_save(const char *home, const char *config_path, const char *hash, char *err,
                  size_t errlen);

/* Loads home/zen.json.last-good as the config `name` (its content is
 * zen.json's, so messages and config_path name zen.json). Refuses a
 * symlink, a non-regular file, one owned by someone else or open to group
 * or others. *saved_wall_ms gets the copy's mtime (when it was saved). */
struct zcfg *lastgood_load(const char *home, const char *name, int64_t *saved_wall_ms,
                           char *err, size_t errlen);

#endif
