/*
 * Tests for the server's half of NTS (RFC 8915) without the network: the
 * KE request parser and response builder (checked with the client's own
 * parser), cookies under the current and previous server key, the keys
 * file's text, and whole NTP exchanges between the client code and
 * nts_server_answer / nt_server_handle: N placeholders give N + 1 fresh
 * cookies, the reply is never longer than the request, and a cookie that
 * does not open (wrong key id, tampered, forgotten key) gets a NAK.  A
 * server thread's own copies of the keys follow rotations and a loaded
 * keys file, and answering takes no lock.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "acl.h"
#include "ntp_pkt.h"
#include "nts.h"
#include "nts_server.h"
#include "server.h"

static const uint8_t C2S[32] = { 'c', '2', 's' }, S2C[32] = { 's', '2', 'c' };
static const uint8_t NONCE[16] = { 'n' };

static void
fake_rand(uint8_t *buf, size_t len)
{
	memset(buf, 0x5a, len);
}

/* A server thread's view of s. */
static struct nts_server_worker *
worker(struct nts_server *s)
{
	struct nts_server_worker *w = nts_server_worker_new(s, fake_rand);

	assert_non_null(w);
	return (w);
}

/* A server with one key made from seed. */
static void
server_with_key(struct nts_server *s, uint8_t seed, int64_t now)
{
	uint8_t rnd[NTS_SKEY_RAND];

	memset(rnd, seed, sizeof rnd);
	assert_int_equal(nts_server_init(s, 3600), 0);
	assert_int_equal(nts_server_new_key(s, rnd, now), 0);
}

static size_t
rec(uint8_t *p, unsigned type, const uint8_t *body, size_t n)
{
	p[0] = (uint8_t)(type >> 8);
	p[1] = (uint8_t)type;
	p[2] = 0;
	p[3] = (uint8_t)n;
	if (n > 0)
		memcpy(p + 4, body, n);
	return (4 + n);
}

static void
test_ke_parse_request(void **state)
{
	static const uint8_t ntp[2] = { 0, 0 }, other[2] = { 0, 7 };
	static const uint8_t siv[4] = { 0, 1, 0, 15 }, gcm[2] = { 0, 1 };
	uint8_t buf[128];
	size_t n;

	(void)state;
	n = nts_ke_build_request(buf, sizeof buf);
	assert_int_equal(nts_ke_parse_request(buf, n), NTS_KE_OK);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(nts_ke_parse_request(buf, i),
		    NTS_KE_INCOMPLETE);
	/* AEAD offered among others, in any order. */
	n = rec(buf, 0x8001, ntp, 2);
	n += rec(buf + n, 0x8004, siv, 4);
	n += rec(buf + n, 0x8000, NULL, 0);
	assert_int_equal(nts_ke_parse_request(buf, n), NTS_KE_OK);
	assert_int_equal(nts_ke_parse_request(buf, n + 1), NTS_KE_AFTER_END);
	/* No NTPv4, no AES-SIV, neither said at all. */
	n = rec(buf, 0x8001, other, 2);
	n += rec(buf + n, 0x8004, siv, 4);
	n += rec(buf + n, 0x8000, NULL, 0);
	assert_int_equal(nts_ke_parse_request(buf, n), NTS_KE_NO_PROTOCOL);
	n = rec(buf, 0x8001, ntp, 2);
	n += rec(buf + n, 0x8004, gcm, 2);
	n += rec(buf + n, 0x8000, NULL, 0);
	assert_int_equal(nts_ke_parse_request(buf, n), NTS_KE_NO_AEAD);
	n = rec(buf, 0x8004, siv, 4);
	n += rec(buf + n, 0x8000, NULL, 0);
	assert_int_equal(nts_ke_parse_request(buf, n), NTS_KE_BAD_RECORD);
	/* Odd-length id list, repeated record, unknown critical record. */
	n = rec(buf, 0x8001, siv, 3);
	assert_int_equal(nts_ke_parse_request(buf, n), NTS_KE_BAD_RECORD);
	n = rec(buf, 0x8001, ntp, 2);
	n += rec(buf + n, 0x8001, ntp, 2);
	assert_int_equal(nts_ke_parse_request(buf, n), NTS_KE_DUPLICATE);
	n = rec(buf, 0x8001, ntp, 2);
	n += rec(buf + n, 0x8042, ntp, 2);
	assert_int_equal(nts_ke_parse_request(buf, n),
	    NTS_KE_UNKNOWN_CRITICAL);
	/* Only servers send cookies and errors. */
	n = rec(buf, 0x0005, ntp, 2);
	assert_int_equal(nts_ke_parse_request(buf, n), NTS_KE_BAD_RECORD);
	/* Never an End of Message: too long, not "read more" forever. */
	memset(buf, 0, sizeof buf);
	{
		uint8_t *big = calloc(1, NTS_KE_MAX_REQUEST);

		assert_non_null(big);
		for (size_t off = 0; off + 8 <= NTS_KE_MAX_REQUEST; off += 8)
			rec(big + off, 0x0042, siv, 4);
		assert_int_equal(nts_ke_parse_request(big,
		    NTS_KE_MAX_REQUEST), NTS_KE_TOO_LONG);
		free(big);
	}
}

