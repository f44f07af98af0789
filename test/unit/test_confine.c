/*
 * Tests of the privilege drop (lib/privdrop.c) and the seccomp filter
 * (lib/sandbox.c) in forked children, since both are one-way: the user
 * lookup's three outcomes; the loader's check of a name, also from
 * inside the filter as a reload makes it; a child that becomes "nobody"
 * and keeps CAP_SYS_TIME alone (or nothing); and children killed by
 * SIGSYS for a call the filter does not allow (execve, an AF_PACKET
 * socket, an ioctl the client never makes) while allowed ones work.  The
 * switch needs root: skipped otherwise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <linux/capability.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privdrop.h"
#include "sandbox.h"

/* Run fn in a child; its wait status. */
static int
in_child(int (*fn)(void *), void *arg)
{
	int st;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(arg));		/* no atexit: no leak check here */
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return (st);
}

static void
test_lookup(void **state)
{
	struct nt_privdrop_user u;
	char err[256] = "";

	(void)state;
	assert_int_equal(nt_privdrop_lookup("root", false, &u, err, sizeof err),
	    NT_PRIVDROP_STAY);
	if (geteuid() != 0) {
		assert_int_equal(nt_privdrop_lookup("_no_such_user_x", false, &u, err,
		    sizeof err), NT_PRIVDROP_STAY);
		skip();
	}
	assert_int_equal(nt_privdrop_lookup("_no_such_user_x", false, &u, err,
	    sizeof err), -1);
	assert_string_equal(err, "user '_no_such_user_x': no such user");
	assert_int_equal(nt_privdrop_lookup("nobody", false, &u, err,
	    sizeof err), NT_PRIVDROP_SWITCH);
	assert_string_equal(u.name, "nobody");
	assert_int_not_equal(u.uid, 0);
	assert_int_equal(u.ngroups, 1);
	assert_int_equal(u.groups[0], u.gid);
	/* With its supplementary groups: its own group comes first. */
	assert_int_equal(nt_privdrop_lookup("nobody", true, &u, err,
	    sizeof err), NT_PRIVDROP_SWITCH);
	assert_true(u.ngroups >= 1 && u.ngroups <= NT_PRIVDROP_MAX_GROUPS);
	assert_int_equal(u.groups[0], u.gid);
	if (getpwnam(NT_PRIVDROP_DEFAULT_USER) == NULL)
		assert_int_equal(nt_privdrop_lookup(NT_PRIVDROP_DEFAULT_USER,
		    false, &u, err, sizeof err), NT_PRIVDROP_NO_USER);
}

#define NO_USER_FILES "no such user '_no_such_user_x' in /etc/passwd (a " \
	"sandboxed daemon reads no other account source; a restart asks all)"

/* Whether /etc/passwd itself lists name (NSS may add others). */
static bool
in_passwd_file(const char *name)
{
	struct passwd *pw;
	bool found = false;
	FILE *f;

	if ((f = fopen("/etc/passwd", "r")) == NULL)
		return (false);
	while (!found && (pw = fgetpwent(f)) != NULL)
		found = strcmp(pw->pw_name, name) == 0;
	fclose(f);
	return (found);
}

/*
 * The loader's check of "user:": root and the default user (present or
 * not) pass, a name nobody has does not, by either lookup.
 */
static void
test_check_name(void **state)
{
	char err[256] = "";

	(void)state;
	assert_int_equal(nt_privdrop_check_name("root", err, sizeof err), 0);
	assert_int_equal(nt_privdrop_check_name_files("root", err,
	    sizeof err), 0);
	assert_int_equal(nt_privdrop_check_name(NT_PRIVDROP_DEFAULT_USER, err,
	    sizeof err), 0);
	assert_int_equal(nt_privdrop_check_name_files(NT_PRIVDROP_DEFAULT_USER,
	    err, sizeof err), 0);
	assert_int_equal(nt_privdrop_check_name("_no_such_user_x", err,
	    sizeof err), -1);
	assert_string_equal(err, "no such user '_no_such_user_x'");
	assert_int_equal(nt_privdrop_check_name_files("_no_such_user_x", err,
	    sizeof err), -1);
	assert_string_equal(err, NO_USER_FILES);
	if (in_passwd_file("nobody"))
		assert_int_equal(nt_privdrop_check_name_files("nobody", err,
		    sizeof err), 0);
}

/* Child: the files-only check under the client's filter. */
static int
check_sandboxed(void *arg)
{
	char err[256] = "";

	(void)arg;
	if (nt_sandbox_install(NT_SANDBOX_CLIENT, err, sizeof err) != 0)
		return (10);
	if (nt_privdrop_check_name_files("_no_such_user_x", err,
	    sizeof err) != -1 || strcmp(err, NO_USER_FILES) != 0)
		return (11);
	if (in_passwd_file("nobody") &&
	    nt_privdrop_check_name_files("nobody", err, sizeof err) != 0)
		return (12);
	return (0);
}

