/*
 * NMEA 0183 reader, sentence decoder and time rules (see nmea.h).  Pure
 * code: bytes and local receive times in, sentences and reference times
 * out.  Everything a receiver can send is bounded here: a line never
 * grows past NT_NMEA_MAXLINE, a field list past NT_NMEA_MAXFIELDS, and
 * every number is read digit by digit with its range checked.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nmea.h"

#define NT_NMEA_LAST_MIDNIGHT INT64_C(7258032000)	/* 2200-01-01, s */

static const char *const err_str[NT_NMEA_NERR] = {
	[NT_NMEA_OK] = "ok",
	[NT_NMEA_E_LONG] = "line too long",
	[NT_NMEA_E_BINARY] = "control or binary byte inside a sentence",
	[NT_NMEA_E_TRUNCATED] = "sentence cut short by the next '$'",
	[NT_NMEA_E_CHECKSUM] = "checksum mismatch",
	[NT_NMEA_E_BADSUM] = "malformed checksum field",
	[NT_NMEA_E_NOSUM] = "checksum missing",
	[NT_NMEA_E_ADDRESS] = "malformed address field",
	[NT_NMEA_E_FIELDS] = "wrong number of fields",
	[NT_NMEA_E_FIELD] = "malformed field",
};

static const char *const verdict_str[NT_NMEA_NVERDICT] = {
	[NT_NMEA_USE] = "used",
	[NT_NMEA_SECONDARY] = "not the time sentence",
	[NT_NMEA_DISAGREE] = "time differs from the time sentence",
	[NT_NMEA_DUPLICATE] = "second already used",
	[NT_NMEA_NOTIME] = "no time",
	[NT_NMEA_NOFIX] = "no valid fix",
	[NT_NMEA_BADDATE] = "impossible date",
	[NT_NMEA_WARMUP] = "warming up",
	[NT_NMEA_JUMP] = "time jumped",
	[NT_NMEA_OLDDATE] = "date years back, not a week rollover",
	[NT_NMEA_BADLEAP] = "23:59:60 not at the end of a month",
	[NT_NMEA_STUCK] = "the same second again",
};

const char *
nt_nmea_strerror(enum nt_nmea_err e)
{
	assert(e >= 0 && e < NT_NMEA_NERR);
	return (err_str[e]);
}

const char *
nt_nmea_verdict_str(enum nt_nmea_verdict v)
{
	assert(v >= 0 && v < NT_NMEA_NVERDICT);
	return (verdict_str[v]);
}

/* ---- Calendar ---- */

int64_t
nt_nmea_days(int year, int month, int day)
{
	int64_t y = year - (month <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	assert(month >= 1 && month <= 12 && day >= 1 && day <= 31);
	return (era * 146097 + doe - 719468);
}

void
nt_nmea_civil(int64_t days, int *year, int *month, int *day)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*day = (int)(doy - (153 * mp + 2) / 5 + 1);
	*month = (int)(mp < 10 ? mp + 3 : mp - 9);
	*year = (int)(yoe + era * 400 + (*month <= 2));
}

int64_t
nt_nmea_rollover(int64_t day, int64_t pivot_day)
{
	int64_t low = pivot_day - NT_NMEA_ROLLOVER_DAYS / 2;

	if (day >= low)
		return (day);
	return (day + ((low - day + NT_NMEA_ROLLOVER_DAYS - 1) /
	    NT_NMEA_ROLLOVER_DAYS) * NT_NMEA_ROLLOVER_DAYS);
}

static bool
valid_date(int y, int m, int d)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return (false);
	return (m != 2 || d <= 28 || leap);
}

/* ---- Fields ---- */

/* Exactly n decimal digits at s; returns the value or -1. */
static int
digits(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		v = v * 10 + (s[i] - '0');
	}
	return (v);
}

