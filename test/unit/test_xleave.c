/*
 * Interleaved mode on the server side (lib/xleave.c with the replies of
 * lib/server.c), without sockets: which requests ask for it, a basic
 * reply that records the client, an interleaved reply carrying the
 * previous reply's kernel send stamp, the basic answers when the origin
 * does not match or the stamp is unknown, a bounded table under a flood
 * of addresses, matching looped-back datagrams to their clients, and the
 * transmit stamp of a basic reply staying after its receive stamp when
 * our clock steps back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ntp_pkt.h"
#include "server.h"
#include "xleave.h"

#define T0 (INT64_C(1800000000) * NT_SEC)
#define CLIENT_TX UINT64_C(0x0123456789abcdef)	/* its transmit field */
#define CLIENT_RX UINT64_C(0x1111222233334444)	/* its receive field */

/* Timestamps on the wire, by offset in the header. */
static uint64_t
get64(const uint8_t *p)
{
	return (nt_server_get64(p));
}

static void
put64(uint8_t *p, uint64_t v)
{
	nt_server_put64(p, v);
}

/* A v4 client request with origin org and receive field rec. */
static void
request(uint8_t *req, uint64_t org, uint64_t rec)
{
	memset(req, 0, NTP_HDR_LEN);
	req[0] = 4 << 3 | NTP_MODE_CLIENT;
	put64(req + 24, org);
	put64(req + 32, rec);
	put64(req + 40, CLIENT_TX);
}

static struct nt_server_state
local_state(void)
{
	struct nt_sysinfo si = { .synced = false };
	struct nt_server_state st;

	nt_server_state_make(&st, &si, -20, 8, T0);
	return (st);
}

/* Our basic reply to req received at rx, transmit not yet stamped. */
static void
basic_reply(const uint8_t *req, nt_time rx, uint8_t *out)
{
	struct nt_server_state st = local_state();
	enum nt_server_verdict why;

	assert_int_equal(nt_server_reply(&st, req, NTP_HDR_LEN, rx, 0, out,
	    NTP_HDR_LEN, &why), NTP_HDR_LEN);
	assert_int_equal(why, NT_SRV_REPLY);
}

static struct nt_ipaddr
addr(const char *s)
{
	struct nt_ipaddr ip;

	assert_int_equal(nt_ipaddr_parse(&ip, s), 0);
	return (ip);
}

static void
test_wanted(void **state_)
{
	uint8_t req[NTP_HDR_LEN], out[NTP_HDR_LEN];

	(void)state_;
	/* A basic client: origin zero (chronyd) or our transmit (ntpd). */
	request(req, 0, 0);
	assert_false(nt_xleave_wanted(req, sizeof req));
	basic_reply(req, T0, out);
	assert_true((get64(out + 32) & 1) == 1);	/* receive: odd */
	nt_server_set_tx(out, T0 + 5 * NT_USEC);
	assert_true((get64(out + 40) & 1) == 0);	/* transmit: even */
	request(req, get64(out + 40), 0);
	assert_false(nt_xleave_wanted(req, sizeof req));
	/* Echoing our receive stamp asks for interleaved mode. */
	request(req, get64(out + 32), 0);
	assert_true(nt_xleave_wanted(req, sizeof req));
	/* Not with extension fields (NTS stays basic). */
	assert_false(nt_xleave_wanted(req, NTP_HDR_LEN + 4));
}

/*
 * The exchanges of a client in interleaved mode: basic replies until we
 * know a send stamp, then interleaved ones with the previous reply's.
 */
