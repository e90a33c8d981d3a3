/* zend -- the daemon's entry point: flags, start-up order, exit codes.
 *
 * Start-up order (docs/operations.md): flags -> config (invalid: exit 78) ->
 * lock (held: exit 1) -> proxy address (in use: exit 69) -> control socket
 * -> pid file -> the supervisor forks the worker, which inherits the sockets
 * (or, with --no-supervisor, the worker runs right here). */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "config.h"
#include "control.h"
#include "control_access.h"
#include "heap_trim.h"
#include "listener.h"
#include "log.h"
#include "paths.h"
#include "pidlock.h"
#include "secret.h"
#include "supervisor.h"
#include "worker.h"

struct options {
    const char *home;
    const char *config;
    int check_config;
    int daemonize;
    int no_supervisor;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: zend [--home DIR] [--config FILE] [--foreground | --daemonize]\n"
            "            [--no-supervisor] [--check-config] [--version] [--help]\n"
            "\n"
            "Local proxy for Anthropic/OpenAI-style APIs with provider failover.\n"
            "\n"
            "  --home DIR       state directory (default: $ZEN_HOME, $GOZEN_CONFIG_DIR, ~/.zen)\n"
            "  --config FILE    config file (default: HOME/zen.json; created on first run)\n"
            "  --check-config   validate the config, print its warnings and ignored keys,\n"
            "                   and exit (0 usable, 78 invalid)\n"
            "  --foreground     run in the foreground, logging to stderr too (default)\n"
            "  --daemonize      run in the background; return once zend serves (exit 0)\n"
            "                   or with the start-up failure's exit code\n"
            "  --no-supervisor  run the worker alone, without auto-restart (debugging)\n"
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
        {"daemonize", no_argument, NULL, 'd'},
        {"no-supervisor", no_argument, NULL, 'n'},
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
        case 'f': o->daemonize = 0; break;
        case 'd': o->daemonize = 1; break;
        case 'n': o->no_supervisor = 1; break;
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

/* One note of the config loader as `zend --check-config` prints it: every
 * ignored GoZen key on its own `note:` line, a config_warning as
 * "warning: json.path: message", any other record as its event and fields. */
static void print_config_note(FILE *out, const json_t *note)
{
    const char *level = json_string_value(json_object_get(note, "level"));
    const char *event = json_string_value(json_object_get(note, "event"));
    const json_t *fields = json_object_get(note, "fields");
    const char *tag = level && (strcmp(level, "warn") == 0 || strcmp(level, "error") == 0)
                          ? "warning"
                          : "note";
    size_t i;
    json_t *v;
    if (strcmp(event, "config_ignored_keys") == 0) {
        json_array_foreach(json_object_get(fields, "keys"), i, v)
            fprintf(out, "%s: %s: ignored (a GoZen key zend does not use)\n", tag,
                    json_string_value(v));
        return;
    }
    if (strcmp(event, "config_warning") == 0) {
        fprintf(out, "%s: %s: %s\n", tag, json_string_value(json_object_get(fields, "path")),
                json_string_value(json_object_get(fields, "message")));
        return;
    }
    fprintf(out, "%s: %s:", tag, event);
    const char *key;
    json_object_foreach((json_t *)fields, key, v) {
        char *text = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        fprintf(out, " %s=%s", key, text ? text : json_string_value(v));
        free(text);
    }
    fputc('\n', out);
}

/* Validates like a start would and says what the running daemon would log
 * about the config: warnings and ignored keys. Exit 0 however many there
 * are; 78 only for a config zend cannot run with. */
static int check_config(const struct zpaths *paths)
{
    char err[ZEN_ERRLEN];
    struct stat st;
    /* The same refusal a start would give; a home not made yet is fine. */
    if (lstat(paths->home, &st) == 0 &&
        zpaths_check_home(paths->home, err, sizeof(err)) != ZEN_OK) {
        fprintf(stderr, "zend: %s\n", err);
        return ZEN_EXIT_CONFIG;
    }
    struct zcfg *cfg = zcfg_load_file(paths->config, err, sizeof(err));
    if (!cfg) {
        fprintf(stderr, "%s\n", err);
        return ZEN_EXIT_CONFIG;
    }
    size_t i;
    json_t *note;
    json_array_foreach(cfg->notes, i, note)
        print_config_note(stdout, note);
    printf("%s: ok (%zu providers, %zu profiles, hash %s)\n", paths->config, cfg->n_providers,
           cfg->n_profiles, cfg->hash);
    zcfg_unref(cfg);
    return ZEN_EXIT_OK;
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

/* Binds the proxy address; a busy port is exit 69 naming the holder.
 * *port: the port bound (a configured 0 becomes a real one). */
static int bind_proxy(const struct zpaths *paths, const struct zcfg *cfg, int *fd, int *port)
{
    const struct zcfg_daemon *dc = &cfg->daemon;
    char err[ZEN_ERRLEN], listen[ZCFG_HOST_MAX + 16];
    int in_use;
    zcfg_format_listen(dc->listen_host, dc->listen_port, listen, sizeof(listen));
    *fd = listener_open(dc->listen_host, dc->listen_port, port, &in_use, err, sizeof(err));
    if (*fd >= 0)
        return ZEN_EXIT_OK;
    char holder[128], msg[ZEN_ERRLEN + sizeof(listen) + 192];
    listener_describe_holder(dc->listen_port, holder, sizeof(holder));
    snprintf(msg, sizeof(msg), "%s: %s%s%s%s", listen, err, holder[0] ? " (held by " : "",
             holder, holder[0] ? ")" : "");
    int code = start_failed(in_use ? ZEN_EXIT_UNAVAILABLE : ZEN_EXIT_FAILURE,
                            "cannot listen on the proxy address", msg);
    fprintf(stderr, "zend: set daemon.listen (or proxy_port) in %s to a free address\n",
            paths->config);
    return code;
}

/* The one human line a foreground start prints before the JSON records
 * (make run): where zend listens, its config and state, the next step, and
 * which providers forward the client's own key (passthrough). No '{' in
 * it, so a reader of the log stream can tell it from the records. */
static void print_first_line(FILE *out, const struct zpaths *paths, const struct zcfg *cfg,
                             int port)
{
    const char *host = cfg->daemon.listen_host;
    /* A wildcard address is reached through loopback from this machine. */
    if (strcmp(host, "0.0.0.0") == 0 || !host[0])
        host = "127.0.0.1";
    else if (strcmp(host, "::") == 0)
        host = "::1";
    char addr[ZCFG_HOST_MAX + 16];
    zcfg_format_listen(host, port, addr, sizeof(addr));
    fprintf(out, "zend %s listening on http://%s (config %s, state %s); next: export "
                 "ANTHROPIC_BASE_URL=http://%s%s%s",
            ZEN_VERSION_STRING, addr, paths->config, paths->home, addr,
            cfg->default_profile ? "/" : "", cfg->default_profile ? cfg->default_profile : "");
    size_t n = 0;
    for (size_t i = 0; i < cfg->n_providers; i++) {
        if (cfg->providers[i].auth_token)
            continue;
        fprintf(out, "%s%s", n++ ? ", " : "; passthrough auth (the client's own key): ",
                cfg->providers[i].name);
    }
    fputs(n ? "\n" : "; every provider has its own token\n", out);
    fflush(out);
}

/* daemon.control_read_socket: mode 0660, in the first listed group (zend's
 * own when none of the readers is a group). */
static int bind_read_socket(const struct zcfg_daemon *dc, char *err, size_t errlen)
{
    gid_t gid = (gid_t)-1;
    if (control_access_socket_group(dc->control_readers, dc->n_control_readers,
                                    &control_ids_system, &gid) != ZEN_OK)
        gid = (gid_t)-1;
    return control_bind_shared(dc->control_read_socket, gid, err, errlen);
}

/* --daemonize: the parent waits for the child's start-up verdict, one byte
 * down a pipe (0 once a worker serves), and exits with it. */
static int daemonize(int *ready_fd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        fprintf(stderr, "zend: pipe: %s\n", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "zend: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid > 0) {
        close(p[1]);
        unsigned char code = ZEN_EXIT_FAILURE;
        ssize_t n;
        do
            n = read(p[0], &code, 1);
        while (n < 0 && errno == EINTR);
        _exit(n == 1 ? code : ZEN_EXIT_FAILURE);
    }
    close(p[0]);
    setsid();
    *ready_fd = p[1];
    return 0;
}

static void detach_stdio(void)
{
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0)
        return;
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    close(null);
}

/* config_created, once: after the human line when zend starts, else with
 * the start's failure. *pending is cleared. */
static void log_config_created(const struct zpaths *paths, int *pending)
{
    if (*pending)
        zlog_pack(ZLOG_INFO, "config_created", "{s:s}", "path", paths->config);
    *pending = 0;
}

static int run(const struct options *opt, const struct zpaths *paths, const struct zcfg *cfg,
               int created_config, int ready_fd)
{
    char err[ZEN_ERRLEN];
    pid_t holder;
    struct supervisor_args sa = {.paths = *paths, .cfg = cfg, .listen_fd = -1,
                                 .control_fd = -1, .control_read_fd = -1,
                                 .ready_fd = ready_fd};
    int code = ZEN_EXIT_FAILURE, read_bound = 0, port = 0;
    int lock_fd = pidlock_acquire(paths->lock, &holder, err, sizeof(err));
    if (lock_fd < 0) {
        fprintf(stderr, "zend: %s\n", err);
        supervisor_report_ready(&sa, code);
        return code;
    }
    if (open_log(paths, cfg) != ZEN_OK)
        goto out_lock;
    code = bind_proxy(paths, cfg, &sa.listen_fd, &port);
    if (code != ZEN_EXIT_OK)
        goto out_lock;
    /* Once the port is known, before the control socket appears: whoever
     * waits for that sees the line and config_created already written. */
    if (!opt->daemonize)
        print_first_line(stderr, paths, cfg, port);
    log_config_created(paths, &created_config);
    code = ZEN_EXIT_FAILURE;
    sa.control_fd = control_bind(paths->sock, err, sizeof(err));
    if (sa.control_fd < 0) {
        code = start_failed(ZEN_EXIT_FAILURE, "control socket", err);
        goto out_listen;
    }
    if (cfg->daemon.control_read_socket) {
        sa.control_read_fd = bind_read_socket(&cfg->daemon, err, sizeof(err));
        if (sa.control_read_fd < 0) {
            code = start_failed(ZEN_EXIT_FAILURE, "read-only control socket", err);
            goto out_control;
        }
        read_bound = 1;
    }
    if (pidfile_write(paths->pid, getpid(), err, sizeof(err)) != ZEN_OK) {
        code = start_failed(ZEN_EXIT_FAILURE, "pid file", err);
        goto out_control;
    }
    if (opt->daemonize) {
        zlog_set_stderr(0, ZLOG_ERROR);
        detach_stdio();
    }
    if (opt->no_supervisor) {
        struct worker_args wa = {.paths = *paths, .listen_fd = sa.listen_fd,
                                 .control_fd = sa.control_fd,
                                 .control_read_fd = sa.control_read_fd,
                                 .supervisor_pid = getpid(), .notify_fd = -1};
        supervisor_report_ready(&sa, ZEN_EXIT_OK); /* alone, there is no one to wait for */
        /* the worker owns (and closes) them now */
        sa.listen_fd = sa.control_fd = sa.control_read_fd = -1;
        code = worker_main(&wa);
    } else {
        code = supervisor_run(&sa);
    }
    unlink(paths->pid);
out_control:
    if (read_bound) /* not when another process answers there */
        unlink(cfg->daemon.control_read_socket);
    if (sa.control_read_fd >= 0)
        close(sa.control_read_fd);
    unlink(paths->sock);
    if (sa.control_fd >= 0)
        close(sa.control_fd);
out_listen:
    if (sa.listen_fd >= 0)
        close(sa.listen_fd);
out_lock:
    log_config_created(paths, &created_config); /* a start that failed to bind made it too */
    supervisor_report_ready(&sa, code);
    zlog_close_file();
    close(lock_fd); /* releases the lock: from here on zend is "not running" */
    return code;
}

/* GnuTLS is loaded but never used: librtmp and libldap, which libcurl links,
 * need it, while zend's transfers are http and https only
 * (CURLOPT_PROTOCOLS_STR) and curl's TLS is OpenSSL's. GnuTLS initialises
 * itself in a library constructor unless this weak hook, which it exports
 * for the purpose (as GNUTLS_NO_IMPLICIT_INIT=1 in the environment), says
 * no: its ASN.1 trees and random generator cost each zend process ~0.9 MB of
 * touched pages and 105 KB of heap for nothing. A libcurl built on GnuTLS
 * would call gnutls_global_init itself. Exported from zend by the linker
 * (zend/CMakeLists.txt). */
int _gnutls_global_init_skip(void);
int _gnutls_global_init_skip(void) { return 1; }

int main(int argc, char **argv)
{
    heap_setup();
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
    /* Before any token is read: a core dump would hold every one of them. */
    zsec_protect_process();

    struct zpaths paths;
    char err[ZEN_ERRLEN];
    if (zpaths_resolve(&paths, opt.home, opt.config, err, sizeof(err)) != ZEN_OK) {
        fprintf(stderr, "zend: %s\n", err);
        return ZEN_EXIT_FAILURE;
    }
    if (opt.check_config)
        return check_config(&paths);

    if (zpaths_mkdir_private(paths.home, err, sizeof(err)) != ZEN_OK) {
        fprintf(stderr, "zend: %s\n", err);
        return ZEN_EXIT_FAILURE;
    }
    if (zpaths_check_home(paths.home, err, sizeof(err)) != ZEN_OK) {
        fprintf(stderr, "zend: %s\n", err);
        return ZEN_EXIT_CONFIG;
    }
    /* A core, if one is allowed at all, lands in the private directory;
     * every path is absolute already, so nothing else depends on cwd. */
    if (chdir(paths.home) != 0) {
        fprintf(stderr, "zend: cannot enter %s: %s\n", paths.home, strerror(errno));
        return ZEN_EXIT_FAILURE;
    }
    /* First run: write the starter config, but only at the default place;
     * an explicit --config that does not exist is a typo, not a first run. */
    int created = 0;
    struct stat st;
    if (!opt.config && stat(paths.config, &st) != 0 && errno == ENOENT) {
        if (zcfg_write_starter(paths.config, err, sizeof(err)) != ZEN_OK) {
            fprintf(stderr, "zend: %s\n", err);
            return ZEN_EXIT_FAILURE;
        }
        created = 1;
    }
    struct zcfg *cfg = zcfg_load_file(paths.config, err, sizeof(err));
    if (!cfg) {
        fprintf(stderr, "%s\n", err);
        return ZEN_EXIT_CONFIG;
    }
    int ready_fd = -1;
    if (opt.daemonize && daemonize(&ready_fd) != 0) {
        zcfg_unref(cfg);
        return ZEN_EXIT_FAILURE;
    }
    int code = run(&opt, &paths, cfg, created, ready_fd);
    zcfg_unref(cfg);
    curl_global_cleanup();
    return code;
}
