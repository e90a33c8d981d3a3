#include "supervisor.h"
#include "heap_trim.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "log.h"
#include "timeutil.h"
#include "worker.h"

#define SUPERVISOR_MAX_BUDGET 1024

struct supervisor {
    struct supervisor_args *a;
    sigset_t old_mask;
    int sfd;
    pid_t worker;
    int notify_fd;
    int64_t worker_started_ms;
    int64_t heard_ms;          /* the worker's last byte (heartbeat or other) */
    int64_t heartbeat_ms;      /* how often the worker sends one */
    int64_t unresponsive_ms;   /* silence after which it is killed */
    int killed_unresponsive;   /* this worker got SIGKILL for its silence */
    int64_t watchdog_ms;       /* systemd WATCHDOG=1 at most this often; 0 = off */
    int64_t watchdog_sent_ms;
    unsigned restarts;
    int64_t crash_ms[SUPERVISOR_MAX_BUDGET + 1]; /* times of recent crashes */
    size_t ncrash;
    int stopping;
    int64_t respawn_at_ms; /* 0: no respawn pending */
    int ready_seen;
};

void supervisor_report_ready(struct supervisor_args *a, int code)
{
    if (a->ready_fd < 0)
        return;
    unsigned char byte = (unsigned char)code;
    (void)!write(a->ready_fd, &byte, 1);
    close(a->ready_fd);
    a->ready_fd = -1;
}

/* systemd Type=notify: one datagram to $NOTIFY_SOCKET ('@' = abstract). */
static void sd_notify(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return;
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    if (n >= sizeof(sun.sun_path))
        return;
    memcpy(sun.sun_path, path, n);
    if (sun.sun_path[0] == '@')
        sun.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sun,
           (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
    close(fd);
}

/* systemd's WatchdogSec: WATCHDOG_USEC set (for us, if WATCHDOG_PID says
 * whom) means "ping at least this often"; we ping at half of it, as
 * sd_watchdog_enabled(3) advises. 0: no watchdog. */
static int64_t watchdog_interval_ms(void)
{
    const char *usec = getenv("WATCHDOG_USEC");
    const char *pid = getenv("WATCHDOG_PID");
    if (!usec || !*usec || !getenv("NOTIFY_SOCKET"))
        return 0;
    if (pid && *pid && strtoll(pid, NULL, 10) != (long long)getpid())
        return 0;
    long long us = strtoll(usec, NULL, 10);
    if (us <= 0)
        return 0;
    return us / 2000 > 0 ? us / 2000 : 1;
}

/* Test hooks (worker.h) override the heartbeat timings; anything but a
 * positive number keeps the default. */
static int64_t env_ms(const char *name, int64_t dflt)
{
    const char *v = getenv(name);
    long long ms = v && *v ? strtoll(v, NULL, 10) : 0;
    return ms > 0 ? ms : dflt;
}

static void spawn(struct supervisor *s)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        p[0] = p[1] = -1;
    }
    pid_t parent = getpid();
    fflush(NULL); /* the child must not repeat our buffered output */
    /* Free heap pages left by loading the config and starting libraries
     * would be inherited resident by the worker (~44 KB). */
    heap_trim();
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        /* A heartbeat never blocks the worker's loop on a full pipe. */
        if (p[1] >= 0)
            fcntl(p[1], F_SETFL, O_NONBLOCK);
        close(s->sfd);
        sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
        /* Never outlive the supervisor. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(ZEN_EXIT_FAILURE);
        struct worker_args wa = {
            .paths = s->a->paths,
            .listen_fd = s->a->listen_fd,
            .control_fd = s->a->control_fd,
            .control_read_fd = s->a->control_read_fd,
            .supervisor_pid = parent,
            .restarts = s->restarts,
            .notify_fd = p[1],
            .heartbeat_ms = s->heartbeat_ms,
        };
        /* exit, not _exit: the worker is a whole program, and its exit
         * handlers (coverage data, sanitizer reports) must run. */
        exit(worker_main(&wa));
    }
    if (p[1] >= 0)
        close(p[1]);
    if (pid < 0) {
        zlog_pack(ZLOG_ERROR, "worker_fork_failed", "{s:s}", "detail", strerror(errno));
        if (p[0] >= 0)
            close(p[0]);
        s->respawn_at_ms = ztime_mono_ms() + s->a->cfg->daemon.restart_backoff_initial_ms;
        return;
    }
    s->worker = pid;
    s->notify_fd = p[0];
    if (s->notify_fd >= 0)
        fcntl(s->notify_fd, F_SETFL, O_NONBLOCK);
    s->worker_started_ms = s->heard_ms = ztime_mono_ms();
    s->killed_unresponsive = 0;
    s->respawn_at_ms = 0;
}

static void close_listeners(struct supervisor *s)
{
    if (s->a->listen_fd >= 0)
        close(s->a->listen_fd);
    if (s->a->control_fd >= 0)
        close(s->a->control_fd);
    if (s->a->control_read_fd >= 0)
        close(s->a->control_read_fd);
    s->a->listen_fd = s->a->control_fd = s->a->control_read_fd = -1;
}

