/*
 * "ntimed sim": run the client's own code against a scenario of simulated
 * servers, network and oscillator in virtual time, and say how well it
 * kept time.  Answers "what accuracy will I get with these servers and
 * this network?" (over many seeds with --seeds), and with a scenario's
 * expect: block doubles as a regression test (exit 1 when a limit fails).
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "log.h"
#include "sim.h"
#include "sim_report.h"
#include "yconf.h"

struct sim_opts {
	const char	*scenario;
	const char	*csv;
	const char	*plot;
	bool		json;
	bool		have_seed;
	uint64_t	seed;
	bool		have_seeds;	/* --seeds: first..last */
	uint64_t	first, last;
	double		duration;	/* 0: the scenario's */
	int		log_level;	/* -1: none */
};

struct sim_run {
	struct sim_opts	o;
	struct nt_sim_scenario sc;
	struct nt_sim	*sim;
	FILE		*csv;
	FILE		*plot_f;	/* opened before the run */
	struct nt_sim_plot *plot;
};

/* "ntimed sim: MESSAGE", one line, whatever bytes the message quotes. */
static void __attribute__((format(printf, 1, 2)))
sim_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nt_cmd_verror("sim", fmt, ap);
	va_end(ap);
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: ntimed sim [OPTIONS] SCENARIO.yaml\n"
	    "Run the client's code against simulated servers, network and\n"
	    "clock in virtual time, and report how well it kept time.\n\n"
	    "  -s, --seed N          random seed, 0 to 2^53 (default: the\n"
	    "                        scenario's)\n"
	    "      --seeds N|A-B     run seeds 1 to N (or A to B) and report\n"
	    "                        each figure's mean, least and greatest\n"
	    "  -D, --duration TIME   simulated time: seconds, or 2h, 30d\n"
	    "                        (default: the scenario's)\n"
	    "      --json            print the summary as JSON\n"
	    "      --csv FILE        write the time series, one row per tick\n"
	    "      --plot FILE.svg   plot time and frequency error\n"
	    "  -v, --verbose         show the client's log, in virtual time\n"
	    "  -d, --debug           show its debug log too\n"
	    "  -h, --help            this text\n\n"
	    "Scenarios: conf/sim/*.yaml; keys and figures: docs/sim.md.\n"
	    "Exit status: 0 every expect: limit met (with --seeds, by every\n"
	    "seed), 1 a limit failed, 2 usage or scenario error, 3 cannot\n"
	    "read the scenario (no permission) or write an output (or out of\n"
	    "memory).\n");
}

/* The same range as a scenario's seed: 0..2^53, exact in JSON too. */
static int
parse_seed(const char *arg, uint64_t *seed)
{
	const char *digits = arg + (arg[0] == '+');

	errno = 0;
	*seed = strtoull(digits, NULL, 10);
	if (*digits == '\0' || digits[strspn(digits, "0123456789")] != '\0' ||
	    errno != 0 || *seed > NT_SIM_SEED_MAX) {
		nt_cmd_usage("sim", "invalid seed '%s' (an integer, 0 to "
		    "%" PRIu64 ")", arg, NT_SIM_SEED_MAX);
		return (-1);
	}
	return (0);
}

/* As a scenario's 'duration:', with its units and its range. */
static int
parse_duration(const char *arg, double *d)
{
	if (nt_sim_parse_time(arg, d)) {
		nt_cmd_usage("sim", "invalid duration '%s' (seconds, or a "
		    "number with ns, us, ms, s, min, h or d: 2h, 30d)", arg);
		return (-1);
	}
	if (!(*d >= NT_SIM_DURATION_MIN && *d <= NT_SIM_DURATION_MAX)) {
		nt_cmd_usage("sim", "--duration out of range: %s (allowed "
		    "%g..%g s)", arg, NT_SIM_DURATION_MIN, NT_SIM_DURATION_MAX);
		return (-1);
	}
	return (0);
}

#define SEEDS_MAX 100000	/* runs in one --seeds */

/* --seeds N (1 to N) or A-B. */
static int
parse_seeds(const char *arg, struct sim_opts *o)
{
	unsigned long long a = 1, b;
	char *end;
	const char *dash = strchr(arg, '-'), *last = arg;

	errno = 0;
	if (dash != NULL) {
		a = strtoull(arg, &end, 10);
		if (*arg < '0' || *arg > '9' || end != dash)
			goto bad;
		last = dash + 1;
	}
	b = strtoull(last, &end, 10);
	if (*last < '0' || *last > '9' || *end != '\0' || errno != 0 ||
	    b > NT_SIM_SEED_MAX || a > b || (dash == NULL && b == 0))
		goto bad;
	if (b - a >= SEEDS_MAX) {
		nt_cmd_usage("sim", "--seeds %s: at most %d runs", arg,
		    SEEDS_MAX);
		return (-1);
	}
	o->first = a;
	o->last = b;
	o->have_seeds = true;
	return (0);
bad:
	nt_cmd_usage("sim", "invalid --seeds '%s' (N for seeds 1 to N, or "
	    "A-B, 0 to %" PRIu64 ")", arg, NT_SIM_SEED_MAX);
	return (-1);
}

