#include "listener.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

int listener_open(const char *host, int port, int *bound_port, int *in_use, char *err,
                  size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    memset(&ss, 0, sizeof(ss));
    *in_use = 0;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        sslen = sizeof(*sin);
    } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        sslen = sizeof(*sin6);
    } else {
        snprintf(err, errlen, "%s is not a numeric address", host);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    /* SO_REUSEADDR: a restart must not wait out TIME_WAIT of the last run. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sslen) != 0 || listen(fd, LISTENER_BACKLOG) != 0) {
        int saved = errno;
        *in_use = saved == EADDRINUSE;
        snprintf(err, errlen, "%s", strerror(saved));
        close(fd);
        return -1;
    }
    struct sockaddr_storage got;
    socklen_t gotlen = sizeof(got);
    getsockname(fd, (struct sockaddr *)&got, &gotlen);
    *bound_port = got.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&got)->sin6_port)
                                            : ntohs(((struct sockaddr_in *)&got)->sin_port);
    return fd;
}

/* Inode of a socket listening on `port` in /proc/net/tcp{,6}, or 0. */
static unsigned long find_listen_inode(const char *table, int port)
{
    FILE *f = fopen(table, "re");
    if (!f)
        return 0;
    char line[512];
    unsigned long inode = 0;
    if (!fgets(line, sizeof(line), f)) { /* header */
        fclose(f);
        return 0;
    }
    while (!inode && fgets(line, sizeof(line), f)) {
        char local[64];
        unsigned int state;
        unsigned long ino;
        /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
        if (sscanf(line, " %*s %63s %*s %x %*s %*s %*s %*s %*s %lu", local, &state, &ino) != 3)
            continue;
        char *colon = strrchr(local, ':');
        if (colon && state == 0x0A && strtol(colon + 1, NULL, 16) == port)
            inode = ino;
    }
    fclose(f);
    return inode;
}

static int pid_has_socket(const char *pid, const char *want)
{
    char dir[300], link[300 + 256], target[64];
    snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n > 0) {
            target[n] = '\0';
            found = strcmp(target, want) == 0;
        }
    }
    closedir(d);
    return found;
}

void listener_describe_holder(int port, char *out, size_t outlen)
{
    out[0] = '\0';
    unsigned long inode = find_listen_inode("/proc/net/tcp", port);
    if (!inode)
        inode = find_listen_inode("/proc/net/tcp6", port);
    if (!inode)
        return;
    char want[64];
    snprintf(want, sizeof(want), "socket:[%lu]", inode);
    DIR *proc = opendir("/proc");
    if (!proc)
        return;
    struct dirent *e;
    while ((e = readdir(proc))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9' || !pid_has_socket(e->d_name, want))
            continue;
        char path[300], comm[64] = "?";
        snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
        FILE *f = fopen(path, "re");
        if (f) {
            if (fgets(comm, sizeof(comm), f))
                comm[strcspn(comm, "\n")] = '\0';
            fclose(f);
        }
        snprintf(out, outlen, "pid %s (%s)", e->d_name, comm);
        break;
    }
    closedir(proc);
}