static void
test_interleaved_exchange(void **state_)
{
	struct nt_ipaddr ip = addr("192.0.2.7");
	uint8_t req[NTP_HDR_LEN], out[NTP_HDR_LEN], first[NTP_HDR_LEN];
	struct nt_xleave x;
	uint64_t rx1, rx2, tx2;

	(void)state_;
	nt_xleave_init(&x, 64, NULL);
	/* 1: no previous reply: basic, nothing recorded. */
	request(req, 0, 0);
	basic_reply(req, T0, first);
	rx1 = get64(first + 32);
	/* 2: origin = rx1, which we never recorded: basic, stamp it. */
	request(req, rx1, CLIENT_RX);
	basic_reply(req, T0 + NT_SEC, out);
	memcpy(first, out, sizeof out);
	assert_int_equal(nt_xleave_answer(&x, &ip, req, out), NT_XL_STAMP);
	assert_memory_equal(out, first, sizeof out);	/* untouched */
	assert_true(get64(out + 24) == CLIENT_TX);	/* basic origin */
	rx2 = get64(out + 32);
	tx2 = nt_to_ntp64(T0 + NT_SEC + 30 * NT_USEC) | 1;
	assert_true(nt_xleave_sent(&x, &ip, rx2, tx2));
	/* 3: origin = rx2, whose send stamp we have: interleaved. */
	request(req, rx2, CLIENT_RX);
	basic_reply(req, T0 + 2 * NT_SEC, out);
	assert_int_equal(nt_xleave_answer(&x, &ip, req, out),
	    NT_XL_INTERLEAVED);
	assert_true(get64(out + 24) == CLIENT_RX);	/* its receive */
	assert_true(get64(out + 32) ==
	    (nt_to_ntp64(T0 + 2 * NT_SEC) | 1));
	assert_true(get64(out + 40) == (tx2 & ~(uint64_t)1));
	/* A client takes it as an answer to the request it sent. */
	{
		struct ntp_pkt p;

		assert_int_equal(ntp_decode(out, sizeof out, &p),
		    NTP_DECODE_OK);
		assert_int_equal(ntp_check_reply(&p, CLIENT_RX, 1.0),
		    NTP_REPLY_OK);
	}
	/* The stamp of reply 2 is used once: reply 3's is not known yet. */
	rx2 = get64(out + 32);
	request(req, rx2, CLIENT_RX);
	basic_reply(req, T0 + 3 * NT_SEC, out);
	assert_int_equal(nt_xleave_answer(&x, &ip, req, out), NT_XL_STAMP);
	assert_true(get64(out + 24) == CLIENT_TX);
	assert_true(get64(out + 40) == 0);	/* stamped at send, basic */
	nt_xleave_free(&x);
}

static void
test_mismatch_is_basic(void **state_)
{
	struct nt_ipaddr ip = addr("2001:db8::1"), other = addr("2001:db8::2");
	uint8_t req[NTP_HDR_LEN], out[NTP_HDR_LEN];
	struct nt_xleave x;
	uint64_t rx;

	(void)state_;
	nt_xleave_init(&x, 64, NULL);
	request(req, 0x5555, 0);
	basic_reply(req, T0, out);
	assert_int_equal(nt_xleave_answer(&x, &ip, req, out), NT_XL_STAMP);
	rx = get64(out + 32);
	assert_true(nt_xleave_sent(&x, &ip, rx, rx + 1000));
	/* Another address echoing ip's receive stamp: not its exchange. */
	request(req, rx, CLIENT_RX);
	basic_reply(req, T0 + NT_SEC, out);
	assert_int_equal(nt_xleave_answer(&x, &other, req, out), NT_XL_STAMP);
	assert_true(get64(out + 24) == CLIENT_TX);
	/* ip with an odd origin that is not our last receive stamp. */
	request(req, rx + 2, CLIENT_RX);
	basic_reply(req, T0 + NT_SEC, out);
	assert_int_equal(nt_xleave_answer(&x, &ip, req, out), NT_XL_STAMP);
	assert_true(get64(out + 24) == CLIENT_TX);
	/* A stamp for a reply the entry has moved past is refused. */
	assert_false(nt_xleave_sent(&x, &ip, rx, rx + 1000));
	assert_false(nt_xleave_sent(&x, &ip, get64(out + 32), 0));
	nt_xleave_free(&x);
}

/* A flood of addresses: the table keeps its size, old clients go. */
static void
test_table_bounded(void **state_)
{
	struct nt_ipaddr ip, first = addr("198.51.100.1");
	uint8_t req[NTP_HDR_LEN], out[NTP_HDR_LEN];
	struct nt_xleave x;
	uint64_t rx;
	size_t used = 0;

	(void)state_;
	nt_xleave_init(&x, 40, NULL);	/* 32 entries */
	assert_null(x.tab);		/* none until a client needs it */
	request(req, 1, 0);
	basic_reply(req, T0, out);
	assert_int_equal(nt_xleave_answer(&x, &first, req, out), NT_XL_STAMP);
	rx = get64(out + 32);
	assert_true(nt_xleave_sent(&x, &first, rx, rx + 1));
	memset(&ip, 0, sizeof ip);
	for (uint32_t i = 0; i < 10000; i++) {
		memcpy(ip.b, &i, sizeof i);
		basic_reply(req, T0 + i, out);
		assert_int_equal(nt_xleave_answer(&x, &ip, req, out),
		    NT_XL_STAMP);
	}
	assert_int_equal(x.mask + 1, 32 / NT_XLEAVE_WAYS);
	for (uint32_t i = 0; i < 32; i++)
		used += x.tab[i].rx != 0;
	assert_int_equal(used, 32);
	assert_int_equal(x.evictions, 10001 - 32);
	/* The first client was pushed out: basic again, no harm. */
	request(req, rx, CLIENT_RX);
	basic_reply(req, T0 + NT_SEC, out);
	assert_int_equal(nt_xleave_answer(&x, &first, req, out), NT_XL_STAMP);
	nt_xleave_free(&x);
}

