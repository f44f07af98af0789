/*
 * The serving daemon shared by the roles that serve NTP (see serve.h).
 * After every clock update, and once a second, the main loop turns the
 * engine's system variables into a server snapshot (lib/server.h) and
 * publishes it to the server's worker threads (lib/uvserver.h).  Workers
 * never wait for the main loop, and the main loop never waits for them.
 *
 * Around that, what every daemon role does: the control socket and the
 * metrics endpoint (the views of lib/status.h, the server's counters
 * among them), systemd readiness and watchdog, SIGUSR1 (counters to the
 * log) and SIGHUP (re-read the file).
 */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "acl.h"
#include "clock.h"
#include "cmd.h"
#include "conf.h"
#include "control.h"
#include "daemon.h"
#include "hostport.h"
#include "log.h"
#include "metrics.h"
#include "ntp_pkt.h"
#include "sdnotify.h"
#include "server.h"
#include "status.h"
#include "uvclient.h"
#include "uvserver.h"
#include "serve.h"

#define TICK_MS 1000		/* snapshot refresh, watchdog */
#define STATUS_INTERVAL 60.0	/* s between systemd status lines */

static void
usage(FILE *f, const struct nt_serve_role *r)
{
	fprintf(f, "usage: ntimed %s %s\n%s\n\n", r->name, r->synopsis,
	    r->what);
	fprintf(f,
	    "  -c, --config FILE      configuration (default %s)\n"
	    "      --check-config     validate the configuration, print it, "
	    "exit\n"
	    "  -n, --dry-run          never touch the clock: serve it as it "
	    "is,\n"
	    "                         with our corrections kept in software\n"
	    "  -l, --listen ADDR[:PORT]  serve on this address (repeatable, "
	    "[v6]:port\n"
	    "                         too); replaces server.listen\n"
	    "      --local-stratum N  serve stratum N (1-15) while not "
	    "synchronized\n"
	    "  -w, --workers N        serving threads (0, the default: one "
	    "per CPU)\n"
	    "  -s, --socket PATH      control socket (default %s)\n"
	    "  -4, -6                 use only IPv4 / IPv6 upstream "
	    "addresses\n"
	    "  -F, --foreground       log to standard error, not the journal\n"
	    "  -v, --verbose          log what every update does\n"
	    "  -d, --debug            log everything, to standard error\n"
	    "  -h, --help             this text\n\n%s"
	    "Exit status: 0 stopped by a signal, 2 usage or configuration "
	    "error,\n3 system error (cannot bind the port, no permission), 4 "
	    "gave up:\noffsets beyond max_change came too often.\n",
	    NT_CONF_DEFAULT_PATH, NT_CTL_DEFAULT_PATH, r->notes);
}

/* ---- Options and configuration ---- */

static int
parse_int(const struct nt_serve_opts *o, const char *what, const char *s,
    int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi) {
		nt_cmd_usage(o->role->name, "invalid %s '%s' (%d-%d)", what, s,
		    lo, hi);
		return (-1);
	}
	*out = (int)v;
	return (0);
}

static int
add_listen(struct nt_serve_opts *o, char *arg)
{
	char **l = reallocarray(o->listen, (size_t)o->n_listen + 1,
	    sizeof *l);

	if (l == NULL)
		return (-1);
	l[o->n_listen++] = arg;
	o->listen = l;
	return (0);
}

static int
parse_opt(struct nt_serve_opts *o, int ch)
{
	switch (ch) {
	case 'c': o->config = optarg; return (0);
	case 'C': o->check_config = true; return (0);
	case 'n': o->dry_run = true; return (0);
	case 'l': return (add_listen(o, optarg));
	case 'S': return (parse_int(o, "local stratum", optarg, 1, 15,
	    &o->local_stratum));
	case 'w': return (parse_int(o, "number of workers", optarg, 0,
	    NT_UVSERVER_MAX_WORKERS, &o->workers));
	case 's':
		o->socket = optarg;
		return (nt_daemon_socket_arg(o->role->name, optarg) ? -1 : 0);
	case '4': o->fam = NT_FAMILY_V4; return (0);
	case '6': o->fam = NT_FAMILY_V6; return (0);
	case 'F': o->foreground = true; return (0);
	case 'v': o->log_level = NT_LOG_INFO; return (0);
	case 'd': o->log_level = NT_LOG_DEBUG; return (0);
	case 'h': usage(stdout, o->role); exit(0);
	default:
		assert(!"unhandled option");
		return (-1);
	}
}

