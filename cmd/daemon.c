/*
 * Start-up and state-keeping shared by the daemon roles, so that client,
 * slave and master read configs, log, keep the drift file and give up
 * their privileges (lib/privdrop.c, lib/sandbox.c) identically.
 */
#include <assert.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cmd.h"
#include "control.h"
#include "daemon.h"
#include "driftfile.h"
#include "log.h"
#include "ntp_pkt.h"
#include "privdrop.h"
#include "sdnotify.h"
#include "sandbox.h"
#include "statslog.h"
#include "uvnts.h"

/* What systemd's RuntimeDirectory= and StateDirectory= would own. */
#define STATE_DIR	"/var/lib/ntimed"

int
nt_daemon_load_config(const char *role, const char *path, int nargs,
    char **args, bool need_sources, struct nt_conf *c)
{
	char err[NT_CONF_ERRLEN];
	int rc = 0;

	nt_conf_init(c);
	if (path == NULL && access(NT_CONF_DEFAULT_PATH, F_OK) == 0)
		path = NT_CONF_DEFAULT_PATH;
	if (path != NULL && (rc = nt_conf_load(c, path, err, sizeof err)) != 0)
		goto fail;
	if (nargs > 0)
		nt_conf_clear_sources(c);
	for (int i = 0; i < nargs; i++)
		if (nt_conf_add_server_arg(c, args[i], err, sizeof err) != 0)
			goto fail;
	if (need_sources && c->n_servers + c->n_pools == 0) {
		snprintf(err, sizeof err, "no servers: give them on the command "
		    "line or in %s", path != NULL ? path : NT_CONF_DEFAULT_PATH);
		goto fail;
	}
	return (0);
fail:
	nt_cmd_error(role, err);
	nt_conf_free(c);
	/* A file we may not read is "no permission", not a bad file. */
	return (rc == NT_YCONF_ESYS ? EXIT_SYSTEM : EXIT_USAGE);
}

int
nt_daemon_socket_arg(const char *role, const char *arg)
{
	if (arg[0] != '\0' && strlen(arg) < sizeof ((struct nt_conf *)0)->
	    control.socket)
		return (0);
	return (nt_cmd_usage(role, "invalid control socket path '%s' (%s)",
	    arg, arg[0] == '\0' ? "empty" : "too long"));
}

void
nt_daemon_show_socket(struct nt_conf *c, const char *arg)
{
	if (arg == NULL)
		return;
	strlcpy(c->control.socket, arg, sizeof c->control.socket);
	c->control.enabled = true;
}

bool
nt_daemon_can_steer(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) != 0)
		return (geteuid() == 0);
	return ((data[CAP_SYS_TIME / 32].effective &
	    (1u << (CAP_SYS_TIME % 32))) != 0);
}

void
nt_daemon_logging(struct nt_conf *c, int level, bool foreground,
    const char *ident)
{
	if (foreground && level < 0)
		level = (int)c->log_level;
	/* systemd gives us the journal as stderr: syslog keeps levels. */
	if (level < 0 && c->log_dest == NT_LOG_STDERR &&
	    nt_sd_stderr_is_journal())
		c->log_dest = NT_LOG_SYSLOG;
	if (level >= 0)
		nt_log_setup(NT_LOG_STDERR, (enum nt_log_level)level, ident);
	else
		nt_log_setup(c->log_dest, c->log_level, ident);
}

static void
read_drift(const struct nt_conf *c, bool *have, double *freq, double *skew)
{
	char err[NT_CONF_ERRLEN];
	int r;

	*have = false;
	if (c->driftfile == NULL)
		return;
	r = nt_drift_read(c->driftfile, freq, skew, err, sizeof err);
	if (r < 0)
		nt_log(NT_LOG_WARNING, "%s (starting from the kernel's "
		    "frequency)", err);
	else if (r == 1)
		nt_log(NT_LOG_INFO, "%s: no drift file yet, starting from "
		    "the kernel's frequency", c->driftfile);
	else {
		nt_log(NT_LOG_INFO, "frequency %.3f ppm from %s", *freq,
		    c->driftfile);
		*have = true;
	}
}

