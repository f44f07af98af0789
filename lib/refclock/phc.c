/*
 * The phc driver: a PTP hardware clock (/dev/ptpN), e.g. a NIC's clock
 * disciplined by ptp4l or a GNSS card.  Each read compares it with the
 * system clock by the best method the driver offers: a cross-timestamp
 * (PTP_SYS_OFFSET_PRECISE: both clocks latched by hardware at once), else
 * PTP_SYS_OFFSET_EXTENDED (system time read just before and after each
 * PHC read), else PTP_SYS_OFFSET (the same, interleaved).  Of several
 * readings the one with the narrowest system-time window wins; half that
 * window bounds the error.
 *
 * A PHC kept by ptp4l usually runs on TAI: set 'offset: -37' (the current
 * TAI - UTC) to serve UTC.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/ptp_clock.h>

#include "log.h"
#include "ntp_pkt.h"
#include "refclock.h"

#define PHC_READINGS	10

enum method { M_PRECISE, M_EXTENDED, M_PLAIN, M_NONE };

struct phc {
	int		fd;
	enum method	m;
};

int
nt_phc_best(const nt_time (*ts)[3], int n, nt_time *mid, double *offset,
    double *window)
{
	int best = -1;
	nt_time w, bw = 0;

	for (int i = 0; i < n; i++) {
		w = ts[i][2] - ts[i][0];
		if (w < 0 || (best >= 0 && w >= bw))
			continue;
		best = i;
		bw = w;
	}
	if (best < 0)
		return (-1);
	*mid = ts[best][0] + bw / 2;
	*offset = nt_diff(ts[best][1], *mid);
	*window = (double)bw * 1e-9;
	return (best);
}

static int
phc_open(struct nt_refclock *rc, char *err, size_t errlen)
{
	const char *dev = rc->conf->device;
	struct ptp_clock_caps caps;
	struct phc *st;
	int fd, r;

	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		nt_refclock_open_error(dev, errno, err, errlen);
		return (r);
	}
	if (ioctl(fd, PTP_CLOCK_GETCAPS, &caps) != 0) {
		r = -errno;
		snprintf(err, errlen, "%s: not a PTP clock: %s", dev,
		    strerror(errno));
		close(fd);
		return (r);
	}
	st = calloc(1, sizeof *st);
	assert(st != NULL);
	st->fd = fd;
	st->m = M_PRECISE;
	rc->priv = st;
	return (0);
}

static void
phc_close(struct nt_refclock *rc)
{
	struct phc *st = rc->priv;

	if (st == NULL)
		return;
	close(st->fd);
	free(st);
	rc->priv = NULL;
}

static nt_time
ptp_time(const struct ptp_clock_time *t)
{
	return ((nt_time)t->sec * NT_SEC + t->nsec);
}

/* Fill ts with triples by the current method; returns how many, or -1. */
static int
readings(struct phc *st, nt_time (*ts)[3])
{
	struct ptp_sys_offset_precise pr;
	struct ptp_sys_offset_extended ex;
	struct ptp_sys_offset pl;

	switch (st->m) {
	case M_PRECISE:
		memset(&pr, 0, sizeof pr);
		if (ioctl(st->fd, PTP_SYS_OFFSET_PRECISE, &pr) != 0)
			return (-1);
		ts[0][0] = ts[0][2] = ptp_time(&pr.sys_realtime);
		ts[0][1] = ptp_time(&pr.device);
		return (1);
	case M_EXTENDED:
		memset(&ex, 0, sizeof ex);
		ex.n_samples = PHC_READINGS;
		if (ioctl(st->fd, PTP_SYS_OFFSET_EXTENDED, &ex) != 0)
			return (-1);
		for (int i = 0; i < PHC_READINGS; i++)
			for (int j = 0; j < 3; j++)
				ts[i][j] = ptp_time(&ex.ts[i][j]);
		return (PHC_READINGS);
	case M_PLAIN:
		memset(&pl, 0, sizeof pl);
		pl.n_samples = PHC_READINGS;
		if (ioctl(st->fd, PTP_SYS_OFFSET, &pl) != 0)
			return (-1);
		for (int i = 0; i < PHC_READINGS; i++)
			for (int j = 0; j < 3; j++)
				ts[i][j] = ptp_time(&pl.ts[2 * i + j]);
		return (PHC_READINGS);
	case M_NONE:
		break;
	}
	errno = EOPNOTSUPP;
	return (-1);
}

static int
phc_read(struct nt_refclock *rc, struct nt_refclock_sample *out, size_t max,
    char *err, size_t errlen)
{
	static const char *const names[] = { "PTP_SYS_OFFSET_PRECISE",
	    "PTP_SYS_OFFSET_EXTENDED", "PTP_SYS_OFFSET" };
	struct phc *st = rc->priv;
	nt_time ts[PHC_READINGS][3], mid;
	double offset, window;
	int n;

	while ((n = readings(st, ts)) < 0) {
		if (st->m == M_NONE || (errno != EOPNOTSUPP && errno != ENOTTY &&
		    errno != EINVAL)) {
			snprintf(err, errlen, "%s: %s", st->m == M_NONE ?
			    "no offset method" : names[st->m], strerror(errno));
			return (-(errno != 0 ? errno : EIO));
		}
		st->m++;
		if (st->m != M_NONE)
			nt_log(NT_LOG_INFO, "refclock %s: using %s", rc->name,
			    names[st->m]);
	}
	if (max == 0 || nt_phc_best((const nt_time (*)[3])ts, n, &mid,
	    &offset, &window) < 0)
		return (0);
	memset(out, 0, sizeof *out);
	out->local = rc->clk->ops->from_kernel(rc->clk, mid);
	out->offset = offset + nt_diff(mid, out->local);
	out->disp = window / 2;
	out->leap = NTP_LEAP_NONE;
	out->n = 1;
	return (1);
}

const struct nt_refclock_driver nt_rc_phc = {
	.name = "phc",
	.refid = "PHC",
	.options = NT_RCO_DEVICE,
	.required = NT_RCO_DEVICE,
	.poll = 2,
	.precision = 1e-8,
	.interval = 1.0,
	.open = phc_open,
	.read = phc_read,
	.close = phc_close,
};
