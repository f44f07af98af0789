/*
 * One time source as the client sees it: when to poll it, what a reply
 * means, and what its recent samples say about our clock.
 *
 * Sans-I/O: the engine hands in clock readings and datagrams and gets
 * back request bytes and verdicts.  The sample history is kept in the
 * engine's "cooked" frame: every correction the discipline makes (step,
 * slew, frequency change) is applied to the stored samples as well, so a
 * regression over them always describes the clock as it is now.
 */
#ifndef NTIMED_SOURCE_H
#define NTIMED_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "ntp_pkt.h"
#include "timeutil.h"

#define NT_HIST_MAX 32		/* samples kept per source */
#define NT_FLOOR_N 8		/* smallest delays remembered */
#define NT_DELAYS_N 256		/* recent delays, for route changes */
#define NT_FH_N 64		/* frequency estimates remembered */
#define NT_WQ_N 15		/* wander estimates, their median wins */
#define NT_BURST_LEN 4		/* iburst: requests in the initial burst */
#define NT_BURST_GAP 2.0	/* s between them */
#define NT_PHI 15e-6		/* RFC 5905 frequency tolerance (s/s) */
#define NT_NAME_MAX (NT_HOSTLEN + 104)	/* "name (address)" */

/* Single wander estimates, (s/s)^2 per s; their median wins. */
struct nt_wander_log {
	double		q[NT_WQ_N];	/* the last ones, a ring */
	int		n;		/* taken so far */
	double		est;		/* their median; NaN: none yet */
};

/* Why a source is or is not used, for logs and status. */
enum nt_src_state {
	NT_SRC_INIT = 0,	/* no sample yet */
	NT_SRC_SELECTED,	/* the system peer */
	NT_SRC_COMBINED,	/* truechimer, averaged in */
	NT_SRC_CANDIDATE,	/* truechimer, not combined (too far) */
	NT_SRC_FALSETICKER,	/* outside the majority's interval */
	NT_SRC_UNSYNC,		/* server says it is not synchronized */
	NT_SRC_DISTANCE,	/* root distance too large */
	NT_SRC_UNREACH,		/* no reply to the last 8 polls */
	NT_SRC_DENIED,		/* KoD DENY/RSTR: we stopped polling */
	NT_SRC_NOMAJORITY,	/* selection found no majority */
	NT_SRC_NOSELECT,	/* fresh samples, but 'noselect' */
};
const char *nt_src_state_str(enum nt_src_state s);

struct nt_sample {
	nt_time	t;		/* local (cooked) time of the measurement */
	double	offset;		/* server - local, s */
	double	delay;		/* round-trip delay, s */
	/*
	 * Dispersion, s: a network sample's error bound (precision, and
	 * 15 ppm of its round trip); a reference clock's readings' spread,
	 * at least the driver's precision.
	 */
	double	disp;
	/*
	 * Standard error of offset, s: the scatter of the readings a
	 * reference clock's sample averages (0 for a network sample, whose
	 * error its delay bounds).  Not a bound: the fit allows the larger of
	 * the dispersion and a number of them, NT_SD_BOUND for the bounds,
	 * fewer for the likely interval.
	 */
	double	sd;
};
#define NT_SD_BOUND 6.0

struct nt_source {
	char		name[NT_NAME_MAX];	/* as configured, for logs */
	struct nt_server_conf conf;
	int		index;
	uint32_t	refid;		/* advertised while it is selected */
	/* A reference clock: never polled, fed by nt_source_sample(). */
	bool		refclock;
	bool		noselect;	/* measured and shown, never selected */
	bool		last_resort;	/* only when nothing else is usable */

	/* Polling. */
	int		poll;		/* current interval, log2 s */
	int		minpoll;	/* raised by KoD RATE */
	nt_time		next_poll;
	int		burst_left;	/* requests left in a burst */
	int		ramp;		/* after a burst: next interval, log2 s */
	int		ramp_left;	/* answered polls before it doubles */
	uint8_t		reach;		/* shift register, bit 0 = last poll */
	int		unanswered;	/* polls since the last valid reply */
	int		poll_score;	/* > 0 asks for longer polls */
	bool		denied;		/* KoD DENY/RSTR: never poll again */
	bool		unreachable;	/* reported as unreachable */