/*
 * The statistics logs ("statistics:"): their directory opened by
 * nt_daemon_prepare(), the files by nt_daemon_confine() as the user the
 * daemon runs as, reopened by nt_daemon_reopen_logs().  Every engine the
 * daemon makes (a reload may make new ones) writes to them.  One daemon
 * per process; NULL when none is on.
 */
static struct nt_statslog *stats;
static char stats_file[256];	/* one of them, for prepare_dir() */

struct nt_uvclient *
nt_daemon_start_client(uv_loop_t *loop, const struct nt_conf *c,
    struct nt_clock *clk, bool measure_only, enum nt_family_filter fam)
{
	return (nt_daemon_start_client_cb(loop, c, clk, measure_only, fam,
	    NULL, NULL));
}

struct nt_uvclient *
nt_daemon_start_client_cb(uv_loop_t *loop, const struct nt_conf *c,
    struct nt_clock *clk, bool measure_only, enum nt_family_filter fam,
    void (*on_update)(void *ctx, const struct nt_update *u), void *ctx)
{
	struct nt_engine_params p;
	double freq = 0, skew = 0;
	bool have;

	read_drift(c, &have, &freq, &skew);
	nt_engine_params_from_conf(&p, c, clk, have, freq, skew);
	p.measure_only = measure_only;
	return (nt_daemon_client_with(loop, &p, c, clk, fam, on_update, ctx));
}

struct nt_uvclient *
nt_daemon_client_with(uv_loop_t *loop, const struct nt_engine_params *p,
    const struct nt_conf *c, struct nt_clock *clk, enum nt_family_filter fam,
    void (*on_update)(void *ctx, const struct nt_update *u), void *ctx)
{
	struct nt_uvclient *uc = nt_uvclient_new(loop, p, clk, on_update, ctx);

	if (uc == NULL)
		return (NULL);
	nt_uvclient_set_statslog(uc, stats);
	for (size_t i = 0; i < c->n_servers; i++)
		nt_uvclient_add_server(uc, &c->servers[i], fam);
	for (size_t i = 0; i < c->n_pools; i++)
		nt_uvclient_add_pool(uc, &c->pools[i], fam);
	return (uc);
}

int
nt_daemon_adopt_sources(struct nt_uvclient *uc, const struct nt_engine *old,
    struct nt_clock *clk)
{
	return (nt_uvclient_inherit(uc, old, nt_disc_remaining(
	    nt_engine_disc(old), nt_clock_now(clk))));
}

/* The i-th server or pool of c, NULL after the last. */
static const struct nt_server_conf *
conf_entry(const struct nt_conf *c, size_t i)
{
	if (i < c->n_servers)
		return (&c->servers[i]);
	if (i - c->n_servers < c->n_pools)
		return (&c->pools[i - c->n_servers].server);
	return (NULL);
}

/* host, or host:port ([v6]:port) when the port is not NTP's. */
static void
unresolved_name(const struct nt_server_conf *sc, char *buf, size_t len)
{
	bool v6 = strchr(sc->address, ':') != NULL;

	if (sc->port == NTP_PORT)
		strlcpy(buf, sc->address, len);
	else
		snprintf(buf, len, "%s%s%s:%u", v6 ? "[" : "", sc->address,
		    v6 ? "]" : "", sc->port);
}

bool
nt_daemon_unresolved(const struct nt_conf *c, struct nt_uvclient *uc,
    size_t i, struct nt_status_unresolved *u)
{
	const struct nt_server_conf *sc;
	size_t seen = 0;

	if (uc == NULL)		/* between two engines (a restart) */
		return (false);
	for (size_t k = 0; (sc = conf_entry(c, k)) != NULL; k++) {
		if ((u->why = nt_uvclient_unresolved(uc, sc, &u->state)) ==
		    NULL || seen++ != i)
			continue;
		u->host = sc->address;
		unresolved_name(sc, u->name, sizeof u->name);
		return (true);
	}
	return (false);
}

