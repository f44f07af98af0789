/*
 * The simulated clock backend.  Time advances only when the simulator
 * calls nt_simclock_advance(); in between, readings are exact functions
 * of true time, so a run is deterministic for a given seed.
 */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "clock_sim.h"

#define SIM_MAX_FREQ_PPM 100000.0

static struct nt_simclock *
sim(struct nt_clock *c)
{
	return (c->priv);
}

static nt_time
sim_now(struct nt_clock *c)
{
	struct nt_simclock *s = sim(c);

	return (s->true_now + nt_from_sec(s->offset));
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

static int
sim_set_status(struct nt_clock *c, const struct nt_clock_status *st)
{
	sim(c)->status = *st;
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
nt_simclock_init(struct nt_simclock *c, nt_time start, double offset,
    double freq_ppm, double wander, uint64_t seed)
{
	memset(c, 0, sizeof *c);
	c->base.ops = &sim_ops;
	c->base.name = "sim";
	c->base.max_freq_ppm = SIM_MAX_FREQ_PPM;
	c->base.priv = c;
	c->true_now = start;
	c->offset = offset;
	c->osc_freq = freq_ppm * 1e-6;
	c->wander = wander;
	nt_rng_seed(&c->rng, seed);
}

void
nt_simclock_advance(struct nt_simclock *c, nt_time t)
{
	double dt = nt_diff(t, c->true_now);

	assert(dt >= 0);
	if (dt == 0)
		return;
	c->offset += (c->osc_freq + c->applied) * dt;
	if (c->slew_left != 0) {
		double d = fmin(fabs(c->slew_left), NT_KERNEL_SLEW_RATE * dt);

		d = c->slew_left > 0 ? d : -d;
		c->offset += d;
		c->slew_left -= d;
	}
	if (c->wander > 0)
		c->osc_freq += c->wander * sqrt(dt) * nt_rng_normal(&c->rng);
	c->true_now = t;
}

double
nt_simclock_error(const struct nt_simclock *c)
{
	return (c->offset);
}

double
nt_simclock_freq_error(const struct nt_simclock *c)
{
	return (c->osc_freq + c->applied);
}

nt_time
nt_simclock_true_at(const struct nt_simclock *c, nt_time reading)
{
	double rate = 1.0 + c->osc_freq + c->applied;

	return (c->true_now + nt_from_sec(nt_diff(reading,
	    c->true_now + nt_from_sec(c->offset)) / rate));
}
