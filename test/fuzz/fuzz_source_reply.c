/*
 * Fuzz target: the engine's reply path (nt_source_reply), where a
 * datagram from a server becomes a sample and then the regression that
 * steers the clock.  One input is a script of up to NT_HIST_MAX * 2
 * exchanges: each sends a request at a fuzzed time, then hands the source
 * a fuzzed datagram received a fuzzed round trip later.  Whatever the
 * bytes, nothing may crash, and an accepted reply must give a finite
 * sample and a finite estimate: a NaN or an infinity there would reach
 * the discipline and the kernel clock.
 *
 * Layout, big-endian, zeros past the end of the input:
 *   minpoll:1 maxpoll:1 start_s:4, then per exchange
 *   gap_ms:2 xmt:8 flags:1 rtt_us:3 correction_us:2 len:2 packet:len
 * flags bit 0 copies our transmit timestamp into the origin, so that the
 * fuzzer reaches the checks behind it; bit 1 puts the server's receive
 * and transmit timestamps near our clock, for realistic samples; bit 2
 * makes the round trip negative (a clock step between send and receive);
 * bit 3 lets the discipline adjust the history afterwards.
 */
#include <math.h>
#include <string.h>

#include "conf.h"
#include "fuzz.h"
#include "source.h"

#define MAX_EXCHANGES (2 * NT_HIST_MAX)
#define MAX_DISTANCE 3.0	/* the config's default limit */

struct exchange {
	unsigned	flags;
	nt_time		t4;
	double		correction;
	uint8_t		pkt[NTP_MAX_PKT + 64];
	size_t		len;
};

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Read one record; the request it answers was sent at t1 with xmt. */
static void
read_exchange(struct fz_in *in, nt_time t1, uint64_t xmt, struct exchange *x)
{
	const uint8_t *bytes;
	double rtt;
	int64_t skew;

	x->flags = (unsigned)fz_take(in, 1);
	rtt = (double)fz_take(in, 3) * 1e-6;		/* up to 16.7 s */
	if (x->flags & 4)
		rtt = -rtt / 16;
	x->t4 = nt_add(t1, rtt);
	x->correction = (double)(int16_t)fz_take(in, 2) * 1e-6;
	x->len = fz_bytes(in, (size_t)fz_take(in, 2) % sizeof x->pkt, &bytes);
	memcpy(x->pkt, bytes, x->len);
	if (x->len >= NTP_HDR_LEN && (x->flags & 1))
		put64(x->pkt + 24, xmt);
	if (x->len >= NTP_HDR_LEN && (x->flags & 2)) {
		/* Server clock within +-32 ms of ours, 0-65 ms processing. */
		skew = (int64_t)(int16_t)(x->pkt[16] << 8 | x->pkt[17]) *
		    NT_USEC;
		put64(x->pkt + 32, nt_to_ntp64(t1 + skew));
		put64(x->pkt + 40, nt_to_ntp64(t1 + skew +
		    (int64_t)(x->pkt[18] << 8 | x->pkt[19]) * NT_USEC));
	}
}

static void
check_estimate(const struct nt_source *s, const struct nt_sample *smp,
    nt_time t4)
{
	FZ_CHECK(isfinite(smp->offset) && isfinite(smp->delay));
	FZ_CHECK(smp->delay >= 0 && isfinite(smp->disp) && smp->disp > 0);
	FZ_CHECK(s->n_hist >= 1 && s->n_hist <= NT_HIST_MAX);
	FZ_CHECK(isfinite(s->est_offset) && isfinite(s->est_freq));
	FZ_CHECK(isfinite(s->est_var) && s->est_var >= 0);
	FZ_CHECK(!isnan(s->est_freq_var) && s->est_freq_var >= 0);
	FZ_CHECK(isfinite(s->jitter) && s->jitter >= 0);
	FZ_CHECK(isfinite(nt_source_offset_at(s, t4)));
	FZ_CHECK(!isnan(nt_source_distance(s, t4)));
	FZ_CHECK(s->last.mode == NTP_MODE_SERVER && s->last.stratum > 0);
}

static void
check_state(const struct nt_source *s)
{
	FZ_CHECK(s->minpoll <= s->poll && s->poll <= s->conf.maxpoll);
	FZ_CHECK(s->conf.maxpoll <= NTP_MAXPOLL);
	/* Every request got exactly one datagram, counted once. */
	FZ_CHECK(s->n_rx + s->n_bad == s->n_tx && s->n_kod <= s->n_rx);
}

/* One request and its (fuzzed) answer; false when the source stopped. */
static bool
exchange(struct nt_source *s, struct fz_in *in, nt_time *now)
{
	uint8_t req[NTP_HDR_LEN];
	struct nt_sample smp;
	struct exchange x;
	enum ntp_verdict v;
	uint64_t xmt;
	double pred;
	bool malformed, have_pred;

	*now += (nt_time)fz_take(in, 2) * NT_MSEC;
	if (*now < s->next_poll)
		*now = s->next_poll;
	xmt = (uint64_t)fz_take(in, 8) | 1;
	if (nt_source_request(s, *now, xmt, req, sizeof req) != NTP_HDR_LEN)
		return (false);		/* denied: never polls again */
	FZ_CHECK(s->pending && s->xmt == xmt && s->t1 == *now);
	read_exchange(in, *now, xmt, &x);
	/* The engine's prediction, for poll adaptation. */
	have_pred = s->n_hist > 0;
	pred = have_pred ? nt_source_offset_at(s, x.t4) : 0;
	v = nt_source_reply(s, x.pkt, x.len, x.t4, MAX_DISTANCE,
	    x.correction, &smp, &malformed);
	FZ_CHECK(v >= NTP_REPLY_OK && v <= NTP_REPLY_DISTANCE);
	FZ_CHECK(!malformed || v == NTP_REPLY_BAD_MODE);
	if (v == NTP_REPLY_OK) {
		check_estimate(s, &smp, x.t4);
		if (have_pred)
			nt_source_adapt_poll(s, smp.offset - pred);
		/* As the discipline does: a small frequency change, a slew. */
		if (x.flags & 8)
			nt_source_adjust(s, x.t4, (double)(x.flags >> 4) *
			    1e-6 - 8e-6, s->est_offset);
		FZ_CHECK(isfinite(s->est_offset) && isfinite(s->est_freq));
	}
	check_state(s);
	return (true);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct nt_server_conf sc;
	struct nt_source s;
	nt_time now;

	nt_server_conf_init(&sc);
	strlcpy(sc.address, "192.0.2.1", sizeof sc.address);
	sc.minpoll = (int)fz_take(&in, 1) % (NTP_MAXPOLL + 1);
	sc.maxpoll = sc.minpoll + (int)fz_take(&in, 1) % (NTP_MAXPOLL + 1 -
	    sc.minpoll);
	/* Any second from 1970 to 2106: the 2036 era change included. */
	now = (nt_time)fz_take(&in, 4) * NT_SEC;
	nt_source_init(&s, &sc, "192.0.2.1", 0, now);
	for (int i = 0; i < MAX_EXCHANGES && in.n > 0; i++)
		if (!exchange(&s, &in, &now))
			break;
	return (0);
}
