/*
 * Tests for the NTP packet codec.  The decoder is the first code to touch
 * bytes from the network, so besides round trips and a real-looking reply
 * it gets every length from 0 to 100 bytes of garbage, in buffers sized
 * exactly to the datagram so that valgrind sees any read past the end.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ntp_pkt.h"
#include "timeutil.h"

/* cmocka's assert_float_equal() goes through float: too coarse here. */
static void
assert_near_at(double a, double b, double eps, const char *file, int line)
{
	if (!(fabs(a - b) <= eps)) {
		print_error("%.17g != %.17g (eps %g)\n", a, b, eps);
		_fail(file, line);
	}
}
#define assert_near(a, b, eps) \
	assert_near_at((a), (b), (eps), __FILE__, __LINE__)

/* Deterministic xorshift64*, so a failure can be replayed. */
static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (rng_state * UINT64_C(2685821657736338717));
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A plausible reply to a request whose transmit timestamp was xmt. */
static struct ntp_pkt
good_reply(uint64_t our_xmt)
{
	struct ntp_pkt p;

	memset(&p, 0, sizeof(p));
	p.leap = NTP_LEAP_NONE;
	p.version = 4;
	p.mode = NTP_MODE_SERVER;
	p.stratum = 2;
	p.poll = 6;
	p.precision = -24;
	p.root_delay = nt_to_ntp32(0.010);
	p.root_disp = nt_to_ntp32(0.020);
	p.refid = NTP_CODE("\x7f\x7f\x01\x01");
	p.ref = our_xmt - (UINT64_C(100) << 32);
	p.org = our_xmt;
	p.rec = our_xmt + (UINT64_C(1) << 30);
	p.xmt = our_xmt + (UINT64_C(1) << 31);
	return (p);
}

/* A 48-byte valid header followed by room for a trailer, in one malloc. */
static uint8_t *
make_datagram(size_t len)
{
	struct ntp_pkt p = good_reply(UINT64_C(0xebe6bf811f9add37));
	uint8_t *buf = calloc(1, len > 0 ? len : 1);

	assert_non_null(buf);
	if (len >= NTP_HDR_LEN)
		assert_int_equal(ntp_encode(&p, buf, len), NTP_HDR_LEN);
	return (buf);
}

static enum ntp_decode_err
decode_exact(const uint8_t *src, size_t len, struct ntp_pkt *out)
{
	/* Copy into a buffer of exactly len bytes so overreads are caught. */
	uint8_t *b = malloc(len > 0 ? len : 1);
	enum ntp_decode_err e;

	assert_non_null(b);
	if (len > 0)
		memcpy(b, src, len);
	e = ntp_decode(b, len, out);
	free(b);
	return (e);
}

static void
assert_same_header(const struct ntp_pkt *a, const struct ntp_pkt *b)
{
	assert_int_equal(a->leap, b->leap);
	assert_int_equal(a->version, b->version);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->stratum, b->stratum);
	assert_int_equal(a->poll, b->poll);
	assert_int_equal(a->precision, b->precision);
	assert_int_equal(a->root_delay, b->root_delay);
	assert_int_equal(a->root_disp, b->root_disp);
	assert_int_equal(a->refid, b->refid);
	assert_true(a->ref == b->ref);
	assert_true(a->org == b->org);
	assert_true(a->rec == b->rec);
	assert_true(a->xmt == b->xmt);
}

static void
test_roundtrip(void **state)
{
	(void)state;
	for (int i = 0; i < 2000; i++) {
		struct ntp_pkt in, out;
		uint8_t buf[NTP_HDR_LEN];
		uint64_t r = rng();

		memset(&in, 0, sizeof(in));
		in.leap = r & 3;
		in.version = 1 + (r >> 2) % 4;
		in.mode = (r >> 5) & 7;
		in.stratum = (uint8_t)(r >> 8);
		in.poll = (int8_t)(r >> 16);
		in.precision = (int8_t)(r >> 24);
		in.root_delay = (uint32_t)rng();
		in.root_disp = (uint32_t)rng();
		in.refid = (uint32_t)rng();
		in.ref = rng();
		in.org = rng();
		in.rec = rng();
		in.xmt = rng();
		assert_int_equal(ntp_encode(&in, buf, sizeof(buf)), NTP_HDR_LEN);
		assert_int_equal(decode_exact(buf, sizeof(buf), &out),
		    NTP_DECODE_OK);
		assert_same_header(&in, &out);
		assert_int_equal(out.n_ext, 0);
		assert_int_equal(out.ext_len, 0);
		assert_int_equal(out.mac_len, 0);
	}
}

