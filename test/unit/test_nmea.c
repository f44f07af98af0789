/*
 * Tests for the NMEA reader, decoder and time rules.  The ten real
 * receiver captures in test/data/nmea are replayed byte for byte (in
 * random chunk sizes, as a serial port delivers them) and every sentence
 * is checked against a second, independent decoder written here with
 * sscanf() and timegm(): same verdict (valid or not), same time.  The
 * per-file totals come from the data's README.  Then hand-made sentences
 * for each rule (checksums, fix, rollover, jumps, midnight) and junk:
 * random bytes, a 100 KB line, sentences cut short.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "nmea.h"

#define MAXFILE (128 * 1024)

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (rng_state * UINT64_C(2685821657736338717));
}

/* ---- The independent decoder ---- */

struct ref_sentence {
	bool	valid;		/* checksum and framing */
	char	type[4];	/* "RMC", ... */
	bool	has_time;
	double	tod;		/* s */
	bool	has_date;
	int64_t	midnight;	/* timegm() of the date */
	char	status;		/* RMC 'A'/'V'; GGA quality digit */
};

static int64_t
gm(int y, int m, int d)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d };

	return ((int64_t)timegm(&tm));
}

static void
ref_fields(const char *body, struct ref_sentence *r)
{
	char f[24][32];
	int n = 0, hh, mm, d, mo, y;
	double ss;
	const char *p = body;

	memset(f, 0, sizeof f);
	while (n < 24) {
		size_t k = strcspn(p, ",");

		snprintf(f[n++], sizeof f[0], "%.*s", (int)k, p);
		if (p[k] == '\0')
			break;
		p += k + 1;
	}
	snprintf(r->type, sizeof r->type, "%.3s", f[0][0] == 'P' ? "" :
	    f[0] + 2);
	if (strstr("RMC ZDA GGA GNS", r->type) != NULL && r->type[0] != '\0' &&
	    sscanf(f[1], "%2d%2d%lf", &hh, &mm, &ss) == 3) {
		r->has_time = true;
		r->tod = hh * 3600 + mm * 60 + ss;
	}
	if (strcmp(r->type, "RMC") == 0) {
		r->status = f[2][0];
		if (sscanf(f[9], "%2d%2d%2d", &d, &mo, &y) == 3) {
			r->has_date = true;
			r->midnight = gm(y < 80 ? 2000 + y : 1900 + y, mo, d);
		}
	} else if (strcmp(r->type, "ZDA") == 0) {
		if (sscanf(f[2], "%d", &d) == 1 && sscanf(f[3], "%d", &mo) ==
		    1 && sscanf(f[4], "%d", &y) == 1) {
			r->has_date = true;
			r->midnight = gm(y, mo, d);
		}
	} else if (strcmp(r->type, "GGA") == 0)
		r->status = f[6][0];
}

/* One text line of a capture (no CR/LF); false when it has no '$'. */
static bool
ref_decode(const char *line, bool *seen_sum, struct ref_sentence *r)
{
	const char *s = strchr(line, '$'), *star;
	unsigned sum = 0, want;
	char body[256];

	memset(r, 0, sizeof *r);
	if (s == NULL)
		return (false);
	for (const char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return (true);		/* invalid */
	star = strchr(s, '*');
	if (star != NULL) {
		if (strlen(star) != 3 || sscanf(star + 1, "%2x", &want) != 1)
			return (true);
		for (const char *p = s + 1; p < star; p++)
			sum ^= (unsigned char)*p;
		if (sum != want)
			return (true);
		*seen_sum = true;
	} else if (*seen_sum)
		return (true);
	snprintf(body, sizeof body, "%.*s", (int)((star != NULL ? star :
	    s + strlen(s)) - s - 1), s + 1);
	r->valid = true;
	ref_fields(body, r);
	return (true);
}

/* ---- Captures ---- */

struct capture {
	const char *file;
	int	n_ok, n_bad, n_rmc_a, n_rmc_v;		/* README */
	int	n_samples;
	const char *first, *last;		/* UTC of the first/last sample */
	double	zda_ahead;			/* s, README: ac12's "crazy times" */
};

static const struct capture captures[] = {
	{ "ac12.log", 51, 0, 7, 0, 3, "2007-12-23T19:32:25", "2007-12-23T19:32:27", 2.0 },
	{ "bu353-glonass.log", 112, 0, 9, 10, 5, "2014-05-26T08:14:15", "2014-05-26T08:14:19", 0 },
	{ "com-1289.log", 97, 1, 14, 0, 10, "2007-10-12T14:37:52.77", "2007-10-12T14:38:01.77", 0 },
	{ "et-332.log", 106, 1, 19, 0, 15, "2010-04-23T15:33:51", "2010-04-23T15:34:05", 0 },
	{ "furuno_gl_ga.log", 306, 0, 16, 0, 12, "2022-07-31T12:02:17", "2022-07-31T12:02:28", 0 },
	{ "garmin17n.log", 22, 0, 2, 0, 0, NULL, NULL, 0 },
	{ "hp58534a.log", 13, 0, 0, 0, 0, NULL, NULL, 0 },
	{ "meinberg-gps164.log", 90, 0, 70, 20, 66, "2023-12-18T22:09:56", "2023-12-18T22:11:21", 0 },
	{ "quectel-L70.log", 115, 0, 16, 0, 12, "2022-03-09T15:01:23", "2022-03-09T15:01:34", 0 },
	{ "ublox-zed-f9p-nmea.log", 1015, 0, 29, 0, 25, "2019-04-12T00:40:00", "2019-04-12T00:40:24", 0 },
};

/* The capture without its '#' lines, byte for byte. */
static size_t
load_capture(const char *name, char *buf, size_t cap)
{
	const char *src = getenv("NTIMED_SRCDIR");
	char path[1024], line[4096];
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof path, "%s/test/data/nmea/%s",
	    src != NULL ? src : "..", name);
	f = fopen(path, "rb");
	if (f == NULL) {
		print_error("cannot open %s\n", path);
		fail();
	}
	while (fgets(line, sizeof line, f) != NULL) {
		size_t n = strlen(line);

		if (line[0] == '#')
			continue;
		assert_true(len + n < cap);
		memcpy(buf + len, line, n);
		len += n;
	}
	fclose(f);
	return (len);
}

