/*
 * The engine under faults, in virtual time (a simulated clock fed by a
 * GPS refclock): a long outage keeps the learnt frequency and reports
 * unsynchronized once the configured holdover ("holdover:") has passed,
 * not before, while "tracking" still says when the clock was last
 * updated; and after a step made by someone else,
 * nt_engine_restart_sources() drops the old measurements, so the very
 * next samples measure the step instead of a regression smeared across
 * two time scales; and a step of its own far forward leaves it
 * synchronized, its last update on the new time scale.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine_io.h"

#include "clock_sim.h"
#include "conf.h"
#include "engine.h"
#include "log.h"
#include "refclock.h"
#include "status.h"

struct world {
	struct nt_simclock clk;
	struct nt_engine *e;
	struct nt_refclock_conf rc;
	int	src;
	uint64_t rnd;
};

static void
world_init(struct world *w, double holdover, double offset)
{
	struct nt_simclock_model m = { .offset = offset, .freq_ppm = 12,
	    .max_freq_ppm = 500, .slew_ppm = 500, .can_step = true };
	struct nt_engine_io io = { &w->rnd, tio_send_nowhere, tio_random,
	    NULL, NULL, NULL };
	struct nt_engine_params p;
	struct nt_conf conf;

	memset(w, 0, sizeof *w);
	nt_simclock_init(&w->clk, INT64_C(1790000000) * NT_SEC, &m, 5);
	nt_conf_init(&conf);
	if (holdover > 0)
		conf.holdover = holdover;
	nt_engine_params_from_conf(&p, &conf, &w->clk.base, false, 0, 0);
	assert_true(p.holdover == conf.holdover);
	w->e = nt_engine_new(&p, &w->clk.base, &io);
	assert_non_null(w->e);
	nt_refclock_conf_init(&w->rc, nt_refclock_find_driver("nmea"));
	w->rc.poll = 0;
	w->src = nt_engine_add_refclock(w->e, &w->rc, "GPS", nt_refclock_refid(
	    &w->rc));
	assert_true(w->src >= 0);
}

/* seconds of 1 s steps, with a true sample each when feeding. */
static void
run(struct world *w, int seconds, bool feeding)
{
	for (int t = 0; t < seconds; t++) {
		nt_simclock_advance(&w->clk, w->clk.true_now + NT_SEC);
		(void)nt_engine_run(w->e);
		if (feeding) {
			struct nt_refclock_sample s = {
			    .local = nt_clock_now(&w->clk.base),
			    .offset = -nt_simclock_error(&w->clk),
			    .disp = 1e-6, .leap = NTP_LEAP_NONE, .n = 1 };

			nt_engine_refclock_sample(w->e, w->src, &s);
		}
	}
}

static bool
synced(struct world *w)
{
	struct nt_sysinfo si;

	nt_engine_sysinfo(w->e, nt_clock_now(&w->clk.base), &si);
	return (si.synced);
}

/* The warnings and notices logged, one per line. */
static char logged[8192];

static void
log_sink(void *ctx, enum nt_log_level lvl, const char *msg)
{
	(void)ctx;
	if (lvl <= NT_LOG_NOTICE) {
		strlcat(logged, msg, sizeof logged);
		strlcat(logged, "\n", sizeof logged);
	}
}

/* What "ntimed query" shows as the reference time. */
static nt_time
tracking_ref_time(struct world *w)
{
	struct nt_status_engine se = { .e = w->e, .clk = &w->clk.base };
	struct nt_tracking t;

	nt_status_tracking(&se, nt_clock_now(&w->clk.base), &t);
	return (t.ref_time);
}

