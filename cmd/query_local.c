/*
 * "ntimed query" with no host, or with --local: ask the daemon running on
 * this machine, over its control socket (lib/control.h), what it is doing,
 * and show it the way chronyc does (tracking, sources, sourcestats), or
 * tell it to add or remove a server, reload or step.
 *
 * The daemon answers in JSON; tables are drawn from that, so what a script
 * gets with --json and what a person reads are the same numbers.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "control.h"
#include "json.h"
#include "status.h"
#include "timeutil.h"
#include "yconf.h"

struct local_opts {
	const char	*socket;
	bool		json;
	bool		watch;
	bool		verbose;
	const char	*request;	/* view or verb */
	const char	*host;		/* verb argument */
	bool		is_verb;
	bool		waitsync;	/* "waitsync": tracking until synced */
	long		tries;		/* waitsync: 0, no limit */
	double		max_error;	/* waitsync: s; 0, any */
};

#define BUSY_TRIES 20	/* connections to a busy daemon, see call() */

static const char *const verb_names[] = { "add-server", "remove-server",
    "reload", "step", NULL };

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: ntimed query [--local] [--socket PATH] [--json] [--watch] "
	    "[-v] [VIEW]\n"
	    "       ntimed query [--local] [--socket PATH] VERB [HOST]\n\n"
	    "Ask the ntimed daemon on this machine what it is doing, or tell "
	    "it\nwhat to do (verbs need root).\n\n"
	    "views:\n"
	    "  tracking      the system clock (default; like chronyc "
	    "tracking;\n"
	    "                'status' is the same)\n"
	    "  sources       sources and why each is used or not\n"
	    "  sourcestats   per-source statistics\n"
	    "  server        NTP server counters (slave, master)\n"
	    "  all           every view;  views: what this daemon has\n"
	    "verbs:\n"
	    "  add-server HOST[:PORT]   remove-server HOST[:PORT]\n"
	    "  reload                   step\n"
	    "  waitsync [TRIES [MAX-ERROR]]  wait (1 s per try; 0: no limit)\n"
	    "                until synchronized within MAX-ERROR seconds\n"
	    "                (default any; needs no root)\n\n"
	    "  -s, --socket PATH  control socket (default %s)\n"
	    "      --json         the daemon's answer as JSON (one line)\n"
	    "  -w, --watch        show the view again every second\n"
	    "  -v, --verbose      explain the columns (sources)\n"
	    "  -h, --help         this text\n\n"
	    "Exit status: 0 done (waitsync: synchronized), 1 the daemon could "
	    "not do\nit (waitsync: not synchronized after TRIES), 2 usage "
	    "error\n(also an invalid HOST, or a broken file to reload), 3 no "
	    "daemon, no\npermission, a broken answer or output that cannot be "
	    "written.\n",
	    NT_CTL_DEFAULT_PATH);
}

static bool
is_verb(const char *s)
{
	for (int i = 0; verb_names[i] != NULL; i++)
		if (strcmp(s, verb_names[i]) == 0)
			return (true);
	return (false);
}

/*
 * Options only the local mode has: --local, --socket, -s (remote has
 * none), -s also after other short options (-vs PATH).
 */
static bool
local_option(const char *a)
{
	if (a[0] == '-' && a[1] != '-' && a[1] != '\0')
		return (a[1 + strspn(a + 1, "vw")] == 's');
	return (strcmp(a, "--local") == 0 || strcmp(a, "--socket") == 0 ||
	    strncmp(a, "--socket=", 9) == 0);
}

/* Options that decide nothing: --json, and -v, -w alone or together. */
static bool
shared_option(const char *a)
{
	static const char *const shared[] = { "--json", "--verbose",
	    "--watch", NULL };

	for (int k = 0; shared[k] != NULL; k++)
		if (strcmp(a, shared[k]) == 0)
			return (true);
	return (a[0] == '-' && a[1] != '\0' && a[1] != '-' &&
	    strspn(a + 1, "vw") == strlen(a + 1));
}

/* The views (and chronyc's "status") and the verbs: what ntimed(8) lists. */
static bool
local_word(const char *a)
{
	return (nt_status_view_name(a) || strcmp(a, "status") == 0 ||
	    strcmp(a, "waitsync") == 0 || is_verb(a));
}