/* "hhmmss" or "hhmmss.f" (1-9 digits): 1, empty: 0, malformed: -1. */
static int
parse_tod(const char *f, int64_t *tod)
{
	size_t len = strlen(f), nfrac;
	int h, m, s;
	int64_t frac = 0, scale = NT_SEC;

	if (len == 0)
		return (0);
	if (len < 6 || (len > 6 && f[6] != '.'))
		return (-1);
	nfrac = len > 6 ? len - 7 : 0;
	if (len == 7 || nfrac > 9)
		return (-1);
	h = digits(f, 2);
	m = digits(f + 2, 2);
	s = digits(f + 4, 2);
	if (h < 0 || h > 23 || m < 0 || m > 59 || s < 0 || s > 60 ||
	    (s == 60 && (h != 23 || m != 59)))
		return (-1);
	for (size_t i = 0; i < nfrac; i++) {
		int d = digits(f + 7 + i, 1);

		if (d < 0)
			return (-1);
		scale /= 10;
		frac += d * scale;
	}
	*tod = ((int64_t)h * 3600 + m * 60 + s) * NT_SEC + frac;
	return (1);
}

/* One or two digits (ZDA day and month). */
static int
small_number(const char *f)
{
	size_t len = strlen(f);

	if (len < 1 || len > 2)
		return (-1);
	return (digits(f, len));
}

/* A single character from set, or empty; returns it, '\0' or -1. */
static int
one_of(const char *f, const char *set)
{
	if (f[0] == '\0')
		return ('\0');
	if (f[1] != '\0' || strchr(set, f[0]) == NULL)
		return (-1);
	return (f[0]);
}

/* Field number 'field', called name, holds value: not valid. */
static enum nt_nmea_err
field_error(struct nt_nmea_sentence *out, int field, const char *name,
    const char *value)
{
	out->bad_field = field;
	out->bad_name = name;
	snprintf(out->bad_value, sizeof out->bad_value, "%s", value);
	return (NT_NMEA_E_FIELD);
}

static enum nt_nmea_err
get_time(const char *f, struct nt_nmea_sentence *out)
{
	int r = parse_tod(f, &out->tod);

	if (r < 0)
		return (field_error(out, 1, "time", f));
	out->has_time = r > 0;
	return (NT_NMEA_OK);
}

/* ---- Sentences ---- */

/* RMC: time, status, lat, N/S, lon, E/W, speed, course, date, var, E/W,
 * [mode (2.3)], [nav status (4.1)]. */
static enum nt_nmea_err
parse_rmc(char **f, size_t nf, struct nt_nmea_sentence *out)
{
	int status, mode = '\0', dd, mm, yy;

	if (nf < 12 || nf > 14)
		return (NT_NMEA_E_FIELDS);
	if (get_time(f[1], out) != NT_NMEA_OK)
		return (NT_NMEA_E_FIELD);
	if ((status = one_of(f[2], "AV")) <= 0)
		return (field_error(out, 2, "status", f[2]));
	if (nf >= 13 && (mode = one_of(f[12], "ADEFMNPRS")) < 0)
		return (field_error(out, 12, "mode", f[12]));
	out->fix = status == 'A' && (mode == '\0' ||
	    strchr("NEMS", mode) == NULL) ?
	    NT_NMEA_FIX_OK : NT_NMEA_FIX_NONE;
	if (f[9][0] == '\0')
		return (NT_NMEA_OK);
	if (strlen(f[9]) != 6)
		return (field_error(out, 9, "date", f[9]));
	dd = digits(f[9], 2);
	mm = digits(f[9] + 2, 2);
	yy = digits(f[9] + 4, 2);
	if (yy < 0 || !valid_date(yy < 80 ? 2000 + yy : 1900 + yy, mm, dd))
		return (field_error(out, 9, "date", f[9]));
	out->has_date = true;
	out->year = yy < 80 ? 2000 + yy : 1900 + yy;
	out->month = mm;
	out->day = dd;
	return (NT_NMEA_OK);
}