static void
test_ke_build_response(void **state)
{
	struct nts_cookie ck[NTS_COOKIE_MAX];
	struct nts_ke_reply r;
	uint8_t buf[2048];
	size_t n;

	(void)state;
	for (int i = 0; i < NTS_COOKIE_MAX; i++) {
		ck[i].len = 100;
		memset(ck[i].data, 'a' + i, 100);
	}
	n = nts_ke_build_response(NTS_KE_OK, ck, 8, NULL, 123, buf, sizeof buf);
	assert_int_equal(nts_ke_parse_response(buf, n, &r), NTS_KE_OK);
	assert_int_equal(r.n_cookies, 8);
	assert_int_equal(r.aead, NTS_AEAD_ID);
	assert_int_equal(r.port, 0);		/* 123 is not sent */
	assert_string_equal(r.server, "");	/* nor a Server record */
	assert_int_equal(r.cookies[7].data[99], 'h');
	n = nts_ke_build_response(NTS_KE_OK, ck, 8, "", 12323, buf,
	    sizeof buf);
	assert_int_equal(nts_ke_parse_response(buf, n, &r), NTS_KE_OK);
	assert_int_equal(r.port, 12323);
	assert_string_equal(r.server, "");
	n = nts_ke_build_response(NTS_KE_OK, ck, 8, "ntp.example.org", 0,
	    buf, sizeof buf);
	assert_int_equal(nts_ke_parse_response(buf, n, &r), NTS_KE_OK);
	assert_string_equal(r.server, "ntp.example.org");
	assert_int_equal(r.port, 0);
	n = nts_ke_build_response(NTS_KE_BAD_RECORD, NULL, 0, "2001:db8::1",
	    0, buf, sizeof buf);		/* only a good answer names it */
	assert_int_equal(nts_ke_parse_response(buf, n, &r),
	    NTS_KE_SERVER_ERROR);
	assert_string_equal(r.server, "");
	assert_int_equal(nts_ke_build_response(NTS_KE_OK, ck, 8, NULL, 0, buf,
	    500), 0);			/* no room: nothing half-built */
	n = nts_ke_build_response(NTS_KE_BAD_RECORD, NULL, 0, NULL, 0, buf,
	    sizeof buf);
	assert_int_equal(nts_ke_parse_response(buf, n, &r),
	    NTS_KE_SERVER_ERROR);
	assert_int_equal(r.code, 1);		/* bad request */
	n = nts_ke_build_response(NTS_KE_UNKNOWN_CRITICAL, NULL, 0, NULL, 0, buf,
	    sizeof buf);
	assert_int_equal(nts_ke_parse_response(buf, n, &r),
	    NTS_KE_SERVER_ERROR);
	assert_int_equal(r.code, 0);		/* unrecognized critical */
	n = nts_ke_build_response(NTS_KE_SERVER_ERROR, NULL, 0, NULL, 0, buf,
	    sizeof buf);
	assert_int_equal(nts_ke_parse_response(buf, n, &r),
	    NTS_KE_SERVER_ERROR);
	assert_int_equal(r.code, 2);		/* internal server error */
	n = nts_ke_build_response(NTS_KE_NO_PROTOCOL, NULL, 0, NULL, 0, buf,
	    sizeof buf);
	assert_int_equal(nts_ke_parse_response(buf, n, &r),
	    NTS_KE_NO_PROTOCOL);
	n = nts_ke_build_response(NTS_KE_NO_AEAD, NULL, 0, NULL, 0, buf,
	    sizeof buf);
	assert_int_equal(nts_ke_parse_response(buf, n, &r), NTS_KE_NO_AEAD);
}

