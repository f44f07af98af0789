/*
 * Tests for the polygon geometry under a source's estimate (polygon.c).
 * Every estimate and bound is a range, a centroid or a clip of these
 * polygons, so a wrong vertex would move the clock without any other test
 * seeing why.  Checked on shapes whose answers are known by hand: a square
 * cut by slabs at a slant, a slab that cuts nothing, and one that cuts
 * on one side only.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "minmax.h"
#include "polygon.h"

/* The square -1 <= a <= 1, -1 <= b <= 1, counter-clockwise. */
static void
square(struct nt_poly *p)
{
	static const double a[] = { -1, 1, 1, -1 }, b[] = { -1, -1, 1, 1 };

	p->n = 4;
	for (int i = 0; i < 4; i++) {
		p->a[i] = a[i];
		p->b[i] = b[i];
	}
}

/* Clip p to lo <= a + b x <= hi, as source_fit.c's intersect() does. */
static void
slab(const struct nt_poly *p, struct nt_poly *out, double x, double lo,
    double hi)
{
	struct nt_poly mid;

	nt_poly_clip(p, &mid, x, hi, 1.0);
	nt_poly_clip(&mid, out, x, lo, -1.0);
}

/* A slab that holds the whole square changes nothing and says so. */
static void
wide_slab_cuts_nothing(void **state)
{
	struct nt_poly p, q;

	(void)state;
	square(&p);
	assert_int_equal(nt_poly_cuts(&p, 0.5, -1.5, 1.5), 0);
	slab(&p, &q, 0.5, -1.5, 1.5);
	assert_int_equal(q.n, p.n);
	for (int i = 0; i < p.n; i++) {
		assert_true(q.a[i] == p.a[i]);
		assert_true(q.b[i] == p.b[i]);
	}
	/* Just outside at one corner: a + b x reaches 1.5 at (1, 1). */
	assert_int_equal(nt_poly_cuts(&p, 0.5, -1.5, 1.49), NT_CUT_HI);
	assert_int_equal(nt_poly_cuts(&p, 0.5, -1.49, 1.5), NT_CUT_LO);
}

/* A NaN bound cuts: the clip decides, as before. */
static void
nan_cuts(void **state)
{
	struct nt_poly p;

	(void)state;
	square(&p);
	assert_int_equal(nt_poly_cuts(&p, 0, NAN, 1), NT_CUT_LO);
	assert_int_equal(nt_poly_cuts(&p, 0, -1, NAN), NT_CUT_HI);
}

/*
 * Clipping by the one side that cuts gives what clipping by both does,
 * vertex for vertex: intersect() skips the side that does not.
 */
static void
one_side_as_both(void **state)
{
	struct nt_poly p, both, one;

	(void)state;
	square(&p);
	assert_int_equal(nt_poly_cuts(&p, 0.3, -2, 0.7), NT_CUT_HI);
	slab(&p, &both, 0.3, -2, 0.7);
	nt_poly_clip(&p, &one, 0.3, 0.7, 1.0);
	assert_int_equal(one.n, both.n);
	for (int i = 0; i < one.n; i++) {
		assert_true(one.a[i] == both.a[i]);
		assert_true(one.b[i] == both.b[i]);
	}
	assert_int_equal(nt_poly_cuts(&p, -0.3, -0.2, 2), NT_CUT_LO);
	slab(&p, &both, -0.3, -0.2, 2);
	nt_poly_clip(&p, &one, -0.3, -0.2, -1.0);
	assert_int_equal(one.n, both.n);
	for (int i = 0; i < one.n; i++) {
		assert_true(one.a[i] == both.a[i]);
		assert_true(one.b[i] == both.b[i]);
	}
}

/*
 * The slab -0.5 <= a + b <= 0.5 through the square: a hexagon with the
 * corners (1, -1) and (-1, 1) kept, symmetric about the origin.
 */
static void
slanted_slab_gives_hexagon(void **state)
{
	struct nt_poly p, q;
	double lo, hi, blo, bhi, ca, cb;

	(void)state;
	square(&p);
	assert_int_equal(nt_poly_cuts(&p, 1, -0.5, 0.5), NT_CUT_HI | NT_CUT_LO);
	slab(&p, &q, 1, -0.5, 0.5);
	assert_int_equal(q.n, 6);
	nt_poly_range(&q, 1, &lo, &hi, &blo, &bhi);
	assert_true(fabs(lo + 0.5) < 1e-12 && fabs(hi - 0.5) < 1e-12);
	assert_true(fabs(blo + 1) < 1e-12 && fabs(bhi - 1) < 1e-12);
	nt_poly_range(&q, 0, &lo, &hi, &blo, &bhi);
	assert_true(fabs(lo + 1) < 1e-12 && fabs(hi - 1) < 1e-12);
	nt_poly_centroid(&q, &ca, &cb);
	assert_true(fabs(ca) < 1e-12 && fabs(cb) < 1e-12);
	assert_int_equal(nt_poly_cuts(&q, 1, -0.5, 0.5), 0);
}

/* A slab that misses the square leaves nothing. */
static void
disjoint_slab_empties(void **state)
{
	struct nt_poly p, q;

	(void)state;
	square(&p);
	assert_int_equal(nt_poly_cuts(&p, 0, 2, 3), NT_CUT_LO);
	slab(&p, &q, 0, 2, 3);
	assert_int_equal(q.n, 0);
}

/* The inline fmin() and fmax() the geometry uses agree with libm's. */
static void
minmax_as_libm(void **state)
{
	static const double v[] = { -INFINITY, -1.5, -0.0, 0.0, 1e-300, 2.5,
	    INFINITY, NAN };
	size_t n = sizeof v / sizeof v[0];

	(void)state;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			double a = nt_fmin(v[i], v[j]), b = fmin(v[i], v[j]);
			double c = nt_fmax(v[i], v[j]), d = fmax(v[i], v[j]);

			assert_true(a == b || (isnan(a) && isnan(b)));
			assert_true(c == d || (isnan(c) && isnan(d)));
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wide_slab_cuts_nothing),
		cmocka_unit_test(nan_cuts),
		cmocka_unit_test(one_side_as_both),
		cmocka_unit_test(minmax_as_libm),
		cmocka_unit_test(slanted_slab_gives_hexagon),
		cmocka_unit_test(disjoint_slab_empties),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
