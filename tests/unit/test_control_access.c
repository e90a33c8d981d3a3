/* Unit tests for control_access.c: who is one of daemon.control_readers.
 * The user database is a fake, so every case -- another uid, a primary
 * group, a supplementary group, a name that is both a user and a group, a
 * name nobody has -- runs without root or real accounts. */
#include "control_access.h"

#include <CUnit/CUnit.h>
#include <string.h>

#include "common.h"
#include "testutil.h"

/* The fake system: users alice (1001, group 1001), nagios (1002), and
 * nobody2 (1003, member of monitor); groups alice (1001), nagios (2002: a
 * user and a group of the same name with different ids), monitor (3000). */
static const struct {
    const char *name;
    unsigned id;
} fake_users[] = {{"alice", 1001}, {"nagios", 1002}, {"nobody2", 1003}},
  fake_groups[] = {{"alice", 1001}, {"nagios", 2002}, {"monitor", 3000}};

static int groups_lookups;

static int fake_user_uid(const char *name, uid_t *uid)
{
    for (size_t i = 0; i < ZEN_ARRAY_LEN(fake_users); i++)
        if (strcmp(fake_users[i].name, name) == 0) {
            *uid = fake_users[i].id;
            return ZEN_OK;
        }
    return ZEN_ERR;
}

static int fake_group_gid(const char *name, gid_t *gid)
{
    for (size_t i = 0; i < ZEN_ARRAY_LEN(fake_groups); i++)
        if (strcmp(fake_groups[i].name, name) == 0) {
            *gid = fake_groups[i].id;
            return ZEN_OK;
        }
    return ZEN_ERR;
}

/* uid 1003 is in monitor besides its primary group; everyone else has
 * only the primary one. */
static void fake_user_groups(uid_t uid, gid_t gid, gid_t *groups, int *n)
{
    groups_lookups++;
    CU_ASSERT_TRUE(*n >= 2);
    groups[0] = gid;
    *n = 1;
    if (uid == 1003)
        groups[(*n)++] = 3000;
}

static const struct control_ids fake_ids = {fake_user_uid, fake_group_gid, fake_user_groups};

static int is_reader(char *const *readers, size_t n, unsigned uid, unsigned gid)
{
    return control_access_is_reader(readers, n, (uid_t)uid, (gid_t)gid, &fake_ids);
}

static void test_users_match_by_uid(void)
{
    char *readers[] = {"ghost", "alice"};
    CU_ASSERT_TRUE(is_reader(readers, 2, 1001, 50));
    CU_ASSERT_FALSE(is_reader(readers, 2, 1002, 50));
    CU_ASSERT_FALSE(is_reader(readers, 2, 0, 0)); /* root is zend's business, not ours */
    CU_ASSERT_FALSE(is_reader(readers, 0, 1001, 1001)); /* an empty list admits nobody */
}

static void test_groups_match_primary_and_supplementary(void)
{
    char *readers[] = {"monitor"};
    CU_ASSERT_TRUE(is_reader(readers, 1, 4242, 3000));  /* primary gid (SO_PEERCRED) */
    CU_ASSERT_TRUE(is_reader(readers, 1, 1003, 1003));  /* a member (getgrouplist) */
    CU_ASSERT_FALSE(is_reader(readers, 1, 1001, 1001)); /* neither */
    CU_ASSERT_FALSE(is_reader(readers, 1, 3000, 1001)); /* a uid equal to the gid is not it */
}

/* "nagios" is both a user (1002) and a group (2002): either admits. */
static void test_a_name_may_be_user_and_group(void)
{
    char *readers[] = {"nagios"};
    CU_ASSERT_TRUE(is_reader(readers, 1, 1002, 1));
    CU_ASSERT_TRUE(is_reader(readers, 1, 7, 2002));
    CU_ASSERT_FALSE(is_reader(readers, 1, 2002, 1002));
}

/* Unknown names match nobody, and the groups of the peer are looked up at
 * most once per check, only when a listed group needs them. */
static void test_unknown_names_and_lookup_count(void)
{
    char *readers[] = {"ghost", "monitor", "nagios", "alice"};
    groups_lookups = 0;
    CU_ASSERT_FALSE(is_reader(readers, 1, 1001, 1001));
    CU_ASSERT_EQUAL(groups_lookups, 0);
    CU_ASSERT_TRUE(is_reader(readers, 4, 1001, 1001)); /* by user name, last */
    CU_ASSERT_EQUAL(groups_lookups, 1);
    groups_lookups = 0;
    CU_ASSERT_FALSE(is_reader(readers, 3, 5, 5));
    CU_ASSERT_EQUAL(groups_lookups, 1);
}

static void test_socket_group_is_the_first_group(void)
{
    gid_t gid = 0;
    char *users_first[] = {"ghost", "nobody2", "monitor", "alice"};
    CU_ASSERT_EQUAL(control_access_socket_group(users_first, 4, &fake_ids, &gid), ZEN_OK);
    CU_ASSERT_EQUAL(gid, 3000);
    char *only_users[] = {"nobody2", "ghost"};
    CU_ASSERT_EQUAL(control_access_socket_group(only_users, 2, &fake_ids, &gid), ZEN_ERR);
}

/* The system table against the real database: root is uid 0 and group 0
 * on every Linux, and a root peer is in group root. */
static void test_system_lookups(void)
{
    char *readers[] = {"root"};
    CU_ASSERT_TRUE(control_access_is_reader(readers, 1, 0, 0, &control_ids_system));
    char *nobody_here[] = {"zend-no-such-name-42"};
    CU_ASSERT_FALSE(control_access_is_reader(nobody_here, 1, 0, 0, &control_ids_system));
    gid_t gid = 99;
    CU_ASSERT_EQUAL(control_access_socket_group(readers, 1, &control_ids_system, &gid), ZEN_OK);
    CU_ASSERT_EQUAL(gid, 0);
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("control_access", NULL, NULL);
    TU_ADD(s, test_users_match_by_uid);
    TU_ADD(s, test_groups_match_primary_and_supplementary);
    TU_ADD(s, test_a_name_may_be_user_and_group);
    TU_ADD(s, test_unknown_names_and_lookup_count);
    TU_ADD(s, test_socket_group_is_the_first_group);
    TU_ADD(s, test_system_lookups);
}