static int
parse_opts(struct nt_serve_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "listen", required_argument, NULL, 'l' },
		{ "local-stratum", required_argument, NULL, 'S' },
		{ "workers", required_argument, NULL, 'w' },
		{ "socket", required_argument, NULL, 's' },
		{ "foreground", no_argument, NULL, 'F' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	o->log_level = o->local_stratum = o->workers = -1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:nl:w:s:46Fvdh", longopts,
	    NULL)) != -1) {
		if (ch == '?' || ch == ':') {
			nt_cmd_bad_option(o->role->name, ch, argv);
			return (-1);
		}
		if (parse_opt(o, ch) != 0)
			return (-1);
	}
	o->args = argv + optind;
	o->n_args = argc - optind;
	return (0);
}

/* Command-line settings over the file's; then the checks. */
static int
apply_opts(const struct nt_serve *sl, struct nt_conf *c, char *err,
    size_t len)
{
	bool replaced = false;

	if (sl->o.n_args > 0)
		nt_conf_clear_sources(c);
	for (int i = 0; i < sl->o.n_args; i++)
		if (nt_conf_add_server_arg(c, sl->o.args[i], err, len) != 0)
			return (-1);
	for (int i = 0; i < sl->o.n_listen; i++)
		if (nt_conf_add_listen_arg(c, sl->o.listen[i], &replaced, err,
		    len) != 0)
			return (-1);
	if (sl->o.local_stratum >= 0)
		c->serve.local_stratum = sl->o.local_stratum;
	if (sl->o.workers >= 0)
		c->serve.workers = sl->o.workers;
	return (sl->o.role->check(sl, c, err, len));
}

/* The file, then the command line: at start-up and on SIGHUP. */
static int
load_conf(const struct nt_serve *sl, struct nt_conf *c, char *err, size_t len)
{
	int rc;

	nt_conf_init(c);
	if (sl->conf_path != NULL && (rc = nt_conf_load(c, sl->conf_path,
	    err, len)) != 0)
		return (rc);	/* -1, or NT_YCONF_ESYS */
	return (apply_opts(sl, c, err, len));
}

/* ---- What we serve ---- */

static int
cpu_count(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof set, &set) != 0)
		return (1);
	n = CPU_COUNT(&set);
	return (n < 1 ? 1 : n > NT_UVSERVER_MAX_WORKERS ?
	    NT_UVSERVER_MAX_WORKERS : n);
}

static void
make_state(struct nt_serve *sl, struct nt_server_state *st)
{
	struct nt_engine *e = nt_uvclient_engine(sl->uc);
	nt_time now = nt_clock_now(sl->clk);
	struct nt_sysinfo si;

	nt_engine_sysinfo(e, now, &si);
	/* After a reload: what we served, until the new engine updates. */
	if (sl->have_held && nt_engine_last_update(e) != NULL)
		sl->have_held = false;
	if (sl->have_held && nt_diff(now, sl->held.ref_time) <
	    sl->conf.holdover)
		si = sl->held;
	nt_server_state_make(st, &si, sl->precision,
	    sl->conf.serve.local_stratum, now);
}

/* For the status views: tracking shows what the server threads serve. */
static void
served_state(void *ctx, struct nt_server_state *st)
{
	make_state(ctx, st);
}

/* One line: the log, and systemd's status. */
static const char *
state_str(const struct nt_serve *sl, const struct nt_server_state *st,
    char *buf, size_t len)
{
	char refid[NTP_REFID_STRLEN];

	if (st->leap == NTP_LEAP_UNSYNC)
		snprintf(buf, len, "not synchronized (clients get leap 3, "
		    "stratum 16 and will not use us)");
	else
		snprintf(buf, len, "stratum %d, refid %s%s%s", st->stratum,
		    nt_status_refid(&sl->se, st->refid, st->stratum, refid,
		    sizeof refid), st->refid == NT_SERVER_LOCAL_REFID ?
		    " (local stratum, not synchronized)" : "",
		    st->leap == NTP_LEAP_INSERT ? ", leap second insertion "
		    "announced" : st->leap == NTP_LEAP_DELETE ? ", leap second "
		    "deletion announced" : "");
	return (buf);
}

/* Say so when what we serve changes in kind. */
static void
log_state(struct nt_serve *sl, const struct nt_server_state *st)
{
	char buf[160];

	if (sl->have_shown && sl->shown.stratum == st->stratum &&
	    sl->shown.leap == st->leap && sl->shown.refid == st->refid)
		return;
	sl->shown = *st;
	sl->have_shown = true;
	nt_log(NT_LOG_NOTICE, "serving: %s", state_str(sl, st, buf,
	    sizeof buf));
	nt_sd_notifyf("STATUS=serving: %s", buf);
	sl->status_sent = nt_clock_now(sl->clk);
}

