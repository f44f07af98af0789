/*
 * The simulator checked against cases with known answers, so that its
 * figures can be believed: a perfect network and clock give (almost) no
 * error; a constant asymmetry A gives the textbook error A/2; a liar is
 * flagged while the clock holds; a leap second is inserted by the kernel
 * only when announced and only at the end of the month; a KoD RATE
 * slows the polling; a silent server is reported unreachable and the
 * claimed bound still holds; with several servers that bound is where
 * all their intervals meet; a client that never claimed a bound has no
 * coverage to boast of; and a run is a pure function of its seed.
 * For the master: a GPS receiver's pulses, numbered by its sentences,
 * keep the clock within microseconds; unnumbered pulses are never used;
 * gpsd's pulses, numbered by the time datagrams of their own socket, do
 * the same and never swing the clock;
 * when the receiver goes silent the master falls back to its network
 * server, and takes the refclock back only after it has been good for a
 * while (not on one sample).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "discipline.h"
#include "log.h"
#include "sim.h"
#include "sim_report.h"
#include "simscen.h"
#include "sim_text.h"
#include "source.h"

/* One server per offset; path delays each way, exponential jitter. */
static void
build(struct nt_sim_scenario *sc, size_t n, const double *offsets,
    double delay_out, double delay_in, double jitter)
{
	char err[NT_CONF_ERRLEN];

	nt_sim_scenario_init(sc);
	sc->duration = 3 * 3600;
	sc->settle = 1800;
	sc->clock.offset = 0.05;
	sc->clock.freq_ppm = 10;
	sc->client.step_threshold = 0.01;
	for (size_t i = 0; i < n; i++) {
		struct nt_sim_server *s = nt_sim_scenario_add_server(sc);

		assert_non_null(s);
		s->offset = offsets != NULL ? offsets[i] : 0;
		s->net.out.delay = delay_out;
		s->net.in.delay = delay_in;
		s->net.out.jitter = s->net.in.jitter = jitter;
	}
	assert_int_equal(nt_sim_scenario_finish(sc, err, sizeof err), 0);
	for (size_t i = 0; i < n; i++)
		sc->client.servers[i].minpoll = sc->client.servers[i].maxpoll =
		    6;
}

static void
run(const struct nt_sim_scenario *sc, uint64_t seed, nt_sim_observer *obs,
    void *ctx, struct nt_sim_result *r)
{
	struct nt_sim *s = nt_sim_new(sc, seed, 0);

	assert_non_null(s);
	nt_sim_run(s, obs, ctx, r);
	nt_sim_free(s);
}

static void
perfect_network_and_clock(void **state)
{
	struct nt_sim_scenario sc;
	struct nt_sim_result r;

	(void)state;
	build(&sc, 1, NULL, 100e-6, 100e-6, 0);
	run(&sc, 1, NULL, NULL, &r);
	printf("# perfect: max |err| %.3f us, freq rms %.5f ppm\n",
	    r.m[NT_SIM_MAX] * 1e6, r.m[NT_SIM_FREQ_RMS]);
	assert_true(r.m[NT_SIM_MAX] < 1e-6);
	assert_true(r.m[NT_SIM_STEPS] == 1);
	assert_true(r.m[NT_SIM_BOUND_COVERAGE] == 1.0);
	nt_sim_scenario_free(&sc);
}

/* 300 us out, 100 us back: the client is fooled by (300 - 100) / 2. */
static void
asymmetry_gives_half_of_it(void **state)
{
	struct nt_sim_scenario sc;
	struct nt_sim_result r;

	(void)state;
	build(&sc, 1, NULL, 300e-6, 100e-6, 0);
	run(&sc, 1, NULL, NULL, &r);
	printf("# asymmetry: mean %.3f us, max %.3f us\n",
	    r.m[NT_SIM_MEAN] * 1e6, r.m[NT_SIM_MAX] * 1e6);
	assert_true(fabs(r.m[NT_SIM_MEAN] - 100e-6) < 1e-6);
	assert_true(fabs(r.m[NT_SIM_MAX] - 100e-6) < 1e-6);
	nt_sim_scenario_free(&sc);
}

