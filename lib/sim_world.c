/*
 * The world outside the simulated client: the servers' clocks and the
 * network between us and them.  Pure functions of time and a seeded
 * generator, so the same seed always builds the same world.
 *
 * Every jitter distribution has the scenario's jitter as its mean, so
 * "exponential", "normal" (half-normal: delays are never negative) and
 * "uniform" compare like for like; only their tails differ.
 */
#include <assert.h>
#include <math.h>

#include "sim.h"

double
nt_sim_server_error(const struct nt_sim_server *s, double t)
{
	double e = s->offset + s->freq_ppm * 1e-6 * t;

	if (s->step.size != 0 && t >= s->step.at)
		e += s->step.size;
	return (e);
}

bool
nt_sim_server_silent(const struct nt_sim_server *s, double t)
{
	for (size_t i = 0; i < s->n_silent; i++)
		if (t >= s->silent[i].from && t < s->silent[i].to)
			return (true);
	return (false);
}

static double
extra_delay(const struct nt_sim_path *p, struct nt_rng *r)
{
	double x = 0;

	switch (p->dist) {
	case NT_SIM_EXPONENTIAL:
		x = nt_rng_exp(r, p->jitter);
		break;
	case NT_SIM_NORMAL:
		x = fabs(nt_rng_normal(r)) * p->jitter * sqrt(M_PI / 2);
		break;
	case NT_SIM_UNIFORM:
		x = nt_rng_uniform(r) * 2 * p->jitter;
		break;
	default:
		assert(!"unknown distribution");
	}
	if (p->spike_prob > 0 && nt_rng_uniform(r) < p->spike_prob)
		x += nt_rng_exp(r, p->spike);
	return (x);
}

double
nt_sim_net_delay(const struct nt_sim_net *n, bool out, double t,
    struct nt_rng *r)
{
	const struct nt_sim_path *p = out ? &n->out : &n->in;
	double base = p->delay;

	/* Draw the loss first so the delays do not depend on it. */
	if (n->loss > 0 && nt_rng_uniform(r) < n->loss)
		return (-1.0);
	for (size_t i = 0; i < n->n_routes; i++)
		if (t >= n->routes[i].at)
			base += out ? n->routes[i].out : n->routes[i].in;
	return (fmax(base, 0.0) + (p->jitter > 0 || p->spike_prob > 0 ?
	    extra_delay(p, r) : 0.0));
}
