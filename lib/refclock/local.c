/*
 * The local driver: this machine's own clock as a last-resort reference,
 * for isolated networks that must agree with each other more than with
 * UTC (chrony's 'local stratum N', ntpd's 127.127.1.0).  Every sample
 * says "offset 0", so the discipline holds the frequency it has; the
 * driver table marks it last-resort: the engine selects it only when no
 * other source is usable, and serves at the configured 'stratum'.
 */
#include <string.h>

#include "ntp_pkt.h"
#include "refclock.h"

static int
local_open(struct nt_refclock *rc, char *err, size_t errlen)
{
	(void)rc;
	(void)err;
	(void)errlen;
	return (0);
}

static int
local_read(struct nt_refclock *rc, struct nt_refclock_sample *out,
    size_t max, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	if (max == 0)
		return (0);
	memset(out, 0, sizeof *out);
	out->local = nt_clock_now(rc->clk);
	out->offset = 0;
	out->leap = NTP_LEAP_NONE;
	out->n = 1;
	return (1);
}

static void
local_close(struct nt_refclock *rc)
{
	(void)rc;
}

const struct nt_refclock_driver nt_rc_local = {
	.name = "local",
	.refid = "LOCL",
	.options = NT_RCO_STRATUM,
	.required = 0,
	.poll = 6,
	.precision = 1e-6,
	.interval = 86400,	/* i.e. every 2^poll s */
	.last_resort = true,
	.open = local_open,
	.read = local_read,
	.close = local_close,
};
