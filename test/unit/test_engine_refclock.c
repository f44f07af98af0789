/*
 * Reference clocks as engine sources (nt_engine_add_refclock(),
 * nt_engine_refclock_sample()), on a simulated clock: a refclock's
 * samples steer the clock like replies do and we serve stratum 1 with
 * its refid and leap; the local driver is a last resort only, serving
 * its configured stratum; a noselect refclock is never selected; a
 * silent refclock stops being selectable; a trusted refclock is not
 * outvoted by two that agree on another time, and while a required one
 * is silent the clock is not updated (chrony's trust and require, as for
 * servers); a silent refclock's reach loses a bit per poll.
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
#include "refclock.h"

struct world {
	struct nt_simclock clk;
	struct nt_engine *e;
	struct nt_refclock_conf rc[3];	/* GPS, LOCL, noselect SHM0 */
	int	src[3];
	double	bias[3];	/* s: what refclock i reads - true time */
	uint64_t rnd;
};

/* The engine, and refclock confs of drivers drv (poll 0), not added. */
static void
world_confs(struct world *w, const char *const drv[3])
{
	struct nt_simclock_model m = { .offset = 0.03, .freq_ppm = 7,
	    .max_freq_ppm = 500, .slew_ppm = 500, .can_step = true };
	struct nt_conf conf;

	memset(w, 0, sizeof *w);
	nt_simclock_init(&w->clk, INT64_C(1790000000) * NT_SEC, &m, 3);
	nt_conf_init(&conf);
	w->e = tio_engine_new(&w->clk, &conf, &w->rnd);
	assert_non_null(w->e);
	for (int i = 0; i < 3; i++) {
		nt_refclock_conf_init(&w->rc[i], nt_refclock_find_driver(
		    drv[i]));
		w->rc[i].poll = 0;
	}
}

/* The refclocks as the engine's sources 0, 1 and 2. */
static void
world_add(struct world *w)
{
	for (int i = 0; i < 3; i++) {
		w->src[i] = nt_engine_add_refclock(w->e, &w->rc[i],
		    nt_refclock_driver((size_t)w->rc[i].driver)->name,
		    nt_refclock_refid(&w->rc[i]));
		assert_int_equal(w->src[i], i);
	}
}

static void
world_init(struct world *w)
{
	static const char *const drv[] = { "nmea", "local", "shm" };

	world_confs(w, drv);
	w->rc[2].noselect = true;
	world_add(w);
}

/*
 * One sample from refclock i, now: the true offset and its bias, or for
 * the local driver 0 (its reference is our own clock).
 */
static void
feed(struct world *w, int i, int leap)
{
	bool local = w->rc[i].driver == nt_refclock_find_driver("local");
	struct nt_refclock_sample s = { .local = nt_clock_now(&w->clk.base),
	    .offset = local ? 0 : w->bias[i] - nt_simclock_error(&w->clk),
	    .disp = 1e-6, .leap = leap, .n = 1 };

	nt_engine_refclock_sample(w->e, w->src[i], &s);
}

/* seconds of 1 s steps; refclocks whose bit is in mask send samples. */
static void
run(struct world *w, int seconds, unsigned mask, int leap)
{
	for (int t = 0; t < seconds; t++) {
		nt_simclock_advance(&w->clk, w->clk.true_now + NT_SEC);
		(void)nt_engine_run(w->e);
		for (int i = 0; i < 3; i++)
			if (mask & (1u << i))
				feed(w, i, leap);
	}
}

static void
test_refclock_serves_stratum1(void **state)
{
	struct world w;
	struct nt_sysinfo si;
	nt_time now;

	(void)state;
	world_init(&w);
	run(&w, 120, 0x7, NTP_LEAP_NONE);
	now = nt_clock_now(&w.clk.base);
	nt_engine_sysinfo(w.e, now, &si);
	assert_true(si.synced);
	assert_int_equal(si.stratum, 1);
	assert_int_equal(si.refid, NTP_CODE("GPS"));
	assert_int_equal(si.leap, NTP_LEAP_NONE);
	assert_true(si.root_delay < 1e-3 && si.root_disp < 0.01);
	assert_int_equal(nt_engine_last_update(w.e)->selected, w.src[0]);
	/* Noselect with fresh samples: said so, not "no sample yet". */
	assert_int_equal(nt_engine_source(w.e, 2)->reach, 0xff);
	assert_int_equal(nt_engine_source(w.e, 2)->state, NT_SRC_NOSELECT);
	assert_string_equal(nt_src_state_str(NT_SRC_NOSELECT),
	    "not selectable (noselect)");
	/* Steered from 30 ms off to the refclock's time. */
	assert_true(fabs(nt_simclock_error(&w.clk)) < 1e-3);
	/* The receiver announces a leap second: so do we. */
	run(&w, 5, 0x7, NTP_LEAP_INSERT);
	nt_engine_sysinfo(w.e, nt_clock_now(&w.clk.base), &si);
	assert_int_equal(si.leap, NTP_LEAP_INSERT);
	nt_engine_free(w.e);
}