static void
liar_flagged_clock_holds(void **state)
{
	static const double off[4] = { 0, 0, 0, 0.010 };
	struct nt_sim_scenario sc;
	struct nt_sim_result r;

	(void)state;
	build(&sc, 4, off, 100e-6, 100e-6, 100e-6);
	sc.clock.wander = 1e-9;
	run(&sc, 2, NULL, NULL, &r);
	assert_true(r.srv[3].flagged);
	assert_int_equal(r.srv[3].state, NT_SRC_FALSETICKER);
	for (int i = 0; i < 3; i++)
		assert_false(r.srv[i].flagged);
	assert_true(r.m[NT_SIM_FALSETICKERS] == 1);
	assert_true(r.m[NT_SIM_MAX] < 100e-6);
	nt_sim_scenario_free(&sc);
}

/* Start 2 h before the end of 2016: a leap second at midnight. */
static void
leap_scenario(struct nt_sim_scenario *sc, const char *start, double duration,
    bool announce)
{
	char err[NT_CONF_ERRLEN];

	build(sc, 3, NULL, 100e-6, 100e-6, 100e-6);
	strlcpy(sc->start_str, start, sizeof sc->start_str);
	sc->leap = NT_SIM_LEAP_INSERT;
	sc->duration = duration;
	sc->settle = 1000;
	for (size_t i = 0; i < 3; i++)
		sc->servers[i].leap = announce;
	assert_int_equal(nt_sim_scenario_finish(sc, err, sizeof err), 0);
}

static void
leap_second_inserted(void **state)
{
	struct nt_sim_scenario sc;
	struct nt_sim_result r;

	(void)state;
	leap_scenario(&sc, "2016-12-31T22:00:00Z", 4 * 3600, true);
	run(&sc, 3, NULL, NULL, &r);
	assert_true(r.m[NT_SIM_LEAPS] == 1);
	assert_true(r.m[NT_SIM_MAX] < 100e-6);
	nt_sim_scenario_free(&sc);
}

/* Nobody announces it: UTC repeats a second, the clock does not. */
static void
leap_second_missed(void **state)
{
	struct nt_sim_scenario sc;
	struct nt_sim_result r;

	(void)state;
	leap_scenario(&sc, "2016-12-31T22:00:00Z", 4 * 3600, false);
	run(&sc, 3, NULL, NULL, &r);
	assert_true(r.m[NT_SIM_LEAPS] == 0);
	assert_true(r.m[NT_SIM_MAX] > 0.9 && r.m[NT_SIM_MAX] < 1.001);
	nt_sim_scenario_free(&sc);
}

/* Announced a day early: not at the first midnight, only at the last. */
static void
leap_second_only_at_month_end(void **state)
{
	struct nt_sim_scenario sc;
	struct nt_sim_result r;

	(void)state;
	leap_scenario(&sc, "2016-12-30T22:00:00Z", 28 * 3600, true);
	run(&sc, 4, NULL, NULL, &r);
	assert_true(r.m[NT_SIM_LEAPS] == 1);
	assert_true(r.m[NT_SIM_MAX] < 100e-6);
	nt_sim_scenario_free(&sc);
}

