/*
 * What a source's samples say about our clock: a "two-dimensional
 * Marzullo" over offset and frequency.
 *
 * A sample's offset is wrong by at most half its delay above the path's
 * true minimum delay: for each sample the truth lies in a slab of
 * (offset now, frequency) pairs, widened for how far the frequency may
 * have wandered since it was taken.  The slabs' intersection is a convex
 * polygon that must hold the truth; it gives an honest interval for the
 * offset and the frequency, and its centroid is the estimate when both
 * directions of the path jitter alike.  When they do not (a congested
 * uplink), the offsets lean on one edge of the delay/offset wedge; a
 * weighted regression on time and excess delay measures that lean and
 * follows it to the minimum delay.
 *
 * Two things are learnt on the way: the path's minimum delay (over many
 * more samples than the window holds), and how fast our oscillator
 * wanders (from how much the frequency estimates move over a window's
 * length: an Allan variance).  The estimate assumes less wander than the
 * bounds do: fewer samples are discarded as stale, while the bounds stay
 * honest.
 */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "source_fit.h"

#define POLY_MAX (2 * NT_HIST_MAX + 8)
#define FREQ_BOX 0.1		/* s/s: no clock we steer is further off */
#define SAMPLE_FLOOR 1e-7	/* s: timestamping error we always allow */
#define BASE_K 4.0		/* see base_uncertainty() */
#define FLOOR_MIN_N 3		/* delays before their spread means much */
#define FLOOR_RESET_N 16	/* samples before the floor may be reset */
#define FLOOR_RESET_K 4.0
#define WANDER_K 3.0		/* wander allowance, standard deviations */
#define WANDER_INIT 1e-17	/* (s/s)^2/s the estimate assumes at first */
#define WANDER_INIT_BOUND 1e-14	/* the bounds: a bad crystal, at first */
#define WANDER_MIN 1e-22
#define WANDER_MAX 1e-10
#define WANDER_EST 0.3		/* the estimate assumes this much of it */
#define WANDER_BOUND 100.0	/* the bounds this much more again */
#define WANDER_LAG_MIN 256.0	/* s: shortest lag of the Allan variance */
#define WANDER_WINDOW_N 8	/* samples in a window worth comparing */
#define WANDER_MIN_N 4		/* estimates before we trust them */
#define CHI2_MEDIAN 0.455	/* median of chi-square with 1 d.o.f. */
#define LEAN_MIN_N 4		/* samples before the lean is measured */
#define LEAN_LO 0.1		/* below: symmetric jitter, the centroid */
#define LEAN_HI 0.3		/* above: all lean */
#define LEAN_BIAS 0.5		/* of the gap expected below the floor */

struct poly {
	int	n;
	double	a[POLY_MAX];	/* offset at the newest sample, s */
	double	b[POLY_MAX];	/* frequency, s/s */
};

