/*
 * The engine with chrony's per-source options, in virtual time (the
 * simulator runs the engine itself): a trusted server outvoted by two
 * agreeing liars still steers the clock; while the one required server
 * is unusable the clock is not updated; a noselect server is measured
 * but neither selected nor counted, so the two left may have no
 * majority; and with maxdelay no sample with a longer round trip reaches
 * the history; with max_change (chrony's maxchange) the servers' step
 * is not followed, and the engine gives up; a trusted server alone says
 * whether a leap second comes, and a noselect one has no say.  Each case
 * also runs without the option, to show it is the option that makes the
 * difference.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "engine.h"
#include "log.h"
#include "sim.h"
#include "simscen.h"
#include "sim_text.h"
#include "source.h"

#define NET "    network: { out: { delay: 100us, jitter: 100us }, " \
	"in: { delay: 100us, jitter: 100us } }\n"

/*
 * Three servers a, b, c (offsets oa, ob, oc; a silent in silent_a, a
 * YAML flow sequence) and the client's entries for them (ca, cb, cc);
 * client_extra and server_extra are more keys for the client and for
 * every server, each a line of its own.
 */
static void
load_ext(struct nt_sim_scenario *sc, const char *client_extra,
    const char *server_extra, const char *ca, const char *cb,
    const char *cc, const char *oa, const char *ob, const char *oc,
    const char *silent_a)
{
	char text[2048];
	int n;

	n = snprintf(text, sizeof text,
	    "name: t\nduration: 10000\nsettle: 600\n"
	    "clock: { offset: 0.1, freq_ppm: 100, wander: 1e-9 }\n"
	    "client:\n  step_threshold: 0.01\n%s"
	    "  servers: [ %s, %s, %s ]\n"
	    "servers:\n"
	    "  - name: a\n    offset: %s\n    silent: %s\n%s" NET
	    "  - name: b\n    offset: %s\n%s" NET
	    "  - name: c\n    offset: %s\n%s" NET,
	    client_extra, ca, cb, cc, oa, silent_a, server_extra, ob,
	    server_extra, oc, server_extra);
	assert_true(n > 0 && (size_t)n < sizeof text);
	sim_load_text(sc, text);
}

static void
load(struct nt_sim_scenario *sc, const char *ca, const char *cb,
    const char *cc, const char *oa, const char *ob, const char *oc,
    const char *silent_a)
{
	load_ext(sc, "", "", ca, cb, cc, oa, ob, oc, silent_a);
}

static void
run(const struct nt_sim_scenario *sc, nt_sim_observer *obs, void *ctx,
    struct nt_sim_result *r)
{
	struct nt_sim *s = nt_sim_new(sc, 1, 0);

	assert_non_null(s);
	nt_sim_run(s, obs, ctx, r);
	nt_sim_free(s);
}

static void
trusted_server_wins(void **state)
{
	struct nt_sim_scenario sc;
	struct nt_sim_result r;

	(void)state;
	load(&sc, "{ address: a, trust: true }", "b", "c", "0", "50ms",
	    "50.2ms", "[]");
	run(&sc, NULL, NULL, &r);
	assert_true(r.m[NT_SIM_MAX] < 100e-6);
	assert_int_equal(r.srv[0].state, NT_SRC_SELECTED);
	assert_int_equal(r.srv[1].state, NT_SRC_FALSETICKER);
	assert_int_equal(r.srv[2].state, NT_SRC_FALSETICKER);
	assert_true(r.m[NT_SIM_FALSETICKERS] == 2);
	nt_sim_scenario_free(&sc);
	/* The same without trust: the two liars win. */
	load(&sc, "a", "b", "c", "0", "50ms", "50.2ms", "[]");
	run(&sc, NULL, NULL, &r);
	assert_true(r.m[NT_SIM_MAX] > 0.049);
	assert_int_equal(r.srv[0].state, NT_SRC_FALSETICKER);
	nt_sim_scenario_free(&sc);
}

/* Updates made while source 0 could not be selected. */
struct hold {
	int	unusable;	/* ticks it had no reach */
	int	updated;	/* of those, ticks after an update */
	nt_time	last;
};

static void
watch_hold(void *ctx, const struct nt_sim_point *p, const struct nt_engine *e)
{
	struct hold *h = ctx;
	const struct nt_update *u = nt_engine_last_update(e);
	nt_time when = u != NULL ? u->when : 0;

	(void)p;
	if (nt_engine_source(e, 0)->reach == 0 && p->t > 600) {
		h->unusable++;
		h->updated += when != h->last;
	}
	h->last = when;
}