static void
publish(struct nt_serve *sl)
{
	struct nt_server_state st;

	make_state(sl, &st);
	log_state(sl, &st);
	if (sl->srv != NULL)
		nt_uvserver_publish(sl->srv, &st);
}

static void
on_update(void *ctx, const struct nt_update *u)
{
	struct nt_serve *sl = ctx;

	nt_track_update(&sl->se.track, u);
	publish(sl);
}

/* ---- Operations ---- */

static void
server_counters(void *ctx, struct nt_server_counters *c)
{
	struct nt_serve *sl = ctx;

	struct nts_ke_counters ke;

	memset(c, 0, sizeof *c);
	if (sl->srv != NULL)
		nt_uvserver_counters(sl->srv, c);
	if (sl->ke != NULL) {
		nts_ke_server_counters(sl->ke, &ke);
		c->nts_ke_served = ke.served;
		c->nts_ke_failed = ke.failed;
	}
}

static void
log_counters(struct nt_serve *sl, const char *when)
{
	struct nt_server_counters c;
	char buf[512];

	if (sl->srv == NULL)
		return;
	server_counters(sl, &c);
	nt_log(NT_LOG_NOTICE, "server counters%s: %s", when,
	    nt_server_counters_str(&c, buf, sizeof buf));
}

/* Rotate and save the NTS keys; a failing write is said once, not per tick. */
static void
maintain_nts(struct nt_serve *sl)
{
	char err[NT_CONF_ERRLEN + 64];

	if (nts_ke_server_maintain(sl->ke, err, sizeof err) != 0) {
		if (!sl->nts_keys_failing)
			nt_log(NT_LOG_ERR, "NTS keys not saved (clients will "
			    "need a new key exchange after a restart): %s", err);
		sl->nts_keys_failing = true;
	} else if (sl->nts_keys_failing) {
		nt_log(NT_LOG_NOTICE, "NTS keys saved");
		sl->nts_keys_failing = false;
	}
}

static void
on_tick(uv_timer_t *t)
{
	struct nt_serve *sl = t->data;
	nt_time now = nt_clock_now(sl->clk);
	char buf[160];

	publish(sl);
	if (sl->ke != NULL)
		maintain_nts(sl);
	if (nt_diff(now, sl->status_sent) >= STATUS_INTERVAL) {
		nt_sd_notifyf("STATUS=serving: %s", state_str(sl, &sl->shown,
		    buf, sizeof buf));
		sl->status_sent = now;
	}
	if (sl->watchdog_usec > 0 && nt_diff(now, sl->watchdog_sent) * 1e6 >=
	    (double)sl->watchdog_usec / 2) {
		nt_sd_notify("WATCHDOG=1");
		sl->watchdog_sent = now;
	}
}

static void
on_drift(uv_timer_t *t)
{
	struct nt_serve *sl = t->data;

	if (!sl->o.dry_run)
		nt_daemon_save_drift(&sl->conf, sl->uc);
}

static int verb_reload(void *ctx, const char *arg, char *msg, size_t len);

static const struct nt_ctl_verb verbs[] = {
	{ "reload", false, "re-read the configuration file", verb_reload },
};

/* The control socket: an explicit path must work, the default may not. */
static int
start_control(struct nt_serve *sl)
{
	const char *path = sl->o.socket != NULL ? sl->o.socket :
	    sl->conf.control.socket;
	bool explicit = sl->o.socket != NULL ||
	    strcmp(path, NT_CTL_DEFAULT_PATH) != 0;
	char err[NT_CONF_ERRLEN];

	if (sl->o.socket == NULL && !sl->conf.control.enabled)
		return (0);
	sl->ctl_p = (struct nt_ctl_params){ .path = path,
	    .group = sl->conf.control.group, .status = &sl->st,
	    .verbs = verbs, .n_verbs = sizeof verbs / sizeof verbs[0],
	    .ctx = sl };
	sl->ctl = nt_ctl_start(&sl->loop, &sl->ctl_p, err, sizeof err);
	if (sl->ctl != NULL)
		return (0);
	if (explicit) {
		nt_cmd_error(sl->o.role->name, err);
		return (-1);
	}
	nt_log(NT_LOG_WARNING, "no control socket: %s", err);
	return (0);
}

/* Configured servers without a source, for "ntimed query sources". */
static bool
serve_unresolved(void *ctx, size_t i, struct nt_status_unresolved *u)
{
	struct nt_serve *sl = ctx;

	return (nt_daemon_unresolved(&sl->conf, sl->uc, i, u));
}

