/*
 * The nmea driver: a GPS receiver on a serial port (or any readable
 * stream: a pty, a FIFO).  The port is set to raw 8N1 at the configured
 * speed; bytes go through the sans-I/O reader and time rules of nmea.c,
 * and each second the receiver vouches for becomes one sample whose local
 * time is when the sentence's '$' arrived (estimated from the read time
 * and the bytes after it at the line speed).
 *
 * Everything an operator needs to fix a receiver is logged once, when it
 * changes: no fix, fix regained, time jumps (and a time that keeps
 * jumping), a ZDA that disagrees, dates corrected for the GPS week
 * rollover (and dates years back that are no rollover), 23:59:60 where no
 * leap second can be, a repeated second, bytes but no valid sentence (the
 * wrong baud rate), sentences without checksums.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "nmea.h"
#include "ntp_pkt.h"
#include "refclock.h"

#define PIVOT_FLOOR	(INT64_C(1735689600) * NT_SEC)	/* 2025-01-01 */
#define GARBAGE_S	10.0	/* bytes but no valid sentence this long */
#define FLIP_S		10.0	/* jumping this long: say it goes on */
#define SAY_BURST	10	/* state changes logged per SAY_WINDOW */
#define SAY_WINDOW	600.0

struct nmea {
	int		fd;
	int64_t		byte_ns;	/* wire time of one byte, 0: unknown */
	struct nt_nmea_reader rd;
	struct nt_nmea_track tr;
	enum nt_nmea_verdict last;	/* last verdict on a time sentence */
	nt_time		last_ok;	/* last valid sentence (local) */
	uint64_t	bytes_at_ok;
	uint64_t	wire_at_ok;	/* wire_errors() then */
	uint64_t	lines_at_ok;
	bool		garbage_said, nosum_said, zda_said, rollover_said;
	bool		nodate_said, unset_said;
	const char	*name;		/* the refclock's, for say() */
	nt_time		said_since;	/* say(): the window and its count */
	int		said_n;
	bool		used_once;
	double		disagree_said;
	nt_time		jumps_since;	/* first JUMP since a USE, 0: none */
	bool		flip_said;
	uint64_t	n_bad[NT_NMEA_NERR];	/* bad sentences, by error */
};

static const struct {
	int	baud;
	speed_t	speed;
} speeds[] = {
	{ 1200, B1200 }, { 2400, B2400 }, { 4800, B4800 }, { 9600, B9600 },
	{ 19200, B19200 }, { 38400, B38400 }, { 57600, B57600 },
	{ 115200, B115200 }, { 230400, B230400 }, { 460800, B460800 },
	{ 921600, B921600 },
};

static int
set_line(int fd, int baud, char *err, size_t errlen)
{
	struct termios tio;
	speed_t sp = B0;

	for (size_t i = 0; i < sizeof speeds / sizeof speeds[0]; i++)
		if (speeds[i].baud == baud)
			sp = speeds[i].speed;
	assert(sp != B0);	/* the config allows listed speeds only */
	if (tcgetattr(fd, &tio) != 0) {
		snprintf(err, errlen, "cannot read the serial settings: %s",
		    strerror(errno));
		return (-errno);
	}
	cfmakeraw(&tio);
	tio.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | CSTOPB | CRTSCTS);
	tio.c_cflag |= CS8 | CLOCAL | CREAD;
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	if (cfsetispeed(&tio, sp) != 0 || cfsetospeed(&tio, sp) != 0 ||
	    tcsetattr(fd, TCSANOW, &tio) != 0) {
		snprintf(err, errlen, "cannot set %d baud 8N1: %s", baud,
		    strerror(errno));
		return (-errno);
	}
	(void)tcflush(fd, TCIFLUSH);
	return (0);
}

/* The wire time of one byte on fd at baud (see nt_nmea_byte_ns()). */
static int64_t
byte_time(int fd, int baud)
{
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode))
		return (0);
	return (nt_nmea_byte_ns(major(st.st_rdev), baud));
}

