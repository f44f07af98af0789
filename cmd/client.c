/*
 * "ntimed client": steer this machine's clock from NTP servers.
 *
 * The work is done by the engine (lib/engine.c) on a libuv loop through
 * lib/uvclient.c; this file turns options and the config into a running
 * engine, keeps the drift file, and for --once prints what was decided.
 * As a daemon it also answers the control socket (lib/control.c), serves
 * metrics (lib/metrics.c) and tells systemd how it is doing
 * (lib/sdnotify.c); control verbs that change the sources restart the
 * engine with the frequency it had learnt.
 */
#include <assert.h>
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
#include "control.h"
#include "daemon.h"
#include "hostport.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "sdnotify.h"
#include "status.h"
#include "uvclient.h"

#define ONCE_TIMEOUT 15.0		/* s */
#define ONCE_REPLY_WAIT 2.0		/* s: last burst request's reply */
#define READY_TIMEOUT 60.0		/* s: tell systemd we are up anyway */
#define STATUS_INTERVAL 10.0		/* s between STATUS= notifications */
#define MAX_RETIRED 8			/* engines waiting to be freed */

struct client_opts {
	const char	*config;
	const char	*socket;	/* --socket */
	bool		check_config;
	bool		dry_run;
	bool		once;
	bool		json;
	bool		foreground;
	double		timeout;
	bool		timeout_given;
	enum nt_family_filter fam;
	int		log_level;	/* -1: from the config */
	int		n_args;		/* command-line servers */
	char		**args;
};

struct client {
	struct client_opts o;
	bool		stopped;	/* stop() was called */
	struct nt_conf	conf;
	const char	*conf_path;	/* the file loaded, NULL: none */
	struct nt_clock	*clk;
	uv_loop_t	loop;
	struct nt_uvclient *uc;
	struct nt_uvclient *retired[MAX_RETIRED];
	int		n_retired;
	int		updates_before;	/* by engines before this one */
	uv_timer_t	check;		/* --once progress / drift saving */
	uv_timer_t	ops;		/* readiness, STATUS=, watchdog */
	uv_timer_t	reaper;		/* frees retired engines */
	uv_signal_t	sigint, sigterm, sighup, sigusr1;
	nt_time		started;
	bool		timed_out;
	/* Operations. */
	struct nt_status st;
	struct nt_status_engine se;
	struct nt_ctl_params ctl_p;
	struct nt_ctl	*ctl;
	struct nt_metrics *metrics;
	bool		ready;
	int		shown_selected;
	nt_time		status_sent, watchdog_sent;
	uint64_t	watchdog_usec;
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
	    "  -s, --socket PATH   control socket (default %s)\n"
	    "  -F, --foreground    log to standard error, not the journal\n"
	    "  -4, -6              use only IPv4 / IPv6 addresses\n"
	    "  -v, --verbose       log what every update does\n"
	    "  -d, --debug         log everything, to standard error\n"
	    "  -h, --help          this text\n\n"
	    "Servers on the command line replace those in the file.  SIGHUP\n"
	    "reloads the file, SIGUSR1 logs the status; 'ntimed query' shows\n"
	    "what the daemon does.\n"
	    "Exit status: 0 synchronized (or, --once, measured), 1 no usable\n"
	    "servers, 2 usage or configuration error, 3 system error, 4 gave\n"
	    "up: offsets beyond max_change came too often.\n",
	    NT_CONF_DEFAULT_PATH, ONCE_TIMEOUT, NT_CTL_DEFAULT_PATH);
}