static void
test_encode_layout(void **state)
{
	struct ntp_pkt p;
	uint8_t buf[NTP_HDR_LEN + 4];
	static const uint8_t want[NTP_HDR_LEN] = {
		0xdc, 0x0f, 0x11, 0xec,		/* LI 3, VN 3, mode 4 */
		0x01, 0x02, 0x03, 0x04,
		0x05, 0x06, 0x07, 0x08,
		'G', 'P', 'S', 0,
		0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
		0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
		0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
		0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
	};

	(void)state;
	memset(&p, 0, sizeof(p));
	p.leap = 3;
	p.version = 3;
	p.mode = 4;
	p.stratum = 15;
	p.poll = 17;
	p.precision = -20;
	p.root_delay = 0x01020304;
	p.root_disp = 0x05060708;
	p.refid = NTP_CODE("GPS\0");
	p.ref = UINT64_C(0x1011121314151617);
	p.org = UINT64_C(0x2021222324252627);
	p.rec = UINT64_C(0x3031323334353637);
	p.xmt = UINT64_C(0x4041424344454647);
	memset(buf, 0xa5, sizeof(buf));
	assert_int_equal(ntp_encode(&p, buf, sizeof(buf)), NTP_HDR_LEN);
	assert_memory_equal(buf, want, NTP_HDR_LEN);
	/* Nothing past the header is written. */
	for (size_t i = NTP_HDR_LEN; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xa5);
	/* Too small a buffer: 0 and untouched. */
	memset(buf, 0xa5, sizeof(buf));
	assert_int_equal(ntp_encode(&p, buf, NTP_HDR_LEN - 1), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xa5);
}

/*
 * A reply as chronyd sends it: LI 0, VN 4, mode 4, stratum 2, poll 6,
 * precision -24, refid 127.127.1.1, in answer to a request sent at
 * 2025-06-01T12:01:05.123456789Z.
 */
static const uint8_t chrony_reply[NTP_HDR_LEN] = {
	0x24, 0x02, 0x06, 0xe8,
	0x00, 0x00, 0x0a, 0x3d,				/* root delay */
	0x00, 0x00, 0x0d, 0x2f,				/* root dispersion */
	0x7f, 0x7f, 0x01, 0x01,				/* refid */
	0xeb, 0xe6, 0xbf, 0x40, 0x00, 0x00, 0x00, 0x00,	/* reference */
	0xeb, 0xe6, 0xbf, 0x81, 0x1f, 0x9a, 0xdd, 0x37,	/* origin */
	0xeb, 0xe6, 0xbf, 0x81, 0x20, 0x00, 0x00, 0x00,	/* receive */
	0xeb, 0xe6, 0xbf, 0x81, 0x20, 0x01, 0x00, 0x00,	/* transmit */
};

static void
assert_utc(uint64_t ts, const char *want)
{
	/* Pivot: 2025-01-01T00:00:00Z. */
	nt_time pivot = INT64_C(1735689600) * NT_SEC;
	char buf[NT_TIMESTR_LEN];

	assert_string_equal(nt_format_utc(nt_from_ntp64(ts, pivot), buf,
	    sizeof(buf)), want);
}