static void
outage(double holdover, int expect)
{
	struct world w;
	nt_time last;
	double freq;

	world_init(&w, holdover, 0.02);
	run(&w, 600, true);
	assert_true(synced(&w));
	last = nt_engine_last_update(w.e)->when;
	assert_true(last != 0 && tracking_ref_time(&w) == last);
	freq = nt_disc_freq_ppm(nt_engine_disc(w.e));
	print_message("freq %.4f ppm\n", freq);
	assert_true(fabs(fabs(freq) - 12) < 1);	/* learnt the oscillator's */
	logged[0] = '\0';
	nt_log_set_sink(log_sink, NULL);
	run(&w, expect - 2, false);
	assert_true(synced(&w));
	assert_null(strstr(logged, "not synchronized"));
	run(&w, 4, false);
	assert_false(synced(&w));
	/* Not served any more, but still shown: when it was last updated. */
	assert_true(nt_engine_last_update(w.e)->when == last);
	assert_true(tracking_ref_time(&w) == last);
	/* Said at the default level, once, and its end too. */
	assert_non_null(strstr(logged, "not synchronized: no clock update"));
	assert_null(strstr(strstr(logged, "not synchronized:") + 1,
	    "not synchronized:"));
	/* The frequency is what was learnt: the clock coasts on it. */
	assert_true(nt_disc_freq_ppm(nt_engine_disc(w.e)) == freq);
	assert_true(fabs(nt_simclock_freq_error(&w.clk)) < 1e-6);
	/* The source comes back: synchronized again. */
	run(&w, 5, true);
	assert_true(synced(&w));
	assert_non_null(strstr(logged, "synchronized again, to GPS"));
	nt_log_set_sink(NULL, NULL);
	nt_engine_free(w.e);
}

static void
test_holdover_configured(void **state)
{
	(void)state;
	outage(30, 30);
}

static void
test_holdover_default(void **state)
{
	(void)state;
	outage(0, (int)NT_SYNC_HOLD_DEFAULT);
}

static void
test_holdover_conf_key(void **state)
{
	static const char good[] = "holdover: 5\n", bad[] = "holdover: 0\n";
	char err[NT_CONF_ERRLEN], *text = NULL;
	struct nt_conf c;
	size_t len = 0;
	FILE *f;

	(void)state;
	nt_conf_init(&c);
	assert_true(c.holdover == 3600);
	assert_int_equal(nt_conf_load_buf(&c, "h.yaml", good, sizeof good - 1,
	    err, sizeof err), 0);
	assert_true(c.holdover == 5);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	nt_conf_print(f, &c);
	fclose(f);
	assert_non_null(strstr(text, "holdover: 5"));
	free(text);
	nt_conf_free(&c);
	nt_conf_init(&c);
	assert_int_equal(nt_conf_load_buf(&c, "h.yaml", bad, sizeof bad - 1,
	    err, sizeof err), -1);
	assert_non_null(strstr(err, "h.yaml:1:11: "));
	nt_conf_free(&c);
}

static void
test_foreign_step_restart(void **state)
{
	struct world w;
	const struct nt_update *u;
	double freq;

	(void)state;
	world_init(&w, 0, 0.02);
	run(&w, 600, true);
	assert_true(fabs(nt_simclock_error(&w.clk)) < 1e-4);
	freq = nt_disc_freq_ppm(nt_engine_disc(w.e));
	/* Someone else steps the clock 0.3 s ahead. */
	assert_int_equal(w.clk.base.ops->step(&w.clk.base, 0.3), 0);
	nt_engine_restart_sources(w.e);
	/* No slew left running on a deadline from before the step. */
	assert_true(nt_disc_deadline(nt_engine_disc(w.e)) == INT64_MAX);
	assert_true(nt_disc_remaining(nt_engine_disc(w.e),
	    nt_clock_now(&w.clk.base)) == 0.0);
	assert_false(synced(&w));
	assert_null(nt_engine_last_update(w.e));
	assert_int_equal(nt_engine_source(w.e, (size_t)w.src)->n_hist, 0);
	assert_true(nt_engine_source(w.e, (size_t)w.src)->refclock);
	/* The first sample after it measures the whole step (later ones
	 * see what the slew has still to do). */
	logged[0] = '\0';
	nt_log_set_sink(log_sink, NULL);
	run(&w, 1, true);
	assert_true(synced(&w));
	u = nt_engine_last_update(w.e);
	assert_non_null(u);
	assert_true(fabs(u->offset + 0.3) < 0.01);
	/* Beyond step_threshold, but its steps are used up: said once. */
	assert_non_null(strstr(logged, "offset -300.000ms is beyond "
	    "step_threshold (0.128 s), but only the first 3 updates may step"));
	run(&w, 5, true);
	assert_null(strstr(strstr(logged, "beyond step_threshold") + 1,
	    "beyond step_threshold"));
	nt_log_set_sink(NULL, NULL);
	/* The frequency was kept; the clock converges back. */
	assert_true(fabs(nt_disc_freq_ppm(nt_engine_disc(w.e)) - freq) < 1);
	run(&w, 1200, true);
	assert_true(fabs(nt_simclock_error(&w.clk)) < 1e-3);
	nt_engine_free(w.e);
}

