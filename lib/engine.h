/*
 * The client engine: sources + selection + discipline, driven by time and
 * datagrams.  Sans-I/O: it reads the time only through its nt_clock and
 * sends only through a callback, so the libuv adapter (real sockets) and
 * the simulator (virtual network) run exactly this code.
 *
 * Driving it:
 *   delay = nt_engine_run(e);      send what is due; call again in delay s
 *   nt_engine_tx_stamp(e, src, t1);   the kernel's send time, if it has one
 *   nt_engine_rx(e, src, buf, len, t4);   a datagram arrived for source src
 */
#ifndef NTIMED_ENGINE_H
#define NTIMED_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "conf.h"
#include "discipline.h"
#include "refclock.h"
#include "select.h"
#include "source.h"

#define NT_MAX_SOURCES NT_SELECT_MAX

/* What one clock update did, for logs, --once output and the simulator. */
struct nt_update {
	nt_time	when;
	double	offset;		/* combined estimate before correction, s */
	double	offset_sd;	/* its standard deviation, s */
	double	freq_ppm;	/* base frequency afterwards */
	double	distance;	/* root distance of the selected source, s */
	int	selected;	/* source index */
	int	n_truechimers;
	int	n_candidates;
	struct nt_disc_action act;	/* all zero when measure_only */
};

/*
 * One reply or reference clock sample and what the engine made of it, for
 * the statistics logs (lib/statslog.c).  Only replies that answer our
 * request (origin matched): a stranger's datagrams never reach it.
 */
struct nt_sample_event {
	int	src;		/* source index */
	nt_time	when;		/* local time of the measurement */
	enum ntp_verdict verdict;	/* NTP_REPLY_OK: the sample is kept */
	bool	have_sample;	/* smp is filled (OK, MAX_DELAY, refclock) */
	struct nt_sample smp;
	const struct ntp_pkt *pkt;	/* the reply's header; NULL: refclock */
	const struct nt_refclock_sample *rc;	/* as the driver made it */
};

struct nt_engine_io {
	void	*ctx;
	/* Transmit a request to source src; returns 0 or -errno. */
	int	(*send)(void *ctx, int src, const uint8_t *buf, size_t len);
	/* 64 unpredictable bits (a CSPRNG; the simulator's is seeded). */
	uint64_t (*random)(void *ctx);
	/* Optional: after each clock update. */
	void	(*on_update)(void *ctx, const struct nt_update *u);
	/* Optional: once, when max_change gives up (nt_engine_gave_up()). */
	void	(*on_give_up)(void *ctx);
	/* Optional: every reply and refclock sample, before its update. */
	void	(*on_sample)(void *ctx, const struct nt_sample_event *ev);
};

struct nt_engine_params {
	struct nt_disc_params disc;
	double	max_distance;	/* s */
	int	min_sources;
	double	holdover;	/* s: synced this long after an update */
	bool	measure_only;	/* select and report, never touch the clock */
	struct nt_max_change_conf max_change;	/* offset 0: off */
	/*
	 * Clock updates made by the engines this one replaces (a reload, a
	 * new server): max_change.start counts from the daemon's start.
	 */
	int	updates_before;
	int	ignored_before;	/* max_change: offsets they ignored */
};

struct nt_engine;

/* Offsets beyond max_change ignored so far, those before included. */
int nt_engine_max_change_ignored(const struct nt_engine *e);

/* Fill params from a config and optional drift values (ppm). */
void nt_engine_params_from_conf(struct nt_engine_params *p,
    const struct nt_conf *c, struct nt_clock *clk, bool have_drift,
    double drift_ppm, double skew_ppm);

struct nt_engine *nt_engine_new(const struct nt_engine_params *p,
    struct nt_clock *clk, const struct nt_engine_io *io);
/*
 * A reload's new max_distance, min_sources, holdover, step_threshold and
 * max_change, applied in place: the sources keep everything they have.
 */
void nt_engine_set_limits(struct nt_engine *e, const struct nt_conf *c);
void nt_engine_free(struct nt_engine *e);

/*
 * Returns the source index, or -1 when the table is full.  refid is what
 * we advertise downstream while this source is selected (RFC 5905: the
 * IPv4 address, or the first 4 bytes of the MD5 of an IPv6 address).
 */
