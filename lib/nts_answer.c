/*
 * The answer to an NTP request carrying NTS fields (see nts_server.h),
 * one server thread at a time.  Everything a client sends is untrusted
 * until its cookie opens under one of our keys and its Authenticator
 * verifies under the key inside; only then does it get cookies, each
 * sealed with a fresh nonce.  A request whose cookie or Authenticator
 * fails gets a NAK, which carries nothing but its own Unique Identifier.
 *
 * This is the busy path, so each thread keeps what it needs: copies of
 * the server keys with ciphers of its own, refreshed only when the keys'
 * generation moved (a rotation, about once a week), and two ciphers it
 * re-keys per request with the client's keys.  No lock, no allocation,
 * and random bytes drawn from the caller a pool at a time: each call
 * costs a system call (arc4random checks for a fork), and the nonces
 * are sent in the clear anyway.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "ntp_pkt.h"
#include "nts_server.h"

#define AUTH_HDR_LEN 4
#define RAND_POOL 512		/* random bytes drawn at a time */

struct nts_server_worker {
	struct nts_server *s;
	void		(*rand)(uint8_t *, size_t);
	unsigned	gen;		/* of cur and prev; 0: none yet */
	struct nts_skey	cur, prev;	/* aead NULL: no such key */
	struct nts_aead	*own[2];	/* the ciphers cur and prev use */
	struct nts_aead	*c2s, *s2c;	/* this request's client keys */
	uint8_t		pool[RAND_POOL];
	size_t		pool_used;	/* bytes of pool handed out */
};

static const uint8_t zero_key[NTS_AEAD_KEY_LEN];

struct nts_server_worker *
nts_server_worker_new(struct nts_server *s, void (*rand)(uint8_t *, size_t))
{
	struct nts_server_worker *w = calloc(1, sizeof *w);

	assert(s != NULL && rand != NULL);
	if (w == NULL)
		return (NULL);
	w->s = s;
	w->rand = rand;
	w->pool_used = sizeof w->pool;	/* drawn when first needed */
	for (int i = 0; i < 2; i++)
		w->own[i] = nts_aead_new(zero_key, sizeof zero_key);
	w->c2s = nts_aead_new(zero_key, sizeof zero_key);
	w->s2c = nts_aead_new(zero_key, sizeof zero_key);
	if (w->own[0] == NULL || w->own[1] == NULL || w->c2s == NULL ||
	    w->s2c == NULL) {
		nts_server_worker_free(w);
		return (NULL);
	}
	return (w);
}

void
nts_server_worker_free(struct nts_server_worker *w)
{
	if (w == NULL)
		return;
	for (int i = 0; i < 2; i++)
		nts_aead_free(w->own[i]);
	nts_aead_free(w->c2s);
	nts_aead_free(w->s2c);
	memset(w, 0, sizeof *w);	/* the key copies */
	free(w);
}

/* Our copy of k, using cipher a, or no key. */
static void
adopt_key(struct nts_skey *k, bool live, struct nts_aead *a)
{
	int r;

	if (!live) {
		memset(k, 0, sizeof *k);
		return;
	}
	r = nts_aead_rekey(a, k->key, sizeof k->key);
	assert(r == 0);		/* a key of the right length */
	(void)r;
	k->aead = a;
}

/* The keys as they are now, when they changed since we last looked. */
static void
refresh_keys(struct nts_server_worker *w)
{
	bool live[2];

	if (nts_server_gen(w->s) == w->gen)
		return;
	w->gen = nts_server_snapshot(w->s, &w->cur, &w->prev, live);
	adopt_key(&w->cur, live[0], w->own[0]);
	adopt_key(&w->prev, live[1], w->own[1]);
}

/* n random bytes from the pool, refilled from the caller's rand. */
static void
take_random(struct nts_server_worker *w, uint8_t *out, size_t n)
{
	assert(n <= sizeof w->pool);
	if (sizeof w->pool - w->pool_used < n) {
		w->rand(w->pool, sizeof w->pool);
		w->pool_used = 0;
	}
	memcpy(out, w->pool + w->pool_used, n);
	w->pool_used += n;
}

