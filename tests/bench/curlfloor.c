/* curlfloor: the curl floor of the bench. A minimal libcurl multi client that
 * keeps N transfers in flight against one URL, POSTing one body over reused
 * easy handles (keep-alive), and reports what it did and what it cost:
 * transfers/s, latency percentiles and its own CPU time (getrusage).
 *
 * It exists so that `make bench` can show zend's cost beyond libcurl's: zend
 * drives curl the same way (multi socket interface on a libev loop), so the
 * CPU this program spends per transfer is what any curl-based proxy pays
 * before doing anything of its own. The easy-handle options below mirror
 * zend/forward/upstream.c (upstream_new, upstream_start, set_method_and_body,
 * release_easy) as of issue 15; keep them in step when that file changes.
 * What zend does on top (parsing the client's request, building the header
 * list, timers, relaying the answer) is deliberately absent.
 *
 * Built by tests/bench/bench.py: cc -O2 -Wall -Wextra curlfloor.c -lcurl -lev
 *
 *   curlfloor --url URL --body FILE [-H "Name: value"]... --conns N
 *             (--seconds S | --requests N) [--warmup-requests W]
 *             [--ready-file F]
 *
 * --ready-file: after the warm-up, write F and wait for SIGUSR1 before the
 * measured part (so strace can attach to a process that is already warm).
 * Prints one JSON line on stdout.
 */
#include <curl/curl.h>
#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>

/* zend/forward/upstream.c */
#define UPSTREAM_MAX_CONN_AGE_S 90L
#define UPSTREAM_MAX_CACHED_CONNS 256L
#define CONNECT_TIMEOUT_MS 10000L /* zend's default daemon.connect_timeout_ms */
#define MAX_HEADERS 32
#define MAX_CONNS 4096

struct slot {
    CURL *easy;
    double start;
    long bytes;
    char errbuf[CURL_ERROR_SIZE];
};

struct floor {
    struct ev_loop *loop;
    CURLM *multi;
    ev_timer timer;
    const char *url;
    char *body;
    long body_len;
    struct curl_slist *headers;
    struct slot *slots;
    int conns;
    /* the run */
    int measuring;
    long warmup_left;  /* transfers still to do before measuring */
    long requests;     /* 0: run for seconds */
    double seconds;
    double t_start, t_end;
    long done, errors, started;
    double *lat;       /* latency of each measured transfer, seconds */
    size_t nlat, cap_lat;
    int stopping;
    int reported;      /* a failed transfer was reported on stderr */
    const char *ready_file;
    struct rusage ru0;
};

struct sock_watch {
    ev_io io;
    struct floor *f;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check_multi_info(struct floor *f);

static void socket_action(struct floor *f, curl_socket_t fd, int action)
{
    int running;
    curl_multi_socket_action(f->multi, fd, action, &running);
    check_multi_info(f);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    struct sock_watch *sw = w->data;
    int action = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
                 (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
    socket_action(sw->f, w->fd, action);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    socket_action(w->data, CURL_SOCKET_TIMEOUT, 0);
}

/* The same glue as zend's sock_cb / multi_timer_set. */
static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    struct floor *f = userp;
    struct sock_watch *sw = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (sw) {
            ev_io_stop(f->loop, &sw->io);
            free(sw);
            curl_multi_assign(f->multi, s, NULL);
        }
        return 0;
    }
    if (!sw) {
        sw = calloc(1, sizeof(*sw));
        if (!sw)
            return -1;
        sw->f = f;
        curl_multi_assign(f->multi, s, sw);
    } else {
        ev_io_stop(f->loop, &sw->io);
    }
    int events = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
    ev_io_init(&sw->io, io_cb, s, events);
    sw->io.data = sw;
    ev_io_start(f->loop, &sw->io);
    return 0;
}

static int timer_set(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct floor *f = userp;
    ev_timer_stop(f->loop, &f->timer);
    if (timeout_ms >= 0) {
        ev_timer_set(&f->timer, (double)timeout_ms / 1000.0, 0.);
        ev_timer_start(f->loop, &f->timer);
    }
    return 0;
}

static size_t header_cb(char *b, size_t size, size_t n, void *ud)
{
    (void)b;
    (void)ud;
    return size * n;
}