static double
parse_utc(const char *s)
{
	int y, mo, d, h, mi;
	double sec;

	assert_int_equal(sscanf(s, "%d-%d-%dT%d:%d:%lf", &y, &mo, &d, &h,
	    &mi, &sec), 6);
	return ((double)gm(y, mo, d) + h * 3600 + mi * 60 + sec);
}

struct replay {
	int	n_ok, n_bad, n_rmc_a, n_rmc_v, n_samples;
	double	first, last;
	double	disagree;
};

/* Check one sentence of the reader against the reference decoding. */
static void
check_sentence(const struct nt_nmea_sentence *s, enum nt_nmea_err e,
    const struct ref_sentence *r, struct replay *out)
{
	assert_int_equal(e == NT_NMEA_OK, r->valid);
	if (!r->valid) {
		out->n_bad++;
		return;
	}
	out->n_ok++;
	if (strcmp(r->type, "RMC") == 0) {
		assert_int_equal(s->type, NT_NMEA_RMC);
		assert_int_equal(s->fix, r->status == 'A' ? NT_NMEA_FIX_OK :
		    NT_NMEA_FIX_NONE);
		out->n_rmc_a += r->status == 'A';
		out->n_rmc_v += r->status == 'V';
	}
	if (strcmp(r->type, "GGA") == 0)
		assert_int_equal(s->fix, r->status >= '1' && r->status <= '5' ?
		    NT_NMEA_FIX_OK : NT_NMEA_FIX_NONE);
	assert_int_equal(s->has_time, r->has_time);
	if (r->has_time)
		assert_true(fabs((double)s->tod * 1e-9 - r->tod) < 1e-6);
	assert_int_equal(s->has_date, r->has_date);
	if (r->has_date)
		assert_true(nt_nmea_days(s->year, s->month, s->day) * 86400 ==
		    r->midnight);
}

/* Lines of the capture, in order, with their reference decoding. */
struct ref_lines {
	struct ref_sentence r[2048];
	double	rx[2048];		/* s: own time + 0.1, or the last */
	size_t	n;
};

static void
ref_capture(const char *buf, size_t len, struct ref_lines *rl)
{
	char line[4096];
	bool seen_sum = false;
	double last_rx = -1, midnight = -1;
	size_t i = 0;

	rl->n = 0;
	while (i < len) {
		size_t k = strcspn(buf + i, "\n");
		struct ref_sentence *r = &rl->r[rl->n];

		snprintf(line, sizeof line, "%.*s", (int)k, buf + i);
		line[strcspn(line, "\r")] = '\0';
		i += k + 1;
		if (!ref_decode(line, &seen_sum, r))
			continue;
		if (r->valid && r->has_date)
			midnight = (double)r->midnight;
		/* Arrives 0.1 s after its time, except a ZDA far ahead of
		 * the cycle (ac12's "crazy times"): it comes with the cycle. */
		if (r->valid && r->has_time && midnight >= 0 &&
		    !(strcmp(r->type, "ZDA") == 0 && last_rx >= 0 &&
		    midnight + r->tod > last_rx + 1.5))
			last_rx = midnight + r->tod + 0.1;
		rl->rx[rl->n++] = last_rx;
		assert_true(rl->n < 2048);
	}
}

static void
replay_capture(const struct capture *c, struct replay *out)
{
	static char buf[MAXFILE];
	static struct ref_lines rl;
	struct nt_nmea_reader rd;
	struct nt_nmea_track tr;
	struct nt_nmea_sentence s;
	enum nt_nmea_err e;
	size_t len = load_capture(c->file, buf, sizeof buf), pos = 0, k = 0;
	size_t used, chunk;
	double first_rx = -1;
	nt_time ref, pivot;

	ref_capture(buf, len, &rl);
	for (size_t j = 0; j < rl.n && first_rx < 0; j++)
		first_rx = rl.rx[j];
	pivot = nt_from_sec(c->first != NULL ? parse_utc(c->first) :
	    first_rx);
	nt_nmea_reader_init(&rd);
	nt_nmea_track_init(&tr);
	memset(out, 0, sizeof *out);
	while (pos < len) {
		chunk = 1 + rng() % 64;
		if (chunk > len - pos)
			chunk = len - pos;
		if (!nt_nmea_feed(&rd, (const uint8_t *)buf + pos, chunk,
		    &used, 0, 0, &s, &e)) {
			pos += chunk;
			continue;
		}
		pos += used;
		assert_true(k < rl.n);
		check_sentence(&s, e, &rl.r[k], out);
		s.rx = nt_from_sec(rl.rx[k] >= 0 ? rl.rx[k] : first_rx);
		k++;
		if (e != NT_NMEA_OK ||
		    nt_nmea_time(&tr, &s, pivot, &ref) != NT_NMEA_USE)
			continue;
		assert_true(llabs(ref - s.rx + 100 * NT_MSEC) < 1000);
		assert_true(out->n_samples == 0 ||
		    nt_diff(ref, nt_from_sec(out->last)) >= 0.999);
		if (out->n_samples++ == 0)
			out->first = nt_diff(ref, 0);
		out->last = nt_diff(ref, 0);
	}
	assert_int_equal(k, rl.n);	/* every '$' line came out */
	out->disagree = tr.disagree;
}