static void
test_chrony_vector(void **state)
{
	struct ntp_pkt p;
	uint8_t re[NTP_HDR_LEN];
	char rs[NTP_REFID_STRLEN];

	(void)state;
	assert_int_equal(decode_exact(chrony_reply, sizeof(chrony_reply), &p),
	    NTP_DECODE_OK);
	assert_int_equal(p.leap, NTP_LEAP_NONE);
	assert_int_equal(p.version, 4);
	assert_int_equal(p.mode, NTP_MODE_SERVER);
	assert_int_equal(p.stratum, 2);
	assert_int_equal(p.poll, 6);
	assert_int_equal(p.precision, -24);
	assert_int_equal(p.root_delay, 2621);
	assert_int_equal(p.root_disp, 3375);
	assert_near(nt_from_ntp32(p.root_delay), 0.0399932861328125, 0);
	assert_near(nt_from_ntp32(p.root_disp), 0.0514984130859375, 0);
	assert_near(ntp_root_distance(&p), 0.07149505615234375, 1e-15);
	assert_int_equal(p.refid, 0x7f7f0101);
	assert_string_equal(ntp_refid_str(p.refid, p.stratum, rs, sizeof(rs)),
	    "127.127.1.1");
	assert_true(p.ref == UINT64_C(0xebe6bf4000000000));
	assert_true(p.org == UINT64_C(0xebe6bf811f9add37));
	assert_true(p.rec == UINT64_C(0xebe6bf8120000000));
	assert_true(p.xmt == UINT64_C(0xebe6bf8120010000));
	assert_utc(p.ref, "2025-06-01T12:00:00.000000000Z");
	assert_utc(p.org, "2025-06-01T12:01:05.123456789Z");
	assert_utc(p.rec, "2025-06-01T12:01:05.125000000Z");
	assert_utc(p.xmt, "2025-06-01T12:01:05.125015259Z");
	assert_int_equal(p.n_ext, 0);
	assert_int_equal(p.ext_len, 0);
	assert_int_equal(p.mac_len, 0);
	/* Our request's transmit timestamp is what the server echoed. */
	assert_int_equal(ntp_check_reply(&p, UINT64_C(0xebe6bf811f9add37),
	    1.0), NTP_REPLY_OK);
	assert_int_equal(ntp_check_reply(&p, UINT64_C(0xebe6bf811f9add37),
	    0.07), NTP_REPLY_DISTANCE);
	/* And it encodes back to the same bytes. */
	assert_int_equal(ntp_encode(&p, re, sizeof(re)), NTP_HDR_LEN);
	assert_memory_equal(re, chrony_reply, NTP_HDR_LEN);
}

static void
test_version(void **state)
{
	uint8_t buf[NTP_HDR_LEN];
	struct ntp_pkt p;

	(void)state;
	for (unsigned vn = 0; vn < 8; vn++) {
		memcpy(buf, chrony_reply, sizeof(buf));
		buf[0] = (uint8_t)((buf[0] & ~0x38u) | vn << 3);
		if (vn >= 1 && vn <= 4) {
			assert_int_equal(decode_exact(buf, sizeof(buf), &p),
			    NTP_DECODE_OK);
		} else {
			assert_int_equal(decode_exact(buf, sizeof(buf), &p),
			    NTP_DECODE_VERSION);
		}
		/* The header is filled either way, for logging. */
		assert_int_equal(p.version, vn);
		assert_int_equal(p.stratum, 2);
		assert_true(p.xmt == UINT64_C(0xebe6bf8120010000));
	}
}

/* len bytes of garbage, exactly allocated: any result must be sane. */
static void
check_garbage(const uint8_t *src, size_t len)
{
	struct ntp_pkt p;
	enum ntp_decode_err e = decode_exact(src, len, &p);
	unsigned vn;

	if (len < NTP_HDR_LEN) {
		assert_int_equal(e, NTP_DECODE_SHORT);
		return;
	}
	vn = (src[0] >> 3) & 7;
	if (vn == 0 || vn > 4) {
		assert_int_equal(e, NTP_DECODE_VERSION);
		return;
	}
	assert_true(e == NTP_DECODE_OK || e == NTP_DECODE_EXTENSION);
	if (e == NTP_DECODE_OK) {
		assert_int_equal(p.ext_len + p.mac_len, len - NTP_HDR_LEN);
		assert_true(p.mac_len == 0 || p.mac_len == 4 ||
		    p.mac_len == 20 || p.mac_len == 24);
		assert_true(p.n_ext * 16 <= p.ext_len);
	}
}

static void
test_garbage_every_length(void **state)
{
	uint8_t buf[101];

	(void)state;
	for (size_t len = 0; len <= 100; len++) {
		memset(buf, 0, sizeof(buf));
		check_garbage(buf, len);
		memset(buf, 0xff, sizeof(buf));
		check_garbage(buf, len);
		for (int i = 0; i < 500; i++) {
			for (size_t j = 0; j < sizeof(buf); j++)
				buf[j] = (uint8_t)rng();
			check_garbage(buf, len);
			/* Same with a valid version so the trailer is parsed. */
			buf[0] = (uint8_t)((buf[0] & ~0x38u) | 4u << 3);
			if ((i & 1) && len >= 52)	/* a plausible field length */
				put16(buf + 50, (uint16_t)(4 * (rng() % 16)));
			check_garbage(buf, len);
		}
	}
}