/* Looped-back datagrams (headers, then the reply) find their client. */
static void
test_pending(void **state_)
{
	struct nt_ipaddr a = addr("192.0.2.1"), b = addr("192.0.2.2"), ip;
	uint8_t req[NTP_HDR_LEN], ra[NTP_HDR_LEN], rb[NTP_HDR_LEN];
	uint8_t pkt[42 + NTP_HDR_LEN];
	struct nt_xleave_pending p;
	uint64_t rx;

	(void)state_;
	memset(&p, 0, sizeof p);
	request(req, 1, 0);
	basic_reply(req, T0, ra);
	basic_reply(req, T0 + 1, rb);
	nt_xleave_pending_add(&p, &a, ra);
	nt_xleave_pending_add(&p, &b, rb);
	memset(pkt, 0x45, 42);		/* Ethernet, IPv4, UDP */
	memcpy(pkt + 42, rb, NTP_HDR_LEN);
	nt_server_set_tx(pkt + 42, T0 + 9);	/* stamped as it left */
	assert_true(nt_xleave_pending_take(&p, pkt, sizeof pkt, &ip, &rx));
	assert_memory_equal(ip.b, b.b, 16);
	assert_true(rx == get64(rb + 32));
	/* Taken once. */
	assert_false(nt_xleave_pending_take(&p, pkt, sizeof pkt, &ip, &rx));
	/* Truncated or unknown datagrams match nothing. */
	assert_false(nt_xleave_pending_take(&p, pkt, 0, &ip, &rx));
	pkt[42 + 24] ^= 1;
	assert_false(nt_xleave_pending_take(&p, pkt, sizeof pkt, &ip, &rx));
	memcpy(pkt + 42, ra, NTP_HDR_LEN);
	assert_true(nt_xleave_pending_take(&p, pkt, sizeof pkt, &ip, &rx));
	assert_memory_equal(ip.b, a.b, 16);
	/* More than the ring holds: the oldest are forgotten. */
	for (int i = 0; i < NT_XLEAVE_PENDING + 1; i++) {
		basic_reply(req, T0 + 100 + i, rb);
		nt_xleave_pending_add(&p, &b, rb);
		if (i == 0)
			memcpy(pkt + 42, rb, NTP_HDR_LEN);
	}
	assert_false(nt_xleave_pending_take(&p, pkt, sizeof pkt, &ip, &rx));
}

/*
 * Our clock stepped back between receiving and sending: a basic reply
 * must still not say it left before it arrived, and the transmit stamp
 * keeps its even mark.
 */
static void
test_step_back(void **state_)
{
	struct nt_server_state st = local_state();
	enum nt_server_verdict why;
	uint8_t req[NTP_HDR_LEN], out[NTP_HDR_LEN];
	uint64_t rec, xmt;

	(void)state_;
	request(req, 0, 0);
	/* Stamped at build time. */
	nt_server_reply(&st, req, sizeof req, T0, T0 - NT_SEC, out,
	    sizeof out, &why);
	rec = get64(out + 32);
	xmt = get64(out + 40);
	assert_true((int64_t)(xmt - rec) > 0 && (xmt & 1) == 0);
	/* Stamped just before the send. */
	basic_reply(req, T0, out);
	nt_server_set_tx(out, T0 - 2 * NT_SEC);
	xmt = get64(out + 40);
	assert_true((int64_t)(xmt - rec) > 0 && (xmt & 1) == 0);
	/* The same instant: still after. */
	nt_server_set_tx(out, T0);
	assert_true(get64(out + 40) == rec + 1);
	put64(out + 32, nt_to_ntp64(T0) | 1);
	nt_server_set_tx(out, T0 - NT_SEC);
	assert_true(get64(out + 40) == (nt_to_ntp64(T0) | 1) + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wanted),
		cmocka_unit_test(test_interleaved_exchange),
		cmocka_unit_test(test_mismatch_is_basic),
		cmocka_unit_test(test_table_bounded),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_step_back),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