static void
test_captures(void **state)
{
	struct replay r;

	(void)state;
	for (size_t i = 0; i < sizeof captures / sizeof captures[0]; i++) {
		const struct capture *c = &captures[i];

		print_message("%s\n", c->file);
		replay_capture(c, &r);
		assert_int_equal(r.n_ok, c->n_ok);
		assert_int_equal(r.n_bad, c->n_bad);
		assert_int_equal(r.n_rmc_a, c->n_rmc_a);
		assert_int_equal(r.n_rmc_v, c->n_rmc_v);
		assert_int_equal(r.n_samples, c->n_samples);
		assert_true(r.disagree == c->zda_ahead);
		if (c->first == NULL)
			continue;
		assert_true(fabs(r.first - parse_utc(c->first)) < 1e-6);
		assert_true(fabs(r.last - parse_utc(c->last)) < 1e-6);
	}
}

/* ---- Hand-made sentences ---- */

/* "$body*HH\r\n" into buf. */
static size_t
sentence(char *buf, size_t cap, const char *body)
{
	unsigned sum = 0;

	for (const char *p = body; *p != '\0'; p++)
		sum ^= (unsigned char)*p;
	return ((size_t)snprintf(buf, cap, "$%s*%02X\r\n", body, sum));
}

static enum nt_nmea_err
parse_body(const char *body, struct nt_nmea_sentence *s)
{
	char buf[256];
	size_t n = sentence(buf, sizeof buf, body);

	return (nt_nmea_parse(buf, n - 2, false, s));
}

static void
test_checksums(void **state)
{
	struct nt_nmea_sentence s;
	const char *good = "$GPZDA,120000.00,01,02,2025,00,00*63";
	char buf[128];

	(void)state;
	assert_int_equal(nt_nmea_parse(good, strlen(good), true, &s),
	    NT_NMEA_OK);
	assert_true(s.has_checksum);
	strlcpy(buf, good, sizeof buf);
	buf[strlen(buf) - 1] = '2';
	assert_int_equal(nt_nmea_parse(buf, strlen(buf), false, &s),
	    NT_NMEA_E_CHECKSUM);
	/* Lower-case hex is accepted; one digit, three or none is not. */
	assert_int_equal(nt_nmea_parse("$GPTXT,a*02", 11, true, &s),
	    NT_NMEA_OK);
	assert_int_equal(nt_nmea_parse("$GPTXT,a*2f", 11, true, &s),
	    NT_NMEA_E_CHECKSUM);
	assert_int_equal(nt_nmea_parse("$GPTXT,a*", 9, false, &s),
	    NT_NMEA_E_BADSUM);
	assert_int_equal(nt_nmea_parse("$GPTXT,a*2", 10, false, &s),
	    NT_NMEA_E_BADSUM);
	assert_int_equal(nt_nmea_parse("$GPTXT,a*2FF", 12, false, &s),
	    NT_NMEA_E_BADSUM);
	assert_int_equal(nt_nmea_parse("$GPTXT,a*G0", 11, false, &s),
	    NT_NMEA_E_BADSUM);
	/* Without a checksum: fine until the stream has shown one. */
	assert_int_equal(nt_nmea_parse("$GPTXT,a", 8, false, &s), NT_NMEA_OK);
	assert_false(s.has_checksum);
	assert_int_equal(nt_nmea_parse("$GPTXT,a", 8, true, &s),
	    NT_NMEA_E_NOSUM);
	/* Addresses. */
	assert_int_equal(parse_body("GPRM", &s), NT_NMEA_E_ADDRESS);
	assert_int_equal(parse_body("gprmc,", &s), NT_NMEA_E_ADDRESS);
	assert_int_equal(parse_body("G1RMC,", &s), NT_NMEA_E_ADDRESS);
	assert_int_equal(parse_body("PUBX,00", &s), NT_NMEA_OK);
	assert_int_equal(s.type, NT_NMEA_OTHER);
	assert_string_equal(s.address, "PUBX");
	assert_int_equal(parse_body("", &s), NT_NMEA_E_ADDRESS);
	assert_int_equal(nt_nmea_parse("$", 1, false, &s), NT_NMEA_E_ADDRESS);
}

static void
test_talkers(void **state)
{
	static const char *const talkers[] = { "GP", "GN", "GL", "GA", "GB",
	    "BD", "GQ" };
	struct nt_nmea_sentence s;
	char body[128];

	(void)state;
	for (size_t i = 0; i < sizeof talkers / sizeof talkers[0]; i++) {
		snprintf(body, sizeof body, "%sRMC,235959.50,A,,,,,,,311224,,",
		    talkers[i]);
		assert_int_equal(parse_body(body, &s), NT_NMEA_OK);
		assert_int_equal(s.type, NT_NMEA_RMC);
		assert_int_equal(s.tod, (INT64_C(86399) * 1000 + 500) * NT_MSEC);
		assert_int_equal(s.year, 2024);
		assert_int_equal(s.month, 12);
		assert_int_equal(s.day, 31);
		snprintf(body, sizeof body, "%sGNS,000000,,,,,AAN,,,,,,", talkers[i]);
		assert_int_equal(parse_body(body, &s), NT_NMEA_OK);
		assert_int_equal(s.type, NT_NMEA_GNS);
		assert_int_equal(s.fix, NT_NMEA_FIX_OK);
	}
}

