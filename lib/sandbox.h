/*
 * The seccomp allow-list the daemons run under once started.
 *
 * After the privileged start-up a daemon needs a few dozen system calls:
 * its event loop, its sockets, the clock, the drift file.  Everything else
 * (execve, ptrace, mount, module loading, ...) kills the process, so a bug
 * in a packet parser cannot be turned into much.  Installing the filter is
 * never optional once asked for: a failure is fatal, not a log line.
 */
#ifndef NTIMED_SANDBOX_H
#define NTIMED_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

/* Which extras on top of the base list: a role's own needs. */
enum nt_sandbox_role {
	NT_SANDBOX_CLIENT,	/* ntimed client */
	NT_SANDBOX_SLAVE,	/* ntimed slave: + server worker threads */
	NT_SANDBOX_MASTER,	/* ntimed master: + refclock devices (ioctl, SHM) */
};

/* True when this build has libseccomp (the "sandbox:" default). */
bool nt_sandbox_available(void);

/*
 * Install the filter for role on every thread of the process (and those
 * it starts later).  Returns 0, or -1 with a one-line err.
 */
int nt_sandbox_install(enum nt_sandbox_role role, char *err, size_t errlen);

#endif