static int
start_ops(struct nt_serve *sl)
{
	char err[NT_CONF_ERRLEN];

	nt_status_init(&sl->st, sl->o.role->name, sl->clk);
	sl->se.e = nt_uvclient_engine(sl->uc);
	sl->se.clk = sl->clk;
	sl->se.served = served_state;
	sl->se.served_ctx = sl;
	sl->se.unresolved = serve_unresolved;
	sl->se.unresolved_ctx = sl;
	nt_status_add_engine(&sl->st, &sl->se);
	sl->ss = (struct nt_status_server){ server_counters, sl };
	nt_status_add_server(&sl->st, &sl->ss);
	if (start_control(sl) != 0)
		return (-1);
	if (sl->conf.metrics.enabled) {
		sl->metrics = nt_metrics_start(&sl->loop,
		    sl->conf.metrics.listen, &sl->st, err, sizeof err);
		if (sl->metrics == NULL) {
			nt_cmd_error(sl->o.role->name, err);
			return (-1);
		}
	}
	sl->watchdog_usec = nt_sd_watchdog_usec();
	return (0);
}

static void
stop(struct nt_serve *sl)
{
	if (sl->stopped)	/* a signal and max_change in one loop turn */
		return;
	sl->stopped = true;
	uv_close((uv_handle_t *)&sl->tick, NULL);
	uv_close((uv_handle_t *)&sl->drift, NULL);
	uv_close((uv_handle_t *)&sl->reaper, NULL);
	uv_close((uv_handle_t *)&sl->sigint, NULL);
	uv_close((uv_handle_t *)&sl->sigterm, NULL);
	uv_close((uv_handle_t *)&sl->sigusr1, NULL);
	uv_close((uv_handle_t *)&sl->sighup, NULL);
	if (sl->ctl != NULL)
		nt_ctl_close(sl->ctl);
	if (sl->metrics != NULL)
		nt_metrics_close(sl->metrics);
	sl->ctl = NULL;
	sl->metrics = NULL;
	nt_uvclient_close(sl->uc);
	if (sl->o.role->stop != NULL)
		sl->o.role->stop(sl);
	if (nt_daemon_lookup_pending(sl->uc))	/* see nt_daemon_leave() */
		uv_stop(&sl->loop);
}

static void
free_retired(struct nt_serve *sl)
{
	for (int i = 0; i < sl->n_retired; i++)
		nt_uvclient_free(sl->retired[i]);
	sl->n_retired = 0;
}

static void
on_reaper(uv_timer_t *t)
{
	/* Their close callbacks ran in the loop iteration before this. */
	free_retired(t->data);
}

/*
 * A new engine for the new sources with the frequency the old one
 * learnt; until its first update we serve what the old one did.
 */
static void
replace_engine(struct nt_serve *sl)
{
	struct nt_engine *old = nt_uvclient_engine(sl->uc);
	const struct nt_discipline *d = nt_engine_disc(old);
	struct nt_engine_params p;
	char what[64];

	nt_engine_sysinfo(old, nt_clock_now(sl->clk), &sl->held);
	sl->have_held = sl->held.synced;
	sl->updates_before += d->n_updates;
	nt_daemon_restart_params(&p, &sl->conf, sl->clk, old,
	    sl->updates_before);
	nt_uvclient_close(sl->uc);
	sl->retired[sl->n_retired++] = sl->uc;
	uv_timer_start(&sl->reaper, on_reaper, 0, 0);
	sl->uc = nt_daemon_client_with(&sl->loop, &p, &sl->conf, sl->clk,
	    sl->o.fam, on_update, sl);
	if (sl->uc == NULL) {
		nt_log(NT_LOG_ERR, "out of memory restarting the engine");
		exit(EXIT_SYSTEM);
	}
	if (sl->o.role->attach != NULL && sl->o.role->attach(sl) != 0)
		nt_log(NT_LOG_ERR, "too many sources (at most %d): some of "
		    "the %s's own are not used until a restart", NT_MAX_SOURCES,
		    sl->o.role->name);
	sl->se.e = nt_uvclient_engine(sl->uc);
	sl->se.updates_before = (uint64_t)sl->updates_before;
	nt_log(NT_LOG_NOTICE, "sources restarted: %s, frequency %.3f ppm "
	    "kept, %d unchanged sources keep their measurements (names "
	    "being looked up: when found)", nt_daemon_sources_text(&sl->conf,
	    what, sizeof what), nt_disc_freq_ppm(d), nt_daemon_adopt_sources(
	    sl->uc, old, sl->clk));
}

