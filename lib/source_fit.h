/*
 * The estimator behind each source (source.c): from the sample history to
 * the offset and frequency, the interval they surely lie in, and how fast
 * the oscillator wanders.  Split from source.c so that the geometry lives
 * apart from the polling and packet handling; only source.c calls it.
 */
#ifndef NTIMED_SOURCE_FIT_H
#define NTIMED_SOURCE_FIT_H

#include <math.h>

#include "source.h"

/*
 * Fit the history and set the source's est_* and bounds.  Returns how
 * many of the newest samples agree with each other (all when n_hist).
 */
int nt_fit(struct nt_source *s);
/*
 * Remember a new sample's delay in the path's delay floor; returns how
 * many of the newest samples the window may keep (fewer after a new route).
 */
int nt_fit_floor(struct nt_source *s, const struct nt_sample *smp);
/* After a fit all samples agree with: learn the frequency wander. */
void nt_fit_learn_wander(struct nt_source *s);
/* The wander as measured (what the likely interval assumes). */
double nt_fit_likely_wander(const struct nt_source *s);
#define NT_WANDER_K 3.0	/* wander allowance, standard deviations */

/* How far a wander of q may have moved the offset in age s. */
static inline double
nt_fit_wander_tol(double q, double age)
{
	age = age > 0 ? age : 0.0;	/* not fmax(): a call, and this is hot */
	return (NT_WANDER_K * sqrt(q * age * age * age / 3));
}

#endif