static int
parse_opt(struct client_opts *o, int ch)
{
	char *end;

	switch (ch) {
	case 'c': o->config = optarg; break;
	case 'C': o->check_config = true; break;
	case 'n': o->dry_run = true; break;
	case 'o': o->once = true; break;
	case 'j': o->json = true; break;
	case 's':
		o->socket = optarg;
		return (nt_daemon_socket_arg("client", optarg) ? -1 : 0);
	case 'F': o->foreground = true; break;
	case '4': o->fam = NT_FAMILY_V4; break;
	case '6': o->fam = NT_FAMILY_V6; break;
	case 'v': o->log_level = NT_LOG_INFO; break;
	case 'd': o->log_level = NT_LOG_DEBUG; break;
	case 'h': usage(stdout); exit(0);
	case 't':
		o->timeout = strtod(optarg, &end);
		o->timeout_given = true;
		if (*end != '\0' || !(o->timeout > 0) || o->timeout > 86400) {
			nt_cmd_usage("client", "invalid timeout '%s' (seconds, "
			    "more than 0, at most 86400)", optarg);
			return (-1);
		}
		break;
	default:
		assert(!"unhandled option");
		return (-1);
	}
	return (0);
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
		{ "socket", required_argument, NULL, 's' },
		{ "foreground", no_argument, NULL, 'F' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof *o);
	o->timeout = ONCE_TIMEOUT;
	o->log_level = -1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:nt:s:F46vdh", longopts,
	    NULL)) != -1) {
		if (ch == '?' || ch == ':') {
			nt_cmd_bad_option("client", ch, argv);
			return (-1);
		}
		if (parse_opt(o, ch) != 0)
			return (-1);
	}
	if ((o->json || o->timeout_given) && !o->once) {
		fprintf(stderr, "ntimed client: %s needs --once\n", o->json ?
		    "--json" : "--timeout");
		return (-1);
	}
	o->n_args = argc - optind;
	o->args = argv + optind;
	return (optind);
}

/* ---- The engine, and restarting it ---- */

static void on_update(void *ctx, const struct nt_update *u);

/*
 * A new engine after a restart: the frequency learnt so far, the steps
 * still allowed, the sources of the config.  Sources start afresh.
 */
static int
engine_restart(struct client *cl, const struct nt_engine *old)
{
	struct nt_engine_params p;

	nt_daemon_restart_params(&p, &cl->conf, cl->clk, old,
	    cl->updates_before);
	cl->uc = nt_daemon_client_with(&cl->loop, &p, &cl->conf, cl->clk,
	    cl->o.fam, on_update, cl);
	if (cl->uc == NULL)
		return (-1);
	cl->se.e = nt_uvclient_engine(cl->uc);
	cl->se.updates_before = (uint64_t)cl->updates_before;
	return (0);
}

static void
free_retired(struct client *cl)
{
	for (int i = 0; i < cl->n_retired; i++)
		nt_uvclient_free(cl->retired[i]);
	cl->n_retired = 0;
}

static void
on_reaper(uv_timer_t *t)
{
	/* Our close callbacks ran in the loop iteration before this. */
	free_retired(t->data);
}

/* Close the running engine; call engine_restart() next. */
static int
engine_retire(struct client *cl, char *msg, size_t len)
{
	const struct nt_discipline *d;

	if (cl->n_retired == MAX_RETIRED ||
	    nt_uvclient_resolving(cl->uc) > 0) {
		snprintf(msg, len, "busy (%s), try again in a few seconds",
		    cl->n_retired == MAX_RETIRED ? "earlier engines still "
		    "closing" : "name lookups in progress");
		return (-1);
	}
	d = nt_engine_disc(nt_uvclient_engine(cl->uc));
	cl->updates_before += d->n_updates;
	nt_uvclient_close(cl->uc);
	cl->retired[cl->n_retired++] = cl->uc;
	cl->uc = NULL;
	uv_timer_start(&cl->reaper, on_reaper, 0, 0);
	return (0);
}

/* Retire and restart; false with msg when it could not be done. */
static int
engine_replace(struct client *cl, double step, char *msg, size_t len)
{
	/* Valid until the reaper frees the retired engine. */
	const struct nt_engine *old = cl->se.e;
	int err;

	if (engine_retire(cl, msg, len) != 0)
		return (-1);
	if (step != 0 && (err = cl->clk->ops->step(cl->clk, step)) != 0) {
		snprintf(msg, len, "cannot step the clock: %s", strerror(-err));
		step = 0;
	}
	if (engine_restart(cl, old) != 0) {
		nt_log(NT_LOG_ERR, "out of memory restarting the engine");
		exit(EXIT_SYSTEM);
	}
	/* Unless the clock was stepped, unchanged sources keep measuring. */
	if (step == 0)
		(void)nt_daemon_adopt_sources(cl->uc, nt_uvclient_engine(
		    cl->retired[cl->n_retired - 1]), cl->clk);
	cl->shown_selected = -1;
	return (step != 0 || msg[0] == '\0' ? 0 : -1);
}

/* ---- Control verbs ---- */

