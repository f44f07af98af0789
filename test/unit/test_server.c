/*
 * The server: every header field of a reply and what a client makes of
 * it (our own ntp_check_reply plays the client), the unsynchronized and
 * local-stratum answers, KoD, versions 1 to 4, every mode, extension
 * fields and malformed lengths 0..200 (never a reply longer than the
 * request), counters, access control and rate limiting together; then
 * the socket layer for real on loopback (batches and the one-at-a-time
 * fallback, two workers, a new snapshot reaching the workers,
 * interleaved mode with the kernel's send stamps), and the
 * dry-run clock read by several threads while it is being steered.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "clock_dry.h"
#include "ntp_pkt.h"
#include "server.h"
#include "source.h"
#include "uvserver.h"

#define T0 (INT64_C(1800000000) * NT_SEC)
#define XMT UINT64_C(0x0123456789abcdef)

/* A synchronized stratum-3 server, last updated at T0. */
static struct nt_sysinfo
synced_info(void)
{
	return ((struct nt_sysinfo){ .synced = true, .stratum = 3,
	    .refid = 0xc0000201, .leap = NTP_LEAP_INSERT, .root_delay = 0.0125,
	    .root_disp = 0.002, .ref_time = T0, .offset_sd = 1e-5 });
}

static struct nt_server_state
state(const struct nt_sysinfo *si, int local)
{
	struct nt_server_state st;

	nt_server_state_make(&st, si, -20, local, T0 + 5 * NT_SEC);
	return (st);
}

/* A client request: version vn, mode, poll, our transmit XMT. */
static void
request(uint8_t *buf, int vn, int mode, int poll)
{
	memset(buf, 0, NTP_HDR_LEN);
	buf[0] = (uint8_t)(vn << 3 | mode);
	buf[2] = (uint8_t)(int8_t)poll;
	for (int i = 0; i < 8; i++)
		buf[40 + i] = (uint8_t)(XMT >> (56 - 8 * i));
}

static void
decode(const uint8_t *buf, size_t len, struct ntp_pkt *p)
{
	assert_int_equal(len, NTP_HDR_LEN);
	assert_int_equal(ntp_decode(buf, len, p), NTP_DECODE_OK);
}

static void
test_reply_fields(void **state_)
{
	struct nt_sysinfo si = synced_info();
	struct nt_server_state st = state(&si, 0);
	nt_time rx = T0 + 10 * NT_SEC, tx = rx + 150 * NT_USEC;
	enum nt_server_verdict why;
	uint8_t req[NTP_HDR_LEN], out[NTP_HDR_LEN + 10];
	struct ntp_pkt p;
	size_t n;

	(void)state_;
	request(req, 4, NTP_MODE_CLIENT, 6);
	memset(out, 0xaa, sizeof out);
	n = nt_server_reply(&st, req, sizeof req, rx, tx, out, sizeof out,
	    &why);
	assert_int_equal(why, NT_SRV_REPLY);
	assert_int_equal(out[NTP_HDR_LEN], 0xaa);	/* nothing beyond */
	decode(out, n, &p);
	assert_int_equal(p.leap, NTP_LEAP_INSERT);
	assert_int_equal(p.version, 4);
	assert_int_equal(p.mode, NTP_MODE_SERVER);
	assert_int_equal(p.stratum, 3);
	assert_int_equal(p.poll, 6);
	assert_int_equal(p.precision, -20);
	assert_int_equal(p.root_delay, nt_to_ntp32(0.0125));
	/* Dispersion grew by PHI for the 10 s since the update. */
	assert_int_equal(p.root_disp, nt_to_ntp32(0.002 + NT_PHI * 10));
	assert_int_equal(p.refid, 0xc0000201);
	assert_true(p.ref == nt_to_ntp64(T0));
	assert_true(p.org == XMT);
	assert_true(p.rec == (nt_to_ntp64(rx) | 1));
	assert_true(p.xmt == (nt_to_ntp64(tx) & ~(uint64_t)1));
	/* A client takes it. */
	assert_int_equal(ntp_check_reply(&p, XMT, 1.0), NTP_REPLY_OK);
	assert_int_equal(ntp_check_reply(&p, XMT + 1, 1.0),
	    NTP_REPLY_BOGUS_ORIGIN);
}

static void
test_versions_and_poll(void **state_)
{
	struct nt_sysinfo si = synced_info();
	struct nt_server_state st = state(&si, 0);
	static const int polls[][2] = { { 0, 0 }, { 4, 4 }, { 17, 17 },
	    { 18, 17 }, { 127, 17 }, { -6, -6 }, { -7, -6 }, { -128, -6 } };
	enum nt_server_verdict why;
	uint8_t req[NTP_HDR_LEN], out[NTP_HDR_LEN];
	struct ntp_pkt p;

	(void)state_;
	for (int vn = 2; vn <= 4; vn++) {
		request(req, vn, NTP_MODE_CLIENT, 6);
		decode(out, nt_server_reply(&st, req, sizeof req, T0, T0, out,
		    sizeof out, &why), &p);
		assert_int_equal(p.version, vn);
		assert_int_equal(p.mode, NTP_MODE_SERVER);
	}
	/* NTPv1 had no modes: mode 0, answered as chrony and ntpd do. */
	request(req, 1, NTP_MODE_RESERVED, 6);
	decode(out, nt_server_reply(&st, req, sizeof req, T0, T0, out,
	    sizeof out, &why), &p);
	assert_int_equal(p.version, 1);
	assert_int_equal(p.mode, NTP_MODE_SERVER);
	for (size_t i = 0; i < sizeof polls / sizeof polls[0]; i++) {
		request(req, 4, NTP_MODE_CLIENT, polls[i][0]);
		decode(out, nt_server_reply(&st, req, sizeof req, T0, T0, out,
		    sizeof out, &why), &p);
		assert_int_equal(p.poll, polls[i][1]);
	}
}

