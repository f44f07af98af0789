/*
 * Reference clocks: GPS receivers (NMEA), PPS pulses, gpsd's SHM segments
 * and SOCK datagrams, PTP hardware clocks, and the free-running local
 * clock.  A driver only turns its device into timestamped samples ("at
 * our local time L the reference said L + offset"); pairing pulses with a
 * second number, filtering, selection and discipline are shared code.
 *
 * Adding a driver is one file in lib/refclock/ and one row in the table
 * in refclock.c.  A driver either exposes a file descriptor (read when
 * readable: nmea, sock) or is read on a timer (pps, shm, phc, local).
 *
 * The set (struct nt_refclock_set) is the sans-I/O part every driver's
 * samples go through: it labels pulses from their paired source (and
 * refuses when they disagree by more than NT_PPS_MAX_DISAGREE), reports
 * how far off the pair's 'offset' is, combines raw samples over a poll
 * interval and hands the result to a callback.  The libuv adapter
 * (uvrefclock.h) feeds it; tests feed it by hand.
 *
 * A refclock whose samples are of both kinds (SOCK: gpsd sends time
 * datagrams and pulse datagrams to one socket) is its own pair: its time
 * samples label its pulses, never the clock they steer, and it delivers
 * one kind at a time, never a mix (see nt_refclock_set_raw()).
 */
#ifndef NTIMED_REFCLOCK_H
#define NTIMED_REFCLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>

#include "clock.h"
#include "timeutil.h"

#define NT_REFCLOCK_MAX		16	/* entries in 'refclocks:' */
#define NT_REFID_LEN		5	/* 4 characters and a NUL */
#define NT_RC_NAME_LEN		80	/* "GPS (/dev/ttyAMA0)" */
#define NT_RC_ERRLEN		256
#define NT_RC_FILTER_MAX	64	/* raw samples combined per poll */
#define NT_PPS_MAX_DISAGREE	0.4	/* s: pulse vs pair, else refused */
#define NT_PPS_PAIR_MAXAGE	16.0	/* s: a pair's sample labels pulses */
#define NT_PPS_HINT_PULSES	32	/* pulses averaged for an offset hint */
#define NT_PPS_HINT_MIN		0.005	/* s: smaller errors are not worth it */
#define NT_PPS_SWITCH		16	/* pulses in a row before a refclock of
					   both kinds delivers the other kind */
#define NT_PPS_PULSE_MAXAGE	2.0	/* s: its pulses stopped: time again */
#define NT_SHM_KEY		0x4e545030	/* "NTP0": unit 0 */
#define NT_SOCK_MAGIC		0x534f434b	/* "SOCK" */
#define NT_RC_MIN_POLL		(-2)
#define NT_RC_MAX_POLL		12

enum nt_pps_edge {
	NT_PPS_ASSERT = 0,
	NT_PPS_CLEAR,
};

/* One 'refclocks:' entry.  Unset keys take the driver's defaults. */
struct nt_refclock_conf {
	int	driver;		/* index in the driver table */
	char	*device;	/* nmea, pps, phc: the device to open */
	char	*path;		/* sock: the socket we create */
	int	unit;		/* shm: segment key NT_SHM_KEY + unit */
	double	offset;		/* s, added to every sample (serial delay) */
	double	delay;		/* s, assumed round-trip delay (distance) */
	int	poll;		/* log2 s: one combined sample per 2^poll s */
	double	precision;	/* s, least dispersion of a sample */
	bool	prefer;
	bool	noselect;	/* measured and shown, never selected */
	bool	trust;		/* only trusted sources can outvote it */
	bool	require;	/* as a server's: one such selectable */
	char	refid[NT_REFID_LEN];	/* also the name 'pps:' refers to */
	char	*pps;		/* refid of the pps refclock this one labels */
	int	baud;		/* nmea: line speed; 0 leaves the tty alone */
	int	edge;		/* pps: enum nt_pps_edge */
	int	stratum;	/* local: stratum we serve at; others 0 */
};

/* One measurement: at local time 'local' the reference read local+offset. */
struct nt_refclock_sample {
	nt_time	local;		/* our clock at the event */
	double	offset;		/* reference - local, conf offset included */
	double	disp;		/* s, error bound (>= precision) */
	double	sd;		/* s, standard error: see struct nt_sample */
	double	delay;		/* s, the configured delay */
	int	leap;		/* enum ntp_leap */
	bool	pulse;		/* offset is only known modulo 1 s */
	int	n;		/* raw samples combined into it */
};

struct nt_refclock;

/* What a driver can be told in the config, for its row's options. */
#define NT_RCO_DEVICE	0x01u
#define NT_RCO_PATH	0x02u
#define NT_RCO_UNIT	0x04u
#define NT_RCO_BAUD	0x08u
#define NT_RCO_EDGE	0x10u
#define NT_RCO_PPS	0x20u
#define NT_RCO_STRATUM	0x40u

