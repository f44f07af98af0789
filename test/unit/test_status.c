/*
 * The status views' refid: a reference clock's refid is a code and is
 * shown as text ("LOCL"), at stratum 1 and at the local driver's own
 * stratum alike, never as an address ("76.79.67.76"), also before the
 * engine has selected anything (a reload); an upstream server's refid at
 * stratum 2 and above is its address.  And the views the daemons register
 * are the words "ntimed query" takes for the local daemon.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine_io.h"

#include "clock_sim.h"
#include "engine.h"
#include "json.h"
#include "refclock.h"
#include "status.h"

struct world {
	struct nt_simclock clk;
	struct nt_engine *e;
	struct nt_refclock_conf rc;
	uint64_t rnd;
};

/* An engine with one refclock of driver drv, fed for secs s. */
static void
world_run_for(struct world *w, const char *drv, int secs)
{
	struct nt_simclock_model m = { .max_freq_ppm = 500, .slew_ppm = 500,
	    .can_step = true };
	struct nt_conf conf;
	int src;

	memset(w, 0, sizeof *w);
	nt_simclock_init(&w->clk, INT64_C(1790000000) * NT_SEC, &m, 3);
	nt_conf_init(&conf);
	w->e = tio_engine_new(&w->clk, &conf, &w->rnd);
	assert_non_null(w->e);
	nt_refclock_conf_init(&w->rc, nt_refclock_find_driver(drv));
	w->rc.poll = 0;
	src = nt_engine_add_refclock(w->e, &w->rc, drv,
	    nt_refclock_refid(&w->rc));
	assert_int_equal(src, 0);
	for (int t = 0; t < secs; t++) {
		struct nt_refclock_sample s = { .disp = 1e-6, .n = 1,
		    .leap = NTP_LEAP_NONE };

		nt_simclock_advance(&w->clk, w->clk.true_now + NT_SEC);
		(void)nt_engine_run(w->e);
		s.local = nt_clock_now(&w->clk.base);
		nt_engine_refclock_sample(w->e, src, &s);
	}
	nt_conf_free(&conf);
}

static void
world_run(struct world *w, const char *drv)
{
	world_run_for(w, drv, 30);
}

/* What the server held over from before a reload: LOCL at stratum 10. */
static void
held_locl(void *ctx, struct nt_server_state *st)
{
	(void)ctx;
	memset(st, 0, sizeof *st);
	st->stratum = 10;
	st->refid = NTP_CODE("LOCL");
	st->leap = NTP_LEAP_NONE;
}

/* The "tracking" view as JSON text (freed by the caller). */
static char *
tracking_served(struct world *w, nt_status_served_fn *served)
{
	struct nt_status_engine se = { .e = w->e, .clk = &w->clk.base,
	    .served = served };
	struct nt_status st;
	struct nt_json j;
	char *text;

	nt_status_init(&st, "master", &w->clk.base);
	nt_status_add_engine(&st, &se);
	nt_json_init_buf(&j, false);
	assert_int_equal(nt_status_json(&st, "tracking", &j), 0);
	assert_int_equal(nt_json_finish(&j), 0);
	text = strdup(nt_json_text(&j, NULL));
	nt_json_free(&j);
	return (text);
}

static char *
tracking(struct world *w)
{
	return (tracking_served(w, NULL));
}

static void
test_local_refclock_refid(void **state)
{
	struct world w;
	char want[64], *text;

	(void)state;
	world_run(&w, "local");
	assert_true(w.rc.stratum >= 2);
	text = tracking(&w);
	assert_non_null(strstr(text, "\"refid\":\"LOCL\","
	    "\"refid_hex\":\"4C4F434C\""));
	snprintf(want, sizeof want, "\"stratum\":%d,", w.rc.stratum);
	assert_non_null(strstr(text, want));
	free(text);
	nt_engine_free(w.e);
}

static void
test_gps_refid(void **state)
{
	struct world w;
	char *text;

	(void)state;
	world_run(&w, "nmea");
	text = tracking(&w);
	assert_non_null(strstr(text, "\"refid\":\"GPS\","));
	assert_non_null(strstr(text, "\"stratum\":1,"));
	free(text);
	nt_engine_free(w.e);
}

/* A source says it is a refclock, for 'query sources' to show '#'. */
static void
test_sources_refclock(void **state)
{
	struct world w;
	struct nt_status_engine se;
	struct nt_status st;
	struct nt_json j;

	(void)state;
	world_run(&w, "nmea");
	se = (struct nt_status_engine){ .e = w.e, .clk = &w.clk.base };
	nt_status_init(&st, "master", &w.clk.base);
	nt_status_add_engine(&st, &se);
	nt_json_init_buf(&j, false);
	assert_int_equal(nt_status_json(&st, "sources", &j), 0);
	assert_int_equal(nt_json_finish(&j), 0);
	assert_non_null(strstr(nt_json_text(&j, NULL), "\"refclock\":true"));
	nt_json_free(&j);
	nt_engine_free(w.e);
}

/*
 * Just after a reload the new engine has selected nothing, while the
 * server holds over LOCL at stratum 10: it was shown as 76.79.67.76.
 */
static void
test_held_over_local_refid(void **state)
{
	struct world w;
	char *text;

	(void)state;
	world_run_for(&w, "local", 0);
	text = tracking_served(&w, held_locl);
	assert_non_null(strstr(text, "\"refid\":\"LOCL\","));
	assert_non_null(strstr(text, "\"stratum\":10,"));
	free(text);
	nt_engine_free(w.e);
}

static void
no_counters(void *ctx, struct nt_server_counters *c)
{
	(void)ctx;
	memset(c, 0, sizeof *c);
}

/*
 * "ntimed query WORD" asks the local daemon when WORD is a view, which it
 * must know before it connects: every view the daemons register is one
 * nt_status_view_name() knows, and nothing else is.
 */
static void
test_view_names_agree(void **state)
{
	struct world w;
	struct nt_status_engine se;
	struct nt_status_server ss = { .counters = no_counters };
	struct nt_status st;

	(void)state;
	world_run_for(&w, "local", 0);
	se = (struct nt_status_engine){ .e = w.e, .clk = &w.clk.base };
	nt_status_init(&st, "slave", &w.clk.base);
	nt_status_add_engine(&st, &se);
	nt_status_add_server(&st, &ss);
	assert_int_equal(st.n_views, 4);
	for (size_t i = 0; i < st.n_views; i++)
		assert_true(nt_status_view_name(st.views[i].name));
	assert_true(nt_status_view_name("all"));
	assert_true(nt_status_view_name("views"));
	assert_false(nt_status_view_name("status"));
	assert_false(nt_status_view_name("trackingx"));
	assert_false(nt_status_view_name(""));
	nt_engine_free(w.e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_refclock_refid),
		cmocka_unit_test(test_sources_refclock),
		cmocka_unit_test(test_gps_refid),
		cmocka_unit_test(test_held_over_local_refid),
		cmocka_unit_test(test_view_names_agree),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
