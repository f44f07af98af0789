/*
 * The client side of interleaved mode (RFC 9769, 'xleave: true') against
 * the real server core (lib/server.c with lib/xleave.c), on a scripted
 * path: a server whose basic transmit time is read 30 us before the
 * datagram really leaves, which is what interleaved mode corrects.
 * What the requests carry, which exchange each sample comes from and how
 * precise it is, a server that stays basic, replies that match neither
 * of our fields, and the previous exchange across a frequency change, a
 * pending correction and a step.  And the 'xleave' key of a server entry.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "conf.h"
#include "server.h"
#include "source.h"
#include "xleave.h"

#define T0 (INT64_C(1800000000) * NT_SEC)
#define OFF 0.005		/* s: server - client */
#define PATH (100 * NT_USEC)	/* one way */
#define READ (10 * NT_USEC)	/* receive to the basic transmit stamp */
#define SEND (40 * NT_USEC)	/* receive to the datagram leaving */
#define GAP (70 * NT_SEC)	/* between exchanges, above any poll */
#define EPS 1e-9		/* s: NTP's 2^-32 s resolution and rounding */

/* Where the request and reply of an exchange are. */
struct world {
	struct nt_source s;
	struct nt_xleave x;	/* the server's table */
	struct nt_ipaddr ip;	/* the client's address */
	bool	server_xleave;	/* the server does interleaved mode */
	nt_time	now;		/* true time, the server's clock */
	double	off;		/* server - client, s */
	uint64_t rnd;		/* the next transmit field */
	uint8_t	req[NTP_HDR_LEN], out[NTP_HDR_LEN];
	nt_time	t1, t4;		/* the last exchange, client clock */
};

static nt_time
local(const struct world *w, nt_time t)
{
	return (t - nt_from_sec(w->off));
}

static void
world_init(struct world *w, bool client_xleave, bool server_xleave)
{
	struct nt_server_conf c;

	memset(w, 0, sizeof *w);
	nt_server_conf_init(&c);
	c.xleave = client_xleave;
	w->now = T0;
	w->off = OFF;
	w->server_xleave = server_xleave;
	w->rnd = UINT64_C(0x0123456789abcdef);
	nt_source_init(&w->s, &c, "192.0.2.1:123", 0, local(w, T0));
	nt_xleave_init(&w->x, 64, NULL);
	assert_int_equal(nt_ipaddr_parse(&w->ip, "192.0.2.9"), 0);
}

static uint64_t
get64(const uint8_t *p)
{
	return (nt_server_get64(p));
}

/* The source's next request, sent (and stamped by the kernel) now. */
static void
client_send(struct world *w)
{
	w->now += GAP;
	w->t1 = local(w, w->now);
	w->rnd += UINT64_C(0x9e3779b97f4a7c15);
	assert_int_equal(nt_source_request(&w->s, w->t1, w->rnd, w->req,
	    sizeof w->req), NTP_HDR_LEN);
	assert_true(nt_source_tx_stamp(&w->s, w->t1));
	assert_true(get64(w->req + 40) == w->rnd);
}

/* What our server does with it, as lib/uvserver.c drives the core. */
static void
server_answer(struct world *w)
{
	struct nt_sysinfo si = { .synced = false };
	struct nt_server_state st;
	enum nt_server_verdict why;
	enum nt_xleave_kind kind = NT_XL_BASIC;
	nt_time rx = w->now + PATH;

	nt_server_state_make(&st, &si, -20, 8, rx);
	assert_int_equal(nt_server_reply(&st, w->req, NTP_HDR_LEN, rx, 0,
	    w->out, sizeof w->out, &why), NTP_HDR_LEN);
	if (w->server_xleave && nt_xleave_wanted(w->req, NTP_HDR_LEN))
		kind = nt_xleave_answer(&w->x, &w->ip, w->req, w->out);
	if (kind != NT_XL_INTERLEAVED)
		nt_server_set_tx(w->out, rx + READ);
	if (kind != NT_XL_BASIC)
		(void)nt_xleave_sent(&w->x, &w->ip, get64(w->out + 32),
		    nt_to_ntp64(rx + SEND));
	w->t4 = local(w, rx + SEND + PATH);
}

static enum ntp_verdict
client_take(struct nt_source *s, const uint8_t *out, nt_time t4,
    double correction, struct nt_sample *smp)
{
	bool bad;

	return (nt_source_reply(s, out, NTP_HDR_LEN, t4, 3.0, correction, smp,
	    &bad));
}

static enum ntp_verdict
exchange(struct world *w, struct nt_sample *smp)
{
	client_send(w);
	server_answer(w);
	return (client_take(&w->s, w->out, w->t4, 0, smp));
}

