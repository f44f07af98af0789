/*
 * Tests of the dry-run clock (a software-disciplined clock over the kernel
 * clock) and of the read-only side of the kernel backend.  Nothing here may
 * change the real clock: the kernel backend is only read (now, from_kernel,
 * get_freq, nt_clock_kernel_read, which all use adjtimex with modes 0), and
 * its tick/freq arithmetic is checked as pure functions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "clock_dry.h"
#include "clock_kernel.h"
#include "ntp_pkt.h"

/* Slack for scheduling between two back-to-back clock reads. */
#define SLACK 0.005

static nt_time
realtime(void)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
	return (nt_from_timespec(&ts));
}

static nt_time
monotonic(void)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return (nt_from_timespec(&ts));
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/*
 * How far the dry clock is ahead of CLOCK_REALTIME, read between two
 * kernel reads; *width is the time the bracket took (the uncertainty).
 */
static double
dry_ahead(struct nt_clock *c, double *width)
{
	nt_time a, v, b;

	a = realtime();
	v = nt_clock_now(c);
	b = realtime();
	if (width != NULL)
		*width = nt_diff(b, a);
	return (nt_diff(v, a) - nt_diff(b, a) / 2);
}

static int
reset(void **state)
{
	(void)state;
	nt_clock_dry_reset();
	return (0);
}

static void
test_starts_at_kernel_time(void **state)
{
	struct nt_clock *c = nt_clock_dry();

	(void)state;
	assert_string_equal(c->name, "dry-run");
	assert_true(c->max_freq_ppm == 100000.0);
	assert_true(fabs(dry_ahead(c, NULL)) < SLACK);
	assert_true(c->ops->get_freq(c) == 0.0);
	assert_true(nt_clock_dry_correction(realtime()) == 0.0);
}

static void
test_step(void **state)
{
	struct nt_clock *c = nt_clock_dry();

	(void)state;
	assert_int_equal(c->ops->step(c, 1.5), 0);
	assert_true(fabs(dry_ahead(c, NULL) - 1.5) < SLACK);
	assert_int_equal(c->ops->step(c, -2.25), 0);
	assert_true(fabs(dry_ahead(c, NULL) + 0.75) < SLACK);
	assert_true(nt_clock_dry_correction(realtime()) == -0.75);
	/* Bad steps are refused and change nothing. */
	assert_int_equal(c->ops->step(c, NAN), -EINVAL);
	assert_int_equal(c->ops->step(c, INFINITY), -EINVAL);
	assert_int_equal(c->ops->step(c, 1e12), -EINVAL);
	assert_true(fabs(dry_ahead(c, NULL) + 0.75) < SLACK);
	/* A 1970 -> now jump (dead RTC) fits. */
	assert_int_equal(c->ops->step(c, 1.8e9), 0);
	assert_true(fabs(dry_ahead(c, NULL) - (1.8e9 - 0.75)) < SLACK);
}

static void
test_freq(void **state)
{
	struct nt_clock *c = nt_clock_dry();
	double a1, a2, w1, w2, grow, want;
	nt_time m1, m2, k;

	(void)state;
	assert_int_equal(c->ops->set_freq(c, 1000.0), 0);
	assert_true(c->ops->get_freq(c) == 1000.0);
	m1 = monotonic();
	a1 = dry_ahead(c, &w1);
	sleep_ms(200);
	a2 = dry_ahead(c, &w2);
	m2 = monotonic();
	/* 1000 ppm: 1 ms per second, so ~200 us over the sleep. */
	grow = a2 - a1;
	want = nt_diff(m2, m1) * 1e-3;
	assert_true(grow > 150e-6);
	assert_true(fabs(grow - want) < 50e-6 + w1 + w2);

	/* A new frequency rebases: the clock does not jump. */
	k = realtime();
	a1 = nt_clock_dry_correction(k);
	assert_int_equal(c->ops->set_freq(c, -250.0), 0);
	assert_true(c->ops->get_freq(c) == -250.0);
	a2 = nt_clock_dry_correction(k);
	assert_true(fabs(a2 - a1) < 1e-6);
	/* Later times now gain -250 ppm. */
	assert_true(fabs(nt_clock_dry_correction(k + 10 * NT_SEC) -
	    nt_clock_dry_correction(k) + 2.5e-3) < 1e-6);

	/* Clamped to max_freq_ppm; NaN refused. */
	assert_int_equal(c->ops->set_freq(c, 2e5), 0);
	assert_true(c->ops->get_freq(c) == c->max_freq_ppm);
	assert_int_equal(c->ops->set_freq(c, -2e5), 0);
	assert_true(c->ops->get_freq(c) == -c->max_freq_ppm);
	assert_int_equal(c->ops->set_freq(c, NAN), -EINVAL);
	assert_true(c->ops->get_freq(c) == -c->max_freq_ppm);
}

