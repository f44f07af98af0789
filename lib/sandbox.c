/*
 * The seccomp allow-list (libseccomp).  One base list for what every
 * daemon does after start-up (libuv's loop and threadpool, UDP and the
 * control socket, the clock, the drift file, getaddrinfo in a pool thread,
 * glibc's and the sanitizers' runtime), plus a few extras per role.  The
 * lists are checked by every daemon test, in the normal and in the
 * ASan/UBSan build, since the filter is on by default; the kernel logs
 * each kill ("dmesg | grep type=1326").  A call not listed kills the whole
 * process (SIGSYS): a missing entry is a crash that tests find, never a
 * silent failure.  The filter is synchronized to every thread (TSYNC):
 * server workers and pool threads started before it are covered too.
 * Built without libseccomp, install only says so; conf.c then defaults
 * "sandbox:" to false and an explicit "sandbox: true" is an error.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sandbox.h"

#ifdef NTIMED_HAVE_SECCOMP

#include <errno.h>
#include <linux/netlink.h>
#include <linux/pps.h>
#include <linux/ptp_clock.h>
#include <linux/sockios.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>

/* Every role, whatever its arguments (those checked are below). */
static const char *const base_calls[] = {
	/* memory, threads, signals, exit */
	"brk", "mmap", "munmap", "mprotect", "mremap", "madvise",
	"futex", "set_robust_list", "get_robust_list", "rseq", "clone",
	"clone3", "exit", "exit_group", "gettid", "getpid", "tgkill",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
	"restart_syscall", "sched_yield", "sched_getaffinity", "getcpu",
	"membarrier",
	"nanosleep", "clock_nanosleep",
	/* the event loop */
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
	"epoll_pwait2", "eventfd2", "pipe2", "poll", "ppoll", "read", "readv",
	"write", "writev", "close", "fcntl", "dup", "dup3",
	/* sockets: NTP, the control socket, metrics, getaddrinfo, sd_notify */
	"connect", "bind", "listen", "accept4", "getsockname", "getpeername",
	"getsockopt", "setsockopt", "sendto", "recvfrom", "sendmsg",
	"recvmsg", "sendmmsg", "recvmmsg", "shutdown",
	/* time and the clock */
	"clock_gettime", "clock_getres", "gettimeofday", "time",
	"clock_adjtime", "adjtimex",
	/* files: the config (reload), the drift file, /etc for getaddrinfo */
	"openat", "open", "newfstatat", "fstat", "stat", "lstat", "statx",
	"lseek", "pread64", "access", "faccessat", "faccessat2", "rename",
	"renameat", "renameat2", "unlink", "unlinkat", "fsync", "fdatasync",
	"getdents64", "readlink", "umask", "uname", "getrandom",
	"getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
	"capget", "sysinfo", "getrusage", "prlimit64",
};

/*
 * ntimed master: gpsd's SHM, and the SOCK refclock's socket made private
 * when it is (re)created.  Its ioctls are listed below.
 */
static const char *const master_calls[] = {
	"shmget", "shmat", "shmdt", "shmctl", "chmod", "fchmodat",
};

/*
 * The ASan/UBSan runtime: LeakSanitizer stops the world at exit from a
 * helper process (clone without CLONE_THREAD) that ptraces our threads.
 * If the filter kills it, the daemon spins at exit waiting for it.  Only
 * in sanitizer builds, never in the one that ships.
 */
#if defined(__SANITIZE_ADDRESS__)
#define NT_SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NT_SANDBOX_SANITIZER 1
#endif
#endif
#ifdef NT_SANDBOX_SANITIZER
static const char *const sanitizer_calls[] = {
	"ptrace", "wait4", "waitid", "getppid", "kill", "getdents",
};
static const int sanitizer_prctl_ops[] = {
	PR_SET_DUMPABLE, PR_SET_PTRACER, PR_SET_PDEATHSIG,
};
#else
static const char *const sanitizer_calls[] = { NULL };
static const int sanitizer_prctl_ops[] = { -1 };	/* none */
#endif

/*
 * ioctl in every role: what libuv and stdio use, and the interface
 * index getaddrinfo looks up for a scoped address (fe80::1%eth0).
 */
static const unsigned long base_ioctls[] = {
	FIONBIO, FIOCLEX, FIONCLEX, FIONREAD, TCGETS, TIOCGWINSZ,
	SIOCGIFINDEX,
};

/*
 * And the master's devices: the serial line's settings (tcsetattr,
 * tcflush), the PPS API and the PTP clock.  Never TIOCSTI and its kind:
 * a daemon started from root's terminal must not type into it.
 */
static const unsigned long master_ioctls[] = {
	TCSETS, TCSETSW, TCSETSF, TCFLSH,
	PPS_GETPARAMS, PPS_SETPARAMS, PPS_GETCAP, PPS_FETCH,
	PTP_CLOCK_GETCAPS, PTP_SYS_OFFSET, PTP_SYS_OFFSET_EXTENDED,
	PTP_SYS_OFFSET_PRECISE,
};