void
nt_daemon_restart_params(struct nt_engine_params *p, const struct nt_conf *c,
    struct nt_clock *clk, const struct nt_engine *old, int updates_before)
{
	const struct nt_discipline *d = nt_engine_disc(old);
	int left = c->step_limit - updates_before;

	nt_engine_params_from_conf(p, c, clk, true, nt_disc_freq_ppm(d),
	    nt_disc_skew_ppm(d));
	if (c->step_limit >= 0)
		p->disc.step_limit = left > 0 ? left : 0;
	p->updates_before = updates_before;
	p->ignored_before = nt_engine_max_change_ignored(old);
}

/* The whole configuration as text, with the log level of ref. */
static char *
conf_text(const struct nt_conf *c, const struct nt_conf *ref)
{
	struct nt_conf tmp = *c;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	tmp.log_level = ref->log_level;
	if ((f = open_memstream(&text, &len)) == NULL)
		return (NULL);
	nt_conf_print(f, &tmp);
	fclose(f);
	return (text);
}

const char *
nt_daemon_sources_text(const struct nt_conf *c, char *buf, size_t len)
{
	snprintf(buf, len, "%zu server%s, %zu pool%s", c->n_servers,
	    c->n_servers == 1 ? "" : "s", c->n_pools, c->n_pools == 1 ? "" :
	    "s");
	return (buf);
}

/* True when nc and old differ only in what a reload applies. */
bool
nt_daemon_rest_equal(const struct nt_conf *nc, const struct nt_conf *old)
{
	struct nt_conf tmp = *nc;	/* shallow: only printed */
	char *a, *b;
	bool same;

	tmp.servers = old->servers;
	tmp.n_servers = old->n_servers;
	tmp.pools = old->pools;
	tmp.n_pools = old->n_pools;
	tmp.driftfile = old->driftfile;
	tmp.step_threshold = old->step_threshold;
	tmp.step_limit = old->step_limit;
	tmp.max_distance = old->max_distance;
	tmp.min_sources = old->min_sources;
	tmp.holdover = old->holdover;
	a = conf_text(&tmp, old);
	b = conf_text(old, old);
	same = a != NULL && b != NULL && strcmp(a, b) == 0;
	free(a);
	free(b);
	return (same);
}

#define SWAP(T, x, y) do { T tmp_ = (x); (x) = (y); (y) = tmp_; } while (0)

/* What runs as it was started (threads, sockets, refclocks) stays so. */
void
nt_daemon_keep_running(struct nt_conf *nc, struct nt_conf *old)
{
	SWAP(struct nt_serve_conf, nc->serve, old->serve);
	SWAP(struct nt_control_conf, nc->control, old->control);
	SWAP(struct nt_metrics_conf, nc->metrics, old->metrics);
	SWAP(struct nt_refclock_conf *, nc->refclocks, old->refclocks);
	SWAP(size_t, nc->n_refclocks, old->n_refclocks);
	for (size_t i = 0; i < sizeof nc->user; i++)
		SWAP(char, nc->user[i], old->user[i]);
	SWAP(bool, nc->sandbox, old->sandbox);
	SWAP(enum nt_log_dest, nc->log_dest, old->log_dest);
	SWAP(struct nt_stats_conf, nc->statistics, old->statistics);
}

bool
nt_daemon_sources_equal(const struct nt_conf *a, const struct nt_conf *b)
{
	/* The other limits apply in place (nt_engine_set_limits()). */
	if (a->n_servers != b->n_servers || a->n_pools != b->n_pools ||
	    a->step_limit != b->step_limit)
		return (false);
	for (size_t i = 0; i < a->n_servers; i++)
		if (!nt_server_conf_same(&a->servers[i], &b->servers[i]))
			return (false);
	for (size_t i = 0; i < a->n_pools; i++)
		if (!nt_server_conf_same(&a->pools[i].server, &b->pools[i].server) ||
		    a->pools[i].max_sources != b->pools[i].max_sources)
			return (false);
	return (true);
}

