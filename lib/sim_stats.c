/*
 * Summary figures of a simulated run, from one sample per tick: how soon
 * the clock got and stayed within 1 ms and 100 us, and after the settling
 * time the size of the error (RMS, 99th percentile, maximum, mean), of
 * the frequency error, and how honest and tight the client's own error
 * bound was.
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "minmax.h"
#include "sim.h"

/* Track since when |err| has stayed within limit (NaN: outside now). */
static void
track(double *since, double t, double abs_err, double limit)
{
	if (!(abs_err <= limit))
		*since = NAN;
	else if (isnan(*since))
		*since = t;
}

void
nt_sim_stats_init(struct nt_sim_stats *st, double settle, double err0)
{
	memset(st, 0, sizeof *st);
	st->settle = settle;
	st->stride = 1;
	st->in_1ms = st->in_100us = NAN;
	track(&st->in_1ms, 0, fabs(err0), 1e-3);
	track(&st->in_100us, 0, fabs(err0), 100e-6);
}

/*
 * At the cap, keep every other sample and from now on every other tick
 * of those kept so far: the kept ticks stay evenly spaced (multiples of
 * the stride), whatever the duration, and memory stays bounded.
 */
static void
thin(struct nt_sim_stats *st)
{
	assert(st->n == NT_SIM_STATS_CAP && st->n % 2 == 0);
	for (size_t i = 0; i < st->n / 2; i++)
		st->abs[i] = st->abs[2 * i];
	st->n /= 2;
	st->stride *= 2;
}

/* Store a for the p99; false if memory ran out. */
static bool
keep(struct nt_sim_stats *st, double a)
{
	if (st->n == NT_SIM_STATS_CAP)
		thin(st);
	if (st->ticks % st->stride != 0)
		return (true);
	if (st->n == st->cap) {
		size_t cap = st->cap ? 2 * st->cap : 4096;
		double *v;

		assert(cap <= NT_SIM_STATS_CAP);
		if ((v = realloc(st->abs, cap * sizeof *v)) == NULL)
			return (false);
		st->abs = v;
		st->cap = cap;
	}
	st->abs[st->n++] = a;
	return (true);
}

void
nt_sim_stats_add(struct nt_sim_stats *st, const struct nt_sim_point *p)
{
	double a = fabs(p->err);

	track(&st->in_1ms, p->t, a, 1e-3);
	track(&st->in_100us, p->t, a, 100e-6);
	if (p->t < st->settle || st->oom)
		return;
	/* Once a sample is lost the p99 is no longer worth computing. */
	if (!keep(st, a)) {
		st->oom = true;
		return;
	}
	st->ticks++;
	st->sum += p->err;
	st->sum2 += p->err * p->err;
	st->fsum2 += p->ferr * p->ferr;
	st->max = nt_fmax(st->max, a);
	st->bsum += p->bound;
	st->inside += a <= p->bound;
	st->bounded += isfinite(p->bound);
	st->wsum += p->worst;
	st->winside += a <= p->worst;
	st->wbounded += isfinite(p->worst);
}

/* The k-th smallest of v[0..n-1] (Wirth's selection; reorders v). */
static double
select_kth(double *v, long n, long k)
{
	long lo = 0, hi = n - 1, i, j;
	double x, t;

	assert(k >= 0 && k < n);
	while (lo < hi) {
		x = v[k];
		i = lo;
		j = hi;
		do {
			while (v[i] < x)
				i++;
			while (x < v[j])
				j--;
			if (i <= j) {
				t = v[i];
				v[i++] = v[j];
				v[j--] = t;
			}
		} while (i <= j);
		if (j < k)
			lo = i;
		if (k < i)
			hi = j;
	}
	return (v[k]);
}

int
nt_sim_stats_finish(struct nt_sim_stats *st, double *m)
{
	double n = (double)st->ticks;
	int rc = st->oom ? -1 : 0;

	m[NT_SIM_SYNC_1MS] = st->in_1ms;
	m[NT_SIM_SYNC_100US] = st->in_100us;
	if (st->ticks == 0 || st->oom) {
		for (int i = NT_SIM_RMS; i <= NT_SIM_WORST_RATIO; i++)
			m[i] = NAN;
	} else {
		assert(st->n > 0 && st->n <= st->ticks);
		m[NT_SIM_RMS] = sqrt(st->sum2 / n);
		m[NT_SIM_P99] = select_kth(st->abs, (long)st->n,
		    (long)ceil(0.99 * (double)st->n) - 1);
		m[NT_SIM_P999] = select_kth(st->abs, (long)st->n,
		    (long)ceil(0.999 * (double)st->n) - 1);
		m[NT_SIM_MAX] = st->max;
		m[NT_SIM_MEAN] = st->sum / n;
		m[NT_SIM_FREQ_RMS] = sqrt(st->fsum2 / n) * 1e6;
		/* Inside no bound at all is no success: the figure is absent. */
		m[NT_SIM_BOUND_COVERAGE] = st->bounded > 0 ?
		    (double)st->inside / n : NAN;
		m[NT_SIM_BOUND_MEAN] = st->bsum / n;
		m[NT_SIM_BOUND_RATIO] = m[NT_SIM_RMS] > 0 ?
		    m[NT_SIM_BOUND_MEAN] / m[NT_SIM_RMS] : NAN;
		m[NT_SIM_WORST_COVERAGE] = st->wbounded > 0 ?
		    (double)st->winside / n : NAN;
		m[NT_SIM_WORST_RATIO] = m[NT_SIM_RMS] > 0 ?
		    st->wsum / n / m[NT_SIM_RMS] : NAN;
	}
	free(st->abs);
	st->abs = NULL;
	st->n = st->cap = 0;
	st->oom = false;
	return (rc);
}
