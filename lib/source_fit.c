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
 * honest.  Between the two lies the likely interval (set_tight()): the
 * wander as measured, or as much as the window could hide before it is.
 * The polygons' geometry is polygon.c's.
 */
#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "minmax.h"
#include "polygon.h"
#include "source_fit.h"

_Static_assert(NT_POLY_MAX >= 4 + 2 * NT_HIST_MAX, "polygon too small");

#define FREQ_BOX 0.1		/* s/s: no clock we steer is further off */
#define SAMPLE_FLOOR 1e-7	/* s: timestamping error we always allow */
#define BASE_K 4.0		/* see base_uncertainty() */
#define FLOOR_MIN_N 3		/* delays before their spread means much */
#define FLOOR_RESET_P 1e-5	/* see slower_since() */
#define FLOOR_RESET_P_FEW 1e-7	/* the same, on fewer than a window */
#define FLOOR_RESET_N 16	/* the fewest delays it may rest on */
#define WANDER_K NT_WANDER_K
#define WANDER_INIT 1e-18	/* (s/s)^2/s the estimate assumes at first */
#define WANDER_INIT_BOUND 1e-14	/* the bounds: a bad crystal, at first */
#define WANDER_MIN 1e-22
#define WANDER_MAX 1e-10
#define WANDER_EST 0.3		/* the estimate assumes this much of it */
#define WANDER_BOUND 100.0	/* the bounds this much more again */
#define WANDER_LAG_MIN 256.0	/* s: shortest lag of the Allan variance */
#define WANDER_WINDOW_N 8	/* samples in a window worth comparing */
#define WANDER_MIN_N 4		/* estimates before we trust them */
#define EARLY_WANDER_K 3.0	/* see likely_wander() */
#define CHI2_MEDIAN 0.455	/* median of chi-square with 1 d.o.f. */
#define LEAN_MIN_N 4		/* samples before the lean is measured */
#define LEAN_LO 0.1		/* below: symmetric jitter, the centroid */
#define LEAN_HI 0.3		/* above: all lean */
#define LEAN_BIAS 0.5		/* of the gap expected below the floor */
#define TILT_MIN_N 16		/* samples before the edge is trusted */
#define TILT_Z 3.0		/* standard errors a lean must exceed */
#define TILT_ROUNDS 3		/* estimate, jitter, estimate... */
#define EDGE_TRIES 3		/* see edge_estimate() */
#define FLOOR_STEPS 16		/* see floor_excess(): within 0.5 % */
#define QUANTILE_STEPS 24	/* see floor_quantile(): to 2^-24 */
#define LIKELY_FLOOR_P 0.001	/* see set_tight() */
#define EDGE_WANDER 0.3		/* standard deviations, see edge_slabs() */
#define TIGHT_SPAN 20.0		/* density e^-20 of its peak: unlikely */
#define LIKELY_Z 2.0		/* see likely_wander() */
#define BEND_Z 3.0		/* see likely_wander() */
#define BEND_K 400.0		/* q T^3 over the mean square bend */
#define NOISE_BASE 0.5		/* floor allowances in a sample's scatter */
#define ROUTE_PRIOR 6.0		/* see route_shift() */
#define LEAN_Z 10.0		/* standard errors a lean must have to cut */
#define SD_LIKELY 3.5		/* see nt_fit() */

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

/* The delays remembered, newest first; returns how many. */
static int
newest_first(const struct nt_source *s, double *d)
{
	for (int k = 0; k < s->delays_n; k++)
		d[k] = s->delays[(s->delays_at - 1 - k + NT_DELAYS_N) %
		    NT_DELAYS_N];
	return (s->delays_n);
}

/*
 * log P that, the path unchanged, none of the n delays' j smallest is
 * among the newest k: C(n - k, j) / C(n, j).
 */
static double
log_p_none_newest(int n, int k, int j)
{
	return (lgamma(n - k + 1.0) - lgamma(n - k - j + 1.0) -
	    lgamma(n + 1.0) + lgamma(n - j + 1.0));
}

/*
 * The oldest of the newest k delays may be the old route's last: then
 * they are quicker than all of the newer half, and a floor that kept them
 * would stay below the new route's minimum, by as much as the route is
 * slower, for good.  Returns how many are left without them; 0 when
 * fewer than FLOOR_RESET_N are.
 */
