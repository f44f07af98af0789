/*
 * Per-source logic: polling schedule, reply handling and the sample
 * history.  What the history says about our clock is source_fit.c's job;
 * this file decides which samples it sees: a sample that disagrees with
 * all the others is held out once, so that a glitch is forgotten, and
 * when the next one disagrees too the world has changed (a step, a new
 * route) and the older samples go.
 */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "minmax.h"
#include "source.h"
#include "source_fit.h"

#define UNREACH_POLLS 8
#define RAMP_FIRST 2		/* after a burst, poll at 4, 8, ... s */
#define RAMP_REPS 2		/* answered polls at each of them */
#define TRIES 3			/* widenings, see reconcile() */
#define WIDEN 4.0		/* the wander allowance, each time */
#define NARROW 0.98		/* per sample that fits, back to normal */
#define NOISE_FLOOR 1e-7	/* s */

static const char * const state_names[] = {
	[NT_SRC_INIT] = "no sample yet",
	[NT_SRC_SELECTED] = "selected",
	[NT_SRC_COMBINED] = "combined",
	[NT_SRC_CANDIDATE] = "candidate",
	[NT_SRC_FALSETICKER] = "falseticker",
	[NT_SRC_UNSYNC] = "unsynchronized",
	[NT_SRC_DISTANCE] = "root distance too large",
	[NT_SRC_UNREACH] = "unreachable",
	[NT_SRC_DENIED] = "denied by server",
	[NT_SRC_NOMAJORITY] = "no majority",
	[NT_SRC_NOSELECT] = "not selectable (noselect)",
};

const char *
nt_src_state_str(enum nt_src_state st)
{
	if ((unsigned)st >= sizeof state_names / sizeof state_names[0])
		return ("?");
	return (state_names[st]);
}

void
nt_source_init(struct nt_source *s, const struct nt_server_conf *conf,
    const char *name, int index, nt_time now)
{
	assert(conf->minpoll <= conf->maxpoll);
	memset(s, 0, sizeof *s);
	strlcpy(s->name, name, sizeof s->name);
	s->conf = *conf;
	s->index = index;
	s->noselect = conf->noselect;
	s->minpoll = conf->minpoll;
	s->poll = conf->minpoll;
	s->next_poll = now;
	s->burst_left = conf->iburst ? NT_BURST_LEN : 0;
	s->ramp = conf->iburst ? RAMP_FIRST : NTP_MAXPOLL + 1;
	s->ramp_left = RAMP_REPS;
	s->est_var = INFINITY;
	s->est_freq_var = INFINITY;
	s->min_delay = INFINITY;
	s->wander_mult = 1;
	s->quick.est = s->spaced.est = NAN;
	for (int k = 0; k < NT_FLOOR_N; k++)
		s->floor[k] = INFINITY;
	s->state = NT_SRC_INIT;
}

bool
nt_source_all_too_slow(const struct nt_source *s)
{
	return (s->n_hist == 0 && s->have_last && s->last_ok &&
	    s->conf.maxdelay > 0);
}

double
nt_source_interval(const struct nt_source *s)
{
	return (ldexp(1.0, s->poll));
}

/* A poll went unanswered: after 8 of them, back off toward maxpoll. */
static void
note_unanswered(struct nt_source *s)
{
	s->unanswered++;
	if (s->unanswered < UNREACH_POLLS)
		return;
	s->unreachable = true;
	s->state = NT_SRC_UNREACH;
	if (s->poll < s->conf.maxpoll)
		s->poll++;
}

/*
 * After a burst the interval doubles up to the poll (4, 8, 16, 32 s at
 * first), each one kept for RAMP_REPS answered polls: the first samples
 * set the frequency and the path's minimum delay, on which the first
 * half hour rests (over seeds 1-100, wan's RMS error fell from 32 to
 * 28 us with two polls at each interval instead of one, lan's from 15.3
 * to 15.1 us; 12 requests in the first two minutes, not 8).  Only
 * answered polls count: a lossy path would otherwise leave the clock
 * with one sample, no frequency, for minutes (a 100 ppm crystal drifts
 * 38 ms in 380 s).  Once the source counts as unreachable it ramps on.
 */
static void
schedule_next(struct nt_source *s, nt_time now, bool answered)
{
	if (s->burst_left > 0)
		s->burst_left--;
	if (s->burst_left > 0) {
		s->next_poll = nt_add(now, NT_BURST_GAP);
	} else if (s->ramp < s->poll) {
		s->next_poll = nt_add(now, ldexp(1.0, s->ramp));
		if ((answered || s->unreachable) && --s->ramp_left <= 0) {
			s->ramp++;
			s->ramp_left = RAMP_REPS;
		}
	} else {
		s->next_poll = nt_add(now, nt_source_interval(s));
	}
}

