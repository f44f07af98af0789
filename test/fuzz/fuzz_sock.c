/*
 * Fuzz target: chrony's SOCK refclock datagram (nt_sock_decode), which
 * gpsd or any local process able to write to the socket sends.  A sample
 * the decoder accepts must be a finite, bounded time with valid leap
 * bits; anything else must be refused.  The datagram is copied to a
 * buffer of its exact size, so a read past it is caught.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "refclock.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nt_sock_sample s;
	enum nt_sock_verdict v;

	memset(&s, 0, sizeof s);
	v = nt_sock_decode(data, size, &s);
	FZ_CHECK(strcmp(nt_sock_strerror(v), "?") != 0);
	FZ_CHECK((v == NT_SOCK_SIZE) == (size != sizeof s));
	if (v != NT_SOCK_OK)
		return (0);
	FZ_CHECK(s.magic == NT_SOCK_MAGIC);
	FZ_CHECK(isfinite(s.offset) && fabs(s.offset) <= 1e9);
	FZ_CHECK(s.tv.tv_usec >= 0 && s.tv.tv_usec < 1000000);
	FZ_CHECK(s.leap >= 0 && s.leap <= 2);
	return (0);
}
