/*
 * Multi-call entry point: "ntimed ROLE ..." or a link named "ntimed-ROLE".
 * One table lists every role; everything else comes from it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "hostport.h"

struct role {
	const char	*name;
	int		(*run)(int argc, char **argv);	/* NULL: not in this build */
	const char	*summary;
};

static const struct role roles[] = {
	{ "client", cmd_client, "steer this machine's clock from NTP servers" },
	{ "slave", cmd_slave, "sync to upstream servers and serve NTP to clients" },
	{ "master", cmd_master, "stratum-1 server fed by reference clocks" },
	{ "query", cmd_query, "ask NTP servers for their time and show our offset" },
	{ "sim", cmd_sim, "run the client against simulated clocks and networks" },
};
#define N_ROLES (sizeof roles / sizeof roles[0])

static void
usage(FILE *f)
{
	fprintf(f, "usage: ntimed ROLE [OPTIONS] [ARGS]\n"
	    "       ntimed-ROLE [OPTIONS] [ARGS]\n\nroles:\n");
	for (size_t i = 0; i < N_ROLES; i++)
		fprintf(f, "  %-8s %s%s\n", roles[i].name, roles[i].summary,
		    roles[i].run == NULL ? " (not in this build)" : "");
	fprintf(f, "\n'ntimed ROLE --help' shows a role's options.\n"
	    "options: --help, --version (also after a role)\n");
}

static void
role_names(char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; i < N_ROLES; i++) {
		if (i > 0)
			strlcat(buf, ", ", len);
		strlcat(buf, roles[i].name, len);
	}
}

int
cmd_unavailable(const char *role)
{
	char q[64];

	fprintf(stderr, "ntimed: role '%s' is not available in this build\n",
	    nt_printable(role, q, sizeof q));
	return (EXIT_USAGE);
}

void
nt_cmd_error(const char *role, const char *msg)
{
	char q[2048];

	fprintf(stderr, "ntimed %s: %s\n", role, nt_printable(msg, q,
	    sizeof q));
}

void
nt_cmd_verror(const char *role, const char *fmt, va_list ap)
{
	char msg[2048];

	vsnprintf(msg, sizeof msg, fmt, ap);
	nt_cmd_error(role, msg);
}

int
nt_cmd_usage(const char *role, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nt_cmd_verror(role, fmt, ap);
	va_end(ap);
	return (EXIT_USAGE);
}

int
nt_cmd_bad_option(const char *role, int ch, char *const *argv)
{
	char opt[3] = { '-', (char)optopt, '\0' };
	const char *bad = argv[optind - 1];

	/* "-x" alone for a short option, even inside "-nx". */
	if (strncmp(bad, "--", 2) != 0 && optopt != 0)
		bad = opt;
	return (nt_cmd_usage(role, ch == ':' ? "option '%s' needs a value "
	    "(see --help)" : "unknown option '%s' (see --help)", bad));
}

static bool
is_version(const char *arg)
{
	return (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0);
}

static int
run_role(const char *name, int argc, char **argv)
{
	char names[128], q[64];

	for (size_t i = 0; i < N_ROLES; i++) {
		if (strcmp(roles[i].name, name) != 0)
			continue;
		if (roles[i].run == NULL)
			return (cmd_unavailable(name));
		if (argc == 2 && is_version(argv[1])) {
			printf("ntimed %s\n", NTIMED_VERSION);
			return (0);
		}
		argv[0] = (char *)roles[i].name;
		return (roles[i].run(argc, argv));
	}
	role_names(names, sizeof names);
	fprintf(stderr, "ntimed: unknown role '%s' (valid roles: %s)\n",
	    nt_printable(name, q, sizeof q), names);
	return (EXIT_USAGE);
}

static int
dispatch(int argc, char **argv)
{
	const char *base = argc > 0 ? argv[0] : "ntimed";
	const char *slash = strrchr(base, '/');

	if (slash != NULL)
		base = slash + 1;
	if (strncmp(base, "ntimed-", 7) == 0)
		return (run_role(base + 7, argc, argv));
	if (argc < 2) {
		usage(stderr);
		return (EXIT_USAGE);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return (0);
	}
	if (is_version(argv[1])) {
		printf("ntimed %s\n", NTIMED_VERSION);
		return (0);
	}
	return (run_role(argv[1], argc - 1, argv + 1));
}

/*
 * What a role printed must have reached standard output: a full disk or
 * a closed pipe turns its success into exit 3 ("sim --json > out.json").
 */
int
main(int argc, char **argv)
{
	int rc = dispatch(argc, argv);

	errno = 0;
	/* A reader that has seen enough ("| head") is no failure. */
	if ((fflush(stdout) != 0 || ferror(stdout)) && errno != EPIPE) {
		if (rc == 0)
			fprintf(stderr, "ntimed: cannot write output: %s\n",
			    errno != 0 ? strerror(errno) : "write error");
		return (rc == 0 ? EXIT_SYSTEM : rc);
	}
	return (rc);
}
