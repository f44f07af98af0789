/*
 * Convex polygons over (offset, frequency): clipping by half-planes, the
 * ranges, the centroid and a tilted density's mean.  See polygon.h for
 * why they live apart from the estimator.
 */
#include <assert.h>
#include <math.h>
#include <stdbool.h>

#include "minmax.h"
#include "polygon.h"

#define TILT_MIN 0.5		/* lambda times the polygon's width: flat */
#define TILT_SPAN 30.0		/* density e^-30 of its peak: no slices */
#define TILT_SLICES 24		/* 48 gives the same wan figures */

void
nt_poly_clip(const struct nt_poly *p, struct nt_poly *q, double x,
    double w, double sign)
{
	double f0 = p->n > 0 ? sign * (p->a[0] + p->b[0] * x - w) : 0;
	double fj = f0;

	q->n = 0;
	for (int i = 0; i < p->n; i++) {
		int j = i + 1 < p->n ? i + 1 : 0;
		double fi = fj;

		fj = j == 0 ? f0 : sign * (p->a[j] + p->b[j] * x - w);
		assert(q->n + 2 <= NT_POLY_MAX);
		if (fi <= 0) {
			q->a[q->n] = p->a[i];
			q->b[q->n++] = p->b[i];
		}
		if ((fi < 0 && fj > 0) || (fi > 0 && fj < 0)) {
			double t = fi / (fi - fj);

			q->a[q->n] = p->a[i] + t * (p->a[j] - p->a[i]);
			q->b[q->n++] = p->b[i] + t * (p->b[j] - p->b[i]);
		}
	}
}

unsigned
nt_poly_cuts(const struct nt_poly *p, double x, double lo, double hi)
{
	unsigned cuts = 0;

	for (int i = 0; i < p->n; i++) {
		double v = p->a[i] + p->b[i] * x;

		cuts |= (v <= hi ? 0 : NT_CUT_HI) | (v >= lo ? 0 : NT_CUT_LO);
	}
	return (cuts);
}

void
nt_poly_range(const struct nt_poly *p, double x, double *lo, double *hi,
    double *blo, double *bhi)
{
	*lo = *blo = INFINITY;
	*hi = *bhi = -INFINITY;
	for (int i = 0; i < p->n; i++) {
		*lo = nt_fmin(*lo, p->a[i] + p->b[i] * x);
		*hi = nt_fmax(*hi, p->a[i] + p->b[i] * x);
		*blo = nt_fmin(*blo, p->b[i]);
		*bhi = nt_fmax(*bhi, p->b[i]);
	}
}

void
nt_poly_centroid(const struct nt_poly *p, double *a, double *b)
{
	double area = 0, ca = 0, cb = 0, a0 = p->a[0], b0 = p->b[0];
	double lo, hi, blo, bhi;

	for (int i = 0; i < p->n; i++) {
		int j = (i + 1) % p->n;
		double ai = p->a[i] - a0, bi = p->b[i] - b0;
		double aj = p->a[j] - a0, bj = p->b[j] - b0;
		double cross = ai * bj - aj * bi;

		area += cross;
		ca += (ai + aj) * cross;
		cb += (bi + bj) * cross;
	}
	nt_poly_range(p, 0, &lo, &hi, &blo, &bhi);
	if (area == 0 || fabs(area) <= 1e-9 * (hi - lo) * (bhi - blo)) {
		*a = (lo + hi) / 2;
		*b = (blo + bhi) / 2;
		return;
	}
	*a = a0 + ca / (3 * area);
	*b = b0 + cb / (3 * area);
}

/*
 * The ends of the chord the line a + b xm = g cuts from the polygon, as
 * values of b; false if the line misses it.  gv: each vertex's a + b xm.
 */
static bool
poly_chord(const struct nt_poly *p, const double *gv, double g, double *b1,
    double *b2)
{
	*b1 = INFINITY;
	*b2 = -INFINITY;
	for (int i = 0; i < p->n; i++) {
		int j = i + 1 < p->n ? i + 1 : 0;
		double fi = gv[i] - g, fj = gv[j] - g;
		double b;

		if ((fi <= 0) == (fj <= 0) && fi != 0)
			continue;
		b = fi == fj ? p->b[i] : p->b[i] + fi / (fi - fj) *
		    (p->b[j] - p->b[i]);
		*b1 = nt_fmin(*b1, b);
		*b2 = nt_fmax(*b2, b);
	}
	return (*b1 <= *b2);
}

/*
 * The mean of the density exp(lambda g), g = a + b xm, over the polygon:
 * summed over thin slices across g (a chord's length in b is its area,
 * since da db = dg db).  Where the density is e^-TILT_SPAN of its peak or
 * less, the slices stop.
 */
void
nt_poly_tilted_mean(const struct nt_poly *p, double xm, double lambda,
    double *a, double *b)
{
	double glo, ghi, gtop, dg, w, sw = 0, sa = 0, sb = 0, b1, b2;
	double gv[NT_POLY_MAX];		/* each vertex's g */

	nt_poly_range(p, xm, &glo, &ghi, &b1, &b2);
	if (fabs(lambda) * (ghi - glo) < TILT_MIN) {
		nt_poly_centroid(p, a, b);
		return;
	}
	if (lambda > 0)
		glo = nt_fmax(glo, ghi - TILT_SPAN / lambda);
	else
		ghi = nt_fmin(ghi, glo - TILT_SPAN / lambda);
	gtop = lambda > 0 ? ghi : glo;
	dg = (ghi - glo) / TILT_SLICES;
	for (int i = 0; i < p->n; i++)
		gv[i] = p->a[i] + p->b[i] * xm;
	for (int k = 0; k < TILT_SLICES; k++) {
		double g = glo + (k + 0.5) * dg, bm;

		if (!poly_chord(p, gv, g, &b1, &b2))
			continue;
		w = (b2 - b1) * exp(lambda * (g - gtop));
		bm = (b1 + b2) / 2;
		sw += w;
		sa += w * (g - bm * xm);
		sb += w * bm;
	}
	if (!(sw > 0)) {
		nt_poly_centroid(p, a, b);
		return;
	}
	*a = sa / sw;
	*b = sb / sw;
}

void
nt_poly_peak(const struct nt_poly *p, struct nt_poly *q, double x,
    double lambda, double span)
{
	double glo, ghi, blo, bhi;

	assert(lambda != 0);
	nt_poly_range(p, x, &glo, &ghi, &blo, &bhi);
	if (lambda > 0)
		nt_poly_clip(p, q, x, ghi - span / lambda, -1.0);
	else
		nt_poly_clip(p, q, x, glo - span / lambda, 1.0);
}
