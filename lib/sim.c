/*
 * Discrete-event loop for nt_sim_run(): requests from the engine become
 * replies from simulated servers after simulated network delays.
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

struct flight {
	nt_time		arrive;		/* true time the reply reaches us */
	int		src;
	uint8_t		buf[NTP_HDR_LEN];
};

struct sim {
	const struct nt_sim_params *p;
	const struct nt_sim_server *srv;
	size_t		n_srv;
	struct nt_simclock clk;
	struct nt_rng	net;		/* network randomness */
	struct nt_rng	keys;		/* "random" transmit timestamps */
	struct flight	fl[MAX_INFLIGHT];
	size_t		n_fl;
	struct nt_sim_result *res;
};

static double
one_way(struct sim *s, double base, double jitter)
{
	return (base + (jitter > 0 ? nt_rng_exp(&s->net, jitter) : 0.0));
}

/* A server answers a request that reached it at true time t. */
static void
serve(struct sim *s, int src, const uint8_t *req, size_t len, nt_time t)
{
	const struct nt_sim_server *sv = &s->srv[src];
	struct ntp_pkt q, r;
	struct flight *f;
	nt_time rec, xmt;

	if (ntp_decode(req, len, &q) != NTP_DECODE_OK ||
	    s->n_fl == MAX_INFLIGHT)
		return;
	if (sv->loss > 0 && nt_rng_uniform(&s->net) < sv->loss)
		return;
	rec = nt_add(t, sv->offset);
	xmt = nt_add(rec, sv->proc);
	memset(&r, 0, sizeof r);
	r.leap = NTP_LEAP_NONE;
	r.version = q.version;
	r.mode = NTP_MODE_SERVER;
	r.stratum = (uint8_t)sv->stratum;
	r.poll = q.poll;
	r.precision = -24;
	r.root_delay = nt_to_ntp32(sv->root_delay);
	r.root_disp = nt_to_ntp32(sv->root_disp);
	r.refid = NTP_CODE("SIM\0");
	r.ref = nt_to_ntp64(nt_add(rec, -16.0));
	r.org = q.xmt;
	r.rec = nt_to_ntp64(rec);
	r.xmt = nt_to_ntp64(xmt);
	f = &s->fl[s->n_fl++];
	f->src = src;
	f->arrive = nt_add(nt_add(t, sv->proc),
	    one_way(s, sv->delay_in, sv->jitter_in));
	ntp_encode(&r, f->buf, sizeof f->buf);
}

static int
sim_send(void *ctx, int src, const uint8_t *buf, size_t len)
{
	struct sim *s = ctx;
	const struct nt_sim_server *sv = &s->srv[src];
	nt_time at;

	s->res->packets_sent++;
	if (sv->loss > 0 && nt_rng_uniform(&s->net) < sv->loss)
		return (0);
	at = nt_add(s->clk.true_now, one_way(s, sv->delay_out, sv->jitter_out));
	serve(s, src, buf, len, at);
	return (0);
}

static uint64_t
sim_random(void *ctx)
{
	return (nt_rng_u64(&((struct sim *)ctx)->keys));
}

static void
sim_update(void *ctx, const struct nt_update *u)
{
	struct sim *s = ctx;

	s->res->updates++;
	if (u->act.stepped)
		s->res->steps++;
}

/* Index of the earliest reply in flight, or -1. */
static int
next_flight(const struct sim *s)
{
	int best = -1;

	for (size_t i = 0; i < s->n_fl; i++)
		if (best < 0 || s->fl[i].arrive < s->fl[best].arrive)
			best = (int)i;
	return (best);
}

static void
deliver(struct sim *s, struct nt_engine *e, int k)
{
	struct flight f = s->fl[k];

	s->fl[k] = s->fl[--s->n_fl];
	nt_simclock_advance(&s->clk, f.arrive);
	nt_engine_rx(e, f.src, f.buf, sizeof f.buf,
	    nt_clock_now(&s->clk.base));
}

static void
loop(struct sim *s, struct nt_engine *e, nt_sim_observer *obs, void *ctx)
{
	nt_time start = s->clk.true_now, end = nt_add(start, s->p->duration);
	nt_time tick = start, wake = start;
	struct nt_sim_point pt;
	int k;

	while (tick <= end) {
		k = next_flight(s);
		if (k >= 0 && s->fl[k].arrive <= wake && s->fl[k].arrive < tick) {
			deliver(s, e, k);
			wake = s->clk.true_now;	/* the engine may want a new timer */
		} else if (wake < tick) {
			nt_simclock_advance(&s->clk, wake);
			wake = nt_simclock_true_at(&s->clk, nt_add(
			    nt_clock_now(&s->clk.base), nt_engine_run(e)));
			if (wake <= s->clk.true_now)
				wake = s->clk.true_now + 1;
		} else {
			nt_simclock_advance(&s->clk, tick);
			pt.t = nt_diff(tick, start);
			pt.err = nt_simclock_error(&s->clk);
			pt.ferr = nt_simclock_freq_error(&s->clk);
			if (obs != NULL)
				obs(ctx, &pt, e);
			tick = nt_add(tick, s->p->tick);
		}
	}
}

int
nt_sim_run(const struct nt_sim_params *p, const struct nt_conf *conf,
    const struct nt_sim_server *srv, size_t n_srv, nt_sim_observer *obs,
    void *ctx, struct nt_sim_result *res)
{
	struct nt_engine_params ep;
	struct nt_engine_io io;
	struct nt_engine *e;
	struct sim *s;

	if (n_srv != conf->n_servers || n_srv == 0 ||
	    n_srv > NT_SIM_MAX_SERVERS || !(p->tick > 0) || !(p->duration > 0))
		return (-1);
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return (-1);
	memset(res, 0, sizeof *res);
	s->p = p;
	s->srv = srv;
	s->n_srv = n_srv;
	s->res = res;
	/* Start at a fixed, recent date so runs are reproducible. */
	nt_simclock_init(&s->clk, INT64_C(1767225600) * NT_SEC, p->clock_offset,
	    p->clock_freq_ppm, p->clock_wander, p->seed);
	nt_rng_seed(&s->net, p->seed ^ UINT64_C(0x6e6574));
	nt_rng_seed(&s->keys, p->seed ^ UINT64_C(0x6b6579));
	io = (struct nt_engine_io){ s, sim_send, sim_random, sim_update };
	nt_engine_params_from_conf(&ep, conf, &s->clk.base, false, 0, 0);
	e = nt_engine_new(&ep, &s->clk.base, &io);
	if (e == NULL) {
		free(s);
		return (-1);
	}
	for (size_t i = 0; i < n_srv; i++)
		nt_engine_add_source(e, &conf->servers[i],
		    conf->servers[i].address, (uint32_t)(0x0a000001 + i));
	loop(s, e, obs, ctx);
	res->final_err = nt_simclock_error(&s->clk);
	res->final_ferr = nt_simclock_freq_error(&s->clk);
	nt_engine_free(e);
	free(s);
	return (0);
}