static int
nmea_open(struct nt_refclock *rc, char *err, size_t errlen)
{
	const char *dev = rc->conf->device;
	struct nmea *st;
	int fd, r;

	fd = open(dev, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		nt_refclock_open_error(dev, errno, err, errlen);
		return (r);
	}
	st = calloc(1, sizeof *st);
	assert(st != NULL);
	st->fd = fd;
	/* Raw mode on any tty (a pty too: no echo, no line editing). */
	if (isatty(fd) && rc->conf->baud > 0) {
		if ((r = set_line(fd, rc->conf->baud, err, errlen)) < 0) {
			close(fd);
			free(st);
			return (r);
		}
		st->byte_ns = byte_time(fd, rc->conf->baud);
	}
	nt_nmea_reader_init(&st->rd);
	nt_nmea_track_init(&st->tr);
	st->last = NT_NMEA_WARMUP;
	st->last_ok = nt_clock_now(rc->clk);
	st->name = rc->name;
	rc->priv = st;
	return (fd);
}

static void
nmea_close(struct nt_refclock *rc)
{
	struct nmea *st = rc->priv;

	if (st == NULL)
		return;
	close(st->fd);
	free(st);
	rc->priv = NULL;
}

/*
 * Log a change of the receiver's state.  Each is said once, but a
 * receiver can change all the time (a fix that comes and goes every
 * second, a ZDA that drifts, a log replayed at full speed): SAY_BURST
 * lines per SAY_WINDOW, then one line saying the rest go to debug.
 */