static void
test_unsynchronized(void **state_)
{
	struct nt_sysinfo si = { .synced = false, .stratum = 16,
	    .leap = NTP_LEAP_UNSYNC };
	struct nt_server_state st = state(&si, 0);
	enum nt_server_verdict why;
	uint8_t req[NTP_HDR_LEN], out[NTP_HDR_LEN];
	struct ntp_pkt p;

	(void)state_;
	request(req, 4, NTP_MODE_CLIENT, 6);
	decode(out, nt_server_reply(&st, req, sizeof req, T0, T0 + 1, out,
	    sizeof out, &why), &p);
	assert_int_equal(why, NT_SRV_REPLY);
	assert_int_equal(p.leap, NTP_LEAP_UNSYNC);
	assert_int_equal(p.stratum, NTP_MAX_STRATUM);
	assert_int_equal(p.refid, NTP_CODE("INIT"));
	assert_int_equal(p.root_delay, 0);
	assert_int_equal(p.root_disp, nt_to_ntp32(NT_SERVER_MAX_DISP));
	assert_true(p.ref == 0);
	assert_true(p.org == XMT && p.xmt != 0);
	/* A client sees a live server it must not use, not a KoD. */
	assert_int_equal(ntp_check_reply(&p, XMT, 16.0), NTP_REPLY_UNSYNC);
}

static void
test_local_stratum(void **state_)
{
	struct nt_sysinfo si = { .synced = false };
	struct nt_sysinfo up = synced_info();
	struct nt_server_state st = state(&si, 8);
	enum nt_server_verdict why;
	uint8_t req[NTP_HDR_LEN], out[NTP_HDR_LEN];
	struct ntp_pkt p;

	(void)state_;
	request(req, 4, NTP_MODE_CLIENT, 6);
	decode(out, nt_server_reply(&st, req, sizeof req, T0 + 100 * NT_SEC,
	    T0 + 100 * NT_SEC, out, sizeof out, &why), &p);
	assert_int_equal(p.leap, NTP_LEAP_NONE);
	assert_int_equal(p.stratum, 8);
	assert_int_equal(p.refid, NT_SERVER_LOCAL_REFID);
	assert_int_equal(p.root_delay, 0);
	assert_int_equal(p.root_disp, 0);	/* we are the reference */
	assert_true(p.ref == nt_to_ntp64(T0 + 5 * NT_SEC));
	assert_int_equal(ntp_check_reply(&p, XMT, 1.0), NTP_REPLY_OK);
	/* Synchronized to an upstream, the upstream's values win. */
	st = state(&up, 8);
	decode(out, nt_server_reply(&st, req, sizeof req, T0, T0, out,
	    sizeof out, &why), &p);
	assert_int_equal(p.stratum, 3);
	assert_int_equal(p.refid, 0xc0000201);
}

/*
 * Following a stratum 15 upstream makes the engine stratum 16: that is
 * not something to serve with leap 0 and the upstream's refid, but as
 * unsynchronized, or the local stratum when there is one.
 */
static void
test_stratum16_upstream(void **state_)
{
	struct nt_sysinfo si = synced_info();
	struct nt_server_state st;
	enum nt_server_verdict why;
	uint8_t req[NTP_HDR_LEN], out[NTP_HDR_LEN];
	struct ntp_pkt p;

	(void)state_;
	si.stratum = NTP_MAX_STRATUM;
	si.leap = NTP_LEAP_NONE;
	st = state(&si, 0);
	request(req, 4, NTP_MODE_CLIENT, 6);
	decode(out, nt_server_reply(&st, req, sizeof req, T0, T0, out,
	    sizeof out, &why), &p);
	assert_int_equal(p.leap, NTP_LEAP_UNSYNC);
	assert_int_equal(p.stratum, NTP_MAX_STRATUM);
	assert_int_equal(p.refid, NTP_CODE("INIT"));
	assert_int_equal(p.root_disp, nt_to_ntp32(NT_SERVER_MAX_DISP));
	assert_int_equal(ntp_check_reply(&p, XMT, 16.0), NTP_REPLY_UNSYNC);
	st = state(&si, 8);
	decode(out, nt_server_reply(&st, req, sizeof req, T0, T0, out,
	    sizeof out, &why), &p);
	assert_int_equal(p.leap, NTP_LEAP_NONE);
	assert_int_equal(p.stratum, 8);
	assert_int_equal(p.refid, NT_SERVER_LOCAL_REFID);
}

