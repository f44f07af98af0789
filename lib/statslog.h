/*
 * Statistics logs: what chrony writes with "logdir" and "log measurements
 * statistics tracking refclocks", and ntpd with "statsdir"/"filegen".
 * Four append-only text files of fixed-width columns, UTC date and time
 * first, under a banner naming the columns (at each open and every
 * NT_STATSLOG_BANNER lines), for awk, gnuplot and the sysadmin's eyes.
 *
 * Two halves.  The formatters turn plain values into one line and do no
 * I/O (the unit tests check their exact output).  The writer is an
 * adapter: the engine's on_sample and on_update events (lib/engine.h)
 * come in, lines go out with one write() each to files opened O_APPEND
 * relative to a directory opened at start-up, so that a reopen after
 * logrotate works as the daemon's user and under the sandbox.  A file
 * that cannot be written is said once and skipped; the clock never waits
 * for a disk.
 */
#ifndef NTIMED_STATSLOG_H
#define NTIMED_STATSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "engine.h"
#include "timeutil.h"

#define NT_STATSLOG_BANNER 32	/* lines between banners, as chrony's */
#define NT_STATSLOG_LINE 320	/* longest line, its newline included */
#define NT_STATSLOG_SRC 26	/* source column width (longer widens) */

enum nt_statslog_file {
	NT_STATSLOG_MEASUREMENTS = 0,
	NT_STATSLOG_TRACKING,
	NT_STATSLOG_STATISTICS,
	NT_STATSLOG_REFCLOCKS,
	NT_STATSLOG_N
};

/* One reply from a server: measurements.log. */
struct nt_statslog_meas {
	nt_time		when;		/* our clock at the reply */
	const char	*source;
	int		leap;		/* the reply's header */
	int		stratum;
	int		poll;		/* ours, log2 s */
	uint32_t	refid;
	double		root_delay;	/* s */
	double		root_disp;	/* s */
	bool		have_sample;	/* else offset, delay, disp are "-" */
	double		offset;		/* s, server - local */
	double		delay;		/* s */
	double		disp;		/* s */
	const char	*verdict;	/* nt_statslog_verdict() */
};

/* One clock update: tracking.log. */
struct nt_statslog_track {
	nt_time		when;
	const char	*source;	/* the selected one */
	int		stratum;	/* ours */
	int		leap;		/* what we announce */
	double		freq_ppm;	/* our clock's frequency correction */
	double		skew_ppm;	/* its uncertainty */
	double		offset;		/* s, before this correction */
	double		offset_sd;	/* s */
	double		root_delay;	/* s, ours */
	double		root_disp;	/* s */
	double		likely;		/* s, likely bound on our error */
	double		max_error;	/* s, the worst case */
	int		poll;		/* the selected source's, log2 s */
	int		agree;		/* sources in the majority */
	int		candidates;	/* usable sources */
	const char	*action;	/* slew, step, measure, error */
};

/* One source at a clock update: statistics.log. */
struct nt_statslog_stat {
	nt_time		when;
	const char	*source;
	double		offset;		/* s, its estimate now */
	double		lo, hi;		/* s, bounds on the true offset */
	double		freq_ppm;	/* our rate error against it */
	double		skew_ppm;	/* half the frequency interval */
	double		jitter;		/* s, RMS residual of the fit */
	int		samples;	/* in the fit's window */
	int		reach;		/* 8-bit register */
	const char	*state;		/* one word: selected, falseticker... */
};

/* One reference clock sample: refclocks.log. */
struct nt_statslog_rc {
	nt_time		when;		/* our clock at the event */
	const char	*source;
	int		leap;
	int		n;		/* raw readings combined */
	bool		pulse;		/* offset known modulo 1 s only */
	double		raw;		/* s, as the driver made it */
	bool		have_sample;	/* else offset is "-" */
	double		offset;		/* s, as the engine kept it */
	double		disp;		/* s */
	double		sd;		/* s */
	const char	*verdict;
};

/* The banner's middle line (the columns), without a newline. */
const char *nt_statslog_columns(enum nt_statslog_file f);
/* The file's name in the directory: "measurements.log"... */
const char *nt_statslog_name(enum nt_statslog_file f);
/* A verdict in one word: "ok", "held", "maxdelay", "kod-rate"... */
const char *nt_statslog_verdict(enum ntp_verdict v, bool held);
/*
 * A source's name as one column: a server's "host (address)" becomes the
 * address, a refclock's "REFID (device)" the refid; blanks become '_'.
 */
void nt_statslog_label(const char *name, bool refclock, char *buf,
    size_t len);

/* One line each, with its newline; return the length (< len) or -1. */
int nt_statslog_fmt_meas(char *buf, size_t len,
    const struct nt_statslog_meas *m);
int nt_statslog_fmt_track(char *buf, size_t len,
    const struct nt_statslog_track *t);
int nt_statslog_fmt_stat(char *buf, size_t len,
    const struct nt_statslog_stat *s);
int nt_statslog_fmt_rc(char *buf, size_t len, const struct nt_statslog_rc *r);

/* ---- The writer ---- */

struct nt_statslog;

/*
 * The directory opened (made, mode 0755, when missing) for the files c
 * turns on; no file yet (nt_statslog_reopen()).  NULL with err set when
 * no file is on, or the directory cannot be opened ("DIR: reason").
 */
struct nt_statslog *nt_statslog_new(const struct nt_stats_conf *c,
    char *err, size_t len);
void nt_statslog_free(struct nt_statslog *sl);
/*
 * (Re)open every file: at start-up after the user switch, and after
 * logrotate moved them away (SIGHUP, reload).  A file that cannot be
 * opened is logged, and the one open before (if any) kept.
 */
void nt_statslog_reopen(struct nt_statslog *sl);
/* The directory, for messages and permission checks. */
const char *nt_statslog_dir(const struct nt_statslog *sl);

/* The engine's events (sl may be NULL: nothing is logged). */
void nt_statslog_sample(struct nt_statslog *sl, const struct nt_engine *e,
    const struct nt_sample_event *ev);
void nt_statslog_update(struct nt_statslog *sl, const struct nt_engine *e,
    const struct nt_update *u);

#endif