/*
 * Interleaved mode: ask for the precise transmit time of the server's
 * last reply by echoing its receive time as origin, and tell the reply
 * apart by our receive time of it in the receive field (RFC 9769).  Both
 * stay zero, a basic request, when there is no such reply, or should our
 * receive time equal the random transmit field.
 */
static void
xleave_fields(const struct nt_source *s, struct ntp_pkt *req)
{
	uint64_t rec;

	if (!s->conf.xleave || !s->have_prev)
		return;
	rec = nt_to_ntp64(s->prev.t4);
	if (rec == 0 || rec == req->xmt)
		return;
	req->org = s->prev.rec;
	req->rec = rec;
}

size_t
nt_source_request(struct nt_source *s, nt_time now, uint64_t rnd,
    uint8_t *buf, size_t cap)
{
	struct ntp_pkt req;
	bool answered = !s->pending;

	if (s->denied || now < s->next_poll)
		return (0);
	if (s->pending)
		note_unanswered(s);
	s->reach <<= 1;
	/* Data minimisation: only mode, version, poll and a random xmt. */
	memset(&req, 0, sizeof req);
	req.version = NTP_VERSION;
	req.mode = NTP_MODE_CLIENT;
	req.poll = (int8_t)s->poll;
	req.xmt = rnd;
	xleave_fields(s, &req);
	if (ntp_encode(&req, buf, cap) != NTP_HDR_LEN)
		return (0);
	s->pending = true;
	s->xmt = rnd;
	s->req_rec = req.rec;
	s->t1 = now;
	s->n_tx++;
	schedule_next(s, now, answered);
	return (NTP_HDR_LEN);
}

bool
nt_tx_stamp_fits(nt_time read, nt_time stamp)
{
	double late = nt_diff(stamp, read);

	return (late >= 0 && late <= NT_TX_STAMP_MAX);
}

bool
nt_source_tx_stamp(struct nt_source *s, nt_time t)
{
	if (!s->pending || !nt_tx_stamp_fits(s->t1, t))
		return (false);
	s->t1 = t;
	s->n_tx_stamped++;
	return (true);
}

/* KoD RATE: poll no faster than the server asks, and one step slower. */
static void
kod_rate(struct nt_source *s, const struct ntp_pkt *p)
{
	int want = s->poll + 1;

	if (p->poll > want)
		want = p->poll;
	if (want > NTP_MAXPOLL)
		want = NTP_MAXPOLL;
	if (want > s->minpoll)
		s->minpoll = want;
	if (s->minpoll > s->conf.maxpoll)
		s->conf.maxpoll = s->minpoll;
	s->poll = s->minpoll;
	s->burst_left = 0;
	s->ramp = NTP_MAXPOLL + 1;
	s->next_poll = nt_add(s->t1, nt_source_interval(s));
}

/* Forget all but the newest `keep` samples. */
static void
keep_newest(struct nt_source *s, int keep)
{
	assert(keep > 0 && keep <= s->n_hist);
	memmove(&s->hist[0], &s->hist[s->n_hist - keep],
	    (size_t)keep * sizeof s->hist[0]);
	s->n_hist = keep;
}

static void
append(struct nt_source *s, const struct nt_sample *smp)
{
	if (s->n_hist == NT_HIST_MAX)
		keep_newest(s, NT_HIST_MAX - 1);
	s->hist[s->n_hist++] = *smp;
}

/*
 * The samples disagree beyond their bounds: either the frequency wandered
 * more than we allowed for, or the path's minimum delay is lower than we
 * have seen.  Widen both, a few times; returns how many samples agree.
 */
static int
reconcile(struct nt_source *s)
{
	int used = 0;

	for (int k = 0; k < TRIES && used < s->n_hist; k++) {
		s->wander_mult *= WIDEN;
		s->slack = fmax(2 * s->slack, fmax(s->base, NOISE_FLOOR));
		used = nt_fit(s);
	}
	return (used);
}

/* Nothing reconciles: hold a lone dissenter out, or drop what is stale. */
static void
disagree(struct nt_source *s, const struct nt_sample *smp, int used)
{
	if (used <= 2 && s->n_hist >= 4 && !s->have_held) {
		s->held = s->hist[--s->n_hist];
		s->have_held = true;
		nt_fit(s);
		return;
	}
	if (s->have_held) {
		s->hist[s->n_hist - 1] = s->held;
		append(s, smp);
		s->have_held = false;
	}
	used = nt_fit(s);
	if (used < s->n_hist) {
		keep_newest(s, used);
		nt_fit(s);
	}
}