static void say(struct nmea *st, nt_time at, enum nt_log_level lvl,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
say(struct nmea *st, nt_time at, enum nt_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (st->said_n == 0 || nt_diff(at, st->said_since) >= SAY_WINDOW ||
	    at < st->said_since) {
		st->said_since = at;
		st->said_n = 0;
	}
	if (++st->said_n > SAY_BURST)
		lvl = NT_LOG_DEBUG;
	va_start(ap, fmt);
	nt_vlog(lvl, fmt, ap);
	va_end(ap);
	if (st->said_n == SAY_BURST)
		nt_log(NT_LOG_WARNING, "refclock %s: %d changes of the "
		    "receiver's state in %.0f s: the next ones in that time "
		    "are logged at debug level only", st->name, SAY_BURST,
		    nt_diff(at, st->said_since));
}

/* A date that the week rollover fix does not bring near our clock. */
static void
say_olddate(struct nt_refclock *rc, struct nmea *st,
    const struct nt_nmea_sentence *s, nt_time pivot)
{
	const struct nt_nmea_track *t = &st->tr;
	int64_t day = nt_nmea_days(s->year, s->month, s->day);
	int64_t fixed = day + t->rollover_days;
	int y, m, d;

	nt_nmea_civil(fixed, &y, &m, &d);
	say(st, s->rx, NT_LOG_WARNING,
	    "refclock %s: date %04d-%02d-%02d in %s is not "
	    "a GPS week rollover: %lld weeks on it is %04d-%02d-%02d, still "
	    "%.1f years before our clock; not used", rc->name, s->year,
	    s->month, s->day, s->address, (long long)(t->rollover_days / 7),
	    y, m, d, ((double)pivot / NT_SEC / NT_NMEA_DAY - (double)fixed) /
	    365.25);
}

/* A receiver whose time keeps jumping: said once it has for FLIP_S. */
static void
say_flipping(struct nt_refclock *rc, struct nmea *st,
    const struct nt_nmea_sentence *s, enum nt_nmea_verdict v)
{
	if (v == NT_NMEA_USE) {
		st->flip_said = false;
		st->jumps_since = 0;
	}
	if (v != NT_NMEA_JUMP)
		return;
	if (st->jumps_since == 0)
		st->jumps_since = s->rx;
	if (st->flip_said || nt_diff(s->rx, st->jumps_since) < FLIP_S)
		return;
	st->flip_said = true;
	say(st, s->rx, NT_LOG_WARNING,
	    "refclock %s: its time still disagrees with "
	    "itself after %.0f s (last jump %+.3f s, %s): a receiver that "
	    "flips between times is not followed; not used", rc->name,
	    nt_diff(s->rx, st->jumps_since), st->tr.jump, s->address);
}

/* Log what changed about the receiver's time, once. */
static void
say_verdict(struct nt_refclock *rc, struct nmea *st,
    const struct nt_nmea_sentence *s, enum nt_nmea_verdict v, nt_time pivot)
{
	const struct nt_nmea_track *t = &st->tr;

	say_flipping(rc, st, s, v);
	if (v == st->last)
		;	/* said already */
	else if (v == NT_NMEA_OLDDATE)
		say_olddate(rc, st, s, pivot);
	else if (v == NT_NMEA_BADLEAP)
		say(st, s->rx, NT_LOG_WARNING,
		    "refclock %s: %s says 23:59:60 on "
		    "%04d-%02d-%02d, not the last day of a month: no leap "
		    "second can be there; not used", rc->name, s->address,
		    s->year, s->month, s->day);
	else if (v == NT_NMEA_STUCK)
		say(st, s->rx, NT_LOG_WARNING,
		    "refclock %s: %s repeats the second it "
		    "sent a second before (a stuck receiver, or the second "
		    "after a leap second); not used", rc->name, s->address);
	if (v == NT_NMEA_NOFIX && st->last != NT_NMEA_NOFIX)
		say(st, s->rx, NT_LOG_WARNING,
		    "refclock %s: receiver has no valid fix "
		    "(%s); its time is not used", rc->name, s->address);
	else if (v == NT_NMEA_JUMP && st->last != NT_NMEA_JUMP)
		say(st, s->rx, NT_LOG_WARNING,
		    "refclock %s: time jumped by %+.3f s "
		    "(%s); waiting for %d consistent seconds", rc->name, t->jump,
		    s->address, NT_NMEA_JUMP_CONFIRM);
	else if (v == NT_NMEA_BADDATE && st->last != NT_NMEA_BADDATE)
		say(st, s->rx, NT_LOG_WARNING,
		    "refclock %s: impossible date %04d-%02d-%02d"
		    " in %s (far ahead of our clock); not used", rc->name,
		    s->year, s->month, s->day, s->address);
	else if (v == NT_NMEA_USE && st->last == NT_NMEA_NOFIX)
		say(st, s->rx, NT_LOG_NOTICE,
		    "refclock %s: fix regained (%s)",
		    rc->name, s->address);
	else if (v == NT_NMEA_USE && t->jump_followed)
		say(st, s->rx, NT_LOG_WARNING,
		    "refclock %s: the receiver's time jump "
		    "of %+.3f s lasted: following it", rc->name, t->jump);
	else if (v == NT_NMEA_USE && st->last == NT_NMEA_JUMP)
		say(st, s->rx, NT_LOG_NOTICE,
		    "refclock %s: time back in line after "
		    "the jump; the jump was ignored", rc->name);
	if (v == NT_NMEA_DISAGREE && t->disagree != st->disagree_said) {
		st->disagree_said = t->disagree;
		say(st, s->rx, NT_LOG_WARNING,
		    "refclock %s: %s says %+.0f s from the "
		    "time sentence %s; only the latter is used", rc->name,
		    s->address, t->disagree, t->primary == NT_NMEA_RMC ?
		    "RMC" : t->primary == NT_NMEA_ZDA ? "ZDA" : "GGA/GNS");
	}
	if (v != NT_NMEA_SECONDARY && v != NT_NMEA_DISAGREE &&
	    v != NT_NMEA_DUPLICATE && v != NT_NMEA_NOTIME)
		st->last = v;
}

static void
say_once(struct nt_refclock *rc, struct nmea *st,
    const struct nt_nmea_sentence *s, nt_time ref)
{
	char buf[NT_TIMESTR_LEN], dur[NT_DURSTR_LEN];

	if (!st->used_once) {
		st->used_once = true;
		nt_log(NT_LOG_NOTICE, "refclock %s: first time from %s: %s "
		    "(offset %s before 'offset')", rc->name, s->address,
		    nt_format_utc(ref, buf, sizeof buf),
		    nt_format_dur(nt_diff(ref, s->rx), dur, sizeof dur));
	}
	if (st->tr.zda_unchecked && !st->zda_said) {
		st->zda_said = true;
		nt_log(NT_LOG_NOTICE, "refclock %s: receiver sends ZDA without "
		    "any fix status (no RMC, GGA or GNS): its time is trusted "
		    "as is", rc->name);
	}
	if (st->tr.rollover_days != 0 && !st->rollover_said) {
		st->rollover_said = true;
		nt_log(NT_LOG_WARNING, "refclock %s: receiver's date is %lld "
		    "weeks back (GPS week rollover bug); corrected", rc->name,
		    (long long)(st->tr.rollover_days / 7));
	}
}

/*
 * A receiver that sends no date at all (GGA or GNS only) gives the time
 * of day; the day is our clock's.  Said once; and while our clock is
 * before the floor (never set: a Raspberry Pi without RTC) there is no
 * day to take, and serving "2025-01-01" at stratum 1 would be wrong.
 */
static bool
date_known(struct nt_refclock *rc, struct nmea *st, bool unset)
{
	if (!st->tr.date_from_pivot)
		return (true);
	if (unset) {
		if (!st->unset_said)
			nt_log(NT_LOG_WARNING, "refclock %s: receiver sends no "
			    "date (no RMC or ZDA with one) and our clock is "
			    "before 2025, not set: the day is unknown; not "
			    "used until the clock is set", rc->name);
		st->unset_said = true;
		return (false);
	}
	if (!st->nodate_said)
		nt_log(NT_LOG_NOTICE, "refclock %s: receiver sends no date (no "
		    "RMC or ZDA with one): the day is taken from our clock",
		    rc->name);
	st->nodate_said = true;
	return (true);
}

/* Errors a wrong line speed makes: framing, binary bytes, checksums. */
static uint64_t
wire_errors(const struct nmea *st)
{
	return (st->n_bad[NT_NMEA_E_LONG] + st->n_bad[NT_NMEA_E_BINARY] +
	    st->n_bad[NT_NMEA_E_TRUNCATED] + st->n_bad[NT_NMEA_E_CHECKSUM] +
	    st->n_bad[NT_NMEA_E_BADSUM]);
}

/* One line from the reader; returns true with *out for a used time. */
static bool
take_line(struct nt_refclock *rc, struct nmea *st,
    const struct nt_nmea_sentence *s, enum nt_nmea_err e,
    struct nt_refclock_sample *out)
{
	nt_time ref, pivot = nt_clock_now(rc->clk);
	enum nt_nmea_verdict v;
	bool unset;

	if (e != NT_NMEA_OK) {
		/* Each kind said once (then every 1000th), the rest debug. */
		uint64_t n;

		char what[80];

		assert(e > NT_NMEA_OK && e < NT_NMEA_NERR);
		n = ++st->n_bad[e];
		if (e == NT_NMEA_E_FIELD && s->bad_name != NULL)
			snprintf(what, sizeof what, "invalid %s '%s' (field %d)",
			    s->bad_name, s->bad_value, s->bad_field);
		else
			snprintf(what, sizeof what, "%s", nt_nmea_strerror(e));
		nt_log(n % 1000 == 1 ? NT_LOG_WARNING : NT_LOG_DEBUG,
		    "refclock %s: bad sentence%s%s%s: %s (%llu so far), "
		    "skipped", rc->name, s->address[0] != '\0' ? " '" : "",
		    s->address, s->address[0] != '\0' ? "'" : "", what,
		    (unsigned long long)n);
		return (false);
	}
	st->last_ok = pivot;
	st->bytes_at_ok = st->rd.n_bytes;
	st->wire_at_ok = wire_errors(st);
	st->lines_at_ok = st->rd.n_lines;
	st->garbage_said = false;
	if (!s->has_checksum && !st->nosum_said) {
		st->nosum_said = true;
		nt_log(NT_LOG_NOTICE, "refclock %s: receiver sends sentences "
		    "without checksums; accepted, but line errors cannot be "
		    "detected", rc->name);
	}
	unset = pivot < PIVOT_FLOOR;
	if (unset)
		pivot = PIVOT_FLOOR;
	v = nt_nmea_time(&st->tr, s, pivot, &ref);
	say_verdict(rc, st, s, v, pivot);
	if (v != NT_NMEA_USE || !date_known(rc, st, unset))
		return (false);
	say_once(rc, st, s, ref);
	memset(out, 0, sizeof *out);
	out->local = s->rx;
	out->offset = nt_diff(ref, s->rx);
	out->leap = NTP_LEAP_NONE;
	out->n = 1;
	return (true);
}

static void
check_garbage(struct nt_refclock *rc, struct nmea *st, nt_time now)
{
	unsigned long long n;

	if (st->garbage_said || nt_diff(now, st->last_ok) < GARBAGE_S ||
	    st->rd.n_bytes - st->bytes_at_ok < 100)
		return;
	st->garbage_said = true;
	n = st->rd.n_bytes - st->bytes_at_ok;
	if (wire_errors(st) == st->wire_at_ok &&
	    st->rd.n_lines > st->lines_at_ok)
		nt_log(NT_LOG_WARNING, "refclock %s: %llu bytes but no valid "
		    "NMEA sentence for %.0f s: they are well framed, with "
		    "valid checksums, but their fields are not (see above)",
		    rc->name, n, GARBAGE_S);
	else if (rc->conf->baud == 0)
		nt_log(NT_LOG_WARNING, "refclock %s: %llu bytes but no valid "
		    "NMEA sentence for %.0f s: is the tty at the receiver's "
		    "speed? ('baud: 0' leaves it as it is: set 'baud')",
		    rc->name, n, GARBAGE_S);
	else
		nt_log(NT_LOG_WARNING, "refclock %s: %llu bytes but no valid "
		    "NMEA sentence for %.0f s: wrong 'baud' (now %d)?",
		    rc->name, n, GARBAGE_S, rc->conf->baud);
}

static int
nmea_read(struct nt_refclock *rc, struct nt_refclock_sample *out, size_t max,
    char *err, size_t errlen)
{
	struct nmea *st = rc->priv;
	struct nt_nmea_sentence s;
	struct nt_refclock_sample one;
	enum nt_nmea_err e;
	uint8_t buf[512];
	size_t pos = 0, used, n_out = 0;
	ssize_t n;
	nt_time now;

	n = read(st->fd, buf, sizeof buf);
	now = nt_clock_now(rc->clk);
	if (n == 0) {
		snprintf(err, errlen, "end of file (device closed)");
		return (-EPIPE);
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return (0);
	if (n < 0) {
		snprintf(err, errlen, "read error: %s", strerror(errno));
		return (-errno);
	}
	while (pos < (size_t)n) {
		if (nt_nmea_feed(&st->rd, buf + pos, (size_t)n - pos, &used,
		    now, st->byte_ns, &s, &e) &&
		    take_line(rc, st, &s, e, &one) && n_out < max)
			out[n_out++] = one;
		pos += used;
	}
	check_garbage(rc, st, now);
	return ((int)n_out);
}

const struct nt_refclock_driver nt_rc_nmea = {
	.name = "nmea",
	.refid = "GPS",
	.options = NT_RCO_DEVICE | NT_RCO_BAUD | NT_RCO_PPS,
	.required = NT_RCO_DEVICE,
	.poll = 4,
	.precision = 1e-3,
	.interval = 0,
	.late_only = true,
	.open = nmea_open,
	.read = nmea_read,
	.close = nmea_close,
};
