/*
 * The roles of the ntimed binary.  Each role is one file in cmd/ with one
 * entry point; main.c dispatches to it from a single table.  argv[0] of a
 * role is the role name ("client"), so getopt messages read naturally.
 *
 * Exit codes, for every role:
 *   0  success
 *   1  the job failed at run time (a server did not answer, no sync)
 *   2  usage or configuration error (nothing was started)
 *   3  internal or system error (cannot open socket, out of memory)
 *   4  a daemon gave up: offsets beyond max_change came too often
 */
#ifndef NTIMED_CMD_H
#define NTIMED_CMD_H

#include <stdarg.h>
#include <stdbool.h>

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define EXIT_SYSTEM 3
#define EXIT_GAVE_UP 4	/* max_change: an offset too large, too often */

int cmd_client(int argc, char **argv);
int cmd_query(int argc, char **argv);
/*
 * Roles whose file may be absent from a build: weak, so the role table
 * sees NULL and says "not available in this build".
 */
int cmd_slave(int argc, char **argv) __attribute__((weak));
int cmd_master(int argc, char **argv) __attribute__((weak));
int cmd_sim(int argc, char **argv) __attribute__((weak));

/*
 * "ntimed query" without hosts, or with --local, -s, a view or a verb:
 * the daemon's control socket (cmd/query_local.c).  -1: not local.
 */
int cmd_query_local(int argc, char **argv);
/*
 * getopt's complaint ch ('?' or ':') in the local (true) or the remote
 * query: an option of the other mode says so, rather than "unknown".
 */
int nt_query_bad_option(bool local, int ch, char **argv);
/*
 * rc, after making sure stdout took what was printed: EXIT_SYSTEM after
 * one line when it did not (a reader that closed the pipe is no error).
 */
int query_output_status(int rc);

/* For roles this build does not have yet. */
int cmd_unavailable(const char *role);

/*
 * An error: one line "ntimed ROLE: MESSAGE" on stderr, with control
 * characters and bytes that are not UTF-8 (from the command line, a file
 * name) shown escaped.
 */
void nt_cmd_error(const char *role, const char *msg);
/* The same with a format. */
void nt_cmd_verror(const char *role, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* A usage error, as nt_cmd_error() with a format.  Returns EXIT_USAGE. */
int nt_cmd_usage(const char *role, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * getopt_long() returned '?' or ':' (optstring starting with ':', opterr
 * 0): name the option as it was written.  Returns EXIT_USAGE.
 */
int nt_cmd_bad_option(const char *role, int ch, char *const *argv);

#endif