/* The worker answers: tell systemd's watchdog, at most every watchdog_ms. */
static void watchdog_ping(struct supervisor *s)
{
    int64_t now = ztime_mono_ms();
    if (!s->watchdog_ms || !s->ready_seen ||
        (s->watchdog_sent_ms && now - s->watchdog_sent_ms < s->watchdog_ms))
        return;
    sd_notify("WATCHDOG=1");
    s->watchdog_sent_ms = now;
}

/* Reads everything the worker has sent so far (the read end does not
 * block); closes the pipe at its end. */
static void read_notify(struct supervisor *s)
{
    char buf[64];
    while (s->notify_fd >= 0) {
        ssize_t n = read(s->notify_fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            close(s->notify_fd);
            s->notify_fd = -1;
            return;
        }
        s->heard_ms = ztime_mono_ms();
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == WORKER_NOTIFY_READY && !s->ready_seen) {
                s->ready_seen = 1;
                supervisor_report_ready(s->a, ZEN_EXIT_OK);
                sd_notify("READY=1");
            } else if (buf[i] == WORKER_NOTIFY_SHUTDOWN) {
                s->stopping = 1; /* the shutdown RPC: this exit ends zend */
            } else if (buf[i] == WORKER_NOTIFY_DRAINING && s->stopping) {
                /* An intentional exit is coming: refuse new connections now.
                 * A worker draining on its own (someone signalled its pid)
                 * is replaced instead, and its successor needs the sockets. */
                close_listeners(s);
            }
        }
        watchdog_ping(s);
    }
}

/* A worker silent for unresponsive_ms (stopped, or stuck in one callback)
 * is killed, and its end is handled like a crash. */
static void check_unresponsive(struct supervisor *s)
{
    if (!s->worker || s->killed_unresponsive || s->notify_fd < 0)
        return;
    int64_t silent = ztime_mono_ms() - s->heard_ms;
    if (silent < s->unresponsive_ms)
        return;
    zlog_pack(ZLOG_ERROR, "worker_unresponsive", "{s:i, s:I, s:I}", "pid", (int)s->worker,
              "silent_ms", (json_int_t)silent, "deadline_ms", (json_int_t)s->unresponsive_ms);
    /* SIGKILL: a stopped process never acts on TERM, nor a spinning one. */
    kill(s->worker, SIGKILL);
    s->killed_unresponsive = 1;
}

/* Milliseconds poll() may sleep: until a pending respawn, or until the
 * worker's silence would reach its deadline; -1 for no limit. */