/* What a sandboxed daemon's reload asks: not killed, same answers. */
static void
test_check_name_sandboxed(void **state)
{
	int st;

	(void)state;
	if (!nt_sandbox_available())
		skip();
	st = in_child(check_sandboxed, NULL);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* Child: become nobody; 0 when the kernel's view is as asked. */
static int
become_nobody(void *arg)
{
	bool keep = *(bool *)arg;
	uint32_t want = keep ? 1u << CAP_SYS_TIME : 0;
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	struct nt_privdrop_user u;
	char err[256];
	gid_t groups[4];

	if (nt_privdrop_lookup("nobody", false, &u, err, sizeof err) !=
	    NT_PRIVDROP_SWITCH || nt_privdrop_switch(&u, keep, err,
	    sizeof err) != 0)
		return (10);
	if (syscall(SYS_capget, &hdr, d) != 0 || d[0].effective != want ||
	    d[0].permitted != want || d[0].inheritable != 0 ||
	    d[1].effective != 0 || d[1].permitted != 0)
		return (11);
	if (prctl(PR_CAPBSET_READ, CAP_SYS_TIME, 0, 0, 0) != (keep ? 1 : 0) ||
	    prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0 ||
	    prctl(PR_CAPBSET_READ, CAP_SETUID, 0, 0, 0) != 0)
		return (12);
	if (getuid() != u.uid || geteuid() != u.uid || setuid(0) == 0)
		return (13);
	/* Root's supplementary groups are gone: only nobody's own. */
	if (getgroups(4, groups) != 1 || groups[0] != u.gid)
		return (14);
	return (0);
}

static void
test_switch(void **state)
{
	bool keep;
	int st;

	(void)state;
	if (geteuid() != 0 || getpwnam("nobody") == NULL)
		skip();
	keep = true;
	st = in_child(become_nobody, &keep);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	keep = false;
	st = in_child(become_nobody, &keep);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

enum probe { P_UDP, P_EXECVE, P_PACKET, P_IOCTL };

struct sb_case {
	enum nt_sandbox_role role;
	enum probe	probe;
};

/* Child: install the filter, then make one call. */
static int
sandboxed(void *arg)
{
	const struct sb_case *c = arg;
	char *const argv[] = { "/bin/true", NULL };
	struct ifconf ifc = { 0 };
	char err[256];
	int fd;

	if (nt_sandbox_install(c->role, err, sizeof err) != 0)
		return (20);
	switch (c->probe) {
	case P_UDP:
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		return (fd >= 0 && close(fd) == 0 ? 0 : 21);
	case P_EXECVE:
		execve(argv[0], argv, NULL);
		return (22);
	case P_PACKET:
		(void)socket(AF_PACKET, SOCK_RAW, 0);
		return (23);
	case P_IOCTL:
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		(void)ioctl(fd, SIOCGIFCONF, &ifc);
		return (24);
	}
	return (25);
}

static void
expect(enum nt_sandbox_role role, enum probe probe, int killed_by)
{
	struct sb_case c = { role, probe };
	int st = in_child(sandboxed, &c);

	if (killed_by != 0) {
		if (!WIFSIGNALED(st))
			fail_msg("probe %d, role %d: exit %d, not killed",
			    probe, role, WEXITSTATUS(st));
		assert_int_equal(WTERMSIG(st), killed_by);
	} else {
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
}

static void
test_filter(void **state)
{
	(void)state;
	if (!nt_sandbox_available())
		skip();
	expect(NT_SANDBOX_CLIENT, P_UDP, 0);
	expect(NT_SANDBOX_CLIENT, P_EXECVE, SIGSYS);
	expect(NT_SANDBOX_SLAVE, P_EXECVE, SIGSYS);
	expect(NT_SANDBOX_MASTER, P_EXECVE, SIGSYS);
	expect(NT_SANDBOX_CLIENT, P_PACKET, SIGSYS);
	expect(NT_SANDBOX_MASTER, P_PACKET, SIGSYS);
	expect(NT_SANDBOX_CLIENT, P_IOCTL, SIGSYS);
	expect(NT_SANDBOX_SLAVE, P_IOCTL, SIGSYS);
}

static void
test_unavailable(void **state)
{
	char err[256] = "";

	(void)state;
	if (nt_sandbox_available())
		skip();
	assert_int_equal(nt_sandbox_install(NT_SANDBOX_CLIENT, err,
	    sizeof err), -1);
	assert_non_null(strstr(err, "built without seccomp"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_check_name),
		cmocka_unit_test(test_check_name_sandboxed),
		cmocka_unit_test(test_switch),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_unavailable),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