static void
kod_rate_slows_polling(void **state)
{
	struct nt_sim_scenario sc;
	struct nt_sim_result calm, kod;

	(void)state;
	build(&sc, 1, NULL, 100e-6, 100e-6, 100e-6);
	sc.client.servers[0].maxpoll = 10;
	run(&sc, 5, NULL, NULL, &calm);
	sc.servers[0].kod = (struct nt_sim_kod){ .from = 600,
	    .to = INFINITY, .interval = 200 };
	run(&sc, 5, NULL, NULL, &kod);
	printf("# KoD: %.1f requests per hour, %.1f without\n",
	    kod.m[NT_SIM_PACKETS_PER_HOUR], calm.m[NT_SIM_PACKETS_PER_HOUR]);
	assert_true(calm.m[NT_SIM_PACKETS_PER_HOUR] > 40);
	assert_true(kod.m[NT_SIM_PACKETS_PER_HOUR] < 16);
	assert_true(kod.m[NT_SIM_PACKETS_PER_HOUR] <
	    calm.m[NT_SIM_PACKETS_PER_HOUR] / 2);
	assert_true(kod.srv[0].kods >= 1 && kod.srv[0].kods <= 3);
	assert_true(kod.srv[0].poll >= 8);
	nt_sim_scenario_free(&sc);
}

struct watch_unreach {
	double	from, to;
	bool	seen, reachable_after;
};

static void
watch_unreach(void *ctx, const struct nt_sim_point *p,
    const struct nt_engine *e)
{
	struct watch_unreach *w = ctx;
	const struct nt_source *s = nt_engine_source(e, 0);

	if (p->t > w->from && p->t < w->to && s->unreachable)
		w->seen = true;
	if (p->t > w->to + 300)
		w->reachable_after = !s->unreachable && s->reach != 0;
}

static void
outage_unreachable_then_back(void **state)
{
	struct nt_sim_scenario sc;
	struct nt_sim_result r;
	struct nt_sim_window win = { 3600, 7200 };
	struct watch_unreach w = { 3600, 7200, false, false };

	(void)state;
	build(&sc, 1, NULL, 100e-6, 100e-6, 100e-6);
	sc.clock.wander = 1e-9;
	sc.duration = 4 * 3600;
	sc.servers[0].silent = &win;
	sc.servers[0].n_silent = 1;
	run(&sc, 6, watch_unreach, &w, &r);
	sc.servers[0].silent = NULL;
	sc.servers[0].n_silent = 0;
	assert_true(w.seen);
	assert_true(w.reachable_after);
	assert_true(r.m[NT_SIM_BOUND_COVERAGE] >= 0.999);
	assert_true(r.m[NT_SIM_MAX] < 500e-6);
	nt_sim_scenario_free(&sc);
}

#define GPS_PAIR \
	"refclocks:\n" \
	"  - { name: PPS, driver: pps, silent: [ %s ] }\n" \
	"  - { name: GPS, driver: nmea, silent: [ %s ] }\n" \
	"client:\n" \
	"  step_threshold: 0.01\n" \
	"  refclocks:\n" \
	"    - { driver: pps, device: /dev/pps0, poll: 2 }\n" \
	"    - { driver: nmea, device: /dev/ttyS0, %s offset: 0.1,\n" \
	"        poll: 2, noselect: true }\n"

/* Pulses numbered by the sentences: microseconds, at once. */
static void
refclock_pps_numbered_by_nmea(void **state)
{
	struct nt_sim_scenario sc;
	struct nt_sim_result r;
	char text[1024];

	(void)state;
	snprintf(text, sizeof text, "duration: 2000\nsettle: 500\n"
	    "clock: { offset: 0.05, freq_ppm: 50 }\n" GPS_PAIR, "", "",
	    "pps: PPS,");
	sim_load_text(&sc, text);
	run(&sc, 1, NULL, NULL, &r);
	assert_int_equal(r.n_servers, 0);
	assert_int_equal(r.n_refclocks, 2);
	assert_int_equal(r.srv[0].state, NT_SRC_SELECTED);
	assert_true(r.srv[0].requests > 1900);	/* a pulse every second */
	assert_true(r.m[NT_SIM_SYNC_100US] < 100);
	assert_true(r.m[NT_SIM_MAX] < 10e-6);
	nt_sim_scenario_free(&sc);
}