static void
add_sample(struct nt_source *s, const struct nt_sample *smp)
{
	double mult = s->wander_mult, slack = s->slack;
	int used;

	append(s, smp);
	keep_newest(s, nt_fit_floor(s, smp));
	used = nt_fit(s);
	if (used == s->n_hist) {
		s->wander_mult = fmax(1.0, s->wander_mult * NARROW);
		s->slack *= NARROW;
	} else if (reconcile(s) < s->n_hist) {
		s->wander_mult = mult;
		s->slack = slack;
		disagree(s, smp, used);
		return;
	}
	s->have_held = false;
	nt_fit_learn_wander(s);
}

/* One exchange's timestamps: ours (t1, t4) and the server's (t2, t3). */
struct exchange {
	nt_time	t1, t2, t3, t4;
	double	bias;		/* added to the offset: -correction */
};

/* A basic reply: the request in flight and this reply. */
static void
basic_exchange(const struct nt_source *s, const struct ntp_pkt *p,
    nt_time t4, double correction, struct exchange *x)
{
	x->t1 = s->t1;
	x->t2 = nt_from_ntp64(p->rec, s->t1);
	x->t3 = nt_from_ntp64(p->xmt, s->t1);
	x->t4 = t4;
	x->bias = -correction;
}

/*
 * An interleaved reply: the previous exchange, with the server's kernel
 * transmit time of its reply, which this reply carries.
 */
static void
xleave_exchange(const struct nt_source *s, const struct ntp_pkt *p,
    struct exchange *x)
{
	assert(s->have_prev);
	x->t1 = s->prev.t1;
	x->t2 = nt_from_ntp64(s->prev.rec, s->prev.t1);
	x->t3 = nt_from_ntp64(p->xmt, s->prev.t1);
	x->t4 = s->prev.t4;
	x->bias = s->prev.bias;
}

/* RFC 5905's delay, (t4 - t1) - (t3 - t2), not yet known to be possible. */
static double
raw_delay(const struct exchange *x)
{
	return (nt_diff(x->t4, x->t1) - nt_diff(x->t3, x->t2));
}

/* Turn a validated exchange into a sample (RFC 5905 on-wire equations). */
static void
make_sample(const struct exchange *x, int precision, struct nt_sample *out)
{
	double rtt = nt_diff(x->t4, x->t1);

	out->offset = (nt_diff(x->t2, x->t1) + nt_diff(x->t3, x->t4)) / 2.0 +
	    x->bias;
	out->delay = fmax(raw_delay(x), 0.0);
	out->t = x->t1 + (x->t4 - x->t1) / 2;
	out->disp = ldexp(1.0, precision) + NT_PHI * fmax(rtt, 0.0);
	out->sd = 0;
}

/*
 * Interleaved mode: this reply's exchange is the one the next reply may
 * complete.  The bias is what a sample made now would have had.
 */
static void
remember(struct nt_source *s, const struct ntp_pkt *p, nt_time t4,
    double correction, bool sampled)
{
	if (!s->conf.xleave)
		return;
	s->prev.t1 = s->t1;
	s->prev.t4 = t4;
	s->prev.rec = p->rec;
	s->prev.bias = -correction;
	s->prev.sampled = sampled;
	s->have_prev = p->rec != 0;
}

/*
 * Which of our fields the reply's origin echoes: the random transmit
 * (basic) or the receive field (interleaved, *xl).  Anything else is
 * checked against the transmit, and refused as a bogus origin.
 */
static uint64_t
matched_origin(const struct nt_source *s, const struct ntp_pkt *p, bool *xl)
{
	*xl = s->req_rec != 0 && p->org == s->req_rec && p->org != s->xmt;
	return (*xl ? s->req_rec : s->xmt);
}

/* The verdict on a reply's timestamps; x is filled when it has a sample. */
static enum ntp_verdict
check_reply(const struct nt_source *s, const struct ntp_pkt *p, nt_time t4,
    double max_distance, double correction, struct exchange *x, bool *xl,
    bool *have_x)
{
	uint64_t org = matched_origin(s, p, xl);
	enum ntp_verdict v = ntp_check_reply(p, org, max_distance);

	*have_x = false;
	if (v != NTP_REPLY_OK)
		return (v);
	if (!*xl)
		basic_exchange(s, p, t4, correction, x);
	else if (s->have_prev && !s->prev.sampled)
		xleave_exchange(s, p, x);
	else
		return (v);	/* answered; no new exchange to sample */
	*have_x = true;
	if (!ntp_delay_possible(raw_delay(x), p->precision))
		return (NTP_REPLY_BAD_DELAY);
	return (v);
}

