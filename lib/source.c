/*
 * Per-source logic: polling schedule, reply handling, the sample history
 * and a weighted linear regression over it.
 *
 * The regression is where accuracy comes from.  A sample's offset error
 * is at most half its delay in excess of the path's minimum delay, and
 * when both directions jitter alike it is spread evenly over that range,
 * so we weight each sample by 1 / (floor^2 + excess^2 / 12).  Low-delay
 * samples dominate; queued ones barely count.  The fit gives the offset
 * now, our frequency error against this source, and their variances.
 */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "source.h"

#define SAMPLE_FLOOR 1e-6	/* s: smallest per-sample error we assume */
#define WANDER_Q 1e-18		/* s^2/s^3: frequency wander, ages samples */
#define UNREACH_POLLS 8
#define MIN_FREQ_SAMPLES 4	/* before this the slope is not trusted */

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
	s->minpoll = conf->minpoll;
	s->poll = conf->minpoll;
	s->next_poll = now;
	s->burst_left = conf->iburst ? NT_BURST_LEN : 0;
	s->est_var = INFINITY;
	s->est_freq_var = INFINITY;
	s->min_delay = INFINITY;
	s->state = NT_SRC_INIT;
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

static void
schedule_next(struct nt_source *s, nt_time now)
{
	if (s->burst_left > 0)
		s->burst_left--;
	if (s->burst_left > 0)
		s->next_poll = nt_add(now, NT_BURST_GAP);
	else
		s->next_poll = nt_add(now, nt_source_interval(s));
}

size_t
nt_source_request(struct nt_source *s, nt_time now, uint64_t rnd,
    uint8_t *buf, size_t cap)
{
	struct ntp_pkt req;

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
	if (ntp_encode(&req, buf, cap) != NTP_HDR_LEN)
		return (0);
	s->pending = true;
	s->xmt = rnd;
	s->t1 = now;
	s->n_tx++;
	schedule_next(s, now);
	return (NTP_HDR_LEN);
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
	s->next_poll = nt_add(s->t1, nt_source_interval(s));
}

static void
fit(struct nt_source *s)
{
	const struct nt_sample *h = s->hist, *last = &s->hist[s->n_hist - 1];
	double w[NT_HIST_MAX], x[NT_HIST_MAX];
	double W = 0, mx = 0, my = 0, sxx = 0, sxy = 0, chi = 0, scale, b;
	int n = s->n_hist;

	assert(n > 0);
	for (int i = 0; i < n; i++) {
		double ex = h[i].delay - s->min_delay, age;
		double v = SAMPLE_FLOOR * SAMPLE_FLOOR + h[i].disp * h[i].disp +
		    ex * ex / 12.0;

		x[i] = nt_diff(h[i].t, last->t);
		age = -x[i];
		v += WANDER_Q * age * age * age;
		w[i] = 1.0 / v;
		W += w[i];
		mx += w[i] * x[i];
		my += w[i] * h[i].offset;
	}
	mx /= W;
	my /= W;
	for (int i = 0; i < n; i++) {
		sxx += w[i] * (x[i] - mx) * (x[i] - mx);
		sxy += w[i] * (x[i] - mx) * (h[i].offset - my);
	}
	b = (n >= 2 && sxx > 0) ? sxy / sxx : 0.0;
	for (int i = 0; i < n; i++) {
		double r = h[i].offset - my - b * (x[i] - mx);
		chi += w[i] * r * r;
	}
	scale = n > 2 ? fmax(1.0, chi / (n - 2)) : 1.0;
	s->est_t = last->t;
	s->est_offset = my + b * (0 - mx);
	s->est_freq = b;
	/* Too few samples to judge the noise: report the slope, trust none. */
	s->est_freq_var = (n >= MIN_FREQ_SAMPLES && sxx > 0) ? scale / sxx :
	    INFINITY;
	s->est_var = scale * (1.0 / W + (n >= 2 && sxx > 0 ?
	    mx * mx / sxx : 0.0));
	s->jitter = sqrt(chi / W);
}

static void
add_sample(struct nt_source *s, const struct nt_sample *smp)
{
	if (s->n_hist == NT_HIST_MAX) {
		memmove(&s->hist[0], &s->hist[1],
		    (NT_HIST_MAX - 1) * sizeof s->hist[0]);
		s->n_hist--;
	}
	s->hist[s->n_hist++] = *smp;
	s->min_delay = INFINITY;
	for (int i = 0; i < s->n_hist; i++)
		s->min_delay = fmin(s->min_delay, s->hist[i].delay);
	fit(s);
}

