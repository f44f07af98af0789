/*
 * Glue between sources, selection and discipline, and the one place that
 * tells the sysadmin what the client decided and why.
 *
 * Every accepted sample triggers a selection; if a majority agrees the
 * discipline corrects the clock, and the correction is written back into
 * every source's history so the next regression sees the new frame.
 */
#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "log.h"
#include "minmax.h"

#define STARTUP_WAIT 8.0	/* s: wait this long for all sources at start */
#define MAX_SLEW 500e-6		/* s/s: fastest offset correction */
#define MIN_SLEW_TIME 16.0	/* s: spread small corrections over this */
#define PEER_HYSTERESIS 2.0	/* the system peer stays until beaten 2x */
#define RC_STALE_POLLS 8.0	/* refclock polls without a sample: stale */
#define RC_STALE_MIN 16.0	/* s, but never less than this */
#define RC_REACH_LATE 1.5	/* s: least lateness a refclock's sample may
				   have before its poll counts as missed */
#define ADOPT_GAP 2.0		/* s: least gap to a restart's first poll */
#define UNKNOWN_RATE_MAX 500e-6	/* s/s: the most a kernel corrects */

struct nt_engine {
	struct nt_engine_params p;
	struct nt_clock		*clk;
	struct nt_engine_io	io;
	struct nt_discipline	disc;
	struct nt_source	src[NT_MAX_SOURCES];
	size_t			n;
	nt_time			start;
	bool			have_update;
	bool			no_majority;	/* last selection failed */
	bool			lost_said;	/* holdover ran out, logged */
	bool			far_said;	/* an unstepped far offset, logged */
	bool			gave_up;	/* max_change ran out */
	int			n_updates;	/* clock updates made */
	int			n_ignored;	/* offsets above max_change */
	int			selected;
	struct nt_update	last;
	int			leap;		/* from the last vote */
	int			kernel_leap;	/* as the kernel knows it */
	double			root_delay;	/* at the last update */
	double			root_disp;
	/* Our error bound after the last update, and how fast it grows. */
	double			bound;		/* s, at bound_t */
	double			bound_rate;	/* s/s */
	nt_time			bound_t;
	/* A refclock's samples came back then (0: not holding it off). */
	nt_time			rc_back[NT_MAX_SOURCES];
	/* When a refclock's poll without a sample shifts a 0 into reach. */
	nt_time			rc_reach_due[NT_MAX_SOURCES];
};

void
nt_engine_params_from_conf(struct nt_engine_params *p,
    const struct nt_conf *c, struct nt_clock *clk, bool have_drift,
    double drift_ppm, double skew_ppm)
{
	memset(p, 0, sizeof *p);
	p->disc.step_threshold = c->step_threshold;
	p->disc.step_limit = c->step_limit;
	p->disc.max_slew = MAX_SLEW;
	p->disc.min_slew_time = MIN_SLEW_TIME;
	if (have_drift) {
		p->disc.init_freq = drift_ppm * 1e-6;
		p->disc.init_freq_sd = fmax(skew_ppm, 0.1) * 1e-6;
	} else {
		p->disc.init_freq = clk->ops->get_freq(clk) * 1e-6;
		p->disc.init_freq_sd = 100e-6;
	}
	p->max_distance = c->max_distance;
	p->min_sources = c->min_sources;
	p->holdover = c->holdover;
	p->max_change = c->max_change;
}

struct nt_engine *
nt_engine_new(const struct nt_engine_params *p, struct nt_clock *clk,
    const struct nt_engine_io *io)
{
	struct nt_engine *e = calloc(1, sizeof *e);

	if (e == NULL)
		return (NULL);
	assert(io->send != NULL && io->random != NULL);
	e->p = *p;
	e->clk = clk;
	e->io = *io;
	e->selected = -1;
	e->n_ignored = p->ignored_before;
	e->start = nt_clock_now(clk);
	nt_disc_init(&e->disc, clk, &p->disc);
	if (!p->measure_only)
		nt_disc_start(&e->disc);
	return (e);
}

void
nt_engine_free(struct nt_engine *e)
{
	free(e);
}

int
nt_engine_add_source(struct nt_engine *e, const struct nt_server_conf *c,
    const char *name, uint32_t refid)
{
	if (e->n == NT_MAX_SOURCES)
		return (-1);
	nt_source_init(&e->src[e->n], c, name, (int)e->n, nt_clock_now(e->clk));
	e->src[e->n].refid = refid;
	return ((int)e->n++);
}

/* Re-express every history after the discipline acted. */
static void
adjust_all(struct nt_engine *e, nt_time now, double dfreq, double jump,
    double step)
{
	for (size_t i = 0; i < e->n; i++) {
		nt_source_adjust(&e->src[i], now, dfreq, jump);
		if (step != 0)
			nt_source_shift(&e->src[i], step);
	}
	if (step != 0)
		e->start = nt_add(e->start, step);
}

static bool usable(struct nt_engine *e, struct nt_source *s, nt_time now);

/*
 * How late a refclock's sample may come before its poll counts as one
 * without: a combined sample comes once the first raw sample after a
 * poll interval arrives (up to a raw period late, a second for NMEA or
 * gpsd), so half a poll, and never less than RC_REACH_LATE (a second
 * and its jitter: a 1 Hz device with a shorter poll is not missing).
 */
static double
rc_reach_late(const struct nt_source *s)
{
	return (fmax(nt_source_interval(s) / 2, RC_REACH_LATE));
}

