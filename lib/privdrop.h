/*
 * Giving up root once the privileged start-up is done.
 *
 * A daemon started as root opens port 123, devices and its control socket,
 * then becomes an ordinary user that keeps one capability: CAP_SYS_TIME,
 * to steer the clock (none at all for --dry-run).  What parses packets from
 * the network then cannot do much else even if it is subverted.
 */
#ifndef NTIMED_PRIVDROP_H
#define NTIMED_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define NT_PRIVDROP_DEFAULT_USER "ntimed"
#define NT_PRIVDROP_MAX_GROUPS	64

/* The account to switch to, looked up while /etc is still readable. */
struct nt_privdrop_user {
	char	name[64];
	uid_t	uid;
	gid_t	gid;
	int	ngroups;	/* groups[0] is gid */
	gid_t	groups[NT_PRIVDROP_MAX_GROUPS];
};

/*
 * What nt_privdrop_lookup() decided: switch to u, stay as we are (not
 * root, or "root" asked for), stay root because the default user does
 * not exist (how loudly to say so is the caller's choice), or fail.
 */
enum nt_privdrop_plan {
	NT_PRIVDROP_SWITCH,
	NT_PRIVDROP_STAY,
	NT_PRIVDROP_NO_USER,
};

/*
 * Look user up.  Returns the plan, or -1 with a one-line err: a user other
 * than the default that does not exist is an error (like chronyd -u); the
 * default user missing is NT_PRIVDROP_NO_USER, so the binary works without
 * the package.
 * The groups kept are the user's own only, or with keep_groups all of the
 * user's supplementary groups too (a master's devices).
 */
int nt_privdrop_lookup(const char *user, bool keep_groups,
    struct nt_privdrop_user *u, char *err, size_t errlen);

/*
 * Whether "user:" names an account the daemon could become, asked of the
 * account database whoever we are (the loader calls it, so that a bad
 * file is refused at its line, a reload too): 0 for root, an existing
 * user other than uid 0, and the default user even when missing (see
 * above); else -1 with a reason ("no such user 'x'") in err.
 */
int nt_privdrop_check_name(const char *user, char *err, size_t errlen);
/*
 * The same from NT_PRIVDROP_PASSWD alone: what a daemon under its
 * seccomp sandbox can still ask (NSS modules other than "files" open
 * sockets and more that the filter kills).
 */
#define NT_PRIVDROP_PASSWD	"/etc/passwd"
int nt_privdrop_check_name_files(const char *user, char *err,
    size_t errlen);

/*
 * Set no_new_privs: execve can never raise privileges again (set-user-ID
 * bits and file capabilities are ignored).  Call before any thread
 * starts, so that every thread inherits it.  We never execve anyway.
 */
int nt_privdrop_no_new_privs(char *err, size_t errlen);

/*
 * Become u (with the groups looked up), keeping CAP_SYS_TIME in the
 * permitted and effective sets when keep_time, no other capability, and
 * nothing in the inheritable, ambient and bounding sets beyond it.
 * Returns 0, or -1 with a one-line err (then exit: half-dropped is unsafe).
 */
int nt_privdrop_switch(const struct nt_privdrop_user *u, bool keep_time,
    char *err, size_t errlen);

#endif