/* ZDA: time, day, month, year, zone hours, zone minutes. */
static enum nt_nmea_err
parse_zda(char **f, size_t nf, struct nt_nmea_sentence *out)
{
	int dd, mm, yyyy;

	if (nf != 7)
		return (NT_NMEA_E_FIELDS);
	if (get_time(f[1], out) != NT_NMEA_OK)
		return (NT_NMEA_E_FIELD);
	out->fix = NT_NMEA_FIX_UNKNOWN;
	if (f[2][0] == '\0' && f[3][0] == '\0' && f[4][0] == '\0')
		return (NT_NMEA_OK);
	dd = small_number(f[2]);
	mm = small_number(f[3]);
	yyyy = strlen(f[4]) == 4 ? digits(f[4], 4) : -1;
	if (yyyy < 0)
		return (field_error(out, 4, "year", f[4]));
	if (!valid_date(yyyy, mm, dd)) {
		char date[24];

		snprintf(date, sizeof date, "%.2s,%.2s,%.4s", f[2], f[3], f[4]);
		return (field_error(out, dd < 1 || dd > 31 ? 2 : 3, "date",
		    date));
	}
	out->has_date = true;
	out->year = yyyy;
	out->month = mm;
	out->day = dd;
	return (NT_NMEA_OK);
}

/* GGA: time, lat, N/S, lon, E/W, quality, sats, hdop, alt, M, geoid, M,
 * age, station. */
static enum nt_nmea_err
parse_gga(char **f, size_t nf, struct nt_nmea_sentence *out)
{
	int q;

	if (nf < 14 || nf > 15)
		return (NT_NMEA_E_FIELDS);
	if (get_time(f[1], out) != NT_NMEA_OK)
		return (NT_NMEA_E_FIELD);
	if ((q = one_of(f[6], "012345678")) < 0)
		return (field_error(out, 6, "quality", f[6]));
	out->fix = q >= '1' && q <= '5' ? NT_NMEA_FIX_OK : NT_NMEA_FIX_NONE;
	return (NT_NMEA_OK);
}

/* GNS: time, lat, N/S, lon, E/W, mode (one letter per system), sats,
 * hdop, alt, geoid, age, station, [nav status (4.1)]. */
static enum nt_nmea_err
parse_gns(char **f, size_t nf, struct nt_nmea_sentence *out)
{
	size_t len;

	if (nf < 13 || nf > 14)
		return (NT_NMEA_E_FIELDS);
	len = strlen(f[6]);
	if (get_time(f[1], out) != NT_NMEA_OK)
		return (NT_NMEA_E_FIELD);
	if (len < 1 || len > 8 || strspn(f[6], "ADEFMNPRS") != len)
		return (field_error(out, 6, "mode", f[6]));
	out->fix = strpbrk(f[6], "ADPRF") != NULL ? NT_NMEA_FIX_OK :
	    NT_NMEA_FIX_NONE;
	return (NT_NMEA_OK);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	return (-1);
}

/* Length of the body ('$' excluded, up to '*'); verifies the checksum. */
static enum nt_nmea_err
checksum(const char *s, size_t len, size_t *blen, bool *has)
{
	const char *star = memchr(s, '*', len);
	unsigned sum = 0;
	int hi, lo;

	*has = star != NULL;
	if (star == NULL) {
		*blen = len - 1;
		return (NT_NMEA_OK);
	}
	*blen = (size_t)(star - s) - 1;
	if ((size_t)(star - s) + 3 != len)
		return (NT_NMEA_E_BADSUM);
	hi = hexval(star[1]);
	lo = hexval(star[2]);
	if (hi < 0 || lo < 0)
		return (NT_NMEA_E_BADSUM);
	for (const char *p = s + 1; p < star; p++)
		sum ^= (unsigned char)*p;
	return (sum == (unsigned)(hi << 4 | lo) ? NT_NMEA_OK :
	    NT_NMEA_E_CHECKSUM);
}

static bool
all_upper(const char *s, size_t n, bool digits_too)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (digits_too && s[i] >= '0' && s[i] <= '9')))
			return (false);
	return (true);
}

static enum nt_nmea_err
address(const char *a, struct nt_nmea_sentence *out)
{
	static const char *const types[NT_NMEA_NTYPES] = {
		[NT_NMEA_RMC] = "RMC", [NT_NMEA_ZDA] = "ZDA",
		[NT_NMEA_GNS] = "GNS", [NT_NMEA_GGA] = "GGA",
	};
	size_t len = strlen(a);

	if (len >= 2 && len < sizeof out->address && a[0] == 'P' &&
	    all_upper(a, len, true)) {
		strlcpy(out->address, a, sizeof out->address);
		return (NT_NMEA_OK);		/* proprietary */
	}
	if (len != 5 || !all_upper(a, 5, false))
		return (NT_NMEA_E_ADDRESS);
	strlcpy(out->address, a, sizeof out->address);
	for (int t = 1; t < NT_NMEA_NTYPES; t++)
		if (memcmp(a + 2, types[t], 3) == 0)
			out->type = (enum nt_nmea_type)t;
	return (NT_NMEA_OK);
}