static void
test_dispersion_limits(void **state_)
{
	struct nt_sysinfo si = synced_info();
	struct nt_server_state st = state(&si, 0);
	enum nt_server_verdict why;
	uint8_t req[NTP_HDR_LEN], out[NTP_HDR_LEN];
	struct ntp_pkt p;

	(void)state_;
	request(req, 4, NTP_MODE_CLIENT, 6);
	/* Before the reference time (a step): no negative growth. */
	decode(out, nt_server_reply(&st, req, sizeof req, T0 - NT_SEC, T0,
	    out, sizeof out, &why), &p);
	assert_int_equal(p.root_disp, nt_to_ntp32(0.002));
	/* Days later: capped at 16 s. */
	decode(out, nt_server_reply(&st, req, sizeof req,
	    T0 + 86400 * 20 * NT_SEC, T0, out, sizeof out, &why), &p);
	assert_int_equal(p.root_disp, nt_to_ntp32(NT_SERVER_MAX_DISP));
	/* Transmit stamped afterwards. */
	decode(out, nt_server_reply(&st, req, sizeof req, T0, 0, out,
	    sizeof out, &why), &p);
	assert_true(p.xmt == 0);
	nt_server_set_tx(out, T0 + 7);
	decode(out, NTP_HDR_LEN, &p);
	assert_true(p.xmt == (nt_to_ntp64(T0 + 7) & ~(uint64_t)1));
}

static void
test_kod(void **state_)
{
	struct nt_sysinfo si = synced_info();
	struct nt_server_state st = state(&si, 0);
	uint8_t req[NTP_HDR_LEN], out[NTP_HDR_LEN];
	struct ntp_pkt p;

	(void)state_;
	request(req, 3, NTP_MODE_CLIENT, 4);
	decode(out, nt_server_kod(&st, req, sizeof req, NTP_CODE("RATE"), 6,
	    T0, T0 + 1, out, sizeof out), &p);
	assert_int_equal(p.leap, NTP_LEAP_UNSYNC);
	assert_int_equal(p.stratum, 0);
	assert_int_equal(p.version, 3);
	assert_int_equal(p.mode, NTP_MODE_SERVER);
	assert_int_equal(p.poll, 6);		/* at least what we ask */
	assert_int_equal(p.refid, NTP_CODE("RATE"));
	assert_true(p.org == XMT);
	assert_int_equal(ntp_check_reply(&p, XMT, 1.0), NTP_REPLY_KOD_RATE);
	/* A forged KoD (wrong origin) is not believed by our client. */
	assert_int_equal(ntp_check_reply(&p, XMT ^ 1, 1.0),
	    NTP_REPLY_BOGUS_ORIGIN);
	request(req, 4, NTP_MODE_CLIENT, 10);
	decode(out, nt_server_kod(&st, req, sizeof req, NTP_CODE("DENY"), 6,
	    T0, T0 + 1, out, sizeof out), &p);
	assert_int_equal(p.poll, 10);
	assert_int_equal(ntp_check_reply(&p, XMT, 1.0), NTP_REPLY_KOD_DENY);
	/* No KoD for what is not a request. */
	request(req, 4, NTP_MODE_CONTROL, 6);
	assert_int_equal(nt_server_kod(&st, req, sizeof req, NTP_CODE("DENY"),
	    6, T0, T0, out, sizeof out), 0);
}

static void
test_modes_and_versions(void **state_)
{
	struct nt_sysinfo si = synced_info();
	struct nt_server_state st = state(&si, 0);
	enum nt_server_verdict why;
	uint8_t req[NTP_HDR_LEN], out[NTP_HDR_LEN];

	(void)state_;
	for (int vn = 0; vn <= 7; vn++) {
		for (int mode = 0; mode <= 7; mode++) {
			bool ok = (vn >= 1 && vn <= 4 && mode == 3) ||
			    (vn == 1 && mode == 0);
			enum nt_server_verdict want = ok ? NT_SRV_REPLY :
			    vn == 0 ? NT_SRV_DROP_MALFORMED : NT_SRV_DROP_MODE;

			request(req, vn, mode, 6);
			assert_int_equal(nt_server_reply(&st, req, sizeof req,
			    T0, T0, out, sizeof out, &why) > 0, ok);
			assert_int_equal(why, want);
		}
	}
	/* A short mode 6 query (12-byte header) is a control query. */
	request(req, 2, NTP_MODE_CONTROL, 0);
	assert_int_equal(nt_server_reply(&st, req, 12, T0, T0, out,
	    sizeof out, &why), 0);
	assert_int_equal(why, NT_SRV_DROP_MODE);
	request(req, 2, NTP_MODE_PRIVATE, 0);
	assert_int_equal(nt_server_reply(&st, req, 8, T0, T0, out,
	    sizeof out, &why), 0);
	assert_int_equal(why, NT_SRV_DROP_MODE);
}

/* Trailers: what ntp_decode accepts is "extension", the rest malformed. */
static enum nt_server_verdict
expected_for_len(size_t len)
{
	if (len < NTP_HDR_LEN)
		return (NT_SRV_DROP_MALFORMED);
	if (len == NTP_HDR_LEN)
		return (NT_SRV_REPLY);
	/* Zero-filled trailers: only the legacy MAC sizes decode. */
	if (len == NTP_HDR_LEN + 4 || len == NTP_HDR_LEN + 20 ||
	    len == NTP_HDR_LEN + 24)
		return (NT_SRV_DROP_EXT);
	return (NT_SRV_DROP_MALFORMED);
}