static int
verb_add(void *ctx, const char *host, char *msg, size_t len)
{
	struct client *cl = ctx;
	struct nt_conf *c = &cl->conf;
	const struct nt_server_conf *s;
	char err[NT_CONF_ERRLEN];
	const char *kind;

	if (nt_engine_n_sources(cl->se.e) >= NT_MAX_SOURCES) {
		snprintf(msg, len, "the source table is full (%d)",
		    NT_MAX_SOURCES);
		return (-1);
	}
	if (nt_conf_add_server_arg(c, host, err, sizeof err) != 0) {
		snprintf(msg, len, "%s", err);
		return (NT_CTL_VERB_INVALID);
	}
	s = &c->servers[c->n_servers - 1];
	/* As the loader judges a file's (lib/conf.c). */
	if ((kind = nt_conf_same_host(c, s)) != NULL) {
		snprintf(msg, len, "%s port %u is already a %s", s->address,
		    s->port, kind);
		c->n_servers--;
		return (-1);
	}
	nt_uvclient_add_server(cl->uc, s, cl->o.fam);
	snprintf(msg, len, "added server %s port %u", s->address, s->port);
	return (0);
}

/* Remove entries of list (n of them, size each) whose address matches. */
static size_t
remove_matching(void *list, size_t *n, size_t size,
    const struct nt_server_conf *(*conf_of)(const void *),
    const char *host, uint16_t port)
{
	char *base = list;
	size_t kept = 0, removed = 0;

	for (size_t i = 0; i < *n; i++) {
		const struct nt_server_conf *s = conf_of(base + i * size);

		if (strcmp(s->address, host) == 0 &&
		    (port == 0 || port == s->port)) {
			removed++;
			continue;
		}
		memmove(base + kept * size, base + i * size, size);
		kept++;
	}
	*n = kept;
	return (removed);
}

static const struct nt_server_conf *
server_of(const void *p)
{
	return (p);
}

static const struct nt_server_conf *
pool_of(const void *p)
{
	return (&((const struct nt_pool_conf *)p)->server);
}

static int
verb_remove(void *ctx, const char *arg, char *msg, size_t len)
{
	struct client *cl = ctx;
	struct nt_conf *c = &cl->conf;
	char host[NT_HOSTLEN], err[NT_CONF_ERRLEN], what[64];
	uint16_t port;
	size_t n;

	if (nt_parse_hostport(arg, host, sizeof host, &port, 0, err,
	    sizeof err) != 0) {
		snprintf(msg, len, "invalid server '%s': %s", arg, err);
		return (NT_CTL_VERB_INVALID);
	}
	if (nt_uvclient_resolving(cl->uc) > 0) {
		snprintf(msg, len, "busy (name lookups in progress), try "
		    "again in a few seconds");
		return (-1);
	}
	n = remove_matching(c->servers, &c->n_servers, sizeof *c->servers,
	    server_of, host, port);
	n += remove_matching(c->pools, &c->n_pools, sizeof *c->pools,
	    pool_of, host, port);
	if (n == 0) {
		snprintf(msg, len, "no server or pool '%s'", arg);
		return (-1);
	}
	msg[0] = '\0';
	if (engine_replace(cl, 0, msg, len) != 0)
		return (-1);
	snprintf(msg, len, "removed %s; sources restarted, %s left", arg,
	    nt_daemon_sources_text(c, what, sizeof what));
	return (0);
}

/* The file and the command-line servers, as at start-up. */
static int
load_conf(struct client *cl, struct nt_conf *c, char *err, size_t len)
{
	nt_conf_init(c);
	if (cl->conf_path != NULL && nt_conf_load(c, cl->conf_path, err,
	    len) != 0)
		return (-1);
	if (cl->o.n_args > 0)
		nt_conf_clear_sources(c);
	for (int i = 0; i < cl->o.n_args; i++)
		if (nt_conf_add_server_arg(c, cl->o.args[i], err, len) != 0)
			return (-1);
	return (0);
}

