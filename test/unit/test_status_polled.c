/*
 * The sources view of a polled server, in simulated time: its poll is
 * the wait the schedule really set after the last request (the burst's
 * 2 s, the ramp after it, the back-off of an unreachable server), not
 * the interval it heads for, which read 1024 s for a server asked every
 * 16 s.  And its state says what the server did: a KoD RATE or only
 * replies that had to be dropped are not "no reply".
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clock_sim.h"
#include "engine.h"
#include "json.h"
#include "ntp_pkt.h"
#include "status.h"

#define MAX_SENT 64

/* An engine with one server that hears every request and answers none. */
struct world {
	struct nt_simclock clk;
	struct nt_engine *e;
	uint64_t rnd;
	nt_time sent[MAX_SENT];		/* when each request went out */
	int n_sent;
	uint8_t last_req[NTP_HDR_LEN];
};

static int
record_send(void *ctx, int src, const uint8_t *buf, size_t len)
{
	struct world *w = ctx;

	assert_int_equal(src, 0);
	assert_int_equal(len, NTP_HDR_LEN);
	if (w->n_sent < MAX_SENT)
		w->sent[w->n_sent++] = nt_clock_now(&w->clk.base);
	memcpy(w->last_req, buf, NTP_HDR_LEN);
	return (0);
}

static uint64_t
next_random(void *ctx)
{
	struct world *w = ctx;

	return (w->rnd += 0x9E3779B97F4A7C15ull);
}

static void
world_init(struct world *w)
{
	struct nt_simclock_model m = { .max_freq_ppm = 500, .slew_ppm = 500,
	    .can_step = true };
	struct nt_engine_io io = { w, record_send, next_random, NULL, NULL,
	    NULL };
	struct nt_engine_params p;
	struct nt_server_conf sc;
	struct nt_conf conf;

	memset(w, 0, sizeof *w);
	nt_simclock_init(&w->clk, INT64_C(1790000000) * NT_SEC, &m, 3);
	nt_conf_init(&conf);
	nt_engine_params_from_conf(&p, &conf, &w->clk.base, false, 0, 0);
	w->e = nt_engine_new(&p, &w->clk.base, &io);
	assert_non_null(w->e);
	nt_conf_free(&conf);
	nt_server_conf_init(&sc);	/* iburst, minpoll 6, maxpoll 10 */
	strlcpy(sc.address, "192.0.2.1", sizeof sc.address);
	assert_int_equal(nt_engine_add_source(w->e, &sc, "192.0.2.1:123",
	    0xc0000201), 0);
}

/* Run the engine until it has sent one more request (or limit s went). */
static void
run_to_next_request(struct world *w, double limit)
{
	int n = w->n_sent;
	nt_time end = w->clk.true_now + nt_from_sec(limit);

	while (w->n_sent == n && w->clk.true_now < end) {
		double d = nt_engine_run(w->e);

		if (w->n_sent == n)
			nt_simclock_advance(&w->clk, w->clk.true_now +
			    nt_from_sec(fmax(d, 1e-3)));
	}
	assert_int_equal(w->n_sent, n + 1);
}

/* The sources view's text (freed by the caller). */
static char *
sources(struct world *w)
{
	struct nt_status_engine se = { .e = w->e, .clk = &w->clk.base };
	struct nt_status st;
	struct nt_json j;
	char *text;

	nt_status_init(&st, "client", &w->clk.base);
	nt_status_add_engine(&st, &se);
	nt_json_init_buf(&j, false);
	assert_int_equal(nt_status_json(&st, "sources", &j), 0);
	assert_int_equal(nt_json_finish(&j), 0);
	text = strdup(nt_json_text(&j, NULL));
	nt_json_free(&j);
	return (text);
}

static double
number(const char *text, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof pat, "\"%s\":", key);
	p = strstr(text, pat);
	assert_non_null(p);
	return (strtod(p + strlen(pat), NULL));
}

static void
test_poll_is_the_wait(void **state)
{
	struct world w;
	int seen_2 = 0, seen_ramp = 0, seen_backoff = 0;

	(void)state;
	world_init(&w);
	run_to_next_request(&w, 1);
	for (int i = 1; i < 24; i++) {
		char *text = sources(&w);
		double shown = number(text, "poll_interval");
		double poll = number(text, "poll");
		double gap;

		free(text);
		run_to_next_request(&w, 2000);
		gap = nt_diff(w.sent[i], w.sent[i - 1]);
		/* What the view said is the wait that followed. */
		assert_float_equal(shown, gap, 1e-3);
		assert_float_equal(poll, log2(gap), 1e-9);
		seen_2 += gap == 2;
		seen_ramp += gap > 2 && gap < 64;
		seen_backoff += gap > 64;
		/* The target it heads for is no longer what is shown. */
		if (gap < 64)
			assert_true(gap < nt_source_interval(
			    nt_engine_source(w.e, 0)));
	}
	assert_int_equal(seen_2, 3);	/* the iburst */
	assert_true(seen_ramp > 0);
	assert_true(seen_backoff > 0);
	nt_engine_free(w.e);
}

/* The request's transmit timestamp echoed: a genuine reply from it. */
static size_t
reply_to(const struct world *w, const struct ntp_pkt *hdr, uint8_t *buf)
{
	struct ntp_pkt req, p = *hdr;

	assert_int_equal(ntp_decode(w->last_req, NTP_HDR_LEN, &req),
	    NTP_DECODE_OK);
	p.version = 4;
	p.mode = NTP_MODE_SERVER;
	p.org = req.xmt;
	p.rec = p.xmt = req.xmt;	/* as ntpd's KoD */
	return (ntp_encode(&p, buf, NTP_HDR_LEN));
}

static void
assert_state(struct world *w, const char *want)
{
	char pat[64], *text = sources(w);

	snprintf(pat, sizeof pat, "\"state\":\"%s\"", want);
	if (strstr(text, pat) == NULL)
		fail_msg("want %s in %s", pat, text);
	free(text);
}

static void
test_state_says_what_came(void **state)
{
	struct ntp_pkt kod = { .leap = 3, .stratum = 0,
	    .refid = NTP_CODE("RATE"), .poll = 8 };
	uint8_t buf[NTP_HDR_LEN], junk[20] = { 0x24 };
	struct world w;

	(void)state;
	world_init(&w);
	assert_state(&w, "not polled");
	run_to_next_request(&w, 1);
	assert_state(&w, "no reply");
	nt_engine_rx(w.e, 0, junk, sizeof junk, nt_clock_now(&w.clk.base));
	assert_state(&w, "no valid reply");
	assert_int_equal(reply_to(&w, &kod, buf), NTP_HDR_LEN);
	nt_engine_rx(w.e, 0, buf, sizeof buf, nt_clock_now(&w.clk.base));
	assert_state(&w, "rate limited (KoD RATE)");
	nt_engine_free(w.e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_poll_is_the_wait),
		cmocka_unit_test(test_state_says_what_came),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