static void
test_lengths(void **state_)
{
	struct nt_sysinfo si = synced_info();
	struct nt_server_state st = state(&si, 0);
	enum nt_server_verdict why;
	uint8_t req[200], out[NTP_HDR_LEN];
	size_t n;

	(void)state_;
	memset(req, 0, sizeof req);
	request(req, 4, NTP_MODE_CLIENT, 6);
	for (size_t len = 0; len <= sizeof req; len++) {
		n = nt_server_reply(&st, req, len, T0, T0, out, sizeof out,
		    &why);
		assert_true(n <= len);		/* never amplifies */
		assert_int_equal(why, expected_for_len(len));
	}
}

/* One extension field of type and length (RFC 7822 layout). */
static size_t
with_extension(uint8_t *buf, uint16_t type, uint16_t len)
{
	request(buf, 4, NTP_MODE_CLIENT, 6);
	memset(buf + NTP_HDR_LEN, 0, len);
	buf[NTP_HDR_LEN] = (uint8_t)(type >> 8);
	buf[NTP_HDR_LEN + 1] = (uint8_t)type;
	buf[NTP_HDR_LEN + 2] = (uint8_t)(len >> 8);
	buf[NTP_HDR_LEN + 3] = (uint8_t)len;
	return (NTP_HDR_LEN + len);
}

static void
test_extension_fields(void **state_)
{
	struct nt_sysinfo si = synced_info();
	struct nt_server_state st = state(&si, 0);
	enum nt_server_verdict why;
	uint8_t req[NTP_MAX_PKT + 8], out[NTP_HDR_LEN];
	size_t len;

	(void)state_;
	/* NTS unique identifier, an unknown type, chrony's F323. */
	static const uint16_t types[] = { 0x0104, 0x1234, 0xf323 };
	for (size_t i = 0; i < 3; i++) {
		len = with_extension(req, types[i], 32);
		assert_int_equal(nt_server_reply(&st, req, len, T0, T0, out,
		    sizeof out, &why), 0);
		assert_int_equal(why, NT_SRV_DROP_EXT);
	}
	/* Lengths that lie are malformed. */
	len = with_extension(req, 0x0104, 32);
	req[NTP_HDR_LEN + 3] = 200;
	assert_int_equal(nt_server_reply(&st, req, len, T0, T0, out,
	    sizeof out, &why), 0);
	assert_int_equal(why, NT_SRV_DROP_MALFORMED);
	len = with_extension(req, 0x0104, 18);	/* not a multiple of 4 */
	assert_int_equal(nt_server_reply(&st, req, len, T0, T0, out,
	    sizeof out, &why), 0);
	assert_int_equal(why, NT_SRV_DROP_MALFORMED);
	/* Longer than any datagram we accept. */
	memset(req, 0, sizeof req);
	request(req, 4, NTP_MODE_CLIENT, 6);
	assert_int_equal(nt_server_reply(&st, req, sizeof req, T0, T0, out,
	    sizeof out, &why), 0);
	assert_int_equal(why, NT_SRV_DROP_MALFORMED);
}

static struct nt_ipaddr
ip(const char *s)
{
	struct nt_ipaddr a;

	assert_int_equal(nt_ipaddr_parse(&a, s), 0);
	return (a);
}

static void
test_handle_acl_and_rate(void **state_)
{
	char *deny[] = { "192.0.2.0/24" };
	struct nt_sysinfo si = synced_info();
	struct nt_server_state st = state(&si, 0);
	struct nt_server_params sp = { .rl = { .interval = 4, .burst = 2,
	    .kod = true, .entries = 64 } };
	struct nt_ipaddr bad = ip("192.0.2.9"), good = ip("198.51.100.1");
	enum nt_server_verdict why;
	uint8_t req[NTP_HDR_LEN], out[NTP_HDR_LEN];
	char err[160], buf[512];
	struct ntp_pkt p;
	struct nt_acl acl;
	struct nt_server s;

	(void)state_;
	assert_int_equal(nt_acl_init(&acl, NULL, 0, deny, 1, err, sizeof err),
	    0);
	sp.acl = &acl;
	assert_int_equal(nt_server_init(&s, &sp, NULL), 0);
	request(req, 4, NTP_MODE_CLIENT, 6);
	/* Denied, silently. */
	assert_int_equal(nt_server_handle(&s, &st, &bad, req, sizeof req, T0,
	    T0, out, sizeof out, &why), 0);
	assert_int_equal(why, NT_SRV_DROP_DENIED);
	/* Allowed: the burst, one KoD RATE (poll for 4 s), then silence. */
	for (int i = 0; i < 2; i++)
		assert_int_equal(nt_server_handle(&s, &st, &good, req,
		    sizeof req, T0, T0, out, sizeof out, &why), NTP_HDR_LEN);
	decode(out, nt_server_handle(&s, &st, &good, req, sizeof req, T0, T0,
	    out, sizeof out, &why), &p);
	assert_int_equal(why, NT_SRV_KOD_RATE);
	assert_int_equal(p.refid, NTP_CODE("RATE"));
	assert_int_equal(p.poll, 6);
	assert_int_equal(nt_server_handle(&s, &st, &good, req, sizeof req, T0,
	    T0, out, sizeof out, &why), 0);
	assert_int_equal(why, NT_SRV_DROP_RATE);
	/* Garbage from an allowed client costs it nothing. */
	assert_int_equal(nt_server_handle(&s, &st, &good, req, 47, T0, T0,
	    out, sizeof out, &why), 0);
	assert_int_equal(why, NT_SRV_DROP_MALFORMED);
	/* Denied clients told so: once per interval. */
	s.deny_kod = true;
	decode(out, nt_server_handle(&s, &st, &bad, req, sizeof req, T0, T0,
	    out, sizeof out, &why), &p);
	assert_int_equal(why, NT_SRV_KOD_DENY);
	assert_int_equal(ntp_check_reply(&p, XMT, 1), NTP_REPLY_KOD_DENY);
	assert_int_equal(nt_server_handle(&s, &st, &bad, req, sizeof req, T0,
	    T0, out, sizeof out, &why), 0);
	assert_int_equal(why, NT_SRV_DROP_DENIED);
	assert_int_equal(s.cnt.received, 8);
	assert_int_equal(s.cnt.n[NT_SRV_REPLY], 2);
	assert_int_equal(s.cnt.n[NT_SRV_KOD_RATE], 1);
	assert_int_equal(s.cnt.n[NT_SRV_KOD_DENY], 1);
	assert_int_equal(s.cnt.n[NT_SRV_DROP_DENIED], 2);
	assert_int_equal(s.cnt.n[NT_SRV_DROP_RATE], 1);
	assert_int_equal(s.cnt.n[NT_SRV_DROP_MALFORMED], 1);
	assert_string_equal(nt_server_counters_str(&s.cnt, buf, sizeof buf),
	    "received 8, replied 2, kod-rate 1, kod-deny 1, malformed 1, "
	    "unsupported 0, extension 0, denied 2, rate-limited 1, "
	    "nts-replied 0, nts-nak 0, send errors 0, no kernel rx stamp 0, "
	    "nts-ke served 0 failed 0, interleaved 0");
	nt_server_free(&s);
	nt_acl_free(&acl);
}