static void
test_fields(void **state)
{
	struct nt_nmea_sentence s;

	(void)state;
	/* Fix status: RMC status and mode, GGA quality, GNS modes. */
	assert_int_equal(parse_body("GPRMC,120000,V,,,,,,,010125,,,N", &s),
	    NT_NMEA_OK);
	assert_int_equal(s.fix, NT_NMEA_FIX_NONE);
	assert_int_equal(parse_body("GPRMC,120000,A,,,,,,,010125,,,N", &s),
	    NT_NMEA_OK);
	assert_int_equal(s.fix, NT_NMEA_FIX_NONE);	/* mode says no */
	assert_int_equal(parse_body("GPRMC,120000,A,,,,,,,010125,,,S", &s),
	    NT_NMEA_OK);
	assert_int_equal(s.fix, NT_NMEA_FIX_NONE);	/* simulator */
	assert_int_equal(parse_body("GPRMC,120000,A,,,,,,,010125,,,D,V", &s),
	    NT_NMEA_OK);
	assert_int_equal(s.fix, NT_NMEA_FIX_OK);
	assert_int_equal(parse_body("GPGGA,120000,,,,,0,,,,,,,,", &s),
	    NT_NMEA_OK);
	assert_int_equal(s.fix, NT_NMEA_FIX_NONE);
	assert_int_equal(parse_body("GPGGA,120000,,,,,6,,,,,,,,", &s),
	    NT_NMEA_OK);
	assert_int_equal(s.fix, NT_NMEA_FIX_NONE);	/* estimated */
	assert_int_equal(parse_body("GNGNS,120000,,,,,NNN,,,,,,", &s),
	    NT_NMEA_OK);
	assert_int_equal(s.fix, NT_NMEA_FIX_NONE);
}

static void
test_malformed(void **state)
{
	struct nt_nmea_sentence s;

	(void)state;
	/* Malformed times, dates, statuses, field counts. */
	assert_int_equal(parse_body("GPRMC,240000,A,,,,,,,010125,,", &s),
	    NT_NMEA_E_FIELD);
	assert_int_equal(s.bad_field, 1);
	assert_string_equal(s.bad_name, "time");
	assert_string_equal(s.bad_value, "240000");
	assert_int_equal(parse_body("GPRMC,126000,A,,,,,,,010125,,", &s),
	    NT_NMEA_E_FIELD);
	assert_int_equal(parse_body("GPRMC,12000,A,,,,,,,010125,,", &s),
	    NT_NMEA_E_FIELD);
	assert_int_equal(parse_body("GPRMC,120000.,A,,,,,,,010125,,", &s),
	    NT_NMEA_E_FIELD);
	assert_int_equal(parse_body("GPRMC,12000x,A,,,,,,,010125,,", &s),
	    NT_NMEA_E_FIELD);
	assert_int_equal(parse_body("GPRMC,120000,X,,,,,,,010125,,", &s),
	    NT_NMEA_E_FIELD);
	assert_int_equal(s.bad_field, 2);
	assert_int_equal(parse_body("GPRMC,120000,A,,,,,,,300223,,", &s),
	    NT_NMEA_E_FIELD);		/* 30 February */
	assert_int_equal(s.bad_field, 9);
	assert_string_equal(s.bad_name, "date");	/* for the log */
	assert_string_equal(s.bad_value, "300223");
	assert_int_equal(parse_body("GPRMC,120000,A,,,,,,,290224,,", &s),
	    NT_NMEA_OK);			/* leap day */
	assert_int_equal(parse_body("GPRMC,120000,A,,,,,,,290223,,", &s),
	    NT_NMEA_E_FIELD);
	assert_int_equal(parse_body("GPRMC,120000,A,,,,,,,0101250,,", &s),
	    NT_NMEA_E_FIELD);
	assert_int_equal(parse_body("GPRMC,120000,A,,,,,,,010125,", &s),
	    NT_NMEA_E_FIELDS);
	assert_int_equal(parse_body("GPZDA,120000,01,13,2025,,", &s),
	    NT_NMEA_E_FIELD);
	assert_int_equal(parse_body("GPZDA,120000,01,01,25,,", &s),
	    NT_NMEA_E_FIELD);
	assert_int_equal(parse_body("GPZDA,120000,01,01,2025,", &s),
	    NT_NMEA_E_FIELDS);
	assert_int_equal(parse_body("GPGGA,120000,,,,,9,,,,,,,,", &s),
	    NT_NMEA_E_FIELD);
	/* Cut short: every type counts its fields before reading them. */
	assert_int_equal(parse_body("GNGNS,120000", &s), NT_NMEA_E_FIELDS);
	assert_int_equal(parse_body("GNGNS", &s), NT_NMEA_E_FIELDS);
	assert_int_equal(parse_body("GPRMC", &s), NT_NMEA_E_FIELDS);
	assert_int_equal(parse_body("GPGGA,1", &s), NT_NMEA_E_FIELDS);
	assert_int_equal(parse_body("GPZDA", &s), NT_NMEA_E_FIELDS);
	/* A leap second and a long fraction are times. */
	assert_int_equal(parse_body("GPZDA,235960.123456789,31,12,2016,,",
	    &s), NT_NMEA_OK);
	assert_int_equal(s.tod, INT64_C(86400123456789));
	/* Second 60 is only ever 23:59:60. */
	assert_int_equal(parse_body("GPZDA,123460,31,12,2016,,", &s),
	    NT_NMEA_E_FIELD);
	assert_int_equal(parse_body("GPZDA,,,,,,", &s), NT_NMEA_OK);
	assert_false(s.has_time);
	assert_false(s.has_date);
}