/*
 * Local with --local, --socket or -s, or when the first word is a view or
 * a verb ("ntimed query sources", "ntimed query status"), or when there
 * is nothing but options both modes share (--json, -v): no host.
 * Anything else ("-n 4", "--fast", a host) is for the remote query and
 * its own messages.
 */
static bool
wants_local(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (local_option(argv[i]))
			return (true);
	for (int i = 1; i < argc; i++) {
		if (local_word(argv[i]))
			return (true);
		if (!shared_option(argv[i]))
			return (false);
	}
	return (true);
}

/*
 * The other mode's option: "-f" with -s, or "-w" with a host.  Its name as
 * given (short options alone), or NULL when it belongs to neither mode.
 */
static const char *
other_mode_option(int ch, char *const *argv, const char *shorts,
    const char *const *longs, char *buf)
{
	const char *a = argv[optind - 1];

	if (ch != '?')
		return (NULL);
	if (strncmp(a, "--", 2) != 0) {
		if (optopt == 0 || strchr(shorts, optopt) == NULL)
			return (NULL);
		buf[0] = '-';
		buf[1] = (char)optopt;
		buf[2] = '\0';
		return (buf);
	}
	for (size_t k = 0; longs[k] != NULL; k++)
		if (strncmp(a + 2, longs[k], strlen(longs[k])) == 0)
			return (a);
	return (NULL);
}

int
nt_query_bad_option(bool local, int ch, char **argv)
{
	static const char *const remote_longs[] = { "count", "timeout",
	    "port", "fast", "nts", NULL };
	static const char *const local_longs[] = { "watch", "socket",
	    "local", NULL };
	char buf[3];
	const char *a;

	if (local && (a = other_mode_option(ch, argv, "46ntpf", remote_longs,
	    buf)) != NULL)
		return (nt_cmd_usage("query", "'%s' is for asking servers, but "
		    "--local and -s/--socket ask this machine's daemon: one "
		    "or the other", a));
	if (!local && (a = other_mode_option(ch, argv, "ws", local_longs,
	    buf)) != NULL)
		return (nt_cmd_usage("query", "'%s' is for this machine's "
		    "daemon (no HOST), but a HOST was given: one or the "
		    "other", a));
	return (nt_cmd_bad_option(local ? "query --local" : "query", ch,
	    argv));
}

/* waitsync's [TRIES [MAX-ERROR]]: 0, or a usage error said. */
static int
parse_waitsync(struct local_opts *o, int argc, char **argv)
{
	char *end;

	o->waitsync = true;
	o->request = "tracking";
	if (argc > 2)
		return (nt_cmd_usage("query", "unexpected '%s' (waitsync "
		    "[TRIES [MAX-ERROR]])", argv[2]));
	if (argc >= 1) {
		errno = 0;
		o->tries = strtol(argv[0], &end, 10);
		if (argv[0][0] == '\0' || *end != '\0' || errno != 0 ||
		    o->tries < 0)
			return (nt_cmd_usage("query", "waitsync: TRIES must be "
			    "a whole number >= 0, not '%s'", argv[0]));
	}
	if (argc == 2) {
		o->max_error = strtod(argv[1], &end);
		if (argv[1][0] == '\0' || *end != '\0' ||
		    !(o->max_error >= 0 && o->max_error < 1e9))
			return (nt_cmd_usage("query", "waitsync: MAX-ERROR must "
			    "be seconds >= 0, not '%s'", argv[1]));
	}
	return (0);
}

