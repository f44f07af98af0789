/*
 * NTS extension fields in NTP packets (RFC 8915 section 5): a client's
 * request (Unique Identifier, Cookie, Cookie Placeholders, Authenticator)
 * and the checks on a reply, then the cookie jar that ties them together.
 * A reply counts only if it echoes our identifier and its Authenticator
 * decrypts under the key from the KE; only the cookies inside the
 * encrypted part are kept, so nobody on the path can feed us cookies.
 */
#include <assert.h>
#include <string.h>

#include "ntp_pkt.h"
#include "nts.h"

#define EF_HDR_LEN 4
#define EF_MIN_LEN 16		/* RFC 7822 */
#define AUTH_HDR_LEN 4		/* nonce length, ciphertext length */
#define NTS_NAK_CODE 0x4e54534eu	/* "NTSN" */

static uint16_t
get16(const uint8_t *p)
{
	return ((uint16_t)((unsigned)p[0] << 8 | p[1]));
}

static void
put16(uint8_t *p, size_t v)
{
	assert(v <= 0xffff);
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static size_t
pad4(size_t n)
{
	return ((n + 3) & ~(size_t)3);
}

size_t
nts_ef_put(uint8_t *p, size_t cap, unsigned type, const uint8_t *body,
    size_t len)
{
	size_t flen = pad4(EF_HDR_LEN + len);

	if (flen < EF_MIN_LEN)
		flen = EF_MIN_LEN;
	if (flen > cap)
		return (0);
	memset(p, 0, flen);
	put16(p, type);
	put16(p + 2, flen);
	if (body != NULL)
		memcpy(p + EF_HDR_LEN, body, len);
	return (flen);
}

/* The Authenticator over buf[0..ad_len): sealed empty plaintext. */
static size_t
put_auth(uint8_t *buf, size_t ad_len, size_t cap, const struct nts_aead *c2s,
    const uint8_t *nonce)
{
	size_t body = AUTH_HDR_LEN + NTS_NONCE_LEN + NTS_AEAD_TAG_LEN;
	uint8_t *p = buf + ad_len;

	if (cap - ad_len < EF_HDR_LEN + body)
		return (0);
	put16(p, NTS_EF_AUTH);
	put16(p + 2, EF_HDR_LEN + body);
	put16(p + 4, NTS_NONCE_LEN);
	put16(p + 6, NTS_AEAD_TAG_LEN);
	memcpy(p + 8, nonce, NTS_NONCE_LEN);
	if (nts_aead_seal(c2s, nonce, NTS_NONCE_LEN, buf, ad_len, p, 0,
	    p + 8 + NTS_NONCE_LEN, NTS_AEAD_TAG_LEN) != NTS_AEAD_TAG_LEN)
		return (0);
	return (EF_HDR_LEN + body);
}

size_t
nts_build_request(const uint8_t *hdr, const uint8_t *uid,
    const struct nts_cookie *cookie, int n_placeholders,
    const struct nts_aead *c2s, const uint8_t *nonce, uint8_t *buf,
    size_t cap)
{
	size_t n, f;

	assert(hdr != NULL && uid != NULL && cookie != NULL && nonce != NULL);
	assert(cookie->len > 0 && cookie->len <= NTS_COOKIE_MAX_LEN);
	assert(n_placeholders >= 0 && c2s != NULL && buf != NULL);
	if (cap < NTP_HDR_LEN)
		return (0);
	memcpy(buf, hdr, NTP_HDR_LEN);
	n = NTP_HDR_LEN;
	if ((f = nts_ef_put(buf + n, cap - n, NTS_EF_UNIQUE_ID, uid,
	    NTS_UID_LEN)) == 0)
		return (0);
	n += f;
	if ((f = nts_ef_put(buf + n, cap - n, NTS_EF_COOKIE, cookie->data,
	    cookie->len)) == 0)
		return (0);
	n += f;
	for (int i = 0; i < n_placeholders; i++) {
		if ((f = nts_ef_put(buf + n, cap - n, NTS_EF_PLACEHOLDER, NULL,
		    cookie->len)) == 0)
			return (0);
		n += f;
	}
	return ((f = put_auth(buf, n, cap, c2s, nonce)) == 0 ? 0 : n + f);
}

/* ---- replies ---- */

size_t
nts_ef_next(const uint8_t *p, size_t rem, struct nts_ef *f)
{
	size_t flen;

	if (rem < EF_MIN_LEN)
		return (0);
	flen = get16(p + 2);
	if (flen < EF_MIN_LEN || flen % 4 != 0 || flen > rem)
		return (0);
	f->type = get16(p);
	f->body = p + EF_HDR_LEN;
	f->len = flen - EF_HDR_LEN;
	return (flen);
}

/* Cookies from decrypted fields into out; other fields are ignored. */
static enum nts_verdict
take_cookies(const uint8_t *p, size_t rem, struct nts_cookie *out, int max,
    int *n_out)
{
	struct nts_ef f;
	size_t flen;

	while (rem > 0) {
		if ((flen = nts_ef_next(p, rem, &f)) == 0)
			return (NTS_BAD_ENCRYPTED);
		if (f.type == NTS_EF_COOKIE && f.len > NTS_COOKIE_MAX_LEN)
			return (NTS_BAD_ENCRYPTED);
		if (f.type == NTS_EF_COOKIE && *n_out < max) {
			out[*n_out].len = (uint16_t)f.len;
			memcpy(out[*n_out].data, f.body, f.len);
			(*n_out)++;
		}
		p += flen;
		rem -= flen;
	}
	return (NTS_OK);
}

/* Decrypt the Authenticator at f; buf[0..ad_len) is what it covers. */
static enum nts_verdict
open_auth(const struct nts_ef *f, const uint8_t *buf, size_t ad_len,
    const struct nts_aead *s2c, struct nts_cookie *out, int max, int *n_out)
{
	uint8_t pt[NTP_MAX_PKT];
	size_t nlen, clen, ptlen;

	if (f->len < AUTH_HDR_LEN)
		return (NTS_BAD_AUTH_FIELD);
	nlen = get16(f->body);
	clen = get16(f->body + 2);
	if (nlen == 0 || clen < NTS_AEAD_TAG_LEN ||
	    AUTH_HDR_LEN + pad4(nlen) + pad4(clen) > f->len)
		return (NTS_BAD_AUTH_FIELD);
	if (nts_aead_open(s2c, f->body + AUTH_HDR_LEN, nlen, buf, ad_len,
	    f->body + AUTH_HDR_LEN + pad4(nlen), clen, pt, sizeof pt,
	    &ptlen) != 0)
		return (NTS_AUTH_FAILED);
	return (take_cookies(pt, ptlen, out, max, n_out));
}

/* Where the fields of a reply are, and which of them matter. */
struct reply_fields {
	bool		uid_ok, uid_seen;
	struct nts_ef	auth;
	size_t		auth_off;	/* 0: none */
};

static enum nts_verdict
scan_reply(const uint8_t *buf, size_t len, const uint8_t *uid,
    struct reply_fields *rf)
{
	size_t off = NTP_HDR_LEN, flen;
	struct nts_ef f;

	memset(rf, 0, sizeof *rf);
	while (off < len) {
		if ((flen = nts_ef_next(buf + off, len - off, &f)) == 0)
			return (NTS_MALFORMED);
		if (rf->auth_off != 0)
			return (NTS_AUTH_NOT_LAST);
		if (f.type == NTS_EF_UNIQUE_ID && !rf->uid_seen) {
			rf->uid_seen = true;
			rf->uid_ok = f.len == NTS_UID_LEN &&
			    memcmp(f.body, uid, NTS_UID_LEN) == 0;
		} else if (f.type == NTS_EF_AUTH) {
			rf->auth = f;
			rf->auth_off = off;
		}
		off += flen;
	}
	return (NTS_OK);
}

static bool
is_nak(const uint8_t *buf)
{
	uint32_t refid = (uint32_t)get16(buf + 12) << 16 | get16(buf + 14);

	return (buf[1] == 0 && refid == NTS_NAK_CODE);
}

enum nts_verdict
nts_verify_reply(const uint8_t *buf, size_t len, const uint8_t *uid,
    const struct nts_aead *s2c, struct nts_cookie *out, int max, int *n_out)
{
	struct reply_fields rf;
	enum nts_verdict v;

	assert(buf != NULL && uid != NULL && s2c != NULL && n_out != NULL);
	assert(max >= 0 && (out != NULL || max == 0));
	*n_out = 0;
	if (len < NTP_HDR_LEN || len > NTP_MAX_PKT)
		return (NTS_MALFORMED);
	if ((v = scan_reply(buf, len, uid, &rf)) != NTS_OK)
		return (v);
	if (!rf.uid_seen)
		return (NTS_NO_UID);
	if (!rf.uid_ok)
		return (NTS_BAD_UID);
	if (rf.auth_off == 0)
		return (is_nak(buf) ? NTS_NAK : NTS_NO_AUTH);
	v = open_auth(&rf.auth, buf, rf.auth_off, s2c, out, max, n_out);
	if (v != NTS_OK)
		*n_out = 0;
	return (v);
}

const char *
nts_verdict_str(enum nts_verdict v)
{
	static const char *const text[] = {
		[NTS_OK] = "authenticated",
		[NTS_NAK] = "NTS NAK (the server no longer takes our cookies)",
		[NTS_MALFORMED] = "malformed extension fields",
		[NTS_NO_UID] = "not authenticated (no NTS unique identifier)",
		[NTS_BAD_UID] = "unique identifier is not ours",
		[NTS_NO_AUTH] = "not authenticated (no NTS authenticator)",
		[NTS_AUTH_NOT_LAST] = "fields after the NTS authenticator",
		[NTS_BAD_AUTH_FIELD] = "malformed NTS authenticator",
		[NTS_AUTH_FAILED] = "NTS authentication failed",
		[NTS_BAD_ENCRYPTED] = "malformed encrypted extension fields",
	};

	if ((unsigned)v < sizeof text / sizeof text[0])
		return (text[v]);
	return ("unknown NTS verdict");
}