/* --seeds is a summary of many runs: nothing that shows one. */
static int
check_seeds(const struct sim_opts *o)
{
	const char *clash = o->have_seed ? "--seed" : o->csv != NULL ?
	    "--csv" : o->plot != NULL ? "--plot" : o->log_level >= 0 ?
	    "--verbose/--debug" : NULL;

	if (!o->have_seeds || clash == NULL)
		return (0);
	nt_cmd_usage("sim", "--seeds sums up many runs: it does not go with "
	    "%s, which is about one", clash);
	return (-1);
}

static int
parse_opts(struct sim_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "seeds", required_argument, NULL, 'S' },
		{ "duration", required_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "csv", required_argument, NULL, 'C' },
		{ "plot", required_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof *o);
	o->log_level = -1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":s:D:vdh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 's':
			if (parse_seed(optarg, &o->seed))
				return (-1);
			o->have_seed = true;
			break;
		case 'S':
			if (parse_seeds(optarg, o))
				return (-1);
			break;
		case 'D':
			if (parse_duration(optarg, &o->duration))
				return (-1);
			break;
		case 'j': o->json = true; break;
		case 'C': o->csv = optarg; break;
		case 'P': o->plot = optarg; break;
		case 'v': o->log_level = NT_LOG_INFO; break;
		case 'd': o->log_level = NT_LOG_DEBUG; break;
		case 'h': usage(stdout); exit(0);
		default:
			nt_cmd_bad_option("sim", ch, argv);
			return (-1);
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "ntimed sim: %s\nTry 'ntimed sim --help'.\n",
		    optind == argc ? "no scenario file given" :
		    "one scenario file only");
		return (-1);
	}
	o->scenario = argv[optind];
	return (check_seeds(o));
}

/* The client's log, stamped with virtual seconds since the start. */
static void
log_sink(void *ctx, enum nt_log_level lvl, const char *msg)
{
	struct sim_run *r = ctx;

	fprintf(stderr, "[%12.6f] %s: %s\n", nt_sim_elapsed(r->sim),
	    nt_log_level_name(lvl), msg);
}

static void
observe(void *ctx, const struct nt_sim_point *p, const struct nt_engine *e)
{
	struct sim_run *r = ctx;

	if (r->csv != NULL)
		nt_sim_csv_row(r->csv, p, e);
	if (r->plot != NULL)
		nt_sim_plot_add(r->plot, p);
}

static int
close_file(FILE *f, const char *path)
{
	int bad = ferror(f);

	if (fclose(f) != 0 || bad) {
		sim_error("cannot write %s: %s", path,
		    strerror(errno != 0 ? errno : EIO));
		return (-1);
	}
	return (0);
}

static int
write_plot(struct sim_run *r, const struct nt_sim_result *res)
{
	char title[256];
	FILE *f = r->plot_f;

	r->plot_f = NULL;
	snprintf(title, sizeof title, "ntimed sim: %s, seed %llu",
	    r->sc.name, (unsigned long long)res->seed);
	errno = 0;
	nt_sim_plot_write(f, r->plot, title, res->settle);
	return (close_file(f, r->o.plot));
}

/* Whether two paths name one file (b may be NULL: not found). */
static bool
same_file(const struct stat *a, const char *pa, const struct stat *b,
    const char *pb)
{
	return (strcmp(pa, pb) == 0 || (a != NULL && b != NULL &&
	    a->st_dev == b->st_dev && a->st_ino == b->st_ino));
}

/* An output opened but not yet truncated. */
struct out {
	const char	*opt, *path;	/* "--csv", FILE */
	int		fd;
	bool		created;	/* by us: removed if we give up */
	struct stat	st;
};