/* What may be advertised in a Server record: what a client would take. */
static void
test_server_name_ok(void **state)
{
	char longest[NTS_SERVER_MAX_LEN + 2];

	(void)state;
	assert_true(nts_server_name_ok(""));
	assert_true(nts_server_name_ok("ntp.example.org"));
	assert_true(nts_server_name_ok("[2001:db8::1]"));
	assert_false(nts_server_name_ok("ntp example"));
	assert_false(nts_server_name_ok("ntp\texample"));
	assert_false(nts_server_name_ok("caf\xc3\xa9.example"));
	memset(longest, 'a', sizeof longest - 1);
	longest[NTS_SERVER_MAX_LEN] = '\0';
	assert_true(nts_server_name_ok(longest));
	longest[NTS_SERVER_MAX_LEN] = 'a';
	longest[NTS_SERVER_MAX_LEN + 1] = '\0';
	assert_false(nts_server_name_ok(longest));
}

static void
test_cookie_round_trip(void **state)
{
	uint8_t c2s[32], s2c[32], rnd[NTS_SKEY_RAND];
	struct nts_cookie c, old;
	struct nts_server s;

	(void)state;
	server_with_key(&s, 1, 1000);
	assert_int_equal(nts_server_cookie(&s, C2S, S2C, NONCE, &c), 0);
	assert_int_equal(c.len, NTS_SCOOKIE_LEN);
	assert_int_equal(nts_server_open_cookie(&s, c.data, c.len, c2s, s2c),
	    0);
	assert_memory_equal(c2s, C2S, 32);
	assert_memory_equal(s2c, S2C, 32);
	/* The keys are not in the clear. */
	assert_null(memmem(c.data, c.len, C2S, 32));
	/* Every bit matters; so does the length. */
	for (size_t i = 0; i < c.len; i++) {
		c.data[i] ^= 0x10;
		assert_int_equal(nts_server_open_cookie(&s, c.data, c.len,
		    c2s, s2c), -1);
		c.data[i] ^= 0x10;
	}
	assert_int_equal(nts_server_open_cookie(&s, c.data, c.len - 1, c2s,
	    s2c), -1);
	/* A new key: the old cookie still opens; after two, it does not. */
	old = c;
	memset(rnd, 2, sizeof rnd);
	assert_int_equal(nts_server_new_key(&s, rnd, 2000), 0);
	assert_int_equal(nts_server_open_cookie(&s, old.data, old.len, c2s,
	    s2c), 0);
	assert_int_equal(nts_server_cookie(&s, C2S, S2C, NONCE, &c), 0);
	assert_memory_not_equal(c.data, old.data, 4);	/* new key id */
	memset(rnd, 3, sizeof rnd);
	assert_int_equal(nts_server_new_key(&s, rnd, 3000), 0);
	assert_int_equal(nts_server_open_cookie(&s, old.data, old.len, c2s,
	    s2c), -1);
	assert_int_equal(nts_server_open_cookie(&s, c.data, c.len, c2s, s2c),
	    0);
	nts_server_free(&s);
}

static void
test_wrong_key_id(void **state)
{
	struct nts_server a, b;
	struct nts_cookie c;
	uint8_t c2s[32], s2c[32];

	(void)state;
	server_with_key(&a, 1, 1000);
	server_with_key(&b, 9, 1000);
	assert_int_equal(nts_server_cookie(&a, C2S, S2C, NONCE, &c), 0);
	assert_int_equal(nts_server_open_cookie(&b, c.data, c.len, c2s, s2c),
	    -1);
	/* Same id, other key: the tag fails. */
	c.data[0] = (uint8_t)(b.cur.id >> 24);
	c.data[1] = (uint8_t)(b.cur.id >> 16);
	c.data[2] = (uint8_t)(b.cur.id >> 8);
	c.data[3] = (uint8_t)b.cur.id;
	assert_int_equal(nts_server_open_cookie(&b, c.data, c.len, c2s, s2c),
	    -1);
	nts_server_free(&a);
	nts_server_free(&b);
}

