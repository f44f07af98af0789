/*
 * The simulator core: the real client engine against a simulated clock
 * and simulated servers and network, in virtual time.
 *
 * True time advances from event to event (a request leaving, a reply
 * arriving, the engine's own timer, a statistics tick), so an hour of
 * simulated time costs a few thousand events.  Everything random comes
 * from one seeded generator: the same inputs give the same run.
 */
#ifndef NTIMED_SIM_H
#define NTIMED_SIM_H

#include <stdbool.h>
#include <stddef.h>

#include "clock_sim.h"
#include "conf.h"
#include "engine.h"

#define NT_SIM_MAX_SERVERS 16

struct nt_sim_server {
	double	offset;		/* server clock - true time, s */
	double	delay_out;	/* base one-way delays, s */
	double	delay_in;
	double	jitter_out;	/* mean of exponential extra delay, s */
	double	jitter_in;
	double	loss;		/* probability a packet is lost, each way */
	double	proc;		/* server processing time, s */
	int	stratum;
	double	root_delay;
	double	root_disp;
};

struct nt_sim_params {
	double	duration;	/* s of true time */
	double	clock_offset;	/* initial client error, s */
	double	clock_freq_ppm;	/* initial oscillator error */
	double	clock_wander;	/* (s/s)/sqrt(s) */
	double	tick;		/* s between statistics samples */
	uint64_t seed;
};

/* One statistics sample, every tick of true time. */
struct nt_sim_point {
	double	t;		/* s since the start */
	double	err;		/* client clock - true time, s */
	double	ferr;		/* client frequency error, s/s */
};

typedef void nt_sim_observer(void *ctx, const struct nt_sim_point *p,
    const struct nt_engine *e);

struct nt_sim_result {
	size_t	packets_sent;
	size_t	updates;
	int	steps;
	double	final_err;
	double	final_ferr;
};

/*
 * Run conf's servers (conf->servers[i] is simulated by srv[i]) for
 * p->duration.  obs (may be NULL) sees every statistics sample.
 * Returns 0, or -1 if the setup is invalid.
 */
int nt_sim_run(const struct nt_sim_params *p, const struct nt_conf *conf,
    const struct nt_sim_server *srv, size_t n_srv, nt_sim_observer *obs,
    void *ctx, struct nt_sim_result *res);

#endif