/* Split body in place at commas; returns the field count or 0. */
static size_t
split(char *body, char **f)
{
	size_t nf = 0;

	f[nf++] = body;
	for (char *p = body; *p != '\0'; p++) {
		if (*p != ',')
			continue;
		if (nf == NT_NMEA_MAXFIELDS)
			return (0);
		*p = '\0';
		f[nf++] = p + 1;
	}
	return (nf);
}

enum nt_nmea_err
nt_nmea_parse(const char *s, size_t len, bool require_checksum,
    struct nt_nmea_sentence *out)
{
	char body[NT_NMEA_MAXLINE + 1], *f[NT_NMEA_MAXFIELDS];
	enum nt_nmea_err e;
	size_t blen, nf;

	memset(out, 0, sizeof *out);
	if (len > NT_NMEA_MAXLINE)
		return (NT_NMEA_E_LONG);
	if (len < 1 || s[0] != '$')
		return (NT_NMEA_E_ADDRESS);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return (NT_NMEA_E_BINARY);
	if ((e = checksum(s, len, &blen, &out->has_checksum)) != NT_NMEA_OK)
		return (e);
	if (!out->has_checksum && require_checksum)
		return (NT_NMEA_E_NOSUM);
	memcpy(body, s + 1, blen);
	body[blen] = '\0';
	if ((nf = split(body, f)) == 0)
		return (NT_NMEA_E_FIELDS);
	if ((e = address(f[0], out)) != NT_NMEA_OK)
		return (e);
	switch (out->type) {
	case NT_NMEA_RMC:
		return (parse_rmc(f, nf, out));
	case NT_NMEA_ZDA:
		return (parse_zda(f, nf, out));
	case NT_NMEA_GGA:
		return (parse_gga(f, nf, out));
	case NT_NMEA_GNS:
		return (parse_gns(f, nf, out));
	default:
		return (NT_NMEA_OK);
	}
}

/* ---- Lines ---- */

#define PTY_MAJOR_LO	136	/* Unix98 pty slaves */
#define PTY_MAJOR_HI	143
#define ACM_MAJOR	166	/* USB CDC-ACM modems */

int64_t
nt_nmea_byte_ns(unsigned dev_major, int baud)
{
	assert(baud > 0);
	if ((dev_major >= PTY_MAJOR_LO && dev_major <= PTY_MAJOR_HI) ||
	    dev_major == ACM_MAJOR)
		return (0);
	return (10 * NT_SEC / baud);
}

void
nt_nmea_reader_init(struct nt_nmea_reader *r)
{
	memset(r, 0, sizeof *r);
}

/* The address of a broken line, printable, for logs. */
static void
rough_address(const struct nt_nmea_reader *r, struct nt_nmea_sentence *out)
{
	size_t i;

	for (i = 0; i + 1 < r->len && i + 1 < sizeof out->address; i++) {
		char c = r->line[i + 1];

		if (c == ',' || c == '*' || c < 0x20 || c > 0x7e)
			break;
		out->address[i] = c;
	}
	out->address[i] = '\0';
}

static enum nt_nmea_err
end_line(struct nt_nmea_reader *r, enum nt_nmea_err why,
    struct nt_nmea_sentence *out)
{
	enum nt_nmea_err e = why;

	if (e == NT_NMEA_OK && r->overflow)
		e = NT_NMEA_E_LONG;
	else if (e == NT_NMEA_OK && r->binary)
		e = NT_NMEA_E_BINARY;
	if (e == NT_NMEA_OK)
		e = nt_nmea_parse(r->line, r->len, r->seen_checksum, out);
	else
		memset(out, 0, sizeof *out);
	/* A checksum error comes before the address is read: the log must
	 * still say which sentence it was. */
	if (e != NT_NMEA_OK && out->address[0] == '\0')
		rough_address(r, out);
	if (e == NT_NMEA_OK && out->has_checksum)
		r->seen_checksum = true;
	out->rx = r->start;
	r->n_lines++;
	r->n_errors[e]++;
	r->in_line = false;
	return (e);
}

