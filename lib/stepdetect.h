/*
 * Noticing that someone else stepped the clock (date -s, another NTP
 * daemon, a hypervisor agent, a VM resumed from a snapshot).  Sans-I/O:
 * the adapter feeds pairs of readings of CLOCK_REALTIME and a clock that
 * nobody can step (CLOCK_BOOTTIME), plus every step we made ourselves.
 *
 * Why the difference of the two is the test: the kernel slews (adjtimex
 * frequency and offset) both clocks alike, so realtime - boottime changes
 * only when realtime is stepped or a leap second is inserted or deleted.
 * A change beyond a threshold that our own steps do not explain is a
 * foreign step; one of +-1 s across a UTC midnight is a leap second.
 * max_rate allows for a reference that is slewed differently (none on
 * Linux; a simulated one may be).
 */
#ifndef NTIMED_STEPDETECT_H
#define NTIMED_STEPDETECT_H

#include <stdbool.h>

#include "timeutil.h"

#define NT_STEPDETECT_THRESHOLD 0.001	/* s */

enum nt_step_kind {
	NT_STEP_NONE = 0,
	NT_STEP_FOREIGN,	/* stepped by someone else */
	NT_STEP_LEAP,		/* a leap second, inserted or deleted */
};

struct nt_stepdetect_params {
	double	threshold;	/* s: smaller changes are reading noise */
	double	max_rate;	/* s/s the two clocks may drift apart */
};

struct nt_stepdetect {
	struct nt_stepdetect_params p;
	bool	have;		/* a previous reading */
	nt_time	real, mono;	/* it */
	double	own;		/* our steps since then, s */
	unsigned long n_foreign, n_leap;
};

void nt_stepdetect_init(struct nt_stepdetect *d,
    const struct nt_stepdetect_params *p);

/* We stepped the real clock by delta seconds (successfully). */
void nt_stepdetect_own_step(struct nt_stepdetect *d, double delta);

/*
 * A reading: real (CLOCK_REALTIME) taken between two readings of the
 * unsteppable clock whose mean is mono and whose distance is read_err
 * (s).  Returns what happened since the previous reading; for a foreign
 * step *step is its size (s, positive: the clock jumped ahead).
 */
enum nt_step_kind nt_stepdetect_feed(struct nt_stepdetect *d, nt_time real,
    nt_time mono, double read_err, double *step);

/* Forget the previous reading (the next one is a new baseline). */
void nt_stepdetect_restart(struct nt_stepdetect *d);

#endif