/* The directory of path, in dir; false when it has none. */
static bool
dir_of(const char *path, char *dir, size_t len)
{
	const char *slash = path != NULL ? strrchr(path, '/') : NULL;

	if (slash == NULL || slash == path || (size_t)(slash - path) >= len)
		return (false);
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return (true);
}

/* Whether u may read (4), write (2) or both a file with sb's mode. */
static bool
user_may(const struct stat *sb, const struct nt_privdrop_user *u, int want)
{
	unsigned bits = (unsigned)sb->st_mode;
	bool member = false;

	for (int i = 0; i < u->ngroups; i++)
		member = member || u->groups[i] == sb->st_gid;
	if (sb->st_uid == u->uid)
		bits >>= 6;
	else if (member)
		bits >>= 3;
	return ((bits & (unsigned)want) == (unsigned)want);
}

/*
 * Make the directory of file (a state or runtime file we write or remove
 * after the switch) usable by u: our own directories, still root's
 * because no systemd unit or tmpfiles.d made them, become u's; for any
 * other directory u cannot write, say what will not work.
 */
static void
prepare_dir(const char *file, const char *ours, const char *what,
    const struct nt_privdrop_user *u)
{
	char dir[256];
	struct stat sb;

	if (!dir_of(file, dir, sizeof dir) || stat(dir, &sb) != 0)
		return;
	if (strcmp(dir, ours) == 0 && sb.st_uid == 0 &&
	    chown(dir, u->uid, u->gid) == 0) {
		nt_log(NT_LOG_INFO, "%s: now owned by user %s", dir, u->name);
		return;
	}
	if (!user_may(&sb, u, 2))
		nt_log(NT_LOG_WARNING, "%s: not writable by user %s: %s", dir,
		    u->name, what);
}

/*
 * A refclock's device was opened as root, but after a read error or a
 * device that went away it is reopened as u: say now, not at 3 a.m.,
 * when u could not.
 */
static void
check_devices(const struct nt_conf *c, const struct nt_privdrop_user *u)
{
	struct group gr, *res = NULL;
	char buf[1024], fix[96];
	struct stat sb;

	for (size_t i = 0; i < c->n_refclocks; i++) {
		const char *dev = c->refclocks[i].device;

		if (dev == NULL || stat(dev, &sb) != 0 || user_may(&sb, u, 4))
			continue;
		/* Joining the group helps only when the group may read. */
		if ((sb.st_mode & S_IRGRP) != 0 && sb.st_gid != 0 &&
		    getgrgid_r(sb.st_gid, &gr, buf, sizeof buf, &res) == 0 &&
		    res != NULL)
			snprintf(fix, sizeof fix, "add the user to group %s",
			    gr.gr_name);
		else
			snprintf(fix, sizeof fix, "give the device to the "
			    "user's group (a udev rule)");
		nt_log(NT_LOG_WARNING, "%s: not readable by user %s (mode "
		    "%03o): it cannot be reopened after an error; %s, or set "
		    "'user: root'", dev, u->name,
		    (unsigned)(sb.st_mode & 0777), fix);
	}
}

/*
 * The user to become, looked up before anything starts (a user that does
 * not exist must not half-start a daemon) and switched to at the end of
 * the start-up.  One daemon per process.
 */
static struct {
	int			plan;	/* enum nt_privdrop_plan, -1: none */
	struct nt_privdrop_user	u;
} who = { .plan = -1 };

/*
 * The user to become.  The default user missing is worth a warning in a
 * daemon (it runs as root for good), not in a one-shot run.
 */
static int
lookup_user(const struct nt_conf *c, const char *role, bool one_shot,
    struct nt_privdrop_user *u)
{
	char err[NT_CONF_ERRLEN];
	int plan;

