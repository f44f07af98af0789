/*
 * The foreign-step detector (lib/stepdetect.c): quiet under reading noise
 * and over long quiet gaps, our own steps never count, a step made by
 * someone else is reported once with its size (either sign, however
 * small above the threshold), leap seconds are told apart from steps,
 * and a restart forgets the baseline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stepdetect.h"

#define T0 (INT64_C(1790000000) * NT_SEC + 12345 * NT_SEC)	/* not midnight */
#define M0 (INT64_C(5000) * NT_SEC)

static struct nt_stepdetect d;
static nt_time real, mono;
static double step;

static void
start(nt_time r)
{
	struct nt_stepdetect_params p = { NT_STEPDETECT_THRESHOLD, 0 };

	nt_stepdetect_init(&d, &p);
	real = r;
	mono = M0;
	assert_int_equal(nt_stepdetect_feed(&d, real, mono, 0, &step),
	    NT_STEP_NONE);
}

/* seconds pass on both clocks, then realtime moves by extra. */
static enum nt_step_kind
tick(double seconds, double extra, double read_err)
{
	mono = nt_add(mono, seconds);
	real = nt_add(nt_add(real, seconds), extra);
	return (nt_stepdetect_feed(&d, real, mono, read_err, &step));
}

static void
test_quiet(void **state)
{
	(void)state;
	start(T0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(tick(1, (i % 2 ? 1 : -1) * 400e-6, 0),
		    NT_STEP_NONE);
	/* A long gap (the loop was busy): still nothing. */
	assert_int_equal(tick(3600, 0, 0), NT_STEP_NONE);
	/* A slow reading widens what counts as noise. */
	assert_int_equal(tick(1, 3e-3, 5e-3), NT_STEP_NONE);
	assert_int_equal(d.n_foreign, 0);
}

static void
test_foreign(void **state)
{
	static const double steps[] = { 0.0015, -0.0015, 1.5, -3600, 86400 *
	    365.0, -0.5 };

	(void)state;
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		start(T0);
		assert_int_equal(tick(1, 0, 0), NT_STEP_NONE);
		assert_int_equal(tick(1, steps[i], 0), NT_STEP_FOREIGN);
		assert_true(step > steps[i] - 1e-6 && step < steps[i] + 1e-6);
		/* Reported once: the new scale is the baseline. */
		assert_int_equal(tick(1, 0, 0), NT_STEP_NONE);
		assert_int_equal(d.n_foreign, 1);
	}
}

static void
test_own_steps(void **state)
{
	(void)state;
	start(T0);
	nt_stepdetect_own_step(&d, 0.25);
	assert_int_equal(tick(1, 0.25, 0), NT_STEP_NONE);
	/* Two of ours between readings add up. */
	nt_stepdetect_own_step(&d, -2);
	nt_stepdetect_own_step(&d, 0.5);
	assert_int_equal(tick(1, -1.5, 0), NT_STEP_NONE);
	/* Ours and someone else's together: only theirs is reported. */
	nt_stepdetect_own_step(&d, 10);
	assert_int_equal(tick(1, 10 + 0.2, 0), NT_STEP_FOREIGN);
	assert_true(step > 0.2 - 1e-6 && step < 0.2 + 1e-6);
	/* We said we stepped but the kernel did not: that is a step too. */
	nt_stepdetect_own_step(&d, 1);
	assert_int_equal(tick(1, 0, 0), NT_STEP_FOREIGN);
	assert_true(step < -1 + 1e-6 && step > -1 - 1e-6);
}

static void
test_leap(void **state)
{
	nt_time midnight = INT64_C(1790035200) * NT_SEC;	/* 86400 * k */

	(void)state;
	assert_int_equal(midnight % (86400 * NT_SEC), 0);
	/* Inserted: realtime repeats a second, right after midnight. */
	start(nt_add(midnight, -0.5));
	assert_int_equal(tick(1, -1, 0), NT_STEP_LEAP);
	assert_int_equal(d.n_leap, 1);
	assert_int_equal(d.n_foreign, 0);
	/* Deleted. */
	start(nt_add(midnight, -0.5));
	assert_int_equal(tick(1, 1, 0), NT_STEP_LEAP);
	/* A second at noon is somebody's step, not a leap. */
	start(nt_add(midnight, 43200));
	assert_int_equal(tick(1, -1, 0), NT_STEP_FOREIGN);
	/* Neither is 2 s at midnight. */
	start(nt_add(midnight, -0.5));
	assert_int_equal(tick(1, -2, 0), NT_STEP_FOREIGN);
}

static void
test_rate_and_restart(void **state)
{
	struct nt_stepdetect_params p = { 1e-3, 1000e-6 };

	(void)state;
	nt_stepdetect_init(&d, &p);
	real = T0;
	mono = M0;
	(void)nt_stepdetect_feed(&d, real, mono, 0, &step);
	/* 1000 ppm over 10 s is allowed, 0.1 s is not. */
	assert_int_equal(tick(10, 10e-3, 0), NT_STEP_NONE);
	assert_int_equal(tick(10, 0.1, 0), NT_STEP_FOREIGN);
	/* After a restart the first reading is only a baseline. */
	nt_stepdetect_restart(&d);
	assert_int_equal(tick(1, 100, 0), NT_STEP_NONE);
	assert_int_equal(tick(1, 0, 0), NT_STEP_NONE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quiet),
		cmocka_unit_test(test_foreign),
		cmocka_unit_test(test_own_steps),
		cmocka_unit_test(test_leap),
		cmocka_unit_test(test_rate_and_restart),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