/*
 * A renewed NTS certificate takes effect on reload (certbot's deploy
 * hook, say): the same files, read again.  0, or -1 if the old ones stay,
 * with why appended to msg.
 */
static int
reload_cert(struct nt_serve *sl, char *msg, size_t len)
{
	char err[NT_CONF_ERRLEN];
	size_t n = strlen(msg);

	if (sl->ke == NULL)
		return (0);
	if (nts_ke_server_reload_cert(sl->ke, err, sizeof err) == 0) {
		snprintf(msg + n, len - n, "; NTS certificate re-read");
		return (0);
	}
	/* Not root: the start-up's switch to conf.user was made. */
	snprintf(msg + n, len - n, "; NTS certificate not re-read, the old "
	    "one stays in use%s%s%s: %s", geteuid() != 0 ? " (read as user " :
	    "", geteuid() != 0 ? sl->conf.user : "", geteuid() != 0 ? ")" : "",
	    err);
	return (-1);
}

/*
 * SIGHUP and the control socket's reload: re-read the file.  The log
 * level, the upstream sources and the engine's settings apply at once (a
 * new engine, with the frequency learnt so far); the server:, control:
 * and metrics: sections (but for the NTS certificate's contents),
 * refclocks, the log destination, the user and the sandbox need a
 * restart, and the log says so rather than
 * half-applying them.  A broken file changes nothing.  Returns 0 (all
 * applied), 1 (applied, but some needs a restart), -1 (busy) or
 * NT_CTL_VERB_INVALID (the file is broken), with msg.
 */
static int
do_reload(struct nt_serve *sl, char *msg, size_t len)
{
	const char *path = sl->conf_path != NULL ? sl->conf_path : "(no file)";
	struct nt_conf nc;
	bool same_src, same_rest, cert_ok;

	if (load_conf(sl, &nc, msg, len) != 0) {
		nt_conf_free(&nc);
		return (NT_CTL_VERB_INVALID);
	}
	same_src = nt_daemon_sources_equal(&nc, &sl->conf);
	same_rest = nt_daemon_rest_equal(&nc, &sl->conf);
	if (!same_src && (sl->n_retired == NT_SERVE_MAX_RETIRED ||
	    nt_uvclient_resolving(sl->uc) > 0)) {
		nt_conf_free(&nc);
		snprintf(msg, len, "busy (%s), try again in a few seconds",
		    sl->n_retired == NT_SERVE_MAX_RETIRED ? "earlier engines "
		    "still closing" : "name lookups in progress");
		return (-1);
	}
	nt_daemon_keep_running(&nc, &sl->conf);
	nt_conf_free(&sl->conf);
	sl->conf = nc;
	if (sl->o.log_level < 0)
		nt_log_set_level(sl->conf.log_level);
	if (same_src)
		nt_engine_set_limits(nt_uvclient_engine(sl->uc), &sl->conf);
	else
		replace_engine(sl);
	snprintf(msg, len, "reloaded %s: %s", path, same_src ?
	    "sources unchanged" : "sources restarted");
	cert_ok = reload_cert(sl, msg, len) == 0;
	if (same_rest)
		return (cert_ok ? 0 : 1);
	snprintf(msg + strlen(msg), len - strlen(msg), "; changes to "
	    "server:, control:, metrics:, refclocks:, statistics:, the log "
	    "destination, user or sandbox need a restart of the %s",
	    sl->o.role->name);
	return (1);
}

/* do_reload(), with systemd told and the log saying what happened. */
static int
reload(struct nt_serve *sl, char *msg, size_t len)
{
	int r;

	nt_sd_notify("RELOADING=1");
	nt_daemon_reopen_logs();	/* logrotate's postrotate, too */
	r = do_reload(sl, msg, len);
	nt_sd_notify("READY=1");
	if (r < 0)
		nt_log(NT_LOG_ERR, "reload failed, keeping the running "
		    "configuration: %s", msg);
	else
		nt_log(r > 0 ? NT_LOG_WARNING : NT_LOG_NOTICE, "%s", msg);
	return (r);
}

/* The control socket's "reload" (SIGHUP is the same). */
static int
verb_reload(void *ctx, const char *arg, char *msg, size_t len)
{
	int r;

	(void)arg;
	return ((r = reload(ctx, msg, len)) < 0 ? r : 0);
}

