/*
 * Tests for the time conversions.  Era and rounding mistakes in these few
 * functions would skew every measurement silently, so they are checked at
 * dates on both sides of the 2036 NTP era rollover, with pivots on both
 * sides too, and the rounding is checked against exact integer bounds.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "timeutil.h"

/* 2036-02-07T06:28:16Z: NTP era 0 ends, era 1 starts. */
#define ROLLOVER_SEC INT64_C(2085978496)
#define ROLLOVER (ROLLOVER_SEC * NT_SEC)
#define Y2000 (INT64_C(946684800) * NT_SEC)
#define Y2025 (INT64_C(1735689600) * NT_SEC)
#define Y2100 (INT64_C(4102444800) * NT_SEC)
#define Y2200 (INT64_C(7258118400) * NT_SEC)
#define TWO31 (INT64_C(1) << 31)	/* half an era, seconds */
#define TWO32 (INT64_C(1) << 32)	/* one era, seconds */

static uint64_t rng_state = UINT64_C(0x2545f4914f6cdd1d);

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (rng_state * UINT64_C(2685821657736338717));
}

/* cmocka's assert_float_equal() goes through float: too coarse here. */
static void
assert_near_at(double a, double b, double eps, const char *file, int line)
{
	if (!(fabs(a - b) <= eps)) {
		print_error("%.17g != %.17g (eps %g)\n", a, b, eps);
		_fail(file, line);
	}
}
#define assert_near(a, b, eps) \
	assert_near_at((a), (b), (eps), __FILE__, __LINE__)

static void
assert_utc(nt_time t, const char *want)
{
	char buf[NT_TIMESTR_LEN];

	assert_string_equal(nt_format_utc(t, buf, sizeof(buf)), want);
}

static void
test_ntp64_known(void **state)
{
	(void)state;
	assert_true(nt_to_ntp64(0) == UINT64_C(0x83aa7e8000000000));
	assert_true(nt_to_ntp64(Y2000) == UINT64_C(0xbc17c20000000000));
	assert_true(nt_to_ntp64(NT_SEC / 2) == UINT64_C(0x83aa7e8080000000));
	/* Era 0 ends at 2^32 s and wraps to 0. */
	assert_true(nt_to_ntp64(ROLLOVER) == 0);
	assert_true(nt_to_ntp64(ROLLOVER - 1) == UINT64_C(0xfffffffffffffffc));
	assert_true(nt_to_ntp64(ROLLOVER + 1) == UINT64_C(0x0000000000000004));
	assert_true(nt_to_ntp64(ROLLOVER - NT_SEC) ==
	    UINT64_C(0xffffffff00000000));
	/* Before 1970: negative nt_time, still era 0. */
	assert_true(nt_to_ntp64(-NT_SEC) == UINT64_C(0x83aa7e7f00000000));
	assert_true(nt_to_ntp64(-1) == UINT64_C(0x83aa7e7ffffffffc));
	/* The last nanosecond of a second stays in it (2^-32 s < 0.5 ns). */
	assert_true(nt_to_ntp64(NT_SEC - 1) == UINT64_C(0x83aa7e80fffffffc));

	assert_true(nt_from_ntp64(UINT64_C(0x83aa7e8000000000), Y2025) == 0);
	assert_true(nt_from_ntp64(UINT64_C(0x83aa7e8080000000), 0) ==
	    NT_SEC / 2);
	assert_true(nt_from_ntp64(UINT64_C(0x83aa7e8000000001), 0) == 0);
	assert_true(nt_from_ntp64(UINT64_C(0x83aa7e80ffffffff), 0) == NT_SEC);
	assert_true(nt_from_ntp64(0, Y2025) == ROLLOVER);
	assert_true(nt_from_ntp64(0, 0) == ROLLOVER);
	/* Seen from 1960, wire 0 is 1900 (60 years back, not 76 ahead). */
	assert_true(nt_from_ntp64(0, -INT64_C(315619200) * NT_SEC) ==
	    -NTP_UNIX_OFFSET * NT_SEC);
	assert_true(ROLLOVER - TWO32 * NT_SEC == -NTP_UNIX_OFFSET * NT_SEC);
}

/* ts from nt_to_ntp64(t), read back with pivot p: expect want. */
static void
check_pivot(nt_time t, nt_time p, nt_time want)
{
	uint64_t w = nt_to_ntp64(t);
	nt_time got = nt_from_ntp64(w, p);

	if (got != want) {
		char a[NT_TIMESTR_LEN], b[NT_TIMESTR_LEN], c[NT_TIMESTR_LEN];

		print_error("t=%s pivot=%s: got %s\n",
		    nt_format_utc(t, a, sizeof(a)),
		    nt_format_utc(p, b, sizeof(b)),
		    nt_format_utc(got, c, sizeof(c)));
	}
	assert_true(got == want);
}

