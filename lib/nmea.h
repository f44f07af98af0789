/*
 * NMEA 0183 for time: a sans-I/O reader and the rules that turn sentences
 * into reference times.  GPS receivers are the most common reference clock
 * and the least reliable wire format: serial noise, receivers that mix
 * text into the stream, sentences without checksums, no-fix periods that
 * still carry a (free-running) time, and firmware whose date falls 1024
 * weeks back.  Keeping all of that in pure functions over bytes and local
 * receive times lets the tests replay real receiver captures exactly.
 *
 * Three layers, each usable alone:
 *   nt_nmea_feed()   bytes -> lines: framing on '$' and CR/LF, a length
 *                    limit, binary bytes, the local time of each '$';
 *   nt_nmea_parse()  one line -> sentence: checksum, address (any talker:
 *                    GP, GN, GL, GA, GB, ...), RMC/ZDA/GGA/GNS fields;
 *   nt_nmea_time()   sentence -> reference time or a reason not to use it:
 *                    one sentence type per second, fix required, date
 *                    completed and corrected for GPS week rollover
 *                    against a pivot (our clock), jumps held back.
 */
#ifndef NTIMED_NMEA_H
#define NTIMED_NMEA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "timeutil.h"

#define NT_NMEA_MAXLINE	120	/* bytes from '$' up to CR/LF (spec: 80) */
#define NT_NMEA_MAXFIELDS 40
#define NT_NMEA_DAY	INT64_C(86400)
#define NT_NMEA_ROLLOVER_DAYS INT64_C(7168)	/* 1024 GPS weeks */

enum nt_nmea_type {
	NT_NMEA_OTHER = 0,	/* any other (or proprietary) sentence */
	NT_NMEA_RMC,
	NT_NMEA_ZDA,
	NT_NMEA_GNS,
	NT_NMEA_GGA,
	NT_NMEA_NTYPES
};

enum nt_nmea_err {
	NT_NMEA_OK = 0,
	NT_NMEA_E_LONG,		/* longer than NT_NMEA_MAXLINE */
	NT_NMEA_E_BINARY,	/* a control or 8-bit byte inside */
	NT_NMEA_E_TRUNCATED,	/* a new '$' came before the line ended */
	NT_NMEA_E_CHECKSUM,	/* checksum does not match */
	NT_NMEA_E_BADSUM,	/* '*' not followed by two hex digits */
	NT_NMEA_E_NOSUM,	/* no checksum, from a receiver that sends them */
	NT_NMEA_E_ADDRESS,	/* address field is not "ttSSS" or "P..." */
	NT_NMEA_E_FIELDS,	/* wrong number of fields for the type */
	NT_NMEA_E_FIELD,	/* a time, date or status field is malformed */
	NT_NMEA_NERR
};
const char *nt_nmea_strerror(enum nt_nmea_err e);

enum nt_nmea_fix {
	NT_NMEA_FIX_UNKNOWN = 0,	/* the sentence says nothing (ZDA) */
	NT_NMEA_FIX_NONE,		/* RMC V, GGA quality 0, mode N/E/S/M */
	NT_NMEA_FIX_OK,
};

struct nt_nmea_sentence {
	enum nt_nmea_type type;
	char		address[8];	/* "GPRMC", "PGRME" (for logs) */
	nt_time		rx;		/* local time the '$' arrived */
	bool		has_checksum;
	bool		has_time;
	int64_t		tod;		/* ns since midnight UTC */
	bool		has_date;
	int		year, month, day;	/* as sent (RMC: 2-digit -> 19xx/20xx) */
	enum nt_nmea_fix fix;
	int		bad_field;	/* E_FIELD: 1-based field number */
	const char	*bad_name;	/* E_FIELD: "date", "time", ... */
	char		bad_value[24];	/* E_FIELD: what it held (cut) */
};

/* ---- Lines ---- */

struct nt_nmea_reader {
	char		line[NT_NMEA_MAXLINE + 1];
	size_t		len;
	bool		in_line;	/* inside a '$' sentence */
	bool		binary;		/* saw a control/8-bit byte */
	bool		overflow;	/* longer than the buffer */
	nt_time		start;		/* local time of its '$' */
	bool		seen_checksum;	/* the stream uses checksums */
	uint64_t	n_bytes;
	uint64_t	n_lines;	/* '$' lines completed, good or bad */
	uint64_t	n_errors[NT_NMEA_NERR];
};

void nt_nmea_reader_init(struct nt_nmea_reader *r);

/*
 * Consume bytes buf[0..n) until one '$' line ends.  rx is the local time
 * the last byte of buf arrived; each byte takes byte_ns on the wire (0:
 * unknown), so the '$' of a line gets rx - (bytes after it) * byte_ns.
 * Sets *used to the bytes consumed.  Returns true when a line ended, with
 * *out and the return value of nt_nmea_parse() in *err; false when buf
 * was all consumed without ending a line.  Bytes outside '$' lines (text,
 * binary protocols) are skipped.
 */
bool nt_nmea_feed(struct nt_nmea_reader *r, const uint8_t *buf, size_t n,
    size_t *used, nt_time rx, int64_t byte_ns, struct nt_nmea_sentence *out,
    enum nt_nmea_err *err);

