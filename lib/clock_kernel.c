/*
 * The kernel clock backend: steers CLOCK_REALTIME through clock_adjtime().
 *
 * The discipline computes the frequency itself, so the kernel's own PLL and
 * FLL stay off; we only hand the kernel an absolute frequency.  The kernel
 * takes that frequency in two parts: the tick length (how many microseconds
 * each of USER_HZ ticks per second adds, so one microsecond of tick is USER_HZ
 * ppm) and a fine "freq" term of at most +-500 ppm in units of 2^-16 ppm.
 * Splitting the correction over both gives a range of about +-10%, far more
 * than the +-500 ppm a freq-only daemon can reach, which is what rescues
 * machines whose clocks are badly off (broken virtual machines, bad crystals).
 *
 * The kernel keeps the sync status too: STA_UNSYNC, leap second flags and
 * the error bounds are what other programs (and the RTC 11-minute mode) see.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "clock_kernel.h"
#include "log.h"
#include "ntp_pkt.h"

/* Kernel limit on maxerror and esterror (NTP_PHASE_LIMIT in kernel/time). */
#define KERN_MAX_ERROR_US	16000000L
#define CLOCK_MAX_PPM		100000.0	/* our cap, whatever the kernel */
#define CLOCK_MAX_STEP		4e9		/* seconds; nt_time range is 9e9 */

struct kernel_state {
	bool	inited;
	bool	owned;		/* kernel PLL checked and disabled */
	long	hz;		/* USER_HZ */
	double	last_ppm;	/* what we set, for get_freq on read errors */
};

static struct kernel_state kstate;
static struct nt_clock kernel_clock;

static int
kernel_adjtime(struct timex *tx)
{
	if (clock_adjtime(CLOCK_REALTIME, tx) < 0)
		return (-errno);
	return (0);
}

void
nt_clock_kernel_tick_limits(long hz, long *tick_min, long *tick_max)
{
	assert(hz > 0);
	/* kernel/time: ticks within +-10% of nominal (1e6 / hz us). */
	*tick_min = (900000 + hz - 1) / hz;
	*tick_max = 1100000 / hz;
	assert(*tick_min <= *tick_max);
}

double
nt_clock_kernel_combine(long tick, long freq, long hz)
{
	/* Each second adds tick * hz us: one us of tick is hz ppm. */
	return ((double)tick * (double)hz - 1e6 +
	    (double)freq / NT_KERNEL_FREQ_SCALE);
}

void
nt_clock_kernel_split(double ppm, long hz, long *tick, long *freq)
{
	long tmin, tmax, t;
	double rest;

	assert(isfinite(ppm));
	nt_clock_kernel_tick_limits(hz, &tmin, &tmax);
	/* The nearest whole tick leaves at most hz / 2 ppm for freq. */
	t = lround((1e6 + ppm) / (double)hz);
	t = t < tmin ? tmin : t > tmax ? tmax : t;
	rest = ppm - nt_clock_kernel_combine(t, 0, hz);
	rest = fmax(-NT_KERNEL_MAX_FREQ_PPM,
	    fmin(NT_KERNEL_MAX_FREQ_PPM, rest));
	*tick = t;
	*freq = lround(rest * NT_KERNEL_FREQ_SCALE);
}

static long
user_hz(void)
{
	long hz = sysconf(_SC_CLK_TCK);

	return (hz > 0 ? hz : 100);
}

static void
kernel_init(struct nt_clock *c)
{
	long tmin, tmax;
	double lo, hi;

	if (kstate.inited)
		return;
	kstate.hz = user_hz();
	nt_clock_kernel_tick_limits(kstate.hz, &tmin, &tmax);
	lo = -nt_clock_kernel_combine(tmin, 0, kstate.hz) +
	    NT_KERNEL_MAX_FREQ_PPM;
	hi = nt_clock_kernel_combine(tmax, 0, kstate.hz) +
	    NT_KERNEL_MAX_FREQ_PPM;
	c->max_freq_ppm = fmin(CLOCK_MAX_PPM, fmin(lo, hi));
	assert(c->max_freq_ppm > 0);
	kstate.inited = true;
}

/*
 * Before the first change, make sure nobody else's loop is running in the
 * kernel: an ntpd that died with the PLL on would keep slewing against us.
 * With the PLL still on, ADJ_OFFSET 0 empties its pending phase correction;
 * then the PLL and FLL bits go.  A pending adjtime() slew is cancelled too.
 */
static int
kernel_take_over(void)
{
	struct timex tx = { .modes = 0 };
	int e;

	if (kstate.owned)
		return (0);
	if ((e = kernel_adjtime(&tx)) < 0)
		return (e);
	if (tx.status & (STA_PLL | STA_FLL)) {
		nt_log(NT_LOG_NOTICE, "kernel clock: kernel PLL/FLL was on "
		    "(another time daemon?), turning it off");
		tx = (struct timex){ .modes = ADJ_OFFSET, .offset = 0 };
		if ((e = kernel_adjtime(&tx)) < 0)
			return (e);
		tx = (struct timex){ .modes = 0 };
		if ((e = kernel_adjtime(&tx)) < 0)
			return (e);
		tx.status &= ~(STA_PLL | STA_FLL);
		tx.modes = ADJ_STATUS;
		if ((e = kernel_adjtime(&tx)) < 0)
			return (e);
	}
	tx = (struct timex){ .modes = ADJ_OFFSET_SINGLESHOT, .offset = 0 };
	if ((e = kernel_adjtime(&tx)) < 0)
		return (e);
	kstate.owned = true;
	return (0);
}

