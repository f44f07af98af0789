/*
 * "ntimed client": steer this machine's clock from NTP servers.
 *
 * The work is done by the engine (lib/engine.c) on a libuv loop through
 * lib/uvclient.c; this file turns options and the config into a running
 * engine, keeps the drift file, and for --once prints what was decided.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "clock.h"
#include "cmd.h"
#include "conf.h"
#include "daemon.h"
#include "json.h"
#include "log.h"
#include "uvclient.h"

#define ONCE_TIMEOUT 15.0		/* s */
#define ONCE_REPLY_WAIT 2.0		/* s: last burst request's reply */

struct client_opts {
	const char	*config;
	bool		check_config;
	bool		dry_run;
	bool		once;
	bool		json;
	double		timeout;
	enum nt_family_filter fam;
	int		log_level;	/* -1: from the config */
};

struct client {
	struct client_opts o;
	struct nt_conf	conf;
	struct nt_clock	*clk;
	uv_loop_t	loop;
	struct nt_uvclient *uc;
	uv_timer_t	check;		/* --once progress / drift saving */
	uv_signal_t	sigint, sigterm;
	nt_time		started;
	bool		timed_out;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: ntimed client [OPTIONS] [SERVER[:PORT]...]\n"
	    "Steer this machine's clock from NTP servers (step once when far\n"
	    "off at start-up, then slew and correct the frequency).\n\n"
	    "  -c, --config FILE   configuration (default %s)\n"
	    "      --check-config  validate the configuration, print it, exit\n"
	    "  -n, --dry-run       measure and decide, never touch the clock\n"
	    "      --once          synchronize once and exit (like ntpdate)\n"
	    "      --json          with --once: print the result as JSON\n"
	    "  -t, --timeout SEC   with --once: give up after SEC (default %.0f)\n"
	    "  -4, -6              use only IPv4 / IPv6 addresses\n"
	    "  -v, --verbose       log what every update does\n"
	    "  -d, --debug         log everything, to standard error\n"
	    "  -h, --help          this text\n\n"
	    "Servers on the command line replace those in the file.\n"
	    "Exit status: 0 synchronized (or, --once, measured), 1 no usable\n"
	    "servers, 2 usage or configuration error, 3 system error.\n",
	    NT_CONF_DEFAULT_PATH, ONCE_TIMEOUT);
}

