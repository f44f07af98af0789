/*
 * Discrete-event loop for the simulator: requests from the engine become
 * replies from simulated servers after simulated network delays; the
 * engine's timer, the simulated refclocks' pulses and sentences
 * (sim_refclock.c) and the statistics ticks are the other events.  The
 * engine is exactly the one `ntimed client` and `ntimed master` run, and
 * refclock samples go through the real refclock layer as in the master;
 * only the clock, the engine's send() and the devices are simulated.
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ntp_pkt.h"
#include "sim.h"

#define MAX_INFLIGHT 256
#define LEAP_ANNOUNCE (28 * 86400.0)	/* s: servers warn this early */

struct flight {
	nt_time		arrive;		/* physical time it reaches us */
	int		src;
	uint8_t		buf[NTP_HDR_LEN];
};

struct srv_rt {
	const struct nt_sim_server *m;
	struct nt_rng	rng;		/* its network's randomness */
	nt_time		last_req;	/* for rate limiting */
	bool		have_req;
	uint64_t	sent;		/* requests the client sent it */
	uint64_t	answered, kods;	/* that reached it; of those, KoDs */
	bool		flagged;
};

struct nt_sim {
	const struct nt_sim_scenario *sc;
	uint64_t	seed;
	double		duration;
	nt_time		start;
	struct nt_simclock clk;
	struct nt_engine *e;
	size_t		n;
	struct srv_rt	srv[NT_SIM_MAX_SERVERS];	/* by source index */
	/* The master's refclocks: devices, the real layer, engine sources. */
	struct nt_refclock_set set;
	struct nt_sim_rc rc[NT_SIM_MAX_REFCLOCKS];	/* client.refclocks */
	size_t		n_rc;
	int		rc_src[NT_SIM_MAX_REFCLOCKS];
	bool		rc_flagged[NT_SIM_MAX_REFCLOCKS];
	struct flight	fl[MAX_INFLIGHT];
	size_t		n_fl;
	struct nt_rng	keys;		/* "random" transmit timestamps */
	nt_time		leap_at;	/* physical time of UTC's leap */
	int		leap;		/* what servers announce */
	struct nt_sim_stats st;
	uint64_t	packets, packets_after, updates;
	bool		ran;
};

double
nt_sim_elapsed(const struct nt_sim *s)
{
	return (nt_diff(s->clk.true_now, s->start));
}

static int
server_leap(const struct nt_sim *s, const struct nt_sim_server *m, nt_time at)
{
	if (!m->leap || s->leap == NTP_LEAP_NONE || at >= s->leap_at ||
	    nt_diff(s->leap_at, at) > LEAP_ANNOUNCE)
		return (NTP_LEAP_NONE);
	return (s->leap);
}

/* KoD RATE when this request follows the last one too closely. */
static bool
kod_due(struct srv_rt *r, double t, nt_time at)
{
	const struct nt_sim_kod *k = &r->m->kod;
	bool due = k->interval > 0 && t >= k->from && t < k->to &&
	    r->have_req && nt_diff(at, r->last_req) < k->interval;

	r->last_req = at;
	r->have_req = true;
	return (due);
}

static void
make_reply(struct nt_sim *s, struct srv_rt *r, const struct ntp_pkt *q,
    nt_time at, struct ntp_pkt *p)
{
	const struct nt_sim_server *m = r->m;
	double t = nt_diff(at, s->start);
	nt_time rec = nt_add(nt_simclock_utc(&s->clk, at),
	    nt_sim_server_error(m, t));

	memset(p, 0, sizeof *p);
	p->version = q->version;
	p->mode = NTP_MODE_SERVER;
	p->poll = q->poll;
	p->precision = -24;
	p->org = q->xmt;
	p->rec = nt_to_ntp64(rec);
	p->xmt = nt_to_ntp64(nt_add(rec, m->proc));
	if (kod_due(r, t, at)) {
		r->kods++;
		p->leap = NTP_LEAP_UNSYNC;
		p->stratum = 0;
		p->refid = NTP_CODE("RATE");
		p->poll = (int8_t)ceil(log2(m->kod.interval));
		return;
	}
	p->leap = (uint8_t)server_leap(s, m, at);
	p->stratum = (uint8_t)m->stratum;
	p->root_delay = nt_to_ntp32(m->root_delay);
	p->root_disp = nt_to_ntp32(m->root_disp);
	p->refid = NTP_CODE("SIM\0");
	p->ref = nt_to_ntp64(nt_add(rec, -16.0));
}

