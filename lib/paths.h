/* paths.h -- where zend keeps its state (docs/config.md, "Where it lives").
 *
 * ZEN_HOME is --home, else $ZEN_HOME, else $GOZEN_CONFIG_DIR (GoZen's name,
 * kept so a GoZen user's environment keeps working), else $HOME/.zen.
 * Every path is made absolute once, here, so nothing later depends on cwd. */
#ifndef ZEN_PATHS_H
#define ZEN_PATHS_H

#include <limits.h>
#include <stddef.h>

struct zpaths {
    char home[PATH_MAX];
    char config[PATH_MAX]; /* --config, else home/zen.json */
    char lock[PATH_MAX];
    char pid[PATH_MAX];
    char sock[PATH_MAX];
    /* Where home and config came from, for `zenctl config`: home "flag"
     * (--home), "env:ZEN_HOME", "env:GOZEN_CONFIG_DIR" or "default"; config
     * "flag" (--config) or "default". */
    const char *home_source, *config_source;
};

/* Resolves every path; home_flag/config_flag may be NULL. Refuses paths that
 * do not fit, and a socket path longer than sun_path allows. */
int zpaths_resolve(struct zpaths *p, const char *home_flag, const char *config_flag,
                   char *err, size_t errlen);

/* Resolves only the home directory (zenctl needs no more). */
int zpaths_home(char *out, size_t outlen, const char *home_flag, char *err, size_t errlen);

/* Creates dir (and missing parents) with mode 0700. Existing dirs are kept. */
int zpaths_mkdir_private(const char *dir, char *err, size_t errlen);

/* out = dir + "/" + name, unless name is already absolute. */
int zpaths_join(char *out, size_t outlen, const char *dir, const char *name);

/* Writes data to path atomically with the given mode: a fresh temporary
 * file beside it (PATH.tmp, created O_EXCL | O_NOFOLLOW after unlinking a
 * leftover, so nothing planted there is followed or reused), fsync, then
 * rename, which replaces a symlink at path instead of writing through it. */
int zpaths_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
                        char *err, size_t errlen);

/* Length limit of a Unix socket path (sun_path minus the terminator). */
size_t zpaths_max_socket_path(void);

/* The ssh rule: state another local user could change is refused, since a
 * planted symlink or a swapped zen.json turns into writes as zend's user and
 * tokens sent to the attacker. Each check returns ZEN_ERR with err naming
 * the fix ("chmod 700 DIR").
 *
 * zpaths_check_home accepts a directory owned by the effective uid and
 * writable by nobody else. */
int zpaths_check_home(const char *home, char *err, size_t errlen);
/* A config file (st from fstat of the opened file): owned by the effective
 * uid or root, not writable by group or others. */
struct stat;
int zpaths_check_config_file(const char *path, const struct stat *st, char *err, size_t errlen);
/* The directory holding the config (after symlinks: the real file's), since
 * whoever may write there may swap the file: owned by the effective uid or
 * root, and not writable by group or others unless sticky (/tmp), where
 * others cannot rename or delete our file. */
int zpaths_check_config_dir(const char *config_path, char *err, size_t errlen);

#endif
