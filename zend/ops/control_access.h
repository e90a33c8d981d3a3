/* control_access.h -- who may use the read-only control socket.
 *
 * daemon.control_readers lists user and group names. A peer of the read
 * socket is one of them when its uid is a listed user's, or when its
 * primary gid (SO_PEERCRED) or any group its user belongs to (getgrouplist)
 * is a listed group's. Names are looked up at every check, so a reload or a
 * new group member takes effect for the next connection. The lookups go
 * through a table of functions so a unit test can stand in for the system's
 * user database. */
#ifndef ZEND_CONTROL_ACCESS_H
#define ZEND_CONTROL_ACCESS_H

#include <stddef.h>
#include <sys/types.h>

/* A peer belongs to at most this many groups that we look at. */
#define CONTROL_ACCESS_MAX_GROUPS 256

struct control_ids {
    /* ZEN_OK and the id when a user / group of that name exists. */
    int (*user_uid)(const char *name, uid_t *uid);
    int (*group_gid)(const char *name, gid_t *gid);
    /* Every group of uid's user, gid included, into groups (room for *n);
     * *n gets the count. A uid without a user name has just gid. */
    void (*user_groups)(uid_t uid, gid_t gid, gid_t *groups, int *n);
};

/* The system's user and group database (getpwnam, getgrnam, getgrouplist). */
extern const struct control_ids control_ids_system;

/* Is the peer (uid, primary gid) one of the n readers? */
int control_access_is_reader(char *const *readers, size_t n, uid_t uid, gid_t gid,
                             const struct control_ids *ids);

/* The gid of the first reader that names a group: the read socket's group.
 * ZEN_ERR when none does. */
int control_access_socket_group(char *const *readers, size_t n, const struct control_ids *ids,
                                gid_t *gid);

#endif
