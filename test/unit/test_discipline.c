/*
 * The client engine on a simulated clock: from 0.5 s and 100 ppm off it
 * must step once, converge and hold; it must outvote two falsetickers of
 * five; and with no majority it must leave the clock alone.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "log.h"
#include "sim.h"

struct watch {
	double	from;		/* start checking at this time (s) */
	double	max_ferr;
};

static void
observe(void *ctx, const struct nt_sim_point *p, const struct nt_engine *e)
{
	struct watch *w = ctx;

	(void)e;
	if (p->t >= w->from)
		w->max_ferr = fmax(w->max_ferr, fabs(p->ferr));
}

/* n servers on a LAN (100 us each way, exponential jitter of 100 us). */
static void
lan(struct nt_sim_scenario *sc, size_t n, const double *offsets,
    double duration, double settle)
{
	char err[NT_CONF_ERRLEN];

	nt_sim_scenario_init(sc);
	sc->duration = duration;
	sc->settle = settle;
	for (size_t i = 0; i < n; i++) {
		struct nt_sim_server *s = nt_sim_scenario_add_server(sc);

		assert_non_null(s);
		s->offset = offsets != NULL ? offsets[i] : 0;
		s->proc = 10e-6;
		s->root_disp = 1e-5;
		s->net.out.delay = s->net.in.delay = 100e-6;
		s->net.out.jitter = s->net.in.jitter = 100e-6;
	}
	assert_int_equal(nt_sim_scenario_finish(sc, err, sizeof err), 0);
	for (size_t i = 0; i < n; i++)
		sc->client.servers[i].minpoll = sc->client.servers[i].maxpoll =
		    6;
}

static void
run(const struct nt_sim_scenario *sc, uint64_t seed, struct watch *w,
    struct nt_sim_result *r)
{
	struct nt_sim *s = nt_sim_new(sc, seed, 0);

	assert_non_null(s);
	nt_sim_run(s, w != NULL ? observe : NULL, w, r);
	nt_sim_free(s);
}

static void
converges_from_half_second_and_100ppm(void **state)
{
	struct nt_sim_scenario sc;
	struct watch w = { .from = 1800 };
	struct nt_sim_result r;

	(void)state;
	lan(&sc, 3, NULL, 4 * 3600, 1800);
	sc.clock.offset = 0.5;
	sc.clock.freq_ppm = 100;
	sc.clock.wander = 1e-9;
	run(&sc, 1, &w, &r);
	printf("# converge: steps %.0f updates %.0f max|err| %.1f us "
	    "rms %.1f us max|ferr| %.4f ppm\n", r.m[NT_SIM_STEPS],
	    r.m[NT_SIM_UPDATES], r.m[NT_SIM_MAX] * 1e6, r.m[NT_SIM_RMS] * 1e6,
	    w.max_ferr * 1e6);
	assert_true(r.m[NT_SIM_STEPS] == 1);
	assert_true(r.m[NT_SIM_MAX] < 200e-6);
	assert_true(r.m[NT_SIM_RMS] < 50e-6);
	assert_true(w.max_ferr < 5e-6);	/* base frequency plus slews */
	for (int i = 0; i < 3; i++)
		assert_true(r.srv[i].state == NT_SRC_SELECTED ||
		    r.srv[i].state == NT_SRC_COMBINED);
	nt_sim_scenario_free(&sc);
}

static void
outvotes_two_falsetickers(void **state)
{
	static const double off[5] = { 0, 0, 0, 0.050, 1.0 };
	struct nt_sim_scenario sc;
	struct nt_sim_result r;

	(void)state;
	lan(&sc, 5, off, 3 * 3600, 1800);
	sc.clock.offset = 0.05;
	sc.clock.freq_ppm = -30;
	sc.clock.wander = 1e-9;
	run(&sc, 2, NULL, &r);
	printf("# falsetickers: max|err| %.1f us rms %.1f us\n",
	    r.m[NT_SIM_MAX] * 1e6, r.m[NT_SIM_RMS] * 1e6);
	assert_true(r.m[NT_SIM_MAX] < 500e-6);
	assert_int_equal(r.srv[3].state, NT_SRC_FALSETICKER);
	assert_int_equal(r.srv[4].state, NT_SRC_FALSETICKER);
	assert_true(r.m[NT_SIM_FALSETICKERS] == 2);
	for (int i = 0; i < 3; i++)
		assert_true(r.srv[i].state == NT_SRC_SELECTED ||
		    r.srv[i].state == NT_SRC_COMBINED);
	nt_sim_scenario_free(&sc);
}

static void
no_majority_no_update(void **state)
{
	static const double off[5] = { 0, 0.001, 0.3, -0.7, 2.0 };
	struct nt_sim_scenario sc;
	struct nt_sim_result r;

	(void)state;
	lan(&sc, 5, off, 1800, 900);
	sc.clock.offset = 0.2;
	run(&sc, 3, NULL, &r);
	assert_true(r.m[NT_SIM_UPDATES] == 0);
	assert_true(r.m[NT_SIM_STEPS] == 0);
	assert_true(fabs(r.final_err - 0.2) < 1e-9);
	for (int i = 0; i < 5; i++)
		assert_true(r.srv[i].state == NT_SRC_NOMAJORITY ||
		    r.srv[i].state == NT_SRC_FALSETICKER);
	nt_sim_scenario_free(&sc);
}

static void
same_seed_same_run(void **state)
{
	struct nt_sim_scenario sc;
	struct nt_sim_result r1, r2;

	(void)state;
	lan(&sc, 1, NULL, 3600, 600);
	sc.clock.offset = 0.01;
	sc.clock.freq_ppm = 20;
	sc.clock.wander = 1e-9;
	sc.client.servers[0].minpoll = 4;
	sc.client.servers[0].maxpoll = 8;
	run(&sc, 7, NULL, &r1);
	run(&sc, 7, NULL, &r2);
	assert_true(r1.final_err == r2.final_err);
	assert_memory_equal(r1.m, r2.m, sizeof r1.m);
	run(&sc, 8, NULL, &r2);
	assert_true(r1.final_err != r2.final_err);
	nt_sim_scenario_free(&sc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(converges_from_half_second_and_100ppm),
		cmocka_unit_test(outvotes_two_falsetickers),
		cmocka_unit_test(no_majority_no_update),
		cmocka_unit_test(same_seed_same_run),
	};

	nt_log_setup(NT_LOG_NONE, NT_LOG_ERR, "test");
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