static int
in_list(size_t v, const size_t *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == v)
			return (1);
	return (0);
}

/* A valid header padded with zeros: only no trailer or a bare MAC pass. */
static void
test_zero_padding_lengths(void **state)
{
	static const size_t ok[] = { 48, 52, 68, 72 };
	struct ntp_pkt p;

	(void)state;
	for (size_t len = 0; len <= 100; len++) {
		uint8_t *buf = make_datagram(len);
		enum ntp_decode_err e = ntp_decode(buf, len, &p);

		if (len < NTP_HDR_LEN)
			assert_int_equal(e, NTP_DECODE_SHORT);
		else if (in_list(len, ok, sizeof(ok) / sizeof(ok[0]))) {
			assert_int_equal(e, NTP_DECODE_OK);
			assert_int_equal(p.n_ext, 0);
			assert_int_equal(p.mac_len, len - NTP_HDR_LEN);
		} else
			assert_int_equal(e, NTP_DECODE_EXTENSION);
		free(buf);
	}
}

/*
 * A valid header followed by back-to-back 16-byte extension fields cut at
 * every length.  What remains after whole fields must be nothing or a MAC
 * (4, 20, 24); a remainder of exactly 20 or 24 at the start is a MAC too.
 * Remainders that pass: 0 4 16 20 24 32 36 40 48 52.
 */
static void
test_extension_shaped_lengths(void **state)
{
	static const size_t ok[] = { 48, 52, 64, 68, 72, 80, 84, 88, 96, 100 };
	struct ntp_pkt p;

	(void)state;
	for (size_t len = NTP_HDR_LEN; len <= 100; len++) {
		uint8_t *buf = make_datagram(len);
		enum ntp_decode_err e;

		for (size_t off = NTP_HDR_LEN; off + 4 <= len; off += 16) {
			put16(buf + off, 0x0104);
			put16(buf + off + 2, 16);
		}
		e = ntp_decode(buf, len, &p);
		if (in_list(len, ok, sizeof(ok) / sizeof(ok[0]))) {
			assert_int_equal(e, NTP_DECODE_OK);
			assert_int_equal(p.ext_len, 16 * p.n_ext);
			assert_int_equal(p.ext_len + p.mac_len,
			    len - NTP_HDR_LEN);
		} else
			assert_int_equal(e, NTP_DECODE_EXTENSION);
		free(buf);
	}
}

/* Build header + fields of the given lengths + a MAC of mac bytes. */
static enum ntp_decode_err
decode_fields(const uint16_t *flen, size_t nf, size_t mac, struct ntp_pkt *p)
{
	size_t len = NTP_HDR_LEN + mac, off = NTP_HDR_LEN;
	uint8_t *buf;
	enum ntp_decode_err e;

	for (size_t i = 0; i < nf; i++)
		len += flen[i];
	buf = make_datagram(len);
	for (size_t i = 0; i < nf; i++) {
		put16(buf + off, (uint16_t)(0x0200 + i));
		put16(buf + off + 2, flen[i]);
		memset(buf + off + 4, 0x5a, flen[i] - 4u);
		off += flen[i];
	}
	memset(buf + off, 0xee, mac);
	e = ntp_decode(buf, len, p);
	free(buf);
	return (e);
}