static void
required_server_holds_updates(void **state)
{
	struct nt_sim_scenario sc;
	struct nt_sim_result r;
	struct hold h = { 0, 0, 0 };
	double with;

	(void)state;
	load(&sc, "{ address: a, require: true }", "b", "c", "0", "0", "0",
	    "[ { from: 1h, to: 2h } ]");
	run(&sc, watch_hold, &h, &r);
	printf("# require: %d ticks without the required server, %d of them "
	    "after an update; %.0f updates\n", h.unusable, h.updated,
	    r.m[NT_SIM_UPDATES]);
	assert_true(h.unusable > 2000);
	assert_int_equal(h.updated, 0);
	with = r.m[NT_SIM_UPDATES];
	nt_sim_scenario_free(&sc);
	/* Without require, b and c carry on. */
	memset(&h, 0, sizeof h);
	load(&sc, "a", "b", "c", "0", "0", "0", "[ { from: 1h, to: 2h } ]");
	run(&sc, watch_hold, &h, &r);
	assert_true(h.unusable > 2000);
	assert_true(h.updated > 10);
	assert_true(r.m[NT_SIM_UPDATES] > with + 50);
	nt_sim_scenario_free(&sc);
	/* Never there: never an update. */
	load(&sc, "{ address: a, require: true }", "b", "c", "0", "0", "0",
	    "[ { from: 0s, to: 3h } ]");
	run(&sc, NULL, NULL, &r);
	assert_true(r.m[NT_SIM_UPDATES] == 0 && r.m[NT_SIM_STEPS] == 0);
	nt_sim_scenario_free(&sc);
}

/* Source 0 was ever a candidate, and how many samples it has. */
struct noselect {
	bool	used;
	int	samples;
};

static void
watch_noselect(void *ctx, const struct nt_sim_point *p,
    const struct nt_engine *e)
{
	struct noselect *w = ctx;
	const struct nt_source *s = nt_engine_source(e, 0);

	(void)p;
	w->used |= s->state == NT_SRC_SELECTED || s->state ==
	    NT_SRC_COMBINED || s->state == NT_SRC_CANDIDATE;
	w->samples = s->n_hist;
}

static void
noselect_measured_never_counted(void **state)
{
	struct nt_sim_scenario sc;
	struct nt_sim_result r;
	struct noselect w = { false, 0 };

	(void)state;
	/* a agrees with b: without noselect they outvote the liar c. */
	load(&sc, "a", "b", "c", "0", "0", "50ms", "[]");
	run(&sc, watch_noselect, &w, &r);
	assert_true(w.used);
	assert_int_equal(r.srv[2].state, NT_SRC_FALSETICKER);
	assert_true(r.m[NT_SIM_MAX] < 100e-6);
	nt_sim_scenario_free(&sc);
	/* With it, b and c are left, disagree, and nothing is updated. */
	memset(&w, 0, sizeof w);
	load(&sc, "{ address: a, noselect: true }", "b", "c", "0", "0",
	    "50ms", "[]");
	run(&sc, watch_noselect, &w, &r);
	assert_false(w.used);
	assert_true(w.samples == NT_HIST_MAX);
	assert_int_equal(r.srv[0].state, NT_SRC_NOSELECT);
	assert_true(r.m[NT_SIM_UPDATES] == 0);
	nt_sim_scenario_free(&sc);
}

/* The longest round trip among the samples source 0 keeps. */
static void
watch_delay(void *ctx, const struct nt_sim_point *p, const struct nt_engine *e)
{
	double *longest = ctx;
	const struct nt_source *s = nt_engine_source(e, 0);

	(void)p;
	for (int i = 0; i < s->n_hist; i++)
		*longest = fmax(*longest, s->hist[i].delay);
}

static void
maxdelay_keeps_short_round_trips(void **state)
{
	struct nt_sim_scenario sc;
	struct nt_sim_result r;
	double longest = 0;

	(void)state;
	load(&sc, "a", "b", "c", "0", "0", "0", "[]");
	run(&sc, watch_delay, &longest, &r);
	assert_true(longest > 400e-6);	/* the jitter gives some */
	nt_sim_scenario_free(&sc);
	longest = 0;
	load(&sc, "{ address: a, maxdelay: 400e-6 }", "b", "c", "0", "0", "0",
	    "[]");
	run(&sc, watch_delay, &longest, &r);
	assert_true(longest > 0 && longest <= 400e-6);
	assert_true(r.m[NT_SIM_MAX] < 100e-6);
	nt_sim_scenario_free(&sc);
}

/* When the engine gave up, and updates after that. */
struct give_up {
	double	at;		/* s; 0: never */
	int	after;		/* ticks after it with a new update */
	nt_time	last;
};

static void
watch_give_up(void *ctx, const struct nt_sim_point *p,
    const struct nt_engine *e)
{
	struct give_up *g = ctx;
	const struct nt_update *u = nt_engine_last_update(e);
	nt_time when = u != NULL ? u->when : 0;

	if (g->at > 0 && when != g->last)
		g->after++;
	if (g->at == 0 && nt_engine_gave_up(e))
		g->at = p->t;
	g->last = when;
}