/* Into q, the part of the convex polygon p where sign * (a + b x - w) <= 0. */
static void
poly_clip(const struct poly *p, struct poly *q, double x, double w,
    double sign)
{
	q->n = 0;
	for (int i = 0; i < p->n; i++) {
		int j = i + 1 < p->n ? i + 1 : 0;
		double fi = sign * (p->a[i] + p->b[i] * x - w);
		double fj = sign * (p->a[j] + p->b[j] * x - w);

		assert(q->n + 2 <= POLY_MAX);
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

/* Range of a + b x, and of b, over the polygon. */
static void
poly_range(const struct poly *p, double x, double *lo, double *hi,
    double *blo, double *bhi)
{
	*lo = *blo = INFINITY;
	*hi = *bhi = -INFINITY;
	for (int i = 0; i < p->n; i++) {
		*lo = fmin(*lo, p->a[i] + p->b[i] * x);
		*hi = fmax(*hi, p->a[i] + p->b[i] * x);
		*blo = fmin(*blo, p->b[i]);
		*bhi = fmax(*bhi, p->b[i]);
	}
}

/* Centroid of the area; the middle when it has no area to speak of. */
static void
poly_centroid(const struct poly *p, double *a, double *b)
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
	poly_range(p, 0, &lo, &hi, &blo, &bhi);
	if (area == 0 || fabs(area) <= 1e-9 * (hi - lo) * (bhi - blo)) {
		*a = (lo + hi) / 2;
		*b = (blo + bhi) / 2;
		return;
	}
	*a = a0 + ca / (3 * area);
	*b = b0 + cb / (3 * area);
}

/* ---- The path's minimum delay ---- */

/* Keep v among the NT_FLOOR_N smallest of d[] (ascending). */
static void
insert_floor(double *d, double v)
{
	for (int k = 0; k < NT_FLOOR_N; k++) {
		if (v < d[k]) {
			double t = d[k];

			d[k] = v;
			v = t;
		}
	}
}

/*
 * The smallest delays ever seen: the longer we watch, the closer they
 * come to the path's true minimum, on which the error bounds hang.  When
 * a whole window of samples says the path has become slower (a new
 * route), they are forgotten.
 */
void
nt_fit_floor(struct nt_source *s, const struct nt_sample *smp)
{
	double w[NT_FLOOR_N];

	insert_floor(s->floor, smp->delay);
	s->floor_n++;
	if (s->n_hist < FLOOR_RESET_N)
		return;
	for (int k = 0; k < NT_FLOOR_N; k++)
		w[k] = INFINITY;
	for (int i = 0; i < s->n_hist; i++)
		insert_floor(w, s->hist[i].delay);
	if (w[0] - s->floor[0] > FLOOR_RESET_K * (w[2] - w[0])) {
		memcpy(s->floor, w, sizeof w);
		s->floor_n = s->n_hist;
	}
}

/*
 * How far below the smallest delay seen the true minimum may be: a few
 * times the mean gap between the smallest delays (for delays rising like
 * a ramp from the minimum the first gap is a quarter of that distance;
 * for exponential ones, all of it).  With fewer samples, half the
 * smallest delay, NTP's own worst case.
 */
static double
base_uncertainty(const struct nt_source *s)
{
	const double *d = s->floor;
	int m = NT_FLOOR_N;

	while (m > 0 && !isfinite(d[m - 1]))
		m--;
	if (m < FLOOR_MIN_N)
		return (d[0] / 2);
	return (fmin(d[0] / 2, BASE_K * (d[m - 1] - d[0]) / (m - 1)));
}

/* ---- The wander ---- */

double
nt_fit_wander_tol(double q, double age)
{
	age = fmax(age, 0.0);
	return (WANDER_K * sqrt(q * age * age * age / 3));
}

static double
median(const double *v, int n)
{
	double t[NT_WQ_N];

	assert(n > 0 && n <= NT_WQ_N);
	memcpy(t, v, (size_t)n * sizeof t[0]);
	for (int i = 1; i < n; i++) {
		for (int j = i; j > 0 && t[j - 1] > t[j]; j--) {
			double x = t[j];

			t[j] = t[j - 1];
			t[j - 1] = x;
		}
	}
	return (n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2);
}

/* Drop the oldest frequency record when the table is full. */
static void
fh_make_room(struct nt_source *s)
{
	size_t n = NT_FH_N - 1;

	if (s->fh_n < NT_FH_N)
		return;
	memmove(s->fh_t, s->fh_t + 1, n * sizeof s->fh_t[0]);
	memmove(s->fh_f, s->fh_f + 1, n * sizeof s->fh_f[0]);
	memmove(s->fh_ok, s->fh_ok + 1, n * sizeof s->fh_ok[0]);
	s->fh_n--;
}

/*
 * How fast the frequency wanders: how much our frequency estimates
 * (undone of our own corrections) moved over a window's length, squared
 * and per second.  Their own errors count too, which errs on the safe
 * side; the median of the last few resists outliers such as steps.
 */
void
nt_fit_learn_wander(struct nt_source *s)
{
	double f = s->est_freq + s->freq_shift, lag, d;
	nt_time now = s->est_t;
	int k;

	if (isinf(s->est_freq_var))
		return;
	fh_make_room(s);
	lag = fmax(nt_diff(now, s->hist[0].t), WANDER_LAG_MIN);
	for (k = s->fh_n - 1; k >= 0 && nt_diff(now, s->fh_t[k]) < lag; k--)
		;
	if (k >= 0 && s->fh_ok[k]) {
		d = f - s->fh_f[k];
		s->wq[s->wander_n++ % NT_WQ_N] = d * d / nt_diff(now,
		    s->fh_t[k]);
		s->wander_est = median(s->wq, s->wander_n < NT_WQ_N ?
		    s->wander_n : NT_WQ_N) / CHI2_MEDIAN;
	}
	s->fh_t[s->fh_n] = now;
	s->fh_f[s->fh_n] = f;
	/* Only windows long enough for their slope to mean something. */
	s->fh_ok[s->fh_n++] = s->n_hist >= WANDER_WINDOW_N &&
	    nt_diff(now, s->hist[0].t) >= WANDER_LAG_MIN;
}

/* The wander the estimate and the bounds assume. */
static void
wander_levels(struct nt_source *s)
{
	bool known = s->wander_n >= WANDER_MIN_N;
	double q = known ? fmax(WANDER_EST * s->wander_est, WANDER_MIN) :
	    WANDER_INIT;

	s->wander = fmin(q * s->wander_mult, WANDER_MAX);
	s->wander_bound = fmin(fmax(s->wander * WANDER_BOUND, known ? 0.0 :
	    WANDER_INIT_BOUND), WANDER_MAX);
}

/* ---- The fit ---- */

/* Half-widths of the samples' slabs for wander q; x: age, negative. */
static void
slabs(const struct nt_source *s, double q, double *x, double *hw)
{
	const struct nt_sample *h = s->hist, *last = &h[s->n_hist - 1];

	for (int i = 0; i < s->n_hist; i++) {
		double age = nt_diff(last->t, h[i].t);

		x[i] = -age;
		hw[i] = (h[i].delay - s->floor[0]) / 2 + s->base + s->slack +
		    h[i].disp + SAMPLE_FLOOR + nt_fit_wander_tol(q, age);
	}
}

/*
 * Intersect the slabs from the newest back to hist[first]; returns how
 * many agree (the newest ones, up to the first that does not).
 */
static int
intersect(const struct nt_source *s, int first, const double *x,
    const double *hw, struct poly *out)
{
	const struct nt_sample *h = s->hist;
	struct poly buf[3], *p = &buf[0], *mid = &buf[1], *next = &buf[2], *t;
	int n = s->n_hist, k;

	mid->n = next->n = 0;
	p->n = 4;
	p->a[0] = p->a[3] = h[n - 1].offset - hw[n - 1];
	p->a[1] = p->a[2] = h[n - 1].offset + hw[n - 1];
	p->b[0] = p->b[1] = -FREQ_BOX;
	p->b[2] = p->b[3] = FREQ_BOX;
	for (k = n - 2; k >= first; k--) {
		poly_clip(p, mid, x[k], h[k].offset + hw[k], 1.0);
		poly_clip(mid, next, x[k], h[k].offset - hw[k], -1.0);
		if (next->n == 0)
			break;		/* p stays as it was */
		t = p, p = next, next = t;
	}
	out->n = p->n;
	memcpy(out->a, p->a, (size_t)p->n * sizeof p->a[0]);
	memcpy(out->b, p->b, (size_t)p->n * sizeof p->b[0]);
	return (n - 1 - k);
}

/* The weighted sums the lean regression needs, centred. */
struct wedge {
	double	mx, me, my;	/* weighted means: age, excess, offset */
	double	xx, xe, ee, xy, ey;
	double	sum_e;		/* plain sum of excess delays */
};

static void
wedge_sums(const struct nt_source *s, int first, const double *x,
    struct wedge *w)
{
	const struct nt_sample *h = s->hist;
	double wt[NT_HIST_MAX], e[NT_HIST_MAX], W = 0;

	memset(w, 0, sizeof *w);
	for (int i = first; i < s->n_hist; i++) {
		double v = h[i].delay - s->floor[0] + 2 * s->base, age = -x[i];

		e[i] = h[i].delay - s->floor[0];
		wt[i] = 1 / (v * v / 12 + SAMPLE_FLOOR * SAMPLE_FLOOR +
		    s->wander * age * age * age / 3);
		W += wt[i];
		w->mx += wt[i] * x[i];
		w->me += wt[i] * e[i];
		w->my += wt[i] * h[i].offset;
		w->sum_e += e[i];
	}
	w->mx /= W, w->me /= W, w->my /= W;
	for (int i = first; i < s->n_hist; i++) {
		double dx = x[i] - w->mx, de = e[i] - w->me;
		double dy = h[i].offset - w->my;

		w->xx += wt[i] * dx * dx;
		w->xe += wt[i] * dx * de;
		w->ee += wt[i] * de * de;
		w->xy += wt[i] * dx * dy;
		w->ey += wt[i] * de * dy;
	}
}

/*
 * Regress offset on time and excess delay (weights: a sample's error is
 * spread over its excess).  Returns the lean c, in [-1/2, 1/2]: -1/2 when
 * all the jitter is on the way back.  a, b: offset and frequency at the
 * true minimum delay (the floor, less what we expect it still lacks).
 */
static double
wedge_fit(const struct nt_source *s, int first, const double *x, double *a,
    double *b)
{
	struct wedge w;
	double det, c = 0;
	int n = s->n_hist - first;

	wedge_sums(s, first, x, &w);
	det = w.xx * w.ee - w.xe * w.xe;
	if (n >= LEAN_MIN_N && det > 1e-9 * w.xx * w.ee)
		c = fmax(-0.5, fmin(0.5, (w.xx * w.ey - w.xe * w.xy) / det));
	*b = w.xx > 0 ? (w.xy - c * w.xe) / w.xx : 0.0;
	*a = w.my - *b * w.mx - c * w.me;
	/* The floor is above the true minimum by about mean excess / seen. */
	*a -= LEAN_BIAS * c * w.sum_e / n / fmax(s->floor_n, 1);
	return (c);
}

static void
set_bounds(struct nt_source *s, const struct poly *p)
{
	double r;

	poly_range(p, 0, &s->est_lo, &s->est_hi, &s->freq_lo, &s->freq_hi);
	r = (s->est_hi - s->est_lo) / 2;
	s->est_var = r * r / 3;
	r = (s->freq_hi - s->freq_lo) / 2;
	s->est_freq_var = r < FREQ_BOX * 0.99 ? r * r / 3 : INFINITY;
}

/* The centroid, moved toward the lean's estimate as far as it leans. */
static void
set_estimate(struct nt_source *s, const struct poly *p, const double *x,
    int used)
{
	const struct nt_sample *h = s->hist;
	double a, b, c, w, lo, hi, blo, bhi, sum = 0;
	int n = s->n_hist;

	s->est_t = h[n - 1].t;
	poly_centroid(p, &s->est_offset, &s->est_freq);
	poly_range(p, 0, &lo, &hi, &blo, &bhi);
	c = wedge_fit(s, n - used, x, &a, &b);
	w = fmax(0, fmin(1, (fabs(c) - LEAN_LO) / (LEAN_HI - LEAN_LO)));
	s->est_offset += w * (fmax(lo, fmin(hi, a)) - s->est_offset);
	s->est_freq += w * (fmax(blo, fmin(bhi, b)) - s->est_freq);
	for (int i = n - used; i < n; i++) {
		double r = h[i].offset - s->est_offset - s->est_freq * x[i];

		sum += r * r;
	}
	s->jitter = sqrt(sum / used);
}

int
nt_fit(struct nt_source *s)
{
	double x[NT_HIST_MAX] = { 0 }, hw[NT_HIST_MAX] = { 0 };
	struct poly p;
	int used;

	assert(s->n_hist > 0 && s->n_hist <= NT_HIST_MAX);
	s->min_delay = s->floor[0];
	s->base = base_uncertainty(s);
	wander_levels(s);
	slabs(s, s->wander, x, hw);
	used = intersect(s, 0, x, hw, &p);
	set_estimate(s, &p, x, used);
	/* The same samples, allowing for more wander: the bounds. */
	slabs(s, s->wander_bound, x, hw);
	intersect(s, s->n_hist - used, x, hw, &p);
	set_bounds(s, &p);
	return (used);
}