/* Nobody numbers the pulses and nothing else syncs us: never used. */
static void
refclock_pps_unpaired_unused(void **state)
{
	struct nt_sim_scenario sc;
	struct nt_sim_result r;
	char text[1024];

	(void)state;
	snprintf(text, sizeof text, "duration: 600\nsettle: 300\n"
	    "clock: { offset: 0.05 }\n" GPS_PAIR, "", "", "");
	sim_load_text(&sc, text);
	run(&sc, 1, NULL, NULL, &r);
	assert_true(r.m[NT_SIM_UPDATES] == 0);
	assert_true(fabs(r.final_err - 0.05) < 1e-3);
	assert_int_equal(r.srv[0].state, NT_SRC_INIT);
	nt_sim_scenario_free(&sc);
}

#define GPSD_SOCK \
	"duration: 3000\nsettle: 1000\n" \
	"clock: { offset: 0.05, freq_ppm: 50 }\n" \
	"refclocks:\n" \
	"  - { driver: sock, latency: %s, time_jitter: 20ms }\n" \
	"client:\n" \
	"  refclocks:\n" \
	"    - { driver: sock, path: /run/chrony.ttyAMA0.sock, poll: %d }\n"

/* The worst |error| of gpsd's one socket, time datagrams late by lat. */
static double
gpsd_sock_max(const char *lat, int poll, double *mean)
{
	struct nt_sim_scenario sc;
	struct nt_sim_result r;
	char text[1024];

	snprintf(text, sizeof text, GPSD_SOCK, lat, poll);
	sim_load_text(&sc, text);
	run(&sc, 1, NULL, NULL, &r);
	*mean = r.m[NT_SIM_MEAN];
	nt_sim_scenario_free(&sc);
	return (r.m[NT_SIM_MAX]);
}

/*
 * gpsd's time and pulse datagrams on one socket, the time 0.3 s late:
 * its pulses, numbered by its time, keep microseconds (the pulses were
 * numbered by the clock they steer: 0.3 s off at poll 2, swinging up to
 * 1.1 s at poll 0).  0.45 s late, beyond the bound: the pulses are
 * refused and the clock keeps to the time datagrams, steadily.
 */
static void
refclock_sock_time_and_pulses(void **state)
{
	double mean;

	(void)state;
	assert_true(gpsd_sock_max("300ms", 2, &mean) < 10e-6);
	assert_true(gpsd_sock_max("300ms", 0, &mean) < 10e-6);
	assert_true(gpsd_sock_max("450ms", 2, &mean) < 0.47);
	assert_true(fabs(mean + 0.45) < 0.005);
}

struct watch_peer {
	double	first_back;	/* PPS selected again after the flap */
	int	pps_before, ntp_during, pps_during, pps_after, ticks_after;
};

/* Source 0 is ntp1, 1 the pps refclock. */
static void
watch_peer(void *ctx, const struct nt_sim_point *p,
    const struct nt_engine *e)
{
	struct watch_peer *w = ctx;
	bool pps = p->selected & 2, ntp = p->selected & 1;

	(void)e;
	if (p->t > 200 && p->t < 1000)
		w->pps_before += pps;
	if (p->t > 1100 && p->t < 2632) {
		w->ntp_during += ntp;
		w->pps_during += pps;
	}
	if (p->t >= 2600 && pps && isnan(w->first_back))
		w->first_back = p->t;
	if (p->t > 2700) {
		w->pps_after += pps;
		w->ticks_after++;
	}
}

/*
 * The receiver is silent from 1000 s to 2000 s, gives 10 s of samples,
 * and is silent again until 2600 s.  The master falls back to its server
 * once the refclock's samples are stale (8 polls of 4 s), ignores the
 * 10 s return, and takes the refclock back only after it has been good
 * for as long again (32 s).
 */
