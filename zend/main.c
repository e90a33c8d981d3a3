/* zend -- the daemon's entry point: flags, start-up order, exit codes.
 *
 * Start-up order (operations.md §3): flags -> config (invalid: exit 78) ->
 * lock (held: exit 1) -> proxy address (in use: exit 69) -> control socket
 * -> serve. Everything before zend_worker_run() is what the supervisor will
 * own once it exists; the worker then inherits the sockets. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "config.h"
#include "control.h"
#include "daemon.h"
#include "listener.h"
#include "log.h"
#include "logbus.h"
#include "metrics.h"
#include "proxy.h"
#include "paths.h"
#include "pidlock.h"
#include "secret.h"
#include "timeutil.h"

struct options {
    const char *home;
    const char *config;
    int check_config;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: zend [--home DIR] [--config FILE] [--foreground] [--check-config]\n"
            "            [--version] [--help]\n"
            "\n"
            "Local proxy for Anthropic/OpenAI-style APIs with provider failover.\n"
            "\n"
            "  --home DIR       state directory (default: $ZEN_HOME, $GOZEN_CONFIG_DIR, ~/.zen)\n"
            "  --config FILE    config file (default: HOME/zen.json; created on first run)\n"
            "  --check-config   validate the config and exit (0 valid, 78 invalid)\n"
            "  --foreground     run in the foreground, logging to stderr too (default)\n"
            "  --version        print the version and exit\n"
            "  --help           print this help and exit\n"
            "\n"
            "Control it with zenctl (zenctl status, zenctl shutdown).\n");
}

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"home", required_argument, NULL, 'H'},
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 'C'},
        {"foreground", no_argument, NULL, 'f'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof(*o));
    int ch;
    while ((ch = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
        switch (ch) {
        case 'H': o->home = optarg; break;
        case 'c': o->config = optarg; break;
        case 'C': o->check_config = 1; break;
        case 'f': break; /* the only mode until --daemonize exists */
        case 'V': printf("zend %s\n", ZEN_VERSION_STRING); exit(ZEN_EXIT_OK);
        case 'h': usage(stdout); exit(ZEN_EXIT_OK);
        default: usage(stderr); return ZEN_ERR;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "zend: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return ZEN_ERR;
    }
    return ZEN_OK;
}

static int check_config(const struct zpaths *paths)
{
    char err[ZEN_ERRLEN];
    struct zcfg *cfg = zcfg_load_file(paths->config, err, sizeof(err));
    if (!cfg) {
        fprintf(stderr, "%s\n", err);
        return ZEN_EXIT_CONFIG;
    }
    printf("%s: ok (%zu providers, %zu profiles, hash %s)\n", paths->config, cfg->n_providers,
           cfg->n_profiles, cfg->hash);
    zcfg_unref(cfg);
    return ZEN_EXIT_OK;
}

/* Emits what the loader wanted said (ignored keys, missing env tokens...). */
static void log_config_notes(const struct zcfg *cfg)
{
    size_t i;
    json_t *n;
    json_array_foreach(cfg->notes, i, n) {
        int level = ZLOG_INFO;
        zlog_level_parse(json_string_value(json_object_get(n, "level")), &level);
        zlog_emit(level, json_string_value(json_object_get(n, "event")),
                  json_incref(json_object_get(n, "fields")));
    }
}

/* Prints the failure for a human and records it for zenctl logs. */
static int start_failed(int code, const char *what, const char *err)
{
    fprintf(stderr, "zend: %s: %s\n", what, err);
    zlog_pack(ZLOG_ERROR, "daemon_start_failed", "{s:s, s:s, s:i}", "stage", what, "detail",
              err, "exit_code", code);
    return code;
}

static int open_log(const struct zpaths *paths, const struct zcfg *cfg)
{
    char err[ZEN_ERRLEN], path[PATH_MAX];
    zlog_set_stderr(1, cfg->daemon.log_level);
    if (!cfg->daemon.log_file[0])
        return ZEN_OK;
    if (zpaths_join(path, sizeof(path), paths->home, cfg->daemon.log_file) != ZEN_OK ||
        zlog_open_file(path, cfg->daemon.log_level, (size_t)cfg->daemon.log_max_bytes,
                       (int)cfg->daemon.log_keep, err, sizeof(err)) != ZEN_OK) {
        fprintf(stderr, "zend: %s\n", err);
        return ZEN_ERR;
    }
    return ZEN_OK;
}

