/*
 * Reference clocks as engine sources (nt_engine_add_refclock(),
 * nt_engine_refclock_sample()), on a simulated clock: a refclock's
 * samples steer the clock like replies do and we serve stratum 1 with
 * its refid and leap; the local driver is a last resort only, serving
 * its configured stratum; a noselect refclock is never selected; a
 * silent refclock stops being selectable.
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
	uint64_t rnd;
};

static void
world_init(struct world *w)
{
	struct nt_simclock_model m = { .offset = 0.03, .freq_ppm = 7,
	    .max_freq_ppm = 500, .slew_ppm = 500, .can_step = true };
	static const char *const drv[] = { "nmea", "local", "shm" };
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
	w->rc[2].noselect = true;
	for (int i = 0; i < 3; i++) {
		w->src[i] = nt_engine_add_refclock(w->e, &w->rc[i], drv[i],
		    nt_refclock_refid(&w->rc[i]));
		assert_int_equal(w->src[i], i);
	}
}

/*
 * One sample from refclock i, now: the true offset, or for the local
 * driver 0 (its reference is our own clock).
 */
static void
feed(struct world *w, int i, int leap)
{
	struct nt_refclock_sample s = { .local = nt_clock_now(&w->clk.base),
	    .offset = i == 1 ? 0 : -nt_simclock_error(&w->clk), .disp = 1e-6,
	    .leap = leap, .n = 1 };

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refclock_serves_stratum1),
		cmocka_unit_test(test_local_is_last_resort),
		cmocka_unit_test(test_unsynced_sample_unusable),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