	/* The request in flight. */
	bool		pending;
	uint64_t	xmt;		/* random transmit timestamp we sent */
	nt_time		t1;		/* local time it was sent */

	/*
	 * Interleaved mode (conf.xleave, RFC 9769): the last exchange
	 * answered, whose precise transmit time the server's next reply
	 * may carry.  req_rec is the receive field of the request in
	 * flight (our receive time of that exchange's reply); a reply
	 * whose origin is it is interleaved.
	 */
	struct nt_xl_prev {
		nt_time	t1, t4;		/* our send and receive times */
		uint64_t rec;		/* the server's receive time, wire */
		double	bias;		/* -correction at t4, re-expressed by
					   nt_source_adjust() */
		bool	sampled;	/* it gave a basic sample already */
	} prev;
	bool		have_prev;
	uint64_t	req_rec;	/* 0: the request in flight is basic */
	bool		last_xleave;	/* the newest sample was interleaved */

	/* From the last valid reply's header. */
	struct ntp_pkt	last;
	bool		have_last;
	bool		last_ok;	/* the last reply gave a usable sample */

	/* Samples and the estimate drawn from them (source_fit.c). */
	struct nt_sample hist[NT_HIST_MAX];	/* oldest first */
	int		n_hist;
	double		min_delay;	/* the path's, as far as we know */
	nt_time		est_t;		/* time the estimate refers to */
	double		est_offset;	/* s, at est_t */
	double		est_freq;	/* s/s, our clock's rate error vs it */
	double		est_var;	/* variance of est_offset, s^2 */
	double		est_freq_var;	/* variance of est_freq */
	double		jitter;		/* RMS residual of the fit, s */
	/* Every (offset, frequency) consistent with all samples lies in: */
	double		est_lo, est_hi;		/* offset at est_t, s */
	double		freq_lo, freq_hi;	/* frequency, s/s */
	/*
	 * The same with the wander as measured, not a hundred times more,
	 * and cut where the truth is unlikely when the jitter leans: what
	 * the truth most likely lies in, not what it surely lies in.
	 */
	double		tight_lo, tight_hi;	/* offset at est_t, s */
	double		tight_flo, tight_fhi;	/* frequency, s/s */
	/* What the bounds rest on. */
	double		base;		/* how far below min_delay the path's
					   true minimum may be, s */
	double		slack;		/* added after samples disagreed, s */
	double		floor[NT_FLOOR_N];	/* smallest delays seen */
	int		floor_n;	/* samples they come from */
	float		delays[NT_DELAYS_N];	/* the newest delays, a ring */
	int		delays_n;	/* how many it holds */
	int		delays_at;	/* where the next one goes */
	double		wander;		/* frequency wander, (s/s)^2 per s */
	double		wander_bound;	/* the same, as the bounds assume it */
	double		likely_wander;	/* the same, as the likely interval */
	double		bend_wander;	/* the least the window's bends show */
	double		wander_mult;	/* raised after samples disagreed */
	/* Past frequency estimates, for the wander (an Allan variance). */
	double		freq_shift;	/* corrections est_freq has seen */
	nt_time		fh_t[NT_FH_N];
	double		fh_f[NT_FH_N];
	bool		fh_ok[NT_FH_N];	/* from a window long enough */
	int		fh_n;
	struct nt_wander_log quick;	/* one per fit */
	struct nt_wander_log spaced;	/* half a window apart at least */
	nt_time		spaced_t;	/* when its newest was taken */
	struct nt_sample held;		/* newest sample, held out as suspect */
	bool		have_held;

	enum nt_src_state state;

	/* Counters. */
	uint64_t	n_tx, n_rx, n_bad, n_kod;
	uint64_t	n_tx_stamped;	/* requests timed by the kernel */
	uint64_t	n_xleave;	/* interleaved samples */
};

