/*
 * A clock step made by someone else, seen in the difference between
 * CLOCK_REALTIME and an unsteppable clock (see stepdetect.h for why that
 * difference moves only when the clock is stepped).  The engine's sample
 * histories are in the old time scale after such a step: the adapter
 * restarts the measurements when this says so.
 */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "stepdetect.h"

#define LEAP_WINDOW 2.0		/* s after midnight a leap may show up late */

void
nt_stepdetect_init(struct nt_stepdetect *d,
    const struct nt_stepdetect_params *p)
{
	assert(p->threshold > 0 && p->max_rate >= 0);
	memset(d, 0, sizeof *d);
	d->p = *p;
}

void
nt_stepdetect_own_step(struct nt_stepdetect *d, double delta)
{
	d->own += delta;
}

void
nt_stepdetect_restart(struct nt_stepdetect *d)
{
	d->have = false;
	d->own = 0;
}

/* Seconds since the last UTC midnight (POSIX time has no leap seconds). */
static double
since_midnight(nt_time real)
{
	nt_time r = real % (86400 * NT_SEC);

	if (r < 0)
		r += 86400 * NT_SEC;
	return ((double)r * 1e-9);
}

/*
 * A leap second: -1 s (inserted) or +1 s (deleted), seen in the first
 * reading after a midnight, that is within elapsed (+ slack) of it.
 */
static bool
is_leap(double jump, double allow, nt_time real, double elapsed)
{
	double t = since_midnight(real);

	if (fabs(fabs(jump) - 1.0) > allow)
		return (false);
	return (t <= elapsed + LEAP_WINDOW || t >= 86400 - LEAP_WINDOW);
}

enum nt_step_kind
nt_stepdetect_feed(struct nt_stepdetect *d, nt_time real, nt_time mono,
    double read_err, double *step)
{
	double jump, elapsed, allow;
	enum nt_step_kind k = NT_STEP_NONE;

	*step = 0;
	if (d->have) {
		/* (real - mono) now minus then, without overflowing. */
		jump = nt_diff(real, d->real) - nt_diff(mono, d->mono) -
		    d->own;
		elapsed = fmax(nt_diff(mono, d->mono), 0.0);
		allow = d->p.threshold + fmax(read_err, 0.0) +
		    d->p.max_rate * elapsed;
		if (fabs(jump) > allow) {
			if (is_leap(jump, allow, real, elapsed)) {
				k = NT_STEP_LEAP;
				d->n_leap++;
			} else {
				k = NT_STEP_FOREIGN;
				d->n_foreign++;
				*step = jump;
			}
		}
	}
	d->have = true;
	d->real = real;
	d->mono = mono;
	d->own = 0;
	return (k);
}