struct nt_refclock_driver {
	const char	*name;		/* the 'driver:' value */
	const char	*refid;		/* default; "%d" takes the unit number */
	unsigned	options;	/* NT_RCO_* it accepts */
	unsigned	required;	/* of those, the ones it needs */
	int		poll;		/* default poll, log2 s */
	double		precision;	/* default precision, s */
	double		interval;	/* > 0: a timer driver, read every
					   min(interval, 2^poll) s; 0: poll
					   the descriptor open() returns */
	bool		late_only;	/* its times can only lag (NMEA) */
	bool		last_resort;	/* only when nothing else is usable */
	/*
	 * Open the device.  Returns a file descriptor to poll for reading,
	 * or 0 for timer drivers, or -errno with a one-line reason in err.
	 */
	int	(*open)(struct nt_refclock *rc, char *err, size_t errlen);
	/*
	 * Read what is there (never blocks).  Returns the number of samples
	 * stored in out (at most max), or -errno when the device is gone
	 * (it will be closed and reopened), with a reason in err.
	 */
	int	(*read)(struct nt_refclock *rc, struct nt_refclock_sample *out,
		    size_t max, char *err, size_t errlen);
	void	(*close)(struct nt_refclock *rc);
};

/* Pulse labelling state, for a pps refclock (or any pulse source). */
struct nt_pps_pair {
	int		src;		/* refclock index of the pair (its own
					   when it gave time samples), -1: none */
	bool		have;
	nt_time		local;		/* the pair's last sample */
	double		offset;
	double		disp;
	int		leap;
	/* The pair's error against the pulses, for the 'offset' hint. */
	double		sum;
	int		n;
	double		hinted;		/* last hint given, NAN: none */
};

enum nt_pps_verdict {
	NT_PPS_OK = 0,
	NT_PPS_NOPAIR,		/* no paired source, or not synchronized */
	NT_PPS_STALE,		/* the pair has had no sample lately */
	NT_PPS_DISAGREE,	/* pulse and pair differ by > 0.4 s */
};

struct nt_refclock {
	const struct nt_refclock_driver *drv;
	const struct nt_refclock_conf *conf;	/* outlives us */
	struct nt_clock	*clk;
	int		index;
	char		name[NT_RC_NAME_LEN];	/* "GPS (/dev/ttyS0)" */
	void		*priv;		/* driver state while open */
	struct nt_pps_pair pair;	/* when its samples are pulses */
	int		labels;		/* index of the refclock it labels */
	/* Combining raw samples over a poll interval. */
	struct nt_refclock_sample filt[NT_RC_FILTER_MAX];
	int		n_filt;
	/* Its own pair (both kinds): which kind it delivers now. */
	bool		use_pulses;
	int		n_switch;	/* pulses in a row calling for the other */
	nt_time		last_pulse;	/* its last pulse */
	/* Counters and what was last logged, so logs say changes only. */
	uint64_t	n_raw, n_out, n_dropped, n_pulses;
	enum nt_pps_verdict last_verdict;
	double		last_hint;
};

/* ---- The driver table ---- */

extern const struct nt_refclock_driver nt_rc_nmea, nt_rc_pps, nt_rc_shm,
    nt_rc_sock, nt_rc_phc, nt_rc_local;

size_t nt_refclock_n_drivers(void);
const struct nt_refclock_driver *nt_refclock_driver(size_t i);
/* Index of a driver by name, or -1. */
int nt_refclock_find_driver(const char *name);

/* ---- Config ---- */

/*
 * The YAML schema of one 'refclocks:' entry, for conf.c:
 *   NT_YCONF_SEQ("refclocks", struct nt_conf, refclocks, n_refclocks,
 *       &nt_refclock_conf_elem, 0, NT_REFCLOCK_MAX, "reference clocks")
 * Per-entry checks (driver options, defaults) run in the walk; checks
 * across entries (refids unique, 'pps:' names a pps refclock) need
 * nt_refclock_conf_check_list() from the top-level check.
 */
struct nt_yconf_key;
struct nt_yconf_walk;
struct nt_yconf_node;
extern const struct nt_yconf_key nt_refclock_conf_elem;
int nt_refclock_conf_check_list(struct nt_yconf_walk *w,
    const struct nt_yconf_node *seq, const struct nt_refclock_conf *rc,
    size_t n);
/* Defaults for driver d (what a mapping with only 'driver:' gives). */
void nt_refclock_conf_init(struct nt_refclock_conf *c, int driver);

/* ---- Pulses ---- */