	/* A master's devices are often reached through a group. */
	if ((plan = nt_privdrop_lookup(c->user, strcmp(role, "master") == 0,
	    u, err, sizeof err)) < 0)
		nt_cmd_error(role, err);
	if (plan == NT_PRIVDROP_NO_USER)
		nt_log(one_shot ? NT_LOG_INFO : NT_LOG_WARNING, "user '%s' "
		    "does not exist: running as root (create it, or set "
		    "'user: root' to say so)", c->user);
	return (plan);
}

/*
 * A reload's "user:", once the daemon is confined: the one it runs as
 * was looked up at start; another (which needs a restart anyway) is
 * sought in /etc/passwd only when the sandbox is on, as NSS modules
 * would be killed by it.
 */
static char running_user[sizeof ((struct nt_conf *)0)->user];
static bool running_sandboxed;

static int
reload_user_check(const char *user, char *err, size_t errlen)
{
	if (strcmp(user, running_user) == 0)
		return (0);
	if (running_sandboxed)
		return (nt_privdrop_check_name_files(user, err, errlen));
	return (nt_privdrop_check_name(user, err, errlen));
}

int
nt_daemon_check_user(const struct nt_conf *c, const char *role)
{
	struct nt_privdrop_user u;

	/* The default user missing is no configuration error: not said. */
	if (strcmp(c->user, NT_PRIVDROP_DEFAULT_USER) == 0)
		return (0);
	return (lookup_user(c, role, false, &u) < 0 ? EXIT_USAGE : 0);
}

static int
confine_user(const struct nt_conf *c, bool master, const char *control_path,
    bool dry_run, char *err, size_t len)
{
	const struct nt_privdrop_user *u = &who.u;

	assert(who.plan >= 0);	/* nt_daemon_prepare() looked it up */
	if (who.plan != NT_PRIVDROP_SWITCH)
		return (0);
	if (!dry_run)
		prepare_dir(c->driftfile, STATE_DIR, "the frequency will not "
		    "be saved", u);
	if (stats != NULL)
		prepare_dir(stats_file, NT_STATS_DIR_DEFAULT, "the statistics "
		    "logs cannot be written", u);
	prepare_dir(control_path, NT_CTL_RUNTIME_DIR, "the control socket "
	    "will be left behind at exit", u);
	if (master)
		check_devices(c, u);
	if (nt_privdrop_switch(u, !dry_run, err, len) != 0)
		return (EXIT_SYSTEM);
	return (0);
}

static enum nt_sandbox_role
sandbox_role(const char *role)
{
	if (strcmp(role, "master") == 0)
		return (NT_SANDBOX_MASTER);
	if (strcmp(role, "slave") == 0)
		return (NT_SANDBOX_SLAVE);
	return (NT_SANDBOX_CLIENT);
}

static bool
wants_nts(const struct nt_conf *c)
{
	for (size_t i = 0; i < c->n_servers; i++)
		if (c->servers[i].nts)
			return (true);
	for (size_t i = 0; i < c->n_pools; i++)
		if (c->pools[i].server.nts)
			return (true);
	return (false);
}

/*
 * NTS sources: the CA certificates now, while files can still be read
 * (before the sandbox and the switch to the daemon's user).
 */
static int
load_nts_trust(const struct nt_conf *c, const char *role)
{
	char err[NT_CONF_ERRLEN];

	if (!wants_nts(c) || nt_uvnts_trusted())
		return (0);
	if (nt_uvnts_trust_init(c->nts_ca, err, sizeof err) != 0) {
		nt_cmd_error(role, err);
		return (c->nts_ca != NULL ? EXIT_USAGE : EXIT_SYSTEM);
	}
	return (0);
}

/*
 * The statistics directory, while we are still who started us (made
 * when missing).  A directory that cannot be opened costs the logs, not
 * the timekeeping.
 */
static void
open_stats(const struct nt_conf *c)
{
	char err[NT_CONF_ERRLEN];

	assert(stats == NULL);
	stats = nt_statslog_new(&c->statistics, err, sizeof err);
	if (stats == NULL && err[0] != '\0')
		nt_log(NT_LOG_ERR, "%s: not writing statistics logs", err);
	if (stats != NULL)
		snprintf(stats_file, sizeof stats_file, "%s/%s",
		    nt_statslog_dir(stats), nt_statslog_name(
		    NT_STATSLOG_TRACKING));
}