static void
refclock_fallback_and_hysteresis(void **state)
{
	struct nt_sim_scenario sc;
	struct nt_sim_result r;
	struct watch_peer w = { NAN, 0, 0, 0, 0, 0 };
	const char *off = "{ from: 1000, to: 2000 }, { from: 2010, to: 2600 }";
	char text[2048];

	(void)state;
	snprintf(text, sizeof text, "duration: 3000\nsettle: 500\n"
	    "clock: { offset: 0.05, freq_ppm: 20 }\n"
	    "servers:\n  - { name: ntp1, network: { out: { delay: 1ms, "
	    "jitter: 100us }, in: { delay: 1ms, jitter: 100us } } }\n"
	    GPS_PAIR "  servers: [ { address: ntp1, minpoll: 4, "
	    "maxpoll: 4 } ]\n", off, off, "pps: PPS,");
	sim_load_text(&sc, text);
	run(&sc, 1, watch_peer, &w, &r);
	assert_true(w.pps_before > 790);
	assert_int_equal(w.pps_during, 0);
	assert_true(w.ntp_during > 1500);
	assert_true(w.first_back >= 2632 && w.first_back < 2660);
	assert_int_equal(w.pps_after, w.ticks_after);
	assert_true(r.m[NT_SIM_MAX] < 200e-6);
	nt_sim_scenario_free(&sc);
}

/* A new route, 1 ms longer both ways: no offset change, nothing lost. */
static void
route_change_symmetric(void **state)
{
	struct nt_sim_scenario sc;
	struct nt_sim_result r;
	struct nt_sim_route rt = { .at = 3600, .out = 1e-3, .in = 1e-3 };

	(void)state;
	build(&sc, 1, NULL, 100e-6, 100e-6, 100e-6);
	sc.clock.wander = 1e-9;
	sc.servers[0].net.routes = &rt;
	sc.servers[0].net.n_routes = 1;
	run(&sc, 7, NULL, NULL, &r);
	sc.servers[0].net.routes = NULL;
	sc.servers[0].net.n_routes = 0;
	assert_true(r.m[NT_SIM_MAX] < 200e-6);
	assert_true(r.m[NT_SIM_BOUND_COVERAGE] >= 0.999);
	nt_sim_scenario_free(&sc);
}

/*
 * With three servers alike, the claimed bound is where all the combined
 * sources' likely intervals meet: never wider than the system peer's
 * alone (its server's root dispersion included, as the engine adds it),
 * narrower most of the time, and it still holds.
 */
struct narrower {
	int	ticks, narrower, wider;
};

static void
peer_alone(void *ctx, const struct nt_sim_point *p, const struct nt_engine *e)
{
	struct narrower *n = ctx;
	const struct nt_source *s = NULL;
	double lo, hi, rd, rem, alone;

	for (size_t i = 0; i < nt_engine_n_sources(e); i++)
		if (nt_engine_source(e, i)->state == NT_SRC_SELECTED)
			s = nt_engine_source(e, i);
	if (p->t < 1800 || s == NULL || !isfinite(s->est_freq_var))
		return;
	nt_source_tight_at(s, p->now, 0, &lo, &hi);
	rd = nt_from_ntp32(s->last.root_disp);
	rem = nt_disc_remaining(nt_engine_disc(e), p->now);
	alone = fmin(fmax(fabs(lo - rd + rem), fabs(hi + rd + rem)), p->worst);
	n->ticks++;
	n->narrower += p->bound < 0.95 * alone;
	n->wider += p->bound > alone * (1 + 1e-12);
}

static void
bound_from_all_combined(void **state)
{
	struct nt_sim_scenario sc;
	struct nt_sim_result r;
	struct narrower n = { 0, 0, 0 };

	(void)state;
	build(&sc, 3, NULL, 100e-6, 100e-6, 100e-6);
	sc.clock.wander = 1e-9;
	run(&sc, 3, peer_alone, &n, &r);
	printf("# three servers: bound narrower than the peer's alone at %d "
	    "of %d ticks, wider at %d; held %.4f\n", n.narrower, n.ticks,
	    n.wider, r.m[NT_SIM_BOUND_COVERAGE]);
	assert_true(n.ticks > 8000);
	assert_int_equal(n.wider, 0);
	assert_true(n.narrower > n.ticks / 2);
	assert_true(r.m[NT_SIM_BOUND_COVERAGE] >= 0.999);
	nt_sim_scenario_free(&sc);
}