/*
 * Label pulse (offset known modulo 1 s) with the second number from the
 * pair's last sample.  late_only: the pair's raw times only ever lag (an
 * NMEA sentence comes after its second), pair_conf_offset its configured
 * offset.  On NT_PPS_OK *out is the labelled sample.  *diff is pulse
 * minus pair (s) when both were there.
 */
enum nt_pps_verdict nt_pps_label(struct nt_pps_pair *p,
    const struct nt_refclock_sample *pulse, bool late_only,
    double pair_conf_offset, struct nt_refclock_sample *out, double *diff);
/*
 * After NT_PPS_HINT_PULSES differences: the offset the pair should be
 * configured with (its present one + the mean difference), when that
 * changes it by more than NT_PPS_HINT_MIN; NAN otherwise.
 */
double nt_pps_hint(struct nt_pps_pair *p, double diff, double pair_conf_offset,
    bool late_only);

/* ---- Combining ---- */

/*
 * Add raw sample s; when 2^poll s have passed since the first one held,
 * combine those (a trimmed mean: the middle 60% by offset) into *out,
 * start again with s, and return true.  poll <= 0, or a driver read no
 * more often than once a poll, passes s through.
 */
bool nt_refclock_filter_add(struct nt_refclock *rc,
    const struct nt_refclock_sample *s, struct nt_refclock_sample *out);

/* ---- The set: every refclock of a daemon ---- */

typedef void nt_refclock_sample_fn(void *ctx, int index,
    const struct nt_refclock_sample *s);
/*
 * Labels pulses of a refclock that no refclock pairs with and that gives
 * no time samples of its own: the engine's own clock when it is
 * synchronized to a selected source (so never before another source put
 * it within NT_PPS_MAX_DISAGREE: pulses cannot bootstrap themselves).
 * Fill *out with offset 0 at now and the engine's error bound as disp and
 * return true, or return false (not synchronized: pulses are not used).
 */
typedef bool nt_refclock_fallback_fn(void *ctx, nt_time now,
    struct nt_refclock_sample *out);

struct nt_refclock_set {
	struct nt_refclock rc[NT_REFCLOCK_MAX];
	size_t		n;
	struct nt_clock	*clk;
	nt_refclock_sample_fn *on_sample;
	nt_refclock_fallback_fn *fallback;
	void		*ctx;
};

/*
 * confs must outlive the set (the daemon's struct nt_conf does).  Returns
 * 0, or -1 with err filled ('pps:' naming a missing refclock: configs
 * loaded through the schema never do that).
 */
int nt_refclock_set_init(struct nt_refclock_set *set, struct nt_clock *clk,
    const struct nt_refclock_conf *confs, size_t n,
    nt_refclock_sample_fn *on_sample, void *ctx, char *err, size_t errlen);
void nt_refclock_set_fallback(struct nt_refclock_set *set,
    nt_refclock_fallback_fn *fn);
/*
 * A raw sample from refclock i: pair, label, combine, deliver.  A
 * refclock that has given time samples labels its own pulses from them
 * (within NT_PPS_PAIR_MAXAGE and NT_PPS_MAX_DISAGREE, else the pulse is
 * refused) and delivers its time samples until NT_PPS_SWITCH pulses in a
 * row were labelled, then only its pulses, until as many in a row were
 * refused or none came for NT_PPS_PULSE_MAXAGE s.
 */
void nt_refclock_set_raw(struct nt_refclock_set *set, int i,
    const struct nt_refclock_sample *s);

/* ---- What the drivers decode, as pure functions (tested alone) ---- */

/* ntpd's shared-memory segment, as gpsd writes it (native layout). */
struct nt_shm_time {
	int		mode;		/* 0: valid only; 1: count/valid handshake */
	volatile int	count;
	time_t		clock_sec;	/* reference time */
	int		clock_usec;
	time_t		receive_sec;	/* CLOCK_REALTIME when it was taken */
	int		receive_usec;
	int		leap;
	int		precision;	/* log2 s */
	int		nsamples;
	volatile int	valid;
	unsigned	clock_nsec;	/* used when consistent with _usec */
	unsigned	receive_nsec;
	int		dummy[8];
};

enum nt_shm_verdict {
	NT_SHM_OK = 0,
	NT_SHM_INVALID,		/* valid flag not set */
	NT_SHM_TORN,		/* mode 1: count moved while we copied */
	NT_SHM_MODE,		/* neither mode 0 nor 1 */
	NT_SHM_BADTIME,		/* (u/n)seconds out of range */
};

struct nt_shm_sample {
	nt_time	clock;		/* reference time */
	nt_time	receive;	/* writer's CLOCK_REALTIME */
	int	leap;
	int	precision;
	int	count;
};

/* A copy of the segment taken between count reads c1 and c2. */
enum nt_shm_verdict nt_shm_decode(const struct nt_shm_time *t, int c1, int c2,
    struct nt_shm_sample *out);
