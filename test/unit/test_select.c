/*
 * Source selection: the intersection must outvote a minority of liars and
 * refuse to decide when there is no majority.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "select.h"

static void
cand(struct nt_candidate *c, double off, double dist)
{
	*c = (struct nt_candidate){ .offset = off, .distance = dist,
	    .var = 1e-8, .freq = 0, .freq_var = INFINITY, .stratum = 2 };
}

static void
two_of_five_falsetickers(void **state)
{
	struct nt_candidate c[5];
	struct nt_selection s;

	(void)state;
	cand(&c[0], 0.001, 0.010);
	cand(&c[1], -0.002, 0.010);
	cand(&c[2], 0.000, 0.010);
	cand(&c[3], 0.050, 0.010);	/* 50 ms off */
	cand(&c[4], 1.000, 0.010);	/* 1 s off */
	nt_select(c, 5, 1, false, &s);
	assert_true(s.ok);
	assert_int_equal(s.n_truechimers, 3);
	assert_true(c[0].truechimer && c[1].truechimer && c[2].truechimer);
	assert_false(c[3].truechimer);
	assert_false(c[4].truechimer);
	assert_false(c[3].combined || c[4].combined);
	assert_true(fabs(s.offset + 0.000333) < 1e-5);
	assert_true(fabs(s.lo + 0.009) < 1e-12 && fabs(s.hi - 0.008) < 1e-12);
}

static void
three_of_five_no_majority(void **state)
{
	struct nt_candidate c[5];
	struct nt_selection s;

	(void)state;
	cand(&c[0], 0.000, 0.010);
	cand(&c[1], 0.001, 0.010);
	cand(&c[2], 0.100, 0.010);
	cand(&c[3], 0.500, 0.010);
	cand(&c[4], -1.000, 0.010);
	nt_select(c, 5, 1, false, &s);
	assert_false(s.ok);
	assert_int_equal(s.selected, -1);
	assert_int_equal(s.n_truechimers, 0);
}

static void
two_sources_disagree(void **state)
{
	struct nt_candidate c[2];
	struct nt_selection s;

	(void)state;
	cand(&c[0], 0.0, 0.01);
	cand(&c[1], 1.0, 0.01);
	nt_select(c, 2, 1, false, &s);
	assert_false(s.ok);	/* 1 of 2 is not a majority */
}

static void
single_source(void **state)
{
	struct nt_candidate c[1];
	struct nt_selection s;

	(void)state;
	cand(&c[0], 0.25, 0.01);
	nt_select(c, 1, 1, false, &s);
	assert_true(s.ok);
	assert_int_equal(s.selected, 0);
	assert_true(fabs(s.offset - 0.25) < 1e-12);
	nt_select(c, 1, 2, false, &s);
	assert_false(s.ok);	/* min_sources 2 */
}

static void
touching_intervals_count(void **state)
{
	struct nt_candidate c[3];
	struct nt_selection s;

	(void)state;
	cand(&c[0], 0.0, 1.0);	/* [-1, 1] */
	cand(&c[1], 2.0, 1.0);	/* [1, 3]: touches at 1 */
	cand(&c[2], 5.0, 1.0);
	nt_select(c, 3, 1, false, &s);
	assert_true(s.ok);
	assert_int_equal(s.n_truechimers, 2);
	assert_true(s.lo == 1.0 && s.hi == 1.0);
}

static void
prefer_and_weights(void **state)
{
	struct nt_candidate c[3];
	struct nt_selection s;

	(void)state;
	cand(&c[0], 0.0010, 0.005);
	cand(&c[1], 0.0020, 0.004);
	cand(&c[2], 0.0015, 0.006);
	c[2].prefer = true;
	c[0].var = 1e-10;	/* much more precise: dominates the average */
	nt_select(c, 3, 1, false, &s);
	assert_true(s.ok);
	assert_int_equal(s.selected, 2);
	/* With a preferred peer only preferred sources are combined. */
	assert_true(c[2].combined && !c[0].combined && !c[1].combined);
	assert_true(fabs(s.offset - 0.0015) < 1e-12);
	c[2].prefer = false;
	nt_select(c, 3, 1, false, &s);
	assert_int_equal(s.selected, 1);	/* smallest distance */
	assert_true(fabs(s.offset - 0.0010) < 2e-5);
}

static void
far_truechimer_not_combined(void **state)
{
	struct nt_candidate c[3];
	struct nt_selection s;

	(void)state;
	cand(&c[0], 0.0, 0.001);
	cand(&c[1], 0.0, 0.001);
	cand(&c[2], 0.0, 0.5);		/* agrees, but 500x worse */
	nt_select(c, 3, 1, false, &s);
	assert_true(s.ok);
	assert_true(c[2].truechimer && !c[2].combined);
}