/* Feed text in chunks of 1..max bytes; collect sentences and errors. */
static size_t
feed_all(struct nt_nmea_reader *r, const uint8_t *buf, size_t len,
    size_t max, enum nt_nmea_err *errs, size_t cap)
{
	struct nt_nmea_sentence s;
	enum nt_nmea_err e;
	size_t pos = 0, n = 0, used, chunk;

	while (pos < len) {
		chunk = 1 + rng() % max;
		if (chunk > len - pos)
			chunk = len - pos;
		if (nt_nmea_feed(r, buf + pos, chunk, &used, 0, 0, &s, &e)) {
			assert_true(used <= chunk);
			if (n < cap)
				errs[n] = e;
			n++;
		}
		pos += used;
	}
	return (n);
}

static void
test_junk(void **state)
{
	static uint8_t buf[200 * 1024];
	struct nt_nmea_reader r;
	struct nt_nmea_sentence s;
	enum nt_nmea_err errs[8], e;
	char good[128];
	size_t n, len, glen = sentence(good, sizeof good,
	    "GPZDA,120000.00,01,02,2025,00,00");

	(void)state;
	/* Random bytes: whatever comes out is bounded and never a crash. */
	nt_nmea_reader_init(&r);
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)rng();
	n = feed_all(&r, buf, sizeof buf, 300, errs, 0);
	assert_int_equal(r.n_lines, n);
	assert_true(r.n_bytes == sizeof buf);
	/* A 100 KB line, then a good sentence: one E_LONG, one OK. */
	nt_nmea_reader_init(&r);
	buf[0] = '$';
	memset(buf + 1, 'A', 100 * 1024);
	len = 1 + 100 * 1024;
	buf[len++] = '\n';
	memcpy(buf + len, good, glen);
	len += glen;
	n = feed_all(&r, buf, len, 4096, errs, 8);
	assert_int_equal(n, 2);
	assert_int_equal(errs[0], NT_NMEA_E_LONG);
	assert_int_equal(errs[1], NT_NMEA_OK);
	/* Cut short by the next '$'; binary inside; text around. */
	nt_nmea_reader_init(&r);
	len = (size_t)snprintf((char *)buf, sizeof buf,
	    "noise\r\n$GPRMC,1200%s+ 6: 28 (.....)\n$GPZDA,12\x1b[H0000.00*1F\r\n"
	    "%s\n\n\r", good, good);
	n = feed_all(&r, buf, len, 3, errs, 8);
	assert_int_equal(n, 4);
	assert_int_equal(errs[0], NT_NMEA_E_TRUNCATED);
	assert_int_equal(errs[1], NT_NMEA_OK);
	assert_int_equal(errs[2], NT_NMEA_E_BINARY);
	assert_int_equal(errs[3], NT_NMEA_OK);
	assert_int_equal(r.n_errors[NT_NMEA_OK], 2);
	/* A wrong checksum still names its sentence (for the log). */
	nt_nmea_reader_init(&r);
	memcpy(buf, good, glen);
	buf[8] ^= 1;	/* "120000" -> "130000" */
	assert_true(nt_nmea_feed(&r, buf, glen, &len, 0, 0, &s, &e));
	assert_int_equal(e, NT_NMEA_E_CHECKSUM);
	assert_string_equal(s.address, "GPZDA");
	/* NUL bytes inside a sentence. */
	nt_nmea_reader_init(&r);
	memcpy(buf, good, glen);
	buf[8] = '\0';
	n = feed_all(&r, buf, glen, 5, errs, 8);
	assert_int_equal(n, 1);
	assert_int_equal(errs[0], NT_NMEA_E_BINARY);
}

/* Valid-checksum sentences with mangled fields reach every decoder. */
static void
test_mutations(void **state)
{
	static const char *const bodies[] = {
		"GNRMC,003956.00,A,4552.65403,S,17030.00668,E,0.025,,120419,,,A,V",
		"GPRMC,153400.000,A,3940.6985,N,07544.9359,W,0.19,205.81,230410,,",
		"GNGGA,003956.00,4552.65403,S,17030.00668,E,1,12,0.64,14.2,M,1.8,M,,",
		"GNGNS,120213.000,5957.0062,N,01100.6429,E,NDD,11,1.3,168.9,39.5,,,V",
		"GNZDA,003956.00,12,04,2019,00,00",
	};
	static const char alphabet[] = ",.*$0123456789AVNDEGPRZ-+ ";
	struct nt_nmea_sentence s;
	char buf[160];
	int ok = 0;

	(void)state;
	for (int i = 0; i < 200000; i++) {
		const char *b = bodies[rng() % 5];
		size_t len = strlen(b);
		int edits = 1 + (int)(rng() % 4);

		strlcpy(buf, b, sizeof buf);
		while (edits-- > 0 && len > 0) {
			size_t at = rng() % len;

			if (rng() % 3 == 0)
				len = at;		/* cut */
			else
				buf[at] = alphabet[rng() % (sizeof alphabet - 1)];
			buf[len] = '\0';
		}
		if (parse_body(buf, &s) == NT_NMEA_OK)
			ok++;
		assert_true(!s.has_time || (s.tod >= 0 &&
		    s.tod <= INT64_C(86401) * NT_SEC));
	}
	print_message("%d of 200000 mutated sentences still valid\n", ok);
	assert_true(ok > 0);
}

