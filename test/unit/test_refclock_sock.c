/*
 * A SOCK refclock whose one socket carries both time datagrams and pulse
 * datagrams (as gpsd sends them), through the real refclock set and, in
 * the second half, the real engine on a simulated clock.  Its pulses are
 * labelled by its own time samples, never by the clock those samples
 * steer, and it delivers one kind at a time: pulses 0.3 s from its time
 * (the audit's case, which made the master swing by +-300 ms) are
 * followed steadily; pulses beyond the 0.4 s bound are refused with one
 * warning naming the refclock; a glitch in the time samples moves
 * nothing.  Pulses with no time of their own wait for another source to
 * put the clock within the bound, and never bootstrap themselves.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "engine_io.h"

#include "clock_sim.h"
#include "engine.h"
#include "log.h"
#include "log_capture.h"
#include "ntp_pkt.h"
#include "refclock.h"

/* ---- The set alone ---- */

#define GOT_MAX 256

struct got {
	int	n;
	struct nt_refclock_sample s[GOT_MAX];
};

static void
collect(void *ctx, int index, const struct nt_refclock_sample *s)
{
	struct got *g = ctx;

	assert_int_equal(index, 0);
	assert_true(g->n < GOT_MAX);
	g->s[g->n++] = *s;
}

/* The system clock, synchronized and agreeing with the time samples. */
static bool
synced(void *ctx, nt_time now, struct nt_refclock_sample *out)
{
	(void)ctx;
	memset(out, 0, sizeof *out);
	out->local = now;
	out->disp = 1e-6;
	return (true);
}

static struct nt_refclock_conf sock_conf;
static struct nt_refclock_set set;
static struct got got;

static void
set_up(void)
{
	char err[NT_RC_ERRLEN];

	nt_refclock_conf_init(&sock_conf, nt_refclock_find_driver("sock"));
	sock_conf.path = (char *)"/run/chrony.ttyAMA0.sock";
	sock_conf.poll = 0;
	memset(&got, 0, sizeof got);
	log_reset_at(NT_LOG_NOTICE);
	/* A clock that is never read: the set decides from its arguments. */
	assert_int_equal(nt_refclock_set_init(&set, NULL, &sock_conf, 1,
	    collect, &got, err, sizeof err), 0);
	nt_refclock_set_fallback(&set, synced);
}

/*
 * Second t of gpsd: a time datagram saying offset time_off, then 1 ms
 * later a pulse datagram whose reference is pulse_off away (its phase).
 * The decode path: datagram bytes, nt_sock_decode(), the raw sample.
 */
static void
datagram(double t, double off, bool pulse)
{
	struct nt_sock_sample in = { .tv = { .tv_sec = (time_t)floor(t),
	    .tv_usec = (suseconds_t)llround((t - floor(t)) * 1e6) },
	    .offset = off, .pulse = pulse, .magic = NT_SOCK_MAGIC }, dec;
	struct nt_refclock_sample s = { .n = 1 };

	assert_int_equal(nt_sock_decode(&in, sizeof in, &dec), NT_SOCK_OK);
	s.local = nt_from_sec((double)dec.tv.tv_sec) +
	    (nt_time)dec.tv.tv_usec * 1000;
	s.offset = dec.offset;
	s.pulse = dec.pulse != 0;
	nt_refclock_set_raw(&set, 0, &s);
}

#define T0 1790000000.0

static void
gpsd_second(double t, double time_off, double pulse_off, bool pulses)
{
	datagram(T0 + t, time_off, false);
	if (pulses)
		datagram(T0 + t + 0.001, pulse_off - round(pulse_off), true);
}

/* Times the delivered offsets jump by more than 0.1 s. */
static int
jumps(void)
{
	int n = 0;

	for (int i = 1; i < got.n; i++)
		n += fabs(got.s[i].offset - got.s[i - 1].offset) > 0.1;
	return (n);
}

/* Delivered samples with offset off (within 1 ms). */
static int
count_at(double off)
{
	int n = 0;

	for (int i = 0; i < got.n; i++)
		n += fabs(got.s[i].offset - off) < 1e-3;
	return (n);
}