static int
parse_local(struct local_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "local", no_argument, NULL, 'L' },
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "watch", no_argument, NULL, 'w' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof *o);
	o->socket = NT_CTL_DEFAULT_PATH;
	o->request = "tracking";
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":s:wvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'L': break;
		case 's': o->socket = optarg; break;
		case 'j': o->json = true; break;
		case 'w': o->watch = true; break;
		case 'v': o->verbose = true; break;
		case 'h': usage(stdout); return (0);
		default:
			return (nt_query_bad_option(true, ch, argv));
		}
	}
	if (optind < argc) {
		o->request = argv[optind++];
		if (strcmp(o->request, "status") == 0)	/* chronyc's word */
			o->request = "tracking";
	}
	/* View names are [a-z]+ (status.h), verbs [a-z-]+: say so here. */
	if (o->request[0] == '\0' || strspn(o->request,
	    "abcdefghijklmnopqrstuvwxyz-") != strlen(o->request))
		return (nt_cmd_usage("query", "invalid view or verb '%s' (see "
		    "--local --help)", o->request));
	o->is_verb = is_verb(o->request);
	if (strcmp(o->request, "add-server") == 0 ||
	    strcmp(o->request, "remove-server") == 0) {
		/* Said here, before a daemon is looked for. */
		if (optind == argc || argv[optind][0] == '\0')
			return (nt_cmd_usage("query", "'%s' needs a HOST[:PORT]",
			    o->request));
		o->host = argv[optind++];
	}
	if (strcmp(o->request, "waitsync") == 0 &&
	    parse_waitsync(o, argc - optind, argv + optind) != 0)
		return (EXIT_USAGE);
	if (o->waitsync)
		optind = argc;
	/* nt_cmd_usage() escapes what the command line gave. */
	if (optind < argc)
		return (nt_cmd_usage("query", "unexpected '%s' (see --local "
		    "--help)", argv[optind]));
	if (o->watch && (o->is_verb || o->waitsync))
		return (nt_cmd_usage("query", "--watch is for views, not '%s'",
		    o->waitsync ? "waitsync" : o->request));
	/* Its lines are for people; a script has its exit status. */
	if (o->json && o->waitsync)
		return (nt_cmd_usage("query", "--json is for views and verbs, "
		    "not 'waitsync'"));
	return (-1);
}

/* ---- Reading the answer ---- */

static const struct nt_yconf_node *
get(const struct nt_yconf_node *map, const char *key)
{
	const struct nt_yconf_node *n = nt_yconf_map_get(map, key);

	if (n == NULL || (n->kind == NT_YCONF_SCALAR && !n->quoted &&
	    nt_yconf_is_null(n)))
		return (NULL);
	return (n);
}

static const char *
str(const struct nt_yconf_node *map, const char *key)
{
	const struct nt_yconf_node *n = get(map, key);

	return (n != NULL && n->kind == NT_YCONF_SCALAR ? n->str : NULL);
}

static double
num(const struct nt_yconf_node *map, const char *key)
{
	const char *s = str(map, key);
	char *end;
	double v;

	if (s == NULL)
		return (NAN);
	v = strtod(s, &end);
	return (*s != '\0' && *end == '\0' ? v : NAN);
}

static bool
flag(const struct nt_yconf_node *map, const char *key)
{
	const char *s = str(map, key);

	return (s != NULL && strcmp(s, "true") == 0);
}

/*
 * A duration with unit in at most 9 characters, so that the columns of
 * a table stay put whatever the value ("+502.2ms", "+3600.1s",
 * "+1.2e+09s"), or "-" when absent.
 */
static const char *
dur(double v, bool sign, char *buf, size_t len)
{
	static const struct { double below, scale; int prec; const char *unit; }
	    fmt[] = {
		{ 999.5e-9, 1e9, 0, "ns" }, { 999.95e-6, 1e6, 1, "us" },
		{ 999.95e-3, 1e3, 1, "ms" }, { 999.9995, 1, 3, "s" },
		{ 99999.95, 1, 1, "s" }, { 9999999.5, 1, 0, "s" },
	};
	double a = fabs(v);
	size_t i = 0;

	if (!isfinite(v)) {
		strlcpy(buf, "-", len);
		return (buf);
	}
	if (a < 0.5e-9)		/* "+0ns", never "-0ns" */
		v = 0;
	while (i < sizeof fmt / sizeof fmt[0] && a >= fmt[i].below)
		i++;
	if (i == sizeof fmt / sizeof fmt[0])
		snprintf(buf, len, sign ? "%+.1es" : "%.1es", v);
	else
		snprintf(buf, len, sign ? "%+.*f%s" : "%.*f%s", fmt[i].prec,
		    v * fmt[i].scale, fmt[i].unit);
	return (buf);
}

/*
 * Seconds since the last sample in at most 6 characters, as chronyc
 * shows them: seconds up to 1024, then minutes, hours and days.
 */