static void
test_byte_time(void **state)
{
	struct nt_nmea_reader r;
	struct nt_nmea_sentence s;
	enum nt_nmea_err e;
	char buf[128];
	size_t len = sentence(buf, sizeof buf, "GPZDA,120000.00,01,02,2025,00,00");
	size_t used;
	const int64_t byte_ns = 1041667;	/* 9600 baud, 8N1 */

	(void)state;
	nt_nmea_reader_init(&r);
	/* 3 junk bytes, then the sentence, all read at t = 10 s. */
	memmove(buf + 3, buf, len);
	memcpy(buf, "xyz", 3);
	assert_true(nt_nmea_feed(&r, (uint8_t *)buf, len + 3, &used,
	    10 * NT_SEC, byte_ns, &s, &e));
	assert_int_equal(e, NT_NMEA_OK);
	assert_int_equal(used, len + 2);	/* the LF is left */
	/* The '$' came len - 1 bytes before the last byte. */
	assert_int_equal(s.rx, 10 * NT_SEC - (int64_t)(len - 1) * byte_ns);
}

/*
 * Bytes come at the line speed from a UART (ttyS, ttyAMA, ttyUSB behind a
 * USB adapter), not from a pty or a USB modem (ttyACM: a u-blox on USB),
 * whose whole burst was dated back as if sent at 9600 baud: a '$' with
 * 450 bytes after it in the same read, 470 ms early.
 */
static void
test_byte_ns(void **state)
{
	(void)state;
	assert_int_equal(nt_nmea_byte_ns(4, 9600), 1041666);	/* ttyS0 */
	assert_int_equal(nt_nmea_byte_ns(204, 115200), 86805);	/* ttyAMA0 */
	assert_int_equal(nt_nmea_byte_ns(188, 4800), 2083333);	/* ttyUSB0 */
	assert_int_equal(nt_nmea_byte_ns(166, 9600), 0);	/* ttyACM0 */
	assert_int_equal(nt_nmea_byte_ns(136, 9600), 0);	/* pts */
	assert_int_equal(nt_nmea_byte_ns(143, 9600), 0);
}

/* ---- Time rules ---- */

struct clockwork {
	struct nt_nmea_track t;
	nt_time	pivot;
};

static enum nt_nmea_verdict
at(struct clockwork *cw, const char *body, double rx, nt_time *ref)
{
	struct nt_nmea_sentence s;

	assert_int_equal(parse_body(body, &s), NT_NMEA_OK);
	s.rx = nt_from_sec(rx);
	return (nt_nmea_time(&cw->t, &s, cw->pivot, ref));
}

static void
rmc_body(char *buf, size_t cap, int64_t t, char status)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	snprintf(buf, cap, "GPRMC,%02d%02d%02d.00,%c,,,,,,,%02d%02d%02d,,",
	    tm.tm_hour, tm.tm_min, tm.tm_sec, status, tm.tm_mday,
	    tm.tm_mon + 1, tm.tm_year % 100);
}

static void
test_rollover(void **state)
{
	struct clockwork cw;
	char body[128];
	nt_time ref = 0;
	int64_t now = gm(2026, 3, 1) + 3600, old = now - 7168 * 86400;
	int y, m, d;

	(void)state;
	/* The arithmetic, at and around the window's edge. */
	assert_int_equal(nt_nmea_rollover(100000, 100000), 100000);
	assert_int_equal(nt_nmea_rollover(100000 - 3584, 100000),
	    100000 - 3584);
	assert_int_equal(nt_nmea_rollover(100000 - 3585, 100000),
	    100000 - 3585 + 7168);
	assert_int_equal(nt_nmea_rollover(100000 - 3 * 7168, 100000), 100000);
	nt_nmea_civil(gm(2019, 4, 7) / 86400, &y, &m, &d);
	assert_true(y == 2019 && m == 4 && d == 7);
	assert_int_equal(nt_nmea_days(1980, 1, 6) * 86400, gm(1980, 1, 6));
	/* A receiver 1024 weeks behind (2006 for 2026): never a jump. */
	memset(&cw, 0, sizeof cw);
	cw.pivot = now * NT_SEC;
	for (int i = 0; i < 6; i++) {
		rmc_body(body, sizeof body, old + i, 'A');
		if (at(&cw, body, (double)(now + i), &ref) != NT_NMEA_USE)
			continue;
		assert_int_equal(ref, (now + i) * NT_SEC);
	}
	assert_int_equal(ref, (now + 5) * NT_SEC);
	assert_int_equal(cw.t.rollover_days, 7168);
	/* 1999 seen from 2019 (the first rollover), our clock a day off. */
	memset(&cw, 0, sizeof cw);
	cw.pivot = gm(2019, 4, 8) * (int64_t)NT_SEC;
	for (int i = 0; i < 3; i++)
		(void)at(&cw, "GPZDA,120000,22,08,1999,,", 10.0 + i, &ref);
	assert_int_equal(ref, (gm(1999, 8, 22) + 7168 * 86400 + 43200) * NT_SEC);
	/*
	 * 2000-01-01 seen from 2026: 1024 weeks on is 2019-08-17, still
	 * years back: no rollover, not used (it was, and stepped the clock).
	 * So is a rollover that lands over a week before our clock.
	 */
	memset(&cw, 0, sizeof cw);
	cw.pivot = now * NT_SEC;
	for (int i = 0; i < 6; i++)
		assert_int_equal(at(&cw, "GPZDA,120000,01,01,2000,,", (double)i,
		    &ref), i < 2 ? NT_NMEA_WARMUP : NT_NMEA_OLDDATE);
	memset(&cw, 0, sizeof cw);
	cw.pivot = (now + 8 * 86400) * NT_SEC;
	for (int i = 0; i < 6; i++) {
		rmc_body(body, sizeof body, old + i, 'A');
		assert_int_equal(at(&cw, body, (double)(now + i), &ref),
		    i < 2 ? NT_NMEA_WARMUP : NT_NMEA_OLDDATE);
	}
	/* ... but one that lands after it (our clock lags) is used. */
	memset(&cw, 0, sizeof cw);
	cw.pivot = (now - 400 * 86400) * NT_SEC;
	for (int i = 0; i < 6; i++) {
		rmc_body(body, sizeof body, old + i, 'A');
		(void)at(&cw, body, (double)(now + i), &ref);
	}
	assert_int_equal(ref, (now + 5) * NT_SEC);
	/* Years ahead of the pivot are impossible, not corrected. */
	memset(&cw, 0, sizeof cw);
	cw.pivot = now * NT_SEC;
	for (int i = 0; i < 2; i++)
		assert_int_not_equal(at(&cw, "GPZDA,120000,01,01,2045,,",
		    (double)i, &ref), NT_NMEA_USE);
	assert_int_equal(at(&cw, "GPZDA,120001,01,01,2045,,", 2, &ref),
	    NT_NMEA_BADDATE);
}