/* The audit's case: time says 0, the pulses 0.3 s from it. */
static void
test_pulses_follow_own_time(void **state)
{
	(void)state;
	set_up();
	for (int t = 0; t < 60; t++)
		gpsd_second(t, 0.0, 0.3, true);
	/* Time samples until 16 pulses in a row were numbered, then pulses
	 * only: one change of kind, never back and forth. */
	assert_int_equal(got.n, NT_PPS_SWITCH + 60 - NT_PPS_SWITCH + 1);
	assert_int_equal(count_at(0.0), NT_PPS_SWITCH);
	assert_int_equal(count_at(0.3), 60 - NT_PPS_SWITCH + 1);
	assert_int_equal(jumps(), 1);
	for (int i = 0; i < got.n; i++)
		assert_false(got.s[i].pulse);
	assert_true(set.rc[0].use_pulses);
	assert_int_equal(set.rc[0].pair.src, 0);
	/* Numbered by itself, not by the clock it steers. */
	assert_null(strstr(logged, "system clock"));
	assert_non_null(strstr(logged, "refclock SOCK (/run/chrony.ttyAMA0."
	    "sock): pulses numbered by its own time samples\n"));
	assert_non_null(strstr(logged, "its pulses are used from now on (16 "
	    "pulses in a row numbered by them)"));
	assert_int_equal(n_logged, 2);	/* those two notices, no warning */
}

/* Beyond the bound: the pulses are refused, the time samples used. */
static void
test_pulses_refused_beyond_bound(void **state)
{
	(void)state;
	set_up();
	for (int t = 0; t < 60; t++)
		gpsd_second(t, 0.0, 0.45, true);
	assert_int_equal(got.n, 60);
	assert_int_equal(count_at(0.0), 60);
	assert_int_equal(set.rc[0].n_dropped, 60);
	assert_int_equal(set.rc[0].last_verdict, NT_PPS_DISAGREE);
	/* One line, once. */
	assert_int_equal(n_logged, 1);
	assert_string_equal(logged, "refclock SOCK (/run/chrony.ttyAMA0.sock)"
	    ": pulses not used: its time samples are off by -0.450 s from "
	    "them (more than 0.4 s)\n");
}

/*
 * Pulses in use: a 10 s glitch of the time samples (0.5 s) refuses the
 * pulses but delivers nothing of it; 20 s of it hand over to the time
 * samples; the pulses stopping does too, at once.
 */
static void
test_one_kind_at_a_time(void **state)
{
	int t = 0, n;

	(void)state;
	set_up();
	for (; t < 30; t++)
		gpsd_second(t, 0.0, 0.002, true);
	assert_true(set.rc[0].use_pulses);
	n = got.n;
	for (; t < 40; t++)
		gpsd_second(t, 0.5, 0.002, true);
	assert_int_equal(got.n, n);
	for (; t < 50; t++)
		gpsd_second(t, 0.0, 0.002, true);
	assert_int_equal(got.n, n + 10);
	assert_int_equal(count_at(0.5), 0);
	for (; t < 70; t++)
		gpsd_second(t, 0.5, 0.002, true);
	assert_false(set.rc[0].use_pulses);
	assert_int_equal(count_at(0.5), 70 - 50 - NT_PPS_SWITCH);
	/* Back to agreeing pulses, which then stop. */
	for (; t < 100; t++)
		gpsd_second(t, 0.0, 0.002, true);
	assert_true(set.rc[0].use_pulses);
	n = got.n;
	for (; t < 110; t++)
		gpsd_second(t, 0.0, 0.002, false);
	assert_false(set.rc[0].use_pulses);
	assert_int_equal(got.n, n + 110 - 100 - (int)NT_PPS_PULSE_MAXAGE);
	assert_non_null(strstr(logged, "its time samples are used from now "
	    "on (no pulse for 2 s)"));
	assert_non_null(strstr(logged, "its time samples are used from now "
	    "on (16 pulses in a row refused)"));
}

/* Pulses about the bound from the time: no swinging between the two. */
static void
test_no_swing_at_the_bound(void **state)
{
	(void)state;
	set_up();
	for (int t = 0; t < 200; t++)
		gpsd_second(t, 0.0, t % 3 ? 0.39 : 0.41, true);
	assert_int_equal(got.n, 200);
	assert_int_equal(jumps(), 0);
}

/* ---- With the engine, on a simulated clock ---- */

/*
 * A SOCK refclock (index 0: its time samples 'late' s behind the truth,
 * its pulses true) and optionally an NMEA one (index 1, true time) that
 * shares nothing with it.  Both are engine sources; unpaired pulses are
 * numbered by the engine's clock, as in the master.
 */
struct world {
	struct nt_simclock clk;
	struct nt_engine *e;
	struct nt_refclock_conf rc[2];
	struct nt_refclock_set set;
	uint64_t rnd;
};

static void
to_engine(void *ctx, int index, const struct nt_refclock_sample *s)
{
	struct world *w = ctx;

	nt_engine_refclock_sample(w->e, index, s);
}

static bool
engine_fallback(void *ctx, nt_time now, struct nt_refclock_sample *out)
{
	struct world *w = ctx;

	return (nt_engine_pulse_fallback(w->e, now, out));
}