/* A basic sample: the transmit stamp read early makes it 15 us low. */
static void
assert_basic(const struct world *w, const struct nt_sample *smp)
{
	double early = nt_diff(SEND, READ);

	assert_true(fabs(smp->offset - (w->off - early / 2)) < EPS);
	assert_true(fabs(smp->delay - (2 * nt_diff(PATH, 0) + early)) < EPS);
	assert_true(smp->t == w->t1 + (w->t4 - w->t1) / 2);
	assert_false(w->s.last_xleave);
}

/* An interleaved one: exact, and from the exchange t1..t4. */
static void
assert_xleave(const struct world *w, const struct nt_sample *smp,
    nt_time t1, nt_time t4, double off)
{
	assert_true(fabs(smp->offset - off) < EPS);
	assert_true(fabs(smp->delay - 2 * nt_diff(PATH, 0)) < EPS);
	assert_true(smp->t == t1 + (t4 - t1) / 2);
	assert_true(w->s.last_xleave);
}

/* Three exchanges: basic, basic (stamped by the server), interleaved. */
static void
reach_interleaved(struct world *w)
{
	struct nt_sample smp;

	assert_int_equal(exchange(w, &smp), NTP_REPLY_OK);
	assert_basic(w, &smp);
	assert_int_equal(exchange(w, &smp), NTP_REPLY_OK);
	assert_basic(w, &smp);
	/* Exchange 2 gave its basic sample already: not twice. */
	assert_int_equal(exchange(w, &smp), NTP_REPLY_XLEAVE_SKIP);
	assert_true(w->s.reach & 1);
	assert_false(w->s.pending);
	assert_int_equal(w->s.n_hist, 2);
	assert_true(w->s.n_xleave == 0);
}

static void
test_requests_and_samples(void **state)
{
	struct world w;
	struct nt_sample smp;
	uint64_t rec, t4_wire;
	nt_time t1, t4;

	(void)state;
	world_init(&w, true, true);
	/* The first request is basic: nothing to echo yet. */
	client_send(&w);
	assert_true(get64(w.req + 24) == 0 && get64(w.req + 32) == 0);
	server_answer(&w);
	assert_int_equal(client_take(&w.s, w.out, w.t4, 0, &smp),
	    NTP_REPLY_OK);
	assert_basic(&w, &smp);
	for (int k = 0; k < 6; k++) {
		rec = get64(w.out + 32);
		t4_wire = nt_to_ntp64(w.t4);
		t1 = w.t1;
		t4 = w.t4;
		/* Origin: the server's receive time; receive: ours. */
		client_send(&w);
		assert_true(get64(w.req + 24) == rec);
		assert_true(get64(w.req + 32) == t4_wire);
		server_answer(&w);
		if (k == 0) {		/* the server stamps this one */
			assert_true(get64(w.out + 24) == w.rnd);
			assert_int_equal(client_take(&w.s, w.out, w.t4, 0,
			    &smp), NTP_REPLY_OK);
			assert_basic(&w, &smp);
		} else if (k == 1) {	/* exchange 2 is sampled already */
			assert_true(get64(w.out + 24) == t4_wire);
			assert_int_equal(client_take(&w.s, w.out, w.t4, 0,
			    &smp), NTP_REPLY_XLEAVE_SKIP);
		} else {
			/* The previous exchange, with its true transmit. */
			assert_true(get64(w.out + 24) == t4_wire);
			assert_int_equal(client_take(&w.s, w.out, w.t4, 0,
			    &smp), NTP_REPLY_OK);
			assert_xleave(&w, &smp, t1, t4, OFF);
			assert_true(w.s.n_xleave == (uint64_t)k - 1);
		}
	}
	/* Each sample newer than the one before, none twice. */
	assert_int_equal(w.s.n_hist, 6);
	for (int i = 1; i < w.s.n_hist; i++)
		assert_true(w.s.hist[i].t > w.s.hist[i - 1].t);
	nt_xleave_free(&w.x);
}

/* A server that never interleaves: basic samples, every one. */
static void
test_basic_server(void **state)
{
	struct world w;
	struct nt_sample smp;

	(void)state;
	world_init(&w, true, false);
	for (int k = 0; k < 6; k++) {
		assert_int_equal(exchange(&w, &smp), NTP_REPLY_OK);
		assert_basic(&w, &smp);
		if (k > 0)		/* it asks, it is not answered */
			assert_true(get64(w.req + 32) != 0);
	}
	assert_int_equal(w.s.n_hist, 6);
	assert_true(w.s.n_xleave == 0);
	nt_xleave_free(&w.x);
}