/* A refclock's sample came now: a 1 for this poll, the next one due. */
static void
rc_reach_sample(struct nt_engine *e, struct nt_source *s, nt_time now)
{
	e->rc_reach_due[s - e->src] = nt_add(now, nt_source_interval(s) +
	    rc_reach_late(s));
}

/*
 * A refclock's reach shifts like a server's, one bit per poll: a 0 for
 * each poll interval that passed without a sample, so a receiver that
 * went silent shows 376, 374, ... before it goes stale.  Its selection
 * still rests on staleness alone (see usable()), as it did before.
 */
static void
rc_reach_missed(struct nt_engine *e, struct nt_source *s, nt_time now,
    nt_time *next)
{
	nt_time *due = &e->rc_reach_due[s - e->src];
	int shifts = 0;

	assert(*due != 0);
	while (now >= *due && shifts++ < 8) {
		s->reach <<= 1;
		*due = nt_add(*due, nt_source_interval(s));
	}
	if (now >= *due)	/* 8 polls gone by: nothing left to shift */
		*due = nt_add(now, nt_source_interval(s));
	if (s->reach != 0 && *due < *next)	/* nothing to show at 0 */
		*next = *due;
}

/*
 * A refclock is never polled, so nothing else would notice it going
 * silent when it is the only source: count its missed polls in reach,
 * check (and log) it when it becomes stale, and wake up for those.
 */
static void
rc_watch(struct nt_engine *e, struct nt_source *s, nt_time now,
    nt_time *next)
{
	nt_time stale;

	if (s->n_hist == 0)
		return;
	rc_reach_missed(e, s, now, next);
	if (s->state == NT_SRC_UNREACH)
		return;
	stale = nt_add(s->hist[s->n_hist - 1].t, fmax(RC_STALE_POLLS *
	    nt_source_interval(s), RC_STALE_MIN));
	if (now >= stale) {
		(void)usable(e, s, now);	/* marks it unreachable */
		s->reach = 0;	/* no sample for 8 polls or more */
	} else if (stale < *next)
		*next = stale;
}

/*
 * Say when the last clock update grows older than the holdover: from then
 * on we report (and serve) not synchronized.  Checked at every run, so
 * at most a poll late; log_update() says when it ends.
 */
static void
watch_holdover(struct nt_engine *e, nt_time now)
{
	if (!e->have_update || e->lost_said ||
	    nt_diff(now, e->last.when) < e->p.holdover)
		return;
	nt_log(NT_LOG_WARNING, "not synchronized: no clock update for %.0f s "
	    "(holdover), now reporting unsynchronized", e->p.holdover);
	e->lost_said = true;
}

double
nt_engine_run(struct nt_engine *e)
{
	uint8_t buf[NTP_HDR_LEN];
	nt_time now = nt_clock_now(e->clk), next;
	double over = nt_disc_tick(&e->disc, now);

	if (over != 0)
		adjust_all(e, now, 0, over, 0);
	next = nt_disc_deadline(&e->disc);
	for (size_t i = 0; i < e->n; i++) {
		struct nt_source *s = &e->src[i];
		bool was_unreach = s->unreachable;
		size_t len;
		int err;

		if (s->refclock) {
			rc_watch(e, s, now, &next);
			continue;
		}
		if (s->denied)
			continue;
		if (now >= s->next_poll) {
			len = nt_source_request(s, now, e->io.random(e->io.ctx),
			    buf, sizeof buf);
			assert(len == NTP_HDR_LEN);
			err = e->io.send(e->io.ctx, (int)i, buf, len);
			if (err != 0)
				nt_log(NT_LOG_DEBUG, "%s: cannot send: %s",
				    s->name, strerror(-err));
			if (s->unreachable && !was_unreach)
				nt_log(NT_LOG_NOTICE, "%s: no reply to the "
				    "last %d polls, unreachable (next poll in "
				    "%.0f s)", s->name, s->unanswered,
				    nt_diff(s->next_poll, now));
		}
		if (s->next_poll < next)
			next = s->next_poll;
	}
	watch_holdover(e, now);
	if (next == INT64_MAX)
		return (3600.0);
	return (fmax(nt_diff(next, now), 0.0));
}

/* Only wait at start-up until every source has had its chance. */
static bool
startup_ready(const struct nt_engine *e, nt_time now)
{
	if (e->have_update || nt_diff(now, e->start) >= STARTUP_WAIT)
		return (true);
	for (size_t i = 0; i < e->n; i++)
		if (!e->src[i].denied && e->src[i].n_hist == 0 &&
		    !e->src[i].unreachable)
			return (false);
	return (true);
}

/*
 * Hysteresis for refclocks: one that went silent (stale) is selectable
 * again only once its samples have been coming for as long as silence
 * takes to make it stale, while another source is the system peer, so
 * one sample does not take the peer back from the backup and lose it
 * again.  With no other peer it is used at once.
 */
static bool
rc_held_off(struct nt_engine *e, const struct nt_source *s, nt_time now)
{
	size_t i = (size_t)(s - e->src);
	double hold = fmax(RC_STALE_POLLS * nt_source_interval(s),
	    RC_STALE_MIN);

	if (e->rc_back[i] == 0)
		return (false);
	if (e->selected >= 0 && e->selected != (int)i &&
	    nt_diff(now, e->rc_back[i]) < hold)
		return (true);
	if (e->selected >= 0 && e->selected != (int)i)
		nt_log(NT_LOG_NOTICE, "refclock %s: good for %.0f s, "
		    "selectable again", s->name, hold);
	e->rc_back[i] = 0;
	return (false);
}

