#include "control_access.h"

#include <grp.h>
#include <pwd.h>
#include <string.h>

#include "common.h"

/* zend is one thread: the non-reentrant lookups are safe here. */
static int sys_user_uid(const char *name, uid_t *uid)
{
    const struct passwd *pw = getpwnam(name);
    if (!pw)
        return ZEN_ERR;
    *uid = pw->pw_uid;
    return ZEN_OK;
}

static int sys_group_gid(const char *name, gid_t *gid)
{
    const struct group *gr = getgrnam(name);
    if (!gr)
        return ZEN_ERR;
    *gid = gr->gr_gid;
    return ZEN_OK;
}

static void sys_user_groups(uid_t uid, gid_t gid, gid_t *groups, int *n)
{
    const struct passwd *pw = getpwuid(uid);
    int room = *n;
    if (pw) {
        /* getgrouplist puts gid in the list itself. With more groups than
         * room it fails but fills what fits (glibc), and that is checked. */
        if (getgrouplist(pw->pw_name, gid, groups, n) < 0 && *n > room)
            *n = room;
        if (*n > 0)
            return;
    }
    groups[0] = gid;
    *n = 1;
}

const struct control_ids control_ids_system = {sys_user_uid, sys_group_gid, sys_user_groups};

int control_access_is_reader(char *const *readers, size_t n, uid_t uid, gid_t gid,
                             const struct control_ids *ids)
{
    gid_t groups[CONTROL_ACCESS_MAX_GROUPS];
    int n_groups = -1; /* looked up once, when a listed group needs it */
    for (size_t i = 0; i < n; i++) {
        uid_t u;
        gid_t g;
        if (ids->user_uid(readers[i], &u) == ZEN_OK && u == uid)
            return 1;
        if (ids->group_gid(readers[i], &g) != ZEN_OK)
            continue;
        if (g == gid)
            return 1;
        if (n_groups < 0) {
            n_groups = CONTROL_ACCESS_MAX_GROUPS;
            ids->user_groups(uid, gid, groups, &n_groups);
        }
        for (int k = 0; k < n_groups; k++)
            if (groups[k] == g)
                return 1;
    }
    return 0;
}

int control_access_socket_group(char *const *readers, size_t n, const struct control_ids *ids,
                                gid_t *gid)
{
    for (size_t i = 0; i < n; i++)
        if (ids->group_gid(readers[i], gid) == ZEN_OK)
            return ZEN_OK;
    return ZEN_ERR;
}