static int
do_reload(struct client *cl, char *msg, size_t len)
{
	struct nt_conf nc;
	bool same, rest;

	if (load_conf(cl, &nc, msg, len) != 0) {
		nt_conf_free(&nc);
		return (NT_CTL_VERB_INVALID);
	}
	same = nt_daemon_sources_equal(&nc, &cl->conf);
	if (!same && nt_uvclient_resolving(cl->uc) > 0) {
		nt_conf_free(&nc);
		snprintf(msg, len, "busy (name lookups in progress), try "
		    "again in a few seconds");
		return (-1);
	}
	rest = nt_daemon_rest_equal(&nc, &cl->conf);
	nt_daemon_keep_running(&nc, &cl->conf);
	nt_conf_free(&cl->conf);
	cl->conf = nc;
	if (cl->o.log_level < 0)
		nt_log_set_level(cl->conf.log_level);
	msg[0] = '\0';
	if (same)
		nt_engine_set_limits(nt_uvclient_engine(cl->uc), &cl->conf);
	else if (engine_replace(cl, 0, msg, len) != 0)
		return (-1);
	snprintf(msg, len, "reloaded %s: %s%s", cl->conf_path != NULL ?
	    cl->conf_path : "(no file)", same ? "sources unchanged" :
	    "sources restarted", rest ? "" : "; changes to control:, "
	    "metrics:, statistics:, the log destination, user or sandbox "
	    "need a restart of the client");
	return (rest ? 0 : 1);
}

static int
verb_reload(void *ctx, const char *host, char *msg, size_t len)
{
	struct client *cl = ctx;
	int r;

	(void)host;
	nt_sd_notify("RELOADING=1");
	nt_daemon_reopen_logs();	/* logrotate's postrotate, too */
	r = do_reload(cl, msg, len);
	nt_sd_notify("READY=1");
	/* SIGHUP and the control socket alike: the log says what happened. */
	if (r < 0)
		nt_log(NT_LOG_ERR, "reload failed, keeping the running "
		    "configuration: %s", msg);
	else
		nt_log(r > 0 ? NT_LOG_WARNING : NT_LOG_NOTICE, "%s", msg);
	return (r < 0 ? r : 0);
}

static int
verb_step(void *ctx, const char *host, char *msg, size_t len)
{
	struct client *cl = ctx;
	const struct nt_update *u = nt_engine_last_update(cl->se.e);
	nt_time now = nt_clock_now(cl->clk);
	const struct nt_source *s;
	char b[NT_DURSTR_LEN];
	double delta;

	(void)host;
	if (u == NULL || u->selected < 0) {
		snprintf(msg, len, "no source selected yet: nothing to step "
		    "to");
		return (-1);
	}
	s = nt_engine_source(cl->se.e, (size_t)u->selected);
	delta = nt_source_offset_at(s, now) +
	    nt_disc_remaining(nt_engine_disc(cl->se.e), now);
	msg[0] = '\0';
	if (engine_replace(cl, delta, msg, len) != 0)
		return (-1);
	snprintf(msg, len, "%sclock stepped by %s (source %s); sources "
	    "restarted", cl->o.dry_run ? "dry-run " : "",
	    nt_format_dur(delta, b, sizeof b), s->name);
	return (0);
}

static const struct nt_ctl_verb verbs[] = {
	{ "add-server", true, "add a server (HOST[:PORT])", verb_add },
	{ "remove-server", true, "remove servers and pools with this address",
	    verb_remove },
	{ "reload", false, "re-read the configuration file", verb_reload },
	{ "step", false, "step the clock to the selected source now",
	    verb_step },
};

/* ---- Readiness, status, watchdog ---- */

static void
send_status(struct client *cl, nt_time now)
{
	char buf[256];

	nt_status_summary(&cl->se, now, buf, sizeof buf);
	nt_sd_notifyf("STATUS=%s", buf);
	cl->status_sent = now;
}

static void
notify_ready(struct client *cl, const char *why)
{
	if (cl->ready)
		return;
	cl->ready = true;
	nt_log(NT_LOG_INFO, "ready: %s", why);
	nt_sd_notify("READY=1");
	send_status(cl, nt_clock_now(cl->clk));
}

static void
on_update(void *ctx, const struct nt_update *u)
{
	struct client *cl = ctx;

	nt_track_update(&cl->se.track, u);
	if (cl->o.once)
		return;
	if (!cl->ready)
		notify_ready(cl, "first clock update");
	else if (u->selected != cl->shown_selected)
		send_status(cl, u->when);
	cl->shown_selected = u->selected;
}