static const char *
age(double s, char *buf, size_t len)
{
	if (!isfinite(s) || s < 0)
		strlcpy(buf, "-", len);
	else if (s < 1024.5)
		snprintf(buf, len, "%.0f", s);
	else if (s < 36000)
		snprintf(buf, len, "%.0fm", floor(s / 60));
	else if (s < 345600)
		snprintf(buf, len, "%.0fh", floor(s / 3600));
	else
		snprintf(buf, len, "%.0fd", fmin(floor(s / 86400), 99999));
	return (buf);
}

/*
 * v with prec decimals (and a sign when sign), or "-" when the daemon has
 * no value yet (JSON null: NAN here), never "nan".
 */
static const char *
fixed(double v, int prec, bool sign, char *buf, size_t len)
{
	if (!isfinite(v))
		strlcpy(buf, "-", len);
	else {
		/* What rounds to zero is +0, never "-0.000". */
		if (fabs(v) < 0.5 * pow(10, -prec))
			v = 0;
		snprintf(buf, len, sign ? "%+.*f" : "%.*f", prec, v);
	}
	return (buf);
}

/* ---- Tables ---- */

/* "Label : value unit", or "Label : -" without the unit when unknown. */
static void
print_value(const char *label, double v, int prec, bool sign,
    const char *unit)
{
	char b[48];

	printf("%-16s: %s%s\n", label, fixed(v, prec, sign, b, sizeof b),
	    isfinite(v) ? unit : "");
}

static void
print_seconds(const char *label, double v, const char *note)
{
	if (isfinite(v))
		printf("%-16s: %.9f seconds%s\n", label, v, note);
	else
		printf("%-16s: -\n", label);
}

static void
tracking_head(const struct nt_yconf_node *t)
{
	char ts[NT_TIMESTR_LEN];
	double ref = num(t, "reference_time"), so = num(t, "system_offset");

	printf("%-16s: %s (%s)\n", "Reference ID", str(t, "refid_hex") ?
	    str(t, "refid_hex") : "-", str(t, "selected") != NULL ?
	    str(t, "selected") : str(t, "refid") != NULL ? str(t, "refid") :
	    "-");
	print_value("Stratum", num(t, "stratum"), 0, false, "");
	printf("%-16s: %s\n", "Ref time (UTC)", isfinite(ref) ?
	    nt_format_utc_sec(nt_from_sec(ref), ts, sizeof ts) : "-");
	if (isfinite(so))
		printf("%-16s: %.9f seconds %s of NTP time\n", "System time",
		    fabs(so), so > 0 ? "slow" : "fast");
	else
		printf("%-16s: -\n", "System time");
	print_seconds("Last offset", num(t, "last_offset"), "");
	print_seconds("RMS offset", num(t, "rms_offset"), "");
}

static void
print_tracking_tail(const struct nt_yconf_node *t)
{
	const struct nt_yconf_node *k = get(t, "kernel");
	char b1[48], b2[48], b3[48];

	printf("%-16s: %s configured, %s reachable, %s selectable\n",
	    "Sources", fixed(num(t, "sources"), 0, false, b1, sizeof b1),
	    fixed(num(t, "sources_reachable"), 0, false, b2, sizeof b2),
	    fixed(num(t, "sources_selectable"), 0, false, b3, sizeof b3));
	printf("%-16s: %s", "Clock", str(t, "clock") ? str(t, "clock") : "-");
	if (isfinite(num(t, "dry_run_ahead")))
		printf(" (%s ahead of the kernel clock)",
		    dur(num(t, "dry_run_ahead"), true, b1, sizeof b1));
	if (k != NULL)
		printf(" (kernel: %s, maxerror %s s, frequency %s ppm)",
		    flag(k, "synchronized") ? "synchronized" :
		    "unsynchronized", fixed(num(k, "max_error"), 6, false, b1,
		    sizeof b1), fixed(num(k, "frequency_ppm"), 3, false, b2,
		    sizeof b2));
	printf("\n");
}

