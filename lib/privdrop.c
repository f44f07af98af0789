/*
 * Giving up root: switch user and group, keep only CAP_SYS_TIME.
 *
 * The order matters.  The bounding set can only shrink while we still
 * have CAP_SETPCAP, so it goes first; PR_SET_KEEPCAPS keeps the permitted
 * set across setresuid(), after which capset() narrows it to the one
 * capability and turns that on.  Then we check that the kernel agrees and
 * that root cannot be had back.  Plain prctl/capset: no library needed.
 *
 * Capability sets and the bounding set belong to each thread, and server
 * workers and libuv's pool threads exist by the time we switch: the
 * user switch reaches them (glibc applies it to every thread), which
 * empties their permitted sets, but their bounding sets stay as they
 * were.  So no_new_privs is set before any thread starts
 * (nt_privdrop_no_new_privs): no thread can ever gain a capability or a
 * user through execve, whatever its bounding set.
 */
#include <assert.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hostport.h"
#include "log.h"
#include "privdrop.h"

#define CAP_BIT(c)	(1u << ((c) % 32))
#define CAP_WORD(c)	((c) / 32)
#define MAX_CAP		63	/* probed: prctl stops at the kernel's last */

/*
 * The groups to run with: the user's own only (as chronyd does: a client
 * or slave needs no other, and enumerating them runs every NSS module,
 * which would stay mapped in the daemon), or with keep_groups all those
 * /etc/group gives the user: a master reopens serial and PPS devices after
 * the switch, and those are usually reached through a group (dialout).
 */
static int
lookup_groups(const char *user, bool keep_groups, struct nt_privdrop_user *u,
    char *err, size_t errlen)
{
	int n = NT_PRIVDROP_MAX_GROUPS;
	gid_t *all = NULL;

	u->groups[0] = u->gid;
	u->ngroups = 1;
	if (!keep_groups)
		return (0);
	if (getgrouplist(user, u->gid, u->groups, &n) >= 0) {
		assert(n >= 1 && n <= NT_PRIVDROP_MAX_GROUPS);
		u->ngroups = n;
		return (0);
	}
	/* More than fit: n says how many (glibc); keep the first ones. */
	if (n <= NT_PRIVDROP_MAX_GROUPS || (all = calloc((size_t)n,
	    sizeof *all)) == NULL || getgrouplist(user, u->gid, all, &n) < 0) {
		free(all);
		snprintf(err, errlen, "cannot list the groups of user '%s'",
		    user);
		return (-1);
	}
	memcpy(u->groups, all, sizeof u->groups);
	u->ngroups = NT_PRIVDROP_MAX_GROUPS;
	free(all);
	nt_log(NT_LOG_WARNING, "user '%s' is in %d groups: only the first %d "
	    "kept", user, n, NT_PRIVDROP_MAX_GROUPS);
	return (0);
}

/*
 * The account of user into pw (its strings in buf): 1 found, 0 surely
 * not there, -1 when the lookup itself failed (*e says why).
 */
static int
find_user(const char *user, struct passwd *pw, char *buf, size_t len,
    int *e)
{
	struct passwd *res = NULL;

	*e = getpwnam_r(user, pw, buf, len, &res);
	if (res != NULL)
		return (1);
	return (*e == 0 ? 0 : -1);
}

/*
 * The verdict on user from a lookup that said found (1, uid), not there
 * (0) or failed (-1, error e); where says where a missing one was sought.
 */
static int
name_verdict(const char *user, int found, uid_t uid, int e,
    const char *where, char *err, size_t errlen)
{
	char q[80];

	nt_printable(user, q, sizeof q);
	/* The binary works without the package (see privdrop.h). */
	if (found == 0 && strcmp(user, NT_PRIVDROP_DEFAULT_USER) == 0)
		return (0);
	if (found == 0)
		snprintf(err, errlen, "no such user '%s'%s", q, where);
	else if (found < 0)
		snprintf(err, errlen, "cannot look up user '%s': %s", q,
		    strerror(e));
	else if (uid == 0)
		snprintf(err, errlen, "user '%s' has uid 0, that is root (say "
		    "'root' to stay root)", q);
	else
		return (0);
	return (-1);
}

int
nt_privdrop_check_name(const char *user, char *err, size_t errlen)
{
	struct passwd pw;
	char buf[4096];
	int found, e;

	if (user[0] == '\0' || strcmp(user, "root") == 0)
		return (0);
	found = find_user(user, &pw, buf, sizeof buf, &e);
	return (name_verdict(user, found, found > 0 ? pw.pw_uid : 0, e, "",
	    err, errlen));
}

int
nt_privdrop_check_name_files(const char *user, char *err, size_t errlen)
{
	struct passwd pw, *res;
	char buf[4096];
	int found = 0, e = 0;
	FILE *f;

	if (user[0] == '\0' || strcmp(user, "root") == 0)
		return (0);
	if ((f = fopen(NT_PRIVDROP_PASSWD, "re")) == NULL) {
		e = errno;
		found = -1;
	}
	while (found == 0 && (e = fgetpwent_r(f, &pw, buf, sizeof buf,
	    &res)) == 0)
		found = strcmp(pw.pw_name, user) == 0;
	if (found == 0 && e != ENOENT)
		found = -1;	/* a read error, not the end */
	if (f != NULL)
		fclose(f);
	return (name_verdict(user, found, found > 0 ? pw.pw_uid : 0, e,
	    " in " NT_PRIVDROP_PASSWD " (a sandboxed daemon reads no other "
	    "account source; a restart asks all)", err, errlen));
}

