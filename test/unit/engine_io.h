/*
 * An engine I/O for the unit tests whose engines poll no server (their
 * sources are reference clocks): requests go nowhere, and the "random"
 * numbers are a fixed sequence (ctx points to its state), so that every
 * run is the same.
 */
#ifndef NTIMED_TEST_ENGINE_IO_H
#define NTIMED_TEST_ENGINE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "clock_sim.h"
#include "conf.h"
#include "engine.h"

static inline int
tio_send_nowhere(void *ctx, int src, const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)src;
	(void)buf;
	(void)len;
	return (0);
}

static inline uint64_t
tio_random(void *ctx)
{
	uint64_t *state = ctx;

	return (*state += 0x9E3779B97F4A7C15ull);
}

/* An engine on clk with conf's settings, using the I/O above (rnd: state). */
static inline struct nt_engine *
tio_engine_new(struct nt_simclock *clk, const struct nt_conf *conf,
    uint64_t *rnd)
{
	struct nt_engine_io io = { rnd, tio_send_nowhere, tio_random, NULL,
	    NULL, NULL };
	struct nt_engine_params p;

	nt_engine_params_from_conf(&p, conf, &clk->base, false, 0, 0);
	return (nt_engine_new(&p, &clk->base, &io));
}

#endif