static size_t
pad4(size_t n)
{
	return ((n + 3) & ~(size_t)3);
}

/* Where the fields of a request are. */
struct req_fields {
	struct nts_ef	uid, cookie, auth;
	size_t		auth_off;	/* 0: none */
	int		n_uid, n_cookie, n_placeholders;
};

static bool
scan_request(const uint8_t *req, size_t len, struct req_fields *rf)
{
	size_t off = NTP_HDR_LEN, flen;
	struct nts_ef f;

	memset(rf, 0, sizeof *rf);
	while (off < len) {
		if ((flen = nts_ef_next(req + off, len - off, &f)) == 0 ||
		    rf->auth_off != 0)
			return (false);		/* malformed, or after auth */
		if (f.type == NTS_EF_UNIQUE_ID) {
			rf->uid = f;
			rf->n_uid++;
		} else if (f.type == NTS_EF_COOKIE) {
			rf->cookie = f;
			rf->n_cookie++;
		} else if (f.type == NTS_EF_PLACEHOLDER)
			rf->n_placeholders++;
		else if (f.type == NTS_EF_AUTH) {
			rf->auth = f;
			rf->auth_off = off;
		}
		off += flen;
	}
	return (rf->n_uid == 1 && rf->n_cookie == 1 && rf->auth_off != 0 &&
	    rf->uid.len >= NTS_UID_LEN);
}

/* The Authenticator of a request verifies under w->c2s. */
static bool
auth_ok(const struct nts_server_worker *w, const struct req_fields *rf,
    const uint8_t *req)
{
	uint8_t pt[NTP_MAX_PKT];
	const struct nts_ef *f = &rf->auth;
	size_t nlen, clen, ptlen;

	if (f->len < AUTH_HDR_LEN)
		return (false);
	nlen = (size_t)f->body[0] << 8 | f->body[1];
	clen = (size_t)f->body[2] << 8 | f->body[3];
	if (nlen < NTS_NONCE_LEN || clen < NTS_AEAD_TAG_LEN ||
	    AUTH_HDR_LEN + pad4(nlen) + pad4(clen) > f->len)
		return (false);
	return (nts_aead_open(w->c2s, f->body + AUTH_HDR_LEN, nlen, req,
	    rf->auth_off, f->body + AUTH_HDR_LEN + pad4(nlen), clen, pt,
	    sizeof pt, &ptlen) == 0);
}

/*
 * How many cookies fit: the reply (header, identifier, Authenticator
 * with a 16-byte nonce) may be no longer than the request.
 */
static int
cookies_that_fit(const struct req_fields *rf, size_t len, size_t uid_flen)
{
	size_t fixed = NTP_HDR_LEN + uid_flen + 4 + AUTH_HDR_LEN +
	    NTS_NONCE_LEN + NTS_AEAD_TAG_LEN;
	size_t one = pad4(4 + NTS_SCOOKIE_LEN);
	int n = 1 + rf->n_placeholders;

	if (n > NTS_COOKIE_MAX)
		n = NTS_COOKIE_MAX;
	while (n > 0 && fixed + (size_t)n * one > len)
		n--;
	return (n);
}

