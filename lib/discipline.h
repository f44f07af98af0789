/*
 * Clock discipline: turns the selected, combined estimate into actions on
 * the clock interface (step, or a frequency change plus a timed slew).
 *
 * We keep two frequencies: the base frequency (our best estimate of the
 * correction the oscillator needs, which goes to the drift file) and a
 * temporary slew rate added on top until a planned offset correction is
 * done.  The part of the slew still to come is "remaining"; adding it to
 * a clock reading gives the cooked time that samples are measured in.
 */
#ifndef NTIMED_DISCIPLINE_H
#define NTIMED_DISCIPLINE_H

#include <stdbool.h>

#include "clock.h"
#include "timeutil.h"

struct nt_disc_params {
	double	step_threshold;	/* s; 0 = never step */
	int	step_limit;	/* updates that may step; -1 = any */
	double	max_slew;	/* s/s on top of the base frequency */
	double	min_slew_time;	/* s: spread small corrections over this */
	double	init_freq;	/* s/s */
	double	init_freq_sd;	/* s/s: how much we trust init_freq */
};

struct nt_disc_action {
	double	jump;		/* the cooked time scale moved by this (s) */
	double	dfreq;		/* base frequency changed by this (s/s) */
	bool	stepped;
	double	step;		/* real clock step made (s), if stepped */
	double	slew;		/* correction now being slewed (s) */
	double	slew_time;	/* over this many seconds */
	int	err;		/* -errno from the clock, 0 if fine */
};

struct nt_discipline {
	struct nt_clock	*clk;
	struct nt_disc_params p;
	double		freq;		/* base frequency, s/s */
	double		freq_var;	/* its variance */
	double		prior_var;	/* what we knew before any sample */
	double		slew_rate;	/* s/s on top of freq */
	nt_time		slew_end;
	nt_time		last_update;
	int		n_updates;
	int		n_steps;
	bool		synced;
};

void nt_disc_init(struct nt_discipline *d, struct nt_clock *clk,
    const struct nt_disc_params *p);
/* Take control of the clock: put the initial frequency in force. */
void nt_disc_start(struct nt_discipline *d);

/* Correction still to be slewed at clock time now (s). */
double nt_disc_remaining(const struct nt_discipline *d, nt_time now);

/*
 * Apply an estimate: offset (cooked, s) and the frequency error with its
 * variance (s/s, (s/s)^2; freq_var INFINITY if unknown).  Fills *act.
 */
void nt_disc_update(struct nt_discipline *d, nt_time now, double offset,
    double freq, double freq_var, struct nt_disc_action *act);

/*
 * Call when now >= nt_disc_deadline(): ends a finished slew.  Returns the
 * overshoot (s) by which the cooked scale moved because we were late.
 */
double nt_disc_tick(struct nt_discipline *d, nt_time now);
/*
 * Drop the slew in progress, back to the base frequency: after someone
 * else stepped the clock, what is left of it (and its deadline, a clock
 * time) means nothing.
 */
void nt_disc_cancel_slew(struct nt_discipline *d);
/* Next time the discipline needs nt_disc_tick(), or INT64_MAX. */
nt_time nt_disc_deadline(const struct nt_discipline *d);

/* Base frequency in ppm (for the drift file and status). */
double nt_disc_freq_ppm(const struct nt_discipline *d);
double nt_disc_skew_ppm(const struct nt_discipline *d);

#endif