static void
test_local_is_last_resort(void **state)
{
	struct world w;
	struct nt_sysinfo si;

	(void)state;
	world_init(&w);
	/* Local alone (the GPS silent): it serves its own stratum. */
	run(&w, 30, 0x2, NTP_LEAP_NONE);
	nt_engine_sysinfo(w.e, nt_clock_now(&w.clk.base), &si);
	assert_true(si.synced);
	assert_int_equal(si.stratum, w.rc[1].stratum);
	assert_int_equal(si.refid, NTP_CODE("LOCL"));
	/* Each sample is a poll answered, as a server's reply is. */
	assert_int_equal(nt_engine_source(w.e, 1)->reach, 0xff);
	/* The GPS comes: it wins, whatever the local clock's distance. */
	run(&w, 30, 0x3, NTP_LEAP_NONE);
	nt_engine_sysinfo(w.e, nt_clock_now(&w.clk.base), &si);
	assert_int_equal(si.stratum, 1);
	assert_int_equal(si.refid, NTP_CODE("GPS"));
	/* The GPS goes silent: after its stale time, the local clock. */
	run(&w, 90, 0x2, NTP_LEAP_NONE);
	nt_engine_sysinfo(w.e, nt_clock_now(&w.clk.base), &si);
	assert_int_equal(si.refid, NTP_CODE("LOCL"));
	assert_int_equal(nt_engine_source(w.e, 0)->state, NT_SRC_UNREACH);
	assert_int_equal(nt_engine_source(w.e, 0)->reach, 0);
	nt_engine_free(w.e);
}

static void
test_unsynced_sample_unusable(void **state)
{
	struct world w;
	struct nt_sysinfo si;

	(void)state;
	world_init(&w);
	run(&w, 20, 0x1, NTP_LEAP_UNSYNC);
	nt_engine_sysinfo(w.e, nt_clock_now(&w.clk.base), &si);
	assert_false(si.synced);
	assert_int_equal(si.stratum, NTP_MAX_STRATUM);
	assert_int_equal(nt_engine_source(w.e, 0)->n_hist, 0);
	nt_engine_free(w.e);
}

/*
 * Three receivers (shm, sock, phc); the last two agree on a time 50 ms
 * ahead.  trust0: the first is trusted.
 */
static void
three_init(struct world *w, bool trust0)
{
	static const char *const drv[] = { "shm", "sock", "phc" };

	world_confs(w, drv);
	w->rc[0].trust = trust0;
	w->bias[1] = w->bias[2] = 0.05;
	world_add(w);
}

static void
test_trusted_refclock_wins(void **state)
{
	struct world w;

	(void)state;
	three_init(&w, true);
	assert_true(nt_engine_source(w.e, 0)->conf.trust);	/* shown */
	assert_false(nt_engine_source(w.e, 1)->conf.trust);
	run(&w, 150, 0x7, NTP_LEAP_NONE);
	assert_int_equal(nt_engine_last_update(w.e)->selected, 0);
	assert_int_equal(nt_engine_source(w.e, 0)->state, NT_SRC_SELECTED);
	assert_int_equal(nt_engine_source(w.e, 1)->state, NT_SRC_FALSETICKER);
	assert_int_equal(nt_engine_source(w.e, 2)->state, NT_SRC_FALSETICKER);
	assert_true(fabs(nt_simclock_error(&w.clk)) < 1e-3);
	nt_engine_free(w.e);
	/* Untrusted, it is the one outvoted. */
	three_init(&w, false);
	run(&w, 150, 0x7, NTP_LEAP_NONE);
	assert_int_equal(nt_engine_source(w.e, 0)->state, NT_SRC_FALSETICKER);
	assert_true(fabs(nt_simclock_error(&w.clk) - 0.05) < 1e-3);
	nt_engine_free(w.e);
}