/* A request reaches server src at physical time at. */
static void
serve(struct nt_sim *s, int src, const uint8_t *req, size_t len, nt_time at)
{
	struct srv_rt *r = &s->srv[src];
	struct ntp_pkt q, p;
	struct flight *f;
	double d;

	if (nt_sim_server_silent(r->m, nt_diff(at, s->start)) ||
	    ntp_decode(req, len, &q) != NTP_DECODE_OK)
		return;
	r->answered++;
	make_reply(s, r, &q, at, &p);
	d = nt_sim_net_delay(&r->m->net, false, nt_diff(at, s->start) +
	    r->m->proc, &r->rng);
	if (d < 0 || s->n_fl == MAX_INFLIGHT)
		return;
	f = &s->fl[s->n_fl++];
	f->src = src;
	f->arrive = nt_add(nt_add(at, r->m->proc), d);
	ntp_encode(&p, f->buf, sizeof f->buf);
}

static int
sim_send(void *ctx, int src, const uint8_t *buf, size_t len)
{
	struct nt_sim *s = ctx;
	struct srv_rt *r = &s->srv[src];
	double t = nt_sim_elapsed(s), d;

	assert(src >= 0 && (size_t)src < s->n);
	s->packets++;
	r->sent++;
	if (t >= s->sc->settle)
		s->packets_after++;
	d = nt_sim_net_delay(&r->m->net, true, t, &r->rng);
	if (d >= 0)
		serve(s, src, buf, len, nt_add(s->clk.true_now, d));
	return (0);
}

static uint64_t
sim_random(void *ctx)
{
	return (nt_rng_u64(&((struct nt_sim *)ctx)->keys));
}

static void
sim_update(void *ctx, const struct nt_update *u)
{
	(void)u;
	((struct nt_sim *)ctx)->updates++;
}

/* Move time on; say so when the simulated kernel made a leap second. */
static void
advance(struct nt_sim *s, nt_time t)
{
	int leaps = s->clk.n_leaps;

	nt_simclock_advance(&s->clk, t);
	if (s->clk.n_leaps != leaps)
		nt_log(NT_LOG_NOTICE, "sim: the kernel %s a leap second",
		    s->leap == NTP_LEAP_DELETE ? "deleted" : "inserted");
}

/* Index of the earliest reply in flight, or -1. */
static int
next_flight(const struct nt_sim *s)
{
	int best = -1;

	for (size_t i = 0; i < s->n_fl; i++)
		if (best < 0 || s->fl[i].arrive < s->fl[best].arrive)
			best = (int)i;
	return (best);
}

static void
deliver(struct nt_sim *s, int k)
{
	struct flight f = s->fl[k];

	s->fl[k] = s->fl[--s->n_fl];
	advance(s, f.arrive);
	nt_engine_rx(s->e, f.src, f.buf, sizeof f.buf,
	    nt_clock_now(&s->clk.base));
}

static double
peer_poll(const struct nt_sim *s, const struct nt_update *u)
{
	double poll = INFINITY;

	if (u != NULL)
		return (nt_source_interval(nt_engine_source(s->e,
		    (size_t)u->selected)));
	for (size_t i = 0; i < nt_engine_n_sources(s->e); i++)
		poll = fmin(poll, nt_source_interval(nt_engine_source(s->e,
		    i)));
	return (poll);
}

static void
sample(struct nt_sim *s, nt_sim_observer *obs, void *ctx)
{
	const struct nt_update *u = nt_engine_last_update(s->e);
	struct nt_sim_point p;

	memset(&p, 0, sizeof p);
	p.t = nt_sim_elapsed(s);
	p.now = nt_clock_now(&s->clk.base);
	p.err = nt_simclock_error(&s->clk);
	p.ferr = nt_simclock_freq_error(&s->clk);
	p.bound = nt_engine_likely_error(s->e, p.now);
	p.worst = nt_engine_worst_error(s->e, p.now);
	p.offset = u != NULL ? u->offset : NAN;
	p.poll = peer_poll(s, u);
	for (size_t i = 0; i < nt_engine_n_sources(s->e); i++) {
		enum nt_src_state st = nt_engine_source(s->e, i)->state;

		if (st == NT_SRC_SELECTED || st == NT_SRC_COMBINED)
			p.selected |= UINT32_C(1) << i;
		if (st != NT_SRC_FALSETICKER)
			continue;
		p.falsetickers |= UINT32_C(1) << i;
		if (p.t < s->sc->settle)
			continue;
		if (i < s->n)
			s->srv[i].flagged = true;
		else
			s->rc_flagged[i - s->n] = true;
	}
	nt_sim_stats_add(&s->st, &p);
	if (obs != NULL)
		obs(ctx, &p, s->e);
}

/* Run the engine's timer; returns when it wants to run next. */
static nt_time
engine_timer(struct nt_sim *s)
{
	double delay = nt_engine_run(s->e);
	nt_time wake = nt_simclock_true_at(&s->clk,
	    nt_add(nt_clock_now(&s->clk.base), delay));

	return (wake > s->clk.true_now ? wake : s->clk.true_now + 1);
}