static int poll_timeout(const struct supervisor *s)
{
    int64_t due = -1;
    if (s->respawn_at_ms)
        due = s->respawn_at_ms;
    if (s->worker && !s->killed_unresponsive && s->notify_fd >= 0) {
        int64_t silent_due = s->heard_ms + s->unresponsive_ms;
        if (due < 0 || silent_due < due)
            due = silent_due;
    }
    if (due < 0)
        return -1;
    int64_t left = due - ztime_mono_ms();
    return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

static const char *signal_name(int sig)
{
    const char *name = sigabbrev_np(sig);
    static char buf[16];
    snprintf(buf, sizeof(buf), "SIG%s", name ? name : "?");
    return buf;
}

/* Decides what a worker's end means. Only a shutdown someone asked for (a
 * signal to the supervisor, or the shutdown RPC) ends zend; 69 is fatal, 78
 * only from the first worker; any other end, exit 0 included, is restarted
 * within the budget. Returns -1 to keep supervising, else the supervisor's
 * exit code. */
static int worker_ended(struct supervisor *s, int status)
{
    const struct zcfg_daemon *d = &s->a->cfg->daemon;
    int64_t now = ztime_mono_ms();
    int64_t uptime = now - s->worker_started_ms;
    s->worker = 0;
    /* What it said before dying (the shutdown RPC's 'S') decides, and it may
     * still sit in the pipe behind the SIGCHLD. */
    read_notify(s);
    if (s->notify_fd >= 0) {
        close(s->notify_fd);
        s->notify_fd = -1;
    }
    if (s->stopping)
        return WIFEXITED(status) ? WEXITSTATUS(status) : ZEN_EXIT_FAILURE;
    if (WIFEXITED(status)) {
        int code = WEXITSTATUS(status);
        /* A later worker falls back on zen.json.last-good; if even that
         * fails, it is a crash like any other. */
        if (code == ZEN_EXIT_UNAVAILABLE || (code == ZEN_EXIT_CONFIG && s->restarts == 0))
            return code;
    }
    const char *reason = s->killed_unresponsive ? "unresponsive"
                         : WIFEXITED(status)    ? "exited"
                                                : "crashed";
    /* A crash. A worker that ran a whole window cleanly resets the count. */
    if (uptime >= d->restart_window_s * 1000)
        s->ncrash = 0;
    size_t keep = 0;
    for (size_t i = 0; i < s->ncrash; i++)
        if (now - s->crash_ms[i] < d->restart_window_s * 1000)
            s->crash_ms[keep++] = s->crash_ms[i];
    s->ncrash = keep;
    if (s->ncrash < SUPERVISOR_MAX_BUDGET)
        s->crash_ms[s->ncrash++] = now;
    json_t *why = WIFEXITED(status)
                      ? json_pack("{s:i, s:s}", "exit_code", WEXITSTATUS(status), "reason", reason)
                      : json_pack("{s:s, s:s}", "signal", signal_name(WTERMSIG(status)),
                                  "reason", reason);
    if ((int64_t)s->ncrash > d->restart_max) {
        json_t *budget = json_pack("{s:I, s:I, s:I}", "restarts", (json_int_t)s->restarts,
                                   "max_restarts", (json_int_t)d->restart_max, "window_s",
                                   (json_int_t)d->restart_window_s);
        json_object_update(budget, why);
        json_decref(why);
        zlog_emit(ZLOG_ERROR, "restart_budget_exhausted", budget);
        return ZEN_EXIT_TEMPFAIL;
    }
    int64_t backoff = d->restart_backoff_initial_ms;
    for (size_t i = 1; i < s->ncrash && backoff < d->restart_backoff_max_ms; i++)
        backoff *= 2;
    if (backoff > d->restart_backoff_max_ms)
        backoff = d->restart_backoff_max_ms;
    s->restarts++;
    json_t *fields = json_pack("{s:I, s:I, s:I, s:I}", "restart_count", (json_int_t)s->restarts,
                               "max_restarts", (json_int_t)d->restart_max, "backoff_ms",
                               (json_int_t)backoff, "uptime_ms", (json_int_t)uptime);
    json_object_update(fields, why);
    json_decref(why);
    zlog_emit(ZLOG_ERROR, "daemon_crashed_restarting", fields);
    s->respawn_at_ms = now + backoff;
    return -1;
}

static int handle_signal(struct supervisor *s, const struct signalfd_siginfo *si)
{
    int sig = (int)si->ssi_signo;
    if (sig == SIGCHLD) {
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            if (pid != s->worker)
                continue;
            int code = worker_ended(s, status);
            if (code >= 0)
                return code;
        }
        return -1;
    }
    if (sig == SIGTERM || sig == SIGINT) {
        s->stopping = 1;
        if (!s->worker)
            return ZEN_EXIT_OK; /* a signal during backoff ends it at once */
    }
    if (s->worker)
        kill(s->worker, sig);
    return -1;
}

int supervisor_run(struct supervisor_args *a)
{
    struct supervisor s;
    memset(&s, 0, sizeof(s));
    s.a = a;
    s.notify_fd = -1;
    s.heartbeat_ms = env_ms(WORKER_HEARTBEAT_ENV, WORKER_HEARTBEAT_MS);
    s.unresponsive_ms = env_ms(WORKER_UNRESPONSIVE_ENV, WORKER_UNRESPONSIVE_MS);
    s.watchdog_ms = watchdog_interval_ms();
    sigset_t set;
    sigemptyset(&set);
    int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGCHLD};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(sigs); i++)
        sigaddset(&set, sigs[i]);
    sigprocmask(SIG_BLOCK, &set, &s.old_mask);
    s.sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (s.sfd < 0) {
        fprintf(stderr, "zend: signalfd: %s\n", strerror(errno));
        return ZEN_EXIT_FAILURE;
    }
    spawn(&s);
    int code = -1;
    while (code < 0) {
        struct pollfd p[2] = {{.fd = s.sfd, .events = POLLIN}, {.fd = s.notify_fd, .events = POLLIN}};
        int n = poll(p, s.notify_fd >= 0 ? 2 : 1, poll_timeout(&s));
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0 && (p[0].revents & POLLIN)) {
            struct signalfd_siginfo si;
            while (code < 0 && read(s.sfd, &si, sizeof(si)) == sizeof(si))
                code = handle_signal(&s, &si);
        }
        if (code < 0 && s.notify_fd >= 0 && n > 0 && (p[1].revents & (POLLIN | POLLHUP)))
            read_notify(&s);
        if (code < 0)
            check_unresponsive(&s);
        if (code < 0 && s.respawn_at_ms && ztime_mono_ms() >= s.respawn_at_ms)
            spawn(&s);
    }
    if (s.worker) { /* leaving with a worker alive (poll failed): take it along */
        kill(s.worker, SIGTERM);
        waitpid(s.worker, NULL, 0);
    }
    if (s.notify_fd >= 0)
        close(s.notify_fd);
    close(s.sfd);
    sigprocmask(SIG_SETMASK, &s.old_mask, NULL);
    supervisor_report_ready(a, code < 0 ? ZEN_EXIT_FAILURE : code);
    return code < 0 ? ZEN_EXIT_FAILURE : code;
}