/* Without 'xleave' the requests stay as they were: transmit only. */
static void
test_off_is_basic(void **state)
{
	struct world w;
	struct nt_sample smp;

	(void)state;
	world_init(&w, false, true);
	for (int k = 0; k < 4; k++) {
		assert_int_equal(exchange(&w, &smp), NTP_REPLY_OK);
		assert_basic(&w, &smp);
		assert_true(get64(w.req + 24) == 0 && get64(w.req + 32) == 0);
	}
	assert_false(w.s.have_prev);
	nt_xleave_free(&w.x);
}

static void
set64(uint8_t *p, uint64_t v)
{
	nt_server_put64(p, v);
}

/* Neither our transmit nor our receive field: not an answer. */
static void
test_neither_origin(void **state)
{
	struct world w;
	struct nt_sample smp;
	uint8_t forged[NTP_HDR_LEN];
	uint64_t bad;

	(void)state;
	world_init(&w, true, true);
	reach_interleaved(&w);
	bad = w.s.n_bad;
	client_send(&w);
	server_answer(&w);
	{
		const uint64_t org[] = { 0, w.rnd ^ 1, get64(w.req + 24),
		    get64(w.req + 32) + 1 };

		for (size_t i = 0; i < sizeof org / sizeof org[0]; i++) {
			memcpy(forged, w.out, sizeof forged);
			set64(forged + 24, org[i]);
			assert_int_equal(client_take(&w.s, forged, w.t4, 0,
			    &smp), NTP_REPLY_BOGUS_ORIGIN);
		}
	}
	assert_true(w.s.n_bad == bad + 4);
	assert_true(w.s.pending);
	assert_int_equal(w.s.n_hist, 2);
	/* The genuine reply still counts. */
	assert_int_equal(client_take(&w.s, w.out, w.t4, 0, &smp),
	    NTP_REPLY_OK);
	assert_true(w.s.last_xleave);
	/* A reply to the request before (a duplicate): too late. */
	assert_int_equal(client_take(&w.s, w.out, w.t4, 0, &smp),
	    NTP_REPLY_BOGUS_ORIGIN);
	nt_xleave_free(&w.x);
}

/*
 * An interleaved reply whose times contradict the previous exchange's
 * (its transmit before that exchange's receive by more than the round
 * trip): refused as the basic ones are.
 */
static void
test_negative_delay(void **state)
{
	struct world w;
	struct nt_sample smp;

	(void)state;
	world_init(&w, true, true);
	reach_interleaved(&w);
	client_send(&w);
	server_answer(&w);
	set64(w.out + 40, get64(w.out + 40) + (UINT64_C(1) << 32));
	assert_int_equal(client_take(&w.s, w.out, w.t4, 0, &smp),
	    NTP_REPLY_BAD_DELAY);
	assert_true(w.s.pending);
	nt_xleave_free(&w.x);
}

/*
 * The previous exchange's sample is taken against the clock as the
 * correction pending at its reply leaves it, and re-expressed after a
 * frequency change as the history is.
 */
static void
test_frames(void **state)
{
	struct world w;
	struct nt_source b;
	struct nt_sample sa, sb;
	nt_time tu;
	double dfreq = 3e-6, jump = 0.002, corr = 0.001;

	(void)state;
	world_init(&w, true, true);
	reach_interleaved(&w);
	assert_int_equal(exchange(&w, &sa), NTP_REPLY_OK);
	/* b: the same source, told of a correction at this exchange. */
	client_send(&w);
	server_answer(&w);
	b = w.s;
	assert_int_equal(client_take(&w.s, w.out, w.t4, 0, &sa),
	    NTP_REPLY_OK);
	assert_int_equal(client_take(&b, w.out, w.t4, corr, &sb),
	    NTP_REPLY_OK);
	assert_true(fabs(sb.offset - sa.offset) < EPS);	/* not this one */
	/* Then the discipline acts on b, between two polls. */
	tu = w.t4 + 5 * NT_SEC;
	nt_source_adjust(&b, tu, dfreq, jump);
	client_send(&w);
	server_answer(&w);
	assert_int_equal(nt_source_request(&b, w.t1, w.rnd, w.req,
	    sizeof w.req), NTP_HDR_LEN);
	assert_true(nt_source_tx_stamp(&b, w.t1));
	assert_int_equal(client_take(&w.s, w.out, w.t4, 0, &sa),
	    NTP_REPLY_OK);
	assert_int_equal(client_take(&b, w.out, w.t4, 0.01, &sb),
	    NTP_REPLY_OK);
	assert_true(sa.t == sb.t && sa.delay == sb.delay);
	assert_true(fabs(sb.offset - (sa.offset - corr +
	    nt_diff(tu, sa.t) * dfreq - jump)) < EPS);
	/* As b's stored samples moved. */
	assert_true(fabs((b.hist[b.n_hist - 2].offset -
	    w.s.hist[w.s.n_hist - 2].offset) - (nt_diff(tu,
	    b.hist[b.n_hist - 2].t) * dfreq - jump)) < EPS);
	nt_xleave_free(&w.x);
}

