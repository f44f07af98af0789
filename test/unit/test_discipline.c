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

#include "conf.h"
#include "log.h"
#include "sim.h"

struct watch {
	double	from;		/* start checking at this time (s) */
	double	max_err, max_ferr, sum2;
	long	n;
	int	states[NT_SIM_MAX_SERVERS];
};

static void
observe(void *ctx, const struct nt_sim_point *p, const struct nt_engine *e)
{
	struct watch *w = ctx;

	for (size_t i = 0; i < nt_engine_n_sources(e); i++)
		w->states[i] = nt_engine_source(e, i)->state;
	if (p->t < w->from)
		return;
	w->max_err = fmax(w->max_err, fabs(p->err));
	w->max_ferr = fmax(w->max_ferr, fabs(p->ferr));
	w->sum2 += p->err * p->err;
	w->n++;
}

static void
setup_conf(struct nt_conf *c, size_t n, int minpoll, int maxpoll)
{
	char err[NT_CONF_ERRLEN];

	nt_conf_init(c);
	for (size_t i = 0; i < n; i++) {
		char name[32];

		snprintf(name, sizeof name, "10.0.0.%zu", i + 1);
		assert_int_equal(nt_conf_add_server_arg(c, name, err,
		    sizeof err), 0);
		c->servers[i].minpoll = minpoll;
		c->servers[i].maxpoll = maxpoll;
		c->servers[i].iburst = true;
	}
}

static struct nt_sim_server
lan_server(double offset)
{
	return ((struct nt_sim_server){ .offset = offset, .delay_out = 100e-6,
	    .delay_in = 100e-6, .jitter_out = 100e-6, .jitter_in = 100e-6,
	    .proc = 10e-6, .stratum = 1, .root_disp = 1e-5 });
}

static void
converges_from_half_second_and_100ppm(void **state)
{
	struct nt_sim_params p = { .duration = 4 * 3600, .clock_offset = 0.5,
	    .clock_freq_ppm = 100, .clock_wander = 1e-9, .tick = 1, .seed = 1 };
	struct nt_sim_server srv[3] = { lan_server(0), lan_server(0),
	    lan_server(0) };
	struct watch w = { .from = 1800 };
	struct nt_sim_result r;
	struct nt_conf c;

	(void)state;
	setup_conf(&c, 3, 6, 6);
	assert_int_equal(nt_sim_run(&p, &c, srv, 3, observe, &w, &r), 0);
	printf("# converge: steps %d updates %zu max|err| %.1f us "
	    "rms %.1f us max|ferr| %.4f ppm\n", r.steps, r.updates,
	    w.max_err * 1e6, sqrt(w.sum2 / w.n) * 1e6, w.max_ferr * 1e6);
	assert_int_equal(r.steps, 1);
	assert_true(w.max_err < 200e-6);
	assert_true(sqrt(w.sum2 / w.n) < 50e-6);
	assert_true(w.max_ferr < 5e-6);	/* base frequency plus slews */
	for (int i = 0; i < 3; i++)
		assert_true(w.states[i] == NT_SRC_SELECTED ||
		    w.states[i] == NT_SRC_COMBINED);
	nt_conf_free(&c);
}

static void
outvotes_two_falsetickers(void **state)
{
	struct nt_sim_params p = { .duration = 3 * 3600, .clock_offset = 0.05,
	    .clock_freq_ppm = -30, .clock_wander = 1e-9, .tick = 1, .seed = 2 };
	struct nt_sim_server srv[5] = { lan_server(0), lan_server(0),
	    lan_server(0), lan_server(0.050), lan_server(1.0) };
	struct watch w = { .from = 1800 };
	struct nt_sim_result r;
	struct nt_conf c;

	(void)state;
	setup_conf(&c, 5, 6, 6);
	assert_int_equal(nt_sim_run(&p, &c, srv, 5, observe, &w, &r), 0);
	printf("# falsetickers: max|err| %.1f us rms %.1f us\n",
	    w.max_err * 1e6, sqrt(w.sum2 / w.n) * 1e6);
	assert_true(w.max_err < 500e-6);
	assert_int_equal(w.states[3], NT_SRC_FALSETICKER);
	assert_int_equal(w.states[4], NT_SRC_FALSETICKER);
	for (int i = 0; i < 3; i++)
		assert_true(w.states[i] == NT_SRC_SELECTED ||
		    w.states[i] == NT_SRC_COMBINED);
	nt_conf_free(&c);
}

static void
no_majority_no_update(void **state)
{
	struct nt_sim_params p = { .duration = 1800, .clock_offset = 0.2,
	    .clock_freq_ppm = 0, .tick = 1, .seed = 3 };
	struct nt_sim_server srv[5] = { lan_server(0), lan_server(0.001),
	    lan_server(0.3), lan_server(-0.7), lan_server(2.0) };
	struct watch w = { .from = 0 };
	struct nt_sim_result r;
	struct nt_conf c;

	(void)state;
	setup_conf(&c, 5, 6, 6);
	assert_int_equal(nt_sim_run(&p, &c, srv, 5, observe, &w, &r), 0);
	assert_int_equal(r.updates, 0);
	assert_int_equal(r.steps, 0);
	assert_true(fabs(r.final_err - 0.2) < 1e-9);
	for (int i = 0; i < 5; i++)
		assert_true(w.states[i] == NT_SRC_NOMAJORITY ||
		    w.states[i] == NT_SRC_FALSETICKER);
	nt_conf_free(&c);
}

static void
same_seed_same_run(void **state)
{
	struct nt_sim_params p = { .duration = 3600, .clock_offset = 0.01,
	    .clock_freq_ppm = 20, .clock_wander = 1e-9, .tick = 1, .seed = 7 };
	struct nt_sim_server srv[1] = { lan_server(0) };
	struct nt_sim_result r1, r2;
	struct nt_conf c;

	(void)state;
	setup_conf(&c, 1, 4, 8);
	assert_int_equal(nt_sim_run(&p, &c, srv, 1, NULL, NULL, &r1), 0);
	assert_int_equal(nt_sim_run(&p, &c, srv, 1, NULL, NULL, &r2), 0);
	assert_true(r1.final_err == r2.final_err);
	assert_true(r1.packets_sent == r2.packets_sent);
	p.seed = 8;
	assert_int_equal(nt_sim_run(&p, &c, srv, 1, NULL, NULL, &r2), 0);
	assert_true(r1.final_err != r2.final_err);
	nt_conf_free(&c);
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