static size_t write_cb(char *b, size_t size, size_t n, void *ud)
{
    (void)b;
    struct slot *s = ud;
    s->bytes += (long)(size * n);
    return size * n;
}

/* zend's upstream_start: every option it sets on a (pooled, reset) easy
 * handle, with the values it uses for a plain-http provider, no proxy, no
 * CA file, POST with a body. */
static int start_transfer(struct floor *f, struct slot *s)
{
    CURL *e = s->easy;
    curl_easy_setopt(e, CURLOPT_URL, f->url);
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(e, CURLOPT_PRIVATE, s);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, strncasecmp(f->url, "https:", 6) == 0 ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, UPSTREAM_MAX_CONN_AGE_S);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, f->headers);
    curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)f->body_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, f->body);
    s->start = now_s();
    s->bytes = 0;
    if (curl_multi_add_handle(f->multi, e) != CURLM_OK)
        return -1;
    f->started++;
    return 0;
}

static void begin_measuring(struct floor *f)
{
    if (f->ready_file) {
        /* Tell the bench we are warm, then wait for its go. */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        FILE *rf = fopen(f->ready_file, "w");
        if (rf) {
            fputs("ready\n", rf);
            fclose(rf);
        }
        int sig;
        sigwait(&set, &sig);
    }
    f->measuring = 1;
    f->done = f->errors = 0;
    f->nlat = 0;
    getrusage(RUSAGE_SELF, &f->ru0);
    f->t_start = now_s();
}

static void record(struct floor *f, double lat)
{
    if (f->nlat == f->cap_lat) {
        size_t cap = f->cap_lat ? f->cap_lat * 2 : 65536;
        double *p = realloc(f->lat, cap * sizeof(*p));
        if (!p)
            return;
        f->lat = p;
        f->cap_lat = cap;
    }
    f->lat[f->nlat++] = lat;
}

static void check_multi_info(struct floor *f)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(f->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *e = m->easy_handle;
        CURLcode rc = m->data.result;
        struct slot *s;
        long status = 0;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&s);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        double t = now_s();
        /* zend's transfer_free + release_easy: the handle goes back, reset */
        curl_multi_remove_handle(f->multi, e);
        curl_easy_reset(e);
        int ok = rc == CURLE_OK && status >= 200 && status < 300;
        if (f->measuring) {
            f->done++;
            if (!ok)
                f->errors++;
            record(f, t - s->start);
        } else if (f->warmup_left > 0) {
            f->warmup_left--;
        }
        if (!ok && !f->reported++)
            fprintf(stderr, "curlfloor: transfer failed: %s, status %ld\n",
                    curl_easy_strerror(rc), status);
        if (f->stopping)
            continue;
        if (f->measuring &&
            ((f->requests && f->started >= f->requests) ||
             (!f->requests && t - f->t_start >= f->seconds))) {
            f->stopping = 1;
            continue;
        }
        start_transfer(f, s);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: curlfloor --url URL --body FILE [-H 'Name: value']... --conns N "
                    "(--seconds S | --requests N) [--warmup-requests W] [--ready-file F]\n");
    exit(2);
}