/*
 * The wire time of one byte, ns, for a tty with major number dev_major
 * set to baud (8N1): 0 where bytes do not come at the line speed.  A
 * pty and a USB modem (CDC-ACM: /dev/ttyACM*, the u-blox and most USB
 * GPS receivers) deliver a burst at once whatever the speed says; dating
 * a '$' back by the bytes after it would put it up to a burst's length
 * early (hundreds of ms at 9600 baud).  A UART, also one behind a USB
 * adapter (/dev/ttyUSB*), sends at the line speed.
 */
int64_t nt_nmea_byte_ns(unsigned dev_major, int baud);

/*
 * Decode one line (from '$', without CR/LF).  A checksum, when present,
 * must match; require_checksum refuses lines without one.  Time fields
 * are decoded for RMC, ZDA, GGA and GNS with any talker; other sentences
 * only have their address checked.
 */
enum nt_nmea_err nt_nmea_parse(const char *s, size_t len,
    bool require_checksum, struct nt_nmea_sentence *out);

/* ---- Times ---- */

enum nt_nmea_verdict {
	NT_NMEA_USE = 0,	/* *ref is the reference time of s->rx */
	NT_NMEA_SECONDARY,	/* not the type we take time from */
	NT_NMEA_DISAGREE,	/* secondary whose time differs from ours */
	NT_NMEA_DUPLICATE,	/* this second was already used */
	NT_NMEA_NOTIME,		/* no time in it */
	NT_NMEA_NOFIX,		/* the receiver has no valid fix */
	NT_NMEA_BADDATE,	/* impossible date (too far ahead) */
	NT_NMEA_WARMUP,		/* learning which sentences the receiver sends */
	NT_NMEA_JUMP,		/* time jumped; waiting for it to persist */
	NT_NMEA_OLDDATE,	/* still years back after the rollover fix */
	NT_NMEA_BADLEAP,	/* 23:59:60 on no month's last day */
	NT_NMEA_STUCK,		/* the same second again, a second later */
	NT_NMEA_NVERDICT
};
const char *nt_nmea_verdict_str(enum nt_nmea_verdict v);

#define NT_NMEA_WARMUP_S	1.5	/* s of sentences before the first use */
#define NT_NMEA_SEEN_S		3.0	/* a type counts as sent for this long */
#define NT_NMEA_CYCLE_S		1.5	/* sent every cycle: gaps up to this */
#define NT_NMEA_FIX_AGE_S	1.5	/* fix status valid for ZDA this long */
#define NT_NMEA_JUMP_S		0.5	/* ref vs local disagreement = a jump */
#define NT_NMEA_JUMP_CONFIRM	3	/* consistent samples to follow a jump */
#define NT_NMEA_TRUST_S		64.0	/* after a gap this long, start afresh */
#define NT_NMEA_ROLLOVER_SLACK	7	/* days a corrected date may precede
					   the pivot (our clock lags, seldom
					   leads: a true rollover is today) */

struct nt_nmea_track {
	nt_time		first_rx;
	bool		started;
	nt_time		seen[NT_NMEA_NTYPES];	/* local time each type came */
	nt_time		prev_seen[NT_NMEA_NTYPES];	/* and the time before */
	int		n_seen[NT_NMEA_NTYPES];	/* 0, 1 or 2 (= at least 2) */
	enum nt_nmea_type primary;		/* type of the last USE */
	/* The last fix status (RMC/GGA/GNS) and when it came. */
	enum nt_nmea_fix fix;
	nt_time		fix_rx;
	bool		have_fix;
	/* The last complete date (RMC/ZDA), corrected. */
	bool		have_date;
	int64_t		date_sec;		/* POSIX seconds of its midnight */
	int64_t		date_tod;
	nt_time		date_rx;
	bool		date_from_pivot;	/* GGA/GNS without any date */
	bool		zda_unchecked;		/* ZDA used without fix status */
	int64_t		rollover_days;		/* last correction applied */
	/* The last used time, for duplicates and cross-checks. */
	bool		have_last;
	nt_time		last_ref, last_rx;
	double		disagree;		/* s, last secondary mismatch */
	/* Jump detection: the trusted time scale and a candidate. */
	bool		trusted;
	nt_time		trust_ref, trust_rx;
	int		streak;
	nt_time		cand_ref, cand_rx;
	double		jump;			/* s, the last jump seen */
	bool		jump_followed;		/* this USE took a new scale */
};

void nt_nmea_track_init(struct nt_nmea_track *t);

/*
 * Decide what sentence s (already parsed OK) says about time.  pivot is
 * our clock's idea of now (the driver clamps it to a build-time floor):
 * dates more than 512 weeks before it are moved forward by 1024 weeks,
 * and used only when that lands no more than NT_NMEA_ROLLOVER_SLACK days
 * before the pivot (else NT_NMEA_OLDDATE: not a rollover, the receiver is
 * simply wrong).  23:59:60 must fall on the last day of a month.
 * Returns NT_NMEA_USE with *ref set to the UTC time of s, else a reason.
 */
enum nt_nmea_verdict nt_nmea_time(struct nt_nmea_track *t,
    const struct nt_nmea_sentence *s, nt_time pivot, nt_time *ref);

/* Days since 1970-01-01 of a (valid) civil date; and back. */
int64_t nt_nmea_days(int year, int month, int day);
void nt_nmea_civil(int64_t days, int *year, int *month, int *day);
/* Move day forward by 1024-week steps until within 512 weeks of pivot. */
int64_t nt_nmea_rollover(int64_t day, int64_t pivot_day);

#endif