/* Add the exchange's sample unless the source's maxdelay refuses it. */
static enum ntp_verdict
take_sample(struct nt_source *s, const struct ntp_pkt *p,
    const struct exchange *x, bool xl, struct nt_sample *out)
{
	make_sample(x, p->precision, out);
	/* chrony's maxdelay: the server answered, the sample is not kept. */
	if (s->conf.maxdelay > 0 && out->delay > s->conf.maxdelay)
		return (NTP_REPLY_MAX_DELAY);
	add_sample(s, out);
	s->last_xleave = xl;
	if (xl)
		s->n_xleave++;
	return (NTP_REPLY_OK);
}

enum ntp_verdict
nt_source_reply(struct nt_source *s, const uint8_t *buf, size_t len,
    nt_time t4, double max_distance, double correction, struct nt_sample *out,
    bool *malformed)
{
	struct ntp_pkt p;
	struct exchange x = { 0 };
	enum ntp_verdict v;
	bool xl, have_x;

	*malformed = false;
	if (ntp_decode(buf, len, &p) != NTP_DECODE_OK) {
		*malformed = true;
		s->n_bad++;
		return (NTP_REPLY_BAD_MODE);
	}
	if (!s->pending) {
		s->n_bad++;
		return (NTP_REPLY_BOGUS_ORIGIN);	/* duplicate or stale */
	}
	v = check_reply(s, &p, t4, max_distance, correction, &x, &xl, &have_x);
	if (v == NTP_REPLY_BAD_MODE || v == NTP_REPLY_BAD_VERSION ||
	    v == NTP_REPLY_BOGUS_ORIGIN || v == NTP_REPLY_ZERO_XMT ||
	    v == NTP_REPLY_ZERO_REC || v == NTP_REPLY_BAD_DELAY) {
		s->n_bad++;
		return (v);	/* keep waiting for the genuine reply */
	}
	s->pending = false;
	s->n_rx++;
	s->have_prev = false;	/* until remember() */
	/* Other kiss codes (INIT, STEP...): alive, but not usable yet. */
	if (ntp_verdict_is_kod(v) && v != NTP_REPLY_KOD_OTHER) {
		s->n_kod++;
		if (v == NTP_REPLY_KOD_RATE)
			kod_rate(s, &p);
		else {
			s->denied = true;
			s->state = NT_SRC_DENIED;
		}
		return (v);
	}
	s->reach |= 1;
	s->unanswered = 0;
	s->unreachable = false;
	s->last = p;
	s->have_last = true;
	s->last_ok = v == NTP_REPLY_OK;
	if (v == NTP_REPLY_KOD_OTHER)
		s->n_kod++;
	if (v == NTP_REPLY_UNSYNC || v == NTP_REPLY_KOD_OTHER) {
		s->state = NT_SRC_UNSYNC;
		return (v);
	}
	if (v == NTP_REPLY_DISTANCE) {
		s->state = NT_SRC_DISTANCE;
		return (v);
	}
	v = have_x ? take_sample(s, &p, &x, xl, out) : NTP_REPLY_XLEAVE_SKIP;
	remember(s, &p, t4, correction, !xl && v == NTP_REPLY_OK);
	return (v);
}

void
nt_source_sample(struct nt_source *s, const struct nt_sample *smp)
{
	assert(isfinite(smp->offset) && smp->delay >= 0 && smp->disp >= 0 &&
	    smp->sd >= 0);
	s->n_rx++;
	s->reach = (uint8_t)(s->reach << 1 | 1);	/* a refclock's poll */
	s->unanswered = 0;
	s->unreachable = false;
	s->have_last = true;
	s->last_ok = true;
	add_sample(s, smp);
}

void
nt_source_adjust(struct nt_source *s, nt_time t_u, double dfreq, double jump)
{
	for (int i = 0; i < s->n_hist; i++) {
		s->hist[i].offset += nt_diff(t_u, s->hist[i].t) * dfreq - jump;
	}
	if (s->have_held)
		s->held.offset += nt_diff(t_u, s->held.t) * dfreq - jump;
	if (s->have_prev)	/* as its sample, dated mid-way, would be */
		s->prev.bias += nt_diff(t_u, s->prev.t1 + (s->prev.t4 -
		    s->prev.t1) / 2) * dfreq - jump;
	if (s->n_hist > 0) {
		double d = nt_diff(t_u, s->est_t) * dfreq - jump;

		s->est_offset += d;
		s->est_lo += d;
		s->est_hi += d;
		s->tight_lo += d;
		s->tight_hi += d;
		s->tight_flo -= dfreq;
		s->tight_fhi -= dfreq;
		s->est_freq -= dfreq;
		s->freq_shift += dfreq;
		s->freq_lo -= dfreq;
		s->freq_hi -= dfreq;
	}
}