/* Turn a validated reply into a sample (RFC 5905 on-wire equations). */
static void
make_sample(const struct nt_source *s, const struct ntp_pkt *p, nt_time t4,
    double correction, struct nt_sample *out)
{
	nt_time t2 = nt_from_ntp64(p->rec, s->t1);
	nt_time t3 = nt_from_ntp64(p->xmt, s->t1);
	double rtt = nt_diff(t4, s->t1);

	out->offset = (nt_diff(t2, s->t1) + nt_diff(t3, t4)) / 2.0 - correction;
	out->delay = fmax(rtt - nt_diff(t3, t2), 0.0);
	out->t = s->t1 + (t4 - s->t1) / 2;
	out->disp = ldexp(1.0, p->precision) + NT_PHI * fmax(rtt, 0.0);
}

enum ntp_verdict
nt_source_reply(struct nt_source *s, const uint8_t *buf, size_t len,
    nt_time t4, double max_distance, double correction, struct nt_sample *out,
    bool *malformed)
{
	struct ntp_pkt p;
	enum ntp_verdict v;

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
	v = ntp_check_reply(&p, s->xmt, max_distance);
	if (v == NTP_REPLY_BAD_MODE || v == NTP_REPLY_BAD_VERSION ||
	    v == NTP_REPLY_BOGUS_ORIGIN || v == NTP_REPLY_ZERO_XMT) {
		s->n_bad++;
		return (v);	/* keep waiting for the genuine reply */
	}
	s->pending = false;
	s->n_rx++;
	if (ntp_verdict_is_kod(v)) {
		s->n_kod++;
		if (v == NTP_REPLY_KOD_RATE)
			kod_rate(s, &p);
		else if (v != NTP_REPLY_KOD_OTHER) {
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
	if (v == NTP_REPLY_UNSYNC || v == NTP_REPLY_DISTANCE) {
		s->state = v == NTP_REPLY_UNSYNC ? NT_SRC_UNSYNC :
		    NT_SRC_DISTANCE;
		return (v);
	}
	make_sample(s, &p, t4, correction, out);
	add_sample(s, out);
	return (NTP_REPLY_OK);
}

void
nt_source_adjust(struct nt_source *s, nt_time t_u, double dfreq, double jump)
{
	for (int i = 0; i < s->n_hist; i++) {
		s->hist[i].offset += nt_diff(t_u, s->hist[i].t) * dfreq - jump;
	}
	if (s->n_hist > 0) {
		s->est_offset += nt_diff(t_u, s->est_t) * dfreq - jump;
		s->est_freq -= dfreq;
	}
}

void
nt_source_shift(struct nt_source *s, double delta)
{
	nt_time d = nt_from_sec(delta);

	for (int i = 0; i < s->n_hist; i++)
		s->hist[i].t += d;
	s->est_t += d;
	s->t1 += d;
	s->next_poll += d;
}

double
nt_source_offset_at(const struct nt_source *s, nt_time now)
{
	assert(s->n_hist > 0);
	return (s->est_offset + s->est_freq * nt_diff(now, s->est_t));
}

double
nt_source_distance(const struct nt_source *s, nt_time now)
{
	double age = fmax(nt_diff(now, s->est_t), 0.0);

	assert(s->n_hist > 0 && s->have_last);
	return (nt_from_ntp32(s->last.root_delay) / 2.0 +
	    nt_from_ntp32(s->last.root_disp) + s->min_delay / 2.0 +
	    sqrt(s->est_var) + s->jitter + NT_PHI * age);
}

void
nt_source_adapt_poll(struct nt_source *s, double residual)
{
	double noise = fmax(s->jitter, SAMPLE_FLOOR);

	if (s->n_hist < 4)
		return;
	if (fabs(residual) < 3.0 * noise)
		s->poll_score++;
	else if (fabs(residual) > 6.0 * noise)
		s->poll_score -= 2;
	if (s->poll_score >= 4 && s->poll < s->conf.maxpoll) {
		s->poll++;
		s->poll_score = 0;
	} else if (s->poll_score <= -4 && s->poll > s->minpoll) {
		s->poll--;
		s->poll_score = 0;
	}
}