void nt_source_init(struct nt_source *s, const struct nt_server_conf *conf,
    const char *name, int index, nt_time now);

/*
 * It answers, but every round trip so far was above its maxdelay: no
 * sample yet, and not for want of replies.
 */
bool nt_source_all_too_slow(const struct nt_source *s);
#define NT_SRC_TOO_SLOW "no sample within maxdelay"

/* Seconds of the current poll interval. */
double nt_source_interval(const struct nt_source *s);

/*
 * If a request is due at now, fill buf (>= NTP_HDR_LEN) with it, using
 * rnd as the transmit timestamp, schedule the next one and return its
 * length; else return 0.
 */
size_t nt_source_request(struct nt_source *s, nt_time now, uint64_t rnd,
    uint8_t *buf, size_t cap);

/*
 * The kernel's time of sending the request in flight: it replaces the
 * time read before the send, early by the system call's own time (the
 * outbound path looked that much longer, the offset half as much too
 * high).  Ignored (false) unless a request is in flight and t lies
 * within NT_TX_STAMP_MAX after the time read.
 */
#define NT_TX_STAMP_MAX 0.01	/* s */
bool nt_source_tx_stamp(struct nt_source *s, nt_time t);
/* Whether a send stamp fits a request whose time was read at `read`. */
bool nt_tx_stamp_fits(nt_time read, nt_time stamp);

/*
 * Process a datagram received at local time t4.  On NTP_REPLY_OK a
 * sample is added and returned in *out: with conf.xleave, an interleaved
 * reply's sample is the previous exchange's, dated then (out->t).  Other
 * verdicts are handled here (KoD RATE backs off, DENY/RSTR stop polling)
 * and returned for logging.
 * NTP_DECODE errors are reported as NTP_REPLY_BAD_MODE with *malformed set.
 * correction: what the discipline has yet to slew at t4; the sample is
 * taken against the clock as it will read once that is done.
 */
enum ntp_verdict nt_source_reply(struct nt_source *s, const uint8_t *buf,
    size_t len, nt_time t4, double max_distance, double correction,
    struct nt_sample *out, bool *malformed);

/*
 * A sample made elsewhere (a reference clock) at local time smp->t: added
 * to the history as a reply's would be, and the source counts as
 * reachable.  The caller fills s->last (stratum, leap, root values).
 */
void nt_source_sample(struct nt_source *s, const struct nt_sample *smp);

/*
 * The discipline changed our frequency by dfreq (s/s) at t_u and moved the
 * cooked time scale by jump seconds: re-express the history in the new
 * frame (older samples would have read later with the new frequency).
 */
void nt_source_adjust(struct nt_source *s, nt_time t_u, double dfreq,
    double jump);
/*
 * The clock was really stepped by delta: shift stored local times.  The
 * previous exchange of interleaved mode is dropped (its reply, if
 * interleaved, gives no sample: NTP_REPLY_XLEAVE_SKIP).
 */
void nt_source_shift(struct nt_source *s, double delta);

/* Root distance of the source's estimate at time now (s). */
double nt_source_distance(const struct nt_source *s, nt_time now);
/* Offset estimate extrapolated to now (s). */
double nt_source_offset_at(const struct nt_source *s, nt_time now);
/*
 * The interval the true offset lies in at now, by our measurements alone
 * (the server's own root delay and dispersion not included).
 */
void nt_source_bounds_at(const struct nt_source *s, nt_time now, double *lo,
    double *hi);
/*
 * The likely interval (tight_lo...), carried to now; while the frequency
 * is unknown it may be off by up to phi (s/s).
 */
void nt_source_tight_at(const struct nt_source *s, nt_time now, double phi,
    double *lo, double *hi);
/* How far the frequency's wander may have moved the offset in age s. */
double nt_source_wander_bound(const struct nt_source *s, double age);

/* Poll interval adaptation after the estimate is updated. */
void nt_source_adapt_poll(struct nt_source *s, double residual);

#endif