static void
test_ntp64_roundtrip(void **state)
{
	static const nt_time base[] = {
		0, Y2000, Y2025, ROLLOVER - NT_SEC, ROLLOVER - 1, ROLLOVER,
		ROLLOVER + 1, ROLLOVER + NT_SEC, Y2100, Y2200, -NT_SEC,
	};
	static const nt_time frac[] = { 0, 1, 123456789, 500000000,
	    999999999 };
	static const int64_t near_sec[] = { 0, 1, -1, 1000000, -1000000,
	    TWO31 - 10, -(TWO31 - 10) };
	struct timespec now_ts;
	nt_time now;

	(void)state;
	assert_int_equal(clock_gettime(CLOCK_REALTIME, &now_ts), 0);
	now = nt_from_timespec(&now_ts);
	check_pivot(now, now, now);
	check_pivot(now, now - 3600 * NT_SEC, now);
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
		for (size_t j = 0; j < sizeof(frac) / sizeof(frac[0]); j++) {
			nt_time t = base[i] + frac[j];

			/* Any pivot within half an era gives t back. */
			for (size_t k = 0;
			    k < sizeof(near_sec) / sizeof(near_sec[0]); k++) {
				/* Pivots past 2262 do not exist. */
				if (near_sec[k] > 0 &&
				    t > INT64_MAX - near_sec[k] * NT_SEC)
					continue;
				check_pivot(t, t + near_sec[k] * NT_SEC, t);
			}
			/* A pivot past half an era puts t in the next era. */
			check_pivot(t, t - (TWO31 + 10) * NT_SEC,
			    t - TWO32 * NT_SEC);
			if (t < INT64_MAX - TWO32 * NT_SEC)
				check_pivot(t, t + (TWO31 + 10) * NT_SEC,
				    t + TWO32 * NT_SEC);
		}
	}
}

static void
test_ntp64_era(void **state)
{
	uint64_t w;

	(void)state;
	/* Era 1 timestamp (small seconds), pivot late in era 0. */
	w = nt_to_ntp64(ROLLOVER + 3600 * NT_SEC);
	assert_true(w >> 32 == 3600);
	assert_utc(nt_from_ntp64(w, ROLLOVER - 3600 * NT_SEC),
	    "2036-02-07T07:28:16.000000000Z");
	assert_utc(nt_from_ntp64(w, Y2025), "2036-02-07T07:28:16.000000000Z");
	/* Era 0 timestamp (large seconds), pivot early in era 1. */
	w = nt_to_ntp64(ROLLOVER - 3600 * NT_SEC + 250 * NT_MSEC);
	assert_true(w >> 32 == 0xffffffffu - 3599);
	assert_utc(nt_from_ntp64(w, ROLLOVER + 3600 * NT_SEC),
	    "2036-02-07T05:28:16.250000000Z");
	assert_utc(nt_from_ntp64(w, Y2100), "2036-02-07T05:28:16.250000000Z");
	/* Same wire value, different eras, by pivot alone. */
	w = nt_to_ntp64(Y2025);
	assert_utc(nt_from_ntp64(w, Y2025), "2025-01-01T00:00:00.000000000Z");
	assert_utc(nt_from_ntp64(w, Y2025 + TWO32 * NT_SEC),
	    "2161-02-07T06:28:16.000000000Z");
	/* A garbage timestamp from a 2025 view is within 68 years. */
	for (int i = 0; i < 1000; i++) {
		nt_time t = nt_from_ntp64(rng(), Y2025);

		assert_true(t >= Y2025 - TWO31 * NT_SEC);
		assert_true(t <= Y2025 + TWO31 * NT_SEC);
	}
}

static void
test_ntp64_rounding(void **state)
{
	(void)state;
	for (int i = 0; i < 100000; i++) {
		int64_t ns = (int64_t)(rng() % (uint64_t)NT_SEC);
		uint64_t f32 = rng() & 0xffffffffu;
		nt_time t = Y2025 + ns, back;
		uint64_t w = nt_to_ntp64(t), w2;
		int64_t err;

		/* To wire: nearest 2^-32 s, i.e. |f*1e9 - ns*2^32| <= 1e9/2. */
		assert_true(w >> 32 == (uint64_t)(1735689600 + 2208988800u));
		err = (int64_t)((w & 0xffffffffu) * (uint64_t)NT_SEC) -
		    (int64_t)((uint64_t)ns << 32);
		assert_true(err <= NT_SEC / 2 && err >= -NT_SEC / 2);
		/* Whole nanoseconds survive the round trip exactly. */
		assert_true(nt_from_ntp64(w, Y2025) == t);

		/* From wire: nearest ns, |ns*2^32 - f*1e9| <= 2^31. */
		w = (uint64_t)(1735689600 + 2208988800u) << 32 | f32;
		back = nt_from_ntp64(w, Y2025) - Y2025;
		assert_true(back >= 0 && back <= NT_SEC);
		err = (int64_t)((uint64_t)back << 32) -
		    (int64_t)(f32 * (uint64_t)NT_SEC);
		assert_true(err <= TWO31 && err >= -TWO31);
		/* And back to the wire within the 1 ns bound (4.3 units). */
		w2 = nt_to_ntp64(Y2025 + back);
		err = (int64_t)(w2 - w);
		assert_true(err <= 3 && err >= -3);
	}
}