static bool
usable(struct nt_engine *e, struct nt_source *s, nt_time now)
{
	double dist;

	if (s->n_hist == 0 || s->denied || !s->last_ok)
		return (false);
	/* Before reach: a stale refclock's reach is 0, and it stays marked. */
	if (s->refclock && nt_diff(now, s->hist[s->n_hist - 1].t) >
	    fmax(RC_STALE_POLLS * nt_source_interval(s), RC_STALE_MIN)) {
		if (s->state != NT_SRC_UNREACH)
			nt_log(NT_LOG_NOTICE, "refclock %s: no sample lately, "
			    "not selectable", s->name);
		s->state = NT_SRC_UNREACH;
		e->rc_back[s - e->src] = 0;
		return (false);
	}
	/* A refclock's reach is for show: staleness (above) decides. */
	if (!s->refclock && s->reach == 0)
		return (false);
	if (s->noselect) {	/* measured and shown, never selected */
		s->state = NT_SRC_NOSELECT;
		return (false);
	}
	if (s->refclock && rc_held_off(e, s, now))
		return (false);
	dist = nt_source_distance(s, now);
	if (dist > e->p.max_distance) {
		if (s->state != NT_SRC_DISTANCE)
			nt_log(NT_LOG_NOTICE, "%s: root distance %.3f s is "
			    "above the limit of %.3f s, not selectable",
			    s->name, dist, e->p.max_distance);
		s->state = NT_SRC_DISTANCE;
		return (false);
	}
	return (true);
}

/*
 * Collect candidates; map[k] is the source index of candidate k.  Last
 * resorts (the local clock) only join when nothing else is usable.
 */
static size_t
gather(struct nt_engine *e, nt_time now, struct nt_candidate *c, int *map,
    bool last_resort)
{
	size_t n = 0;

	for (size_t i = 0; i < e->n; i++) {
		struct nt_source *s = &e->src[i];
		double age;

		if (s->last_resort != last_resort || !usable(e, s, now))
			continue;
		age = fmax(nt_diff(now, s->est_t), 0.0);
		c[n].offset = nt_source_offset_at(s, now);
		c[n].distance = nt_source_distance(s, now);
		c[n].var = s->est_var + s->est_freq_var * age * age;
		if (!isfinite(c[n].var))
			c[n].var = s->est_var;
		c[n].freq = s->est_freq;
		c[n].freq_var = s->est_freq_var;
		c[n].stratum = s->last.stratum;
		c[n].prefer = s->conf.prefer;
		c[n].trust = s->conf.trust;
		c[n].require = s->conf.require;
		map[n++] = (int)i;
	}
	return (n);
}

/* Sources' distances change every sample: keep the peer unless beaten. */
static void
keep_peer(const struct nt_engine *e, const struct nt_candidate *c,
    const int *map, size_t n, struct nt_selection *sel)
{
	if (!sel->ok || e->selected < 0)
		return;
	for (size_t k = 0; k < n; k++) {
		if (map[k] != e->selected || (int)k == sel->selected)
			continue;
		if (c[k].combined && c[k].prefer == c[sel->selected].prefer &&
		    c[k].distance <= PEER_HYSTERESIS * sel->distance) {
			sel->selected = (int)k;
			sel->distance = c[k].distance;
		}
		return;
	}
}

static void
mark_states(struct nt_engine *e, const struct nt_candidate *c,
    const int *map, size_t n, const struct nt_selection *sel)
{
	char b[NT_DURSTR_LEN];

	for (size_t k = 0; k < n; k++) {
		struct nt_source *s = &e->src[map[k]];
		enum nt_src_state st;

		if (!sel->ok && !c[k].truechimer)
			st = sel->n_truechimers > 0 ? NT_SRC_FALSETICKER :
			    NT_SRC_NOMAJORITY;
		else if (!c[k].truechimer)
			st = NT_SRC_FALSETICKER;
		else if ((int)k == sel->selected)
			st = NT_SRC_SELECTED;
		else
			st = c[k].combined ? NT_SRC_COMBINED : NT_SRC_CANDIDATE;
		if (st == NT_SRC_FALSETICKER && s->state != NT_SRC_FALSETICKER)
			nt_log(NT_LOG_NOTICE, "%s: falseticker, offset %s is "
			    "outside the interval the majority agrees on",
			    s->name, nt_format_dur(c[k].offset, b, sizeof b));
		s->state = st;
	}
}

/*
 * The leap indicator a majority of the voters announce.  The vote follows
 * selection: the combined sources vote, unless trusted ones are among the
 * truechimers: those decided the time, and they alone say the leap
 * (combined or not: they are taken to be right).  Noselect sources are
 * never candidates, so never vote.
 */
static int
leap_vote(const struct nt_engine *e, const struct nt_candidate *c,
    const int *map, size_t n)
{
	int ins = 0, del = 0, voters = 0;
	bool trusted = false;

	for (size_t k = 0; k < n; k++)
		trusted |= c[k].truechimer && c[k].trust;
	for (size_t k = 0; k < n; k++) {
		if (trusted ? !(c[k].truechimer && c[k].trust) : !c[k].combined)
			continue;
		voters++;
		ins += e->src[map[k]].last.leap == NTP_LEAP_INSERT;
		del += e->src[map[k]].last.leap == NTP_LEAP_DELETE;
	}
	if (2 * ins > voters)
		return (NTP_LEAP_INSERT);
	if (2 * del > voters)
		return (NTP_LEAP_DELETE);
	return (NTP_LEAP_NONE);
}