/*
 * Who may write unit's segment: units 0-1 must belong to root and be
 * writable by root only (else anyone could feed us time): -1 refuses,
 * with why.  Units 2+ are gpsd's non-root units: world-writable gives 1
 * (a warning in why), else 0.
 */
int nt_shm_check_perm(int unit, unsigned uid, unsigned cuid, unsigned mode,
    char *why, size_t len);

/* chrony's SOCK refclock datagram, as gpsd sends it (native layout). */
struct nt_sock_sample {
	struct timeval	tv;		/* CLOCK_REALTIME of the sample */
	double		offset;		/* reference - tv, s */
	int		pulse;		/* offset only valid modulo 1 s */
	int		leap;		/* 0, 1 insert, 2 delete */
	int		_pad;
	int		magic;		/* NT_SOCK_MAGIC */
};

enum nt_sock_verdict {
	NT_SOCK_OK = 0,
	NT_SOCK_SIZE,		/* not sizeof(struct nt_sock_sample) */
	NT_SOCK_MAGIC_BAD,	/* wrong magic (another format, endianness) */
	NT_SOCK_BADTIME,	/* tv_usec or offset out of range */
	NT_SOCK_LEAP,		/* leap not 0..2 */
	NT_SOCK_STALE,		/* timestamp far from now (sock_read) */
};
enum nt_sock_verdict nt_sock_decode(const void *buf, size_t len,
    struct nt_sock_sample *out);
const char *nt_sock_strerror(enum nt_sock_verdict v);

/*
 * PTP hardware clock readings: n triples (system before, PHC, system
 * after).  Picks the one with the shortest system window (>= 0) and gives
 * the system midpoint, PHC - midpoint and the window.  Returns its index,
 * or -1 when no triple is usable.
 */
int nt_phc_best(const nt_time (*ts)[3], int n, nt_time *mid, double *offset,
    double *window);

/* ---- Records from a time daemon (shm, sock): one check, one log ---- */

#define NT_RC_TIME_FLOOR (INT64_C(1735689600) * NT_SEC)	/* 2025-01-01 */
#define NT_RC_MAX_AHEAD	(INT64_C(3584) * 86400)	/* s: 512 GPS weeks */
#define NT_RC_MAX_OFFSET 1e9	/* s: from the time it was taken */
/*
 * Seconds a device may give (the year 2096): beyond, sec * NT_SEC would
 * overflow nt_time, so a record outside is refused before any arithmetic.
 */
#define NT_RC_SEC_MAX	INT64_C(4000000000)
#define NT_RC_SEC_OK(s)	((s) >= 0 && (int64_t)(s) <= NT_RC_SEC_MAX)

enum nt_rc_check {
	NT_RCC_OK = 0,
	NT_RCC_OFFSET,		/* offset not a number, or beyond 1e9 s */
	NT_RCC_PAST,		/* reference time before NT_RC_TIME_FLOOR */
	NT_RCC_AHEAD,		/* over 512 weeks after it was taken */
	NT_RCC_LEAP,		/* leap value outside 0..max_leap */
	NT_RCC_N
};
/*
 * Is "at kernel time 'taken' the reference read taken + offset, with
 * leap" a time at all?  No reference time is before 2025 (our floor, as
 * the NMEA driver's pivot) or more than 512 weeks after max(taken, the
 * floor) (as NMEA's "far ahead"); max_leap is the protocol's (SOCK 2,
 * SHM 3: not synchronized).  On failure why (may be NULL) says what,
 * with the values: "reference time 1970-01-01T00:00:00.000000000Z is
 * before 2025-01-01".
 */
enum nt_rc_check nt_refclock_check_time(nt_time taken, double offset,
    int leap, int max_leap, char *why, size_t len);

/* Refused records, counted; each kind (< 32) is logged the first time. */
struct nt_rc_refusals {
	uint64_t	n;
	uint32_t	kinds;
};
/*
 * Log "refclock NAME: <fmt>" as a warning the first time a kind is
 * refused, and every 100th refusal; returns true when it logged.
 */
bool nt_refclock_refused(const struct nt_refclock *rc,
    struct nt_rc_refusals *r, unsigned kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * For drivers: a one-line reason why path could not be opened, with what
 * an operator needs (owner, group and mode of the device; who we run as).
 */
void nt_refclock_open_error(const char *path, int err, char *buf, size_t len);

/*
 * Why the open fd cannot be watched for input (epoll refused it with
 * why): a directory, a regular file, a character device that never
 * sends (/dev/null) -- what an operator must fix in 'device'.
 */
void nt_refclock_unwatchable(int fd, const char *why, char *buf, size_t len);

/* "GPS", "PPS", "SHM0", ... from the conf (for advertising a refid). */
uint32_t nt_refclock_refid(const struct nt_refclock_conf *c);

#endif
