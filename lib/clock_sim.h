/*
 * A simulated clock: an imperfect oscillator in virtual time.  The
 * simulator owns true time and advances it; the clock's reading drifts
 * from it by the oscillator's frequency error (which can wander), minus
 * whatever the discipline corrects through set_freq and step.
 */
#ifndef NTIMED_CLOCK_SIM_H
#define NTIMED_CLOCK_SIM_H

#include "clock.h"
#include "rng.h"

struct nt_simclock {
	struct nt_clock	base;
	nt_time		true_now;	/* virtual true time */
	double		offset;		/* reading - true time, s */
	double		osc_freq;	/* oscillator error, s/s */
	double		wander;		/* random walk of osc_freq, (s/s)/sqrt(s) */
	double		applied;	/* correction from set_freq, s/s */
	double		slew_left;	/* kernel-style slew still to do, s */
	struct nt_clock_status status;
	int		n_steps;
	struct nt_rng	rng;
};

void nt_simclock_init(struct nt_simclock *c, nt_time start, double offset,
    double freq_ppm, double wander, uint64_t seed);
/* Move true time forward to t, integrating the clock's error. */
void nt_simclock_advance(struct nt_simclock *c, nt_time t);
/* Clock error (reading - truth) and frequency error now. */
double nt_simclock_error(const struct nt_simclock *c);
double nt_simclock_freq_error(const struct nt_simclock *c);
/* True time at which the clock will read `reading` (for scheduling). */
nt_time nt_simclock_true_at(const struct nt_simclock *c, nt_time reading);

#endif
