/*
 * The only code that steers the clock.  A correction is either a step
 * (only while starting up, and only beyond the step threshold) or a slew:
 * the frequency is raised or lowered by a rate chosen so that the offset
 * is gone after a known time, then put back to the base frequency.
 * Because the plan is exact, the engine can express every sample as if
 * the correction were already done (see nt_disc_remaining()).
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>

#include "discipline.h"
#include "log.h"

#define FREQ_WANDER 1e-18	/* (s/s)^2 per s: frequency random walk */
#define MIN_ROOM 1e-9		/* s/s: slowest slew we plan */

static void
set_freq(struct nt_discipline *d, double total, struct nt_disc_action *act)
{
	int err = d->clk->ops->set_freq(d->clk, total * 1e6);

	if (err != 0 && act != NULL)
		act->err = err;
}

void
nt_disc_init(struct nt_discipline *d, struct nt_clock *clk,
    const struct nt_disc_params *p)
{
	assert(p->max_slew > 0 && p->min_slew_time >= 0);
	d->clk = clk;
	d->p = *p;
	d->freq = p->init_freq;
	d->freq_var = p->init_freq_sd * p->init_freq_sd;
	d->prior_var = d->freq_var;
	d->slew_rate = 0;
	d->slew_end = INT64_MAX;
	d->last_update = 0;
	d->n_updates = 0;
	d->n_steps = 0;
	d->synced = false;
}

void
nt_disc_start(struct nt_discipline *d)
{
	set_freq(d, d->freq, NULL);
}

double
nt_disc_remaining(const struct nt_discipline *d, nt_time now)
{
	if (d->slew_end == INT64_MAX)
		return (0.0);
	return (d->slew_rate * nt_diff(d->slew_end, now));
}

nt_time
nt_disc_deadline(const struct nt_discipline *d)
{
	return (d->slew_end);
}

double
nt_disc_tick(struct nt_discipline *d, nt_time now)
{
	double over;

	if (d->slew_end == INT64_MAX || now < d->slew_end)
		return (0.0);
	over = -nt_disc_remaining(d, now);
	d->slew_rate = 0;
	d->slew_end = INT64_MAX;
	set_freq(d, d->freq, NULL);
	return (over);
}

void
nt_disc_cancel_slew(struct nt_discipline *d)
{
	d->slew_rate = 0;
	d->slew_end = INT64_MAX;
	set_freq(d, d->freq, NULL);
}

/*
 * The sources' estimates are fits over their whole sample windows, which
 * already hold everything the earlier updates knew: blending them with
 * the previous base frequency would count the same samples again.  The
 * only knowledge outside the windows is the initial frequency (a drift
 * file), whose uncertainty grows as the oscillator wanders; the estimate
 * is blended with that alone, and soon wins.
 */
static double
update_freq(struct nt_discipline *d, nt_time now, double freq, double var)
{
	double gain, dfreq, max = d->clk->max_freq_ppm * 1e-6;

	if (d->last_update != 0)
		d->prior_var += FREQ_WANDER * fabs(nt_diff(now,
		    d->last_update));
	if (!isfinite(var) || !isfinite(freq))
		return (0.0);
	gain = d->prior_var / (d->prior_var + var);
	dfreq = gain * freq;
	if (d->freq + dfreq > max)
		dfreq = max - d->freq;
	if (d->freq + dfreq < -max)
		dfreq = -max - d->freq;
	d->freq += dfreq;
	d->freq_var = d->prior_var * var / (d->prior_var + var);
	return (dfreq);
}

static bool
may_step(const struct nt_discipline *d, double offset)
{
	if (d->p.step_threshold <= 0 || fabs(offset) <= d->p.step_threshold)
		return (false);
	return (d->p.step_limit < 0 || d->n_updates < d->p.step_limit);
}

static void
plan_slew(struct nt_discipline *d, nt_time now, double total,
    struct nt_disc_action *act)
{
	double max = d->clk->max_freq_ppm * 1e-6, room, t;

	/* Pinned at the frequency limit, a correction just takes long. */
	room = fmin(d->p.max_slew, total > 0 ? max - d->freq : max + d->freq);
	room = fmax(room, MIN_ROOM);
	t = fmax(fabs(total) / room, d->p.min_slew_time);
	if (total == 0 || t == 0) {
		d->slew_rate = 0;
		d->slew_end = INT64_MAX;
	} else {
		d->slew_rate = total / t;
		d->slew_end = nt_add(now, t);
	}
	act->slew = total;
	act->slew_time = t;
	set_freq(d, d->freq + d->slew_rate, act);
}

void
nt_disc_update(struct nt_discipline *d, nt_time now, double offset,
    double freq, double freq_var, struct nt_disc_action *act)
{
	double total = offset + nt_disc_remaining(d, now);
	int err;

	assert(isfinite(offset));
	act->jump = offset;
	act->dfreq = update_freq(d, now, freq, freq_var);
	act->stepped = false;
	act->step = 0;
	act->slew = 0;
	act->slew_time = 0;
	act->err = 0;
	if (may_step(d, offset)) {
		d->slew_rate = 0;
		d->slew_end = INT64_MAX;
		set_freq(d, d->freq, act);
		err = d->clk->ops->step(d->clk, total);
		act->stepped = err == 0;
		act->step = err == 0 ? total : 0;
		if (err == 0)
			d->n_steps++;
		else	/* the kernel refused: slew it, however long */
			act->err = err;
	}
	if (!act->stepped)
		plan_slew(d, now, total, act);
	d->n_updates++;
	d->last_update = act->stepped ? nt_add(now, total) : now;
	d->synced = true;
}

double
nt_disc_freq_ppm(const struct nt_discipline *d)
{
	return (d->freq * 1e6);
}

double
nt_disc_skew_ppm(const struct nt_discipline *d)
{
	return (sqrt(d->freq_var) * 1e6);
}