void
nt_daemon_reopen_logs(void)
{
	nt_statslog_reopen(stats);
}

int
nt_daemon_prepare(const struct nt_conf *c, const char *role, bool one_shot)
{
	char err[NT_CONF_ERRLEN];

	if (c->sandbox && setenv("UV_USE_IO_URING", "0", 1) != 0) {
		nt_cmd_usage(role, "setenv: %s", strerror(errno));
		return (EXIT_SYSTEM);
	}
	/*
	 * A control or metrics client that hangs up before reading its
	 * reply must cost it the reply, not kill us: EPIPE, not SIGPIPE.
	 */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		nt_cmd_usage(role, "signal(SIGPIPE): %s", strerror(errno));
		return (EXIT_SYSTEM);
	}
	if ((who.plan = lookup_user(c, role, one_shot, &who.u)) < 0)
		return (EXIT_USAGE);
	if (c->n_refclocks > 0 && strcmp(role, "master") != 0)
		nt_log(NT_LOG_WARNING, "%zu refclocks in the configuration "
		    "ignored: only 'ntimed master' reads them",
		    c->n_refclocks);
	if (nt_privdrop_no_new_privs(err, sizeof err) != 0) {
		nt_cmd_error(role, err);
		return (EXIT_SYSTEM);
	}
	if (!one_shot)
		open_stats(c);
	return (load_nts_trust(c, role));
}

int
nt_daemon_confine(const struct nt_conf *c, const char *role,
    const char *control_path, bool dry_run)
{
	char err[NT_CONF_ERRLEN];
	int rc;

	rc = confine_user(c, strcmp(role, "master") == 0, control_path,
	    dry_run, err, sizeof err);
	/* As the user a reopen after logrotate will be: the same owner. */
	if (rc == 0)
		nt_statslog_reopen(stats);
	if (rc == 0 && !c->sandbox)
		nt_log(NT_LOG_INFO, "sandbox: off ('sandbox: false')");
	else if (rc == 0) {
		if (nt_sandbox_install(sandbox_role(role), err, sizeof err) !=
		    0)
			rc = EXIT_SYSTEM;
		else
			nt_log(NT_LOG_INFO, "sandbox: seccomp filter for the "
			    "%s installed", role);
	}
	/* Under systemd, standard error is the journal too. */
	if (rc != 0)
		nt_cmd_error(role, err);
	strlcpy(running_user, c->user, sizeof running_user);
	running_sandboxed = rc == 0 && c->sandbox;
	nt_conf_set_user_check(reload_user_check);
	return (rc);
}

bool
nt_daemon_lookup_pending(struct nt_uvclient *uc)
{
	return (uc != NULL && nt_uvclient_resolving(uc) > 0);
}

void
nt_daemon_leave(int rc)
{
	errno = 0;
	if ((fflush(stdout) != 0 || ferror(stdout)) && errno != EPIPE &&
	    rc == 0) {
		fprintf(stderr, "ntimed: cannot write output: %s\n",
		    errno != 0 ? strerror(errno) : "write error");
		rc = EXIT_SYSTEM;
	}
	_exit(rc);
}

void
nt_daemon_save_drift(const struct nt_conf *c, struct nt_uvclient *uc)
{
	const struct nt_discipline *d = nt_engine_disc(nt_uvclient_engine(uc));
	char err[NT_CONF_ERRLEN];

	if (c->driftfile == NULL || d->n_updates == 0)
		return;
	if (nt_drift_write(c->driftfile, nt_disc_freq_ppm(d),
	    nt_disc_skew_ppm(d), err, sizeof err) != 0)
		nt_log(NT_LOG_ERR, "%s", err);
	else
		nt_log(NT_LOG_DEBUG, "frequency %.3f ppm saved to %s",
		    nt_disc_freq_ppm(d), c->driftfile);
}
