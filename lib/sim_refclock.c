/*
 * Simulated reference clocks: what a GPS receiver's pulse and sentences
 * look like to their drivers, in virtual time.  Only the device is
 * simulated.  Each event becomes the raw sample the real driver's read()
 * would return (a pulse: our clock's reading at the edge, its offset
 * known modulo 1 s; a sentence or gpsd's time datagram: the reading when
 * it came, and the second it names), and the simulator hands it to the real
 * refclock layer (nt_refclock_set_raw(): pairing, combining) and from
 * there to the real engine, as the libuv adapter does.
 *
 * Every model has its own seeded generator, so adding a refclock to a
 * scenario does not change what the servers' networks draw.
 */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "ntp_pkt.h"
#include "sim.h"

/*
 * The next event: when it happens, and whether it is lost.  A sock
 * receiver sends each second's pulse, then that second's time (never
 * before the pulse: its latency is at least its jitter, checked).
 */
static void
schedule(struct nt_sim_rc *r)
{
	const struct nt_sim_refclock *m = r->m;
	bool sock = m->kind == NT_SIM_RC_SOCK;
	nt_time prev = r->at;
	double lag;

	r->pulse = m->kind == NT_SIM_RC_PPS || (sock && !r->pulse);
	if (!sock || r->pulse)
		r->sec++;
	if (r->pulse)
		lag = nt_rng_normal(&r->rng) * m->jitter;
	else
		lag = m->latency + (2 * nt_rng_uniform(&r->rng) - 1) *
		    (sock ? m->time_jitter : m->jitter);
	r->skip = m->missing > 0 && nt_rng_uniform(&r->rng) < m->missing;
	r->at = nt_add(nt_add(r->start, (double)r->sec), lag);
	/* Its pulse came late by more than its time's latency: right after. */
	if (sock && !r->pulse && r->at < prev)
		r->at = prev;
}

void
nt_sim_rc_init(struct nt_sim_rc *r, const struct nt_sim_refclock *m,
    int index, nt_time start, uint64_t seed)
{
	memset(r, 0, sizeof *r);
	r->m = m;
	r->index = index;
	/* The receiver's seconds: true UTC's, from the first after start. */
	r->start = start - start % NT_SEC;
	r->sec = 0;
	nt_rng_seed(&r->rng, seed);
	schedule(r);
}

static bool
silent(const struct nt_sim_refclock *m, double t)
{
	for (size_t i = 0; i < m->n_silent; i++)
		if (t >= m->silent[i].from && t < m->silent[i].to)
			return (true);
	return (false);
}

bool
nt_sim_rc_fire(struct nt_sim_rc *r, const struct nt_simclock *clk,
    nt_time local, struct nt_refclock_sample *out)
{
	const struct nt_sim_refclock *m = r->m;
	nt_time second = nt_add(r->start, (double)r->sec);
	/* The second the receiver names, as true UTC (leaps included). */
	nt_time ref = nt_simclock_utc(clk, second);
	bool skip = r->skip || silent(m, nt_diff(r->at, clk->start));
	bool pulse = r->pulse;
	double off;

	assert(clk->true_now == r->at);
	ref = nt_add(ref - ref % NT_SEC, m->offset);
	schedule(r);
	if (skip)
		return (false);
	r->n++;
	memset(out, 0, sizeof *out);
	out->local = local;
	off = nt_diff(ref, local);
	out->leap = NTP_LEAP_NONE;
	out->n = 1;
	if (pulse) {
		/* The driver knows the phase only: offset modulo 1 s. */
		out->offset = off - round(off);
		out->pulse = true;
	} else
		out->offset = off;
	return (true);
}
