/*
 * The rate limiter: token bucket arithmetic in virtual time, KoD at most
 * once per interval, the loopback exemption, and the two properties that
 * matter under attack: memory does not grow with the number of source
 * addresses (100,000 of them here), and a well-behaved client is always
 * answered while another floods -- also when the flood comes with a
 * spray of spoofed addresses trying to push the flooder's entry out.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ratelimit.h"

#define T0 (INT64_C(1800000000) * NT_SEC)

static struct nt_ipaddr
ip(const char *s)
{
	struct nt_ipaddr a;

	assert_int_equal(nt_ipaddr_parse(&a, s), 0);
	return (a);
}

/* 10.x.y.z for i, or 2001:db8::i for odd families. */
static struct nt_ipaddr
nth(uint32_t i, bool v6)
{
	char buf[64];

	if (v6)
		snprintf(buf, sizeof buf, "2001:db8::%x:%x", i >> 16,
		    i & 0xffff);
	else
		snprintf(buf, sizeof buf, "10.%u.%u.%u", (i >> 16) & 0xff,
		    (i >> 8) & 0xff, i & 0xff);
	return (ip(buf));
}

static struct nt_ratelimit_params
params(double interval, double burst, bool kod)
{
	return ((struct nt_ratelimit_params){ .interval = interval,
	    .burst = burst, .kod = kod, .loopback = false,
	    .entries = 1024 });
}