static void
start_line(struct nt_nmea_reader *r, nt_time start)
{
	r->in_line = true;
	r->binary = false;
	r->overflow = false;
	r->start = start;
	r->line[0] = '$';
	r->len = 1;
}

bool
nt_nmea_feed(struct nt_nmea_reader *r, const uint8_t *buf, size_t n,
    size_t *used, nt_time rx, int64_t byte_ns, struct nt_nmea_sentence *out,
    enum nt_nmea_err *err)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = buf[i];

		if (c == '$' && r->in_line) {
			*used = i;	/* the '$' starts the next call */
			*err = end_line(r, NT_NMEA_E_TRUNCATED, out);
			return (true);
		}
		r->n_bytes++;
		if (c == '$') {
			start_line(r, rx - (int64_t)(n - 1 - i) * byte_ns);
		} else if (!r->in_line) {
			continue;
		} else if (c == '\r' || c == '\n') {
			*used = i + 1;
			*err = end_line(r, NT_NMEA_OK, out);
			return (true);
		} else if (r->len >= NT_NMEA_MAXLINE) {
			r->overflow = true;
		} else {
			r->binary |= c < 0x20 || c > 0x7e;
			r->line[r->len++] = (char)c;
		}
	}
	*used = n;
	return (false);
}

/* ---- Times ---- */

void
nt_nmea_track_init(struct nt_nmea_track *t)
{
	memset(t, 0, sizeof *t);
}

static bool
recent(nt_time a, nt_time b, double s)
{
	return (fabs(nt_diff(a, b)) <= s);
}

/* POSIX seconds of the (rollover-corrected) midnight of s's date. */
static int64_t
date_midnight(struct nt_nmea_track *t, const struct nt_nmea_sentence *s,
    nt_time pivot)
{
	int64_t day = nt_nmea_days(s->year, s->month, s->day);
	int64_t pday = pivot / NT_SEC / NT_NMEA_DAY;
	int64_t fixed = nt_nmea_rollover(day, pday);

	t->rollover_days = fixed - day;
	return (fixed * NT_NMEA_DAY);
}

/* Remember what s says about the receiver: types sent, fix, date. */
static void
note(struct nt_nmea_track *t, const struct nt_nmea_sentence *s,
    nt_time pivot)
{
	if (!t->started) {
		t->started = true;
		t->first_rx = s->rx;
	}
	t->prev_seen[s->type] = t->seen[s->type];
	t->seen[s->type] = s->rx;
	t->n_seen[s->type] += t->n_seen[s->type] < 2;
	if (s->type == NT_NMEA_RMC || s->type == NT_NMEA_GGA ||
	    s->type == NT_NMEA_GNS) {
		t->fix = s->fix;
		t->fix_rx = s->rx;
		t->have_fix = true;
	}
	if (s->has_date && s->has_time) {
		t->have_date = true;
		t->date_from_pivot = false;
		t->date_sec = date_midnight(t, s, pivot);
		t->date_tod = s->tod;
		t->date_rx = s->rx;
	}
}

/* A leap second (23:59:60) may only end a month (in practice June or
 * December); without a date we cannot tell. */
static bool
leap_ok(const struct nt_nmea_sentence *s)
{
	int y, m, d;

	if (s->tod < INT64_C(86400) * NT_SEC || !s->has_date)
		return (true);
	nt_nmea_civil(nt_nmea_days(s->year, s->month, s->day) + 1, &y, &m,
	    &d);
	return (d == 1);
}

/* Sent lately; and, if regular, at least twice a cycle apart. */
static bool
sends(const struct nt_nmea_track *t, enum nt_nmea_type ty, nt_time rx,
    bool regular)
{
	if (t->n_seen[ty] == 0 || !recent(rx, t->seen[ty], NT_NMEA_SEEN_S))
		return (false);
	return (!regular || (t->n_seen[ty] >= 2 &&
	    recent(t->seen[ty], t->prev_seen[ty], NT_NMEA_CYCLE_S)));
}