static void
test_required_refclock_holds(void **state)
{
	static const char *const drv[] = { "shm", "sock", "phc" };
	struct world w;
	struct nt_sysinfo si;

	(void)state;
	for (int req = 1; req >= 0; req--) {
		world_confs(&w, drv);
		w.rc[0].require = req;
		world_add(&w);
		assert_int_equal(nt_engine_source(w.e, 0)->conf.require, req);
		/* The required one silent, the other two agree. */
		run(&w, 150, 0x6, NTP_LEAP_NONE);
		nt_engine_sysinfo(w.e, nt_clock_now(&w.clk.base), &si);
		assert_int_equal(si.synced, !req);
		assert_true(req ? nt_engine_last_update(w.e) == NULL :
		    fabs(nt_simclock_error(&w.clk)) < 1e-3);
		/* It comes: updates. */
		run(&w, 150, 0x7, NTP_LEAP_NONE);
		nt_engine_sysinfo(w.e, nt_clock_now(&w.clk.base), &si);
		assert_true(si.synced);
		assert_true(fabs(nt_simclock_error(&w.clk)) < 1e-3);
		nt_engine_free(w.e);
	}
}

/*
 * A receiver that goes silent loses a reach bit per poll, as a server
 * that stops answering does (not 377 until it goes stale), and is still
 * selected until it is stale; samples again shift 1s back in.
 */
static void
test_silent_refclock_reach(void **state)
{
	/* 1.5 s late is a missed poll. */
	static const uint8_t want[] = { 0xff, 0xff, 0xfe, 0xfc, 0xf8 };
	struct world w;

	(void)state;
	world_init(&w);
	run(&w, 30, 0x1, NTP_LEAP_NONE);
	assert_int_equal(nt_engine_source(w.e, 0)->reach, 0xff);
	for (size_t i = 0; i < sizeof want; i++) {
		run(&w, 1, 0, NTP_LEAP_NONE);	/* 1 s: its poll */
		assert_int_equal(nt_engine_source(w.e, 0)->reach, want[i]);
		assert_int_equal(nt_engine_source(w.e, 0)->state,
		    NT_SRC_SELECTED);
	}
	run(&w, 1, 0x1, NTP_LEAP_NONE);
	/* A fourth 0 at 5.5 s, then its sample at 6 s. */
	assert_int_equal(nt_engine_source(w.e, 0)->reach, 0xe1);
	run(&w, 20, 0, NTP_LEAP_NONE);
	assert_int_equal(nt_engine_source(w.e, 0)->reach, 0);
	assert_int_equal(nt_engine_source(w.e, 0)->state, NT_SRC_UNREACH);
	nt_engine_free(w.e);
}

/*
 * With a 16 s poll, a combined sample every 16 s (or a second late, as
 * the first raw sample after the interval can be) keeps reach at 377;
 * one poll without a sample is one 0.
 */
static void
test_refclock_reach_per_poll(void **state)
{
	static const char *const drv[] = { "nmea", "local", "shm" };
	struct world w;

	(void)state;
	world_confs(&w, drv);
	w.rc[0].poll = 4;
	world_add(&w);
	for (int k = 0; k < 10; k++) {
		run(&w, 15 + k % 2, 0, NTP_LEAP_NONE);
		run(&w, 1, 0x1, NTP_LEAP_NONE);
	}
	assert_int_equal(nt_engine_source(w.e, 0)->reach, 0xff);
	run(&w, 23, 0, NTP_LEAP_NONE);		/* the next one is late */
	assert_int_equal(nt_engine_source(w.e, 0)->reach, 0xff);
	run(&w, 2, 0, NTP_LEAP_NONE);		/* half a poll: missed */
	assert_int_equal(nt_engine_source(w.e, 0)->reach, 0xfe);
	run(&w, 14, 0, NTP_LEAP_NONE);
	assert_int_equal(nt_engine_source(w.e, 0)->reach, 0xfe);
	run(&w, 2, 0, NTP_LEAP_NONE);
	assert_int_equal(nt_engine_source(w.e, 0)->reach, 0xfc);
	run(&w, 1, 0x1, NTP_LEAP_NONE);
	assert_int_equal(nt_engine_source(w.e, 0)->reach, 0xf9);
	nt_engine_free(w.e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refclock_serves_stratum1),
		cmocka_unit_test(test_local_is_last_resort),
		cmocka_unit_test(test_unsynced_sample_unusable),
		cmocka_unit_test(test_trusted_refclock_wins),
		cmocka_unit_test(test_required_refclock_holds),
		cmocka_unit_test(test_silent_refclock_reach),
		cmocka_unit_test(test_refclock_reach_per_poll),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