/* Open o->path without truncating it (0), or say why not (-1). */
static int
out_open(struct out *o)
{
	o->created = true;
	o->fd = open(o->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (o->fd < 0 && errno == EEXIST) {
		o->created = false;
		o->fd = open(o->path, O_WRONLY | O_CLOEXEC);
	}
	if (o->fd >= 0 && fstat(o->fd, &o->st) == 0)
		return (0);
	sim_error("cannot write %s: %s", o->path, strerror(errno));
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	return (-1);
}

/* Give up on o: an existing file is left exactly as it was. */
static void
out_abandon(struct out *o)
{
	if (o->fd < 0)
		return;
	close(o->fd);
	if (o->created)
		(void)unlink(o->path);
	o->fd = -1;
}

/* Truncate o now that it is known to be safe, and make it a stream. */
static int
out_start(struct out *o, FILE **fp)
{
	if ((!S_ISREG(o->st.st_mode) || ftruncate(o->fd, 0) == 0) &&
	    (*fp = fdopen(o->fd, "w")) != NULL) {
		o->fd = -1;
		return (0);
	}
	sim_error("cannot write %s: %s", o->path, strerror(errno));
	out_abandon(o);
	return (-1);
}

/*
 * An output that is the scenario, or both outputs one file: a usage
 * error before anything is truncated ("--csv lan.yaml lan.yaml" must
 * not destroy the scenario).
 */
static bool
out_clash(const struct out *o, int n, const char *scen_path,
    const struct stat *scen)
{
	for (int i = 0; i < n; i++) {
		bool is_scen = same_file(&o[i].st, o[i].path, scen, scen_path);

		if (is_scen || (i > 0 && same_file(&o[i].st, o[i].path,
		    &o[0].st, o[0].path))) {
			sim_error("%s %s: that is the %s (give another file)",
			    o[i].opt, o[i].path, is_scen ? "scenario file" :
			    "--csv file");
			return (true);
		}
	}
	return (false);
}

/*
 * Open both outputs before running, so that a bad path costs no
 * simulation and is told at once; truncate them only once both are
 * known to be fine.  Returns an exit status, 0 if fine.
 */
static int
open_outputs(struct sim_run *r, double duration)
{
	struct out o[2];
	struct stat scen;
	const struct stat *sp = stat(r->o.scenario, &scen) == 0 ? &scen :
	    NULL;
	FILE **fp[2];
	int n = 0, rc = 0;

	if (r->o.csv != NULL) {
		o[n] = (struct out){ "--csv", r->o.csv, -1, false, { 0 } };
		fp[n++] = &r->csv;
	}
	if (r->o.plot != NULL) {
		o[n] = (struct out){ "--plot", r->o.plot, -1, false, { 0 } };
		fp[n++] = &r->plot_f;
	}
	for (int i = 0; i < n && rc == 0; i++)
		if (out_open(&o[i]) != 0)
			rc = EXIT_SYSTEM;
	if (rc == 0 && out_clash(o, n, r->o.scenario, sp))
		rc = EXIT_USAGE;
	for (int i = 0; i < n && rc == 0; i++)
		if (out_start(&o[i], fp[i]) != 0)
			rc = EXIT_SYSTEM;
	for (int i = 0; i < n; i++)
		out_abandon(&o[i]);
	if (rc != 0)
		return (rc);
	if (r->csv != NULL)
		nt_sim_csv_header(r->csv);
	if (r->plot_f != NULL) {
		if ((r->plot = malloc(sizeof *r->plot)) == NULL) {
			sim_error("out of memory");
			return (EXIT_SYSTEM);
		}
		nt_sim_plot_init(r->plot, duration);
	}
	return (0);
}

/* The summary on stdout; a write that failed (a full disk) is exit 3. */
static int
report(struct sim_run *r, const struct nt_sim_result *res, const bool *ok)
{
	errno = 0;
	if (r->o.json)
		nt_sim_report_json(stdout, &r->sc, res, ok);
	else
		nt_sim_report_text(stdout, &r->sc, res, ok);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		sim_error("cannot write output: %s",
		    strerror(errno != 0 ? errno : EIO));
		return (-1);
	}
	return (0);
}

/* Close the outputs after the run: any write that failed is exit 3. */
static int
finish_outputs(struct sim_run *r, const struct nt_sim_result *res)
{
	int rc = 0;

	if (r->csv != NULL) {
		FILE *f = r->csv;

		r->csv = NULL;
		errno = 0;
		if (close_file(f, r->o.csv))
			rc = EXIT_SYSTEM;
	}
	if (r->plot_f != NULL && write_plot(r, res))
		rc = EXIT_SYSTEM;
	return (rc);
}