/* A clock that advances by a fixed step per reading. */
static nt_time fake_t;
static nt_time fake_step;

static nt_time
fake_now(struct nt_clock *c)
{
	(void)c;
	return (fake_t += fake_step);
}

static void
test_precision(void **state_)
{
	static const struct nt_clock_ops ops = { .now = fake_now };
	struct nt_clock clk = { .ops = &ops, .name = "fake" };

	(void)state_;
	fake_t = T0;
	fake_step = 1000;			/* 1 us: 2^-19 s covers it */
	assert_int_equal(nt_server_precision(&clk), -19);
	fake_step = 29;				/* 29 ns: 2^-25 */
	assert_int_equal(nt_server_precision(&clk), -25);
	fake_step = 1;				/* a 1 ns clock */
	assert_int_equal(nt_server_precision(&clk), -29);
	fake_step = 4 * NT_MSEC;		/* a 250 Hz tick */
	assert_int_equal(nt_server_precision(&clk), -7);
	/* The real clocks are somewhere sane. */
	assert_in_range(nt_server_precision(nt_clock_dry()) + 30, 0, 20);
}

/* ---- The socket layer, on loopback ---- */

struct probe {
	int	fd;
	struct nt_addr to;
};

static void
probe_open(struct probe *pr, const struct nt_addr *to)
{
	pr->to = *to;
	pr->fd = socket(nt_addr_family(to), SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(pr->fd >= 0);
}

/* Send one request from a fresh port; the reply, or 0 bytes. */
static size_t
ask(const struct nt_addr *to, const uint8_t *req, size_t len, uint8_t *out,
    size_t cap, int wait_ms)
{
	struct probe pr;
	struct pollfd pfd;
	ssize_t n = 0;

	probe_open(&pr, to);
	assert_int_equal(sendto(pr.fd, req, len, 0,
	    (const struct sockaddr *)&to->ss, to->len), (ssize_t)len);
	pfd = (struct pollfd){ .fd = pr.fd, .events = POLLIN };
	if (poll(&pfd, 1, wait_ms) == 1)
		n = recv(pr.fd, out, cap, 0);
	close(pr.fd);
	return (n > 0 ? (size_t)n : 0);
}

static struct nt_uvserver *
start(int workers, bool no_mmsg, const struct nt_acl *acl,
    const struct nt_server_state *st, bool loopback_limit)
{
	struct nt_addr lo;
	struct nt_uvserver_params p = { .listen = &lo, .n_listen = 1,
	    .workers = workers, .clk = nt_clock_dry(), .no_mmsg = no_mmsg,
	    .srv = { .acl = acl, .rl = { .interval = 1, .burst = 3,
	    .kod = true, .loopback = loopback_limit, .entries = 64 } } };
	struct nt_uvserver *s;
	char err[256] = "";

	assert_int_equal(nt_addr_parse(&lo, "127.0.0.1", 0), 0);
	s = nt_uvserver_start(&p, st, err, sizeof err);
	if (s == NULL)
		fail_msg("%s", err);
	assert_int_equal(nt_uvserver_n_addrs(s), 1);
	assert_int_not_equal(nt_addr_port(nt_uvserver_addr(s, 0)), 0);
	return (s);
}

/* Counters are published after each batch: wait for them to settle. */
static void
wait_counters(struct nt_uvserver *s, uint64_t received,
    struct nt_server_counters *c)
{
	for (int i = 0; i < 200; i++) {
		nt_uvserver_counters(s, c);
		if (c->received >= received)
			return;
		usleep(5000);
	}
	fail_msg("counters stuck at %llu of %llu",
	    (unsigned long long)c->received, (unsigned long long)received);
}

static void
serve_and_check(bool no_mmsg, int workers)
{
	char *none[] = { NULL };
	struct nt_sysinfo si = { .synced = false };
	struct nt_server_state st = state(&si, 9), st2;
	struct nt_server_counters c;
	struct nt_uvserver *s;
	uint8_t req[NTP_HDR_LEN + 20], out[256];
	struct ntp_pkt p;
	struct nt_acl acl;
	nt_time before;
	char err[64];

	assert_int_equal(nt_acl_init(&acl, none, 0, none, 0, err, sizeof err),
	    0);
	s = start(workers, no_mmsg, &acl, &st, false);
	request(req, 4, NTP_MODE_CLIENT, 6);
	for (int i = 0; i < 20; i++) {
		before = nt_clock_now(nt_clock_dry());
		decode(out, ask(nt_uvserver_addr(s, 0), req, NTP_HDR_LEN, out,
		    sizeof out, 2000), &p);
		assert_int_equal(p.stratum, 9);
		assert_true(p.org == XMT);
		/* Kernel receive stamp, then a later transmit stamp. */
		assert_true(nt_from_ntp64(p.rec, before) >= before - NT_MSEC);
		assert_true(p.xmt >= p.rec);
		assert_true(nt_diff(nt_from_ntp64(p.xmt, before), before) < 1);
	}
	/* Mode 6 and a MAC: no answer, counted. */
	request(req, 2, NTP_MODE_CONTROL, 0);
	assert_int_equal(ask(nt_uvserver_addr(s, 0), req, 12, out, sizeof out,
	    100), 0);
	request(req, 4, NTP_MODE_CLIENT, 6);
	memset(req + NTP_HDR_LEN, 0, 20);
	assert_int_equal(ask(nt_uvserver_addr(s, 0), req, NTP_HDR_LEN + 20,
	    out, sizeof out, 100), 0);
	wait_counters(s, 22, &c);
	assert_int_equal(c.n[NT_SRV_REPLY], 20);
	assert_int_equal(c.n[NT_SRV_DROP_MODE], 1);
	assert_int_equal(c.n[NT_SRV_DROP_EXT], 1);
	/* A new snapshot reaches every worker. */
	si = synced_info();
	st2 = state(&si, 9);
	nt_uvserver_publish(s, &st2);
	for (int i = 0; i < 10; i++) {
		decode(out, ask(nt_uvserver_addr(s, 0), req, NTP_HDR_LEN, out,
		    sizeof out, 2000), &p);
		assert_int_equal(p.stratum, 3);
	}
	nt_uvserver_stop(s);
	nt_acl_free(&acl);
}

static void
test_uvserver_batches(void **state_)
{
	(void)state_;
	serve_and_check(false, 2);
}

static void
test_uvserver_one_by_one(void **state_)
{
	(void)state_;
	serve_and_check(true, 1);
}

/*
 * Interleaved mode through real sockets, each request from a new port as
 * chronyd sends them: a client echoing our receive stamps gets, once the
 * kernel's send stamp of a reply is back, that stamp in the next reply.
 */
static void
serve_interleaved(bool no_mmsg, int workers)
{
	char *none[] = { NULL };
	struct nt_sysinfo si = { .synced = false };
	struct nt_server_state st = state(&si, 9);
	struct nt_server_counters c;
	struct nt_uvserver *s;
	uint8_t req[NTP_HDR_LEN], out[256];
	struct ntp_pkt p;
	struct nt_acl acl;
	uint64_t prev_rec = 0, client_rx = 0x42;
	int tries, basic = 0;
	char err[64];

	assert_int_equal(nt_acl_init(&acl, none, 0, none, 0, err, sizeof err),
	    0);
	s = start(workers, no_mmsg, &acl, &st, false);
	request(req, 4, NTP_MODE_CLIENT, 0);
	for (tries = 0; tries < 50; tries++) {
		nt_server_put64(req + 24, prev_rec);
		nt_server_put64(req + 32, ++client_rx);
		decode(out, ask(nt_uvserver_addr(s, 0), req, NTP_HDR_LEN, out,
		    sizeof out, 2000), &p);
		if (p.org == client_rx)
			break;		/* interleaved */
		assert_true(p.org == XMT);	/* basic */
		assert_true(p.xmt > p.rec);
		basic++;
		prev_rec = p.rec;
		usleep(10000);
	}
	assert_true(tries < 50);
	assert_true(basic >= 2);	/* no previous stamp, then its stamp */
	/* The previous reply's send stamp: after its receive stamp. */
	assert_true(p.xmt > prev_rec && p.xmt < p.rec);
	assert_true(nt_diff(nt_from_ntp64(p.xmt, T0), nt_from_ntp64(prev_rec,
	    T0)) < 0.1);
	/* Basic clients are untouched meanwhile. */
	request(req, 4, NTP_MODE_CLIENT, 0);
	decode(out, ask(nt_uvserver_addr(s, 0), req, NTP_HDR_LEN, out,
	    sizeof out, 2000), &p);
	assert_true(p.org == XMT && p.xmt > p.rec);
	wait_counters(s, (uint64_t)basic + 2, &c);
	assert_int_equal(c.interleaved, 1);
	nt_uvserver_stop(s);
	nt_acl_free(&acl);
}

static void
test_uvserver_interleaved(void **state_)
{
	(void)state_;
	serve_interleaved(false, 2);
	serve_interleaved(true, 1);
}

/* A burst from one socket: answered in order, rate limit applied. */
static void
test_uvserver_burst_and_limit(void **state_)
{
	struct nt_sysinfo si = synced_info();
	struct nt_server_state st = state(&si, 0);
	struct nt_server_counters c;
	struct nt_uvserver *s;
	uint8_t req[NTP_HDR_LEN], out[256];
	struct pollfd pfd;
	struct probe pr;
	struct nt_acl acl = { 0 };
	int replies = 0, kods = 0;
	ssize_t n;

	(void)state_;
	s = start(1, false, &acl, &st, true);
	probe_open(&pr, nt_uvserver_addr(s, 0));
	request(req, 4, NTP_MODE_CLIENT, 6);
	for (int i = 0; i < 200; i++)
		assert_int_equal(sendto(pr.fd, req, sizeof req, 0,
		    (const struct sockaddr *)&pr.to.ss, pr.to.len),
		    NTP_HDR_LEN);
	pfd = (struct pollfd){ .fd = pr.fd, .events = POLLIN };
	while (poll(&pfd, 1, 300) == 1 &&
	    (n = recv(pr.fd, out, sizeof out, 0)) > 0) {
		assert_int_equal(n, NTP_HDR_LEN);
		replies += out[1] != 0;
		kods += out[1] == 0;
	}
	close(pr.fd);
	/* Burst 3 (plus what refilled meanwhile), one KoD. */
	assert_in_range(replies, 3, 4);
	assert_int_equal(kods, 1);
	wait_counters(s, 200, &c);
	assert_int_equal(c.n[NT_SRV_DROP_RATE] + c.n[NT_SRV_REPLY] +
	    c.n[NT_SRV_KOD_RATE], 200);
	nt_uvserver_stop(s);
}

/* A wildcard socket answers from the address the request went to. */
static void
test_uvserver_reply_source(void **state_)
{
	struct nt_sysinfo si = synced_info();
	struct nt_server_state st = state(&si, 0);
	struct nt_addr any, to;
	struct nt_acl acl = { 0 };
	struct nt_uvserver_params p = { .listen = &any, .n_listen = 1,
	    .workers = 1, .clk = nt_clock_dry(), .srv = { .acl = &acl,
	    .rl = { .interval = 0, .burst = 1, .entries = 16 } } };
	struct sockaddr_in from;
	socklen_t fromlen = sizeof from;
	struct nt_uvserver *s;
	uint8_t req[NTP_HDR_LEN], out[256];
	struct pollfd pfd;
	char err[256] = "";
	int fd;

	(void)state_;
	assert_int_equal(nt_addr_parse(&any, "0.0.0.0", 0), 0);
	s = nt_uvserver_start(&p, &st, err, sizeof err);
	if (s == NULL)
		fail_msg("%s", err);
	/* 127.0.0.2 is ours too (all of 127/8 is), but not the default. */
	assert_int_equal(nt_addr_parse(&to, "127.0.0.2",
	    nt_addr_port(nt_uvserver_addr(s, 0))), 0);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	request(req, 4, NTP_MODE_CLIENT, 6);
	assert_int_equal(sendto(fd, req, sizeof req, 0,
	    (const struct sockaddr *)&to.ss, to.len), NTP_HDR_LEN);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	assert_int_equal(recvfrom(fd, out, sizeof out, 0,
	    (struct sockaddr *)&from, &fromlen), NTP_HDR_LEN);
	assert_memory_equal(&from.sin_addr,
	    &((const struct sockaddr_in *)&to.ss)->sin_addr, 4);
	close(fd);
	nt_uvserver_stop(s);
}

static void
test_uvserver_port_in_use(void **state_)
{
	struct nt_sysinfo si = synced_info();
	struct nt_server_state st = state(&si, 0);
	struct nt_addr lo;
	struct nt_acl acl = { 0 };
	struct nt_uvserver_params p = { .listen = &lo, .n_listen = 1,
	    .workers = 2, .clk = nt_clock_dry(), .srv = { .acl = &acl,
	    .rl = { .interval = 1, .burst = 1, .entries = 16 } } };
	struct nt_uvserver *s = start(1, false, &acl, &st, false);
	char err[256] = "", want[256], a[NT_ADDRSTRLEN];

	(void)state_;
	lo = *nt_uvserver_addr(s, 0);
	assert_null(nt_uvserver_start(&p, &st, err, sizeof err));
	snprintf(want, sizeof want, "cannot serve on %s: %s (is another NTP "
	    "server running?)", nt_addr_format(&lo, a, sizeof a),
	    strerror(EADDRINUSE));
	assert_string_equal(err, want);
	nt_uvserver_stop(s);
}

/*
 * A wildcard listed after an address of its family on the same port (or
 * before it) is our own overlap, not "another NTP server running".
 */
static void
test_uvserver_overlapping_listen(void **state_)
{
	struct nt_sysinfo si = synced_info();
	struct nt_server_state st = state(&si, 0);
	struct nt_addr lo[2];
	struct nt_acl acl = { 0 };
	struct nt_uvserver_params p = { .listen = lo, .n_listen = 2,
	    .workers = 1, .clk = nt_clock_dry(), .srv = { .acl = &acl,
	    .rl = { .interval = 1, .burst = 1, .entries = 16 } } };
	struct nt_uvserver *s = start(1, false, &acl, &st, false);
	char err[256] = "", want[256];
	uint16_t port = nt_addr_port(nt_uvserver_addr(s, 0));

	(void)state_;
	nt_uvserver_stop(s);	/* its port is now ours to reuse */
	assert_int_equal(nt_addr_parse(&lo[0], "127.0.0.1", port), 0);
	assert_int_equal(nt_addr_parse(&lo[1], "0.0.0.0", port), 0);
	assert_null(nt_uvserver_start(&p, &st, err, sizeof err));
	snprintf(want, sizeof want, "cannot serve on 0.0.0.0:%u: "
	    "127.0.0.1:%u, listed before, serves it already; list one or "
	    "the other", port, port);
	assert_string_equal(err, want);
}

/* Descriptors this process has open. */
static int
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return (n - 3);		/* ".", ".." and the directory's own */
}

