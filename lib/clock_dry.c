/*
 * The dry-run clock backend: a virtual disciplined clock layered over
 * CLOCK_REALTIME.  It reads the kernel clock and never changes it; every
 * step and frequency correction the discipline asks for is kept here, in
 * software, so a daemon in dry-run mode behaves exactly as it would for
 * real (its own clock converges, its status is what it would publish)
 * while the machine's clock stays untouched.
 *
 * The virtual clock is raw + correction(raw), with the correction
 * piecewise linear in the raw (kernel) time:
 *
 *	correction(raw) = c0 + f * (raw - r0)
 *
 * A step adds to c0; a frequency change first moves the origin to "now"
 * (c0 = correction(now), r0 = now) so the clock stays continuous.
 *
 * Server threads read this clock while the engine's thread steers it, so
 * the correction's parameters sit behind a seqlock: one writer (every
 * operation except now and from_kernel is for the engine's thread only),
 * readers that retry if a write overlapped their read.  Readers never
 * block the writer and take no lock; the fields are C11 atomics read
 * relaxed between two reads of the sequence number.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "clock.h"
#include "clock_dry.h"
#include "ntp_pkt.h"

#define DRY_MAX_PPM		100000.0
#define DRY_MAX_CORRECTION	4e9	/* seconds; nt_time range is 9e9 */
#define DRY_UNSYNC_ERROR	16.0	/* seconds, as the kernel's limit */

/* The correction: a copy read consistently from the seqlock. */
struct dry_params {
	nt_time	c0;		/* correction at r0, ns */
	nt_time	r0;		/* raw time of the last rebase */
	double	rate;		/* f: seconds of correction per raw second */
	double	slew;		/* seconds of an adjtime-style slew */
	nt_time	slew_r0;	/* raw time it started */
};

struct dry_state {
	atomic_uint	seq;		/* odd while a write is in progress */
	_Atomic nt_time	c0, r0, slew_r0;
	_Atomic double	rate, slew;
	/* The engine's thread only: */
	double	ppm;		/* as set, for get_freq */
	struct nt_clock_status status;
};

static struct dry_state dry;
static struct nt_clock dry_clock;
static bool dry_inited;

static void
params_read(struct dry_params *p)
{
	unsigned s1, s2;

	do {
		s1 = atomic_load_explicit(&dry.seq, memory_order_acquire);
		p->c0 = atomic_load_explicit(&dry.c0, memory_order_relaxed);
		p->r0 = atomic_load_explicit(&dry.r0, memory_order_relaxed);
		p->rate = atomic_load_explicit(&dry.rate, memory_order_relaxed);
		p->slew = atomic_load_explicit(&dry.slew, memory_order_relaxed);
		p->slew_r0 = atomic_load_explicit(&dry.slew_r0,
		    memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&dry.seq, memory_order_relaxed);
	} while ((s1 & 1) != 0 || s1 != s2);
}

/* Only ever from one thread at a time (the engine's). */
static void
params_write(const struct dry_params *p)
{
	unsigned s = atomic_load_explicit(&dry.seq, memory_order_relaxed);

	assert((s & 1) == 0);
	atomic_store_explicit(&dry.seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&dry.c0, p->c0, memory_order_relaxed);
	atomic_store_explicit(&dry.r0, p->r0, memory_order_relaxed);
	atomic_store_explicit(&dry.rate, p->rate, memory_order_relaxed);
	atomic_store_explicit(&dry.slew, p->slew, memory_order_relaxed);
	atomic_store_explicit(&dry.slew_r0, p->slew_r0, memory_order_relaxed);
	atomic_store_explicit(&dry.seq, s + 2, memory_order_release);
}

static nt_time
raw_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		assert(!"clock_gettime(CLOCK_REALTIME) failed");
	return (nt_from_timespec(&ts));
}

/* The part of the slew done by raw time: at most NT_KERNEL_SLEW_RATE. */
static double
slew_done(const struct dry_params *p, nt_time raw)
{
	double most = NT_KERNEL_SLEW_RATE * fmax(nt_diff(raw, p->slew_r0), 0);

	return (p->slew >= 0 ? fmin(p->slew, most) : fmax(p->slew, -most));
}