static void
test_extension_fields(void **state)
{
	static const uint16_t one16[] = { 16 };
	static const uint16_t two[] = { 16, 28 };
	static const uint16_t nts[] = { 36, 104, 260 };
	static const uint16_t one28[] = { 28 };
	struct ntp_pkt p;

	(void)state;
	assert_int_equal(decode_fields(one16, 1, 0, &p), NTP_DECODE_OK);
	assert_int_equal(p.n_ext, 1);
	assert_int_equal(p.ext_len, 16);
	assert_int_equal(p.mac_len, 0);

	assert_int_equal(decode_fields(two, 2, 0, &p), NTP_DECODE_OK);
	assert_int_equal(p.n_ext, 2);
	assert_int_equal(p.ext_len, 44);
	assert_int_equal(p.mac_len, 0);

	assert_int_equal(decode_fields(nts, 3, 0, &p), NTP_DECODE_OK);
	assert_int_equal(p.n_ext, 3);
	assert_int_equal(p.ext_len, 400);

	/* Field + MAC, each MAC size. */
	for (size_t mac = 4; mac <= 24; mac += 4) {
		enum ntp_decode_err e = decode_fields(one28, 1, mac, &p);

		if (mac == 4 || mac == 20 || mac == 24) {
			assert_int_equal(e, NTP_DECODE_OK);
			assert_int_equal(p.n_ext, 1);
			assert_int_equal(p.ext_len, 28);
			assert_int_equal(p.mac_len, mac);
		} else
			assert_int_equal(e, NTP_DECODE_EXTENSION);
	}
	assert_int_equal(decode_fields(two, 2, 24, &p), NTP_DECODE_OK);
	assert_int_equal(p.n_ext, 2);
	assert_int_equal(p.mac_len, 24);

	/*
	 * RFC 7822's length rule: 16 + 4 bytes after the header is 20 bytes,
	 * which is read as a 20-byte MAC, not as a field plus a crypto-NAK.
	 */
	assert_int_equal(decode_fields(one16, 1, 4, &p), NTP_DECODE_OK);
	assert_int_equal(p.n_ext, 0);
	assert_int_equal(p.mac_len, 20);

	/* A single field filling a maximum-size datagram. */
	{
		const uint16_t big[] = { NTP_MAX_PKT - NTP_HDR_LEN };

		assert_int_equal(decode_fields(big, 1, 0, &p), NTP_DECODE_OK);
		assert_int_equal(p.ext_len, NTP_MAX_PKT - NTP_HDR_LEN);
	}
}

/* A 32-byte trailer whose single field header claims length flen. */
static enum ntp_decode_err
decode_bad_field(uint16_t flen)
{
	size_t len = NTP_HDR_LEN + 32;
	uint8_t *buf = make_datagram(len);
	struct ntp_pkt p;
	enum ntp_decode_err e;

	put16(buf + NTP_HDR_LEN, 0x0104);
	put16(buf + NTP_HDR_LEN + 2, flen);
	e = ntp_decode(buf, len, &p);
	free(buf);
	return (e);
}

static void
test_extension_malformed(void **state)
{
	static const uint16_t two[] = { 16, 28 };
	struct ntp_pkt p;

	(void)state;
	assert_int_equal(decode_bad_field(32), NTP_DECODE_OK);	/* control */
	assert_int_equal(decode_bad_field(0), NTP_DECODE_EXTENSION);
	assert_int_equal(decode_bad_field(4), NTP_DECODE_EXTENSION);
	assert_int_equal(decode_bad_field(12), NTP_DECODE_EXTENSION);
	assert_int_equal(decode_bad_field(18), NTP_DECODE_EXTENSION);
	assert_int_equal(decode_bad_field(30), NTP_DECODE_EXTENSION);
	assert_int_equal(decode_bad_field(36), NTP_DECODE_EXTENSION);
	assert_int_equal(decode_bad_field(0xfffc), NTP_DECODE_EXTENSION);
	assert_int_equal(decode_bad_field(0xffff), NTP_DECODE_EXTENSION);
	/* A valid 16-byte field then 16 bytes of junk. */
	assert_int_equal(decode_bad_field(16), NTP_DECODE_EXTENSION);
	/* Two valid fields, then 8 stray bytes (not a MAC size). */
	assert_int_equal(decode_fields(two, 2, 8, &p), NTP_DECODE_EXTENSION);
	/* 12 bytes: too short for a field, not a MAC. */
	assert_int_equal(decode_fields(NULL, 0, 12, &p), NTP_DECODE_EXTENSION);
}

static void
test_long(void **state)
{
	uint8_t *buf = make_datagram(NTP_MAX_PKT + 4);
	struct ntp_pkt p;

	(void)state;
	/* One field makes it well-formed but for its size. */
	put16(buf + NTP_HDR_LEN + 2, NTP_MAX_PKT + 4 - NTP_HDR_LEN);
	assert_int_equal(ntp_decode(buf, NTP_MAX_PKT + 4, &p),
	    NTP_DECODE_LONG);
	assert_int_equal(ntp_decode(buf, NTP_MAX_PKT + 1, &p),
	    NTP_DECODE_LONG);
	free(buf);
	buf = make_datagram(65536);
	assert_int_equal(ntp_decode(buf, 65536, &p), NTP_DECODE_LONG);
	free(buf);
}