static void
print_tracking(const struct nt_yconf_node *t)
{
	double f = num(t, "frequency_ppm");

	tracking_head(t);
	if (isfinite(f))
		printf("%-16s: %.3f ppm %s\n", "Frequency", fabs(f), f > 0 ?
		    "slow" : "fast");
	else
		printf("%-16s: -\n", "Frequency");
	print_value("Residual freq", num(t, "residual_frequency_ppm"), 3,
	    true, " ppm");
	print_value("Skew", num(t, "skew_ppm"), 3, false, " ppm");
	print_seconds("Root delay", num(t, "root_delay"), "");
	print_seconds("Root dispersion", num(t, "root_dispersion"), "");
	print_value("Update interval", num(t, "update_interval"), 1, false,
	    " seconds");
	printf("%-16s: %s\n", "Leap status", str(t, "leap_status") ?
	    str(t, "leap_status") : "-");
	print_seconds("Max error", num(t, "max_error"),
	    " (worst case: true time is within +/- this)");
	print_seconds("Likely error", num(t, "estimated_error"),
	    " (true time is most likely within +/- this)");
	print_tracking_tail(t);
}

static void
sources_legend(void)
{
	printf(
	    "  .-- Source mode  '^' = server, '#' = reference clock\n"
	    " / .- Source state '*' = selected, '+' = combined, "
	    "'-' = candidate (not combined) or noselect,\n"
	    "| /                'x' = falseticker or no majority, "
	    "'~' = root distance too large,\n"
	    "||                 '?' = unusable (no reply yet, no valid reply, "
	    "KoD RATE, unreachable,\n"
	    "||                       unsynchronized, denied, no address: "
	    "the name did not resolve,\n"
	    "||                       or a reference clock's device that "
	    "cannot be opened)\n"
	    "||                                                     .- offset "
	    "of the last sample\n"
	    "||                                                    /   (server "
	    "minus us)\n"
	    "||                                                   |    +/- its "
	    "error bound\n");
}

static void
print_sources(const struct nt_yconf_node *a, bool verbose)
{
	char b1[NT_DURSTR_LEN], b2[NT_DURSTR_LEN], lastrx[16], poll[16];
	char reach[16];
	const struct nt_yconf_node *s;
	double r;

	if (verbose)
		sources_legend();
	printf("MS %-27s %7s %4s %5s %6s  %-24s %s\n", "Name/IP address",
	    "Stratum", "Poll", "Reach", "LastRx", "Last sample", "State");
	printf("%.*s\n", 96, "================================================="
	    "===============================================================");
	for (s = a->first; s != NULL; s = s->next) {
		age(num(s, "last_sample_age"), lastrx, sizeof lastrx);
		fixed(num(s, "poll"), 0, false, poll, sizeof poll);
		r = num(s, "reach");
		if (isfinite(r) && r >= 0 && r <= 255)
			snprintf(reach, sizeof reach, "%o", (unsigned)r);
		else
			strlcpy(reach, "-", sizeof reach);
		printf("%c%s %-27.27s %7s %4s %5s %6s  %9s +/- %-10s %s",
		    flag(s, "refclock") ? '#' : '^',
		    str(s, "symbol") ? str(s, "symbol") : "?",
		    str(s, "name") ? str(s, "name") : "?",
		    isfinite(num(s, "stratum")) ? str(s, "stratum") : "-",
		    poll, reach, lastrx,
		    dur(num(s, "last_offset"), true, b1, sizeof b1),
		    dur(num(s, "last_error"), false, b2, sizeof b2),
		    str(s, "state") ? str(s, "state") : "?");
		/* A server without a source: why ("cannot resolve: ..."). */
		printf("%s%s\n", str(s, "error") ? ": " : "",
		    str(s, "error") ? str(s, "error") : "");
	}
}

/* One row; "-" for what a source without samples does not have. */
static void
print_sourcestats_row(const struct nt_yconf_node *s)
{
	char b1[NT_DURSTR_LEN], b2[NT_DURSTR_LEN], b3[NT_DURSTR_LEN];
	char np[16], span[32], freq[32], skew[32];

	printf("%-27.27s %3s %6s %10s %10s %10s %9s %9s\n",
	    str(s, "name") ? str(s, "name") : "?",
	    fixed(num(s, "samples"), 0, false, np, sizeof np),
	    fixed(num(s, "span"), 0, false, span, sizeof span),
	    fixed(num(s, "frequency_ppm"), 3, false, freq, sizeof freq),
	    fixed(num(s, "skew_ppm"), 3, false, skew, sizeof skew),
	    dur(num(s, "offset"), true, b1, sizeof b1),
	    dur(num(s, "offset_sd"), false, b2, sizeof b2),
	    dur(num(s, "min_delay"), false, b3, sizeof b3));
}