int nt_engine_add_source(struct nt_engine *e, const struct nt_server_conf *c,
    const char *name, uint32_t refid);

/*
 * A reference clock as a source: never polled, fed by
 * nt_engine_refclock_sample(); served one stratum below (1, or the local
 * driver's configured stratum).  rc must outlive the engine.  Returns the
 * source index, or -1 when the table is full.
 */
int nt_engine_add_refclock(struct nt_engine *e,
    const struct nt_refclock_conf *rc, const char *name, uint32_t refid);
/* A (combined) sample from the refclock that is source src. */
void nt_engine_refclock_sample(struct nt_engine *e, int src,
    const struct nt_refclock_sample *s);
/*
 * Numbering for pulses no refclock pairs with (the refclock set's
 * fallback, in the master and the simulator): our own clock at now, with
 * our worst-case error as its dispersion, while that is under
 * NT_PPS_MAX_DISAGREE.  False (pulses not used) otherwise.
 */
bool nt_engine_pulse_fallback(const struct nt_engine *e, nt_time now,
    struct nt_refclock_sample *out);

/* Do what is due now; returns seconds until the engine wants to run. */
double nt_engine_run(struct nt_engine *e);

/*
 * The kernel's transmit timestamp of source src's request (kernel-mapped
 * local time), read after it was sent and before its reply: see
 * nt_source_tx_stamp().  Whether it was taken.
 */
bool nt_engine_tx_stamp(struct nt_engine *e, int src, nt_time t1);

/* A datagram from source src, received at kernel-mapped local time t4. */
void nt_engine_rx(struct nt_engine *e, int src, const uint8_t *buf,
    size_t len, nt_time t4);

/* What a server built on this engine advertises (RFC 5905 system vars). */
struct nt_sysinfo {
	bool	synced;		/* an update within params' holdover */
	int	stratum;	/* selected source's + 1; 16 when unsynced */
	uint32_t refid;
	int	leap;		/* enum ntp_leap; UNSYNC when not synced */
	double	root_delay;	/* s, to the primary reference */
	double	root_disp;	/* s, at ref_time; add NT_PHI per s since */
	nt_time	ref_time;	/* last clock update */
	double	offset_sd;	/* s, 1 sigma of our offset estimate */
};

void nt_engine_sysinfo(const struct nt_engine *e, nt_time now,
    struct nt_sysinfo *si);

/*
 * The client's likely bound on |clock - true time| at clock time now, as
 * tight as its measurements allow: what the simulator checks, the status
 * shows as est_error and the kernel gets as esterror.  It grows between
 * samples.  INFINITY before the first update.
 */
double nt_engine_likely_error(const struct nt_engine *e, nt_time now);
/*
 * The worst case: also the unobservable asymmetry of the path (root
 * delay / 2) and generous allowances; the status's max_error and the
 * kernel's maxerror.  Never below nt_engine_likely_error().
 */
double nt_engine_worst_error(const struct nt_engine *e, nt_time now);

/*
 * max_change ran out: an offset above it was ignored as often as allowed
 * and came again.  The engine makes no update after; the daemon exits.
 */
bool nt_engine_gave_up(const struct nt_engine *e);

/* Select and update now, without waiting for slow sources at start-up. */
void nt_engine_update_now(struct nt_engine *e);

/* Read access for status output. */
size_t nt_engine_n_sources(const struct nt_engine *e);
const struct nt_source *nt_engine_source(const struct nt_engine *e, size_t i);
const struct nt_discipline *nt_engine_disc(const struct nt_engine *e);
/* Last update, or NULL before the first. */
const struct nt_update *nt_engine_last_update(const struct nt_engine *e);

/*
 * Someone else stepped the clock: every sample history is in the old
 * time scale.  Start every source's measurements afresh (a new burst),
 * keeping what they are (refclock, refid, KoD back-off, denial, counters)
 * and the discipline's frequency (a slew in progress is dropped);
 * unsynchronized until the next update.
 */
void nt_engine_restart_sources(struct nt_engine *e);

/*
 * Source i of this engine is the same server as `from`, a source of an
 * engine it replaces on the same clock: take over its measurements,
 * estimate, polling and counters.  unslewed: what that engine's
 * discipline had still to slew (s), which this one will not.
 */
void nt_engine_adopt_source(struct nt_engine *e, size_t i,
    const struct nt_source *from, double unslewed);

#endif
