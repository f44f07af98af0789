/*
 * Tests for NTS (RFC 8915) without the network: the AES-SIV adapter
 * against published vectors (so the key, nonce and associated-data order
 * is proven, not assumed), the NTS-KE record codec, and the extension
 * fields of requests and replies, including every way a reply can be
 * truncated, padded, forged or replayed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ntp_pkt.h"
#include "nts.h"
#include "nts_aead.h"
#include "nts_fake_server.h"

static size_t
unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned v;

	for (; *s != '\0'; s++) {
		if (*s == ' ')
			continue;
		assert_true(n < cap && sscanf(s, "%2x", &v) == 1);
		out[n++] = (uint8_t)v;
		s++;
	}
	return (n);
}

/* ---- AES-SIV-CMAC-256 ---- */

/*
 * RFC 5297 A.2's key, first associated-data string, nonce and plaintext.
 * A.2 itself has two AD strings and A.1 no nonce; NTS uses exactly one
 * of each, which is this case.  The expected output is Nettle's test
 * vector for it, and python3-cryptography's AESSIV gives the same (it
 * also reproduces A.1 and A.2 exactly).
 */
static void
test_aead_rfc5297_key_ad_nonce(void **state)
{
	uint8_t key[32], ad[64], nonce[16], pt[64], want[96], out[96];
	uint8_t back[64];
	size_t kl, al, nl, pl, wl, n;
	struct nts_aead *a;

	(void)state;
	kl = unhex("7f7e7d7c 7b7a7978 77767574 73727170 40414243 44454647 "
	    "48494a4b 4c4d4e4f", key, sizeof key);
	al = unhex("00112233 44556677 8899aabb ccddeeff deaddada deaddada "
	    "ffeeddcc bbaa9988 77665544 33221100", ad, sizeof ad);
	nl = unhex("09f91102 9d74e35b d84156c5 635688c0", nonce, sizeof nonce);
	pl = unhex("74686973 20697320 736f6d65 20706c61 696e7465 78742074 "
	    "6f20656e 63727970 74207573 696e6720 5349562d 414553", pt,
	    sizeof pt);
	wl = unhex("85825e22 e90cf2dd da2c548d c7c1b631 0dcdaca0 cebf9dc6 "
	    "cb90583f 5bf1506e 02cd4883 2b00e4e5 98b2b22a 53e6199d "
	    "4df0c166 6a35a043 3b250dc1 34d776", want, sizeof want);
	assert_int_equal(kl, NTS_AEAD_KEY_LEN);
	assert_int_equal(wl, pl + NTS_AEAD_TAG_LEN);
	assert_non_null(a = nts_aead_new(key, kl));
	assert_int_equal(nts_aead_seal(a, nonce, nl, ad, al, pt, pl, out,
	    sizeof out), wl);
	assert_memory_equal(out, want, wl);
	assert_int_equal(nts_aead_open(a, nonce, nl, ad, al, out, wl, back,
	    sizeof back, &n), 0);
	assert_int_equal(n, pl);
	assert_memory_equal(back, pt, pl);
	/* Swapping nonce and AD must give something else. */
	assert_int_equal(nts_aead_seal(a, ad, al, nonce, nl, pt, pl, out,
	    sizeof out), wl);
	assert_memory_not_equal(out, want, wl);
	nts_aead_free(a);
}

/*
 * RFC 5297 A.1's key, AD and plaintext with the one-byte nonce 0x02,
 * with a new cipher and with one re-keyed from another key.
 */