void
nt_source_shift(struct nt_source *s, double delta)
{
	nt_time d = nt_from_sec(delta);

	for (int i = 0; i < s->n_hist; i++)
		s->hist[i].t += d;
	s->est_t += d;
	s->held.t += d;
	for (int i = 0; i < s->fh_n; i++)
		s->fh_t[i] += d;
	s->spaced_t += d;
	s->t1 += d;
	s->next_poll += d;
	s->have_prev = false;	/* when in doubt, one basic exchange */
}

double
nt_source_offset_at(const struct nt_source *s, nt_time now)
{
	assert(s->n_hist > 0);
	return (s->est_offset + s->est_freq * nt_diff(now, s->est_t));
}

double
nt_source_wander_bound(const struct nt_source *s, double age)
{
	return (nt_fit_wander_tol(s->wander_bound, age));
}

void
nt_source_bounds_at(const struct nt_source *s, nt_time now, double *lo,
    double *hi)
{
	double dt = nt_fmax(nt_diff(now, s->est_t), 0.0), w;

	assert(s->n_hist > 0);
	w = nt_source_wander_bound(s, dt);
	if (isinf(s->est_freq_var)) {
		*lo = s->est_lo - NT_PHI * dt;
		*hi = s->est_hi + NT_PHI * dt;
	} else {
		*lo = s->est_lo + nt_fmin(s->freq_lo * dt, s->freq_hi * dt) - w;
		*hi = s->est_hi + nt_fmax(s->freq_lo * dt, s->freq_hi * dt) + w;
	}
}

void
nt_source_tight_at(const struct nt_source *s, nt_time now, double phi,
    double *lo, double *hi)
{
	double dt = nt_fmax(nt_diff(now, s->est_t), 0.0);
	double w = nt_fit_wander_tol(nt_fit_likely_wander(s), dt);
	double flo = s->tight_flo, fhi = s->tight_fhi;

	assert(s->n_hist > 0 && phi >= 0);
	if (isinf(s->est_freq_var)) {	/* no frequency yet */
		flo = -phi;
		fhi = phi;
	}
	*lo = s->tight_lo + nt_fmin(flo * dt, fhi * dt) - w;
	*hi = s->tight_hi + nt_fmax(flo * dt, fhi * dt) + w;
}

double
nt_source_distance(const struct nt_source *s, nt_time now)
{
	double age = fmax(nt_diff(now, s->est_t), 0.0), lo, hi, off;

	assert(s->n_hist > 0 && s->have_last);
	nt_source_bounds_at(s, now, &lo, &hi);
	off = nt_source_offset_at(s, now);
	return (nt_from_ntp32(s->last.root_delay) / 2.0 +
	    nt_from_ntp32(s->last.root_disp) + s->min_delay / 2.0 +
	    fmax(hi - off, off - lo) + NT_PHI * age);
}

/*
 * Poll less often only while it costs no accuracy.  That is when the
 * whole history still fits one line: a full window whose frequency could
 * not have wandered, over twice its span, by more than the samples' own
 * scatter.  A longer interval then buys a longer window of as many
 * samples.  When the wander limits the window, only more frequent samples
 * make it accurate, and a sample far off the prediction asks for more.
 */
void
nt_source_adapt_poll(struct nt_source *s, double residual)
{
	double noise = fmax(s->jitter, NOISE_FLOOR), span, drift;

	if (s->n_hist < 4)
		return;
	span = 2 * nt_diff(s->hist[s->n_hist - 1].t, s->hist[0].t);
	drift = nt_fit_wander_tol(s->wander, span);
	if (s->n_hist == NT_HIST_MAX && drift < 0.5 * noise &&
	    fabs(residual) < 3.0 * noise)
		s->poll_score++;
	else if (drift > noise || fabs(residual) > 6.0 * noise)
		s->poll_score -= 2;
	if (s->poll_score >= 4 && s->poll < s->conf.maxpoll) {
		s->poll++;
		s->poll_score = 0;
	} else if (s->poll_score <= -4) {
		if (s->poll > s->minpoll)
			s->poll--;
		s->poll_score = 0;
	}
}