static nt_time
correction_ns(const struct dry_params *p, nt_time raw)
{
	return (p->c0 + (nt_time)llround(p->rate * (double)(raw - p->r0)) +
	    nt_from_sec(slew_done(p, raw)));
}

static nt_time
dry_from_kernel(struct nt_clock *c, nt_time kernel_time)
{
	struct dry_params p;

	(void)c;
	params_read(&p);
	return (kernel_time + correction_ns(&p, kernel_time));
}

static nt_time
dry_now(struct nt_clock *c)
{
	return (dry_from_kernel(c, raw_now()));
}

static int
dry_step(struct nt_clock *c, double delta)
{
	struct dry_params p;
	nt_time c1;

	(void)c;
	if (!isfinite(delta) || fabs(delta) > DRY_MAX_CORRECTION)
		return (-EINVAL);
	params_read(&p);
	c1 = p.c0 + nt_from_sec(delta);
	if (fabs((double)c1 * 1e-9) > DRY_MAX_CORRECTION)
		return (-ERANGE);
	p.c0 = c1;
	params_write(&p);
	return (0);
}

/* A new slew replaces what is left of the old one, as adjtime() does. */
static int
dry_slew(struct nt_clock *c, double delta)
{
	struct dry_params p;
	nt_time now = raw_now();

	(void)c;
	if (!isfinite(delta) || fabs(delta) > 2000.0)
		return (-EINVAL);
	params_read(&p);
	p.c0 += nt_from_sec(slew_done(&p, now));
	p.slew = delta;
	p.slew_r0 = now;
	params_write(&p);
	return (0);
}

static int
dry_set_freq(struct nt_clock *c, double ppm)
{
	struct dry_params p;
	nt_time now;

	if (isnan(ppm))
		return (-EINVAL);
	ppm = fmax(-c->max_freq_ppm, fmin(c->max_freq_ppm, ppm));
	now = raw_now();
	params_read(&p);
	p.c0 = correction_ns(&p, now);
	p.r0 = now;
	p.rate = ppm * 1e-6;
	params_write(&p);
	dry.ppm = ppm;
	return (0);
}

static double
dry_get_freq(struct nt_clock *c)
{
	(void)c;
	return (dry.ppm);
}

static int
dry_set_status(struct nt_clock *c, const struct nt_clock_status *st)
{
	(void)c;
	assert(st != NULL);
	if (isnan(st->maxerror) || isnan(st->esterror))
		return (-EINVAL);
	dry.status = *st;
	return (0);
}

static const struct nt_clock_ops dry_ops = {
	.now = dry_now,
	.from_kernel = dry_from_kernel,
	.step = dry_step,
	.slew = dry_slew,
	.set_freq = dry_set_freq,
	.get_freq = dry_get_freq,
	.set_status = dry_set_status,
};

void
nt_clock_dry_reset(void)
{
	static const struct dry_params zero;

	params_write(&zero);
	dry.ppm = 0;
	dry.status = (struct nt_clock_status){
		.synced = false,
		.maxerror = DRY_UNSYNC_ERROR,
		.esterror = DRY_UNSYNC_ERROR,
		.leap = NTP_LEAP_NONE,
	};
	dry_clock = (struct nt_clock){
		.ops = &dry_ops,
		.name = "dry-run",
		.max_freq_ppm = DRY_MAX_PPM,
		.priv = &dry,
	};
	dry_inited = true;
}

struct nt_clock *
nt_clock_dry(void)
{
	if (!dry_inited)
		nt_clock_dry_reset();
	return (&dry_clock);
}

const struct nt_clock_status *
nt_clock_dry_status(void)
{
	if (!dry_inited)
		nt_clock_dry_reset();
	return (&dry.status);
}

double
nt_clock_dry_correction(nt_time kernel_time)
{
	struct dry_params p;

	if (!dry_inited)
		nt_clock_dry_reset();
	params_read(&p);
	return ((double)correction_ns(&p, kernel_time) * 1e-9);
}