static void
on_ops(uv_timer_t *t)
{
	struct client *cl = t->data;
	nt_time now = nt_clock_now(cl->clk);

	if (!cl->ready && nt_diff(now, cl->started) >= READY_TIMEOUT)
		notify_ready(cl, "no clock update yet, up anyway");
	if (cl->ready && nt_diff(now, cl->status_sent) >= STATUS_INTERVAL)
		send_status(cl, now);
	if (cl->watchdog_usec > 0 && nt_diff(now, cl->watchdog_sent) * 1e6 >=
	    (double)cl->watchdog_usec / 2) {
		nt_sd_notify("WATCHDOG=1");
		cl->watchdog_sent = now;
	}
}

static void
start_ops_timer(struct client *cl)
{
	uint64_t ms = 1000;

	cl->watchdog_usec = nt_sd_watchdog_usec();
	if (cl->watchdog_usec > 0 && cl->watchdog_usec / 4000 < ms)
		ms = cl->watchdog_usec / 4000 > 0 ? cl->watchdog_usec / 4000 : 1;
	uv_timer_start(&cl->ops, on_ops, ms, ms);
}

/* ---- Control socket and metrics ---- */

static int
start_control(struct client *cl)
{
	const char *path = cl->o.socket != NULL ? cl->o.socket :
	    cl->conf.control.socket;
	bool explicit = cl->o.socket != NULL ||
	    strcmp(path, NT_CTL_DEFAULT_PATH) != 0;
	char err[NT_CONF_ERRLEN];

	if (cl->o.socket == NULL && !cl->conf.control.enabled)
		return (0);
	cl->ctl_p = (struct nt_ctl_params){ .path = path,
	    .group = cl->conf.control.group, .status = &cl->st,
	    .verbs = verbs, .n_verbs = sizeof verbs / sizeof verbs[0],
	    .ctx = cl };
	cl->ctl = nt_ctl_start(&cl->loop, &cl->ctl_p, err, sizeof err);
	if (cl->ctl != NULL)
		return (0);
	if (explicit) {
		nt_cmd_error("client", err);
		return (-1);
	}
	nt_log(NT_LOG_WARNING, "no control socket: %s", err);
	return (0);
}

/* Configured servers without a source, for "ntimed query sources". */
static bool
client_unresolved(void *ctx, size_t i, struct nt_status_unresolved *u)
{
	struct client *cl = ctx;

	return (nt_daemon_unresolved(&cl->conf, cl->uc, i, u));
}

static int
start_ops(struct client *cl)
{
	char err[NT_CONF_ERRLEN];

	nt_status_init(&cl->st, "client", cl->clk);
	cl->se.e = nt_uvclient_engine(cl->uc);
	cl->se.clk = cl->clk;
	cl->se.unresolved = client_unresolved;
	cl->se.unresolved_ctx = cl;
	nt_status_add_engine(&cl->st, &cl->se);
	cl->shown_selected = -1;
	if (start_control(cl) != 0)
		return (-1);
	if (cl->conf.metrics.enabled) {
		cl->metrics = nt_metrics_start(&cl->loop,
		    cl->conf.metrics.listen, &cl->st, err, sizeof err);
		if (cl->metrics == NULL) {
			nt_cmd_error("client", err);
			return (-1);
		}
	}
	start_ops_timer(cl);
	return (0);
}