static void
test_from_kernel(void **state)
{
	struct nt_clock *c = nt_clock_dry();
	nt_time k, v, d;

	(void)state;
	assert_int_equal(c->ops->step(c, 0.3), 0);
	assert_int_equal(c->ops->set_freq(c, 500.0), 0);
	k = realtime();
	v = nt_clock_now(c);
	d = c->ops->from_kernel(c, k);
	/* A kernel timestamp taken just before now() maps just before it. */
	assert_true(d <= v);
	assert_true(nt_diff(v, d) < SLACK);
	assert_true(nt_diff(d, k) == nt_clock_dry_correction(k));
	/* Ten kernel seconds are ten dry seconds plus 500 ppm. */
	assert_true(fabs(nt_diff(d, c->ops->from_kernel(c, k - 10 * NT_SEC)) -
	    10.005) < 2e-9);
}

static void
test_status_kernel_untouched(void **state)
{
	struct nt_clock *c = nt_clock_dry();
	struct nt_clock_status st = {
		.synced = true,
		.maxerror = 0.010,
		.esterror = 0.001,
		.leap = NTP_LEAP_INSERT,
	};
	const struct nt_clock_status *got;
	double f1, f2, e1;
	bool s1, s2;
	nt_time boot1, boot2;

	(void)state;
	got = nt_clock_dry_status();
	assert_false(got->synced);
	assert_int_equal(got->leap, NTP_LEAP_NONE);

	assert_int_equal(nt_clock_kernel_read(&f1, &e1, &s1), 0);
	boot1 = realtime() - monotonic();
	assert_int_equal(c->ops->set_status(c, &st), 0);
	assert_int_equal(c->ops->step(c, 1000.0), 0);
	assert_int_equal(c->ops->set_freq(c, 5000.0), 0);
	boot2 = realtime() - monotonic();
	assert_int_equal(nt_clock_kernel_read(&f2, NULL, &s2), 0);

	got = nt_clock_dry_status();
	assert_true(got->synced);
	assert_true(got->maxerror == 0.010 && got->esterror == 0.001);
	assert_int_equal(got->leap, NTP_LEAP_INSERT);
	/*
	 * The kernel saw none of it.  Another time daemon on this host (or
	 * the container's host) may nudge the frequency meanwhile, by far
	 * less than a ppm; the 5000 ppm set above would show.
	 */
	assert_int_equal(s1, s2);
	assert_true(fabs(f1 - f2) < 0.5);
	assert_true(fabs(nt_diff(boot2, boot1)) < SLACK);

	st.maxerror = NAN;
	assert_int_equal(c->ops->set_status(c, &st), -EINVAL);
	assert_true(nt_clock_dry_status()->maxerror == 0.010);
}

static void
test_reset(void **state)
{
	struct nt_clock *c = nt_clock_dry();
	struct nt_clock_status st = { .synced = true, .maxerror = 1 };

	(void)state;
	assert_int_equal(c->ops->step(c, 5.0), 0);
	assert_int_equal(c->ops->set_freq(c, 10.0), 0);
	assert_int_equal(c->ops->set_status(c, &st), 0);
	nt_clock_dry_reset();
	assert_true(nt_clock_dry() == c);
	assert_true(fabs(dry_ahead(c, NULL)) < SLACK);
	assert_true(c->ops->get_freq(c) == 0.0);
	assert_false(nt_clock_dry_status()->synced);
}

