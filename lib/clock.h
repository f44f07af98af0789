/*
 * The one clock interface.  Everything that reads or steers "our" clock
 * goes through these five operations, so the same discipline code runs on
 * the kernel clock (clock_kernel.c), on a dry-run clock that keeps its
 * corrections in software over the kernel clock (clock_dry.c), and on a
 * simulated oscillator in virtual time (clock_sim.c).
 *
 * Frequency is an absolute correction in parts per million: positive makes
 * the clock run faster.  The running discipline slews offsets by changing
 * frequency for a planned time (so it knows exactly where the clock is);
 * the "slew" operation is the kernel's own fire-and-forget correction at
 * NT_KERNEL_SLEW_RATE, for one-shot runs that exit before it is done.
 *
 * Threads: now() and from_kernel() may be called from any thread (the
 * server's workers stamp replies with them); every other operation only
 * from the thread that runs the discipline.
 */
#ifndef NTIMED_CLOCK_H
#define NTIMED_CLOCK_H

#include <stdbool.h>

#include "timeutil.h"

#define NT_KERNEL_SLEW_RATE 500e-6	/* s/s: Linux adjtime() rate */

struct nt_clock_status {
	bool	synced;		/* clears STA_UNSYNC when true */
	double	maxerror;	/* seconds: worst-case |clock - true time| */
	double	esterror;	/* seconds: its likely bound */
	int	leap;		/* enum ntp_leap: insert/delete at midnight UTC */
};

struct nt_clock;

struct nt_clock_ops {
	/* Current reading of the clock. */
	nt_time	(*now)(struct nt_clock *);
	/* Map a CLOCK_REALTIME reading (e.g. a kernel packet timestamp). */
	nt_time	(*from_kernel)(struct nt_clock *, nt_time kernel_time);
	/* Jump by delta seconds.  Returns 0 or -errno. */
	int	(*step)(struct nt_clock *, double delta);
	/* Start a gradual correction of delta s that finishes on its own. */
	int	(*slew)(struct nt_clock *, double delta);
	/* Set the frequency correction (ppm).  Returns 0 or -errno. */
	int	(*set_freq)(struct nt_clock *, double ppm);
	/* The frequency correction in force (ppm). */
	double	(*get_freq)(struct nt_clock *);
	/* Publish sync status, error bounds and leap.  Returns 0 or -errno. */
	int	(*set_status)(struct nt_clock *, const struct nt_clock_status *);
};

struct nt_clock {
	const struct nt_clock_ops *ops;
	const char	*name;		/* "kernel", "dry-run", "sim" */
	double		max_freq_ppm;	/* |set_freq| is clamped to this */
	void		*priv;
};

static inline nt_time
nt_clock_now(struct nt_clock *c)
{
	return (c->ops->now(c));
}

/* Backends. */
struct nt_clock *nt_clock_kernel(void);		/* steers CLOCK_REALTIME */
struct nt_clock *nt_clock_dry(void);		/* reads it, never steers */
/* Read-only snapshot of the kernel's clock state (adjtimex, no changes). */
int nt_clock_kernel_read(double *freq_ppm, double *maxerror, bool *synced);

#endif