/*
 * An offset beyond step_threshold that is slewed, because only the first
 * step_limit updates may step: say so once, with how long the slew
 * takes, or a clock seconds off would look synchronized in the log.
 */
static void
log_far(struct nt_engine *e, const struct nt_update *u)
{
	char b[NT_DURSTR_LEN];
	double thr = e->disc.p.step_threshold;
	bool far = !e->p.measure_only && !u->act.stepped && thr > 0 &&
	    fabs(u->offset) > thr;

	if (far && !e->far_said)
		nt_log(NT_LOG_WARNING, "offset %s is beyond step_threshold "
		    "(%g s), but only the first %d updates may step "
		    "(step_limit): slewing, about %.0f s", nt_format_dur(
		    u->offset, b, sizeof b), thr, e->disc.p.step_limit,
		    u->act.slew_time);
	e->far_said = far;
}

static void
log_update(struct nt_engine *e, const struct nt_update *u)
{
	const struct nt_source *s = &e->src[u->selected];
	char b1[NT_DURSTR_LEN], b2[NT_DURSTR_LEN];

	if (u->act.err != 0)
		nt_log(NT_LOG_ERR, "cannot adjust the %s clock: %s",
		    e->clk->name, strerror(-u->act.err));
	if (u->act.stepped)
		nt_log(NT_LOG_NOTICE, "clock stepped by %s (source %s)",
		    nt_format_dur(u->act.step, b1, sizeof b1), s->name);
	if (e->lost_said)
		nt_log(NT_LOG_NOTICE, "synchronized again, to %s, after %.0f s "
		    "without an update", s->name, nt_diff(u->when,
		    e->last.when));
	e->lost_said = false;
	log_far(e, u);
	if (e->selected != u->selected && s->refclock)
		nt_log(NT_LOG_NOTICE, "refclock %s selected (offset %s, %d of "
		    "%d sources agree)", s->name, nt_format_dur(u->offset, b1,
		    sizeof b1), u->n_truechimers, u->n_candidates);
	else if (e->selected != u->selected)
		nt_log(NT_LOG_NOTICE, "selected source %s (stratum %d, "
		    "offset %s, %d of %d sources agree)", s->name,
		    s->last.stratum, nt_format_dur(u->offset, b1, sizeof b1),
		    u->n_truechimers, u->n_candidates);
	if (e->p.measure_only)
		nt_log(NT_LOG_INFO, "offset %s +/- %s (measuring only)",
		    nt_format_dur(u->offset, b1, sizeof b1),
		    nt_format_mag(u->offset_sd, b2, sizeof b2));
	else if (!u->act.stepped)
		nt_log(NT_LOG_INFO, "offset %s +/- %s, frequency %.3f ppm, "
		    "slewing over %.0f s", nt_format_dur(u->offset, b1,
		    sizeof b1), nt_format_mag(u->offset_sd, b2, sizeof b2),
		    u->freq_ppm, u->act.slew_time);
	e->selected = u->selected;
}

/*
 * How far off our frequency may be while no source has measured it:
 * three standard deviations of what the drift file (or, without one, a
 * crystal's usual error) says, and never less than NTP's 15 ppm.  With
 * 15 ppm, a 100 ppm crystal whose first poll after a one-reply burst
 * went unanswered left the bound five times short.
 */
static double
unknown_rate(const struct nt_engine *e)
{
	return (fmin(fmax(NT_PHI, 3 * e->p.disc.init_freq_sd),
	    UNKNOWN_RATE_MAX));
}

/*
 * After an update every combined source says where the truth lies now,
 * relative to the corrected time scale: their intervals (widened by what
 * their servers admit to) all hold it, and so does their intersection.
 * Between updates the bound grows with what we do not know about the
 * frequency and what it may have wandered since; not, as the kernel
 * would assume, by 500 ppm, nor by NTP's 15 ppm (unless no source has
 * measured the frequency yet: unknown_rate()).
 */
static void
set_bound(struct nt_engine *e, int selected, nt_time now)
{
	double lo = -INFINITY, hi = INFINITY, flo = -INFINITY, fhi = INFINITY;
	const struct nt_source *sel = &e->src[selected];

	for (int pass = 0; pass == 0 || (pass == 1 && !(lo <= hi)); pass++) {
		lo = flo = -INFINITY;
		hi = fhi = INFINITY;
		for (size_t i = 0; i < e->n; i++) {
			const struct nt_source *s = &e->src[i];
			double l, h, r;

			if (pass == 0 ? s->state != NT_SRC_SELECTED &&
			    s->state != NT_SRC_COMBINED : s != sel)
				continue;
			nt_source_bounds_at(s, now, &l, &h);
			r = nt_from_ntp32(s->last.root_delay) / 2 +
			    nt_from_ntp32(s->last.root_disp);
			lo = fmax(lo, l - r);
			hi = fmin(hi, h + r);
			if (isfinite(s->est_freq_var)) {
				flo = fmax(flo, s->freq_lo);
				fhi = fmin(fhi, s->freq_hi);
			}
		}
	}
	e->bound = fmax(fabs(lo), fabs(hi));
	e->bound_t = now;
	e->bound_rate = flo <= fhi ? fmax(fabs(flo), fabs(fhi)) :
	    unknown_rate(e);
}

static double
worst_error(const struct nt_engine *e, const struct nt_source *s, nt_time now)
{
	double age = nt_fmax(nt_diff(now, e->bound_t), 0.0);

	/* The rate is infinite while no frequency is known: not at age 0. */
	return (fabs(nt_disc_remaining(&e->disc, now)) + e->bound +
	    (age > 0 ? e->bound_rate * age : 0.0) +
	    nt_source_wander_bound(s, age));
}