static void
test_decode_strerror(void **state)
{
	static const enum ntp_decode_err all[] = {
		NTP_DECODE_OK, NTP_DECODE_SHORT, NTP_DECODE_VERSION,
		NTP_DECODE_EXTENSION, NTP_DECODE_LONG,
	};
	size_t n = sizeof(all) / sizeof(all[0]);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		const char *s = ntp_decode_strerror(all[i]);

		assert_non_null(s);
		assert_true(strlen(s) > 1);
		assert_null(strchr(s, '\n'));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(s,
			    ntp_decode_strerror(all[j]));
	}
}

#define OUR_XMT UINT64_C(0xebe6bf811f9add37)

static enum ntp_verdict
check(const struct ntp_pkt *p)
{
	return (ntp_check_reply(p, OUR_XMT, 1.5));
}

static void
test_verdicts(void **state)
{
	struct ntp_pkt p;

	(void)state;
	p = good_reply(OUR_XMT);
	assert_int_equal(check(&p), NTP_REPLY_OK);
	for (unsigned v = 1; v <= 4; v++) {
		p.version = (uint8_t)v;
		assert_int_equal(check(&p), NTP_REPLY_OK);
	}

	p = good_reply(OUR_XMT);
	p.version = 0;
	assert_int_equal(check(&p), NTP_REPLY_BAD_VERSION);
	p.version = 5;
	assert_int_equal(check(&p), NTP_REPLY_BAD_VERSION);
	p.mode = NTP_MODE_CLIENT;	/* version is checked first */
	assert_int_equal(check(&p), NTP_REPLY_BAD_VERSION);

	for (unsigned m = 0; m < 8; m++) {
		p = good_reply(OUR_XMT);
		p.mode = (uint8_t)m;
		assert_int_equal(check(&p), m == NTP_MODE_SERVER ?
		    NTP_REPLY_OK : NTP_REPLY_BAD_MODE);
	}

	p = good_reply(OUR_XMT);
	p.org = OUR_XMT + 1;
	assert_int_equal(check(&p), NTP_REPLY_BOGUS_ORIGIN);
	p.org = 0;
	assert_int_equal(check(&p), NTP_REPLY_BOGUS_ORIGIN);

	p = good_reply(OUR_XMT);
	p.xmt = 0;
	assert_int_equal(check(&p), NTP_REPLY_ZERO_XMT);
	/* A zero receive time would put the server in 1900 (or 2036). */
	p = good_reply(OUR_XMT);
	p.rec = 0;
	assert_int_equal(check(&p), NTP_REPLY_ZERO_REC);
}

/*
 * A negative delay is possible only within the clocks' resolution: the
 * server's precision and our 1 us.
 */
static void
test_delay_possible(void **state)
{
	(void)state;
	assert_true(ntp_delay_possible(0.0, -20));
	assert_true(ntp_delay_possible(1.5, -20));
	assert_true(ntp_delay_possible(-1e-6, -30));
	assert_false(ntp_delay_possible(-1.1e-6, -30));
	assert_true(ntp_delay_possible(-(ldexp(1, -10) + 1e-6), -10));
	assert_false(ntp_delay_possible(-(ldexp(1, -10) + 1.1e-6), -10));
	assert_false(ntp_delay_possible(-0.3, -20));
	assert_false(ntp_delay_possible(-INFINITY, -20));
}

/* Stratum 0 without a kiss code is an unsynchronized server, not a KoD. */
static void
test_verdict_stratum0_no_code(void **state)
{
	static const uint32_t refids[] = { 0, 0x7f000001, 0x20202020,
	    0x41004100, 0x414243ff, 0x00414243 };
	struct ntp_pkt p;

	(void)state;
	for (size_t i = 0; i < sizeof(refids) / sizeof(refids[0]); i++) {
		p = good_reply(OUR_XMT);
		p.stratum = 0;
		p.leap = NTP_LEAP_UNSYNC;
		p.refid = (uint32_t)refids[i];
		assert_false(ntp_is_kiss_code(p.refid));
		assert_int_equal(check(&p), NTP_REPLY_UNSYNC);
	}
	assert_true(ntp_is_kiss_code(NTP_CODE("RATE")));
	assert_true(ntp_is_kiss_code(NTP_CODE("GPS\0")));
	assert_true(ntp_is_kiss_code(NTP_CODE("X\0\0\0")));
}

