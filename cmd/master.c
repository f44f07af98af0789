/*
 * "ntimed master": a stratum-1 server.  Its sources are reference clocks
 * (GPS NMEA and PPS, gpsd's SHM and SOCK, PHC, the local clock; see
 * lib/refclock.h), optionally with upstream servers as a backup; it
 * serves exactly as "ntimed slave" does (cmd/serve.c).
 *
 * What is ours: each refclock becomes an engine source that is never
 * polled; the refclock adapter's combined samples go into it and run the
 * same selection and discipline a network reply does.  Selection prefers
 * a refclock by its tiny root distance, and keeps it unless another
 * source is twice as good.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "engine.h"
#include "log.h"
#include "refclock.h"
#include "serve.h"
#include "uvrefclock.h"

struct master {
	struct nt_uvrefclock *urc;
	int		src[NT_REFCLOCK_MAX];	/* refclock -> engine source */
};

static int
master_check(const struct nt_serve *s, const struct nt_conf *c, char *err,
    size_t len)
{
	if (c->n_refclocks + c->n_servers + c->n_pools > 0 ||
	    c->serve.local_stratum != 0)
		return (0);
	snprintf(err, len, "no refclocks, no servers and no local stratum: "
	    "configure 'refclocks:' in %s", s->conf_path != NULL ?
	    s->conf_path : NT_CONF_DEFAULT_PATH);
	return (-1);
}

static void
on_sample(void *ctx, int i, const struct nt_refclock_sample *rs)
{
	struct nt_serve *s = ctx;
	struct master *m = s->role_ctx;

	if (i < 0 || i >= NT_REFCLOCK_MAX || m->src[i] < 0)
		return;
	nt_engine_refclock_sample(nt_uvclient_engine(s->uc), m->src[i], rs);
	/* The engine may want to act sooner now (end a slew, watch it). */
	nt_uvclient_run(s->uc);
}

/* Unpaired pulses are numbered by our own clock while it is synced. */
static bool
fallback(void *ctx, nt_time now, struct nt_refclock_sample *out)
{
	struct nt_serve *s = ctx;

	return (nt_engine_pulse_fallback(nt_uvclient_engine(s->uc), now, out));
}

/* The refclocks as sources of the (new) engine. */
static int
master_attach(struct nt_serve *s)
{
	struct master *m = s->role_ctx;
	struct nt_engine *e = nt_uvclient_engine(s->uc);
	int rc_full = 0;

	for (size_t i = 0; i < NT_REFCLOCK_MAX; i++)
		m->src[i] = -1;		/* nothing of an older engine's */
	for (size_t i = 0; i < nt_uvrefclock_n(m->urc); i++) {
		const struct nt_refclock *rc = nt_uvrefclock_get(m->urc, i);

		m->src[i] = nt_engine_add_refclock(e, rc->conf, rc->name,
		    nt_refclock_refid(rc->conf));
		if (m->src[i] < 0)
			rc_full = -1;
	}
	return (rc_full);
}

/* Why engine source i has no sample, when it is a closed refclock. */
static const char *
source_error(void *ctx, size_t i, const char **state)
{
	struct nt_serve *s = ctx;
	struct master *m = s->role_ctx;

	for (size_t j = 0; j < nt_uvrefclock_n(m->urc); j++)
		if (m->src[j] == (int)i)
			return (nt_uvrefclock_error(m->urc, j, state));
	return (NULL);
}

static int
master_start(struct nt_serve *s)
{
	struct master *m = s->role_ctx;
	char err[NT_RC_ERRLEN];

	nt_log(NT_LOG_NOTICE, "%zu refclocks", s->conf.n_refclocks);
	m->urc = nt_uvrefclock_new(&s->loop, s->clk, s->conf.refclocks,
	    s->conf.n_refclocks, on_sample, s, err, sizeof err);
	if (m->urc == NULL) {
		nt_cmd_error("master", err);
		return (EXIT_USAGE);
	}
	nt_uvrefclock_set_fallback(m->urc, fallback);
	/* 'sources' says why a refclock has no sample (serve.c sets the rest). */
	s->se.source_error = source_error;
	s->se.source_error_ctx = s;
	/* Samples come from the loop, which has not run yet. */
	if (master_attach(s) != 0) {
		fprintf(stderr, "ntimed master: too many sources (at most %d "
		    "with the servers)\n", NT_MAX_SOURCES);
		return (EXIT_USAGE);
	}
	return (0);
}

static void
master_stop(struct nt_serve *s)
{
	struct master *m = s->role_ctx;

	if (m->urc != NULL)
		nt_uvrefclock_close(m->urc);
}

static void
master_free(struct nt_serve *s)
{
	struct master *m = s->role_ctx;

	if (m->urc != NULL)
		nt_uvrefclock_free(m->urc);
	m->urc = NULL;
}

static const struct nt_serve_role master_role = {
	.name = "master",
	.synopsis = "[OPTIONS] [SERVER[:PORT]...]",
	.what = "Serve NTP at stratum 1 from reference clocks ('refclocks:' "
	    "in the file).",
	.notes = "Servers (command line or file) are a backup: a usable "
	    "refclock wins by\nits smaller distance.  SIGUSR1 logs the "
	    "server's counters, SIGHUP\nre-reads the file; 'ntimed query "
	    "server' shows the counters too.\n",
	.check = master_check,
	.start = master_start,
	.attach = master_attach,
	.stop = master_stop,
	.free = master_free,
};

int
cmd_master(int argc, char **argv)
{
	struct master m;

	memset(&m, 0, sizeof m);
	for (size_t i = 0; i < NT_REFCLOCK_MAX; i++)
		m.src[i] = -1;
	return (nt_serve_main(&master_role, &m, argc, argv));
}
