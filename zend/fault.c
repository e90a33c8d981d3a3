#include "fault.h"

#include <execinfo.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define FAULT_MAX_FRAMES 48
#define FAULT_SYMBOLS_MAX 12288
#define FAULT_LINE_MAX 16384

/* Everything the handler needs exists before it runs: no allocation there. */
static int symbols_fd = -1;
static char symbols[FAULT_SYMBOLS_MAX];
static char line[FAULT_LINE_MAX];
static size_t line_len;

static void put(const char *s, size_t n)
{
    if (line_len + n >= sizeof(line) - 8)
        n = sizeof(line) - 8 - line_len;
    memcpy(line + line_len, s, n);
    line_len += n;
}

static void puts_(const char *s) { put(s, strlen(s)); }

static void put_uint(unsigned long long v, int width)
{
    char buf[24];
    int i = sizeof(buf);
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
        width--;
    } while (v || width > 0);
    put(buf + i, sizeof(buf) - (size_t)i);
}

/* JSON string body: quotes, backslashes and control bytes escaped. */
static void put_escaped(const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(e, 2);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(e, 6);
        } else {
            put((const char *)&s[i], 1);
        }
    }
}

/* UTC civil date from days since the epoch (Howard Hinnant's algorithm):
 * gmtime_r is not async-signal-safe. */
static void put_timestamp(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long secs = ts.tv_sec, days = secs / 86400, rem = secs % 86400;
    long long z = days + 719468, era = z / 146097, doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    long long d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    long long y = yoe + era * 400 + (m <= 2);
    put_uint((unsigned long long)y, 4);
    puts_("-");
    put_uint((unsigned long long)m, 2);
    puts_("-");
    put_uint((unsigned long long)d, 2);
    puts_("T");
    put_uint((unsigned long long)(rem / 3600), 2);
    puts_(":");
    put_uint((unsigned long long)(rem % 3600 / 60), 2);
    puts_(":");
    put_uint((unsigned long long)(rem % 60), 2);
    puts_(".");
    put_uint((unsigned long long)(ts.tv_nsec / 1000000), 3);
    puts_("Z");
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGABRT: return "SIGABRT";
    default: return "signal";
    }
}

static void put_backtrace(void)
{
    void *frames[FAULT_MAX_FRAMES];
    int n = backtrace(frames, FAULT_MAX_FRAMES);
    puts_(",\"backtrace\":[");
    if (symbols_fd >= 0 && ftruncate(symbols_fd, 0) == 0 && lseek(symbols_fd, 0, SEEK_SET) == 0) {
        backtrace_symbols_fd(frames, n, symbols_fd);
        ssize_t got = pread(symbols_fd, symbols, sizeof(symbols), 0);
        size_t start = 0;
        int first = 1;
        for (ssize_t i = 0; got > 0 && i < got; i++) {
            if (symbols[i] != '\n')
                continue;
            puts_(first ? "\"" : ",\"");
            put_escaped(symbols + start, (size_t)i - start);
            puts_("\"");
            first = 0;
            start = (size_t)i + 1;
        }
    }
    puts_("]");
}

static void on_fault(int sig)
{
    line_len = 0;
    puts_("{\"timestamp\":\"");
    put_timestamp();
    puts_("\",\"level\":\"error\",\"event\":\"worker_fault\",\"signal\":\"");
    puts_(signal_name(sig));
    puts_("\",\"pid\":");
    put_uint((unsigned long long)getpid(), 1);
    put_backtrace();
    puts_("}\n");
    int fd = zlog_file_fd();
    if (fd >= 0)
        (void)!write(fd, line, line_len);
    (void)!write(STDERR_FILENO, line, line_len);
    /* SA_RESETHAND restored the default action: die of the same signal. */
    raise(sig);
}

void fault_install(void)
{
    symbols_fd = memfd_create("zend-fault", MFD_CLOEXEC);
    /* The first backtrace() loads libgcc (it allocates): do it now. */
    void *warm[2];
    backtrace(warm, 2);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_fault;
    sa.sa_flags = SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGABRT};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
}
