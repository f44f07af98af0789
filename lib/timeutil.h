/*
 * Time values used everywhere in ntimed.
 *
 * Absolute times are nt_time: signed 64-bit nanoseconds since 1970-01-01
 * UTC (POSIX scale).  That is exact enough for NTP (whose 2^-32 s fraction
 * we round to the nanosecond) and good until the year 2262.  Differences,
 * offsets and rates are plain doubles in seconds (and seconds per second).
 *
 * NTP on-wire timestamps carry no era number; nt_from_ntp64() puts them in
 * the era that lands closest to a pivot (our own clock), which is what makes
 * the 2036 rollover a non-event.
 */
#ifndef NTIMED_TIMEUTIL_H
#define NTIMED_TIMEUTIL_H

#include <stdint.h>
#include <stddef.h>
#include <time.h>

typedef int64_t nt_time;

#define NT_SEC INT64_C(1000000000)
#define NT_MSEC INT64_C(1000000)
#define NT_USEC INT64_C(1000)

/* Seconds between the NTP epoch (1900-01-01) and the POSIX epoch. */
#define NTP_UNIX_OFFSET INT64_C(2208988800)

/* a - b, in seconds. */
static inline double
nt_diff(nt_time a, nt_time b)
{
	return ((double)(a - b) * 1e-9);
}

nt_time nt_add(nt_time t, double seconds);
nt_time nt_from_sec(double seconds);

nt_time nt_from_timespec(const struct timespec *ts);
struct timespec nt_to_timespec(nt_time t);

/* 64-bit NTP timestamp (32.32 fixed point, era-relative) <-> nt_time. */
uint64_t nt_to_ntp64(nt_time t);
nt_time nt_from_ntp64(uint64_t ntp, nt_time pivot);

/*
 * 32-bit NTP short format (16.16, unsigned seconds) <-> seconds.  Root
 * delay and dispersion are parts of an error bound: rounded up, never
 * understated (chrony does the same).
 */
uint32_t nt_to_ntp32(double seconds);
double nt_from_ntp32(uint32_t v);

/* "2026-11-26T11:04:06.123456789Z"; buf must hold NT_TIMESTR_LEN. */
#define NT_TIMESTR_LEN 40
const char *nt_format_utc(nt_time t, char *buf, size_t len);
/* To the second, for people (as chronyc): "2026-11-26T11:04:06Z". */
const char *nt_format_utc_sec(nt_time t, char *buf, size_t len);

/* Seconds as a human string with a unit: "+12.3us", "-1.234ms", "+0.500s". */
#define NT_DURSTR_LEN 24
const char *nt_format_dur(double seconds, char *buf, size_t len);
/* The same without the sign, for delays and error bounds: "12.3us". */
const char *nt_format_mag(double seconds, char *buf, size_t len);

#endif