/*
 * The type we take time from: the best one the receiver sends every
 * cycle (a ZDA every 10 s must not move our time stamp back and forth
 * within the cycle), else the best one it sends at all.
 */
static enum nt_nmea_type
primary(const struct nt_nmea_track *t, nt_time rx)
{
	static const enum nt_nmea_type order[] = { NT_NMEA_RMC, NT_NMEA_ZDA,
	    NT_NMEA_GNS, NT_NMEA_GGA };
	const size_t n = sizeof order / sizeof order[0];

	for (size_t i = 0; i < n; i++)
		if (sends(t, order[i], rx, true))
			return (order[i]);
	for (size_t i = 0; i < n; i++)
		if (sends(t, order[i], rx, false))
			return (order[i]);
	return (NT_NMEA_OTHER);
}

static bool
fix_bearing_seen(const struct nt_nmea_track *t, nt_time rx)
{
	static const enum nt_nmea_type fixers[] = { NT_NMEA_RMC, NT_NMEA_GNS,
	    NT_NMEA_GGA };

	for (size_t i = 0; i < 3; i++)
		if (sends(t, fixers[i], rx, false))
			return (true);
	return (false);
}

static bool
has_fix(struct nt_nmea_track *t, const struct nt_nmea_sentence *s)
{
	t->zda_unchecked = false;
	if (s->type != NT_NMEA_ZDA)
		return (s->fix == NT_NMEA_FIX_OK);
	if (t->have_fix && recent(s->rx, t->fix_rx, NT_NMEA_FIX_AGE_S))
		return (t->fix == NT_NMEA_FIX_OK);
	if (fix_bearing_seen(t, s->rx))
		return (false);
	t->zda_unchecked = true;	/* a ZDA-only receiver: trust it */
	return (true);
}

/* Seconds of s's day: from its date, the last date, or the pivot. */
static int64_t
midnight(struct nt_nmea_track *t, const struct nt_nmea_sentence *s,
    nt_time pivot)
{
	double expect, tod = (double)s->tod * 1e-9, best = INFINITY;
	int64_t day0, sec = 0;

	if (s->has_date)
		return (date_midnight(t, s, pivot));
	if (t->have_date)
		expect = (double)t->date_sec + (double)t->date_tod * 1e-9 +
		    nt_diff(s->rx, t->date_rx);
	else
		expect = nt_diff(pivot, 0);
	t->date_from_pivot = !t->have_date;
	day0 = (int64_t)floor(expect / NT_NMEA_DAY);
	for (int64_t d = day0 - 1; d <= day0 + 1; d++) {
		double err = fabs((double)(d * NT_NMEA_DAY) + tod - expect);

		if (err < best) {
			best = err;
			sec = d * NT_NMEA_DAY;
		}
	}
	return (sec);
}

/* A secondary sentence in the same cycle must tell the same time. */
static enum nt_nmea_verdict
cross_check(struct nt_nmea_track *t, const struct nt_nmea_sentence *s)
{
	double d;

	if (!s->has_time || !t->have_last || !recent(s->rx, t->last_rx, 0.9))
		return (NT_NMEA_SECONDARY);
	d = (double)(s->tod - t->last_ref % (NT_NMEA_DAY * NT_SEC)) * 1e-9;
	d = remainder(d, (double)NT_NMEA_DAY);
	if (fabs(d) < 0.5)
		return (NT_NMEA_SECONDARY);
	t->disagree = d;
	return (NT_NMEA_DISAGREE);
}

/* ref at rx against the candidate: their difference, s (0: agree). */
static double
off_candidate(const struct nt_nmea_track *t, nt_time ref, nt_time rx)
{
	return (nt_diff(ref, t->cand_ref) - nt_diff(rx, t->cand_rx));
}

/*
 * Nothing to compare with yet (start-up, or a long gap): the time must
 * agree with itself for NT_NMEA_JUMP_CONFIRM seconds before it is used,
 * or a receiver that starts with a wrong second (or flips between two
 * times) would be followed.
 */