static void
test_aead_short_plaintext(void **state)
{
	uint8_t key[32], ad[32], pt[16], want[32], out[32], nonce = 2;
	size_t al, pl, wl;
	struct nts_aead *a;

	(void)state;
	unhex("fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 f0f1f2f3 f4f5f6f7 "
	    "f8f9fafb fcfdfeff", key, sizeof key);
	al = unhex("10111213 14151617 18191a1b 1c1d1e1f 20212223 24252627",
	    ad, sizeof ad);
	pl = unhex("11223344 55667788 99aabbcc ddee", pt, sizeof pt);
	wl = unhex("7300cd9b 3f514a44 ed660db6 14157f59 f0382e23 ae0e6e62 "
	    "27a03dd3 2619", want, sizeof want);
	assert_non_null(a = nts_aead_new(key, sizeof key));
	assert_int_equal(nts_aead_seal(a, &nonce, 1, ad, al, pt, pl, out,
	    sizeof out), wl);
	assert_memory_equal(out, want, wl);
	/* Re-keyed in place (as the server does per request): the same. */
	memset(key, 0, sizeof key);
	nts_aead_free(a);
	assert_non_null(a = nts_aead_new(key, sizeof key));
	unhex("fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 f0f1f2f3 f4f5f6f7 "
	    "f8f9fafb fcfdfeff", key, sizeof key);
	assert_int_equal(nts_aead_rekey(a, key, 16), -1);
	assert_int_equal(nts_aead_rekey(a, key, sizeof key), 0);
	memset(out, 0, sizeof out);
	assert_int_equal(nts_aead_seal(a, &nonce, 1, ad, al, pt, pl, out,
	    sizeof out), wl);
	assert_memory_equal(out, want, wl);
	nts_aead_free(a);
}