static void
test_ntp32(void **state)
{
	(void)state;
	assert_int_equal(nt_to_ntp32(0.0), 0);
	assert_int_equal(nt_to_ntp32(-0.0), 0);
	assert_int_equal(nt_to_ntp32(-1.0), 0);
	assert_int_equal(nt_to_ntp32(-1e300), 0);
	assert_int_equal(nt_to_ntp32(NAN), 0);
	assert_int_equal(nt_to_ntp32(1.5), 0x00018000);
	assert_int_equal(nt_to_ntp32(1.0 / 65536), 1);
	/* Rounded up: a bound is never understated. */
	assert_int_equal(nt_to_ntp32(0.4 / 65536), 1);
	assert_int_equal(nt_to_ntp32(0.6 / 65536), 1);
	assert_int_equal(nt_to_ntp32(1.4 / 65536), 2);
	assert_int_equal(nt_to_ntp32(0.015625), 0x00000400);
	assert_int_equal(nt_to_ntp32(65535.0), 0xffff0000);
	/* Saturation at the top instead of wrapping. */
	assert_int_equal(nt_to_ntp32(65535.99999), 0xffffffff);
	assert_int_equal(nt_to_ntp32(65536.0), 0xffffffff);
	assert_int_equal(nt_to_ntp32(1e12), 0xffffffff);
	assert_int_equal(nt_to_ntp32(INFINITY), 0xffffffff);

	assert_near(nt_from_ntp32(0), 0.0, 0);
	assert_near(nt_from_ntp32(0x00018000), 1.5, 0);
	assert_near(nt_from_ntp32(1), 1.0 / 65536, 0);
	assert_near(nt_from_ntp32(0xffffffff), 65535.9999847412109375, 0);
	for (int i = 0; i < 100000; i++) {
		uint32_t v = (uint32_t)rng();

		assert_int_equal(nt_to_ntp32(nt_from_ntp32(v)), v);
	}
}