static void
print_sourcestats(const struct nt_yconf_node *a)
{
	const struct nt_yconf_node *s;

	printf("%-27s %3s %6s %10s %10s %10s %9s %9s\n", "Name/IP Address",
	    "NP", "Span", "Frequency", "Freq Skew", "Offset", "Std Dev",
	    "Min delay");
	printf("%.*s\n", 91, "================================================="
	    "===============================================================");
	for (s = a->first; s != NULL; s = s->next)
		print_sourcestats_row(s);
}

/* Any other view: "key : value" lines, tables for lists of mappings. */
static void
print_generic(const struct nt_yconf_node *n, int indent)
{
	const struct nt_yconf_node *k;

	if (n == NULL || n->kind == NT_YCONF_SCALAR) {
		printf("%*s%s\n", indent, "", n == NULL ? "-" : n->str);
		return;
	}
	if (n->kind == NT_YCONF_SEQ) {
		for (k = n->first; k != NULL; k = k->next) {
			print_generic(k, indent);
			if (k->next != NULL && k->kind != NT_YCONF_SCALAR)
				printf("\n");
		}
		return;
	}
	for (k = n->first; k != NULL && k->next != NULL; k = k->next->next) {
		if (k->next->kind == NT_YCONF_SCALAR) {
			printf("%*s%-24s : %s\n", indent, "", k->str,
			    nt_yconf_is_null(k->next) && !k->next->quoted ?
			    "-" : k->next->str);
			continue;
		}
		printf("%*s%s:\n", indent, "", k->str);
		print_generic(k->next, indent + 2);
	}
}

static int
print_view(const struct local_opts *o, const struct nt_yconf_node *r)
{
	if (r == NULL)
		return (-1);
	if (strcmp(o->request, "tracking") == 0 && r->kind == NT_YCONF_MAP)
		print_tracking(r);
	else if (strcmp(o->request, "sources") == 0 && r->kind == NT_YCONF_SEQ)
		print_sources(r, o->verbose);
	else if (strcmp(o->request, "sourcestats") == 0 &&
	    r->kind == NT_YCONF_SEQ)
		print_sourcestats(r);
	else
		print_generic(r, 0);
	return (0);
}

/* ---- Talking to the daemon ---- */

static char *
make_request(const struct local_opts *o)
{
	struct nt_json j;
	char *copy;

	nt_json_init_buf(&j, false);
	nt_json_begin_object(&j);
	nt_json_key(&j, "version");
	nt_json_int(&j, NT_CTL_VERSION);
	nt_json_key(&j, "request");
	nt_json_string(&j, o->request);
	if (o->host != NULL) {
		nt_json_key(&j, "host");
		nt_json_string(&j, o->host);
	}
	nt_json_end_object(&j);
	copy = nt_json_finish(&j) == 0 ? strdup(nt_json_text(&j, NULL)) : NULL;
	nt_json_free(&j);
	return (copy);
}

/* The exit status a daemon's error code means. */
static int
code_status(const char *code)
{
	if (strcmp(code, "failed") == 0)
		return (EXIT_RUNTIME);
	if (strcmp(code, "unknown") == 0 || strcmp(code, "malformed") == 0 ||
	    strcmp(code, "invalid") == 0)
		return (EXIT_USAGE);
	return (EXIT_SYSTEM);
}

/* The "result" member as the daemon wrote it (it is always the last). */
static void
print_raw_result(const char *reply)
{
	const char *r = strstr(reply, ",\"result\":");
	size_t len;

	if (r == NULL) {
		printf("%s\n", reply);
		return;
	}
	r += strlen(",\"result\":");
	len = strlen(r);
	printf("%.*s\n", (int)(len > 0 ? len - 1 : 0), r);
}