/* The clock stepped by d: the world and the source both. */
static void
step(struct world *w, double d)
{
	nt_source_adjust(&w->s, local(w, w->now), 0, d);
	nt_source_shift(&w->s, d);
	w->off -= d;
}

/* A step drops the previous exchange: one basic exchange, then on. */
static void
test_step_between(void **state)
{
	struct world w;
	struct nt_sample smp;
	nt_time t1, t4;

	(void)state;
	world_init(&w, true, true);
	reach_interleaved(&w);
	assert_int_equal(exchange(&w, &smp), NTP_REPLY_OK);
	step(&w, 0.25);
	assert_int_equal(exchange(&w, &smp), NTP_REPLY_OK);
	assert_true(get64(w.req + 24) == 0 && get64(w.req + 32) == 0);
	assert_basic(&w, &smp);
	assert_true(fabs(smp.offset - (OFF - 0.25 - 15e-6)) < EPS);
	/* Asking again: the server stamps, then interleaves. */
	assert_int_equal(exchange(&w, &smp), NTP_REPLY_OK);
	assert_basic(&w, &smp);
	assert_int_equal(exchange(&w, &smp), NTP_REPLY_XLEAVE_SKIP);
	t1 = w.t1;
	t4 = w.t4;
	assert_int_equal(exchange(&w, &smp), NTP_REPLY_OK);
	assert_xleave(&w, &smp, t1, t4, OFF - 0.25);
	nt_xleave_free(&w.x);
}

/* A step while an interleaved request is out: its reply has no sample. */
static void
test_step_in_flight(void **state)
{
	struct world w;
	struct nt_sample smp;
	int n;

	(void)state;
	world_init(&w, true, true);
	reach_interleaved(&w);
	assert_int_equal(exchange(&w, &smp), NTP_REPLY_OK);
	n = w.s.n_hist;
	client_send(&w);
	server_answer(&w);
	step(&w, -0.5);
	w.t4 += nt_from_sec(-0.5);
	assert_int_equal(client_take(&w.s, w.out, w.t4, 0, &smp),
	    NTP_REPLY_XLEAVE_SKIP);
	assert_int_equal(w.s.n_hist, n);
	assert_true(w.s.reach & 1);
	/* This exchange, measured after the step, gives the next one. */
	assert_true(w.s.have_prev);
	assert_true(w.s.prev.t4 == w.t4);
	nt_xleave_free(&w.x);
}

static int
load(struct nt_conf *c, const char *yaml, char *err)
{
	nt_conf_init(c);
	return (nt_conf_load_buf(c, "t.yaml", yaml, strlen(yaml), err,
	    NT_CONF_ERRLEN));
}

/* Off by default, per server and pool; a change makes a new source. */
static void
test_conf_key(void **state)
{
	struct nt_server_conf b;
	struct nt_conf c;
	char err[NT_CONF_ERRLEN] = "";

	(void)state;
	assert_int_equal(load(&c, "servers:\n  - {address: a, xleave: true}\n"
	    "  - b\npools:\n  - {address: p.example, xleave: yes}\n", err), 0);
	assert_true(c.servers[0].xleave && !c.servers[1].xleave &&
	    c.pools[0].server.xleave);
	b = c.servers[0];
	assert_true(nt_server_conf_same(&c.servers[0], &b));
	b.xleave = false;
	assert_false(nt_server_conf_same(&c.servers[0], &b));
	nt_conf_free(&c);
	assert_int_equal(load(&c, "servers:\n  - address: a\n    nts: true\n"
	    "    xleave: true\n", err), -1);
	assert_string_equal(err, "t.yaml:4:5: servers[0]: 'xleave' is for "
	    "plain NTP, not with 'nts: true'");
	nt_conf_free(&c);
	assert_int_equal(load(&c, "servers:\n  - {address: a, xleave: 2}\n",
	    err), -1);
	assert_string_equal(err, "t.yaml:2:26: 'xleave' must be true or "
	    "false, got '2'");
	nt_conf_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests_and_samples),
		cmocka_unit_test(test_basic_server),
		cmocka_unit_test(test_off_is_basic),
		cmocka_unit_test(test_neither_origin),
		cmocka_unit_test(test_negative_delay),
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_step_between),
		cmocka_unit_test(test_step_in_flight),
		cmocka_unit_test(test_conf_key),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