/*
 * A step far forward (a clock never set, a month behind) moves the last
 * update onto the clock's new time scale too: synchronized straight
 * after it, not "no clock update for 3600 s" at the next run, and the
 * reference time is now, not a month ago.
 */
static void
test_far_step_stays_synced(void **state)
{
	struct world w;
	nt_time now;

	(void)state;
	world_init(&w, 0, -30 * 86400.0);
	logged[0] = '\0';
	nt_log_set_sink(log_sink, NULL);
	run(&w, 30, true);
	nt_log_set_sink(NULL, NULL);
	assert_non_null(strstr(logged, "clock stepped by"));
	assert_true(fabs(nt_simclock_error(&w.clk)) < 1e-3);
	assert_true(synced(&w));
	assert_null(strstr(logged, "not synchronized"));
	now = nt_clock_now(&w.clk.base);
	assert_true(fabs(nt_diff(now, tracking_ref_time(&w))) < 5);
	nt_engine_free(w.e);
}

/*
 * A source kept across a restart is asked again soon, ADOPT_GAP (2 s)
 * after its last request at the earliest, and not at all sooner when a
 * KoD RATE made it back off.
 */
static void
test_adopt_polls_soon(void **state)
{
	struct world w;
	struct nt_conf conf;
	struct nt_source from;
	char err[256];
	nt_time now;
	int i;

	(void)state;
	world_init(&w, 0, 0.02);
	nt_conf_init(&conf);
	assert_int_equal(nt_conf_add_server_arg(&conf, "192.0.2.1", err,
	    sizeof err), 0);
	i = nt_engine_add_source(w.e, &conf.servers[0], "s", 1);
	assert_true(i >= 0);
	now = nt_clock_now(&w.clk.base);
	from = *nt_engine_source(w.e, (size_t)i);
	from.t1 = now - NT_SEC;			/* asked a second ago */
	from.next_poll = now + 64 * NT_SEC;
	nt_engine_adopt_source(w.e, (size_t)i, &from, 0);
	assert_true(nt_engine_source(w.e, (size_t)i)->next_poll ==
	    now + NT_SEC);
	from.minpoll = from.conf.minpoll + 4;	/* a KoD RATE */
	nt_engine_adopt_source(w.e, (size_t)i, &from, 0);
	assert_true(nt_engine_source(w.e, (size_t)i)->next_poll ==
	    now + 64 * NT_SEC);
	nt_conf_free(&conf);
	nt_engine_free(w.e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_holdover_configured),
		cmocka_unit_test(test_holdover_default),
		cmocka_unit_test(test_holdover_conf_key),
		cmocka_unit_test(test_foreign_step_restart),
		cmocka_unit_test(test_far_step_stays_synced),
		cmocka_unit_test(test_adopt_polls_soon),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