static enum nt_nmea_verdict
confirm_start(struct nt_nmea_track *t, nt_time ref, nt_time rx)
{
	double d = t->streak > 0 ? off_candidate(t, ref, rx) : 0;

	t->streak = t->streak > 0 && fabs(d) <= NT_NMEA_JUMP_S ?
	    t->streak + 1 : 1;
	t->cand_ref = ref;
	t->cand_rx = rx;
	if (t->streak >= NT_NMEA_JUMP_CONFIRM) {
		t->trusted = true;
		t->streak = 0;
		return (NT_NMEA_USE);
	}
	if (fabs(d) <= NT_NMEA_JUMP_S)
		return (NT_NMEA_WARMUP);
	t->jump = d;
	return (NT_NMEA_JUMP);
}

/* Follow the reference's time scale; hold back a jump until it stays. */
static enum nt_nmea_verdict
check_jump(struct nt_nmea_track *t, nt_time ref, nt_time rx)
{
	double d;

	t->jump_followed = false;
	if (t->trusted && !recent(rx, t->trust_rx, NT_NMEA_TRUST_S)) {
		t->trusted = false;
		t->streak = 0;
	}
	if (!t->trusted) {
		enum nt_nmea_verdict v = confirm_start(t, ref, rx);

		if (v != NT_NMEA_USE)
			return (v);
	} else {
		d = nt_diff(ref, t->trust_ref) - nt_diff(rx, t->trust_rx);
		if (fabs(d) > NT_NMEA_JUMP_S) {
			if (t->streak > 0 && fabs(off_candidate(t, ref, rx)) <=
			    NT_NMEA_JUMP_S)
				t->streak++;
			else
				t->streak = 1;
			t->jump = d;
			t->cand_ref = ref;
			t->cand_rx = rx;
			if (t->streak < NT_NMEA_JUMP_CONFIRM)
				return (NT_NMEA_JUMP);
			t->jump_followed = true;
		}
		t->streak = 0;
	}
	t->trust_ref = ref;
	t->trust_rx = rx;
	return (NT_NMEA_USE);
}

enum nt_nmea_verdict
nt_nmea_time(struct nt_nmea_track *t, const struct nt_nmea_sentence *s,
    nt_time pivot, nt_time *ref)
{
	int64_t mid;
	nt_time r;

	if (t->started && s->rx < t->first_rx)
		t->first_rx = s->rx;	/* our clock stepped back */
	note(t, s, pivot);
	if (s->type == NT_NMEA_OTHER)
		return (NT_NMEA_SECONDARY);
	if (!s->has_time)
		return (NT_NMEA_NOTIME);
	if (s->type != primary(t, s->rx))
		return (cross_check(t, s));
	if (nt_diff(s->rx, t->first_rx) < NT_NMEA_WARMUP_S)
		return (NT_NMEA_WARMUP);
	if (!has_fix(t, s))
		return (NT_NMEA_NOFIX);
	if (!leap_ok(s))
		return (NT_NMEA_BADLEAP);
	mid = midnight(t, s, pivot);
	/* Compare in seconds: nt_time cannot hold every date a receiver
	 * (or a fuzzer) can write. */
	if (mid < 0 || mid > NT_NMEA_LAST_MIDNIGHT ||
	    mid > pivot / NT_SEC + NT_NMEA_ROLLOVER_DAYS / 2 * NT_NMEA_DAY)
		return (NT_NMEA_BADDATE);
	if (t->rollover_days != 0 && mid < (pivot / NT_SEC / NT_NMEA_DAY -
	    NT_NMEA_ROLLOVER_SLACK) * NT_NMEA_DAY)
		return (NT_NMEA_OLDDATE);
	r = mid * NT_SEC + s->tod;
	if (t->have_last && r / NT_SEC == t->last_ref / NT_SEC)
		return (recent(s->rx, t->last_rx, 0.9) ? NT_NMEA_DUPLICATE :
		    NT_NMEA_STUCK);
	t->have_last = true;
	t->last_ref = r;
	t->last_rx = s->rx;
	t->primary = s->type;
	*ref = r;
	return (check_jump(t, r, s->rx));
}