/* Where source s likely says the truth lies, its server's word included. */
static void
likely_at(const struct nt_engine *e, const struct nt_source *s, nt_time now,
    double *lo, double *hi)
{
	double rd = nt_from_ntp32(s->last.root_disp);

	nt_source_tight_at(s, now, unknown_rate(e), lo, hi);
	*lo -= rd;
	*hi += rd;
}

/*
 * The likely intervals (nt_source_tight_at(): the truth relative to the
 * corrected clock) of the sources combined, as set_bound() takes their
 * worst cases: each likely holds the truth, so their intersection does
 * (the system peer's alone if they do not meet).  Moved by the slew still
 * to come (the clock is behind the corrected one by that much, so the
 * truth relative to the clock lies in the interval shifted by it: its far
 * end is our error).  Not the paths' asymmetry, which no NTP client can
 * see: worst_error() has it, and caps this.  With three servers alike,
 * the intersection is about a fifth narrower than one interval (the
 * server-step scenario).
 */
static double
likely_error(const struct nt_engine *e, const struct nt_source *sel,
    nt_time now)
{
	double lo = -INFINITY, hi = INFINITY, l, h;
	double rem = nt_disc_remaining(&e->disc, now);

	for (size_t i = 0; i < e->n; i++) {
		const struct nt_source *s = &e->src[i];

		if (s != sel && s->state != NT_SRC_SELECTED &&
		    s->state != NT_SRC_COMBINED)
			continue;
		likely_at(e, s, now, &l, &h);
		lo = nt_fmax(lo, l);
		hi = nt_fmin(hi, h);
	}
	if (!(lo <= hi))
		likely_at(e, sel, now, &lo, &hi);
	return (nt_fmin(nt_fmax(fabs(lo + rem), fabs(hi + rem)),
	    worst_error(e, sel, now)));
}

double
nt_engine_worst_error(const struct nt_engine *e, nt_time now)
{
	if (!e->have_update || e->p.measure_only || e->selected < 0)
		return (INFINITY);
	return (worst_error(e, &e->src[e->selected], now));
}

double
nt_engine_likely_error(const struct nt_engine *e, nt_time now)
{
	if (!e->have_update || e->p.measure_only || e->selected < 0)
		return (INFINITY);
	return (likely_error(e, &e->src[e->selected], now));
}

/*
 * The kernel inserts or deletes a leap second at the next midnight UTC
 * it sees the flag, whatever the day: servers may announce a leap for
 * weeks, so we arm it only on the last day of the month (RFC 5905: the
 * leap is in the last minute of the current month).
 */
static int
kernel_leap(int leap, nt_time now)
{
	time_t tomorrow = (time_t)(now / NT_SEC) + 86400;
	struct tm tm;

	if (leap != NTP_LEAP_INSERT && leap != NTP_LEAP_DELETE)
		return (NTP_LEAP_NONE);
	if (gmtime_r(&tomorrow, &tm) == NULL || tm.tm_mday != 1)
		return (NTP_LEAP_NONE);
	return (leap);
}

static void
publish_status(struct nt_engine *e, const struct nt_update *u, int leap)
{
	struct nt_clock_status st;
	int err;

	/* The kernel's two: the worst case, and what we likely are off. */
	st.synced = true;
	st.maxerror = worst_error(e, &e->src[u->selected], u->when);
	st.esterror = likely_error(e, &e->src[u->selected], u->when);
	st.leap = kernel_leap(leap, nt_clock_now(e->clk));
	if (st.leap != e->kernel_leap && st.leap != NTP_LEAP_NONE)
		nt_log(NT_LOG_NOTICE, "leap second announced: the kernel will "
		    "%s one at midnight UTC", st.leap == NTP_LEAP_INSERT ?
		    "insert" : "delete");
	e->kernel_leap = st.leap;
	err = e->clk->ops->set_status(e->clk, &st);
	if (err != 0)
		nt_log(NT_LOG_WARNING, "cannot set the kernel clock status: %s",
		    strerror(-err));
}

/* Root delay and dispersion as RFC 5905 accumulates them per hop. */
static void
set_root(struct nt_engine *e, const struct nt_source *s,
    const struct nt_update *u)
{
	e->root_delay = nt_from_ntp32(s->last.root_delay) + s->min_delay;
	e->root_disp = nt_from_ntp32(s->last.root_disp) + u->offset_sd +
	    s->jitter + fabs(u->act.slew) + NT_PHI * nt_source_interval(s);
}

/* chrony's "require": configured on any source, usable now or not. */
static bool
need_required(const struct nt_engine *e)
{
	for (size_t i = 0; i < e->n; i++)
		if (e->src[i].conf.require)
			return (true);
	return (false);
}

/*
 * chrony's maxchange: after the first max_change.start updates (since the
 * daemon started: the engines this one replaced made some), an offset
 * above max_change.offset is not corrected; max_change.ignore such
 * offsets are ignored (-1: all), then the engine gives up for good.
 */