/* Index of the refclock whose device event comes first, or -1. */
static int
next_refclock(const struct nt_sim *s)
{
	int best = -1;

	for (size_t i = 0; i < s->n_rc; i++)
		if (best < 0 || s->rc[i].at < s->rc[best].at)
			best = (int)i;
	return (best);
}

/* The device event of refclock i: its sample goes where a driver's goes. */
static void
refclock_event(struct nt_sim *s, int i)
{
	struct nt_refclock_sample raw;

	advance(s, s->rc[i].at);
	if (nt_sim_rc_fire(&s->rc[i], &s->clk, nt_clock_now(&s->clk.base),
	    &raw))
		nt_refclock_set_raw(&s->set, i, &raw);
}

static void
loop(struct nt_sim *s, nt_sim_observer *obs, void *ctx)
{
	nt_time end = nt_add(s->start, s->duration), step, tick, wake, next;
	int k, r;

	step = nt_from_sec(s->sc->tick);
	tick = s->start + step / 2;	/* mid-tick: never on a leap */
	wake = s->start;
	for (;;) {
		k = next_flight(s);
		r = next_refclock(s);
		next = k >= 0 ? s->fl[k].arrive : INT64_MAX;
		next = r >= 0 && s->rc[r].at < next ? s->rc[r].at : next;
		next = next < wake ? next : wake;
		next = next < tick ? next : tick;
		if (next > end)
			break;
		if (k >= 0 && s->fl[k].arrive == next) {
			deliver(s, k);
			wake = s->clk.true_now;	/* as after a read */
		} else if (r >= 0 && s->rc[r].at == next) {
			refclock_event(s, r);
			wake = s->clk.true_now;
		} else if (wake == next) {
			advance(s, wake);
			wake = engine_timer(s);
		} else {
			advance(s, tick);
			sample(s, obs, ctx);
			tick += step;
		}
	}
	advance(s, end);
}

static void
add_sources(struct nt_sim *s)
{
	const struct nt_conf *c = &s->sc->client;

	for (size_t i = 0; i < c->n_servers; i++) {
		int src = nt_engine_add_source(s->e, &c->servers[i],
		    c->servers[i].address, (uint32_t)(0x0a000001 + i));

		assert(src == (int)i);
		s->srv[i].m = &s->sc->servers[s->sc->sim_of[i]];
		nt_rng_seed(&s->srv[i].rng, s->seed ^ (UINT64_C(0x9e3779b9) *
		    (i + 1)));
	}
	s->n = c->n_servers;
}

static void
rc_sample(void *ctx, int i, const struct nt_refclock_sample *rs)
{
	struct nt_sim *s = ctx;

	nt_engine_refclock_sample(s->e, s->rc_src[i], rs);
}

/* As in the master: unpaired pulses need our clock synchronized. */
static bool
rc_fallback(void *ctx, nt_time now, struct nt_refclock_sample *out)
{
	return (nt_engine_pulse_fallback(((struct nt_sim *)ctx)->e, now, out));
}

/* The master's refclocks, sources after the servers, as in the master. */
static void
add_refclocks(struct nt_sim *s)
{
	const struct nt_conf *c = &s->sc->client;
	char err[NT_RC_ERRLEN];
	int rc;

	rc = nt_refclock_set_init(&s->set, &s->clk.base, c->refclocks,
	    c->n_refclocks, rc_sample, s, err, sizeof err);
	assert(rc == 0);	/* the scenario's schema checked 'pps:' */
	nt_refclock_set_fallback(&s->set, rc_fallback);
	s->n_rc = c->n_refclocks;
	for (size_t i = 0; i < s->n_rc; i++) {
		s->rc_src[i] = nt_engine_add_refclock(s->e, &c->refclocks[i],
		    s->set.rc[i].name, nt_refclock_refid(&c->refclocks[i]));
		assert(s->rc_src[i] == (int)(s->n + i));
		nt_sim_rc_init(&s->rc[i], &s->sc->refclocks[s->sc->rc_of[i]],
		    (int)i, s->start, s->seed ^ (UINT64_C(0x7063) * (i + 1)));
	}
}

static void
setup_leap(struct nt_sim *s)
{
	nt_time midnight = nt_sim_leap_midnight(s->sc);

	s->leap_at = INT64_MAX;
	s->leap = NTP_LEAP_NONE;
	if (s->sc->leap == NT_SIM_LEAP_INSERT) {
		s->leap = NTP_LEAP_INSERT;
		s->leap_at = midnight;
		nt_simclock_set_utc_leap(&s->clk, s->leap_at, 1);
	} else if (s->sc->leap == NT_SIM_LEAP_DELETE) {
		s->leap = NTP_LEAP_DELETE;
		s->leap_at = midnight - NT_SEC;
		nt_simclock_set_utc_leap(&s->clk, s->leap_at, -1);
	}
}