#define MC_STEP "    step: { at: 1h, size: 1s }\n"

/*
 * chrony's maxchange: all three servers step by 1 s at 1 h.  Without it
 * the clock follows them; with it the offset is ignored twice, then the
 * engine gives up (the daemon would exit) and makes no update after;
 * with ignore -1 it ignores them for ever.
 */
static void
max_change_gives_up(void **state)
{
	struct nt_sim_scenario sc;
	struct nt_sim_result r;
	struct give_up g = { 0, 0, 0 };

	(void)state;
	load_ext(&sc, "", MC_STEP, "a", "b", "c", "0", "0", "0", "[]");
	run(&sc, watch_give_up, &g, &r);
	assert_true(g.at == 0);
	assert_true(r.m[NT_SIM_MAX] > 0.9);	/* it followed the step */
	nt_sim_scenario_free(&sc);
	memset(&g, 0, sizeof g);
	load_ext(&sc, "  max_change: { offset: 0.5, start: 1, ignore: 2 }\n",
	    MC_STEP, "a", "b", "c", "0", "0", "0", "[]");
	run(&sc, watch_give_up, &g, &r);
	printf("# max_change: gave up at %.0f s\n", g.at);
	assert_true(g.at > 3600 && g.at < 3600 + 3 * 64 + 10);
	assert_int_equal(g.after, 0);
	assert_true(r.m[NT_SIM_MAX] < 0.01);	/* it never followed */
	nt_sim_scenario_free(&sc);
	memset(&g, 0, sizeof g);
	load_ext(&sc, "  max_change: { offset: 0.5, start: 1, ignore: -1 }\n",
	    MC_STEP, "a", "b", "c", "0", "0", "0", "[]");
	run(&sc, watch_give_up, &g, &r);
	assert_true(g.at == 0);
	assert_true(r.m[NT_SIM_MAX] < 0.01);
	nt_sim_scenario_free(&sc);
}

/*
 * The leap second of 2016-12-31, which servers announce when leap_x is
 * true; ca is the client's entry for a, and a's path is delay_a each
 * way (b's and c's 100 us).  Returns the leap seconds the kernel made.
 */
static double
leap_run(const char *ca, const char *delay_a, const char *leap_a,
    const char *leap_b, const char *leap_c)
{
	struct nt_sim_scenario sc;
	struct nt_sim_result r;
	char text[2048];
	int n;

	n = snprintf(text, sizeof text,
	    "name: t\nstart: 2016-12-31T22:00:00Z\nleap: insert\n"
	    "duration: 4h\nsettle: 1000\n"
	    "clock: { offset: 0.1, freq_ppm: 100, wander: 1e-9 }\n"
	    "client:\n  step_threshold: 0.01\n  servers: [ %s, b, c ]\n"
	    "servers:\n"
	    "  - name: a\n    leap: %s\n    network: { out: { delay: %s, "
	    "jitter: 100us }, in: { delay: %s, jitter: 100us } }\n"
	    "  - name: b\n    leap: %s\n" NET
	    "  - name: c\n    leap: %s\n" NET,
	    ca, leap_a, delay_a, delay_a, leap_b, leap_c);
	assert_true(n > 0 && (size_t)n < sizeof text);
	sim_load_text(&sc, text);
	run(&sc, NULL, NULL, &r);
	nt_sim_scenario_free(&sc);
	return (r.m[NT_SIM_LEAPS]);
}

/*
 * The leap vote follows selection.  Trusted a, on a longer path (so
 * that b and c, whose intervals lie within its own, are the ones
 * combined), alone decides the leap whether b and c announce it or not;
 * untrusted, b and c outvote it.  A noselect server never votes: with b
 * announcing and c not, its announcement would make a majority.
 */
static void
leap_vote_follows_trust(void **state)
{
	(void)state;
	assert_true(leap_run("{ address: a, trust: true }", "1ms", "false",
	    "true", "true") == 0);
	assert_true(leap_run("{ address: a, trust: true }", "1ms", "true",
	    "false", "false") == 1);
	assert_true(leap_run("a", "1ms", "false", "true", "true") == 1);
	assert_true(leap_run("a", "1ms", "true", "false", "false") == 0);
	assert_true(leap_run("{ address: a, noselect: true }", "100us",
	    "true", "true", "false") == 0);
	assert_true(leap_run("a", "100us", "true", "true", "false") == 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(trusted_server_wins),
		cmocka_unit_test(required_server_holds_updates),
		cmocka_unit_test(noselect_measured_never_counted),
		cmocka_unit_test(maxdelay_keeps_short_round_trips),
		cmocka_unit_test(max_change_gives_up),
		cmocka_unit_test(leap_vote_follows_trust),
	};

	nt_log_setup(NT_LOG_NONE, NT_LOG_ERR, "test");
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