/*
 * Out of descriptors (each worker's loop needs some: workers: 256 under
 * systemd's default soft limit of 1024): a one-line reason, nothing
 * left running -- not libuv aborting on a handle it never initialized.
 */
static void
test_uvserver_out_of_descriptors(void **state_)
{
	struct nt_sysinfo si = synced_info();
	struct nt_server_state st = state(&si, 0);
	struct nt_addr lo;
	struct nt_acl acl = { 0 };
	struct nt_uvserver_params p = { .listen = &lo, .n_listen = 1,
	    .workers = 32, .clk = nt_clock_dry(), .srv = { .acl = &acl,
	    .rl = { .interval = 1, .burst = 1, .entries = 16 } } };
	struct rlimit old, low;
	char err[256] = "";
	int before;

	(void)state_;
	assert_int_equal(nt_addr_parse(&lo, "127.0.0.1", 0), 0);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	before = open_fds();
	low = old;
	low.rlim_cur = (rlim_t)before + 16;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	assert_null(nt_uvserver_start(&p, &st, err, sizeof err));
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_non_null(strstr(err, strerror(EMFILE)));
	/*
	 * libuv 1.44 (Debian 12) leaks its epoll descriptor when
	 * uv_loop_init() fails (fixed by libuv pull request 4757): that
	 * one, and nothing else.
	 */
	assert_true(open_fds() <= before + 1);
}