static nt_time
kernel_now(struct nt_clock *c)
{
	struct timespec ts;

	(void)c;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		assert(!"clock_gettime(CLOCK_REALTIME) failed");
	return (nt_from_timespec(&ts));
}

static nt_time
kernel_from_kernel(struct nt_clock *c, nt_time kernel_time)
{
	(void)c;
	return (kernel_time);
}

static int
kernel_step(struct nt_clock *c, double delta)
{
	struct timex tx = { .modes = ADJ_SETOFFSET | ADJ_NANO };
	struct timespec ts;
	int e;

	(void)c;
	if (!isfinite(delta) || fabs(delta) > CLOCK_MAX_STEP)
		return (-EINVAL);
	if ((e = kernel_take_over()) < 0)
		return (e);
	/* tv_sec may be negative, tv_usec (nanoseconds here) never is. */
	ts = nt_to_timespec(nt_from_sec(delta));
	assert(ts.tv_nsec >= 0 && ts.tv_nsec < NT_SEC);
	tx.time.tv_sec = ts.tv_sec;
	tx.time.tv_usec = ts.tv_nsec;
	return (kernel_adjtime(&tx));
}

/* adjtime(3)-style: the kernel slews at 500 ppm and needs no help. */
static int
kernel_slew(struct nt_clock *c, double delta)
{
	struct timex tx = { .modes = ADJ_OFFSET_SINGLESHOT };
	int e;

	(void)c;
	if (!isfinite(delta) || fabs(delta) > 2000.0)
		return (-EINVAL);
	if ((e = kernel_take_over()) < 0)
		return (e);
	tx.offset = lround(delta * 1e6);	/* always microseconds */
	return (kernel_adjtime(&tx));
}

static int
kernel_set_freq(struct nt_clock *c, double ppm)
{
	struct timex tx = { .modes = ADJ_TICK | ADJ_FREQUENCY };
	long tick, freq;
	int e;

	if (isnan(ppm))
		return (-EINVAL);
	ppm = fmax(-c->max_freq_ppm, fmin(c->max_freq_ppm, ppm));
	if ((e = kernel_take_over()) < 0)
		return (e);
	/* Coarse part in whole tick microseconds, the rest in 2^-16 ppm. */
	nt_clock_kernel_split(ppm, kstate.hz, &tick, &freq);
	tx.tick = tick;
	tx.freq = freq;
	if ((e = kernel_adjtime(&tx)) < 0)
		return (e);
	kstate.last_ppm = ppm;
	return (0);
}

static double
kernel_get_freq(struct nt_clock *c)
{
	struct timex tx = { .modes = 0 };

	(void)c;
	if (kernel_adjtime(&tx) < 0)
		return (kstate.last_ppm);
	return (nt_clock_kernel_combine(tx.tick, tx.freq, kstate.hz));
}

/* Seconds to the kernel's microseconds, within what it accepts. */
static long
error_us(double seconds)
{
	double us = seconds * 1e6;

	if (!(us > 0))
		return (0);
	if (us >= (double)KERN_MAX_ERROR_US)
		return (KERN_MAX_ERROR_US);
	return (lround(us));
}

static int
kernel_set_status(struct nt_clock *c, const struct nt_clock_status *st)
{
	struct timex tx = { .modes = 0 };
	int e;

	(void)c;
	assert(st != NULL);
	if (isnan(st->maxerror) || isnan(st->esterror))
		return (-EINVAL);
	if ((e = kernel_take_over()) < 0)
		return (e);
	if ((e = kernel_adjtime(&tx)) < 0)
		return (e);
	tx.status &= ~(STA_UNSYNC | STA_INS | STA_DEL | STA_PLL | STA_FLL);
	if (!st->synced)
		tx.status |= STA_UNSYNC;
	if (st->leap == NTP_LEAP_INSERT)
		tx.status |= STA_INS;
	else if (st->leap == NTP_LEAP_DELETE)
		tx.status |= STA_DEL;
	tx.modes = ADJ_STATUS | ADJ_MAXERROR | ADJ_ESTERROR;
	tx.maxerror = error_us(st->maxerror);
	tx.esterror = error_us(st->esterror);
	return (kernel_adjtime(&tx));
}

static const struct nt_clock_ops kernel_ops = {
	.now = kernel_now,
	.from_kernel = kernel_from_kernel,
	.step = kernel_step,
	.slew = kernel_slew,
	.set_freq = kernel_set_freq,
	.get_freq = kernel_get_freq,
	.set_status = kernel_set_status,
};

struct nt_clock *
nt_clock_kernel(void)
{
	struct nt_clock *c = &kernel_clock;

	if (!kstate.inited) {
		c->ops = &kernel_ops;
		c->name = "kernel";
		c->priv = &kstate;
		kernel_init(c);
		(void)nt_clock_kernel_read(&kstate.last_ppm, NULL, NULL);
	}
	return (c);
}

int
nt_clock_kernel_read(double *freq_ppm, double *maxerror, bool *synced)
{
	struct timex tx = { .modes = 0 };
	int e;

	if ((e = kernel_adjtime(&tx)) < 0)
		return (e);
	if (freq_ppm != NULL)
		*freq_ppm = nt_clock_kernel_combine(tx.tick, tx.freq,
		    kstate.inited ? kstate.hz : user_hz());
	if (maxerror != NULL)
		*maxerror = (double)tx.maxerror * 1e-6;
	if (synced != NULL)
		*synced = (tx.status & STA_UNSYNC) == 0;
	return (0);
}