static void
test_keys_text(void **state)
{
	char text[NTS_KEYS_TEXT_MAX], err[160];
	uint8_t rnd[NTS_SKEY_RAND], c2s[32], s2c[32];
	struct nts_server s, t;
	struct nts_cookie c1, c2;

	(void)state;
	server_with_key(&s, 1, 1000);
	assert_int_equal(nts_server_cookie(&s, C2S, S2C, NONCE, &c1), 0);
	memset(rnd, 2, sizeof rnd);
	assert_int_equal(nts_server_new_key(&s, rnd, 2000), 0);
	assert_int_equal(nts_server_cookie(&s, C2S, S2C, NONCE, &c2), 0);
	nts_server_keys_format(&s, text, sizeof text);
	assert_int_equal(nts_server_init(&t, 3600), 0);
	assert_int_equal(nts_server_keys_parse(&t, text, err, sizeof err), 0);
	/* A restart keeps both keys: cookies of either still open. */
	assert_int_equal(nts_server_open_cookie(&t, c1.data, c1.len, c2s,
	    s2c), 0);
	assert_int_equal(nts_server_open_cookie(&t, c2.data, c2.len, c2s,
	    s2c), 0);
	assert_int_equal(t.cur.id, s.cur.id);
	assert_false(nts_server_due(&t, 2000 + 3599));
	assert_true(nts_server_due(&t, 2000 + 3600));
	assert_true(nts_server_due(&t, 1999));	/* clock went back */
	nts_server_free(&t);
	nts_server_free(&s);

	assert_int_equal(nts_server_init(&t, 3600), 0);
	assert_int_equal(nts_server_keys_parse(&t, "hello\n", err,
	    sizeof err), -1);
	assert_string_equal(err, "line 1: not an ntimed NTS key file");
	assert_int_equal(nts_server_keys_parse(&t, "ntimed-nts-keys 1\n",
	    err, sizeof err), -1);
	assert_string_equal(err, "line 2: no key");
	assert_int_equal(nts_server_keys_parse(&t, "ntimed-nts-keys 1\n"
	    "0000002a 1000 00112233\n", err, sizeof err), -1);
	assert_string_equal(err, "line 2: expected 'id time hexkey'");
	assert_int_equal(nts_server_keys_parse(&t, "ntimed-nts-keys 1\n"
	    "0000002a 1000 0011223344556677889900112233445566778899001122334455"
	    "66778899aabbcXdd\n", err, sizeof err), -1);
	assert_null(t.cur.aead);		/* nothing half-loaded */
	nts_server_free(&t);
}

/* A client holding the n cookies ck; the request it sends. */
static size_t
client_with(struct nts_client *c, const struct nts_cookie *ck, int n,
    uint8_t *buf, size_t cap)
{
	static const uint8_t hdr[48] = { 0x23 }, uid[32] = { 'u' };
	struct nts_ke_reply ke;

	memset(&ke, 0, sizeof ke);
	ke.n_cookies = n;
	memcpy(ke.cookies, ck, (size_t)n * sizeof *ck);
	assert_int_equal(nts_client_init(c, C2S, S2C, &ke), 0);
	return (nts_client_request(c, hdr, uid, NONCE, buf, cap));
}

/* A client holding n_cookies cookies of s; the request it sends. */
static size_t
client_request(struct nts_client *c, struct nts_server *s, int n_cookies,
    uint8_t *buf, size_t cap)
{
	struct nts_cookie ck[NTS_COOKIE_MAX];

	for (int i = 0; i < n_cookies; i++)
		assert_int_equal(nts_server_cookie(s, C2S, S2C, NONCE, &ck[i]),
		    0);
	return (client_with(c, ck, n_cookies, buf, cap));
}