/* ---- The dry-run clock under concurrent readers ---- */

static atomic_bool readers_stop;

static void *
reader(void *arg)
{
	struct nt_clock *clk = nt_clock_dry();
	nt_time k = *(nt_time *)arg;
	long bad = 0;

	while (!atomic_load(&readers_stop)) {
		double c = nt_diff(clk->ops->from_kernel(clk, k), k);

		/* Steps of 0 or 1 s, frequencies within 1000 ppm. */
		bad += !(isfinite(c) && c > -0.1 && c < 1.1);
		(void)nt_clock_now(clk);
	}
	return ((void *)bad);
}

static void
test_dry_clock_threads(void **state_)
{
	struct nt_clock *clk;
	pthread_t t[2];
	nt_time k;
	void *bad;

	(void)state_;
	nt_clock_dry_reset();
	clk = nt_clock_dry();
	k = nt_clock_now(clk) + 10 * NT_SEC;
	atomic_store(&readers_stop, false);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, reader, &k), 0);
	for (int i = 0; i < 20000; i++) {
		assert_int_equal(clk->ops->set_freq(clk, i % 2 ? 1000 : -1000),
		    0);
		assert_int_equal(clk->ops->step(clk, i % 2 ? -1.0 : 1.0), 0);
		assert_int_equal(clk->ops->slew(clk, i % 2 ? 0.01 : -0.01), 0);
	}
	atomic_store(&readers_stop, true);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], &bad);
		assert_int_equal((long)bad, 0);
	}
	nt_clock_dry_reset();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_fields),
		cmocka_unit_test(test_versions_and_poll),
		cmocka_unit_test(test_unsynchronized),
		cmocka_unit_test(test_local_stratum),
		cmocka_unit_test(test_stratum16_upstream),
		cmocka_unit_test(test_dispersion_limits),
		cmocka_unit_test(test_kod),
		cmocka_unit_test(test_modes_and_versions),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_extension_fields),
		cmocka_unit_test(test_handle_acl_and_rate),
		cmocka_unit_test(test_precision),
		cmocka_unit_test(test_uvserver_batches),
		cmocka_unit_test(test_uvserver_one_by_one),
		cmocka_unit_test(test_uvserver_burst_and_limit),
		cmocka_unit_test(test_uvserver_interleaved),
		cmocka_unit_test(test_uvserver_reply_source),
		cmocka_unit_test(test_uvserver_port_in_use),
		cmocka_unit_test(test_uvserver_overlapping_listen),
		cmocka_unit_test(test_uvserver_out_of_descriptors),
		cmocka_unit_test(test_dry_clock_threads),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
