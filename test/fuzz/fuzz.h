/*
 * What the fuzz targets share.  A target gets one byte string per run; the
 * cursor below hands it out as the numbers a target needs (times, lengths,
 * flags), so that one input can drive a whole sequence of calls the way a
 * peer drives a daemon.  Past the end it returns zeros: every input is a
 * valid script.  FZ_CHECK states a property that must hold for every input;
 * it aborts whatever NDEBUG says, so a violation is a crash libFuzzer
 * records like any other.
 */
#ifndef NTIMED_FUZZ_H
#define NTIMED_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* libFuzzer's entry points (replay.c provides main() without libFuzzer). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * A log sink for targets whose code logs what it refuses (every input
 * would): the fuzzer's output stays for its findings.
 */
static inline void
fz_quiet(void *ctx, enum nt_log_level lvl, const char *msg)
{
	(void)ctx;
	(void)lvl;
	(void)msg;
}

#define FZ_CHECK(cond) \
	((cond) ? (void)0 : fz_fail(#cond, __FILE__, __LINE__))

static inline void
fz_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "%s:%d: property violated: %s\n", file, line, what);
	abort();
}

struct fz_in {
	const uint8_t	*p;
	size_t		n;
};

/* The next nbytes (<= 8) as a big-endian number; zeros past the end. */
static inline uint64_t
fz_take(struct fz_in *in, int nbytes)
{
	uint64_t v = 0;

	for (int i = 0; i < nbytes; i++) {
		v <<= 8;
		if (in->n > 0) {
			v |= *in->p++;
			in->n--;
		}
	}
	return (v);
}

/* Up to want bytes in place; returns how many there are. */
static inline size_t
fz_bytes(struct fz_in *in, size_t want, const uint8_t **out)
{
	size_t n = want < in->n ? want : in->n;

	*out = in->p;
	in->p += n;
	in->n -= n;
	return (n);
}

/*
 * An error message the user would see: non-empty, one line, printable
 * apart from UTF-8, and starting with where (a file name, say).
 */
static inline void
fz_check_message(const char *msg, size_t cap, const char *where)
{
	size_t len = strnlen(msg, cap);

	FZ_CHECK(len > 0 && len < cap);
	FZ_CHECK(strncmp(msg, where, strlen(where)) == 0);
	for (size_t i = 0; i < len; i++)
		FZ_CHECK((unsigned char)msg[i] >= 0x20 && msg[i] != 0x7f);
}

#endif
