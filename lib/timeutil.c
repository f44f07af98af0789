/*
 * Conversions between nt_time, struct timespec and NTP's wire formats.
 * Kept in one place because era and rounding mistakes here are silent.
 */
#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "timeutil.h"

/*
 * llround(seconds * 1e9), without a call into libm on the common path
 * (the simulator converts a few times every simulated second), and
 * without a branch on the fraction, which is random: it would be
 * mispredicted half the time.
 */
nt_time
nt_from_sec(double seconds)
{
	double ns = seconds * 1e9, f;
	nt_time t;

	if (!(fabs(ns) < 0x1p62))
		return ((nt_time)llround(ns));
	t = (nt_time)ns;	/* toward zero */
	f = ns - (double)t;	/* ns's fraction, exactly */
	return (t + (nt_time)(f >= 0.5) - (nt_time)(f <= -0.5));
}

nt_time
nt_add(nt_time t, double seconds)
{
	return (t + nt_from_sec(seconds));
}

nt_time
nt_from_timespec(const struct timespec *ts)
{
	return ((nt_time)ts->tv_sec * NT_SEC + ts->tv_nsec);
}

struct timespec
nt_to_timespec(nt_time t)
{
	struct timespec ts;
	int64_t sec = t / NT_SEC, nsec = t % NT_SEC;

	if (nsec < 0) {
		nsec += NT_SEC;
		sec -= 1;
	}
	ts.tv_sec = (time_t)sec;
	ts.tv_nsec = (long)nsec;
	return (ts);
}

uint64_t
nt_to_ntp64(nt_time t)
{
	int64_t sec = t / NT_SEC, nsec = t % NT_SEC;
	uint64_t frac;

	if (nsec < 0) {
		nsec += NT_SEC;
		sec -= 1;
	}
	/* Round the fraction to the nearest 2^-32 s. */
	frac = (((uint64_t)nsec << 32) + NT_SEC / 2) / NT_SEC;
	if (frac >> 32) {
		frac = 0;
		sec += 1;
	}
	/* The era number is dropped: only the low 32 bits of seconds go out. */
	return (((uint64_t)(uint32_t)(sec + NTP_UNIX_OFFSET) << 32) | frac);
}

nt_time
nt_from_ntp64(uint64_t ntp, nt_time pivot)
{
	int64_t psec = pivot / NT_SEC + NTP_UNIX_OFFSET;
	int64_t sec, nsec;
	int32_t delta;

	/* Signed 32-bit distance from the pivot's seconds picks the era. */
	delta = (int32_t)((uint32_t)(ntp >> 32) - (uint32_t)psec);
	sec = psec + delta - NTP_UNIX_OFFSET;
	nsec = (int64_t)(((ntp & 0xffffffffu) * (uint64_t)NT_SEC + (1u << 31)) >> 32);
	return (sec * NT_SEC + nsec);
}

uint32_t
nt_to_ntp32(double seconds)
{
	double v;

	if (!(seconds > 0))
		return (0);
	v = ceil(seconds * 65536.0);
	if (v >= 4294967295.0)
		return (0xffffffffu);
	return ((uint32_t)v);
}

double
nt_from_ntp32(uint32_t v)
{
	return ((double)v / 65536.0);
}

/* ISO 8601 UTC, with nanoseconds or (!ns) to the second, truncated. */
static const char *
format_utc(nt_time t, bool ns, char *buf, size_t len)
{
	struct timespec ts = nt_to_timespec(t);
	struct tm tm;
	int n;

	assert(len >= NT_TIMESTR_LEN);
	if (gmtime_r(&ts.tv_sec, &tm) == NULL) {
		snprintf(buf, len, "(invalid)");
		return (buf);
	}
	n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
	assert(n > 0 && (size_t)n + 11 < len);	/* nt_time: years 1677-2262 */
	if (ns)
		snprintf(buf + n, len - (size_t)n, ".%09ldZ", ts.tv_nsec);
	else
		snprintf(buf + n, len - (size_t)n, "Z");
	return (buf);
}

const char *
nt_format_utc(nt_time t, char *buf, size_t len)
{
	return (format_utc(t, true, buf, len));
}

const char *
nt_format_utc_sec(nt_time t, char *buf, size_t len)
{
	return (format_utc(t, false, buf, len));
}

/*
 * True when v >= 0, rounded to 1/scale as printf will, shows as 1000 or
 * more (or is not a number): then the next larger unit is used, so that
 * 999.96us comes out as "+1.000ms" and not "+1000.0us".
 */
static int
dur_overflows(double v, double scale)
{
	return (!(round(v * scale) / scale < 1000.0));
}

const char *
nt_format_dur(double s, char *buf, size_t len)
{
	double a = fabs(s);

	if (a < 0.5e-9)		/* "+0ns", never "-0ns" */
		s = 0;
	if (!dur_overflows(a * 1e9, 1.0))
		snprintf(buf, len, "%+.0fns", s * 1e9);
	else if (!dur_overflows(a * 1e6, 10.0))
		snprintf(buf, len, "%+.1fus", s * 1e6);
	else if (!dur_overflows(a * 1e3, 1000.0))
		snprintf(buf, len, "%+.3fms", s * 1e3);
	else
		snprintf(buf, len, "%+.3fs", s);
	return (buf);
}

const char *
nt_format_mag(double s, char *buf, size_t len)
{
	nt_format_dur(fabs(s), buf, len);
	if (buf[0] == '+')
		memmove(buf, buf + 1, strlen(buf));
	return (buf);
}