static void
test_answer_cookies(void **state)
{
	uint8_t hdr[48] = { 0x24, 2 }, kod[48] = { 0xe4 };
	uint8_t req[NTP_MAX_PKT], out[NTP_MAX_PKT];
	struct nts_server_worker *w;
	struct nts_server s;
	struct nts_client c;
	size_t n, len;

	(void)state;
	server_with_key(&s, 1, 1000);
	w = worker(&s);
	/* With k cookies, a client sends one and 8 - k placeholders. */
	for (int held = 1; held <= NTS_COOKIE_MAX; held++) {
		size_t sent = (size_t)(NTS_COOKIE_MAX - held + 1);

		n = client_request(&c, &s, held, req, sizeof req);
		assert_int_equal(n, 48 + 36 + 104 * sent + 40);
		assert_int_equal(nts_server_answer(w, req, n, hdr, kod, out,
		    sizeof out, &len), NTS_SRV_OK);
		/* Same 16-byte nonce: exactly as long, no amplification. */
		assert_int_equal(len, n);
		assert_int_equal(nts_client_reply(&c, out, len), NTS_OK);
		/* One new cookie per cookie and placeholder: a full jar. */
		assert_int_equal(c.n_cookies, NTS_COOKIE_MAX);
		nts_client_free(&c);
	}
	nts_server_worker_free(w);
	nts_server_free(&s);
}

static void
test_answer_nak(void **state)
{
	uint8_t hdr[48] = { 0x24, 2 }, kod[48] = { 0xe4, 0, 0, 0 };
	uint8_t req[NTP_MAX_PKT], out[NTP_MAX_PKT];
	struct nts_server_worker *w;
	struct nts_server s, other;
	struct nts_client c;
	size_t n, len;

	(void)state;
	memcpy(kod + 12, "NTSN", 4);
	server_with_key(&s, 1, 1000);
	server_with_key(&other, 5, 1000);
	w = worker(&s);
	/* A cookie of another server (unknown key id). */
	n = client_request(&c, &other, 1, req, sizeof req);
	assert_int_equal(nts_server_answer(w, req, n, hdr, kod, out,
	    sizeof out, &len), NTS_SRV_NAK);
	assert_int_equal(len, 48 + 36);
	assert_int_equal(nts_client_reply(&c, out, len), NTS_NAK);
	nts_client_free(&c);
	/* Our cookie, tampered with. */
	n = client_request(&c, &s, 1, req, sizeof req);
	req[48 + 36 + 4 + 30] ^= 1;
	assert_int_equal(nts_server_answer(w, req, n, hdr, kod, out,
	    sizeof out, &len), NTS_SRV_NAK);
	assert_int_equal(nts_client_reply(&c, out, len), NTS_NAK);
	nts_client_free(&c);
	/* Our cookie, but the request was changed on the way. */
	n = client_request(&c, &s, 1, req, sizeof req);
	req[40] ^= 1;
	assert_int_equal(nts_server_answer(w, req, n, hdr, kod, out,
	    sizeof out, &len), NTS_SRV_NAK);
	nts_client_free(&c);
	/* Malformed: no answer at all. */
	n = client_request(&c, &s, 1, req, sizeof req);
	assert_int_equal(nts_server_answer(w, req, n - 4, hdr, kod, out,
	    sizeof out, &len), NTS_SRV_DROP);
	assert_int_equal(nts_server_answer(w, req, 48, hdr, kod, out,
	    sizeof out, &len), NTS_SRV_DROP);
	memset(req + 48, 0, 36);		/* no unique identifier */
	req[49] = 0x42;
	req[51] = 36;
	assert_int_equal(nts_server_answer(w, req, n, hdr, kod, out,
	    sizeof out, &len), NTS_SRV_DROP);
	nts_client_free(&c);
	nts_server_worker_free(w);
	nts_server_free(&s);
	nts_server_free(&other);
}

/* What w answers a client holding one cookie of s's current key. */
static enum nts_srv_verdict
answer_fresh(struct nts_server_worker *w, struct nts_server *s,
    struct nts_client *c, uint8_t *out, size_t *len)
{
	static const uint8_t hdr[48] = { 0x24, 2 }, kod[48] = { 0xe4 };
	uint8_t req[NTP_MAX_PKT];
	size_t n = client_request(c, s, 1, req, sizeof req);

	return (nts_server_answer(w, req, n, hdr, kod, out, NTP_MAX_PKT, len));
}