int
nt_privdrop_lookup(const char *user, bool keep_groups,
    struct nt_privdrop_user *u, char *err, size_t errlen)
{
	struct passwd pw;
	char buf[4096];
	int found, e;

	if (geteuid() != 0) {
		nt_log(NT_LOG_DEBUG, "not started as root: no user to switch "
		    "to, capabilities left as they are");
		return (NT_PRIVDROP_STAY);
	}
	if (user == NULL || user[0] == '\0' || strcmp(user, "root") == 0) {
		nt_log(NT_LOG_DEBUG, "user root: keeping root's privileges");
		return (NT_PRIVDROP_STAY);
	}
	found = find_user(user, &pw, buf, sizeof buf, &e);
	/* Only a user that surely does not exist lets us stay root. */
	if (found == 0 && strcmp(user, NT_PRIVDROP_DEFAULT_USER) == 0)
		return (NT_PRIVDROP_NO_USER);	/* the caller says it */
	if (found != 1) {
		snprintf(err, errlen, "user '%s': %s", user, found < 0 ?
		    strerror(e) : "no such user");
		return (-1);
	}
	if (strlen(user) >= sizeof u->name || pw.pw_uid == 0) {
		snprintf(err, errlen, "user '%s': %s", user, pw.pw_uid == 0 ?
		    "has uid 0, that is root" : "name too long");
		return (-1);
	}
	strlcpy(u->name, user, sizeof u->name);
	u->uid = pw.pw_uid;
	u->gid = pw.pw_gid;
	if (lookup_groups(user, keep_groups, u, err, errlen) != 0)
		return (-1);
	return (NT_PRIVDROP_SWITCH);
}

int
nt_privdrop_no_new_privs(char *err, size_t errlen)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		snprintf(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s",
		    strerror(errno));
		return (-1);
	}
	return (0);
}

/* Everything but keep (-1: nothing) out of the bounding set. */
static int
drop_bounding(int keep, char *err, size_t errlen)
{
	for (int c = 0; c <= MAX_CAP; c++) {
		if (c == keep)
			continue;
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) < 0)
			break;		/* past the kernel's last capability */
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0) {
			snprintf(err, errlen, "cannot drop capability %d from "
			    "the bounding set: %s", c, strerror(errno));
			return (-1);
		}
	}
	return (0);
}

static int
switch_ids(const struct nt_privdrop_user *u, char *err, size_t errlen)
{
	const char *what;

	if (setgroups((size_t)u->ngroups, u->groups) != 0)
		what = "setgroups";
	else if (setresgid(u->gid, u->gid, u->gid) != 0)
		what = "setresgid";
	else if (setresuid(u->uid, u->uid, u->uid) != 0)
		what = "setresuid";
	else
		return (0);
	snprintf(err, errlen, "cannot become user '%s': %s: %s", u->name,
	    what, strerror(errno));
	return (-1);
}

/* Permitted = effective = want (a mask of the low 32), nothing else. */
static int
set_caps(uint32_t want, char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof data);
	data[0].permitted = data[0].effective = want;
	if (syscall(SYS_capset, &hdr, data) != 0) {
		snprintf(err, errlen, "capset: %s", strerror(errno));
		return (-1);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 &&
	    errno != EINVAL) {
		snprintf(err, errlen, "cannot clear the ambient capabilities: "
		    "%s", strerror(errno));
		return (-1);
	}
	return (0);
}

/* Trust, but verify: the kernel's view, and no way back to root. */
static int
verify(const struct nt_privdrop_user *u, uint32_t want, char *err,
    size_t errlen)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) != 0 ||
	    data[0].permitted != want || data[0].effective != want ||
	    data[0].inheritable != 0 || data[1].permitted != 0 ||
	    data[1].effective != 0 || data[1].inheritable != 0) {
		snprintf(err, errlen, "capabilities not as set after the "
		    "switch to user '%s'", u->name);
		return (-1);
	}
	if (getuid() != u->uid || geteuid() != u->uid || getgid() != u->gid ||
	    getegid() != u->gid || setuid(0) == 0 || setgid(0) == 0) {
		snprintf(err, errlen, "user or group not as set after the "
		    "switch to user '%s'", u->name);
		return (-1);
	}
	return (0);
}

int
nt_privdrop_switch(const struct nt_privdrop_user *u, bool keep_time,
    char *err, size_t errlen)
{
	uint32_t want = keep_time ? CAP_BIT(CAP_SYS_TIME) : 0;

	_Static_assert(CAP_WORD(CAP_SYS_TIME) == 0, "CAP_SYS_TIME in word 0");
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
		snprintf(err, errlen, "prctl(PR_SET_KEEPCAPS): %s",
		    strerror(errno));
		return (-1);
	}
	if (drop_bounding(keep_time ? CAP_SYS_TIME : -1, err, errlen) != 0 ||
	    switch_ids(u, err, errlen) != 0 ||
	    set_caps(want, err, errlen) != 0)
		return (-1);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) {
		snprintf(err, errlen, "prctl(PR_SET_KEEPCAPS): %s",
		    strerror(errno));
		return (-1);
	}
	if (verify(u, want, err, errlen) != 0)
		return (-1);
	nt_log(NT_LOG_INFO, "running as user %s (uid %u, gid %u) with %s",
	    u->name, (unsigned)u->uid, (unsigned)u->gid, keep_time ?
	    "only CAP_SYS_TIME" : "no capabilities");
	return (0);
}