/* --seeds: the runs one after the other, summed up as they end. */
static int
simulate_seeds(struct sim_run *r, double duration)
{
	struct nt_sim_result res;
	struct nt_sim_seeds s;
	bool ok[NT_SIM_N_METRICS];

	nt_sim_seeds_init(&s, r->o.first, r->o.last);
	nt_log_setup(NT_LOG_NONE, NT_LOG_ERR, "ntimed-sim");
	for (uint64_t seed = r->o.first;; seed++) {
		struct nt_sim *sim = nt_sim_new(&r->sc, seed, duration);

		if (sim == NULL || nt_sim_run(sim, NULL, NULL, &res) != 0) {
			nt_sim_free(sim);
			sim_error("out of memory (seed %llu)",
			    (unsigned long long)seed);
			return (EXIT_SYSTEM);
		}
		nt_sim_free(sim);
		nt_sim_check(&r->sc, &res, ok);
		nt_sim_seeds_add(&s, &res, ok);
		if (seed == r->o.last)
			break;
	}
	errno = 0;
	if (r->o.json)
		nt_sim_seeds_json(stdout, &r->sc, &s);
	else
		nt_sim_seeds_text(stdout, &r->sc, &s);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		sim_error("cannot write output: %s",
		    strerror(errno != 0 ? errno : EIO));
		return (EXIT_SYSTEM);
	}
	return (s.n_failed > 0 ? EXIT_RUNTIME : 0);
}

/*
 * A run shorter than the scenario's events (-D, or the file's own
 * duration): say which one it loses.  A file's spell that lasts to its
 * very end ("to: 10000" in 10000 s) loses nothing.
 */
static void
warn_cut(const struct sim_run *r, double duration)
{
	char first[128];
	bool cmdline = r->o.duration > 0;
	const char *whose = cmdline ? "--duration" : "the scenario's duration";
	size_t n;

	if ((n = nt_sim_scenario_cut(&r->sc, cmdline ? duration :
	    nextafter(duration, INFINITY), first, sizeof first)) == 0)
		return;
	if (n == 1)
		sim_error("warning: %s %.15g s ends the run before an event "
		    "of the scenario: %s", whose, duration, first);
	else
		sim_error("warning: %s %.15g s ends the run before %zu events "
		    "of the scenario, the first: %s", whose, duration, n,
		    first);
}

static int
simulate(struct sim_run *r)
{
	struct nt_sim_result res;
	bool ok[NT_SIM_N_METRICS], all;
	int rc;
	uint64_t seed = r->o.have_seed ? r->o.seed : (uint64_t)r->sc.seed;
	double duration = r->o.duration > 0 ? r->o.duration : r->sc.duration;

	if (duration <= r->sc.settle) {
		/* Only -D gets here: the file's own is checked on loading. */
		sim_error("--duration %.15g s must be longer than the scenario's "
		    "settling time (%g s)", duration, r->sc.settle);
		return (EXIT_USAGE);
	}
	warn_cut(r, duration);
	if (r->o.have_seeds)
		return (simulate_seeds(r, duration));
	if ((rc = open_outputs(r, duration)) != 0)
		return (rc);
	if ((r->sim = nt_sim_new(&r->sc, seed, duration)) == NULL) {
		sim_error("out of memory");
		return (EXIT_SYSTEM);
	}
	nt_log_setup(NT_LOG_NONE, r->o.log_level < 0 ? NT_LOG_ERR :
	    (enum nt_log_level)r->o.log_level, "ntimed-sim");
	if (r->o.log_level >= 0)
		nt_log_set_sink(log_sink, r);
	rc = nt_sim_run(r->sim, observe, r, &res);
	nt_log_set_sink(NULL, NULL);
	if (rc != 0) {
		/* No figures rather than wrong ones. */
		sim_error("out of memory for the statistics");
		return (EXIT_SYSTEM);
	}
	all = nt_sim_check(&r->sc, &res, ok);
	rc = report(r, &res, ok) ? EXIT_SYSTEM : all ? 0 : EXIT_RUNTIME;
	if (finish_outputs(r, &res))
		rc = EXIT_SYSTEM;
	return (rc);
}

int
cmd_sim(int argc, char **argv)
{
	struct sim_run r;
	char err[NT_CONF_ERRLEN];
	int rc;

	memset(&r, 0, sizeof r);
	if (parse_opts(&r.o, argc, argv))
		return (EXIT_USAGE);
	nt_sim_scenario_init(&r.sc);
	r.sc.run_duration = r.o.duration;
	if ((rc = nt_sim_scenario_load(&r.sc, r.o.scenario, err,
	    sizeof err)) != 0) {
		sim_error("%s", err);
		nt_sim_scenario_free(&r.sc);
		return (rc == NT_YCONF_ESYS ? EXIT_SYSTEM : EXIT_USAGE);
	}
	rc = simulate(&r);
	if (r.csv != NULL)
		fclose(r.csv);
	if (r.plot_f != NULL)
		fclose(r.plot_f);
	free(r.plot);
	nt_sim_free(r.sim);
	nt_sim_scenario_free(&r.sc);
	return (rc);
}
