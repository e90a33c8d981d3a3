/* udsecho: the floor under the bench's health row. A single-threaded echo
 * server on a Unix stream socket: every byte a client sends comes straight
 * back. The bench sends it the bytes of a health answer and decodes the
 * echo as it decodes zend's answer, interleaved with real health calls, on
 * the same CPUs as zend, while the same streams are open. What the echo
 * takes is what the machine charges any server for one round trip on that
 * core at that moment (two wake-ups, two context switches, the client's
 * decoding), before zend does anything of its own.
 *
 * Built by tests/bench/bench.py: cc -O2 -Wall -Wextra udsecho.c
 *
 *   udsecho --socket PATH [--ready-file F]
 *
 * --ready-file: written once the socket listens. Runs until killed.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_CONNS 16

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* Writes all of buf (the client reads its echo before it sends again, so
 * a blocking write never waits long). */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *ready = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--socket") == 0)
            path = argv[i + 1];
        else if (strcmp(argv[i], "--ready-file") == 0)
            ready = argv[i + 1];
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!path || strlen(path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "usage: udsecho --socket PATH [--ready-file F]\n");
        return 2;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    unlink(path);
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0)
        die("socket");
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 16) < 0)
        die("bind/listen");
    if (ready) {
        FILE *f = fopen(ready, "w");
        if (!f)
            die(ready);
        fclose(f);
    }
    struct pollfd p[1 + MAX_CONNS];
    int n = 1;
    p[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
    static char buf[1 << 16];
    for (;;) {
        if (poll(p, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        for (int i = n - 1; i >= 1; i--) {
            if (!p[i].revents)
                continue;
            ssize_t got = read(p[i].fd, buf, sizeof(buf));
            if (got > 0 && write_all(p[i].fd, buf, (size_t)got) == 0)
                continue;
            if (got < 0 && errno == EINTR)
                continue;
            close(p[i].fd);
            p[i] = p[--n];
        }
        if (p[0].revents & POLLIN) {
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0 && n < 1 + MAX_CONNS)
                p[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
            else if (fd >= 0)
                close(fd);
        }
    }
}