static void
test_kernel_read(void **state)
{
	double f = NAN, e = NAN;
	bool s1, s2;

	(void)state;
	assert_int_equal(nt_clock_kernel_read(&f, &e, &s1), 0);
	assert_true(isfinite(f) && fabs(f) <= 100500.0);
	/* The kernel caps maxerror at 16 s. */
	assert_true(e >= 0.0 && e <= 16.0);
	assert_int_equal(nt_clock_kernel_read(NULL, NULL, NULL), 0);
	assert_int_equal(nt_clock_kernel_read(NULL, NULL, &s2), 0);
	assert_int_equal(s1, s2);
}

/* The kernel backend's reading side only: nothing here steers. */
static void
test_kernel_backend_reads(void **state)
{
	struct nt_clock *c = nt_clock_kernel();
	nt_time a, v, b;
	double f;

	(void)state;
	assert_string_equal(c->name, "kernel");
	assert_true(nt_clock_kernel() == c);
	assert_true(c->max_freq_ppm > 500.0 && c->max_freq_ppm <= 100000.0);
	a = realtime();
	v = nt_clock_now(c);
	b = realtime();
	assert_true(a <= v && v <= b);
	assert_true(c->ops->from_kernel(c, a) == a);
	assert_int_equal(nt_clock_kernel_read(&f, NULL, NULL), 0);
	assert_true(fabs(c->ops->get_freq(c) - f) < 0.5);
}

static void
test_kernel_split(void **state)
{
	static const long hzs[] = { 100, 250, 1000 };
	long tmin, tmax, tick, freq, hz;
	double ppm, got;
	size_t i;

	(void)state;
	nt_clock_kernel_tick_limits(100, &tmin, &tmax);
	assert_int_equal(tmin, 9000);
	assert_int_equal(tmax, 11000);
	nt_clock_kernel_split(0.0, 100, &tick, &freq);
	assert_int_equal(tick, 10000);
	assert_int_equal(freq, 0);
	/* One us of tick is hz ppm: +150 ppm = 2 us of tick - 50 ppm. */
	nt_clock_kernel_split(150.0, 100, &tick, &freq);
	assert_int_equal(tick, 10002);
	assert_int_equal(freq, -50 * 65536);
	nt_clock_kernel_split(-12.5, 100, &tick, &freq);
	assert_int_equal(tick, 10000);
	assert_int_equal(freq, -819200);
	assert_true(nt_clock_kernel_combine(10002, -50 * 65536, 100) == 150.0);

	for (i = 0; i < sizeof(hzs) / sizeof(hzs[0]); i++) {
		hz = hzs[i];
		nt_clock_kernel_tick_limits(hz, &tmin, &tmax);
		for (ppm = -100000.0; ppm <= 100000.0; ppm += 37.123) {
			nt_clock_kernel_split(ppm, hz, &tick, &freq);
			assert_true(tick >= tmin && tick <= tmax);
			assert_true(labs(freq) <= 500 * 65536);
			got = nt_clock_kernel_combine(tick, freq, hz);
			assert_true(fabs(got - ppm) <= 1.0 / 65536);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_starts_at_kernel_time, reset),
		cmocka_unit_test_setup(test_step, reset),
		cmocka_unit_test_setup(test_freq, reset),
		cmocka_unit_test_setup(test_from_kernel, reset),
		cmocka_unit_test_setup(test_status_kernel_untouched, reset),
		cmocka_unit_test_setup(test_reset, reset),
		cmocka_unit_test(test_kernel_read),
		cmocka_unit_test(test_kernel_backend_reads),
		cmocka_unit_test(test_kernel_split),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