static bool
change_refused(struct nt_engine *e, double offset)
{
	const struct nt_max_change_conf *mc = &e->p.max_change;
	char b[NT_DURSTR_LEN];

	if (e->gave_up)
		return (true);
	if (mc->offset <= 0 || e->p.measure_only ||
	    (int64_t)e->p.updates_before + e->n_updates < mc->start ||
	    fabs(offset) <= mc->offset)
		return (false);
	nt_format_dur(offset, b, sizeof b);
	if (mc->ignore < 0 || e->n_ignored < mc->ignore) {
		e->n_ignored++;
		nt_log(NT_LOG_WARNING, "offset %s is beyond max_change (%g s): "
		    "not corrected (%d ignored so far)", b, mc->offset,
		    e->n_ignored);
		return (true);
	}
	nt_log(NT_LOG_ERR, "offset %s is beyond max_change (%g s) again, "
	    "after %d ignored: giving up", b, mc->offset, e->n_ignored);
	e->gave_up = true;
	if (e->io.on_give_up != NULL)
		e->io.on_give_up(e->io.ctx);
	return (true);
}

static void
update(struct nt_engine *e, nt_time now, bool force)
{
	struct nt_candidate c[NT_MAX_SOURCES];
	int map[NT_MAX_SOURCES];
	struct nt_selection sel;
	struct nt_update u;
	size_t n;

	if (!force && !startup_ready(e, now))
		return;
	n = gather(e, now, c, map, false);
	if (n == 0)
		n = gather(e, now, c, map, true);
	nt_select(c, n, e->p.min_sources, need_required(e), &sel);
	keep_peer(e, c, map, n, &sel);
	mark_states(e, c, map, n, &sel);
	if (!sel.ok) {
		if (!e->no_majority && sel.no_required)
			nt_log(NT_LOG_WARNING, "no source marked 'require' is "
			    "selectable (%d of %zu usable sources agree), not "
			    "updating the clock", sel.n_truechimers, n);
		else if (!e->no_majority && n == 0)
			nt_log(NT_LOG_WARNING, "no usable source (none has "
			    "answered with a usable reply), not updating the "
			    "clock");
		else if (!e->no_majority)
			nt_log(NT_LOG_WARNING, "no majority: %d of %zu usable "
			    "sources agree (need more than half and at least "
			    "%d), not updating the clock", sel.n_truechimers,
			    n, e->p.min_sources);
		e->no_majority = true;
		return;
	}
	e->no_majority = false;
	if (change_refused(e, sel.offset))
		return;
	memset(&u, 0, sizeof u);
	u.when = now;
	u.offset = sel.offset;
	u.offset_sd = sqrt(sel.offset_var);
	u.distance = sel.distance;
	u.selected = map[sel.selected];
	u.n_truechimers = sel.n_truechimers;
	u.n_candidates = (int)n;
	if (!e->p.measure_only) {
		nt_disc_update(&e->disc, now, sel.offset, sel.freq,
		    sel.freq_var, &u.act);
		adjust_all(e, now, u.act.dfreq, u.act.jump,
		    u.act.stepped ? u.act.step : 0);
		/* On the clock as it reads now: holdover, reference time. */
		if (u.act.stepped)
			u.when = nt_add(now, u.act.step);
		e->leap = leap_vote(e, c, map, n);
		set_bound(e, u.selected, u.when);
		publish_status(e, &u, e->leap);
	}
	set_root(e, &e->src[u.selected], &u);
	u.freq_ppm = nt_disc_freq_ppm(&e->disc);
	log_update(e, &u);
	e->last = u;
	e->have_update = true;
	if (e->n_updates < INT_MAX)
		e->n_updates++;
	if (e->io.on_update != NULL)
		e->io.on_update(e->io.ctx, &u);
}

static void
log_verdict(struct nt_source *s, enum ntp_verdict v, bool malformed,
    enum nt_src_state before, const struct nt_sample *smp)
{
	char b[NT_DURSTR_LEN];

	switch (v) {
	case NTP_REPLY_OK:
		break;
	case NTP_REPLY_MAX_DELAY:
		nt_log(NT_LOG_INFO, "%s: sample dropped: round-trip delay %s "
		    "is above maxdelay (%g s)", s->name, nt_format_mag(
		    smp->delay, b, sizeof b), s->conf.maxdelay);
		break;
	case NTP_REPLY_KOD_RATE:
		nt_log(NT_LOG_NOTICE, "%s: server asks us to slow down (KoD "
		    "RATE), polling every %.0f s", s->name,
		    nt_source_interval(s));
		break;
	case NTP_REPLY_KOD_DENY:
	case NTP_REPLY_KOD_RSTR:
		nt_log(NT_LOG_WARNING, "%s: access refused by the server (%s), "
		    "no longer polling it", s->name, ntp_verdict_str(v));
		break;
	case NTP_REPLY_UNSYNC:
	case NTP_REPLY_KOD_OTHER:	/* INIT, STEP: not synchronized yet */
		if (before != NT_SRC_UNSYNC)
			nt_log(NT_LOG_NOTICE, "%s: server is not synchronized, "
			    "not selectable", s->name);
		break;
	case NTP_REPLY_DISTANCE:
		if (before != NT_SRC_DISTANCE)
			nt_log(NT_LOG_NOTICE, "%s: root distance above the "
			    "limit, not selectable", s->name);
		break;
	case NTP_REPLY_ZERO_REC:
	case NTP_REPLY_BAD_DELAY:	/* a broken server, or a forgery */
		nt_log(NT_LOG_NOTICE, "%s: reply ignored: %s", s->name,
		    ntp_verdict_str(v));
		break;
	default:
		nt_log(NT_LOG_DEBUG, "%s: dropped a reply: %s", s->name,
		    malformed ? "malformed packet" : ntp_verdict_str(v));
		break;
	}
}

bool
nt_engine_tx_stamp(struct nt_engine *e, int src, nt_time t1)
{
	assert(src >= 0 && (size_t)src < e->n);
	return (nt_source_tx_stamp(&e->src[src], t1));
}