/* What w answers a request spending the cookie ck. */
static enum nts_srv_verdict
answer_cookie(struct nts_server_worker *w, const struct nts_cookie *ck)
{
	static const uint8_t hdr[48] = { 0x24, 2 }, kod[48] = { 0xe4 };
	uint8_t req[NTP_MAX_PKT], out[NTP_MAX_PKT];
	struct nts_client c;
	enum nts_srv_verdict v;
	size_t n, len;

	n = client_with(&c, ck, 1, req, sizeof req);
	assert_true(n > 0);
	v = nts_server_answer(w, req, n, hdr, kod, out, sizeof out, &len);
	if (v == NTS_SRV_OK)
		assert_int_equal(nts_client_reply(&c, out, len), NTS_OK);
	nts_client_free(&c);
	return (v);
}

/*
 * A server thread's cached ciphers follow the keys: after a rotation a
 * cookie of the previous key still opens and new cookies come under the
 * new key; two rotations on, the oldest key is gone (NAK), also for a
 * worker that saw none of the rotations happen; a loaded keys file
 * replaces what the worker had.
 */
static void
test_worker_rotation(void **state)
{
	uint8_t rnd[NTS_SKEY_RAND], out[NTP_MAX_PKT], c2s[32], s2c[32];
	uint8_t text[NTS_KEYS_TEXT_MAX];
	struct nts_server_worker *w, *idle;
	struct nts_cookie ck_a, ck_b, got;
	struct nts_server s, t;
	struct nts_client c;
	char err[100];
	size_t len;

	(void)state;
	server_with_key(&s, 1, 1000);
	w = worker(&s);
	idle = worker(&s);
	assert_int_equal(nts_server_cookie(&s, C2S, S2C, NONCE, &ck_a), 0);
	assert_int_equal(answer_cookie(w, &ck_a), NTS_SRV_OK);
	/* Rotate: A is previous, B current. */
	memset(rnd, 2, sizeof rnd);
	assert_int_equal(nts_server_new_key(&s, rnd, 2000), 0);
	assert_int_equal(answer_cookie(w, &ck_a), NTS_SRV_OK);
	assert_int_equal(answer_fresh(w, &s, &c, out, &len), NTS_SRV_OK);
	assert_int_equal(nts_client_reply(&c, out, len), NTS_OK);
	got = c.jar[c.n_cookies - 1];		/* sealed by the worker */
	assert_int_equal(nts_server_cookie(&s, C2S, S2C, NONCE, &ck_b), 0);
	assert_memory_equal(got.data, ck_b.data, 4);	/* B's key id */
	assert_memory_not_equal(got.data, ck_a.data, 4);
	assert_int_equal(nts_server_open_cookie(&s, got.data, got.len, c2s,
	    s2c), 0);
	nts_client_free(&c);
	/* Rotate again: A two keys old, B previous, C current. */
	memset(rnd, 3, sizeof rnd);
	assert_int_equal(nts_server_new_key(&s, rnd, 3000), 0);
	assert_int_equal(answer_cookie(w, &ck_a), NTS_SRV_NAK);
	assert_int_equal(answer_cookie(w, &ck_b), NTS_SRV_OK);
	assert_int_equal(answer_cookie(w, &got), NTS_SRV_OK);
	/* The worker that slept through both rotations agrees. */
	assert_int_equal(answer_cookie(idle, &ck_a), NTS_SRV_NAK);
	assert_int_equal(answer_cookie(idle, &ck_b), NTS_SRV_OK);
	/* A keys file of another server replaces all our keys. */
	server_with_key(&t, 9, 5000);
	nts_server_keys_format(&t, (char *)text, sizeof text);
	assert_int_equal(nts_server_keys_parse(&s, (char *)text, err,
	    sizeof err), 0);
	assert_int_equal(answer_cookie(w, &ck_b), NTS_SRV_NAK);
	assert_int_equal(nts_server_cookie(&t, C2S, S2C, NONCE, &got), 0);
	assert_int_equal(answer_cookie(w, &got), NTS_SRV_OK);
	nts_server_free(&t);
	nts_server_worker_free(idle);
	nts_server_worker_free(w);
	nts_server_free(&s);
}

/*
 * Answering takes no lock once the worker has the keys: it answers while
 * this thread holds the keys' lock (a lock taken would hang; the alarm
 * turns that into a failure).
 */