static char *read_file(const char *path, long *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, r;
    char chunk[4096];
    while ((r = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        if (n + r > cap) {
            cap = (n + r) * 2;
            char *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(fp);
                return NULL;
            }
            buf = p;
        }
        memcpy(buf + n, chunk, r);
        n += r;
    }
    fclose(fp);
    *len = (long)n;
    return buf ? buf : calloc(1, 1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
    if (!n)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

static double tv_s(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

int main(int argc, char **argv)
{
    struct floor f = {0};
    const char *body_path = NULL;
    long warmup = 0;
    f.conns = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (strcmp(a, "--url") == 0)
            f.url = v;
        else if (strcmp(a, "--body") == 0)
            body_path = v;
        else if (strcmp(a, "-H") == 0) {
            struct curl_slist *l = curl_slist_append(f.headers, v);
            if (!l)
                return 1;
            f.headers = l;
        } else if (strcmp(a, "--conns") == 0)
            f.conns = atoi(v);
        else if (strcmp(a, "--seconds") == 0)
            f.seconds = atof(v);
        else if (strcmp(a, "--requests") == 0)
            f.requests = atol(v);
        else if (strcmp(a, "--warmup-requests") == 0)
            warmup = atol(v);
        else if (strcmp(a, "--ready-file") == 0)
            f.ready_file = v;
        else
            usage();
    }
    if (!f.url || !body_path || f.conns < 1 || f.conns > MAX_CONNS ||
        (f.seconds <= 0 && f.requests <= 0))
        usage();
    f.body = read_file(body_path, &f.body_len);
    if (!f.body) {
        fprintf(stderr, "curlfloor: %s: %s\n", body_path, strerror(errno));
        return 1;
    }
    if (f.ready_file) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        sigprocmask(SIG_BLOCK, &set, NULL);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    f.loop = EV_DEFAULT;
    f.multi = curl_multi_init();
    ev_timer_init(&f.timer, timer_cb, 0., 0.);
    f.timer.data = &f;
    curl_multi_setopt(f.multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(f.multi, CURLMOPT_SOCKETDATA, &f);
    curl_multi_setopt(f.multi, CURLMOPT_TIMERFUNCTION, timer_set);
    curl_multi_setopt(f.multi, CURLMOPT_TIMERDATA, &f);
    curl_multi_setopt(f.multi, CURLMOPT_MAXCONNECTS, UPSTREAM_MAX_CACHED_CONNS);
    curl_multi_setopt(f.multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    f.slots = calloc((size_t)f.conns, sizeof(*f.slots));
    if (!f.slots)
        return 1;
    for (int i = 0; i < f.conns; i++) {
        f.slots[i].easy = curl_easy_init();
        if (!f.slots[i].easy)
            return 1;
    }

    /* Warm-up: at least one transfer per slot (each opens its connection),
     * run to completion, so the measured part starts with a warm pool. */
    if (warmup < f.conns)
        warmup = f.conns;
    long rounds = (warmup + f.conns - 1) / f.conns;
    for (long r = 0; r < rounds; r++) {
        f.stopping = 0;
        f.warmup_left = f.conns;
        for (int i = 0; i < f.conns; i++)
            start_transfer(&f, &f.slots[i]);
        f.stopping = 1; /* each slot does one transfer this round */
        while (f.warmup_left > 0 && ev_run(f.loop, EVRUN_ONCE))
            ;
    }
    f.stopping = 0;
    f.started = 0;
    begin_measuring(&f);
    for (int i = 0; i < f.conns && (!f.requests || i < f.requests); i++)
        start_transfer(&f, &f.slots[i]);
    /* the transfers in flight when the time is up finish and are counted */
    while (!(f.stopping && f.done >= f.started) && ev_run(f.loop, EVRUN_ONCE))
        ;
    f.t_end = now_s();
    struct rusage ru1;
    getrusage(RUSAGE_SELF, &ru1);
    double wall = f.t_end - f.t_start;
    double ut = tv_s(ru1.ru_utime) - tv_s(f.ru0.ru_utime);
    double st = tv_s(ru1.ru_stime) - tv_s(f.ru0.ru_stime);
    qsort(f.lat, f.nlat, sizeof(*f.lat), cmp_double);
    printf("{\"conns\": %d, \"transfers\": %ld, \"errors\": %ld, \"seconds\": %.4f, "
           "\"rps\": %.1f, \"p50_ms\": %.4f, \"p99_ms\": %.4f, \"cpu_user_s\": %.4f, "
           "\"cpu_sys_s\": %.4f, \"cpu_us_per_req\": %.3f}\n",
           f.conns, f.done, f.errors, wall, wall > 0 ? (double)f.done / wall : 0.0,
           pct(f.lat, f.nlat, 0.50) * 1000, pct(f.lat, f.nlat, 0.99) * 1000, ut, st,
           f.done ? (ut + st) * 1e6 / (double)f.done : 0.0);
    for (int i = 0; i < f.conns; i++)
        curl_easy_cleanup(f.slots[i].easy);
    curl_multi_cleanup(f.multi);
    curl_slist_free_all(f.headers);
    curl_global_cleanup();
    free(f.slots);
    free(f.lat);
    free(f.body);
    return f.errors && f.errors == f.done ? 1 : 0;
}