static int run(struct zend_daemon *d, int created_config)
{
    char err[ZEN_ERRLEN];
    pid_t holder;
    int lock_fd = pidlock_acquire(d->paths.lock, &holder, err, sizeof(err));
    if (lock_fd < 0) {
        fprintf(stderr, "zend: %s\n", err);
        return ZEN_EXIT_FAILURE;
    }
    int code = ZEN_EXIT_FAILURE;
    if (open_log(&d->paths, d->cfg) != ZEN_OK)
        goto out_lock;
    if (created_config)
        zlog_pack(ZLOG_INFO, "config_created", "{s:s}", "path", d->paths.config);
    log_config_notes(d->cfg);

    const struct zcfg_daemon *dc = &d->cfg->daemon;
    int port, in_use;
    zcfg_format_listen(dc->listen_host, dc->listen_port, d->listen, sizeof(d->listen));
    d->listen_fd = listener_open(dc->listen_host, dc->listen_port, &port, &in_use, err,
                                 sizeof(err));
    if (d->listen_fd < 0) {
        char holder_desc[128], msg[ZEN_ERRLEN + sizeof(d->listen) + 192];
        listener_describe_holder(dc->listen_port, holder_desc, sizeof(holder_desc));
        snprintf(msg, sizeof(msg), "%s: %s%s%s%s", d->listen, err,
                 holder_desc[0] ? " (held by " : "", holder_desc, holder_desc[0] ? ")" : "");
        code = start_failed(in_use ? ZEN_EXIT_UNAVAILABLE : ZEN_EXIT_FAILURE,
                            "cannot listen on the proxy address", msg);
        fprintf(stderr, "zend: set daemon.listen (or proxy_port) in %s to a free address\n",
                d->paths.config);
        goto out_lock;
    }
    zcfg_format_listen(dc->listen_host, port, d->listen, sizeof(d->listen));

    d->control = control_open(d, d->paths.sock, err, sizeof(err));
    if (!d->control) {
        code = start_failed(ZEN_EXIT_FAILURE, "control socket", err);
        goto out_listen;
    }
    /* The ring starts with the tail of zend.log: what happened before us. */
    d->logbus = logbus_new((size_t)dc->log_ring);
    if (d->logbus) {
        char log_path[PATH_MAX];
        if (dc->log_file[0] &&
            zpaths_join(log_path, sizeof(log_path), d->paths.home, dc->log_file) == ZEN_OK)
            logbus_preload(d->logbus, log_path);
        logbus_attach(d->logbus, dc->log_level, d->control);
    }
    d->metrics = metrics_new();
    d->proxy = d->metrics ? proxy_new(d->loop, d->listen_fd, d->cfg, d->metrics, err,
                                      sizeof(err)) : NULL;
    if (!d->proxy) {
        code = start_failed(ZEN_EXIT_FAILURE, "proxy", d->metrics ? err : "out of memory");
        goto out_proxy;
    }
    if (pidfile_write(d->paths.pid, d->pid, err, sizeof(err)) != ZEN_OK) {
        code = start_failed(ZEN_EXIT_FAILURE, "pid file", err);
        goto out_proxy;
    }

    code = zend_worker_run(d);

    unlink(d->paths.pid);
out_proxy:
    proxy_free(d->proxy);
    d->proxy = NULL;
    metrics_free(d->metrics);
    d->metrics = NULL;
    logbus_free(d->logbus);
    d->logbus = NULL;
    control_close(d->control);
    d->control = NULL;
out_listen:
    if (d->listen_fd >= 0)
        close(d->listen_fd);
out_lock:
    zlog_close_file();
    close(lock_fd); /* releases the lock: from here on zend is "not running" */
    return code;
}

int main(int argc, char **argv)
{
    struct options opt;
    if (parse_options(argc, argv, &opt) != ZEN_OK)
        return ZEN_EXIT_USAGE;
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "zend: libcurl failed to initialise\n");
        return ZEN_EXIT_FAILURE;
    }
    if (zsec_init() != ZEN_OK) {
        fprintf(stderr, "zend: libsodium failed to initialise\n");
        return ZEN_EXIT_FAILURE;
    }

    static struct zend_daemon d; /* zeroed: watchers start inactive */
    char err[ZEN_ERRLEN];
    if (zpaths_resolve(&d.paths, opt.home, opt.config, err, sizeof(err)) != ZEN_OK) {
        fprintf(stderr, "zend: %s\n", err);
        return ZEN_EXIT_FAILURE;
    }
    if (opt.check_config)
        return check_config(&d.paths);

    if (zpaths_mkdir_private(d.paths.home, err, sizeof(err)) != ZEN_OK) {
        fprintf(stderr, "zend: %s\n", err);
        return ZEN_EXIT_FAILURE;
    }
    /* First run: write the starter config, but only at the default place;
     * an explicit --config that does not exist is a typo, not a first run. */
    int created = 0;
    struct stat st;
    if (!opt.config && stat(d.paths.config, &st) != 0 && errno == ENOENT) {
        if (zcfg_write_starter(d.paths.config, err, sizeof(err)) != ZEN_OK) {
            fprintf(stderr, "zend: %s\n", err);
            return ZEN_EXIT_FAILURE;
        }
        created = 1;
    }
    d.cfg = zcfg_load_file(d.paths.config, err, sizeof(err));
    if (!d.cfg) {
        fprintf(stderr, "%s\n", err);
        return ZEN_EXIT_CONFIG;
    }
    d.loop = ev_default_loop(EVFLAG_AUTO);
    d.pid = getpid();
    d.supervisor_pid = d.pid; /* no separate supervisor process yet */
    d.started_wall_ms = ztime_wall_ms();
    d.started_mono_ms = ztime_mono_ms();
    d.state = ZEND_STARTING;

    int code = run(&d, created);
    zcfg_unref(d.cfg);
    ev_loop_destroy(d.loop);
    curl_global_cleanup();
    return code;
}