static int
trim_stragglers(const double *d, int k)
{
	double m = INFINITY;

	for (int i = 0; i < k / 2; i++)
		m = nt_fmin(m, d[i]);
	while (k > 0 && d[k - 1] < m)
		k--;
	return (k < FLOOR_RESET_N ? 0 : k);
}

/*
 * Has the path become slower?  If it has not, the delays remembered
 * come in any order alike, and the chance that the newest k are all
 * above the j older ones below their smallest is C(n - k, j) / C(n, j),
 * whatever the delays' distribution.  Returns the k that makes it
 * least likely, once it is below FLOOR_RESET_P; 0: no change.  Only the
 * k just before an older, smaller delay need trying: between them the
 * smallest stays and the chance only falls.  The newest k are at least
 * FLOOR_RESET_N: a short run of slow delays comes by chance.  As every k
 * of every sample is tried, some chance falls below FLOOR_RESET_P now
 * and then (a month of wan: 0 to 2 times).  On a window of delays or
 * more that costs little, the new floor being near the minimum still;
 * on fewer it was a millisecond above it (8 times in six months of wan),
 * so those must be a hundred times less likely: FLOOR_RESET_P_FEW (none
 * since; a route whose k delays are all slower gives 1 / C(n, k)).
 */
static int
slower_since(const struct nt_source *s, double *d)
{
	double m = INFINITY, lp, best_lp = 0;
	double few = log(FLOOR_RESET_P_FEW), enough = log(FLOOR_RESET_P);
	int n = newest_first(s, d), best = 0;

	for (int k = 1; k < n; k++) {
		int j = 0;

		m = nt_fmin(m, d[k - 1]);
		if ((d[k] >= m && k < n - 1) || k < FLOOR_RESET_N)
			continue;
		for (int i = k; i < n; i++)
			j += d[i] < m;
		lp = j > 0 ? log_p_none_newest(n, k, j) : 0;
		if (lp < best_lp && lp < (k < s->n_hist ? few : enough)) {
			best_lp = lp;
			best = k;
		}
	}
	return (trim_stragglers(d, best));
}

/*
 * The smallest delays ever seen: the longer we watch, the closer they
 * come to the path's true minimum, on which the error bounds hang.  When
 * the newest delays say the path has become slower (a new route), the
 * floor starts again from them, and so does the window: a floor above a
 * sample's delay makes no sense of it.  (When the window's size was the
 * least the new floor rested on, its oldest sample, from the old route,
 * stayed in the floor for good and the slabs a millisecond too wide: a
 * route 1 ms slower each way left the clock 550 us off.)  Returns how
 * many of the newest samples the window may keep: all, or as many as
 * the new floor rests on.
 */
int
nt_fit_floor(struct nt_source *s, const struct nt_sample *smp)
{
	double d[NT_DELAYS_N];
	int k;

	insert_floor(s->floor, smp->delay);
	s->floor_n++;
	s->delays[s->delays_at] = (float)smp->delay;
	s->delays_at = (s->delays_at + 1) % NT_DELAYS_N;
	s->delays_n += s->delays_n < NT_DELAYS_N;
	if ((k = slower_since(s, d)) == 0)
		return (s->n_hist);
	for (int i = 0; i < NT_FLOOR_N; i++)
		s->floor[i] = INFINITY;
	for (int i = 0; i < k; i++)
		insert_floor(s->floor, d[i]);
	s->floor_n = k;
	s->delays_n = k;
	return (k < s->n_hist ? k : s->n_hist);
}

/*
 * How far below the smallest delay seen the true minimum may be: a few
 * times the mean gap between the smallest delays (for delays rising like
 * a ramp from the minimum the first gap is a quarter of that distance;
 * for exponential ones, all of it).  With fewer samples, half the
 * smallest delay, NTP's own worst case.
 */
static double
base_uncertainty(const struct nt_source *s, double k)
{
	const double *d = s->floor;
	int m = NT_FLOOR_N;

	while (m > 0 && !isfinite(d[m - 1]))
		m--;
	if (m < FLOOR_MIN_N)
		return (d[0] / 2);
	return (fmin(d[0] / 2, k * (d[m - 1] - d[0]) / (m - 1)));
}