/* ---- Running ---- */

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
	if (cl->stopped)	/* a signal and max_change in one loop turn */
		return;
	cl->stopped = true;
	uv_timer_stop(&cl->check);
	uv_close((uv_handle_t *)&cl->check, NULL);
	uv_close((uv_handle_t *)&cl->sigint, NULL);
	uv_close((uv_handle_t *)&cl->sigterm, NULL);
	uv_close((uv_handle_t *)&cl->sighup, NULL);
	uv_close((uv_handle_t *)&cl->sigusr1, NULL);
	uv_close((uv_handle_t *)&cl->reaper, NULL);
	uv_close((uv_handle_t *)&cl->ops, NULL);
	if (cl->ctl != NULL)
		nt_ctl_close(cl->ctl);
	if (cl->metrics != NULL)
		nt_metrics_close(cl->metrics);
	cl->ctl = NULL;
	cl->metrics = NULL;
	nt_uvclient_close(cl->uc);
	/* After SIGTERM or --once's timeout: see nt_daemon_leave(). */
	if (nt_daemon_lookup_pending(cl->uc))
		uv_stop(&cl->loop);
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
	char msg[NT_CTL_VERB_MSGLEN];

	if (signum == SIGUSR1) {	/* as the slave's counters */
		if (cl->se.e != NULL)	/* no status views with --once */
			nt_log(NT_LOG_NOTICE, "status: %s", nt_status_summary(
			    &cl->se, nt_clock_now(cl->clk), msg, sizeof msg));
		return;
	}
	if (signum == SIGHUP) {
		(void)verb_reload(cl, NULL, msg, sizeof msg);
		return;
	}
	nt_log(NT_LOG_NOTICE, "signal %d: %sexiting", signum,
	    cl->o.dry_run || cl->o.once || cl->conf.driftfile == NULL ? "" :
	    "saving the drift file and ");
	nt_sd_notify("STOPPING=1");
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
	nt_json_string(j, nt_status_src_state(s));
	nt_json_key(j, "reason");
	nt_json_string(j, sel ? NULL : nt_status_src_state(s));
	nt_json_key(j, "error");
	nt_json_null(j);
	nt_json_end_object(j);
}

/* A server or pool with no source: its lookup failed (state, why). */
static void
print_unresolved_json(struct nt_json *j, const struct nt_status_unresolved *u)
{
	nt_json_begin_object(j);
	nt_json_key(j, "host");
	nt_json_string(j, u->host);
	nt_json_key(j, "address");
	nt_json_null(j);
	nt_json_key(j, "offset");
	nt_json_null(j);
	nt_json_key(j, "delay");
	nt_json_null(j);
	nt_json_key(j, "stratum");
	nt_json_null(j);
	nt_json_key(j, "samples");
	nt_json_int(j, 0);
	nt_json_key(j, "selected");
	nt_json_bool(j, false);
	nt_json_key(j, "state");
	nt_json_string(j, u->state);
	nt_json_key(j, "reason");
	nt_json_string(j, u->state);
	nt_json_key(j, "error");
	nt_json_string(j, u->why);
	nt_json_end_object(j);
}

