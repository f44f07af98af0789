/*
 * A simulated clock: an imperfect oscillator, and the kernel that steers
 * it, in virtual time.  The simulator owns true time and advances it; the
 * clock's reading drifts from it by the oscillator's frequency error
 * (a constant, a random walk and an optional sinusoidal "temperature"
 * term), minus whatever the discipline corrects through set_freq and step.
 *
 * Like the Linux kernel it remembers the status the discipline publishes
 * (error bounds, leap flag), and when told to it inserts or deletes a leap
 * second at the next midnight UTC of its own reading.
 *
 * Two time scales: "physical" time runs without leaps (the simulator's
 * true_now); true UTC repeats or skips a second at a leap.  The simulator
 * tells the clock where UTC's leap is, so the clock's error is always its
 * reading minus true UTC.
 */
#ifndef NTIMED_CLOCK_SIM_H
#define NTIMED_CLOCK_SIM_H

#include <stdbool.h>

#include "clock.h"
#include "rng.h"

#define NT_SIMCLOCK_WANDER_STEP 1.0	/* s between random-walk steps */

/* The oscillator and the kernel, as a scenario describes them. */
struct nt_simclock_model {
	double	offset;		/* initial reading - true time, s */
	double	freq_ppm;	/* initial oscillator frequency error */
	double	wander;		/* random walk of the frequency, (s/s)/sqrt(s) */
	double	temp_ppm;	/* amplitude of a sinusoidal frequency term */
	double	temp_period;	/* its period, s (0: none) */
	double	max_freq_ppm;	/* the kernel clamps set_freq to this */
	double	slew_ppm;	/* rate of the kernel's own slew() */
	bool	can_step;	/* false: step() fails with EPERM */
};

struct nt_simclock {
	struct nt_clock	base;
	struct nt_simclock_model m;
	nt_time		start;		/* physical time of t = 0 */
	nt_time		true_now;	/* physical time now */
	double		offset;		/* reading - physical time, s */
	double		walk;		/* random-walk part of the frequency */
	nt_time		walk_next;	/* next random-walk step */
	double		applied;	/* correction from set_freq, s/s */
	double		slew_left;	/* kernel-style slew still to do, s */

	/* Kernel status, as the discipline last set it. */
	struct nt_clock_status status;
	nt_time		status_time;	/* physical time of that */
	int		n_status;
	int		leap_armed;	/* enum ntp_leap, cleared when done */
	nt_time		leap_midnight;	/* reading at which it happens */
	int		n_leaps;	/* leap seconds the kernel made */
	int		n_steps;

	/* True UTC: physical + utc_adj from utc_leap_at on. */
	nt_time		utc_leap_at;	/* INT64_MAX: no leap */
	double		utc_adj;	/* -1 inserted, +1 deleted */

	struct nt_rng	rng;
};

void nt_simclock_init(struct nt_simclock *c, nt_time start,
    const struct nt_simclock_model *m, uint64_t seed);
/* UTC has a leap second at physical time at (+1 insert, -1 delete). */
void nt_simclock_set_utc_leap(struct nt_simclock *c, nt_time at, int sign);
/* Move true time forward to t, integrating the clock's error. */
void nt_simclock_advance(struct nt_simclock *c, nt_time t);
/* True UTC at physical time t. */
nt_time nt_simclock_utc(const struct nt_simclock *c, nt_time t);
/* Clock error (reading - true UTC) and frequency error now. */
double nt_simclock_error(const struct nt_simclock *c);
double nt_simclock_freq_error(const struct nt_simclock *c);
/* Physical time at which the clock will read `reading` (for timers). */
nt_time nt_simclock_true_at(const struct nt_simclock *c, nt_time reading);

#endif