/* ---- The wander ---- */

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

static void
log_wander(struct nt_wander_log *w, double q)
{
	w->q[w->n++ % NT_WQ_N] = q;
	w->est = median(w->q, w->n < NT_WQ_N ? w->n : NT_WQ_N) / CHI2_MEDIAN;
}

/*
 * How fast the frequency wanders: how much our frequency estimates
 * (undone of our own corrections) moved over a window's length, squared
 * and per second.  Their own errors count too, which errs on the safe
 * side; the median of the last few resists outliers such as steps.  One
 * is taken at every fit, for the estimate, which should learn soon; but
 * fits less than a window apart share most of their samples, so the last
 * 15 move together and their median is sometimes a hundred times too
 * low (a month of lan then held its likely bound only 99.6 % of the
 * time).  The likely interval rests on those whose spans overlap by at
 * most half (spaced), which take an hour to gather.
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
		d = d * d / nt_diff(now, s->fh_t[k]);
		log_wander(&s->quick, d);
		if (s->spaced.n == 0 || nt_diff(now, s->spaced_t) >= lag / 2) {
			s->spaced_t = now;
			log_wander(&s->spaced, d);
		}
	}
	s->fh_t[s->fh_n] = now;
	s->fh_f[s->fh_n] = f;
	/* Only windows long enough for their slope to mean something. */
	s->fh_ok[s->fh_n++] = s->n_hist >= WANDER_WINDOW_N &&
	    nt_diff(now, s->hist[0].t) >= WANDER_LAG_MIN;
}

double
nt_fit_likely_wander(const struct nt_source *s)
{
	return (s->likely_wander);
}

/*
 * The wander the estimate and the bounds assume.  A quiet crystal's guess
 * to start from, or the measure once there is one; never less than the
 * window's bends show (likely_wander()): a bad crystal's frequency
 * wanders ten thousand times faster, its measure takes 40 minutes at
 * poll 64 s, and it collapses by chance when the frequency turns.
 */
static void
wander_levels(struct nt_source *s)
{
	bool known = s->quick.n >= WANDER_MIN_N;
	double q = fmax(known ? WANDER_EST * s->quick.est : WANDER_INIT,
	    fmax(WANDER_EST * s->bend_wander, WANDER_MIN));

	s->wander = fmin(q * s->wander_mult, WANDER_MAX);
	s->wander_bound = fmin(fmax(s->wander * WANDER_BOUND, known ? 0.0 :
	    WANDER_INIT_BOUND), WANDER_MAX);
}

/* ---- The fit ---- */

/*
 * Half-widths of the samples' slabs for wander q, the path's minimum
 * taken up to 2 base below the floor, and a sample's dispersion or z
 * standard errors, whichever is more; x: age, negative.  The standard
 * error is the window's (the root of the mean square): one sample's,
 * from four pulses, is itself only a rough guess of it.
 */
static void
slabs(const struct nt_source *s, double q, double base, double z, double *x,
    double *hw)
{
	const struct nt_sample *h = s->hist, *last = &h[s->n_hist - 1];
	double sd = 0;

	for (int i = 0; s->refclock && z > 0 && i < s->n_hist; i++)
		sd += h[i].sd * h[i].sd / s->n_hist;
	sd = z * sqrt(sd);
	for (int i = 0; i < s->n_hist; i++) {
		double age = nt_diff(last->t, h[i].t);

		x[i] = -age;
		hw[i] = (h[i].delay - s->floor[0]) / 2 + base + s->slack +
		    nt_fmax(h[i].disp, sd) + SAMPLE_FLOOR +
		    nt_fit_wander_tol(q, age);
	}
}

/*
 * Intersect the slabs from the newest back to hist[first]; returns how
 * many agree (the newest ones, up to the first that does not).
 */