static void
print_once_json(struct client *cl, const struct nt_update *u, double applied,
    bool stepped, const char *error)
{
	struct nt_engine *e = nt_uvclient_engine(cl->uc);
	struct nt_status_unresolved un;
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
	for (size_t i = 0; nt_daemon_unresolved(&cl->conf, cl->uc, i, &un); i++)
		print_unresolved_json(&j, &un);
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
	struct nt_status_unresolved un;

	for (size_t i = 0; i < nt_engine_n_sources(e); i++) {
		const struct nt_source *s = nt_engine_source(e, i);

		if (s->n_hist == 0) {	/* no trailing blanks */
			printf("%-40s %s\n", s->name, nt_status_src_state(s));
			continue;
		}
		printf("%-40s %-14s offset %s delay %s\n", s->name,
		    nt_status_src_state(s), nt_format_dur(s->est_offset, b1,
		    sizeof b1), nt_format_mag(s->min_delay, b2, sizeof b2));
	}
	for (size_t i = 0; nt_daemon_unresolved(&cl->conf, cl->uc, i, &un); i++)
		printf("%-40s %-14s %s\n", un.host, un.state, un.why);
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

static void
start_handles(struct client *cl)
{
	double every = cl->o.once ? 0.1 : NT_DRIFT_SAVE_INTERVAL;

	uv_timer_init(&cl->loop, &cl->check);
	uv_timer_init(&cl->loop, &cl->reaper);
	uv_timer_init(&cl->loop, &cl->ops);
	cl->check.data = cl->reaper.data = cl->ops.data = cl;
	uv_timer_start(&cl->check, on_check, (uint64_t)(every * 1e3),
	    (uint64_t)(every * 1e3));
	uv_signal_init(&cl->loop, &cl->sigint);
	uv_signal_init(&cl->loop, &cl->sigterm);
	uv_signal_init(&cl->loop, &cl->sighup);
	uv_signal_init(&cl->loop, &cl->sigusr1);
	cl->sigint.data = cl->sigterm.data = cl->sighup.data = cl;
	cl->sigusr1.data = cl;
	uv_signal_start(&cl->sigint, on_signal, SIGINT);
	uv_signal_start(&cl->sigterm, on_signal, SIGTERM);
	uv_signal_start(&cl->sigusr1, on_signal, SIGUSR1);
	if (!cl->o.once)
		uv_signal_start(&cl->sighup, on_signal, SIGHUP);
}

static int
run(struct client *cl)
{
	char what[64];
	int rc;

	uv_loop_init(&cl->loop);	/* the caller runs and closes it */
	if ((rc = nt_daemon_prepare(&cl->conf, "client", cl->o.once)) != 0)
		return (rc);
	cl->clk = cl->o.dry_run ? nt_clock_dry() : nt_clock_kernel();
	nt_log(NT_LOG_NOTICE, "client starting: %s, %s clock%s",
	    nt_daemon_sources_text(&cl->conf, what, sizeof what),
	    cl->clk->name, cl->o.once ? ", once" : "");
	cl->uc = nt_daemon_start_client_cb(&cl->loop, &cl->conf, cl->clk,
	    cl->o.once, cl->o.fam, on_update, cl);
	if (cl->uc == NULL) {
		fprintf(stderr, "ntimed client: out of memory\n");
		return (EXIT_SYSTEM);
	}
	cl->started = nt_clock_now(cl->clk);
	start_handles(cl);
	if (!cl->o.once && start_ops(cl) != 0) {
		stop(cl);
		return (EXIT_SYSTEM);
	}
	if ((rc = nt_daemon_confine(&cl->conf, "client", cl->ctl != NULL ?
	    cl->ctl_p.path : NULL, cl->o.dry_run)) != 0) {
		stop(cl);
		return (rc);
	}
	uv_run(&cl->loop, UV_RUN_DEFAULT);
	if (nt_engine_gave_up(nt_uvclient_engine(cl->uc))) {
		nt_sd_notify("STOPPING=1");
		save_drift(cl);
		stop(cl);
		return (EXIT_GAVE_UP);
	}
	return (cl->o.once ? finish_once(cl) : 0);
}

/* Daemons log to the journal (with levels) unless asked for stderr. */
static void
setup_logging(struct client *cl)
{
	int level = cl->o.log_level;

	if (cl->o.once && level < 0)	/* --once talks on stdout */
		level = NT_LOG_WARNING;
	nt_daemon_logging(&cl->conf, level, cl->o.foreground, "ntimed-client");
}

int
cmd_client(int argc, char **argv)
{
	struct client cl;
	int rc;

	memset(&cl, 0, sizeof cl);
	if (parse_opts(&cl.o, argc, argv) < 0)
		return (EXIT_USAGE);
	if ((rc = nt_daemon_load_config("client", cl.o.config, cl.o.n_args,
	    cl.o.args, !cl.o.check_config, &cl.conf)) != 0)
		return (rc);
	cl.conf_path = cl.o.config != NULL ? cl.o.config :
	    access(NT_CONF_DEFAULT_PATH, F_OK) == 0 ? NT_CONF_DEFAULT_PATH :
	    NULL;
	if (cl.o.check_config) {
		rc = nt_daemon_check_user(&cl.conf, "client");
		if (rc == 0 && cl.conf.n_servers + cl.conf.n_pools == 0)
			fprintf(stderr, "ntimed client: warning: no servers: "
			    "the daemon needs them on its command line\n");
		nt_daemon_show_socket(&cl.conf, cl.o.socket);
		if (rc == 0)
			nt_conf_print(stdout, &cl.conf);
		nt_conf_free(&cl.conf);
		return (rc);
	}
	if (!cl.o.dry_run && !nt_daemon_can_steer()) {
		fprintf(stderr, "ntimed client: no permission to steer the "
		    "clock (needs root or CAP_SYS_TIME); use --dry-run to "
		    "measure only\n");
		nt_conf_free(&cl.conf);
		return (EXIT_SYSTEM);
	}
	setup_logging(&cl);
	rc = run(&cl);
	if (nt_daemon_lookup_pending(cl.uc))
		nt_daemon_leave(rc);	/* a lookup still runs: see stop() */
	uv_run(&cl.loop, UV_RUN_DEFAULT);	/* let closed handles finish */
	free_retired(&cl);
	if (cl.uc != NULL)
		nt_uvclient_free(cl.uc);
	uv_loop_close(&cl.loop);
	nt_conf_free(&cl.conf);
	return (rc);
}