static void
seed_decides_everything(void **state)
{
	struct nt_sim_scenario sc;
	struct nt_sim_result r1, r2;

	(void)state;
	build(&sc, 2, NULL, 100e-6, 100e-6, 100e-6);
	sc.clock.wander = 1e-9;
	sc.servers[1].net.loss = 0.2;
	run(&sc, 9, NULL, NULL, &r1);
	run(&sc, 9, NULL, NULL, &r2);
	assert_memory_equal(r1.m, r2.m, sizeof r1.m);
	assert_true(r1.final_err == r2.final_err);
	run(&sc, 10, NULL, NULL, &r2);
	assert_true(r1.final_err != r2.final_err);
	nt_sim_scenario_free(&sc);
}

/* The expect: limits decide the verdict, and NaN fails any limit. */
static void
expect_limits(void **state)
{
	struct nt_sim_scenario sc;
	struct nt_sim_result r;
	bool ok[NT_SIM_N_METRICS];

	(void)state;
	nt_sim_scenario_init(&sc);
	memset(&r, 0, sizeof r);
	r.m[NT_SIM_RMS] = 10e-6;
	r.m[NT_SIM_SYNC_1MS] = NAN;
	assert_true(nt_sim_check(&sc, &r, ok));
	sc.expect[NT_SIM_RMS].max = 15e-6;
	assert_true(nt_sim_check(&sc, &r, ok));
	sc.expect[NT_SIM_RMS].max = 5e-6;
	assert_false(nt_sim_check(&sc, &r, ok));
	assert_false(ok[NT_SIM_RMS]);
	sc.expect[NT_SIM_RMS].max = NAN;
	sc.expect[NT_SIM_SYNC_1MS].max = 10;
	assert_false(nt_sim_check(&sc, &r, ok));
	assert_false(ok[NT_SIM_SYNC_1MS]);
	assert_true(ok[NT_SIM_RMS]);
	nt_sim_scenario_free(&sc);
}

/*
 * A client that never hears its server claims no bound: its coverage
 * figures do not exist (not 100 %), read "no bound", and fail a limit.
 * One tick with a bound is enough for them to exist.
 */
static void
coverage_needs_a_bound(void **state)
{
	struct nt_sim_scenario sc;
	struct nt_sim_result r;
	struct nt_sim_stats st;
	struct nt_sim_point p;
	double m[NT_SIM_N_METRICS];
	bool ok[NT_SIM_N_METRICS];
	char b[32];

	(void)state;
	build(&sc, 1, NULL, 100e-6, 100e-6, 100e-6);
	sc.servers[0].net.loss = 1;
	sc.expect[NT_SIM_BOUND_COVERAGE].min = 0.999;
	sc.expect[NT_SIM_WORST_COVERAGE].min = 1;
	run(&sc, 1, NULL, NULL, &r);
	assert_true(r.m[NT_SIM_UPDATES] == 0 && r.m[NT_SIM_MAX] > 0.05);
	assert_true(isnan(r.m[NT_SIM_BOUND_COVERAGE]));
	assert_true(isnan(r.m[NT_SIM_WORST_COVERAGE]));
	assert_true(isinf(r.m[NT_SIM_BOUND_MEAN]));
	assert_false(nt_sim_check(&sc, &r, ok));
	assert_false(ok[NT_SIM_BOUND_COVERAGE] || ok[NT_SIM_WORST_COVERAGE]);
	assert_string_equal(nt_sim_format_metric(NT_SIM_BOUND_COVERAGE,
	    r.m[NT_SIM_BOUND_COVERAGE], b, sizeof b), "no bound");
	nt_sim_scenario_free(&sc);

	nt_sim_stats_init(&st, 0, 0);
	memset(&p, 0, sizeof p);
	p.err = 1e-3;
	for (int i = 0; i < 10; i++) {
		p.t = i + 0.5;
		p.bound = p.worst = i == 9 ? 2e-3 : INFINITY;
		nt_sim_stats_add(&st, &p);
	}
	assert_int_equal(nt_sim_stats_finish(&st, m), 0);
	assert_true(m[NT_SIM_BOUND_COVERAGE] == 1.0);
	assert_true(m[NT_SIM_WORST_COVERAGE] == 1.0);
}