static void
on_signal(uv_signal_t *h, int signum)
{
	struct nt_serve *sl = h->data;
	char msg[NT_CONF_ERRLEN + 160];

	if (signum == SIGUSR1) {
		log_counters(sl, "");
		return;
	}
	if (signum == SIGHUP) {
		(void)reload(sl, msg, sizeof msg);
		return;
	}
	nt_log(NT_LOG_NOTICE, "signal %d: %sexiting", signum,
	    sl->o.dry_run || sl->conf.driftfile == NULL ? "" :
	    "saving the drift file and ");
	nt_sd_notify("STOPPING=1");
	if (!sl->o.dry_run)
		nt_daemon_save_drift(&sl->conf, sl->uc);
	stop(sl);
}

static void
start_signal(struct nt_serve *sl, uv_signal_t *h, int signum)
{
	uv_signal_init(&sl->loop, h);
	h->data = sl;
	uv_signal_start(h, on_signal, signum);
}

static void
start_handles(struct nt_serve *sl)
{
	uint64_t tick = TICK_MS;

	if (sl->watchdog_usec > 0 && sl->watchdog_usec / 4000 < tick)
		tick = sl->watchdog_usec / 4000 > 0 ?
		    sl->watchdog_usec / 4000 : 1;
	uv_timer_init(&sl->loop, &sl->tick);
	uv_timer_init(&sl->loop, &sl->drift);
	uv_timer_init(&sl->loop, &sl->reaper);
	sl->tick.data = sl->drift.data = sl->reaper.data = sl;
	uv_timer_start(&sl->tick, on_tick, tick, tick);
	uv_timer_start(&sl->drift, on_drift,
	    (uint64_t)(NT_DRIFT_SAVE_INTERVAL * 1e3),
	    (uint64_t)(NT_DRIFT_SAVE_INTERVAL * 1e3));
	start_signal(sl, &sl->sigint, SIGINT);
	start_signal(sl, &sl->sigterm, SIGTERM);
	start_signal(sl, &sl->sigusr1, SIGUSR1);
	start_signal(sl, &sl->sighup, SIGHUP);
}

/* ---- Serving ---- */

/* The listen entries as addresses; the wildcards when there are none. */
static size_t
listen_addrs(const struct nt_conf *c, struct nt_addr *out, bool *dflt)
{
	static const char *const wild[] = { "0.0.0.0", "::" };
	char host[NT_HOSTLEN], err[NT_CONF_ERRLEN];
	uint16_t port;
	size_t n = 0;

	*dflt = c->serve.n_listen == 0;
	for (size_t i = 0; *dflt && i < 2; i++)
		if (nt_addr_parse(&out[n], wild[i], (uint16_t)c->serve.port) ==
		    0)
			n++;
	for (size_t i = 0; i < c->serve.n_listen; i++) {
		/* Checked when the config was read: cannot fail here. */
		if (nt_conf_listen_split(c, c->serve.listen[i], host,
		    sizeof host, &port, err, sizeof err) != 0 ||
		    nt_addr_parse(&out[n], host, port) != 0)
			abort();
		n++;
	}
	return (n);
}

static void
random_bytes(uint8_t *buf, size_t len)
{
	arc4random_buf(buf, len);
}

/*
 * NTS-KE on server.nts.listen, else on each address NTP is to be served
 * on (TCP port 4460).  Runs before privileges are dropped: it reads the
 * certificate, its key and the keys file.
 */
static int
start_nts(struct nt_serve *sl, const struct nt_addr *ntp, size_t n_ntp,
    bool dflt)
{
	const struct nt_nts_serve_conf *nc = &sl->conf.serve.nts;
	struct nt_addr addrs[NTS_KE_SERVER_MAX_LISTEN];
	struct nts_ke_server_params p = { 0 };
	char host[NT_HOSTLEN], err[NT_CONF_ERRLEN];
	uint16_t port;

	for (size_t i = 0; i < nc->n_listen; i++)
		/* Checked when the config was read: cannot fail here. */
		if (nt_parse_hostport(nc->listen[i], host, sizeof host, &port,
		    NTS_KE_PORT, err, sizeof err) != 0 ||
		    nt_addr_parse(&addrs[p.n_listen++], host, port) != 0)
			abort();
	for (size_t i = 0; nc->n_listen == 0 && i < n_ntp &&
	    p.n_listen < NTS_KE_SERVER_MAX_LISTEN; i++) {
		addrs[p.n_listen] = ntp[i];
		nt_addr_set_port(&addrs[p.n_listen++], NTS_KE_PORT);
	}
	p.listen = addrs;
	p.listen_default = nc->n_listen == 0 && dflt;
	p.cert = nc->certificate;
	p.key = nc->key;
	p.keys_file = nc->keys;
	p.rotate = nc->rotate;
	/* Unless told, the port of the first NTP address: 123 is not sent. */
	p.ntp_port = nc->ntp_port != 0 ? (uint16_t)nc->ntp_port :
	    n_ntp > 0 ? nt_addr_port(&ntp[0]) : NTP_PORT;
	p.ntp_server = nc->ntp_server;
	if ((sl->ke = nts_ke_server_start(&p, err, sizeof err)) == NULL) {
		nt_cmd_error(sl->o.role->name, err);
		if (sl->o.log_level < 0 && sl->conf.log_dest != NT_LOG_STDERR)
			nt_log(NT_LOG_ERR, "%s", err);
		return (-1);
	}
	return (0);
}