static void
test_aead_refuses(void **state)
{
	uint8_t key[32] = { 1 }, nonce[16] = { 2 }, ad[8] = { 3 }, out[64];
	uint8_t pt[64];
	size_t n;
	struct nts_aead *a;

	(void)state;
	assert_null(nts_aead_new(key, 16));
	assert_null(nts_aead_new(key, 64));
	assert_non_null(a = nts_aead_new(key, sizeof key));
	assert_int_equal(nts_aead_seal(a, nonce, 0, ad, 8, pt, 4, out, 64), 0);
	assert_int_equal(nts_aead_seal(a, nonce, 16, ad, 8, pt, 4, out, 19),
	    0);
	assert_int_equal(nts_aead_seal(a, nonce, 16, ad, 8, pt, 4, out, 20),
	    20);
	/* Every single-bit change of tag, ciphertext, AD or nonce fails. */
	for (size_t bit = 0; bit < 20 * 8; bit++) {
		out[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(nts_aead_open(a, nonce, 16, ad, 8, out, 20,
		    pt, sizeof pt, &n), -1);
		out[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	ad[0] ^= 1;
	assert_int_equal(nts_aead_open(a, nonce, 16, ad, 8, out, 20, pt,
	    sizeof pt, &n), -1);
	ad[0] ^= 1;
	nonce[15] ^= 1;
	assert_int_equal(nts_aead_open(a, nonce, 16, ad, 8, out, 20, pt,
	    sizeof pt, &n), -1);
	nonce[15] ^= 1;
	assert_int_equal(nts_aead_open(a, nonce, 16, ad, 8, out, 20, pt, 3,
	    &n), -1);
	assert_int_equal(nts_aead_open(a, nonce, 16, ad, 8, out, 15, pt,
	    sizeof pt, &n), -1);
	assert_int_equal(nts_aead_open(a, nonce, 16, ad, 8, out, 20, pt,
	    sizeof pt, &n), 0);
	assert_int_equal(n, 4);
	nts_aead_free(a);
}

/* ---- NTS-KE records ---- */

/* Appends a record; returns the new length. */
static size_t
rec(uint8_t *buf, size_t n, unsigned type, const void *body, size_t len)
{
	buf[n] = (uint8_t)(type >> 8);
	buf[n + 1] = (uint8_t)type;
	buf[n + 2] = (uint8_t)(len >> 8);
	buf[n + 3] = (uint8_t)len;
	if (len > 0)
		memcpy(buf + n + 4, body, len);
	return (n + 4 + len);
}

static const uint8_t ntpv4[2] = { 0, 0 }, siv[2] = { 0, 15 };

/* A good response: protocol, AEAD, n cookies, then tail records. */
static size_t
ke_response(uint8_t *buf, int n_cookies)
{
	uint8_t cookie[100];
	size_t n = 0;

	n = rec(buf, n, 0x8001, ntpv4, 2);
	n = rec(buf, n, 0x8004, siv, 2);
	for (int i = 0; i < n_cookies; i++) {
		memset(cookie, 'a' + i, sizeof cookie);
		n = rec(buf, n, 5, cookie, sizeof cookie);
	}
	return (n);
}

static size_t
ke_end(uint8_t *buf, size_t n)
{
	return (rec(buf, n, 0x8000, NULL, 0));
}

static void
test_ke_request(void **state)
{
	static const uint8_t want[] = { 0x80, 1, 0, 2, 0, 0, 0x80, 4, 0, 2,
	    0, 15, 0x80, 0, 0, 0 };
	uint8_t buf[64];

	(void)state;
	assert_int_equal(nts_ke_build_request(buf, sizeof buf), sizeof want);
	assert_memory_equal(buf, want, sizeof want);
	assert_int_equal(nts_ke_build_request(buf, sizeof want - 1), 0);
}

static void
test_ke_response_ok(void **state)
{
	uint8_t buf[2048], port[2] = { 0x12, 0x34 };
	struct nts_ke_reply r;
	size_t n;

	(void)state;
	n = ke_response(buf, 10);
	n = rec(buf, n, 6, "ntp.example", 11);
	n = rec(buf, n, 7, port, 2);
	n = rec(buf, n, 0x1234, "x", 1);	/* unknown, not critical */
	n = ke_end(buf, n);
	assert_int_equal(nts_ke_parse_response(buf, n, &r), NTS_KE_OK);
	assert_int_equal(r.aead, 15);
	assert_int_equal(r.n_cookies, NTS_COOKIE_MAX);	/* 2 dropped */
	assert_int_equal(r.cookies[7].len, 100);
	assert_int_equal(r.cookies[7].data[99], 'h');
	assert_string_equal(r.server, "ntp.example");
	assert_int_equal(r.port, 0x1234);
	/* Every proper prefix is incomplete, never an error. */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(nts_ke_parse_response(buf, i, &r),
		    NTS_KE_INCOMPLETE);
}

static enum nts_ke_err
parse_with(size_t (*tail)(uint8_t *, size_t))
{
	uint8_t buf[2048];
	struct nts_ke_reply r;
	size_t n = ke_response(buf, 1);

	n = tail(buf, n);
	return (nts_ke_parse_response(buf, n, &r));
}

static size_t t_error(uint8_t *b, size_t n) {
	static const uint8_t c[2] = { 0, 1 };
	return (ke_end(b, rec(b, n, 0x8002, c, 2)));
}
static size_t t_warning(uint8_t *b, size_t n) {
	static const uint8_t c[2] = { 0, 7 };
	return (ke_end(b, rec(b, n, 0x8003, c, 2)));
}
static size_t t_critical(uint8_t *b, size_t n) {
	return (ke_end(b, rec(b, n, 0x9999, "x", 1)));
}
static size_t t_dup_aead(uint8_t *b, size_t n) {
	return (ke_end(b, rec(b, n, 0x8004, siv, 2)));
}
static size_t t_odd_aead(uint8_t *b, size_t n) {
	return (ke_end(b, rec(b, n, 0x8004, siv, 1)));
}
static size_t t_end_body(uint8_t *b, size_t n) {
	return (rec(b, n, 0x8000, "x", 1));
}
static size_t t_after_end(uint8_t *b, size_t n) {
	return (rec(b, ke_end(b, n), 5, "y", 1));
}
static size_t t_empty_cookie(uint8_t *b, size_t n) {
	return (ke_end(b, rec(b, n, 5, NULL, 0)));
}
static size_t t_big_cookie(uint8_t *b, size_t n) {
	static const uint8_t c[NTS_COOKIE_MAX_LEN + 1];
	return (ke_end(b, rec(b, n, 5, c, sizeof c)));
}
static size_t t_bad_server(uint8_t *b, size_t n) {
	return (ke_end(b, rec(b, n, 6, "a b", 3)));
}
static size_t t_port_zero(uint8_t *b, size_t n) {
	static const uint8_t p[2];
	return (ke_end(b, rec(b, n, 7, p, 2)));
}
static size_t t_port_long(uint8_t *b, size_t n) {
	static const uint8_t p[3] = { 0, 1, 2 };
	return (ke_end(b, rec(b, n, 7, p, 3)));
}

static void
test_ke_response_refused(void **state)
{
	uint8_t buf[2048];
	struct nts_ke_reply r;
	char why[128];
	size_t n;

	static const struct {
		size_t		(*tail)(uint8_t *, size_t);
		enum nts_ke_err	want;
	} cases[] = {
		{ t_error, NTS_KE_SERVER_ERROR },
		{ t_warning, NTS_KE_WARNING },
		{ t_critical, NTS_KE_UNKNOWN_CRITICAL },
		{ t_dup_aead, NTS_KE_DUPLICATE },
		{ t_odd_aead, NTS_KE_BAD_RECORD },
		{ t_end_body, NTS_KE_BAD_RECORD },
		{ t_after_end, NTS_KE_AFTER_END },
		{ t_empty_cookie, NTS_KE_BAD_COOKIE },
		{ t_big_cookie, NTS_KE_BAD_COOKIE },
		{ t_bad_server, NTS_KE_BAD_SERVER },
		{ t_port_zero, NTS_KE_BAD_SERVER },
		{ t_port_long, NTS_KE_BAD_RECORD },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_int_equal(parse_with(cases[i].tail), cases[i].want);
	/* What a client needs. */
	n = ke_end(buf, ke_response(buf, 0));
	assert_int_equal(nts_ke_parse_response(buf, n, &r), NTS_KE_NO_COOKIE);
	n = ke_end(buf, rec(buf, 0, 0x8004, siv, 2));
	assert_int_equal(nts_ke_parse_response(buf, n, &r),
	    NTS_KE_NO_PROTOCOL);
	n = ke_end(buf, rec(buf, 0, 0x8001, NULL, 0));	/* none acceptable */
	assert_int_equal(nts_ke_parse_response(buf, n, &r),
	    NTS_KE_NO_PROTOCOL);
	n = ke_end(buf, rec(buf, 0, 0x8001, ntpv4, 2));
	assert_int_equal(nts_ke_parse_response(buf, n, &r), NTS_KE_NO_AEAD);
	/* The error's code reaches the message. */
	n = t_error(buf, ke_response(buf, 1));
	assert_int_equal(nts_ke_parse_response(buf, n, &r),
	    NTS_KE_SERVER_ERROR);
	assert_string_equal(nts_ke_describe(NTS_KE_SERVER_ERROR, &r, why,
	    sizeof why), "server sent error 1 (bad request)");
	assert_string_equal(nts_ke_describe(NTS_KE_NO_COOKIE, &r, why,
	    sizeof why), "server sent no cookie");
}

/* Endless records with no End of Message: too long, not incomplete. */
static void
test_ke_response_too_long(void **state)
{
	uint8_t *buf = malloc(NTS_KE_MAX_RESPONSE + 200);
	struct nts_ke_reply r;
	size_t n;

	(void)state;
	assert_non_null(buf);
	n = ke_response(buf, 1);
	while (n < NTS_KE_MAX_RESPONSE)
		n = rec(buf, n, 0x4000, "pad", 3);
	assert_int_equal(nts_ke_parse_response(buf, n, &r), NTS_KE_TOO_LONG);
	free(buf);
}

/* ---- extension fields ---- */

struct pair {
	struct nts_aead	*c2s, *s2c;
};

static int
setup_keys(void **state)
{
	static const uint8_t k1[32] = { 1, 2, 3 }, k2[32] = { 4, 5, 6 };
	struct pair *p = calloc(1, sizeof *p);

	if (p == NULL)
		return (-1);
	p->c2s = nts_aead_new(k1, 32);
	p->s2c = nts_aead_new(k2, 32);
	*state = p;
	return (p->c2s != NULL && p->s2c != NULL ? 0 : -1);
}

static int
teardown_keys(void **state)
{
	struct pair *p = *state;

	nts_aead_free(p->c2s);
	nts_aead_free(p->s2c);
	free(p);
	return (0);
}

static uint16_t
get16(const uint8_t *p)
{
	return ((uint16_t)(p[0] << 8 | p[1]));
}

static void
test_request_layout(void **state)
{
	struct pair *k = *state;
	uint8_t hdr[48] = { 0x23 }, uid[32], nonce[16], buf[NTP_MAX_PKT];
	uint8_t pt[8];
	struct nts_cookie c = { .len = 100 };
	struct ntp_pkt p;
	size_t n, off = 48, ptlen;

	memset(uid, 0xab, sizeof uid);
	memset(nonce, 0xcd, sizeof nonce);
	memset(c.data, 0xee, c.len);
	n = nts_build_request(hdr, uid, &c, 3, k->c2s, nonce, buf,
	    sizeof buf);
	assert_int_equal(n, 48 + 36 + 104 + 3 * 104 + 40);
	assert_int_equal(ntp_decode(buf, n, &p), NTP_DECODE_OK);
	assert_int_equal(p.n_ext, 6);
	assert_int_equal(get16(buf + off), NTS_EF_UNIQUE_ID);
	assert_memory_equal(buf + off + 4, uid, 32);
	off += 36;
	assert_int_equal(get16(buf + off), NTS_EF_COOKIE);
	assert_memory_equal(buf + off + 4, c.data, 100);
	off += 104;
	for (int i = 0; i < 3; i++, off += 104) {
		assert_int_equal(get16(buf + off), NTS_EF_PLACEHOLDER);
		assert_int_equal(get16(buf + off + 2), 104);
		assert_int_equal(buf[off + 50], 0);
	}
	assert_int_equal(get16(buf + off), NTS_EF_AUTH);
	assert_int_equal(get16(buf + off + 4), 16);
	assert_int_equal(get16(buf + off + 6), 16);
	assert_memory_equal(buf + off + 8, nonce, 16);
	/* The server can check it with the c2s key over all before it. */
	assert_int_equal(nts_aead_open(k->c2s, nonce, 16, buf, off,
	    buf + off + 24, 16, pt, sizeof pt, &ptlen), 0);
	assert_int_equal(ptlen, 0);
	/* Too small a buffer: nothing, at every size. */
	for (size_t cap = 0; cap < n; cap++)
		assert_int_equal(nts_build_request(hdr, uid, &c, 3, k->c2s,
		    nonce, buf, cap), 0);
}

/* An encrypted part holding cookies of len bytes filled with 'A' + i. */
static size_t
cookie_fields(uint8_t *pt, int n, size_t len)
{
	uint8_t body[NTS_COOKIE_MAX_LEN + 4];
	size_t off = 0;

	assert_true(len <= sizeof body);

	for (int i = 0; i < n; i++) {
		memset(body, 'A' + i, len);
		off += nts_test_field(pt + off, NTS_EF_COOKIE, body, len);
	}
	return (off);
}

static void
test_reply_ok(void **state)
{
	struct pair *k = *state;
	uint8_t hdr[48] = { 0x24, 2 }, uid[32] = { 9 }, pt[600] = { 0 };
	uint8_t buf[1024];
	struct nts_cookie out[4];
	size_t n;
	int got;

	n = nts_test_reply(hdr, uid, k->s2c, pt, cookie_fields(pt, 5, 100),
	    buf);
	assert_true(n > 0);
	assert_int_equal(nts_verify_reply(buf, n, uid, k->s2c, out, 4, &got),
	    NTS_OK);
	assert_int_equal(got, 4);	/* the fifth did not fit */
	assert_int_equal(out[3].len, 100);
	assert_int_equal(out[3].data[0], 'D');
	/* No encrypted fields at all is fine too. */
	n = nts_test_reply(hdr, uid, k->s2c, pt, 0, buf);
	assert_int_equal(nts_verify_reply(buf, n, uid, k->s2c, out, 4, &got),
	    NTS_OK);
	assert_int_equal(got, 0);
}

static void
test_reply_refused(void **state)
{
	struct pair *k = *state;
	uint8_t hdr[48] = { 0x24, 2 }, uid[32] = { 9 }, other[32] = { 8 };
	uint8_t pt[300], buf[1024], copy[1024];
	struct nts_cookie out[8];
	size_t n, plen = cookie_fields(pt, 2, 100);
	int got;

	n = nts_test_reply(hdr, uid, k->s2c, pt, plen, buf);
	/* Someone else's identifier; our c2s key instead of s2c. */
	assert_int_equal(nts_verify_reply(buf, n, other, k->s2c, out, 8, &got),
	    NTS_BAD_UID);
	assert_int_equal(nts_verify_reply(buf, n, uid, k->c2s, out, 8, &got),
	    NTS_AUTH_FAILED);
	assert_int_equal(got, 0);
	/* Any flipped byte, header or fields: refused, never accepted. */
	for (size_t i = 0; i < n; i++) {
		memcpy(copy, buf, n);
		copy[i] ^= 0x40;
		assert_int_not_equal(nts_verify_reply(copy, n, uid, k->s2c,
		    out, 8, &got), NTS_OK);
	}
	/* Every truncation. */
	for (size_t i = 0; i < n; i++)
		assert_int_not_equal(nts_verify_reply(buf, i, uid, k->s2c,
		    out, 8, &got), NTS_OK);
	/* A field after the authenticator. */
	memcpy(copy, buf, n);
	nts_test_field(copy + n, 0x7777, pt, 12);
	assert_int_equal(nts_verify_reply(copy, n + 16, uid, k->s2c, out, 8,
	    &got), NTS_AUTH_NOT_LAST);
	/* Trailing bytes that are no field; over the maximum size. */
	assert_int_equal(nts_verify_reply(copy, n + 4, uid, k->s2c, out, 8,
	    &got), NTS_MALFORMED);
	assert_int_equal(nts_verify_reply(buf, NTP_MAX_PKT + 1, uid, k->s2c,
	    out, 8, &got), NTS_MALFORMED);
	/* No fields: no identifier. */
	assert_int_equal(nts_verify_reply(buf, 48, uid, k->s2c, out, 8,
	    &got), NTS_NO_UID);
	/* Identifier only: not authenticated. */
	assert_int_equal(nts_verify_reply(buf, 48 + 36, uid, k->s2c, out, 8,
	    &got), NTS_NO_AUTH);
}

static void
test_reply_bad_auth_field(void **state)
{
	struct pair *k = *state;
	uint8_t hdr[48] = { 0x24, 2 }, uid[32] = { 9 }, buf[1024], pt[4] = { 0 };
	struct nts_cookie out[8];
	size_t n = nts_test_reply(hdr, uid, k->s2c, pt, 0, buf);
	size_t a = 48 + 36;
	int got;

	buf[a + 7] = 200;		/* ciphertext beyond the field */
	assert_int_equal(nts_verify_reply(buf, n, uid, k->s2c, out, 8, &got),
	    NTS_BAD_AUTH_FIELD);
	buf[a + 7] = 15;		/* shorter than a tag */
	assert_int_equal(nts_verify_reply(buf, n, uid, k->s2c, out, 8, &got),
	    NTS_BAD_AUTH_FIELD);
	buf[a + 7] = 16;
	buf[a + 5] = 0;			/* no nonce */
	assert_int_equal(nts_verify_reply(buf, n, uid, k->s2c, out, 8, &got),
	    NTS_BAD_AUTH_FIELD);
}

/* Encrypted garbage that decrypts: the inner fields are still checked. */
static void
test_reply_bad_encrypted(void **state)
{
	struct pair *k = *state;
	uint8_t hdr[48] = { 0x24, 2 }, uid[32] = { 9 }, buf[1024], pt[300];
	struct nts_cookie out[8];
	size_t n;
	int got;

	memset(pt, 0, sizeof pt);
	n = nts_test_reply(hdr, uid, k->s2c, pt, 12, buf);	/* < 16 */
	assert_int_equal(nts_verify_reply(buf, n, uid, k->s2c, out, 8, &got),
	    NTS_BAD_ENCRYPTED);
	n = cookie_fields(pt, 1, 100);
	pt[3] = 200;			/* longer than the plaintext */
	n = nts_test_reply(hdr, uid, k->s2c, pt, n, buf);
	assert_int_equal(nts_verify_reply(buf, n, uid, k->s2c, out, 8, &got),
	    NTS_BAD_ENCRYPTED);
	assert_int_equal(got, 0);
	n = cookie_fields(pt, 1, NTS_COOKIE_MAX_LEN + 4);
	n = nts_test_reply(hdr, uid, k->s2c, pt, n, buf);
	assert_int_equal(nts_verify_reply(buf, n, uid, k->s2c, out, 8, &got),
	    NTS_BAD_ENCRYPTED);
}

static void
test_reply_nak(void **state)
{
	struct pair *k = *state;
	uint8_t buf[128] = { 0x24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    'N', 'T', 'S', 'N' }, uid[32] = { 7 };
	struct nts_cookie out[8];
	size_t n = 48 + nts_test_field(buf + 48, NTS_EF_UNIQUE_ID, uid, 32);
	int got;

	assert_int_equal(nts_verify_reply(buf, n, uid, k->s2c, out, 8, &got),
	    NTS_NAK);
	buf[1] = 2;			/* not a kiss: just unauthenticated */
	assert_int_equal(nts_verify_reply(buf, n, uid, k->s2c, out, 8, &got),
	    NTS_NO_AUTH);
	uid[0] = 6;			/* a forged NAK for someone else */
	buf[1] = 0;
	assert_int_equal(nts_verify_reply(buf, n, uid, k->s2c, out, 8, &got),
	    NTS_BAD_UID);
	assert_string_equal(nts_verdict_str(NTS_AUTH_FAILED),
	    "NTS authentication failed");
}

/* The jar: spend the oldest, refill to 8, one reply per request. */
static void
test_client_jar(void **state)
{
	static const uint8_t k1[32] = { 1, 2, 3 }, k2[32] = { 4, 5, 6 };
	struct nts_ke_reply ke;
	struct nts_client c;
	uint8_t hdr[48] = { 0x23 }, rhdr[48] = { 0x24, 2 }, uid[32] = { 1 };
	uint8_t nonce[16] = { 2 }, buf[NTP_MAX_PKT], pt[900] = { 0 };
	size_t n, ask;

	(void)state;
	memset(&ke, 0, sizeof ke);
	ke.n_cookies = 2;
	ke.cookies[0].len = ke.cookies[1].len = 100;
	ke.cookies[0].data[0] = 'x';
	ke.cookies[1].data[0] = 'y';
	assert_int_equal(nts_client_init(&c, k1, k2, &ke), 0);
	n = nts_client_request(&c, hdr, uid, nonce, buf, sizeof buf);
	assert_true(n > 0);
	assert_int_equal(buf[48 + 36 + 4], 'x');	/* oldest first */
	assert_int_equal(c.n_cookies, 1);
	ask = (n - 48 - 36 - 40) / 104;		/* cookie + placeholders */
	assert_int_equal(ask, 7);		/* 1 left + 7 = 8 */
	/* Our own request reflected back does not verify: still pending. */
	assert_int_equal(nts_client_reply(&c, buf, n), NTS_AUTH_FAILED);
	assert_true(c.pending);
	n = nts_test_reply(rhdr, uid, c.s2c, pt, cookie_fields(pt, 7, 100),
	    buf);
	assert_int_equal(nts_client_reply(&c, buf, n), NTS_OK);
	assert_int_equal(c.n_cookies, 8);
	assert_int_equal(c.jar[0].data[0], 'y');
	assert_int_equal(c.jar[1].data[0], 'A');
	/* A replay of the same reply is not taken twice. */
	assert_int_equal(nts_client_reply(&c, buf, n), NTS_BAD_UID);
	assert_int_equal(c.n_cookies, 8);
	/* Eight requests without replies empty the jar. */
	for (int i = 0; i < 8; i++)
		assert_true(nts_client_request(&c, hdr, uid, nonce, buf,
		    sizeof buf) > 0);
	assert_int_equal(nts_client_request(&c, hdr, uid, nonce, buf,
	    sizeof buf), 0);
	nts_client_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aead_rfc5297_key_ad_nonce),
		cmocka_unit_test(test_aead_short_plaintext),
		cmocka_unit_test(test_aead_refuses),
		cmocka_unit_test(test_ke_request),
		cmocka_unit_test(test_ke_response_ok),
		cmocka_unit_test(test_ke_response_refused),
		cmocka_unit_test(test_ke_response_too_long),
		cmocka_unit_test_setup_teardown(test_request_layout,
		    setup_keys, teardown_keys),
		cmocka_unit_test_setup_teardown(test_reply_ok, setup_keys,
		    teardown_keys),
		cmocka_unit_test_setup_teardown(test_reply_refused, setup_keys,
		    teardown_keys),
		cmocka_unit_test_setup_teardown(test_reply_bad_auth_field,
		    setup_keys, teardown_keys),
		cmocka_unit_test_setup_teardown(test_reply_bad_encrypted,
		    setup_keys, teardown_keys),
		cmocka_unit_test_setup_teardown(test_reply_nak, setup_keys,
		    teardown_keys),
		cmocka_unit_test(test_client_jar),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