/* A reply that answers our request, to on_sample. */
static void
report_reply(struct nt_engine *e, int src, enum ntp_verdict v,
    const uint8_t *buf, size_t len, nt_time t4, const struct nt_sample *smp)
{
	struct nt_sample_event ev;
	struct ntp_pkt p;

	if (e->io.on_sample == NULL || v == NTP_REPLY_BAD_MODE ||
	    v == NTP_REPLY_BAD_VERSION || v == NTP_REPLY_BOGUS_ORIGIN ||
	    ntp_decode(buf, len, &p) != NTP_DECODE_OK)
		return;
	memset(&ev, 0, sizeof ev);
	ev.src = src;
	ev.when = t4;
	ev.verdict = v;
	ev.have_sample = v == NTP_REPLY_OK || v == NTP_REPLY_MAX_DELAY;
	if (ev.have_sample)
		ev.smp = *smp;
	ev.pkt = &p;
	e->io.on_sample(e->io.ctx, &ev);
}

void
nt_engine_rx(struct nt_engine *e, int src, const uint8_t *buf, size_t len,
    nt_time t4)
{
	struct nt_source *s;
	struct nt_sample smp;
	enum nt_src_state before;
	enum ntp_verdict v;
	bool malformed, was_unreach, have_pred;
	double pred = 0, freq = 0;

	assert(src >= 0 && (size_t)src < e->n);
	s = &e->src[src];
	before = s->state;
	was_unreach = s->unreachable;
	have_pred = s->n_hist > 0;
	if (have_pred) {
		pred = nt_source_offset_at(s, t4);
		freq = s->est_freq;
	}
	v = nt_source_reply(s, buf, len, t4, e->p.max_distance,
	    nt_disc_remaining(&e->disc, t4), &smp, &malformed);
	log_verdict(s, v, malformed, before, &smp);
	report_reply(e, src, v, buf, len, t4, &smp);
	if (v != NTP_REPLY_OK)
		return;
	if (was_unreach)
		nt_log(NT_LOG_NOTICE, "%s: reachable again", s->name);
	/* An interleaved sample is a poll old: predict it where it lies. */
	if (have_pred && s->last_xleave)
		pred -= freq * nt_diff(t4, smp.t);
	if (have_pred)
		nt_source_adapt_poll(s, smp.offset - pred);
	update(e, nt_clock_now(e->clk), false);
}

int
nt_engine_add_refclock(struct nt_engine *e, const struct nt_refclock_conf *rc,
    const char *name, uint32_t refid)
{
	const struct nt_refclock_driver *drv = nt_refclock_driver(
	    (size_t)rc->driver);
	struct nt_server_conf sc;
	struct nt_source *s;
	int i;

	nt_server_conf_init(&sc);
	strlcpy(sc.address, name, sizeof sc.address);
	sc.prefer = rc->prefer;
	sc.noselect = rc->noselect;
	sc.trust = rc->trust;
	sc.require = rc->require;
	sc.iburst = false;
	sc.minpoll = sc.maxpoll = rc->poll;
	i = nt_engine_add_source(e, &sc, name, refid);
	if (i < 0)
		return (-1);
	s = &e->src[i];
	s->refclock = true;
	s->last_resort = drv->last_resort;
	/* We serve one below the reference: 1, or the local stratum. */
	s->last.stratum = (uint8_t)(drv->last_resort && rc->stratum > 0 ?
	    rc->stratum - 1 : 0);
	s->last.refid = refid;
	return (i);
}

/* A refclock's sample, kept (smp) or not (NULL), to on_sample. */
static void
report_refclock(struct nt_engine *e, int src,
    const struct nt_refclock_sample *rs, const struct nt_sample *smp)
{
	struct nt_sample_event ev;

	if (e->io.on_sample == NULL)
		return;
	memset(&ev, 0, sizeof ev);
	ev.src = src;
	ev.when = rs->local;
	ev.verdict = smp != NULL ? NTP_REPLY_OK : NTP_REPLY_UNSYNC;
	ev.have_sample = smp != NULL;
	if (smp != NULL)
		ev.smp = *smp;
	ev.rc = rs;
	e->io.on_sample(e->io.ctx, &ev);
}

void
nt_engine_refclock_sample(struct nt_engine *e, int src,
    const struct nt_refclock_sample *rs)
{
	struct nt_source *s;
	struct nt_sample smp;

	assert(src >= 0 && (size_t)src < e->n && e->src[src].refclock);
	s = &e->src[src];
	if (rs->leap == NTP_LEAP_UNSYNC || !isfinite(rs->offset)) {
		s->last_ok = false;
		report_refclock(e, src, rs, NULL);
		return;
	}
	smp.t = rs->local;
	smp.offset = rs->offset - nt_disc_remaining(&e->disc, rs->local);
	smp.delay = fmax(rs->delay, 0.0);
	smp.disp = fmax(rs->disp, 0.0);
	smp.sd = fmax(rs->sd, 0.0);
	s->last.leap = (uint8_t)rs->leap;
	s->last.root_delay = 0;
	s->last.root_disp = 0;
	if (s->state == NT_SRC_UNREACH && e->rc_back[src] == 0) {
		e->rc_back[src] = nt_clock_now(e->clk);
		nt_log(NT_LOG_NOTICE, "refclock %s: samples again", s->name);
	}
	nt_source_sample(s, &smp);
	rc_reach_sample(e, s, nt_clock_now(e->clk));
	report_refclock(e, src, rs, &smp);
	update(e, nt_clock_now(e->clk), false);
}

