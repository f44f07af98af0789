/*
 * The status views' refid: a reference clock's refid is a code and is
 * shown as text ("LOCL"), at stratum 1 and at the local driver's own
 * stratum alike, never as an address ("76.79.67.76"), also before the
 * engine has selected anything (a reload); an upstream server's refid at
 * stratum 2 and above is its address.  The views the daemons register
 * are the words "ntimed query" takes for the local daemon.  And a
 * configured server that has no source (its name did not resolve) is
 * listed in "sources" and the scrape, and a refclock whose device cannot
 * be opened says so there.  The server summary counts NTS NAKs apart.
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

/* An engine with a refclock of driver drv (NULL: none), fed for secs s. */
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
	nt_conf_free(&conf);
	if (drv == NULL)
		return;
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

/* A view as JSON text (freed by the caller). */
static char *
view_text(struct nt_status *st, const char *view)
{
	struct nt_json j;
	char *text;

	nt_json_init_buf(&j, false);
	assert_int_equal(nt_status_json(st, view, &j), 0);
	assert_int_equal(nt_json_finish(&j), 0);
	text = strdup(nt_json_text(&j, NULL));
	nt_json_free(&j);
	return (text);
}

/* The "tracking" view as JSON text (freed by the caller). */
static char *
tracking_served(struct world *w, nt_status_served_fn *served)
{
	struct nt_status_engine se = { .e = w->e, .clk = &w->clk.base,
	    .served = served };
	struct nt_status st;

	nt_status_init(&st, "master", &w->clk.base);
	nt_status_add_engine(&st, &se);
	return (view_text(&st, "tracking"));
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

/* Two configured servers without a source, as cmd/daemon.c gives them. */
static bool
two_unresolved(void *ctx, size_t i, struct nt_status_unresolved *u)
{
	static const char *const names[] = { "nosuch.invalid", "[::1]:1234" };

	(void)ctx;
	if (i >= 2)
		return (false);
	u->host = names[i];
	strlcpy(u->name, names[i], sizeof u->name);
	u->state = i == 0 ? "cannot resolve" : "not used";
	u->why = i == 0 ? "Name or service not known" : "IPv6, but -4";
	return (true);
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return (n);
}

/* The whole scrape (freed by the caller). */
static char *
scrape(struct nt_status *st)
{
	struct nt_prom p;
	char *text;

	nt_prom_init(&p);
	nt_status_prom(st, &p);
	text = strdup(nt_prom_text(&p, NULL));
	nt_prom_free(&p);
	return (text);
}

/* The scrape of a client whose engine is e, with two unresolved. */
static char *
scrape_unresolved(struct world *w)
{
	struct nt_status_engine se = { .e = w->e, .clk = &w->clk.base,
	    .unresolved = two_unresolved };
	struct nt_status st;

	nt_status_init(&st, "client", &w->clk.base);
	nt_status_add_engine(&st, &se);
	return (scrape(&st));
}

/*
 * A server without a source is a "sources" row after the real ones: no
 * address, chronyc's '?', nothing measured (null), and why; never in
 * sourcestats.
 */
static void
test_unresolved_listed(void **state)
{
	struct world w;
	struct nt_status_engine se;
	struct nt_status st;
	char *text;

	(void)state;
	world_run(&w, "nmea");
	se = (struct nt_status_engine){ .e = w.e, .clk = &w.clk.base,
	    .unresolved = two_unresolved };
	nt_status_init(&st, "client", &w.clk.base);
	nt_status_add_engine(&st, &se);
	text = view_text(&st, "sources");
	assert_non_null(strstr(text, "\"refclock\":true"));
	assert_non_null(strstr(text, "\"error\":null},{\"name\":"
	    "\"nosuch.invalid\",\"address\":null,\"state\":"
	    "\"cannot resolve\",\"symbol\":\"?\",\"stratum\":null,"
	    "\"selected\":false,\"reach\":null,"));
	assert_non_null(strstr(text, "\"span\":null,"
	    "\"error\":\"Name or service not known\"},{\"name\":"
	    "\"[::1]:1234\",\"address\":null,\"state\":\"not used\""));
	assert_int_equal(count(text, "\"address\":null,"), 2);
	free(text);
	text = view_text(&st, "sourcestats");
	assert_null(strstr(text, "nosuch"));
	free(text);
	nt_engine_free(w.e);
}

/*
 * In the scrape a server without a source is only in ntimed_source_info
 * (it has no numbers), also when no source has an address yet.
 */
static void
test_unresolved_scraped(void **state)
{
	static const char *const info[] = {
		"ntimed_source_info{source=\"nosuch.invalid\",address=\"\","
		    "state=\"cannot resolve\"} 1\n",
		"ntimed_source_info{source=\"[::1]:1234\",address=\"\","
		    "state=\"not used\"} 1\n",
	};
	struct world w;
	char *text;

	(void)state;
	for (int sources = 1; sources >= 0; sources--) {
		world_run(&w, sources > 0 ? "nmea" : NULL);
		assert_int_equal(nt_engine_n_sources(w.e), sources);
		text = scrape_unresolved(&w);
		for (size_t i = 0; i < 2; i++)
			assert_non_null(strstr(text, info[i]));
		assert_int_equal(count(text, "nosuch"), 1);
		assert_int_equal(count(text, "[::1]:1234"), 1);
		assert_int_equal(count(text, "# TYPE ntimed_source_info "), 1);
		free(text);
		nt_engine_free(w.e);
	}
}

/* The master's word on its refclock (source 0): its device is missing. */
static const char *
device_missing(void *ctx, size_t i, const char **state)
{
	(void)ctx;
	if (i != 0)
		return (NULL);
	*state = "cannot open";
	return ("/dev/ttyX: no such device");
}

/*
 * A refclock whose device cannot be opened says so in "sources" and the
 * scrape, with the driver's words as its error, not "no sample yet"; it
 * stays a refclock with its address and reach 0.  Once it has samples,
 * they speak for it.
 */
static void
test_refclock_open_error(void **state)
{
	struct world w;
	struct nt_status_engine se;
	struct nt_status st;
	char *text;

	(void)state;
	for (int secs = 0; secs <= 30; secs += 30) {
		world_run_for(&w, "nmea", secs);
		se = (struct nt_status_engine){ .e = w.e, .clk = &w.clk.base,
		    .source_error = device_missing };
		nt_status_init(&st, "master", &w.clk.base);
		nt_status_add_engine(&st, &se);
		text = view_text(&st, "sources");
		if (secs == 0) {
			assert_non_null(strstr(text, "{\"name\":\"nmea\","
			    "\"address\":\"nmea\",\"state\":\"cannot open\","
			    "\"symbol\":\"?\",\"stratum\":null,"
			    "\"selected\":false,\"reach\":0,"));
			assert_non_null(strstr(text, "\"refclock\":true,"));
			assert_non_null(strstr(text, "\"error\":"
			    "\"/dev/ttyX: no such device\"}"));
		} else {
			assert_null(strstr(text, "cannot open"));
			assert_non_null(strstr(text, "\"error\":null}"));
		}
		free(text);
		text = scrape(&st);
		assert_true((strstr(text, "ntimed_source_info{source=\"nmea\","
		    "address=\"nmea\",state=\"cannot open\"} 1\n") != NULL) ==
		    (secs == 0));
		free(text);
		nt_engine_free(w.e);
	}
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

/* A server that sent 3 NTS NAKs, 1 KoD DENY and dropped 1 denied. */
static void
naks(void *ctx, struct nt_server_counters *c)
{
	(void)ctx;
	memset(c, 0, sizeof *c);
	c->received = 9;
	c->n[NT_SRV_NTS_REPLY] = 4;
	c->n[NT_SRV_NTS_NAK] = 3;
	c->n[NT_SRV_KOD_DENY] = 1;
	c->n[NT_SRV_DROP_DENIED] = 1;
}

/*
 * The "server" summary counts NTS NAKs apart (nts_nak), not as denied:
 * a NAK tells a client with an unknown cookie to run a new key exchange.
 */
static void
test_server_nts_nak(void **state)
{
	struct nt_status_server ss = { .counters = naks };
	struct nt_status st;
	struct world w;
	char *text;

	(void)state;
	world_run_for(&w, NULL, 0);
	nt_status_init(&st, "slave", &w.clk.base);
	nt_status_add_server(&st, &ss);
	text = view_text(&st, "server");
	assert_non_null(strstr(text, "{\"received\":9,\"replied\":4,"
	    "\"ratelimited\":0,\"denied\":2,\"nts_nak\":3,\"malformed\":0,"));
	assert_non_null(strstr(text, "\"verdict_nts_nak\":3,"));
	free(text);
	text = scrape(&st);
	assert_non_null(strstr(text,
	    "ntimed_server_requests_total{result=\"denied\"} 2\n"));
	assert_non_null(strstr(text,
	    "ntimed_server_requests_total{result=\"nts_nak\"} 3\n"));
	free(text);
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
		cmocka_unit_test(test_unresolved_listed),
		cmocka_unit_test(test_unresolved_scraped),
		cmocka_unit_test(test_refclock_open_error),
		cmocka_unit_test(test_server_nts_nak),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