static void
test_worker_no_lock(void **state)
{
	struct nts_server_worker *w;
	struct nts_server s;
	struct nts_cookie ck;

	(void)state;
	server_with_key(&s, 1, 1000);
	w = worker(&s);
	assert_int_equal(nts_server_cookie(&s, C2S, S2C, NONCE, &ck), 0);
	assert_int_equal(answer_cookie(w, &ck), NTS_SRV_OK);	/* copies */
	alarm(10);
	pthread_mutex_lock(&s.lock);
	assert_int_equal(answer_cookie(w, &ck), NTS_SRV_OK);
	pthread_mutex_unlock(&s.lock);
	alarm(0);
	nts_server_worker_free(w);
	nts_server_free(&s);
}

static void
test_handle_counts(void **state)
{
	struct nt_server_state st = { .leap = 0, .stratum = 2, .precision = -20,
	    .refid = 0x01020304 };
	struct nt_server_params sp = { .rl = { .interval = 0, .burst = 1,
	    .entries = 1024 } };
	struct nt_ipaddr from;
	enum nt_server_verdict why;
	uint8_t req[NTP_MAX_PKT], out[NTP_MAX_PKT];
	struct nts_server keys;
	struct nts_client c;
	struct nt_server srv;
	struct nt_acl acl;
	char err[160];
	size_t n, len;

	(void)state;
	assert_int_equal(nt_acl_init(&acl, NULL, 0, NULL, 0, err, sizeof err),
	    0);
	assert_int_equal(nt_ipaddr_parse(&from, "192.0.2.1"), 0);
	server_with_key(&keys, 1, 1000);
	sp.acl = &acl;
	/* Without NTS, extension fields are not served. */
	assert_int_equal(nt_server_init(&srv, &sp, NULL), 0);
	n = client_request(&c, &keys, 2, req, sizeof req);
	assert_int_equal(nt_server_handle(&srv, &st, &from, req, n,
	    (nt_time)5 << 32, 0, out, sizeof out, &why), 0);
	assert_int_equal(why, NT_SRV_DROP_EXT);
	nt_server_free(&srv);
	sp.nts = &keys;
	sp.rand = fake_rand;
	assert_int_equal(nt_server_init(&srv, &sp, NULL), 0);
	len = nt_server_handle(&srv, &st, &from, req, n, (nt_time)5 << 32,
	    (nt_time)6 << 32, out, sizeof out, &why);
	assert_int_equal(why, NT_SRV_NTS_REPLY);
	assert_true(len > NTP_HDR_LEN && len <= n);
	assert_int_equal(nts_client_reply(&c, out, len), NTS_OK);
	assert_int_equal(out[1], 2);			/* our stratum */
	assert_int_equal(srv.cnt.n[NT_SRV_NTS_REPLY], 1);
	nts_client_free(&c);
	/* A cookie no key opens: NTSN, counted. */
	n = client_request(&c, &keys, 1, req, sizeof req);
	req[48 + 36 + 4] ^= 0xff;
	len = nt_server_handle(&srv, &st, &from, req, n, (nt_time)5 << 32,
	    (nt_time)6 << 32, out, sizeof out, &why);
	assert_int_equal(why, NT_SRV_NTS_NAK);
	assert_int_equal(len, 48 + 36);
	assert_int_equal(out[1], 0);
	assert_memory_equal(out + 12, "NTSN", 4);
	assert_int_equal(nts_client_reply(&c, out, len), NTS_NAK);
	assert_int_equal(srv.cnt.n[NT_SRV_NTS_NAK], 1);
	assert_string_equal(nt_server_verdict_str(NT_SRV_NTS_NAK), "nts-nak");
	nts_client_free(&c);
	nt_server_free(&srv);
	nts_server_free(&keys);
	nt_acl_free(&acl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ke_parse_request),
		cmocka_unit_test(test_ke_build_response),
		cmocka_unit_test(test_server_name_ok),
		cmocka_unit_test(test_cookie_round_trip),
		cmocka_unit_test(test_wrong_key_id),
		cmocka_unit_test(test_keys_text),
		cmocka_unit_test(test_answer_cookies),
		cmocka_unit_test(test_answer_nak),
		cmocka_unit_test(test_worker_rotation),
		cmocka_unit_test(test_worker_no_lock),
		cmocka_unit_test(test_handle_counts),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