static int
show(const struct local_opts *o, const char *reply)
{
	const struct nt_yconf_node *result;
	struct nt_yconf_doc *doc;
	char err[NT_CONF_ERRLEN], code[32];
	const char *msg;
	int rc = 0;

	doc = nt_ctl_parse_reply(reply, &result, &msg, code, sizeof code, err,
	    sizeof err);
	if (doc == NULL) {
		if (o->json)
			printf("%s\n", reply);
		/* It may quote what we sent: one printable line. */
		nt_cmd_error("query", err);
		return (code_status(code));
	}
	if (o->json && !o->is_verb)
		print_raw_result(reply);
	else if (o->json)
		printf("%s\n", reply);
	else if (o->is_verb)
		printf("%s\n", msg != NULL ? msg : "ok");
	else if (print_view(o, result) != 0) {
		fprintf(stderr, "ntimed query: the daemon's answer has no "
		    "result\n");
		rc = EXIT_SYSTEM;
	}
	nt_yconf_doc_free(doc);
	return (rc);
}

static bool
is_busy(const char *reply)
{
	const struct nt_yconf_node *r;
	struct nt_yconf_doc *doc;
	char err[NT_CONF_ERRLEN], code[32] = "";
	const char *msg;

	doc = nt_ctl_parse_reply(reply, &r, &msg, code, sizeof code, err,
	    sizeof err);
	nt_yconf_doc_free(doc);
	return (doc == NULL && strcmp(code, "busy") == 0);
}

/*
 * One request, answered.  A daemon at its connection limit answers
 * "busy" and closes; the connections it has are mostly queries that come
 * and go within milliseconds (a monitoring system's, in parallel), so
 * connect again, BUSY_TRIES times 50-100 ms apart, before passing the
 * "busy" on.  *fd is the connection (-1 when a new one failed).  0 with
 * *reply, or -1 with err.
 */
static int
call(int *fd, const char *path, const char *req, char **reply, char *err,
    size_t errlen)
{
	struct timespec pause;

	for (int i = 1;; i++) {
		if (nt_ctl_call(*fd, req, NT_CTL_CALL_TIMEOUT, reply, err,
		    errlen) != 0)
			return (-1);
		if (i == BUSY_TRIES || !is_busy(*reply))
			return (0);
		free(*reply);
		close(*fd);
		pause = (struct timespec){ 0, 50000000 +
		    (long)arc4random_uniform(50000000) };
		nanosleep(&pause, NULL);
		if ((*fd = nt_ctl_connect(path, err, errlen)) < 0)
			return (-1);
	}
}

static int
ask(int *fd, const struct local_opts *o, const char *req)
{
	char err[NT_CONF_ERRLEN], *reply;
	int rc;

	if (call(fd, o->socket, req, &reply, err, sizeof err) != 0) {
		nt_cmd_error("query", err);
		return (EXIT_SYSTEM);
	}
	rc = show(o, reply);
	free(reply);
	return (rc);
}

/*
 * rc, unless what we wrote on stdout did not get there (a full disk, a
 * closed pipe): then exit 3 with "cannot write output", as a remote
 * query does.  Shared with cmd/query.c.
 */
/* Flush stdout: 0, or the error (EPIPE: the reader is gone; cleared). */
static int
flush_stdout(void)
{
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return (0);
	if (errno == EPIPE) {
		clearerr(stdout);
		return (EPIPE);
	}
	return (errno != 0 ? errno : EIO);
}

static int
write_failed(int err)
{
	fprintf(stderr, "ntimed query: cannot write output: %s\n",
	    strerror(err));
	return (EXIT_SYSTEM);
}

int
query_output_status(int rc)
{
	int err = flush_stdout();

	/* A reader that has seen enough ("| head") is no failure. */
	if (err == 0 || err == EPIPE)
		return (rc);
	return (rc == 0 ? write_failed(err) : rc);	/* else said already */
}

static int
watch(int *fd, const struct local_opts *o, const char *req)
{
	struct timespec second = { 1, 0 };
	bool tty = isatty(STDOUT_FILENO);
	int rc, err;

	for (;;) {
		if (tty && !o->json)
			printf("\033[H\033[2J");
		if ((rc = ask(fd, o, req)) != 0)
			return (rc);
		if (!tty && !o->json)
			printf("\n");
		if ((err = flush_stdout()) != 0)	/* EPIPE: "| head" */
			return (err == EPIPE ? 0 : write_failed(err));
		nanosleep(&second, NULL);
	}
}