static void
test_verdict_kod(void **state)
{
	static const struct {
		const char	*code;
		enum ntp_verdict v;
	} kods[] = {
		{ "RATE", NTP_REPLY_KOD_RATE },
		{ "DENY", NTP_REPLY_KOD_DENY },
		{ "RSTR", NTP_REPLY_KOD_RSTR },
		{ "INIT", NTP_REPLY_KOD_OTHER },
		{ "STEP", NTP_REPLY_KOD_OTHER },
		{ "rate", NTP_REPLY_KOD_OTHER },
		{ "X\0\0\0", NTP_REPLY_KOD_OTHER },
	};
	struct ntp_pkt p;

	(void)state;
	for (size_t i = 0; i < sizeof(kods) / sizeof(kods[0]); i++) {
		p = good_reply(OUR_XMT);
		p.stratum = 0;
		p.leap = NTP_LEAP_UNSYNC;	/* as KoD senders set it */
		p.refid = NTP_CODE(kods[i].code);
		assert_int_equal(check(&p), kods[i].v);
		assert_true(ntp_verdict_is_kod(check(&p)));
		/* A KoD that does not echo our request is forged or stale. */
		p.org = OUR_XMT ^ 1;
		assert_int_equal(check(&p), NTP_REPLY_BOGUS_ORIGIN);
		assert_false(ntp_verdict_is_kod(check(&p)));
		/* A KoD in the wrong mode is not a reply at all. */
		p.org = OUR_XMT;
		p.mode = NTP_MODE_BROADCAST;
		assert_int_equal(check(&p), NTP_REPLY_BAD_MODE);
		/* Nor is one with a zero transmit timestamp. */
		p.mode = NTP_MODE_SERVER;
		p.xmt = 0;
		assert_int_equal(check(&p), NTP_REPLY_ZERO_XMT);
	}
}

static void
test_verdict_unsync_distance(void **state)
{
	struct ntp_pkt p;

	(void)state;
	p = good_reply(OUR_XMT);
	p.leap = NTP_LEAP_UNSYNC;
	assert_int_equal(check(&p), NTP_REPLY_UNSYNC);
	p.leap = NTP_LEAP_INSERT;
	assert_int_equal(check(&p), NTP_REPLY_OK);
	p.leap = NTP_LEAP_DELETE;
	assert_int_equal(check(&p), NTP_REPLY_OK);

	for (unsigned s = 1; s < 256; s++) {
		p = good_reply(OUR_XMT);
		p.stratum = (uint8_t)s;
		assert_int_equal(check(&p), s >= 16 ?
		    NTP_REPLY_UNSYNC : NTP_REPLY_OK);
	}
	/* Unsynchronized outranks distance. */
	p = good_reply(OUR_XMT);
	p.stratum = 16;
	p.root_disp = 0xffffffff;
	assert_int_equal(check(&p), NTP_REPLY_UNSYNC);

	/* Distance = delay/2 + dispersion = 0.5 + 1.0 = 1.5 s. */
	p = good_reply(OUR_XMT);
	p.root_delay = 0x00010000;
	p.root_disp = 0x00010000;
	assert_near(ntp_root_distance(&p), 1.5, 0);
	assert_int_equal(ntp_check_reply(&p, OUR_XMT, 1.5), NTP_REPLY_OK);
	assert_int_equal(ntp_check_reply(&p, OUR_XMT, 1.49999),
	    NTP_REPLY_DISTANCE);
	p.root_disp++;
	assert_int_equal(ntp_check_reply(&p, OUR_XMT, 1.5),
	    NTP_REPLY_DISTANCE);
	p.root_delay = 0xffffffff;
	p.root_disp = 0xffffffff;
	assert_near(ntp_root_distance(&p), 65535.9999847412109375 * 1.5,
	    1e-9);
	assert_int_equal(check(&p), NTP_REPLY_DISTANCE);
	p.root_delay = 0;
	p.root_disp = 0;
	assert_int_equal(ntp_check_reply(&p, OUR_XMT, 0.0), NTP_REPLY_OK);
}