static int
start_server(struct nt_serve *sl)
{
	const struct nt_serve_conf *sc = &sl->conf.serve;
	struct nt_addr addrs[NT_UVSERVER_MAX_LISTEN];
	struct nt_uvserver_params p = { 0 };
	struct nt_server_state st;
	char err[NT_CONF_ERRLEN];

	p.listen = addrs;
	p.n_listen = listen_addrs(&sl->conf, addrs, &p.listen_default);
	p.workers = sc->workers > 0 ? sc->workers : cpu_count();
	p.clk = sl->clk;
	p.srv.acl = &sl->acl;
	p.srv.deny_kod = sc->denied == NT_DENY_KOD;
	p.srv.rl = (struct nt_ratelimit_params){
		.interval = sc->ratelimit.interval,
		.burst = sc->ratelimit.burst,
		.kod = sc->ratelimit.kod,
		.loopback = sc->ratelimit.loopback,
		.entries = (uint32_t)sc->ratelimit.table_size,
	};
	make_state(sl, &st);
	if (sc->nts.enabled) {
		if (start_nts(sl, addrs, p.n_listen, p.listen_default) != 0)
			return (-1);
		p.srv.nts = nts_ke_server_keys(sl->ke);
		p.srv.rand = random_bytes;
	}
	sl->srv = nt_uvserver_start(&p, &st, err, sizeof err);
	if (sl->srv == NULL) {
		nts_ke_server_stop(sl->ke);
		sl->ke = NULL;
		/* On the terminal whatever the log says; in syslog too. */
		nt_cmd_error(sl->o.role->name, err);
		if (sl->o.log_level < 0 && sl->conf.log_dest != NT_LOG_STDERR)
			nt_log(NT_LOG_ERR, "%s", err);
		return (-1);
	}
	return (0);
}

static void
log_serving(struct nt_serve *sl)
{
	static const char *const stamps[] = {
		[NT_RX_STAMP_NONE] = "no kernel receive timestamps",
		[NT_RX_STAMP_TIMESTAMPING] = "kernel receive timestamps",
		[NT_RX_STAMP_TIMESTAMPNS] = "kernel receive timestamps (ns)",
	};
	char a[NT_ADDRSTRLEN];

	for (size_t i = 0; i < nt_uvserver_n_addrs(sl->srv); i++)
		nt_log(NT_LOG_NOTICE, "serving NTP on %s", nt_addr_format(
		    nt_uvserver_addr(sl->srv, i), a, sizeof a));
	for (size_t i = 0; sl->ke != NULL && i < nts_ke_server_n_addrs(sl->ke);
	    i++)
		nt_log(NT_LOG_NOTICE, "serving NTS-KE on %s", nt_addr_format(
		    nts_ke_server_addr(sl->ke, i), a, sizeof a));
	nt_log(NT_LOG_NOTICE, "%d worker%s, %s, precision 2^%d s",
	    nt_uvserver_workers(sl->srv), nt_uvserver_workers(sl->srv) > 1 ?
	    "s" : "", stamps[nt_uvserver_stamping(sl->srv)], sl->precision);
}