/*
 * Statistics of a run far longer than the sample store: memory stays at
 * the cap, RMS, mean, maximum and coverage stay exact, the p99 comes from
 * evenly spaced ticks, and it is the same every time.
 */
static void
stats_bounded_and_exact(void **state)
{
	struct nt_sim_stats st;
	struct nt_sim_point p;
	double m[NT_SIM_N_METRICS], sum2 = 0, sum = 0;
	const uint64_t n = 3 * NT_SIM_STATS_CAP + 12345;
	uint64_t inside = 0;

	(void)state;
	nt_sim_stats_init(&st, 10, 0);
	memset(&p, 0, sizeof p);
	for (uint64_t i = 0; i < n + 10; i++) {
		/* |err| runs through 0..999 us; every 7th is negative. */
		p.t = (double)i + 0.5;
		p.err = (double)(i % 1000) * 1e-6 * (i % 7 == 0 ? -1 : 1);
		p.bound = 900e-6;
		nt_sim_stats_add(&st, &p);
		assert_true(st.n <= NT_SIM_STATS_CAP && st.cap <=
		    NT_SIM_STATS_CAP);
		if (p.t < 10)
			continue;
		sum += p.err;
		sum2 += p.err * p.err;
		inside += fabs(p.err) <= p.bound;
	}
	assert_true(st.stride == 4);
	assert_int_equal(st.ticks, n);
	assert_int_equal(nt_sim_stats_finish(&st, m), 0);
	assert_null(st.abs);
	assert_true(m[NT_SIM_RMS] == sqrt(sum2 / (double)n));
	assert_true(m[NT_SIM_MEAN] == sum / (double)n);
	assert_true(m[NT_SIM_MAX] == 999.0 * 1e-6);
	assert_true(m[NT_SIM_BOUND_COVERAGE] == (double)inside / (double)n);
	/* All ticks: the p99 of 0..999 us is 989 or 990 us. */
	assert_true(fabs(m[NT_SIM_P99] - 989.5e-6) <= 1.5e-6);
	assert_true(fabs(m[NT_SIM_P999] - 998.5e-6) <= 1.5e-6);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(perfect_network_and_clock),
		cmocka_unit_test(refclock_pps_numbered_by_nmea),
		cmocka_unit_test(refclock_pps_unpaired_unused),
		cmocka_unit_test(refclock_sock_time_and_pulses),
		cmocka_unit_test(refclock_fallback_and_hysteresis),
		cmocka_unit_test(asymmetry_gives_half_of_it),
		cmocka_unit_test(liar_flagged_clock_holds),
		cmocka_unit_test(leap_second_inserted),
		cmocka_unit_test(leap_second_missed),
		cmocka_unit_test(leap_second_only_at_month_end),
		cmocka_unit_test(kod_rate_slows_polling),
		cmocka_unit_test(outage_unreachable_then_back),
		cmocka_unit_test(route_change_symmetric),
		cmocka_unit_test(seed_decides_everything),
		cmocka_unit_test(bound_from_all_combined),
		cmocka_unit_test(expect_limits),
		cmocka_unit_test(coverage_needs_a_bound),
		cmocka_unit_test(stats_bounded_and_exact),
	};

	nt_log_setup(NT_LOG_NONE, NT_LOG_ERR, "test");
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
