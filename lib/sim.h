/*
 * The simulator core: the real client engine against a simulated clock
 * and simulated servers and network, in virtual time.
 *
 * True time advances from event to event (a request leaving, a reply
 * arriving, the engine's own timer, a statistics tick), so an hour of
 * simulated time costs a few thousand events.  Everything random comes
 * from seeded generators: the same scenario and seed give the same run.
 *
 *   s = nt_sim_new(scenario, seed, duration);
 *   nt_sim_run(s, observer, ctx, &result);   observer sees every tick
 *   nt_sim_check(scenario, &result, ok);     the expect: limits
 */
#ifndef NTIMED_SIM_H
#define NTIMED_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock_sim.h"
#include "engine.h"
#include "simscen.h"

/* One statistics sample, every tick of true time (mid-tick). */
struct nt_sim_point {
	double	t;		/* s since the start */
	nt_time	now;		/* what the client's clock reads */
	double	err;		/* client clock - true UTC, s */
	double	ferr;		/* client frequency error, s/s */
	double	bound;		/* the client's likely error bound, s */
	double	worst;		/* its worst-case bound (maxerror), s */
	double	offset;		/* last measured offset, s (NaN before) */
	double	poll;		/* s: the system peer's poll interval */
	uint32_t selected;	/* bit i: client.servers[i] selected/combined */
	uint32_t falsetickers;	/* bit i: flagged as a falseticker */
};

typedef void nt_sim_observer(void *ctx, const struct nt_sim_point *p,
    const struct nt_engine *e);

struct nt_sim_server_result {
	const char	*name;
	/*
	 * Requests sent to it (they add up to the "packets" figure), and
	 * those that reached it while it was answering: the rest were lost
	 * on the way out or met a silent spell.  Its replies may still be
	 * lost on the way back.
	 */
	uint64_t	requests;
	uint64_t	answered;
	uint64_t	kods;		/* KoD RATE, of those answered */
	int		state;		/* enum nt_src_state at the end */
	int		poll;		/* log2 s at the end */
	bool		flagged;	/* falseticker after settling */
};

struct nt_sim_result {
	double	m[NT_SIM_N_METRICS];	/* see NT_SIM_METRICS */
	uint64_t seed;
	double	duration, settle;
	double	final_err, final_ferr;
	size_t	n_servers;		/* in client.servers order */
	/* Then the refclocks, in client.refclocks order; their "requests"
	   are the raw samples the device gave. */
	size_t	n_refclocks;
	struct nt_sim_server_result srv[NT_SIM_MAX_SERVERS +
	    NT_SIM_MAX_REFCLOCKS];
};

struct nt_sim;

/* duration <= 0: the scenario's.  NULL when out of memory. */
struct nt_sim *nt_sim_new(const struct nt_sim_scenario *sc, uint64_t seed,
    double duration);
void nt_sim_free(struct nt_sim *s);
/*
 * Run to the end; obs (may be NULL) sees every statistics tick.  Returns
 * 0, or -1 if memory ran out: res's statistics are then not to be shown.
 */
int nt_sim_run(struct nt_sim *s, nt_sim_observer *obs, void *ctx,
    struct nt_sim_result *res);
/* Virtual seconds since the start (for log stamps). */
double nt_sim_elapsed(const struct nt_sim *s);

/* Check res against sc's expect: limits; ok[i] per metric.  True if all. */
bool nt_sim_check(const struct nt_sim_scenario *sc,
    const struct nt_sim_result *res, bool ok[NT_SIM_N_METRICS]);

/* ---- Parts, in their own files ---- */

/* sim_world.c: what the servers and the network do. */
double nt_sim_server_error(const struct nt_sim_server *s, double t);
bool nt_sim_server_silent(const struct nt_sim_server *s, double t);
/* One-way delay for a packet leaving at t (s), or -1 if it is lost. */
double nt_sim_net_delay(const struct nt_sim_net *n, bool out, double t,
    struct nt_rng *r);

/* sim_refclock.c: what a receiver's pulses and sentences do. */
struct nt_sim_rc {
	const struct nt_sim_refclock *m;
	int		index;		/* in client.refclocks */
	struct nt_rng	rng;
	nt_time		start;		/* physical time of second 0 */
	int64_t		sec;		/* the second of the next event */
	nt_time		at;		/* physical time of that event */
	bool		pulse;		/* that event is a pulse */
	bool		skip;		/* it is a missing one */
	uint64_t	n;		/* raw samples given */
};
void nt_sim_rc_init(struct nt_sim_rc *r, const struct nt_sim_refclock *m,
    int index, nt_time start, uint64_t seed);
/*
 * The event due now (clk->true_now == r->at), with our clock reading
 * local: true and the raw sample its driver would read, or false (a
 * missing second).  Schedules the next event.
 */
bool nt_sim_rc_fire(struct nt_sim_rc *r, const struct nt_simclock *clk,
    nt_time local, struct nt_refclock_sample *out);

/*
 * sim_stats.c: the summary figures from the ticks.  RMS, mean, maximum,
 * coverage and the rest are running sums, exact for any duration.  The
 * p99 needs the samples: they are kept up to NT_SIM_STATS_CAP; at the
 * cap every other one is dropped and from then on only every 2nd (4th,
 * ...) tick is kept, so memory stays bounded and the p99 of a long run
 * is that of an evenly spaced, deterministic subset of its ticks.
 */
#define NT_SIM_STATS_CAP ((size_t)1 << 20)	/* 8 MB: 12 days of 1 s */

struct nt_sim_stats {
	double	settle;
	double	*abs;		/* |err| of every stride-th tick, settled */
	size_t	n, cap;		/* samples kept, allocated */
	uint64_t stride;	/* keep one tick in stride: 1, 2, 4, ... */
	uint64_t ticks;		/* ticks after settling */
	double	sum, sum2, fsum2, max;
	double	bsum;		/* sum of bounds */
	uint64_t inside;	/* ticks with |err| <= bound */
	uint64_t bounded;	/* ticks with a (finite) bound */
	double	wsum;		/* the same for the worst-case bound */
	uint64_t winside, wbounded;
	double	in_1ms;		/* since when within 1 ms (NaN: not now) */
	double	in_100us;
	bool	oom;		/* a sample could not be stored */
};
/* err0: the clock's error at t = 0, before any tick. */
void nt_sim_stats_init(struct nt_sim_stats *st, double settle, double err0);
void nt_sim_stats_add(struct nt_sim_stats *st, const struct nt_sim_point *p);
/*
 * Fill the time-error metrics of m and free the samples.  Returns 0, or
 * -1 if memory ran out (the figures are then NaN, never wrong ones).
 */
int nt_sim_stats_finish(struct nt_sim_stats *st, double *m);

#endif
