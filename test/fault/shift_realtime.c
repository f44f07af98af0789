/*
 * Test shim (LD_PRELOAD), never linked into ntimed: makes
 * clock_gettime(CLOCK_REALTIME) read SHIFT_NS nanoseconds ahead, the
 * number read from the file $NTIMED_SHIFT_FILE (checked once a second),
 * so a test can "step the clock" of one dry-run daemon the way date -s
 * steps the machine's, without touching the machine's clock.
 * CLOCK_BOOTTIME and the kernel's packet timestamps are left alone.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static _Atomic long long shift_ns;
static _Atomic long checked = -1;

int clock_gettime(clockid_t id, struct timespec *ts);

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);
	struct timespec m;
	long long v, ns;
	const char *path;
	FILE *f;
	int r;

	if (real == NULL)
		real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT,
		    "clock_gettime");
	r = real(id, ts);
	if (r != 0 || id != CLOCK_REALTIME)
		return (r);
	if (real(CLOCK_MONOTONIC_COARSE, &m) == 0 && m.tv_sec != checked) {
		checked = m.tv_sec;
		path = getenv("NTIMED_SHIFT_FILE");
		if (path != NULL && (f = fopen(path, "r")) != NULL) {
			if (fscanf(f, "%lld", &v) == 1)
				shift_ns = v;
			fclose(f);
		}
	}
	ns = (long long)ts->tv_nsec + shift_ns % 1000000000LL;
	ts->tv_sec += (time_t)(shift_ns / 1000000000LL + ns / 1000000000LL);
	ns %= 1000000000LL;
	if (ns < 0) {
		ns += 1000000000LL;
		ts->tv_sec--;
	}
	ts->tv_nsec = (long)ns;
	return (r);
}
