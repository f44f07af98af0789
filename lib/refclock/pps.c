/*
 * The pps driver: a pulse per second through the Linux PPS API (RFC 2783
 * as the kernel's /dev/ppsN ioctls).  The kernel timestamps each edge in
 * its interrupt handler, so a pulse tells the phase of the second to a
 * few microseconds but not which second it is: the samples are "pulses"
 * (offset modulo 1 s), numbered by the paired refclock in refclock.c.
 *
 * Read on a timer, twice a second: PPS_FETCH without waiting returns the
 * last edge and its sequence number, so each edge is taken once and a
 * missed read loses nothing but that pulse.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/pps.h>

#include "log.h"
#include "ntp_pkt.h"
#include "refclock.h"

#define PULSE_MAXAGE	1.5	/* s: an older edge is not this second's */

struct pps {
	int		fd;
	unsigned	seq;		/* sequence number of the last edge */
	bool		have_seq;
};

/* Ask for the edge we want; the device may refuse (not root): warn. */
static void
set_params(struct nt_refclock *rc, int fd)
{
	int want = rc->conf->edge == NT_PPS_CLEAR ? PPS_CAPTURECLEAR :
	    PPS_CAPTUREASSERT, caps = 0;
	struct pps_kparams p;

	if (ioctl(fd, PPS_GETCAP, &caps) == 0 && !(caps & want))
		nt_log(NT_LOG_WARNING, "refclock %s: the device cannot capture "
		    "the %s edge (capabilities 0x%x)", rc->name,
		    rc->conf->edge == NT_PPS_CLEAR ? "clear" : "assert", caps);
	if (ioctl(fd, PPS_GETPARAMS, &p) != 0)
		return;
	p.mode |= want | PPS_TSFMT_TSPEC;
	if (ioctl(fd, PPS_SETPARAMS, &p) != 0)
		nt_log(NT_LOG_WARNING, "refclock %s: cannot select the %s edge: "
		    "%s", rc->name, rc->conf->edge == NT_PPS_CLEAR ? "clear" :
		    "assert", strerror(errno));
}

static int
pps_open(struct nt_refclock *rc, char *err, size_t errlen)
{
	const char *dev = rc->conf->device;
	struct pps *st;
	int fd, r, caps;

	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0 && (errno == EACCES || errno == EPERM))
		fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		nt_refclock_open_error(dev, errno, err, errlen);
		return (r);
	}
	if (ioctl(fd, PPS_GETCAP, &caps) != 0) {
		r = -errno;
		snprintf(err, errlen, "%s: not a PPS device: %s", dev,
		    strerror(errno));
		close(fd);
		return (r);
	}
	set_params(rc, fd);
	st = calloc(1, sizeof *st);
	assert(st != NULL);
	st->fd = fd;
	rc->priv = st;
	return (0);
}

static void
pps_close(struct nt_refclock *rc)
{
	struct pps *st = rc->priv;

	if (st == NULL)
		return;
	close(st->fd);
	free(st);
	rc->priv = NULL;
}

/* The phase of local time t: the offset to the nearest second. */
static double
phase(nt_time t)
{
	int64_t ns = t % NT_SEC;

	if (ns < 0)
		ns += NT_SEC;
	return (ns >= NT_SEC / 2 ? (double)(NT_SEC - ns) * 1e-9 :
	    -(double)ns * 1e-9);
}

static int
pps_read(struct nt_refclock *rc, struct nt_refclock_sample *out, size_t max,
    char *err, size_t errlen)
{
	struct pps *st = rc->priv;
	struct pps_fdata fd;
	struct pps_ktime *kt;
	unsigned seq;
	struct timespec ts;
	nt_time local, now;

	memset(&fd, 0, sizeof fd);
	fd.timeout.flags = PPS_TIME_INVALID;	/* do not wait */
	if (ioctl(st->fd, PPS_FETCH, &fd) != 0) {
		if (errno == EINTR || errno == ETIMEDOUT)
			return (0);
		snprintf(err, errlen, "PPS_FETCH: %s", strerror(errno));
		return (-errno);
	}
	kt = rc->conf->edge == NT_PPS_CLEAR ? &fd.info.clear_tu :
	    &fd.info.assert_tu;
	seq = rc->conf->edge == NT_PPS_CLEAR ? fd.info.clear_sequence :
	    fd.info.assert_sequence;
	if ((st->have_seq && seq == st->seq) || max == 0)
		return (0);
	st->have_seq = true;
	st->seq = seq;
	ts.tv_sec = (time_t)kt->sec;
	ts.tv_nsec = kt->nsec;
	local = rc->clk->ops->from_kernel(rc->clk, nt_from_timespec(&ts));
	now = nt_clock_now(rc->clk);
	if (fabs(nt_diff(now, local)) > PULSE_MAXAGE)
		return (0);
	memset(out, 0, sizeof *out);
	out->local = local;
	out->offset = phase(local);
	out->leap = NTP_LEAP_NONE;
	out->pulse = true;
	out->n = 1;
	return (1);
}

const struct nt_refclock_driver nt_rc_pps = {
	.name = "pps",
	.refid = "PPS",
	.options = NT_RCO_DEVICE | NT_RCO_EDGE,
	.required = NT_RCO_DEVICE,
	.poll = 4,
	.precision = 1e-6,
	.interval = 0.5,
	.open = pps_open,
	.read = pps_read,
	.close = pps_close,
};
