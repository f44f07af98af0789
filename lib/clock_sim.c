/*
 * The simulated clock backend.  Time advances only when the simulator
 * calls nt_simclock_advance(); in between, readings are exact functions
 * of true time, so a run is deterministic for a given seed.
 *
 * The random walk steps on a fixed grid of physical time from its own
 * generator, so the oscillator does the same thing whatever the client
 * does: two disciplines can be compared on the very same crystal.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "clock_sim.h"
#include "ntp_pkt.h"

#define DAY INT64_C(86400)

static struct nt_simclock *
sim(struct nt_clock *c)
{
	return (c->priv);
}

static nt_time
reading(const struct nt_simclock *s)
{
	return (s->true_now + nt_from_sec(s->offset));
}

static nt_time
sim_now(struct nt_clock *c)
{
	return (reading(sim(c)));
}

static nt_time
sim_from_kernel(struct nt_clock *c, nt_time k)
{
	(void)c;
	return (k);
}

static int
sim_step(struct nt_clock *c, double delta)
{
	struct nt_simclock *s = sim(c);

	assert(isfinite(delta));
	if (!s->m.can_step)
		return (-EPERM);
	s->offset += delta;
	s->n_steps++;
	return (0);
}

static int
sim_slew(struct nt_clock *c, double delta)
{
	assert(isfinite(delta));
	sim(c)->slew_left = delta;
	return (0);
}

static int
sim_set_freq(struct nt_clock *c, double ppm)
{
	assert(isfinite(ppm));
	if (ppm > c->max_freq_ppm)
		ppm = c->max_freq_ppm;
	if (ppm < -c->max_freq_ppm)
		ppm = -c->max_freq_ppm;
	sim(c)->applied = ppm * 1e-6;
	return (0);
}

static double
sim_get_freq(struct nt_clock *c)
{
	return (sim(c)->applied * 1e6);
}

/* The next midnight UTC after the reading r (as the kernel counts it). */
static nt_time
next_midnight(nt_time r)
{
	int64_t sec = r / NT_SEC;

	if (r < 0 && sec * NT_SEC != r)
		sec--;
	return ((sec / DAY + 1) * DAY * NT_SEC);
}

static int
sim_set_status(struct nt_clock *c, const struct nt_clock_status *st)
{
	struct nt_simclock *s = sim(c);

	assert(!isnan(st->maxerror) && !isnan(st->esterror));
	s->status = *st;
	s->status_time = s->true_now;
	s->n_status++;
	if (st->leap != NTP_LEAP_INSERT && st->leap != NTP_LEAP_DELETE)
		s->leap_armed = NTP_LEAP_NONE;
	else if (s->leap_armed != st->leap) {
		s->leap_armed = st->leap;
		s->leap_midnight = next_midnight(reading(s));
	}
	return (0);
}

static const struct nt_clock_ops sim_ops = {
	.now = sim_now,
	.from_kernel = sim_from_kernel,
	.step = sim_step,
	.slew = sim_slew,
	.set_freq = sim_set_freq,
	.get_freq = sim_get_freq,
	.set_status = sim_set_status,
};

void
nt_simclock_init(struct nt_simclock *c, nt_time start,
    const struct nt_simclock_model *m, uint64_t seed)
{
	assert(m->max_freq_ppm > 0 && m->slew_ppm > 0 && m->wander >= 0);
	memset(c, 0, sizeof *c);
	c->base.ops = &sim_ops;
	c->base.name = "sim";
	c->base.max_freq_ppm = m->max_freq_ppm;
	c->base.priv = c;
	c->m = *m;
	c->start = start;
	c->true_now = start;
	c->offset = m->offset;
	c->walk_next = nt_add(start, NT_SIMCLOCK_WANDER_STEP);
	c->utc_leap_at = INT64_MAX;
	nt_rng_seed(&c->rng, seed);
}

void
nt_simclock_set_utc_leap(struct nt_simclock *c, nt_time at, int sign)
{
	assert(sign == 1 || sign == -1);
	c->utc_leap_at = at;
	c->utc_adj = -sign;
}

/* Integral of the sinusoidal frequency term from a to b (s of offset). */
static double
temp_integral(const struct nt_simclock *c, nt_time a, nt_time b)
{
	double w, ta, tb;

	if (c->m.temp_ppm == 0 || c->m.temp_period <= 0)
		return (0.0);
	w = 2 * M_PI / c->m.temp_period;
	ta = nt_diff(a, c->start);
	tb = nt_diff(b, c->start);
	return (c->m.temp_ppm * 1e-6 / w * (cos(w * ta) - cos(w * tb)));
}

/* Integrate the error from true_now to t with constant walk and rates. */
static void
integrate(struct nt_simclock *c, nt_time t)
{
	double dt = nt_diff(t, c->true_now);

	c->offset += (c->m.freq_ppm * 1e-6 + c->walk + c->applied) * dt +
	    temp_integral(c, c->true_now, t);
	if (c->slew_left != 0) {
		double d = fmin(fabs(c->slew_left),
		    c->m.slew_ppm * 1e-6 * dt);

		d = c->slew_left > 0 ? d : -d;
		c->offset += d;
		c->slew_left -= d;
	}
	c->true_now = t;
}

/* The kernel's leap second: 23:59:59 again, or 23:59:59 skipped. */
static void
kernel_leap(struct nt_simclock *c, nt_time before, nt_time after)
{
	nt_time at = c->leap_midnight;

	if (c->leap_armed == NTP_LEAP_DELETE)
		at -= NT_SEC;
	if (c->leap_armed == NTP_LEAP_NONE || before >= at || after < at)
		return;
	c->offset += c->leap_armed == NTP_LEAP_INSERT ? -1.0 : 1.0;
	c->leap_armed = NTP_LEAP_NONE;
	c->n_leaps++;
}

void
nt_simclock_advance(struct nt_simclock *c, nt_time t)
{
	nt_time before = reading(c);

	assert(t >= c->true_now);
	while (c->m.wander > 0 && c->walk_next <= t) {
		integrate(c, c->walk_next);
		c->walk += c->m.wander * sqrt(NT_SIMCLOCK_WANDER_STEP) *
		    nt_rng_normal(&c->rng);
		c->walk_next = nt_add(c->walk_next, NT_SIMCLOCK_WANDER_STEP);
	}
	integrate(c, t);
	kernel_leap(c, before, reading(c));
}

nt_time
nt_simclock_utc(const struct nt_simclock *c, nt_time t)
{
	return (t >= c->utc_leap_at ? nt_add(t, c->utc_adj) : t);
}

double
nt_simclock_error(const struct nt_simclock *c)
{
	return (c->true_now >= c->utc_leap_at ? c->offset - c->utc_adj :
	    c->offset);
}

double
nt_simclock_freq_error(const struct nt_simclock *c)
{
	double f = c->m.freq_ppm * 1e-6 + c->walk + c->applied;

	if (c->m.temp_ppm != 0 && c->m.temp_period > 0)
		f += c->m.temp_ppm * 1e-6 * sin(2 * M_PI *
		    nt_diff(c->true_now, c->start) / c->m.temp_period);
	return (f);
}

nt_time
nt_simclock_true_at(const struct nt_simclock *c, nt_time r)
{
	double rate = 1.0 + nt_simclock_freq_error(c);

	return (c->true_now + nt_from_sec(nt_diff(r, reading(c)) / rate));
}