static void
world_init(struct world *w)
{
	struct nt_simclock_model m = { .offset = 0.03, .freq_ppm = 7,
	    .max_freq_ppm = 500, .slew_ppm = 500, .can_step = true };
	static const char *const drv[] = { "sock", "nmea" };
	struct nt_conf conf;
	char err[NT_RC_ERRLEN];

	memset(w, 0, sizeof *w);
	log_reset_at(NT_LOG_NOTICE);
	nt_simclock_init(&w->clk, INT64_C(1790000000) * NT_SEC, &m, 5);
	nt_conf_init(&conf);
	w->e = tio_engine_new(&w->clk, &conf, &w->rnd);
	assert_non_null(w->e);
	for (int i = 0; i < 2; i++) {
		nt_refclock_conf_init(&w->rc[i], nt_refclock_find_driver(
		    drv[i]));
		w->rc[i].poll = 2;
		assert_int_equal(nt_engine_add_refclock(w->e, &w->rc[i],
		    drv[i], nt_refclock_refid(&w->rc[i])), i);
	}
	w->rc[0].path = (char *)"/run/chrony.ttyAMA0.sock";
	w->rc[1].device = (char *)"/dev/ttyAMA0";
	assert_int_equal(nt_refclock_set_init(&w->set, &w->clk.base, w->rc, 2,
	    to_engine, w, err, sizeof err), 0);
	nt_refclock_set_fallback(&w->set, engine_fallback);
}

/* A raw sample of refclock i now: the truth, plus late s for time. */
static void
feed(struct world *w, int i, bool pulse, double late)
{
	double off = -nt_simclock_error(&w->clk);
	struct nt_refclock_sample s = { .local = nt_clock_now(&w->clk.base),
	    .offset = pulse ? off - round(off) : off - late, .pulse = pulse,
	    .n = 1 };

	nt_refclock_set_raw(&w->set, i, &s);
}

/*
 * seconds of gpsd (what: bit 0 its time samples, bit 1 its pulses, bit 2
 * the NMEA); the largest |clock error| from second 'from' on.
 */
static double
run(struct world *w, int seconds, unsigned what, double late, int from)
{
	double worst = 0;

	for (int t = 0; t < seconds; t++) {
		nt_simclock_advance(&w->clk, w->clk.true_now + NT_SEC);
		(void)nt_engine_run(w->e);
		if (what & 2)
			feed(w, 0, true, 0);
		nt_simclock_advance(&w->clk, w->clk.true_now + 100 * NT_MSEC);
		if (what & 1)
			feed(w, 0, false, late);
		if (what & 4)
			feed(w, 1, false, 0);
		if (t >= from)
			worst = fmax(worst, fabs(nt_simclock_error(&w->clk)));
	}
	return (worst);
}

/*
 * gpsd's time samples 0.3 s late (an uncorrected serial delay), its
 * pulses true: the master once swung by +-300 ms, stepping back and
 * forth.  Now the pulses take over from the time samples and hold it.
 */
static void
test_engine_no_swing(void **state)
{
	struct world w;
	double worst;

	(void)state;
	world_init(&w);
	worst = run(&w, 1800, 3, 0.3, 1200);
	print_message("worst |error| from 1200 s to 1800 s: %.3g s\n", worst);
	assert_true(worst < 1e-3);
	assert_true(w.set.rc[0].use_pulses);
	assert_null(strstr(logged, "system clock"));
	nt_engine_free(w.e);
}

/*
 * Pulses alone, nothing else: never used, the clock never touched.  An
 * NMEA receiver brings the clock within the bound: then they are, and
 * they keep it to microseconds.
 */
static void
test_engine_pulses_need_another_source(void **state)
{
	struct world w;
	double worst;

	(void)state;
	world_init(&w);
	(void)run(&w, 600, 2, 0, 0);
	assert_null(nt_engine_last_update(w.e));
	assert_int_equal(w.set.rc[0].n_out, 0);
	assert_int_equal(w.set.rc[0].n_dropped, 600);
	assert_true(fabs(nt_simclock_error(&w.clk)) > 0.02);
	assert_non_null(strstr(logged, "refclock SOCK (/run/chrony.ttyAMA0."
	    "sock): pulses not used: it gave no time samples to number them "
	    "and the clock is not synchronized to another source yet\n"));
	worst = run(&w, 1200, 6, 0, 900);
	print_message("with NMEA: worst |error| from 900 s: %.3g s\n", worst);
	assert_true(w.set.rc[0].n_out > 100);
	assert_true(worst < 1e-4);
	nt_engine_free(w.e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pulses_follow_own_time),
		cmocka_unit_test(test_pulses_refused_beyond_bound),
		cmocka_unit_test(test_one_kind_at_a_time),
		cmocka_unit_test(test_no_swing_at_the_bound),
		cmocka_unit_test(test_engine_no_swing),
		cmocka_unit_test(test_engine_pulses_need_another_source),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
