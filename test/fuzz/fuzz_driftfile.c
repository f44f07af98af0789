/*
 * Fuzz target: the drift file reader.  The daemon trusts this file to set
 * the clock's rate at start, so whatever it holds (a torn write, another
 * program's file, junk) must give either two sane numbers or one line
 * naming the file.  The reader takes a path, so each input goes into a
 * memfd opened through /proc/self/fd: no disk writes per run.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "driftfile.h"
#include "fuzz.h"

static char path[64];
static int fd = -1;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fd = memfd_create("ntimed-fuzz-drift", MFD_CLOEXEC);
	FZ_CHECK(fd >= 0);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	double freq = NAN, skew = NAN;
	int r;

	FZ_CHECK(fd >= 0);
	FZ_CHECK(ftruncate(fd, 0) == 0);
	FZ_CHECK(size == 0 || pwrite(fd, data, size, 0) == (ssize_t)size);
	err[0] = '\0';
	r = nt_drift_read(path, &freq, &skew, err, sizeof err);
	FZ_CHECK(r == 0 || r == -1);	/* 1 is "no such file" */
	if (r == 0) {
		FZ_CHECK(isfinite(freq) && fabs(freq) <= NT_DRIFT_MAX_PPM);
		FZ_CHECK(isfinite(skew) && skew >= 0);
	} else {
		fz_check_message(err, sizeof err, path);
		FZ_CHECK(isnan(freq) && isnan(skew));	/* left alone */
	}
	return (0);
}