static void
test_bucket(void **state)
{
	struct nt_ratelimit_params p = params(2.0, 4, true);
	struct nt_ipaddr a = ip("192.0.2.1");
	struct nt_ratelimit rl;
	nt_time t = T0;

	(void)state;
	assert_int_equal(nt_ratelimit_init(&rl, &p, NULL), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(nt_ratelimit_check(&rl, &a, t), NT_RL_PASS);
	/* Empty: one KoD, then silence until an interval has passed. */
	assert_int_equal(nt_ratelimit_check(&rl, &a, t), NT_RL_KOD);
	assert_int_equal(nt_ratelimit_check(&rl, &a, t), NT_RL_DROP);
	assert_int_equal(nt_ratelimit_check(&rl, &a, t + NT_SEC), NT_RL_DROP);
	/* One token after 2 s, and the KoD credit is back too. */
	t += 2 * NT_SEC;
	assert_int_equal(nt_ratelimit_check(&rl, &a, t), NT_RL_PASS);
	assert_int_equal(nt_ratelimit_check(&rl, &a, t), NT_RL_KOD);
	assert_int_equal(nt_ratelimit_check(&rl, &a, t), NT_RL_DROP);
	/* A long silence refills to the burst, not beyond. */
	t += 3600 * NT_SEC;
	for (int i = 0; i < 4; i++)
		assert_int_equal(nt_ratelimit_check(&rl, &a, t), NT_RL_PASS);
	assert_int_equal(nt_ratelimit_check(&rl, &a, t), NT_RL_KOD);
	/* A client at the sustained rate is never limited. */
	for (int i = 0; i < 1000; i++) {
		t += 2 * NT_SEC;
		assert_int_equal(nt_ratelimit_check(&rl, &a, t), NT_RL_PASS);
	}
	/* The clock going back gives no tokens and breaks nothing. */
	assert_int_equal(nt_ratelimit_check(&rl, &a, t - 100 * NT_SEC),
	    NT_RL_KOD);
	assert_int_equal(nt_ratelimit_check(&rl, &a, t - 200 * NT_SEC),
	    NT_RL_DROP);
	assert_int_equal(nt_ratelimit_check(&rl, &a, t + 2 * NT_SEC),
	    NT_RL_PASS);
	nt_ratelimit_free(&rl);
}

/*
 * Our clock stepped back an hour: a limited client refills from the
 * step on, instead of staying silenced until the clock is back where
 * it was.  The same for a denied client's KoD credit.
 */
static void
test_clock_stepped_back(void **state)
{
	struct nt_ratelimit_params p = params(1.0, 2, true);
	struct nt_ipaddr a = ip("192.0.2.1"), d = ip("192.0.2.2");
	struct nt_ratelimit rl;
	nt_time t = T0;

	(void)state;
	assert_int_equal(nt_ratelimit_init(&rl, &p, NULL), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(nt_ratelimit_check(&rl, &a, t), NT_RL_PASS);
	assert_int_equal(nt_ratelimit_check(&rl, &a, t), NT_RL_KOD);
	assert_true(nt_ratelimit_kod_ok(&rl, &d, t));
	assert_false(nt_ratelimit_kod_ok(&rl, &d, t));
	t -= 3600 * NT_SEC;
	assert_int_equal(nt_ratelimit_check(&rl, &a, t), NT_RL_DROP);
	assert_false(nt_ratelimit_kod_ok(&rl, &d, t));
	t += 2 * NT_SEC;
	assert_int_equal(nt_ratelimit_check(&rl, &a, t), NT_RL_PASS);
	assert_true(nt_ratelimit_kod_ok(&rl, &d, t));
	nt_ratelimit_free(&rl);
}

static void
test_no_kod_and_off(void **state)
{
	struct nt_ratelimit_params p = params(1.0, 1, false);
	struct nt_ipaddr a = ip("192.0.2.1");
	struct nt_ratelimit rl;

	(void)state;
	assert_int_equal(nt_ratelimit_init(&rl, &p, NULL), 0);
	assert_int_equal(nt_ratelimit_check(&rl, &a, T0), NT_RL_PASS);
	assert_int_equal(nt_ratelimit_check(&rl, &a, T0), NT_RL_DROP);
	assert_int_equal(nt_ratelimit_check(&rl, &a, T0), NT_RL_DROP);
	nt_ratelimit_free(&rl);
	/* interval 0: no limit at all, and no table use. */
	p = params(0, 1, true);
	assert_int_equal(nt_ratelimit_init(&rl, &p, NULL), 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(nt_ratelimit_check(&rl, &a, T0), NT_RL_PASS);
	assert_int_equal(nt_ratelimit_used(&rl), 0);
	/* Denied clients still get at most one KoD a second. */
	assert_true(nt_ratelimit_kod_ok(&rl, &a, T0));
	assert_false(nt_ratelimit_kod_ok(&rl, &a, T0));
	assert_false(nt_ratelimit_kod_ok(&rl, &a, T0 + NT_SEC / 2));
	assert_true(nt_ratelimit_kod_ok(&rl, &a, T0 + NT_SEC));
	nt_ratelimit_free(&rl);
}

static void
test_loopback(void **state)
{
	struct nt_ratelimit_params p = params(1.0, 1, true);
	const char *lo[] = { "127.0.0.1", "127.9.9.9", "::1",
	    "::ffff:127.0.0.1" };
	struct nt_ratelimit rl;
	struct nt_ipaddr a;

	(void)state;
	assert_int_equal(nt_ratelimit_init(&rl, &p, NULL), 0);
	for (size_t k = 0; k < 4; k++) {
		a = ip(lo[k]);
		for (int i = 0; i < 100; i++)
			assert_int_equal(nt_ratelimit_check(&rl, &a, T0),
			    NT_RL_PASS);
	}
	nt_ratelimit_free(&rl);
	p.loopback = true;
	assert_int_equal(nt_ratelimit_init(&rl, &p, NULL), 0);
	a = ip("127.0.0.1");
	assert_int_equal(nt_ratelimit_check(&rl, &a, T0), NT_RL_PASS);
	assert_int_equal(nt_ratelimit_check(&rl, &a, T0), NT_RL_KOD);
	nt_ratelimit_free(&rl);
}

static void
test_table_size(void **state)
{
	struct nt_ratelimit_params p = params(1.0, 1, true);
	struct nt_ratelimit rl;

	(void)state;
	p.entries = 1000;		/* rounded down to a power of two */
	assert_int_equal(nt_ratelimit_init(&rl, &p, NULL), 0);
	assert_int_equal(rl.p.entries, 512);
	assert_int_equal(nt_ratelimit_bytes(&rl), 512 * sizeof(struct
	    nt_rl_entry));
	nt_ratelimit_free(&rl);
	p.entries = 1;			/* raised to the minimum */
	assert_int_equal(nt_ratelimit_init(&rl, &p, NULL), 0);
	assert_int_equal(rl.p.entries, NT_RL_MIN_ENTRIES);
	nt_ratelimit_free(&rl);
}

/* 100,000 addresses: the table neither grows nor loses its flooder. */
static void
test_bounded_memory(void **state)
{
	struct nt_ratelimit_params p = params(1.0, 8, true);
	struct nt_ipaddr flooder = ip("198.51.100.7"), a;
	uint8_t key[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 };
	struct nt_ratelimit rl;
	size_t bytes, passed = 0;
	nt_time t = T0;

	(void)state;
	p.entries = 4096;
	assert_int_equal(nt_ratelimit_init(&rl, &p, key), 0);
	bytes = nt_ratelimit_bytes(&rl);
	for (uint32_t i = 0; i < 100000; i++) {
		t += 10 * NT_USEC;
		a = nth(i, i % 2 == 1);
		/* Every new address gets its first request answered. */
		assert_int_equal(nt_ratelimit_check(&rl, &a, t), NT_RL_PASS);
		if (i % 4 == 0)
			passed += nt_ratelimit_check(&rl, &flooder, t) ==
			    NT_RL_PASS;
	}
	assert_int_equal(nt_ratelimit_bytes(&rl), bytes);
	assert_int_equal(nt_ratelimit_used(&rl), 4096);
	assert_true(rl.evictions >= 100000 - 4096);
	/* 1 s of flooding at 25,000/s: the burst and one more token. */
	assert_true(passed >= 8 && passed <= 8 + 2);
	nt_ratelimit_free(&rl);
}

/* A good client polling every 2 s is never limited by a flood. */
static void
test_second_client_served(void **state)
{
	struct nt_ratelimit_params p = params(1.0, 16, true);
	struct nt_ipaddr flooder = ip("192.0.2.66"), good = ip("2001:db8::5");
	struct nt_ratelimit rl;
	uint64_t flood_pass = 0, flood_kod = 0;
	nt_time t = T0, next_good = T0;
	int good_asked = 0;

	(void)state;
	p.entries = 16384;
	assert_int_equal(nt_ratelimit_init(&rl, &p, NULL), 0);
	/* 60 s of 50,000 requests a second, plus 10 spoofed ones per ms. */
	for (int ms = 0; ms < 60000; ms++, t += NT_MSEC) {
		for (int k = 0; k < 50; k++) {
			enum nt_rl_verdict v = nt_ratelimit_check(&rl,
			    &flooder, t);

			flood_pass += v == NT_RL_PASS;
			flood_kod += v == NT_RL_KOD;
		}
		for (int k = 0; k < 10; k++) {
			struct nt_ipaddr a = nth((uint32_t)(ms * 10 + k),
			    false);

			(void)nt_ratelimit_check(&rl, &a, t);
		}
		if (t >= next_good) {
			assert_int_equal(nt_ratelimit_check(&rl, &good, t),
			    NT_RL_PASS);
			good_asked++;
			next_good += 2 * NT_SEC;
		}
	}
	assert_int_equal(good_asked, 30);
	/* Burst plus one a second; a KoD at most once a second. */
	assert_true(flood_pass >= 16 + 58 && flood_pass <= 16 + 61);
	assert_true(flood_kod >= 1 && flood_kod <= 61);
	nt_ratelimit_free(&rl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_clock_stepped_back),
		cmocka_unit_test(test_no_kod_and_off),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_table_size),
		cmocka_unit_test(test_bounded_memory),
		cmocka_unit_test(test_second_client_served),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