static void
test_fix_rules(void **state)
{
	struct clockwork cw;
	char body[128];
	nt_time ref;
	int64_t t0 = gm(2025, 5, 5);

	(void)state;
	memset(&cw, 0, sizeof cw);
	cw.pivot = t0 * NT_SEC;
	/*
	 * Warm-up (1.5 s, then 3 seconds that agree), RMC A used, V
	 * refused, A used again.
	 */
	for (int i = 0; i < 10; i++) {
		enum nt_nmea_verdict want = i < 4 ? NT_NMEA_WARMUP :
		    i >= 4 && i < 7 ? NT_NMEA_NOFIX : NT_NMEA_USE;

		char gga[64];

		rmc_body(body, sizeof body, t0 + i, i >= 4 && i < 7 ? 'V' : 'A');
		assert_int_equal(at(&cw, body, (double)(t0 + i) + 0.2, &ref),
		    want);
		/* The same second again (GGA of the cycle) is secondary. */
		snprintf(gga, sizeof gga, "GPGGA,0000%02d,,,,,1,,,,,,,,", i);
		assert_int_equal(at(&cw, gga, (double)(t0 + i) + 0.3, &ref),
		    NT_NMEA_SECONDARY);
	}
	/* ZDA with GGA: the GGA fix of the same cycle decides. */
	memset(&cw, 0, sizeof cw);
	cw.pivot = t0 * NT_SEC;
	for (int i = 0; i < 8; i++) {
		char zda[64], gga[64];

		snprintf(gga, sizeof gga, "GPGGA,00000%d,,,,,%c,,,,,,,,", i,
		    i < 6 ? '1' : '0');
		snprintf(zda, sizeof zda, "GPZDA,00000%d,05,05,2025,,", i);
		(void)at(&cw, gga, (double)(t0 + i) + 0.1, &ref);
		assert_int_equal(at(&cw, zda, (double)(t0 + i) + 0.2, &ref),
		    i < 4 ? NT_NMEA_WARMUP : i < 6 ? NT_NMEA_USE :
		    NT_NMEA_NOFIX);
	}
	/* A receiver that sends only ZDA is trusted, and says so. */
	memset(&cw, 0, sizeof cw);
	cw.pivot = t0 * NT_SEC;
	for (int i = 0; i < 3; i++)
		(void)at(&cw, "GPZDA,000002,05,05,2025,,", (double)t0 + i, &ref);
	assert_true(cw.t.zda_unchecked);
	assert_int_equal(ref, (t0 + 2) * NT_SEC);
}

static void
test_midnight(void **state)
{
	struct clockwork cw;
	nt_time ref = 0;
	int64_t day = gm(2025, 12, 31);

	(void)state;
	/* GGA only, no date anywhere: the day comes from the pivot. */
	memset(&cw, 0, sizeof cw);
	cw.pivot = (day + 86399) * NT_SEC + 900 * NT_MSEC;
	(void)at(&cw, "GPGGA,235956.00,,,,,1,,,,,,,,", 0, &ref);
	(void)at(&cw, "GPGGA,235957.00,,,,,1,,,,,,,,", 1, &ref);
	(void)at(&cw, "GPGGA,235958.00,,,,,1,,,,,,,,", 2, &ref);
	(void)at(&cw, "GPGGA,235959.00,,,,,1,,,,,,,,", 3, &ref);
	assert_int_equal(at(&cw, "GPGGA,000000.00,,,,,1,,,,,,,,", 4, &ref),
	    NT_NMEA_USE);
	assert_int_equal(ref, (day + 86400) * NT_SEC);
	assert_true(cw.t.date_from_pivot);
	/* GGA every second, ZDA every 10 s: GGA is the time, ZDA dates it. */
	memset(&cw, 0, sizeof cw);
	cw.pivot = gm(2025, 6, 1) * (int64_t)NT_SEC;	/* not the day */
	(void)at(&cw, "GPZDA,235955.00,31,12,2025,,", 0.01, &ref);
	for (int i = 0; i < 8; i++) {
		char gga[64];
		int s = (55 + i) % 60;

		snprintf(gga, sizeof gga, "GPGGA,%s%02d.00,,,,,1,,,,,,,,",
		    s >= 55 ? "2359" : "0000", s);
		if (at(&cw, gga, i, &ref) == NT_NMEA_USE)
			assert_int_equal(ref, (day + 86400 - 5 + i) * NT_SEC);
	}
	assert_int_equal(ref, (day + 86400 + 2) * NT_SEC);
	assert_int_equal(cw.t.primary, NT_NMEA_GGA);
}