static void
test_verdict_str(void **state)
{
	enum ntp_verdict v;
	int nkod = 0;

	(void)state;
	for (v = NTP_REPLY_OK; v <= NTP_REPLY_DISTANCE; v++) {
		const char *s = ntp_verdict_str(v);

		assert_non_null(s);
		assert_true(strlen(s) > 1);
		assert_null(strchr(s, '\n'));
		for (enum ntp_verdict w = NTP_REPLY_OK; w < v; w++)
			assert_string_not_equal(s, ntp_verdict_str(w));
		nkod += ntp_verdict_is_kod(v);
	}
	assert_int_equal(nkod, 4);
	assert_true(ntp_verdict_is_kod(NTP_REPLY_KOD_RATE));
	assert_true(ntp_verdict_is_kod(NTP_REPLY_KOD_DENY));
	assert_true(ntp_verdict_is_kod(NTP_REPLY_KOD_RSTR));
	assert_true(ntp_verdict_is_kod(NTP_REPLY_KOD_OTHER));
	assert_false(ntp_verdict_is_kod(NTP_REPLY_OK));
	assert_false(ntp_verdict_is_kod(NTP_REPLY_BOGUS_ORIGIN));
}

static void
test_refid_str(void **state)
{
	char b[NTP_REFID_STRLEN];

	(void)state;
	assert_string_equal(ntp_refid_str(0x7f7f0101, 2, b, sizeof(b)),
	    "127.127.1.1");
	assert_string_equal(ntp_refid_str(0xc0a80001, 15, b, sizeof(b)),
	    "192.168.0.1");
	assert_string_equal(ntp_refid_str(0xffffffff, 16, b, sizeof(b)),
	    "255.255.255.255");
	assert_string_equal(ntp_refid_str(0, 3, b, sizeof(b)), "0.0.0.0");
	/* A code that looks like text is still an address at stratum 2. */
	assert_string_equal(ntp_refid_str(NTP_CODE("GPS\0"), 2, b, sizeof(b)),
	    "71.80.83.0");

	assert_string_equal(ntp_refid_str(NTP_CODE("GPS\0"), 1, b, sizeof(b)),
	    "GPS");
	assert_string_equal(ntp_refid_str(NTP_CODE("PPS\0"), 1, b, sizeof(b)),
	    "PPS");
	assert_string_equal(ntp_refid_str(NTP_CODE("LOCL"), 1, b, sizeof(b)),
	    "LOCL");
	assert_string_equal(ntp_refid_str(NTP_CODE("RATE"), 0, b, sizeof(b)),
	    "RATE");
	assert_string_equal(ntp_refid_str(NTP_CODE("DCF\0"), 1, b, sizeof(b)),
	    "DCF");
	assert_string_equal(ntp_refid_str(0, 0, b, sizeof(b)), "");
	/* Unprintable bytes vanish wherever they are. */
	assert_string_equal(ntp_refid_str(0x014142ff, 1, b, sizeof(b)), "AB");
	assert_string_equal(ntp_refid_str(0x0a587f80, 0, b, sizeof(b)), "X");
	assert_string_equal(ntp_refid_str(0x80ff9f00, 1, b, sizeof(b)), "");
	assert_string_equal(ntp_refid_str(NTP_CODE("A\0B\0"), 1, b, sizeof(b)),
	    "AB");

	/* Small buffers truncate, always terminated. */
	memset(b, 'z', sizeof(b));
	assert_string_equal(ntp_refid_str(0x7f7f0101, 2, b, 4), "127");
	assert_int_equal(b[4], 'z');
	assert_string_equal(ntp_refid_str(NTP_CODE("LOCL"), 1, b, 3), "LO");
	assert_string_equal(ntp_refid_str(NTP_CODE("LOCL"), 1, b, 1), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_encode_layout),
		cmocka_unit_test(test_chrony_vector),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_garbage_every_length),
		cmocka_unit_test(test_zero_padding_lengths),
		cmocka_unit_test(test_extension_shaped_lengths),
		cmocka_unit_test(test_extension_fields),
		cmocka_unit_test(test_extension_malformed),
		cmocka_unit_test(test_long),
		cmocka_unit_test(test_decode_strerror),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_verdict_kod),
		cmocka_unit_test(test_verdict_stratum0_no_code),
		cmocka_unit_test(test_verdict_unsync_distance),
		cmocka_unit_test(test_verdict_str),
		cmocka_unit_test(test_delay_possible),
		cmocka_unit_test(test_refid_str),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