/* chrony's trust: two agreeing liars do not outvote a trusted source. */
static void
trusted_outvoted_still_wins(void **state)
{
	struct nt_candidate c[3];
	struct nt_selection s;

	(void)state;
	cand(&c[0], 0.000, 0.010);
	cand(&c[1], 0.100, 0.010);	/* two falsetickers that agree */
	cand(&c[2], 0.105, 0.010);
	nt_select(c, 3, 1, false, &s);	/* untrusted: the two win */
	assert_true(s.ok && !c[0].truechimer && c[1].truechimer);
	c[0].trust = true;
	nt_select(c, 3, 1, false, &s);
	assert_true(s.ok);
	assert_int_equal(s.n_truechimers, 1);
	assert_int_equal(s.selected, 0);
	assert_true(c[0].truechimer && !c[1].truechimer && !c[2].truechimer);
	assert_true(s.offset == 0.0);
	assert_true(s.lo == -0.010 && s.hi == 0.010);
}

/* Trusted sources vote among themselves; untrusted ones cannot tip it. */
static void
trusted_majority(void **state)
{
	struct nt_candidate c[4];
	struct nt_selection s;

	(void)state;
	cand(&c[0], 0.000, 0.010);
	cand(&c[1], 0.200, 0.010);
	cand(&c[2], 0.001, 0.010);	/* untrusted, agrees with c[0] */
	c[0].trust = c[1].trust = true;
	nt_select(c, 3, 1, false, &s);
	assert_false(s.ok);		/* one of two trusted is no majority */
	assert_int_equal(s.selected, -1);
	cand(&c[3], 0.199, 0.010);	/* a third trusted, with c[1] */
	c[3].trust = true;
	nt_select(c, 4, 1, false, &s);
	assert_true(s.ok);
	assert_int_equal(s.n_truechimers, 2);
	assert_true(c[1].truechimer && c[3].truechimer);
	assert_false(c[0].truechimer || c[2].truechimer);
	assert_true(fabs(s.offset - 0.1995) < 1e-9);
}

/*
 * An untrusted source must lie within the trusted one's interval, or it
 * could pull the result out of it.
 */
static void
untrusted_within_trusted(void **state)
{
	struct nt_candidate c[3];
	struct nt_selection s;

	(void)state;
	cand(&c[0], 0.000, 0.001);	/* trusted: [-1, 1] ms */
	cand(&c[1], 0.004, 0.005);	/* holds it, reaches 9 ms */
	cand(&c[2], 0.0002, 0.0005);	/* wholly inside */
	c[0].trust = true;
	nt_select(c, 3, 1, false, &s);
	assert_true(s.ok);
	assert_true(c[0].truechimer && c[2].truechimer);
	assert_false(c[1].truechimer);
	assert_int_equal(s.n_truechimers, 2);
	c[0].trust = false;		/* plain Marzullo: all three agree */
	nt_select(c, 3, 1, false, &s);
	assert_int_equal(s.n_truechimers, 3);
}

/* chrony's require: no update unless a required source is a truechimer. */
static void
required_source(void **state)
{
	struct nt_candidate c[4];
	struct nt_selection s;

	(void)state;
	cand(&c[0], 0.000, 0.010);
	cand(&c[1], 0.001, 0.010);
	cand(&c[2], -0.001, 0.010);
	cand(&c[3], 0.500, 0.010);	/* a falseticker */
	/* Required ones configured, none among the candidates. */
	nt_select(c, 4, 1, true, &s);
	assert_false(s.ok);
	assert_true(s.no_required);
	assert_int_equal(s.n_truechimers, 3);
	assert_int_equal(s.selected, -1);
	/* The only required candidate is the falseticker. */
	c[3].require = true;
	nt_select(c, 4, 1, true, &s);
	assert_false(s.ok);
	assert_true(s.no_required);
	/* A required truechimer: an update, from all three. */
	c[1].require = true;
	nt_select(c, 4, 1, true, &s);
	assert_true(s.ok);
	assert_false(s.no_required);
	assert_true(c[0].combined && c[1].combined && c[2].combined);
	/* Without need_required the flags mean nothing. */
	c[1].require = false;
	nt_select(c, 4, 1, false, &s);
	assert_true(s.ok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(two_of_five_falsetickers),
		cmocka_unit_test(three_of_five_no_majority),
		cmocka_unit_test(two_sources_disagree),
		cmocka_unit_test(single_source),
		cmocka_unit_test(touching_intervals_count),
		cmocka_unit_test(prefer_and_weights),
		cmocka_unit_test(far_truechimer_not_combined),
		cmocka_unit_test(trusted_outvoted_still_wins),
		cmocka_unit_test(trusted_majority),
		cmocka_unit_test(untrusted_within_trusted),
		cmocka_unit_test(required_source),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