/* Header, echoed identifier and the sealed cookies into out. */
static size_t
build_reply(struct nts_server_worker *w, const struct req_fields *rf,
    size_t len, const uint8_t *hdr, const uint8_t *c2s, const uint8_t *s2c,
    uint8_t *out, size_t cap)
{
	uint8_t pt[NTS_COOKIE_MAX * (4 + NTS_SCOOKIE_LEN)], *a;
	uint8_t rnd[(NTS_COOKIE_MAX + 1) * NTS_NONCE_LEN];
	struct nts_cookie c;
	size_t n, ptlen = 0, f, clen;
	int want;

	if (cap < NTP_HDR_LEN || w->cur.aead == NULL)
		return (0);
	memcpy(out, hdr, NTP_HDR_LEN);
	n = NTP_HDR_LEN;
	if ((f = nts_ef_put(out + n, cap - n, NTS_EF_UNIQUE_ID, rf->uid.body,
	    rf->uid.len)) == 0)
		return (0);
	n += f;
	want = cookies_that_fit(rf, len, f);
	/* A nonce to seal with, and one per cookie. */
	take_random(w, rnd, NTS_NONCE_LEN * (size_t)(want + 1));
	for (int i = 0; i < want; i++) {
		if (nts_skey_seal_cookie(&w->cur, c2s, s2c, rnd +
		    NTS_NONCE_LEN * (size_t)(i + 1), &c) != 0)
			return (0);
		ptlen += nts_ef_put(pt + ptlen, sizeof pt - ptlen,
		    NTS_EF_COOKIE, c.data, c.len);
	}
	clen = ptlen + NTS_AEAD_TAG_LEN;
	if (cap - n < 4 + AUTH_HDR_LEN + NTS_NONCE_LEN + clen)
		return (0);
	a = out + n;
	memset(a, 0, 4 + AUTH_HDR_LEN + NTS_NONCE_LEN + clen);
	a[0] = NTS_EF_AUTH >> 8;
	a[1] = NTS_EF_AUTH & 0xff;
	f = 4 + AUTH_HDR_LEN + NTS_NONCE_LEN + clen;
	a[2] = (uint8_t)(f >> 8);
	a[3] = (uint8_t)f;
	a[5] = NTS_NONCE_LEN;
	a[6] = (uint8_t)(clen >> 8);
	a[7] = (uint8_t)clen;
	memcpy(a + 8, rnd, NTS_NONCE_LEN);
	f = nts_aead_seal(w->s2c, rnd, NTS_NONCE_LEN, out, n, pt, ptlen,
	    a + 8 + NTS_NONCE_LEN, clen);
	return (f == clen ? n + 4 + AUTH_HDR_LEN + NTS_NONCE_LEN + clen : 0);
}

/* The client's keys from its cookie into w->c2s and w->s2c (and out). */
static bool
open_client_keys(struct nts_server_worker *w, const struct req_fields *rf,
    uint8_t *c2s, uint8_t *s2c)
{
	return (nts_skey_open_cookie(&w->cur, &w->prev, rf->cookie.body,
	    rf->cookie.len, c2s, s2c) == 0 &&
	    nts_aead_rekey(w->c2s, c2s, NTS_AEAD_KEY_LEN) == 0 &&
	    nts_aead_rekey(w->s2c, s2c, NTS_AEAD_KEY_LEN) == 0);
}

enum nts_srv_verdict
nts_server_answer(struct nts_server_worker *w, const uint8_t *req,
    size_t len, const uint8_t *hdr, const uint8_t *kod, uint8_t *out,
    size_t cap, size_t *out_len)
{
	uint8_t c2s[NTS_AEAD_KEY_LEN], s2c[NTS_AEAD_KEY_LEN];
	struct req_fields rf;
	bool ok;
	size_t f;

	assert(w != NULL && req != NULL && hdr != NULL && kod != NULL);
	*out_len = 0;
	if (len <= NTP_HDR_LEN || len > NTP_MAX_PKT ||
	    !scan_request(req, len, &rf))
		return (NTS_SRV_DROP);
	refresh_keys(w);
	ok = open_client_keys(w, &rf, c2s, s2c) && auth_ok(w, &rf, req);
	if (ok)
		*out_len = build_reply(w, &rf, len, hdr, c2s, s2c, out, cap);
	memset(c2s, 0, sizeof c2s);
	memset(s2c, 0, sizeof s2c);
	if (ok)
		return (*out_len > 0 ? NTS_SRV_OK : NTS_SRV_DROP);
	/* RFC 8915 section 5.7: a NAK echoes the identifier, nothing else. */
	if (cap < NTP_HDR_LEN)
		return (NTS_SRV_DROP);
	memcpy(out, kod, NTP_HDR_LEN);
	f = nts_ef_put(out + NTP_HDR_LEN, cap - NTP_HDR_LEN, NTS_EF_UNIQUE_ID,
	    rf.uid.body, rf.uid.len);
	*out_len = f == 0 ? 0 : NTP_HDR_LEN + f;
	return (f == 0 ? NTS_SRV_DROP : NTS_SRV_NAK);
}