/*
 * One waitsync try: tracking, and whether it is synchronized within
 * max_error, said in one line ("try 3: synchronized, max error 8.0us").
 * As with chronyc, a try that finds no daemon (not started yet, or
 * restarting) is a try like the others: *fd is -1 after it, and the
 * next one connects again.  No permission is no reason to wait.  0 with
 * *ok, or an exit status.
 */
static int
sync_try(int *fd, const struct local_opts *o, const char *req, long i,
    bool *ok)
{
	const struct nt_yconf_node *r;
	struct nt_yconf_doc *doc;
	char err[NT_CONF_ERRLEN], code[32], b[16], *reply;
	const char *msg;
	double maxerr;

	if (*fd < 0 && (*fd = nt_ctl_connect(o->socket, err,
	    sizeof err)) < 0) {
		if (errno != ENOENT && errno != ECONNREFUSED) {
			nt_cmd_error("query", err);
			return (EXIT_SYSTEM);
		}
		printf("try %ld: no daemon at %s\n", i, o->socket);
		return (0);
	}
	if (call(fd, o->socket, req, &reply, err, sizeof err) != 0) {
		printf("try %ld: no answer: %s\n", i, err);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return (0);
	}
	doc = nt_ctl_parse_reply(reply, &r, &msg, code, sizeof code, err,
	    sizeof err);
	free(reply);
	if (doc == NULL || r == NULL || r->kind != NT_YCONF_MAP) {
		nt_cmd_error("query", doc == NULL ? err : "the daemon's "
		    "answer has no result");
		nt_yconf_doc_free(doc);
		return (doc == NULL ? code_status(code) : EXIT_SYSTEM);
	}
	maxerr = num(r, "max_error");
	*ok = flag(r, "synchronized") && (o->max_error == 0 ||
	    maxerr <= o->max_error);
	printf("try %ld: %s, max error %s\n", i, flag(r, "synchronized") ?
	    "synchronized" : "not synchronized", dur(maxerr, false, b,
	    sizeof b));
	nt_yconf_doc_free(doc);
	return (0);
}

/*
 * chronyc's waitsync: a try every second until the daemon is
 * synchronized (within max_error); after o->tries without, 1, or 3 when
 * the last try found no daemon.
 */
static int
waitsync(const struct local_opts *o, const char *req)
{
	struct timespec second = { 1, 0 };
	char msg[NT_CONF_ERRLEN];
	bool ok = false;
	int fd = -1, rc = 0, err;

	for (long i = 1; o->tries == 0 || i <= o->tries; i++) {
		if ((rc = sync_try(&fd, o, req, i, &ok)) != 0 || ok)
			break;
		if ((err = flush_stdout()) != 0) {
			rc = err == EPIPE ? EXIT_RUNTIME : write_failed(err);
			break;
		}
		if (o->tries == 0 || i < o->tries)
			nanosleep(&second, NULL);
	}
	if (rc == 0 && !ok && fd < 0) {
		snprintf(msg, sizeof msg, "%s: no daemon at the last try (is "
		    "an ntimed daemon running? --socket names another)",
		    o->socket);
		nt_cmd_error("query", msg);
		rc = EXIT_SYSTEM;
	} else if (rc == 0 && !ok)
		rc = EXIT_RUNTIME;
	if (fd >= 0)
		close(fd);
	return (rc);
}

int
cmd_query_local(int argc, char **argv)
{
	struct local_opts o;
	char err[NT_CONF_ERRLEN], *req;
	int fd, rc;

	if (!wants_local(argc, argv))
		return (-1);
	if ((rc = parse_local(&o, argc, argv)) >= 0)
		return (rc == 0 ? query_output_status(0) : rc);	/* --help */
	if ((req = make_request(&o)) == NULL) {
		fprintf(stderr, "ntimed query: out of memory\n");
		return (EXIT_SYSTEM);
	}
	signal(SIGPIPE, SIG_IGN);
	if (o.waitsync)
		rc = waitsync(&o, req);
	else if ((fd = nt_ctl_connect(o.socket, err, sizeof err)) < 0) {
		nt_cmd_error("query", err);	/* names the socket path */
		rc = EXIT_SYSTEM;
	} else {
		rc = o.watch ? watch(&fd, &o, req) : ask(&fd, &o, req);
		if (fd >= 0)
			close(fd);
	}
	free(req);
	return (query_output_status(rc));
}
