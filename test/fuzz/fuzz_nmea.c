/*
 * Fuzz target: the NMEA 0183 reader, parser and time rules (lib/nmea.h),
 * which take whatever a serial port delivers -- line noise, binary
 * protocols, receivers with broken firmware.  The bytes go through
 * nt_nmea_feed() in fuzzed chunk sizes as they would arrive at 9600 baud,
 * every line is parsed, and every good sentence goes to nt_nmea_time().
 * A time the rules accept must be a real date within the GPS week
 * rollover window around our clock (the pivot), never before it by more
 * than 512 weeks.
 *
 * Layout: chunk:1 pivot_days:2, then the byte stream.
 */
#include <string.h>

#include "fuzz.h"
#include "nmea.h"

#define BYTE_NS INT64_C(1041667)	/* 9600 baud, 8N1 */
#define PIVOT_BASE INT64_C(1735689600)	/* 2025-01-01 */
#define WEEK INT64_C(604800)

static void
check_sentence(struct nt_nmea_track *t, const struct nt_nmea_sentence *s,
    nt_time pivot)
{
	enum nt_nmea_verdict v;
	nt_time ref;

	FZ_CHECK(s->type >= NT_NMEA_OTHER && s->type < NT_NMEA_NTYPES);
	FZ_CHECK(memchr(s->address, '\0', sizeof s->address) != NULL);
	if (s->has_time)
		FZ_CHECK(s->tod >= 0 && s->tod < 86401 * NT_SEC);
	v = nt_nmea_time(t, s, pivot, &ref);
	FZ_CHECK(v >= NT_NMEA_USE && v < NT_NMEA_NVERDICT);
	FZ_CHECK(nt_nmea_verdict_str(v) != NULL);
	if (v != NT_NMEA_USE)
		return;
	FZ_CHECK(s->has_time);
	FZ_CHECK(ref >= pivot - (512 * WEEK + 2 * NT_NMEA_DAY) * NT_SEC);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct nt_nmea_reader r;
	struct nt_nmea_track t;
	struct nt_nmea_sentence s;
	enum nt_nmea_err err;
	const uint8_t *buf;
	size_t chunk, n, used;
	nt_time rx, pivot;
	uint64_t lines = 0;
	int stuck = 0;

	chunk = 1 + (size_t)fz_take(&in, 1) % 64;
	pivot = (PIVOT_BASE + (int64_t)fz_take(&in, 2) * NT_NMEA_DAY) *
	    NT_SEC;
	rx = pivot;
	nt_nmea_reader_init(&r);
	nt_nmea_track_init(&t);
	while ((n = fz_bytes(&in, chunk, &buf)) > 0) {
		rx += (nt_time)n * BYTE_NS;
		while (n > 0) {
			bool ended = nt_nmea_feed(&r, buf, n, &used, rx,
			    BYTE_NS, &s, &err);

			/* A line may end before its next byte, never twice. */
			stuck = used > 0 ? 0 : stuck + 1;
			FZ_CHECK(used <= n && stuck < 2);
			FZ_CHECK(r.len <= NT_NMEA_MAXLINE);
			buf += used;
			n -= used;
			if (!ended)
				break;
			lines++;
			FZ_CHECK(err >= NT_NMEA_OK && err < NT_NMEA_NERR);
			FZ_CHECK(nt_nmea_strerror(err) != NULL);
			FZ_CHECK(s.rx <= rx);
			if (err == NT_NMEA_OK)
				check_sentence(&t, &s, pivot);
		}
	}
	FZ_CHECK(r.n_lines == lines);
	return (0);
}