static int
intersect(const struct nt_source *s, int first, const double *x,
    const double *hw, struct nt_poly *out)
{
	const struct nt_sample *h = s->hist;
	struct nt_poly buf[3], *p = &buf[0], *mid = &buf[1], *next = &buf[2];
	struct nt_poly *t;
	int n = s->n_hist, k;

	mid->n = next->n = 0;
	p->n = 4;
	p->a[0] = p->a[3] = h[n - 1].offset - hw[n - 1];
	p->a[1] = p->a[2] = h[n - 1].offset + hw[n - 1];
	p->b[0] = p->b[1] = -FREQ_BOX;
	p->b[2] = p->b[3] = FREQ_BOX;
	for (k = n - 2; k >= first; k--) {
		double lo = h[k].offset - hw[k], hi = h[k].offset + hw[k];
		/* Old samples' slabs are wide: most cut nothing, or one side. */
		unsigned cuts = nt_poly_cuts(p, x[k], lo, hi);

		if (cuts == 0)
			continue;
		if (cuts == NT_CUT_HI || cuts == NT_CUT_LO) {
			nt_poly_clip(p, next, x[k], cuts == NT_CUT_HI ? hi : lo,
			    cuts == NT_CUT_HI ? 1.0 : -1.0);
		} else {
			nt_poly_clip(p, mid, x[k], hi, 1.0);
			nt_poly_clip(mid, next, x[k], lo, -1.0);
		}
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

/* A sample's weight: its error spread evenly over its excess delay. */
static double
wedge_weight(const struct nt_source *s, const struct nt_sample *smp,
    double age)
{
	double v = smp->delay - s->floor[0] + 2 * s->base;

	return (1 / (v * v / 12 + smp->sd * smp->sd +
	    SAMPLE_FLOOR * SAMPLE_FLOOR +
	    s->wander * age * age * age / 3));
}

static void
wedge_sums(const struct nt_source *s, int first, const double *x,
    struct wedge *w)
{
	const struct nt_sample *h = s->hist;
	double wt[NT_HIST_MAX], e[NT_HIST_MAX], W = 0;

	memset(w, 0, sizeof *w);
	for (int i = first; i < s->n_hist; i++) {
		e[i] = h[i].delay - s->floor[0];
		wt[i] = wedge_weight(s, &h[i], -x[i]);
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

/*
 * How many standard errors the lean of wedge_fit() is away from none:
 * with a wandering oscillator the offsets bend away from any line, and
 * the bend can pass for a lean by chance.
 */
static double
wedge_lean_z(const struct nt_source *s, int first, const double *x,
    double b, double c)
{
	const struct nt_sample *h = s->hist;
	struct wedge w;
	double a, det, res = 0;
	int n = s->n_hist - first;

	wedge_sums(s, first, x, &w);
	det = w.xx * w.ee - w.xe * w.xe;
	if (n <= 3 || !(det > 0) || c == 0)
		return (0.0);
	a = w.my - b * w.mx - c * w.me;
	for (int i = first; i < s->n_hist; i++) {
		double e = h[i].delay - s->floor[0];
		double r = h[i].offset - a - b * x[i] - c * e;

		res += wedge_weight(s, &h[i], -x[i]) * r * r;
	}
	/* The weights' scale from the residuals; c's variance from the sums. */
	return (fabs(c) / sqrt(res / (n - 3) * w.xx / det));
}

static void
set_bounds(struct nt_source *s, const struct nt_poly *p)
{
	double r;

	nt_poly_range(p, 0, &s->est_lo, &s->est_hi, &s->freq_lo, &s->freq_hi);
	r = (s->est_hi - s->est_lo) / 2;
	s->est_var = r * r / 3;
	r = (s->freq_hi - s->freq_lo) / 2;
	s->est_freq_var = r < FREQ_BOX * 0.99 ? r * r / 3 : INFINITY;
}

/*
 * How much likelier the truth is toward one edge of the polygon.  With
 * the extra delays of the two directions exponential with means mo and
 * mi, a sample of offset error e and excess delay D (e = (out - in) / 2,
 * D = out + in) has the log-likelihood -out / mo - in / mi, which is
 * -e (1/mo - 1/mi) plus what does not depend on the truth: over n
 * samples, the log-likelihood of a truth (a, b) is lambda (a + b xm),
 * with lambda = n (1/mo - 1/mi) and xm the samples' mean time.  Inside
 * the polygon, then, the truth's density is exp(lambda (a + b xm)): flat
 * when the directions jitter alike (the centroid), piled against the
 * edge of the quiet direction when they do not.  The means come from
 * the window's samples (jitter_means()); a difference they cannot tell
 * from their own standard error counts for nothing.
 */
static double
tilt(double mo, double mi, double n)
{
	double io, ii, se, d;

	if (!(mo > 0) || !(mi > 0))
		return (0.0);
	io = 1 / fmax(mo, SAMPLE_FLOOR);
	ii = 1 / fmax(mi, SAMPLE_FLOOR);
	se = sqrt((io * io + ii * ii) / n);
	d = fmax(fabs(io - ii) - TILT_Z * se, 0.0);
	return (copysign(d, io - ii));
}

/*
 * The mean extra delay each way in the window, the offset errors taken
 * as the estimate says: out = D/2 + e, in = D/2 - e.
 */
static void
jitter_means(const struct nt_source *s, const double *x, int used,
    double *mo, double *mi)
{
	const struct nt_sample *h = s->hist;
	int n = s->n_hist;

	*mo = *mi = 0;
	for (int i = n - used; i < n; i++) {
		double d = (h[i].delay - s->floor[0]) / 2;
		double e = h[i].offset - s->est_offset - s->est_freq * x[i];

		*mo += nt_fmax(d + e, 0.0) / used;
		*mi += nt_fmax(d - e, 0.0) / used;
	}
}

/*
 * The chance that a delay lies more than x above the path's minimum,
 * when each direction's extra delay is exponential (means mo and mi):
 * (mi e^(-x/mi) - mo e^(-x/mo)) / (mi - mo).  Near the minimum such a
 * sum is rarer than either part alone (both delays must be short), so
 * the quickest of n lies further above it than the gaps between the
 * quickest few suggest.
 */
static double
sum_survival(double mo, double mi, double x)
{
	double a = fmin(mo, mi), b = fmax(fmax(mo, mi), a * (1 + 1e-6));

	return ((b * exp(-x / b) - a * exp(-x / a)) / (b - a));
}

/*
 * The expected excess of the quickest of n delays over the minimum: the
 * integral of the chance that all n exceed x.
 */
static double
floor_excess(double mo, double mi, double n)
{
	double h = (mo + mi) * 16 / n / FLOOR_STEPS, e = 0;

	if (!(fmin(mo, mi) > 0) || n < 1)
		return (0.0);
	for (int k = 0; k < FLOOR_STEPS; k++)
		e += pow(sum_survival(mo, mi, (k + 0.5) * h), n) * h;
	return (e);
}

/* The excess the quickest of n delays keeps only with chance p. */
static double
floor_quantile(double mo, double mi, double n, double p)
{
	double lo = 0, hi = (mo + mi) * 32 / n;

	if (!(fmin(mo, mi) > 0) || n < 1)
		return (0.0);
	for (int k = 0; k < QUANTILE_STEPS; k++) {
		double x = (lo + hi) / 2;

		if (n * log(sum_survival(mo, mi, x)) > log(p))
			lo = x;
		else
			hi = x;
	}
	return (hi);
}

/*
 * The slabs as the likelihood sees them, for the tilted estimate: the
 * floor is above the true minimum by about allow (its expected excess,
 * not the far end the bounds allow for), and the wander is allowed for
 * only as far as a fraction of its measured standard deviation: the
 * estimate pushes against an edge, and every allowance there is a bias.
 */
static void
edge_slabs(const struct nt_source *s, const double *x, double allow,
    double *hw)
{
	const struct nt_sample *h = s->hist;

	for (int i = 0; i < s->n_hist; i++)
		hw[i] = (h[i].delay - s->floor[0] + allow) / 2 + h[i].disp +
		    SAMPLE_FLOOR + EDGE_WANDER / WANDER_K *
		    nt_fit_wander_tol(s->wander, -x[i]);
}

/*
 * The likelihood's polygon over the window, the floor taken allow below
 * the quickest delay seen; when its slabs do not all meet, the floor is
 * likely lower still (the quickest of few delays often lies far above
 * the minimum): the allowance doubles until they do, at most tries - 1
 * times.  Returns how many meet; *xm: their mean time.
 */
static int
edge_polygon(const struct nt_source *s, const double *x, int used,
    double allow, int tries, struct nt_poly *pe, double *xm)
{
	double hw[NT_HIST_MAX] = { 0 };
	int n = s->n_hist, ue = 0;

	for (int k = 0; k < tries && ue < used; k++) {
		edge_slabs(s, x, ldexp(allow, k), hw);
		ue = intersect(s, n - used, x, hw, pe);
	}
	*xm = 0;
	for (int i = n - ue; i < n; i++)
		*xm += x[i] / ue;
	return (ue);
}

/*
 * With the lean clear and a window long enough, the mean of the truth's
 * density over the likelihood's polygon, found in turns with the
 * jitter means it rests on.  Returns the tilt used (0: none), and in
 * *xm the direction it tilts along.  The likelihood's slabs are narrow,
 * and when only the newest two or three of them meet, their polygon
 * hardly bounds the frequency: its tilted mean once put the frequency
 * 57 ppm off (wan, day 24).  It needs as many samples as the lean.
 * With a clear lean (tries > 1) the floor's allowance is its expected
 * excess under the two-exponential model (floor_excess(); the gaps
 * between the quickest delays understate it, and the edge sat 15 us
 * behind the truth on average in wan), doubled while the window's
 * slabs do not all meet (edge_polygon()): the edge of the newest few
 * alone once left the clock 450 us off for ten minutes (wan, seed 86).
 */
static double
edge_estimate(struct nt_source *s, const double *x, int used, double lean,
    int tries, double *xm)
{
	double lam = 0, mo, mi, allow = base_uncertainty(s, 1.0), drawn = -1;
	struct nt_poly pe;
	int ue = 0;

	*xm = 0;
	if (lean == 0 || used < TILT_MIN_N)
		return (0.0);
	jitter_means(s, x, used, &mo, &mi);
	for (int k = 0; k < TILT_ROUNDS; k++) {
		if (allow != drawn) {
			ue = edge_polygon(s, x, used, allow, tries, &pe, xm);
			drawn = allow;
		}
		if (ue < LEAN_MIN_N)
			return (0.0);
		if ((lam = tilt(mo, mi, used) * ue) == 0)
			break;
		nt_poly_tilted_mean(&pe, *xm, lam, &s->est_offset,
		    &s->est_freq);
		jitter_means(s, x, used, &mo, &mi);
		/* Once: the means hardly move after the first round. */
		if (tries > 1 && k == 0)
			allow = fmax(allow, floor_excess(mo, mi, s->floor_n));
	}
	return (lam);
}

/*
 * The wander the window's bends show.  A random walk of the frequency
 * bends the offsets away from any straight line, by a mean square of
 * about q T^3 / 400 over a span T, on top of the path's own scatter (a
 * sample's error is spread evenly over its excess delay, less the lean,
 * which the wedge regression removes).  Returns the wander the excess of
 * the residuals' mean square over that scatter, plus z of its standard
 * errors, stands for.  Below (z < 0), a reference clock's own scatter
 * (its samples' dispersion) counts too, lest it pass for wander.
 */
static double
bend_wander(const struct nt_source *s, const double *x, int used, double b,
    double c, double z)
{
	const struct nt_sample *h = s->hist;
	double noise = 0, res = 0, a, span = -x[s->n_hist - used];
	struct wedge w;

	assert(span > 0);
	wedge_sums(s, s->n_hist - used, x, &w);
	a = w.my - b * w.mx - c * w.me;		/* wedge_fit()'s, unbiased */
	for (int i = s->n_hist - used; i < s->n_hist; i++) {
		double e = h[i].delay - s->floor[0];
		double v = e + NOISE_BASE * s->base;
		double r = h[i].offset - a - b * x[i] - c * e;

		noise += (v * v / 12 + (z < 0 ? h[i].disp * h[i].disp : 0)) /
		    used;
		res += r * r / used;
	}
	res += z * noise * sqrt(2.0 / used) - noise;
	return (BEND_K * fmax(res, 0.0) / (span * span * span));
}

/*
 * The wander the likely interval assumes, and (s->bend_wander) the least
 * the window's bends show, BEND_Z standard errors below theirs.  That is
 * a floor: bends more than a bad crystal's are outliers (a reference
 * clock's), not wander.
 * - As measured over spans that overlap by at most half (and no less than
 *   the estimate's own measure), once it is; that takes four half windows
 *   (an hour at poll 64 s).
 * - Before, three times the estimate's own measure, once it has one (half
 *   an hour), but no less than the guess it started from: measures a
 *   window apart share most of their samples, and the smoother the
 *   estimates, the less they move (packet-loss, seed 12: 200 times too
 *   low).
 * - Before that the guess may be far too low.  The likely interval allows
 *   for as much wander as the bends, plus LIKELY_Z of their standard
 *   errors, could hide: while the window is short, that is a lot.
 */
static double
likely_wander(struct nt_source *s, const double *x, int used, double b,
    double c)
{
	double q = s->wander / WANDER_EST;
	bool bends = used >= WANDER_WINDOW_N && x[s->n_hist - used] < 0;

	s->bend_wander = bends ? fmin(bend_wander(s, x, used, b, c, -BEND_Z),
	    WANDER_INIT_BOUND) : 0.0;
	if (s->spaced.n >= WANDER_MIN_N)
		return (fmax(fmax(q, s->spaced.est), s->bend_wander));
	if (s->quick.n >= WANDER_MIN_N)
		return (fmax(fmax(q * EARLY_WANDER_K, s->bend_wander),
		    WANDER_INIT));
	if (!bends)
		return (fmax(q, WANDER_INIT_BOUND));
	q = fmax(q, bend_wander(s, x, used, b, c, LIKELY_Z));
	return (fmin(q, fmax(s->wander / WANDER_EST, WANDER_INIT_BOUND)));
}

/*
 * How far the path's minimum delay may have risen above the floor: the
 * window's quickest delay above it, less the gap the quickest of n keeps
 * from the minimum by chance (for exponential delays, their mean excess
 * over n).  A slower route has not yet been told from chance then
 * (nt_fit_floor() needs more), and the edge estimate, which hangs on the
 * floor, is off by half the rise.  *llr (unless NULL): the
 * log-likelihood ratio of the rise against none, exponential delays
 * assumed.
 */
static double
route_rise(const struct nt_source *s, int used, double *llr)
{
	double quick = INFINITY, mean = 0, rise;

	for (int i = s->n_hist - used; i < s->n_hist; i++) {
		quick = fmin(quick, s->hist[i].delay);
		mean += (s->hist[i].delay - s->floor[0]) / used;
	}
	rise = quick - s->floor[0] - mean / used;
	if (llr != NULL)
		*llr = mean > 0 ? used * fmax(rise, 0.0) / mean : 0.0;
	return (rise);
}

/*
 * The likely interval (tight_*): the samples' polygon with the wander as
 * measured (the estimate assumes a fraction of it, the bounds a hundred
 * times more), less, when the jitter leans, where the truth's density is
 * below e^-TIGHT_SPAN of its peak.
 */
static void
set_tight(struct nt_source *s, const double *x, int used, double xm,
    double lam)
{
	double xs[NT_HIST_MAX] = { 0 }, hw[NT_HIST_MAX] = { 0 }, r;
	double mo, mi, base;
	struct nt_poly pt, q, *p = &pt;

	/* The floor's excess over the minimum, but for bad luck. */
	jitter_means(s, x, used, &mo, &mi);
	base = fmin(fmax(s->base, floor_quantile(mo, mi, s->floor_n,
	    LIKELY_FLOOR_P) / 2), s->floor[0] / 2);
	slabs(s, nt_fit_likely_wander(s), base, SD_LIKELY, xs, hw);
	intersect(s, s->n_hist - used, x, hw, &pt);
	if (lam != 0) {
		nt_poly_peak(&pt, &q, xm, lam, TIGHT_SPAN);
		if (q.n > 0)
			p = &q;
	}
	nt_poly_range(p, 0, &s->tight_lo, &s->tight_hi, &s->tight_flo,
	    &s->tight_fhi);
	if (p == &pt)
		return;
	/*
	 * The edge the cut keeps hangs on the floor, which may have risen
	 * (route_rise()), and the floor itself may be up to base above the
	 * true minimum: the interval reaches as far as both would move it.
	 */
	r = (fmax(route_rise(s, used, NULL), 0.0) + base) / 2;
	if (lam > 0)
		s->tight_lo -= r;
	else
		s->tight_hi += r;
}

/*
 * The edge estimate as the floor's rise (route_rise()) would move it,
 * weighed by how likely the rise is against none: slower routes are
 * rare (prior odds e^-ROUTE_PRIOR), and a window's quickest delay is
 * often far from the floor by chance.
 */
static void
route_shift(struct nt_source *s, int used, double lam)
{
	double llr, rise = route_rise(s, used, &llr);
	double p = 1 / (1 + exp(ROUTE_PRIOR - llr));

	if (rise > 0)
		s->est_offset -= copysign(p * rise / 2, lam);
}

/*
 * The estimate: the centroid of the polygon p, moved toward the lean's
 * estimate as far as it leans; with a window long enough, the edge's
 * estimate instead.
 */
static void
set_estimate(struct nt_source *s, const struct nt_poly *p, const double *x,
    int used)
{
	const struct nt_sample *h = s->hist;
	double a, b, c, w, z, lo, hi, blo, bhi, xm, lam, sum = 0;
	int n = s->n_hist;

	s->est_t = h[n - 1].t;
	nt_poly_centroid(p, &s->est_offset, &s->est_freq);
	nt_poly_range(p, 0, &lo, &hi, &blo, &bhi);
	c = wedge_fit(s, n - used, x, &a, &b);
	w = fmax(0, fmin(1, (fabs(c) - LEAN_LO) / (LEAN_HI - LEAN_LO)));
	z = wedge_lean_z(s, n - used, x, b, c);
	lam = edge_estimate(s, x, used, w, z < LEAN_Z ? 1 : EDGE_TRIES, &xm);
	if (lam != 0) {
		route_shift(s, used, lam);
	} else {
		s->est_offset += w * (fmax(lo, fmin(hi, a)) - s->est_offset);
		s->est_freq += w * (fmax(blo, fmin(bhi, b)) - s->est_freq);
	}
	for (int i = n - used; i < n; i++) {
		double r = h[i].offset - s->est_offset - s->est_freq * x[i];

		sum += r * r;
	}
	s->jitter = sqrt(sum / used);
	s->likely_wander = likely_wander(s, x, used, b, c);
	/* The lean the estimate follows may be chance; the cut may not. */
	if (z < LEAN_Z)
		lam = 0;
	set_tight(s, x, used, xm, lam);
}

int
nt_fit(struct nt_source *s)
{
	double x[NT_HIST_MAX] = { 0 }, hw[NT_HIST_MAX] = { 0 };
	struct nt_poly p;
	int used;

	assert(s->n_hist > 0 && s->n_hist <= NT_HIST_MAX);
	s->min_delay = s->floor[0];
	s->base = base_uncertainty(s, BASE_K);
	wander_levels(s);
	/*
	 * A reference clock's sample may be off by a few of its standard
	 * errors (sd).  Its dispersion, the readings' spread, is about
	 * sqrt(k) of them for k readings: plenty when k is large, too few
	 * when it is small (16 NMEA sentences keep 10, and uniform jitter
	 * leaves them a spread of only 2).  The estimate's slabs take the
	 * dispersion alone: narrow, they hold gps-pps to 0.28 us (0.34 with
	 * 3 standard errors more).  The likely interval takes SD_LIKELY of
	 * them when that is more (nmea-only held it 98.9 % of the time
	 * without, 99.9 % or more for every seed of 100 with), the bounds
	 * NT_SD_BOUND (with 5, nmea-only's worst case missed a tick in one
	 * seed of 100).
	 */
	slabs(s, s->wander, s->base, 0.0, x, hw);
	used = intersect(s, 0, x, hw, &p);
	set_estimate(s, &p, x, used);
	/*
	 * The same samples, allowing for more wander and for a path whose
	 * minimum delay is anywhere down to none (NTP's delay / 2: the
	 * quickest of a few hundred delays can lie 20 of their gaps above
	 * it): the bounds.
	 */
	slabs(s, s->wander_bound, s->floor[0] / 2, NT_SD_BOUND, x, hw);
	intersect(s, s->n_hist - used, x, hw, &p);
	set_bounds(s, &p);
	return (used);
}