static int
parse_opts(struct client_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "once", no_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int ch;

	memset(o, 0, sizeof *o);
	o->timeout = ONCE_TIMEOUT;
	o->log_level = -1;
	while ((ch = getopt_long(argc, argv, "c:nt:46vdh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c': o->config = optarg; break;
		case 'C': o->check_config = true; break;
		case 'n': o->dry_run = true; break;
		case 'o': o->once = true; break;
		case 'j': o->json = true; break;
		case '4': o->fam = NT_FAMILY_V4; break;
		case '6': o->fam = NT_FAMILY_V6; break;
		case 'v': o->log_level = NT_LOG_INFO; break;
		case 'd': o->log_level = NT_LOG_DEBUG; break;
		case 'h': usage(stdout); exit(0);
		case 't':
			o->timeout = strtod(optarg, &end);
			if (*end != '\0' || !(o->timeout > 0) ||
			    o->timeout > 86400) {
				fprintf(stderr, "ntimed client: invalid timeout "
				    "'%s' (seconds, 0-86400)\n", optarg);
				return (-1);
			}
			break;
		default:
			fprintf(stderr, "Try 'ntimed client --help'.\n");
			return (-1);
		}
	}
	if (o->json && !o->once) {
		fprintf(stderr, "ntimed client: --json needs --once\n");
		return (-1);
	}
	return (optind);
}

/* --once is done when every source has finished its burst or failed. */
static bool
once_done(struct client *cl)
{
	struct nt_engine *e = nt_uvclient_engine(cl->uc);
	nt_time now = nt_clock_now(cl->clk);
	size_t n = nt_engine_n_sources(e);

	if (nt_uvclient_resolving(cl->uc) > 0)
		return (false);
	for (size_t i = 0; i < n; i++) {
		const struct nt_source *s = nt_engine_source(e, i);

		if (s->denied || s->unreachable)
			continue;
		if (s->burst_left > 0 || (s->pending &&
		    nt_diff(now, s->t1) < ONCE_REPLY_WAIT))
			return (false);
	}
	return (true);
}

static void
stop(struct client *cl)
{
	uv_timer_stop(&cl->check);
	uv_close((uv_handle_t *)&cl->check, NULL);
	uv_close((uv_handle_t *)&cl->sigint, NULL);
	uv_close((uv_handle_t *)&cl->sigterm, NULL);
	nt_uvclient_close(cl->uc);
}

static void
save_drift(struct client *cl)
{
	if (!cl->o.dry_run && !cl->o.once)
		nt_daemon_save_drift(&cl->conf, cl->uc);
}

static void
on_check(uv_timer_t *t)
{
	struct client *cl = t->data;

	if (!cl->o.once) {
		save_drift(cl);
		return;
	}
	if (nt_diff(nt_clock_now(cl->clk), cl->started) >= cl->o.timeout)
		cl->timed_out = true;
	else if (!once_done(cl))
		return;
	stop(cl);
}

static void
on_signal(uv_signal_t *h, int signum)
{
	struct client *cl = h->data;

	nt_log(NT_LOG_NOTICE, "signal %d: saving state and exiting", signum);
	save_drift(cl);
	stop(cl);
}

static const char *
source_address(const struct nt_source *s, char *buf, size_t len)
{
	const char *open = strchr(s->name, '(');

	strlcpy(buf, open != NULL ? open + 1 : s->name, len);
	buf[strcspn(buf, ")")] = '\0';
	return (buf);
}

static const char *
source_why(const struct nt_source *s)
{
	if (s->n_hist == 0 && s->state == NT_SRC_INIT)
		return (s->n_tx > 0 ? "no reply" : "not polled");
	return (nt_src_state_str(s->state));
}

static void
print_source_json(struct nt_json *j, const struct nt_engine *e,
    const struct nt_source *s)
{
	char addr[NT_NAME_MAX];
	bool has = s->n_hist > 0;
	bool sel = s->state == NT_SRC_SELECTED || s->state == NT_SRC_COMBINED;

	nt_json_begin_object(j);
	nt_json_key(j, "host");
	nt_json_string(j, s->conf.address);
	nt_json_key(j, "address");
	nt_json_string(j, source_address(s, addr, sizeof addr));
	nt_json_key(j, "offset");
	has ? nt_json_number(j, nt_source_offset_at(s,
	    nt_engine_last_update(e) ? nt_engine_last_update(e)->when :
	    s->est_t)) : nt_json_null(j);
	nt_json_key(j, "delay");
	has ? nt_json_number(j, s->min_delay) : nt_json_null(j);
	nt_json_key(j, "stratum");
	s->have_last ? nt_json_int(j, s->last.stratum) : nt_json_null(j);
	nt_json_key(j, "samples");
	nt_json_int(j, s->n_hist);
	nt_json_key(j, "selected");
	nt_json_bool(j, sel);
	nt_json_key(j, "state");
	nt_json_string(j, source_why(s));
	nt_json_key(j, "reason");
	nt_json_string(j, sel ? NULL : source_why(s));
	nt_json_end_object(j);
}

static void
print_once_json(struct client *cl, const struct nt_update *u, double applied,
    bool stepped, const char *error)
{
	struct nt_engine *e = nt_uvclient_engine(cl->uc);
	struct nt_json j;

	nt_json_init_file(&j, stdout, true);
	nt_json_begin_object(&j);
	nt_json_key(&j, "offset");
	u != NULL ? nt_json_number(&j, u->offset) : nt_json_null(&j);
	nt_json_key(&j, "offset_error");
	u != NULL ? nt_json_number(&j, u->offset_sd) : nt_json_null(&j);
	nt_json_key(&j, "dry_run");
	nt_json_bool(&j, cl->o.dry_run);
	nt_json_key(&j, "stepped");
	nt_json_bool(&j, u != NULL && stepped);
	nt_json_key(&j, "slewed");
	nt_json_bool(&j, u != NULL && !stepped);
	nt_json_key(&j, "correction");
	u != NULL ? nt_json_number(&j, applied) : nt_json_null(&j);
	nt_json_key(&j, "sources");
	nt_json_begin_array(&j);
	for (size_t i = 0; i < nt_engine_n_sources(e); i++)
		print_source_json(&j, e, nt_engine_source(e, i));
	nt_json_end_array(&j);
	nt_json_key(&j, "error");
	nt_json_string(&j, error);
	nt_json_end_object(&j);
	nt_json_finish(&j);
	fputc('\n', stdout);
}

static void
print_once_text(struct client *cl, const struct nt_update *u, double applied,
    bool stepped, const char *error)
{
	struct nt_engine *e = nt_uvclient_engine(cl->uc);
	char b1[NT_DURSTR_LEN], b2[NT_DURSTR_LEN];

	for (size_t i = 0; i < nt_engine_n_sources(e); i++) {
		const struct nt_source *s = nt_engine_source(e, i);

		printf("%-40s %-14s", s->name, source_why(s));
		if (s->n_hist > 0)
			printf(" offset %s delay %s", nt_format_dur(
			    s->est_offset, b1, sizeof b1), nt_format_mag(
			    s->min_delay, b2, sizeof b2));
		printf("\n");
	}
	if (u == NULL) {
		printf("no update: %s\n", error);
		return;
	}
	printf("offset %s +/- %s: %s%s %s\n", nt_format_dur(u->offset, b1,
	    sizeof b1), nt_format_mag(u->offset_sd, b2, sizeof b2),
	    cl->o.dry_run ? "would " : "", stepped ? "step" : "slew",
	    nt_format_dur(applied, b1, sizeof b1));
}

/* --once: one correction from the final estimate, unless dry-run. */
static int
finish_once(struct client *cl)
{
	const struct nt_update *u;
	const char *error = NULL;
	bool stepped = false;
	int err = 0;

	nt_engine_update_now(nt_uvclient_engine(cl->uc));
	u = nt_engine_last_update(nt_uvclient_engine(cl->uc));
	if (u == NULL)
		error = cl->timed_out ? "no usable servers before the timeout" :
		    "no usable servers (none answered, or no majority agreed)";
	else {
		stepped = cl->conf.step_threshold > 0 &&
		    fabs(u->offset) > cl->conf.step_threshold;
		if (!cl->o.dry_run)
			err = stepped ? cl->clk->ops->step(cl->clk, u->offset) :
			    cl->clk->ops->slew(cl->clk, u->offset);
		if (err != 0)
			error = strerror(-err);
	}
	if (cl->o.json)
		print_once_json(cl, u, u != NULL ? u->offset : 0, stepped,
		    error);
	else
		print_once_text(cl, u, u != NULL ? u->offset : 0, stepped,
		    error);
	if (err != 0)
		return (EXIT_SYSTEM);
	return (u == NULL ? EXIT_RUNTIME : 0);
}

static int
run(struct client *cl)
{
	double every;

	cl->clk = cl->o.dry_run ? nt_clock_dry() : nt_clock_kernel();
	uv_loop_init(&cl->loop);
	nt_log(NT_LOG_NOTICE, "client starting: %zu servers, %zu pools, %s "
	    "clock%s", cl->conf.n_servers, cl->conf.n_pools, cl->clk->name,
	    cl->o.once ? ", once" : "");
	cl->uc = nt_daemon_start_client(&cl->loop, &cl->conf, cl->clk,
	    cl->o.once, cl->o.fam);
	if (cl->uc == NULL) {
		fprintf(stderr, "ntimed client: out of memory\n");
		return (EXIT_SYSTEM);
	}
	cl->started = nt_clock_now(cl->clk);
	uv_timer_init(&cl->loop, &cl->check);
	cl->check.data = cl;
	every = cl->o.once ? 0.1 : NT_DRIFT_SAVE_INTERVAL;
	uv_timer_start(&cl->check, on_check, (uint64_t)(every * 1e3),
	    (uint64_t)(every * 1e3));
	uv_signal_init(&cl->loop, &cl->sigint);
	uv_signal_init(&cl->loop, &cl->sigterm);
	cl->sigint.data = cl->sigterm.data = cl;
	uv_signal_start(&cl->sigint, on_signal, SIGINT);
	uv_signal_start(&cl->sigterm, on_signal, SIGTERM);
	uv_run(&cl->loop, UV_RUN_DEFAULT);
	return (cl->o.once ? finish_once(cl) : 0);
}

int
cmd_client(int argc, char **argv)
{
	struct client cl;
	int first, rc;

	memset(&cl, 0, sizeof cl);
	if ((first = parse_opts(&cl.o, argc, argv)) < 0)
		return (EXIT_USAGE);
	if (nt_daemon_load_config("client", cl.o.config, argc - first,
	    argv + first, !cl.o.check_config, &cl.conf) != 0)
		return (EXIT_USAGE);
	if (cl.o.check_config) {
		nt_conf_print(stdout, &cl.conf);
		nt_conf_free(&cl.conf);
		return (0);
	}
	if (!cl.o.dry_run && !nt_daemon_can_steer()) {
		fprintf(stderr, "ntimed client: no permission to steer the "
		    "clock (needs root or CAP_SYS_TIME); use --dry-run to "
		    "measure only\n");
		nt_conf_free(&cl.conf);
		return (EXIT_SYSTEM);
	}
	/* --once talks on stdout: only problems go to stderr. */
	nt_daemon_logging(&cl.conf, cl.o.once && cl.o.log_level < 0 ?
	    NT_LOG_WARNING : cl.o.log_level, "ntimed-client");
	rc = run(&cl);
	uv_run(&cl.loop, UV_RUN_DEFAULT);	/* let closed handles finish */
	if (cl.uc != NULL)
		nt_uvclient_free(cl.uc);
	uv_loop_close(&cl.loop);
	nt_conf_free(&cl.conf);
	return (rc);
}