struct nt_sim *
nt_sim_new(const struct nt_sim_scenario *sc, uint64_t seed, double duration)
{
	struct nt_engine_params ep;
	struct nt_engine_io io;
	struct nt_sim *s;

	assert(sc->n_servers + sc->n_refclocks > 0 &&
	    sc->client.n_servers == sc->n_servers);
	assert(sc->n_servers <= NT_SIM_MAX_SERVERS && sc->tick > 0);
	assert(sc->client.n_refclocks == sc->n_refclocks &&
	    sc->n_refclocks <= NT_SIM_MAX_REFCLOCKS);
	if ((s = calloc(1, sizeof *s)) == NULL)
		return (NULL);
	s->sc = sc;
	s->seed = seed;
	s->duration = duration > 0 ? duration : sc->duration;
	s->start = sc->start;
	nt_simclock_init(&s->clk, s->start, &sc->clock,
	    seed ^ UINT64_C(0x636c6f636b));
	setup_leap(s);
	nt_rng_seed(&s->keys, seed ^ UINT64_C(0x6b6579));
	io = (struct nt_engine_io){ s, sim_send, sim_random, sim_update,
	    NULL, NULL };	/* the simulator writes no statistics logs */
	nt_engine_params_from_conf(&ep, &sc->client, &s->clk.base,
	    sc->have_drift, sc->drift_ppm, sc->drift_skew_ppm);
	if ((s->e = nt_engine_new(&ep, &s->clk.base, &io)) == NULL) {
		free(s);
		return (NULL);
	}
	add_sources(s);
	add_refclocks(s);
	nt_sim_stats_init(&s->st, sc->settle, nt_simclock_error(&s->clk));
	return (s);
}

void
nt_sim_free(struct nt_sim *s)
{
	if (s == NULL)
		return;
	nt_engine_free(s->e);
	free(s->st.abs);
	free(s);
}

static void
server_results(struct nt_sim *s, struct nt_sim_result *res)
{
	res->n_servers = s->n;
	for (size_t i = 0; i < s->n; i++) {
		const struct nt_source *src = nt_engine_source(s->e, i);
		struct nt_sim_server_result *r = &res->srv[i];

		r->name = src->conf.address;
		r->requests = s->srv[i].sent;
		r->answered = s->srv[i].answered;
		r->kods = s->srv[i].kods;
		r->state = src->state;
		r->poll = src->poll;
		r->flagged = s->srv[i].flagged;
		res->m[NT_SIM_FALSETICKERS] += r->flagged;
	}
	res->n_refclocks = s->n_rc;
	for (size_t i = 0; i < s->n_rc; i++) {
		const struct nt_source *src = nt_engine_source(s->e,
		    (size_t)s->rc_src[i]);
		struct nt_sim_server_result *r = &res->srv[s->n + i];

		r->name = src->conf.address;
		r->requests = s->rc[i].n;
		r->state = src->state;
		r->poll = src->poll;
		r->flagged = s->rc_flagged[i];
		res->m[NT_SIM_FALSETICKERS] += r->flagged;
	}
}

int
nt_sim_run(struct nt_sim *s, nt_sim_observer *obs, void *ctx,
    struct nt_sim_result *res)
{
	double after = s->duration - s->sc->settle;
	int rc;

	assert(!s->ran);
	s->ran = true;
	loop(s, obs, ctx);
	memset(res, 0, sizeof *res);
	res->seed = s->seed;
	res->duration = s->duration;
	res->settle = s->sc->settle;
	res->final_err = nt_simclock_error(&s->clk);
	res->final_ferr = nt_simclock_freq_error(&s->clk);
	rc = nt_sim_stats_finish(&s->st, res->m);
	res->m[NT_SIM_STEPS] = s->clk.n_steps;
	res->m[NT_SIM_LEAPS] = s->clk.n_leaps;
	res->m[NT_SIM_PACKETS] = (double)s->packets;
	res->m[NT_SIM_PACKETS_PER_HOUR] = after > 0 ?
	    (double)s->packets_after * 3600 / after : NAN;
	res->m[NT_SIM_UPDATES] = (double)s->updates;
	server_results(s, res);
	return (rc);
}

bool
nt_sim_check(const struct nt_sim_scenario *sc,
    const struct nt_sim_result *res, bool ok[NT_SIM_N_METRICS])
{
	bool all = true;

	for (int i = 0; i < NT_SIM_N_METRICS; i++) {
		const struct nt_sim_limit *l = &sc->expect[i];
		double v = res->m[i];

		ok[i] = (isnan(l->min) || v >= l->min) &&
		    (isnan(l->max) || v <= l->max);
		all = all && ok[i];
	}
	return (all);
}