static void
test_timespec(void **state)
{
	static const struct {
		time_t	sec;
		long	nsec;
		nt_time	t;
	} cases[] = {
		{ 0, 0, 0 },
		{ 0, 1, 1 },
		{ 1, 500000000, 1500000000 },
		{ -1, 999999999, -1 },
		{ -1, 0, -NT_SEC },
		{ -2, 500000000, -1500000000 },
		{ 1735689600, 123456789, Y2025 + 123456789 },
		{ ROLLOVER_SEC, 0, ROLLOVER },
		{ 7258118400, 999999999, Y2200 + NT_SEC - 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct timespec ts = { cases[i].sec, cases[i].nsec };
		struct timespec back = nt_to_timespec(cases[i].t);

		assert_true(nt_from_timespec(&ts) == cases[i].t);
		assert_true(back.tv_sec == cases[i].sec);
		assert_int_equal(back.tv_nsec, cases[i].nsec);
	}
	for (int i = 0; i < 100000; i++) {
		nt_time t = (nt_time)rng();
		struct timespec ts = nt_to_timespec(t);

		assert_true(ts.tv_nsec >= 0 && ts.tv_nsec < NT_SEC);
		assert_true(nt_from_timespec(&ts) == t);
	}
}

static void
test_seconds(void **state)
{
	(void)state;
	assert_true(nt_from_sec(1.5) == 1500000000);
	assert_true(nt_from_sec(-1e-9) == -1);
	assert_true(nt_from_sec(-2.5) == -2500000000);
	assert_true(nt_from_sec(0.4e-9) == 0);
	assert_true(nt_add(Y2025, -0.25) == Y2025 - 250 * NT_MSEC);
	assert_true(nt_add(Y2025, 1e-6) == Y2025 + NT_USEC);
	assert_near(nt_diff(Y2025 + NT_SEC + 1, Y2025), 1.000000001, 1e-15);
	assert_near(nt_diff(Y2025, Y2025 + 3 * NT_MSEC), -0.003, 1e-15);
}

/* nt_from_sec() rounds as llround() does: half away from zero. */
static void
test_from_sec_rounds(void **state)
{
	static const double ns[] = { 0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5,
	    0.49999999999999994, -0.49999999999999994, 4503599627370495.5,
	    -4503599627370495.5, 9007199254740993.0, 0x1p61, -0x1p61, 0x1p62,
	    -0x1p62, 1e18, 1.7e18 };
	uint64_t x = 1;

	(void)state;
	for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
		assert_true(nt_from_sec(ns[i] / 1e9) ==
		    (nt_time)llround(ns[i] / 1e9 * 1e9));
	for (int i = 0; i < 100000; i++) {
		double s;

		x = x * 6364136223846793005u + 1442695040888963407u;
		s = ldexp((double)(x >> 11), -53) - 0.5;
		s = ldexp(s, (int)(x % 80) - 40);
		assert_true(nt_from_sec(s) == (nt_time)llround(s * 1e9));
	}
}

static void
test_format_utc(void **state)
{
	(void)state;
	assert_utc(0, "1970-01-01T00:00:00.000000000Z");
	assert_utc(-1, "1969-12-31T23:59:59.999999999Z");
	assert_utc(-NT_SEC, "1969-12-31T23:59:59.000000000Z");
	assert_utc(Y2000 + 1, "2000-01-01T00:00:00.000000001Z");
	assert_utc(Y2025 + 123456789, "2025-01-01T00:00:00.123456789Z");
	assert_utc(ROLLOVER, "2036-02-07T06:28:16.000000000Z");
	assert_utc(ROLLOVER - 1, "2036-02-07T06:28:15.999999999Z");
	assert_utc(Y2100, "2100-01-01T00:00:00.000000000Z");
	assert_utc(Y2200 + 999999999, "2200-01-01T00:00:00.999999999Z");
	assert_utc(INT64_MAX, "2262-04-11T23:47:16.854775807Z");
	assert_utc(INT64_MIN, "1677-09-21T00:12:43.145224192Z");
}

/* To the second, for people: the fraction is cut, never rounded up. */
static void
test_format_utc_sec(void **state)
{
	char buf[NT_TIMESTR_LEN];

	(void)state;
	assert_string_equal(nt_format_utc_sec(Y2025 + 999999999, buf,
	    sizeof buf), "2025-01-01T00:00:00Z");
	assert_string_equal(nt_format_utc_sec(-1, buf, sizeof buf),
	    "1969-12-31T23:59:59Z");
	assert_string_equal(nt_format_utc_sec(ROLLOVER, buf, sizeof buf),
	    "2036-02-07T06:28:16Z");
}

static void
assert_dur(double s, const char *want)
{
	char buf[NT_DURSTR_LEN];

	assert_string_equal(nt_format_dur(s, buf, sizeof(buf)), want);
}

static void
test_format_dur(void **state)
{
	char buf[NT_DURSTR_LEN];

	(void)state;
	assert_dur(0.0, "+0ns");
	assert_dur(-0.0, "+0ns");
	assert_dur(-0.4e-9, "+0ns");	/* rounds to zero: no sign */
	assert_dur(-0.6e-9, "-1ns");
	assert_dur(5e-9, "+5ns");
	assert_dur(-999e-9, "-999ns");
	assert_dur(12.3e-6, "+12.3us");
	assert_dur(-1.234e-3, "-1.234ms");
	assert_dur(0.5, "+500.000ms");
	assert_dur(1.0, "+1.000s");
	assert_dur(-2.5, "-2.500s");
	assert_dur(3600.0, "+3600.000s");
	/* Values that round up to the next unit are shown in it. */
	assert_dur(999.4e-9, "+999ns");
	assert_dur(999.6e-9, "+1.0us");
	assert_dur(-999.6e-9, "-1.0us");
	assert_dur(999.94e-6, "+999.9us");
	assert_dur(999.96e-6, "+1.000ms");
	assert_dur(0.9999994, "+999.999ms");
	assert_dur(0.9999996, "+1.000s");
	assert_dur(-0.9999996, "-1.000s");
	/* Never longer than the documented buffer, whatever the value. */
	nt_format_dur(-1e300, buf, sizeof(buf));
	assert_true(strlen(buf) < NT_DURSTR_LEN);
	nt_format_dur(NAN, buf, sizeof(buf));
	assert_non_null(strstr(buf, "nan"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ntp64_known),
		cmocka_unit_test(test_ntp64_roundtrip),
		cmocka_unit_test(test_ntp64_era),
		cmocka_unit_test(test_ntp64_rounding),
		cmocka_unit_test(test_ntp32),
		cmocka_unit_test(test_timespec),
		cmocka_unit_test(test_seconds),
		cmocka_unit_test(test_from_sec_rounds),
		cmocka_unit_test(test_format_utc),
		cmocka_unit_test(test_format_utc_sec),
		cmocka_unit_test(test_format_dur),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