static const int socket_domains[] = {
	AF_UNIX, AF_INET, AF_INET6, AF_NETLINK,
};

static const int prctl_ops[] = {
	PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE, PR_CAPBSET_READ,
};

#define N(a) (sizeof (a) / sizeof (a)[0])

static int
allow_list(scmp_filter_ctx f, const char *const *names, size_t n, char *err,
    size_t errlen)
{
	int nr, r;

	for (size_t i = 0; i < n && names[i] != NULL; i++) {
		/*
		 * Names this architecture lacks (open on arm64) resolve to
		 * an error or a negative pseudo-number: skipped.
		 */
		if ((nr = seccomp_syscall_resolve_name(names[i])) < 0)
			continue;
		if ((r = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0)) != 0) {
			snprintf(err, errlen, "seccomp: cannot allow %s: %s",
			    names[i], strerror(-r));
			return (-1);
		}
	}
	return (0);
}

/* syscall nr allowed when argument arg is one of vals. */
static int
allow_values(scmp_filter_ctx f, int nr, unsigned arg, const long *vals,
    size_t n, char *err, size_t errlen)
{
	/* The low 32 bits: int arguments and ioctl numbers (as the kernel). */
	struct scmp_arg_cmp cmp = { .arg = arg, .op = SCMP_CMP_MASKED_EQ,
	    .datum_a = 0xffffffffu };
	int r;

	for (size_t i = 0; i < n; i++) {
		cmp.datum_b = (scmp_datum_t)(uint32_t)vals[i];
		r = seccomp_rule_add_array(f, SCMP_ACT_ALLOW, nr, 1, &cmp);
		if (r != 0) {
			snprintf(err, errlen, "seccomp: cannot add a rule for "
			    "system call %d: %s", nr, strerror(-r));
			return (-1);
		}
	}
	return (0);
}

static int
allow_checked(scmp_filter_ctx f, enum nt_sandbox_role role, char *err,
    size_t errlen)
{
	long v[32];
	size_t n;

	for (n = 0; n < N(socket_domains); n++)
		v[n] = socket_domains[n];
	if (allow_values(f, SCMP_SYS(socket), 0, v, n, err, errlen) != 0)
		return (-1);
	for (n = 0; n < N(prctl_ops); n++)
		v[n] = prctl_ops[n];
	for (size_t i = 0; i < N(sanitizer_prctl_ops); i++)
		if (sanitizer_prctl_ops[i] >= 0)
			v[n++] = sanitizer_prctl_ops[i];
	if (allow_values(f, SCMP_SYS(prctl), 0, v, n, err, errlen) != 0)
		return (-1);
	_Static_assert(N(base_ioctls) + N(master_ioctls) <= N(v),
	    "v holds every ioctl number");
	for (n = 0; n < N(base_ioctls); n++)
		v[n] = (long)base_ioctls[n];
	for (size_t i = 0; role == NT_SANDBOX_MASTER && i < N(master_ioctls);
	    i++)
		v[n++] = (long)master_ioctls[i];
	return (allow_values(f, SCMP_SYS(ioctl), 1, v, n, err, errlen));
}

static int
build(scmp_filter_ctx f, enum nt_sandbox_role role, char *err, size_t errlen)
{
	int r;

	if ((r = seccomp_attr_set(f, SCMP_FLTATR_CTL_TSYNC, 1)) != 0) {
		snprintf(err, errlen, "seccomp: no thread synchronization: %s",
		    strerror(-r));
		return (-1);
	}
	if (allow_list(f, base_calls, N(base_calls), err, errlen) != 0 ||
	    allow_list(f, sanitizer_calls, N(sanitizer_calls), err,
	    errlen) != 0 || allow_checked(f, role, err, errlen) != 0)
		return (-1);
	if (role == NT_SANDBOX_MASTER && allow_list(f, master_calls,
	    N(master_calls), err, errlen) != 0)
		return (-1);
	return (0);
}

bool
nt_sandbox_available(void)
{
	return (true);
}

int
nt_sandbox_install(enum nt_sandbox_role role, char *err, size_t errlen)
{
	scmp_filter_ctx f;
	int r;

	if ((f = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		snprintf(err, errlen, "seccomp: cannot set up a filter");
		return (-1);
	}
	if (build(f, role, err, errlen) != 0) {
		seccomp_release(f);
		return (-1);
	}
	if ((r = seccomp_load(f)) != 0) {
		snprintf(err, errlen, "seccomp: cannot install the filter: %s",
		    strerror(-r));
		seccomp_release(f);
		return (-1);
	}
	seccomp_release(f);
	return (0);
}

#else /* !NTIMED_HAVE_SECCOMP */

bool
nt_sandbox_available(void)
{
	return (false);
}

int
nt_sandbox_install(enum nt_sandbox_role role, char *err, size_t errlen)
{
	(void)role;
	snprintf(err, errlen, "sandbox: built without seccomp (libseccomp); "
	    "set 'sandbox: false'");
	return (-1);
}

#endif