static void
test_jumps(void **state)
{
	struct clockwork cw;
	char body[128];
	nt_time ref;
	int64_t t0 = gm(2025, 5, 5);
	enum nt_nmea_verdict v;

	(void)state;
	memset(&cw, 0, sizeof cw);
	cw.pivot = t0 * NT_SEC;
	/* A receiver flipping between two times from the start: never used. */
	memset(&cw, 0, sizeof cw);
	cw.pivot = t0 * NT_SEC;
	for (int i = 0; i < 12; i++) {
		rmc_body(body, sizeof body, t0 + i + (i % 2 ? 3600 : 0), 'A');
		assert_int_not_equal(at(&cw, body, (double)(t0 + i), &ref),
		    NT_NMEA_USE);
	}
	assert_false(cw.t.trusted);
	memset(&cw, 0, sizeof cw);
	cw.pivot = t0 * NT_SEC;
	/* A one-second glitch of +1 h is held back; then all is normal. */
	for (int i = 0; i < 12; i++) {
		int64_t t = t0 + i + (i == 5 ? 3600 : 0);

		rmc_body(body, sizeof body, t, 'A');
		v = at(&cw, body, (double)(t0 + i), &ref);
		assert_int_equal(v, i < 4 ? NT_NMEA_WARMUP : i == 5 ?
		    NT_NMEA_JUMP : NT_NMEA_USE);
		assert_false(cw.t.jump_followed);
	}
	/* A lasting jump of -7 s is followed after 3 consistent seconds. */
	for (int i = 12; i < 20; i++) {
		rmc_body(body, sizeof body, t0 + i - 7, 'A');
		v = at(&cw, body, (double)(t0 + i), &ref);
		assert_int_equal(v, i < 14 ? NT_NMEA_JUMP : NT_NMEA_USE);
		assert_int_equal(cw.t.jump_followed, i == 14);
		if (v == NT_NMEA_USE)
			assert_int_equal(ref, (t0 + i - 7) * NT_SEC);
	}
	assert_true(fabs(cw.t.jump + 7) < 1e-9);
	/* A ZDA telling another time in the same cycle is reported. */
	v = at(&cw, "GPZDA,000000,05,05,2025,,", (double)(t0 + 19) + 0.1, &ref);
	assert_int_equal(v, NT_NMEA_DISAGREE);
	assert_true(fabs(cw.t.disagree - (0 - 12.0)) < 1e-9);
}

/*
 * Times refused later than at the start, each with its own verdict (the
 * driver logs each once): 23:59:60 on a day no leap second ends, a
 * receiver repeating its second, and sentences after our clock stepped
 * back (they were warm-up forever, silently, before).
 */
static void
test_refused_later(void **state)
{
	struct clockwork cw;
	char body[128];
	nt_time ref;
	int64_t t0 = gm(2026, 11, 27) + 3600;
	enum nt_nmea_verdict v;

	(void)state;
	memset(&cw, 0, sizeof cw);
	cw.pivot = t0 * NT_SEC;
	for (int i = 0; i < 4; i++) {
		v = at(&cw, "GPRMC,235960.00,A,,,,,,,271126,,", (double)i, &ref);
		assert_int_equal(v, i < 2 ? NT_NMEA_WARMUP : NT_NMEA_BADLEAP);
	}
	/* At the end of December it is a leap second: used. */
	memset(&cw, 0, sizeof cw);
	cw.pivot = gm(2016, 12, 31) * NT_SEC;
	for (int i = 0; i < 6; i++) {
		v = at(&cw, i == 5 ? "GPRMC,235960.00,A,,,,,,,311216,," :
		    (rmc_body(body, sizeof body, gm(2016, 12, 31) + 86395 + i,
		    'A'), body), (double)i, &ref);
		if (i == 5) {
			assert_int_equal(v, NT_NMEA_USE);
			assert_int_equal(ref, gm(2017, 1, 1) * NT_SEC);
		}
	}
	/* The same second a second later: a stuck receiver. */
	memset(&cw, 0, sizeof cw);
	cw.pivot = t0 * NT_SEC;
	for (int i = 0; i < 8; i++) {
		rmc_body(body, sizeof body, t0 + (i < 5 ? i : 4), 'A');
		v = at(&cw, body, (double)(t0 + i), &ref);
		assert_int_equal(v, i < 2 ? NT_NMEA_WARMUP : i < 4 ?
		    v : i == 4 ? NT_NMEA_USE : NT_NMEA_STUCK);
	}
	/* Our clock steps back by 7 years: not warm-up forever. */
	memset(&cw, 0, sizeof cw);
	cw.pivot = t0 * NT_SEC;
	for (int i = 0; i < 20; i++) {
		double rx = (double)(t0 + i) - (i >= 6 ? 2.3e8 : 0);

		rmc_body(body, sizeof body, t0 + i, 'A');
		v = at(&cw, body, rx, &ref);
		if (i >= 12)	/* warm-up and confirmation again */
			assert_int_equal(v, NT_NMEA_USE);
	}
	assert_int_equal(v, NT_NMEA_USE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_captures),
		cmocka_unit_test(test_checksums),
		cmocka_unit_test(test_talkers),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_junk),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_byte_time),
		cmocka_unit_test(test_byte_ns),
		cmocka_unit_test(test_rollover),
		cmocka_unit_test(test_fix_rules),
		cmocka_unit_test(test_midnight),
		cmocka_unit_test(test_jumps),
		cmocka_unit_test(test_refused_later),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