bool
nt_engine_pulse_fallback(const struct nt_engine *e, nt_time now,
    struct nt_refclock_sample *out)
{
	double err = nt_engine_worst_error(e, now);

	if (!isfinite(err) || err >= NT_PPS_MAX_DISAGREE)
		return (false);
	memset(out, 0, sizeof *out);
	out->local = now;
	out->disp = err;
	out->leap = NTP_LEAP_NONE;
	return (true);
}

void
nt_engine_update_now(struct nt_engine *e)
{
	update(e, nt_clock_now(e->clk), true);
}

void
nt_engine_sysinfo(const struct nt_engine *e, nt_time now,
    struct nt_sysinfo *si)
{
	const struct nt_source *s;

	memset(si, 0, sizeof *si);
	si->synced = e->have_update && e->selected >= 0 &&
	    nt_diff(now, e->last.when) < e->p.holdover;
	if (!si->synced) {
		si->stratum = NTP_MAX_STRATUM;
		si->leap = NTP_LEAP_UNSYNC;
		si->refid = NTP_CODE("INIT");
		return;
	}
	s = &e->src[e->selected];
	si->stratum = s->last.stratum + 1 < NTP_MAX_STRATUM ?
	    s->last.stratum + 1 : NTP_MAX_STRATUM;
	si->refid = s->refid;
	si->leap = e->leap;
	si->root_delay = e->root_delay;
	si->root_disp = e->root_disp;
	si->ref_time = e->last.when;
	si->offset_sd = e->last.offset_sd;
}

void
nt_engine_set_limits(struct nt_engine *e, const struct nt_conf *c)
{
	struct nt_engine_params p;

	nt_engine_params_from_conf(&p, c, e->clk, false, 0, 0);
	e->p.max_distance = p.max_distance;
	e->p.min_sources = p.min_sources;
	e->p.holdover = p.holdover;
	e->p.max_change = p.max_change;
	e->disc.p.step_threshold = p.disc.step_threshold;
}

int
nt_engine_max_change_ignored(const struct nt_engine *e)
{
	return (e->n_ignored);
}

size_t
nt_engine_n_sources(const struct nt_engine *e)
{
	return (e->n);
}

const struct nt_source *
nt_engine_source(const struct nt_engine *e, size_t i)
{
	assert(i < e->n);
	return (&e->src[i]);
}

const struct nt_discipline *
nt_engine_disc(const struct nt_engine *e)
{
	return (&e->disc);
}

const struct nt_update *
nt_engine_last_update(const struct nt_engine *e)
{
	return (e->have_update ? &e->last : NULL);
}

bool
nt_engine_gave_up(const struct nt_engine *e)
{
	return (e->gave_up);
}

void
nt_engine_restart_sources(struct nt_engine *e)
{
	nt_time now = nt_clock_now(e->clk);

	for (size_t i = 0; i < e->n; i++) {
		struct nt_source *s = &e->src[i];
		struct nt_source old = *s;

		nt_source_init(s, &old.conf, old.name, old.index, now);
		s->refid = old.refid;
		s->refclock = old.refclock;
		s->noselect = old.noselect;
		s->last_resort = old.last_resort;
		s->minpoll = old.minpoll;
		if (s->poll < s->minpoll)	/* a KoD RATE still holds */
			s->poll = s->minpoll;
		s->denied = old.denied;
		s->state = old.denied ? old.state : NT_SRC_INIT;
		if (old.refclock) {		/* what the driver stands for */
			s->last = old.last;
			s->poll = old.poll;
		}
		s->n_tx = old.n_tx;
		s->n_tx_stamped = old.n_tx_stamped;
		s->n_rx = old.n_rx;
		s->n_bad = old.n_bad;
		s->n_kod = old.n_kod;
		s->n_xleave = old.n_xleave;
	}
	nt_disc_cancel_slew(&e->disc);
	e->start = now;
	e->selected = -1;
	e->have_update = false;
	e->no_majority = false;
}

/*
 * Ask an adopted source again soon: the new engine is unsynchronized
 * until its first update, which would otherwise wait up to a whole poll
 * interval.  Not within ADOPT_GAP of the last request (a server may
 * limit us; add-server in a loop restarts us each time), and not before
 * a KoD RATE said.
 */
static void
adopt_poll(struct nt_engine *e, struct nt_source *s)
{
	nt_time soon = nt_clock_now(e->clk);

	if (s->minpoll > s->conf.minpoll)	/* backing off (KoD RATE) */
		return;
	if (s->t1 != 0 && nt_add(s->t1, ADOPT_GAP) > soon)
		soon = nt_add(s->t1, ADOPT_GAP);
	if (soon < s->next_poll)
		s->next_poll = soon;
}

void
nt_engine_adopt_source(struct nt_engine *e, size_t i,
    const struct nt_source *from, double unslewed)
{
	struct nt_source *s;
	int index;

	assert(i < e->n && !from->refclock && !e->src[i].refclock);
	s = &e->src[i];
	index = s->index;
	*s = *from;
	s->index = index;
	s->pending = false;	/* its reply would reach the old socket */
	adopt_poll(e, s);
	/* Nothing is selected or combined here before our first update. */
	if (s->state == NT_SRC_SELECTED || s->state == NT_SRC_COMBINED)
		s->state = NT_SRC_CANDIDATE;
	/* Samples assumed the rest of the old slew would be done. */
	nt_source_adjust(s, nt_clock_now(e->clk), 0, -unslewed);
}