static int
run(struct nt_serve *sl)
{
	char what[64], local[32];
	int rc;

	uv_loop_init(&sl->loop);	/* the caller runs and closes it */
	if ((rc = nt_daemon_prepare(&sl->conf, sl->o.role->name,
	    false)) != 0)
		return (rc);
	sl->clk = sl->o.dry_run ? nt_clock_dry() : nt_clock_kernel();
	sl->precision = nt_server_precision(sl->clk);
	if (sl->conf.serve.local_stratum > 0)
		snprintf(local, sizeof local, "local stratum %d",
		    sl->conf.serve.local_stratum);
	nt_log(NT_LOG_NOTICE, "%s starting: %s, %s clock, %s",
	    sl->o.role->name, nt_daemon_sources_text(&sl->conf, what,
	    sizeof what), sl->clk->name, sl->conf.serve.local_stratum > 0 ?
	    local : "no local stratum");
	sl->uc = nt_daemon_start_client_cb(&sl->loop, &sl->conf, sl->clk,
	    false, sl->o.fam, on_update, sl);
	if (sl->uc == NULL) {
		fprintf(stderr, "ntimed %s: out of memory\n", sl->o.role->name);
		return (EXIT_SYSTEM);
	}
	if ((rc = sl->o.role->start(sl)) != 0) {
		nt_uvclient_close(sl->uc);
		if (sl->o.role->stop != NULL)
			sl->o.role->stop(sl);
		return (rc);
	}
	if (start_server(sl) != 0 || start_ops(sl) != 0) {
		if (sl->ctl != NULL)
			nt_ctl_close(sl->ctl);
		nt_uvclient_close(sl->uc);
		if (sl->o.role->stop != NULL)
			sl->o.role->stop(sl);
		return (EXIT_SYSTEM);
	}
	log_serving(sl);
	publish(sl);
	start_handles(sl);
	if ((rc = nt_daemon_confine(&sl->conf, sl->o.role->name, sl->ctl !=
	    NULL ? sl->ctl_p.path : NULL, sl->o.dry_run)) != 0) {
		stop(sl);
		return (rc);
	}
	nt_sd_notify("READY=1");
	uv_run(&sl->loop, UV_RUN_DEFAULT);
	if (nt_engine_gave_up(nt_uvclient_engine(sl->uc))) {
		nt_sd_notify("STOPPING=1");
		stop(sl);
		log_counters(sl, " at exit");
		return (EXIT_GAVE_UP);
	}
	log_counters(sl, " at exit");
	return (0);
}

static int
setup(struct nt_serve *sl, int argc, char **argv)
{
	char err[NT_CONF_ERRLEN];
	int rc;

	if (parse_opts(&sl->o, argc, argv) != 0)
		return (EXIT_USAGE);
	sl->conf_path = sl->o.config;
	if (sl->conf_path == NULL && access(NT_CONF_DEFAULT_PATH, F_OK) == 0)
		sl->conf_path = NT_CONF_DEFAULT_PATH;
	if ((rc = load_conf(sl, &sl->conf, err, sizeof err)) != 0 ||
	    nt_acl_init(&sl->acl, sl->conf.serve.allow, sl->conf.serve.n_allow,
	    sl->conf.serve.deny, sl->conf.serve.n_deny, err, sizeof err) != 0) {
		nt_cmd_error(sl->o.role->name, err);
		/* A file we may not read is "no permission", not a bad file. */
		return (rc == NT_YCONF_ESYS ? EXIT_SYSTEM : EXIT_USAGE);
	}
	if (sl->o.check_config) {
		if (nt_daemon_check_user(&sl->conf, sl->o.role->name) != 0)
			return (EXIT_USAGE);
		nt_daemon_show_socket(&sl->conf, sl->o.socket);
		nt_conf_print(stdout, &sl->conf);
		return (-1);
	}
	if (!sl->o.dry_run && !nt_daemon_can_steer()) {
		fprintf(stderr, "ntimed %s: no permission to steer the "
		    "clock (needs root or CAP_SYS_TIME); use --dry-run to "
		    "serve without steering\n", sl->o.role->name);
		return (EXIT_SYSTEM);
	}
	return (0);
}

void
nt_serve_publish(struct nt_serve *s)
{
	publish(s);
}

int
nt_serve_main(const struct nt_serve_role *r, void *ctx, int argc,
    char **argv)
{
	struct nt_serve sl;
	char ident[32];
	int rc;

	memset(&sl, 0, sizeof sl);
	sl.o.role = r;
	sl.role_ctx = ctx;
	rc = setup(&sl, argc, argv);
	if (rc == 0) {
		snprintf(ident, sizeof ident, "ntimed-%s", r->name);
		nt_daemon_logging(&sl.conf, sl.o.log_level, sl.o.foreground,
		    ident);
		rc = run(&sl);
		if (nt_daemon_lookup_pending(sl.uc))
			nt_daemon_leave(rc);	/* see stop() */
		uv_run(&sl.loop, UV_RUN_DEFAULT);	/* closed handles */
		free_retired(&sl);
		if (sl.srv != NULL)
			nt_uvserver_stop(sl.srv);
		nts_ke_server_stop(sl.ke);	/* after the workers using it */
		if (r->free != NULL)
			r->free(&sl);
		if (sl.uc != NULL)
			nt_uvclient_free(sl.uc);
		uv_loop_close(&sl.loop);
	} else if (rc < 0)
		rc = 0;				/* --check-config */
	nt_acl_free(&sl.acl);
	nt_conf_free(&sl.conf);
	free(sl.o.listen);
	return (rc);
}
