/*
 * NTS for servers (see nts_server.h): server keys, cookies, and the
 * answer to an NTS request.  Everything a client sends is untrusted until
 * its cookie opens under one of our keys and its Authenticator verifies
 * under the key inside; only then does it get cookies, each sealed with
 * a fresh nonce.  A request whose cookie or Authenticator fails gets a
 * NAK, which carries nothing but its own Unique Identifier.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntp_pkt.h"
#include "nts_server.h"

#define AUTH_HDR_LEN 4
#define KEYS_MAGIC "ntimed-nts-keys 1"

/* A key id on the wire (network order). */
static uint32_t
key_id(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof v);
	return (ntohl(v));
}

static size_t
pad4(size_t n)
{
	return ((n + 3) & ~(size_t)3);
}

int
nts_server_init(struct nts_server *s, double rotate)
{
	assert(rotate > 0);
	memset(s, 0, sizeof *s);
	s->rotate = rotate;
	return (pthread_mutex_init(&s->lock, NULL) == 0 ? 0 : -1);
}

static void
skey_clear(struct nts_skey *k)
{
	nts_aead_free(k->aead);
	memset(k, 0, sizeof *k);
}

void
nts_server_free(struct nts_server *s)
{
	skey_clear(&s->cur);
	skey_clear(&s->prev);
	pthread_mutex_destroy(&s->lock);
}

/* Make k current, the current one previous (s->lock held). */
static int
push_key(struct nts_server *s, uint32_t id, int64_t created,
    const uint8_t *key)
{
	struct nts_aead *a = nts_aead_new(key, NTS_SKEY_LEN);

	if (a == NULL)
		return (-1);
	skey_clear(&s->prev);
	s->prev = s->cur;
	s->cur.id = id;
	s->cur.created = created;
	memcpy(s->cur.key, key, NTS_SKEY_LEN);
	s->cur.aead = a;
	return (0);
}

int
nts_server_new_key(struct nts_server *s, const uint8_t *rnd, int64_t now)
{
	uint32_t id = key_id(rnd);
	int r;

	pthread_mutex_lock(&s->lock);
	if (s->cur.aead != NULL && id == s->cur.id)
		id++;		/* ids of the two live keys must differ */
	r = push_key(s, id, now, rnd + 4);
	pthread_mutex_unlock(&s->lock);
	return (r);
}

bool
nts_server_due(struct nts_server *s, int64_t now)
{
	bool due;

	pthread_mutex_lock(&s->lock);
	due = s->cur.aead == NULL || (double)(now - s->cur.created) >=
	    s->rotate || now < s->cur.created;
	pthread_mutex_unlock(&s->lock);
	return (due);
}

static size_t
format_key(const struct nts_skey *k, char *buf, size_t cap)
{
	size_t n = (size_t)snprintf(buf, cap, "%08" PRIx32 " %" PRId64 " ",
	    k->id, k->created);

	for (int i = 0; i < NTS_SKEY_LEN && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%02x", k->key[i]);
	if (n < cap)
		n += (size_t)snprintf(buf + n, cap - n, "\n");
	return (n);
}

size_t
nts_server_keys_format(struct nts_server *s, char *buf, size_t cap)
{
	size_t n;

	assert(cap >= NTS_KEYS_TEXT_MAX);
	pthread_mutex_lock(&s->lock);
	n = (size_t)snprintf(buf, cap, "%s\n", KEYS_MAGIC);
	if (s->cur.aead != NULL)
		n += format_key(&s->cur, buf + n, cap - n);
	if (s->prev.aead != NULL)
		n += format_key(&s->prev, buf + n, cap - n);
	pthread_mutex_unlock(&s->lock);
	assert(n < cap);
	return (n);
}

static int
hex_digit(char c)
{
	static const char digits[] = "0123456789abcdef";
	const char *p = c != '\0' ? strchr(digits, c) : NULL;

	return (p == NULL ? -1 : (int)(p - digits));
}

/* Exactly 2n lowercase hex digits into out[0..n). */
static int
parse_hex(const char *h, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hex_digit(h[2 * i]), lo = hi < 0 ? -1 :
		    hex_digit(h[2 * i + 1]);

		if (lo < 0)
			return (-1);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (h[2 * n] == '\0' ? 0 : -1);
}

/* One "id created hexkey" line into id, created, key. */
static int
parse_key_line(const char *line, uint32_t *id, int64_t *created,
    uint8_t *key)
{
	char hex[2 * NTS_SKEY_LEN + 1], *end;
	unsigned long long v;
	long long t;
	size_t n;

	errno = 0;
	v = strtoull(line, &end, 16);
	if (errno != 0 || end == line || *end != ' ' || v > UINT32_MAX)
		return (-1);
	*id = (uint32_t)v;
	line = end + 1;
	t = strtoll(line, &end, 10);
	if (errno != 0 || end == line || *end != ' ')
		return (-1);
	*created = t;
	line = end + 1;
	n = strcspn(line, "\n");
	if (n != 2 * NTS_SKEY_LEN)
		return (-1);
	memcpy(hex, line, n);
	hex[n] = '\0';
	return (parse_hex(hex, key, NTS_SKEY_LEN));
}

int
nts_server_keys_parse(struct nts_server *s, const char *text, char *err,
    size_t errlen)
{
	struct { uint32_t id; int64_t created; uint8_t key[NTS_SKEY_LEN]; }
	    k[2];
	const char *p = text, *nl;
	int n = 0, line = 1;

	if (strncmp(text, KEYS_MAGIC "\n", sizeof KEYS_MAGIC) != 0) {
		snprintf(err, errlen, "line 1: not an ntimed NTS key file");
		return (-1);
	}
	p += sizeof KEYS_MAGIC;
	while (*p != '\0') {
		line++;
		if (n == 2 || parse_key_line(p, &k[n].id, &k[n].created,
		    k[n].key) != 0) {
			snprintf(err, errlen, "line %d: %s", line, n == 2 ?
			    "more than two keys" : "expected 'id time hexkey'");
			return (-1);
		}
		n++;
		p = (nl = strchr(p, '\n')) == NULL ? p + strlen(p) : nl + 1;
	}
	if (n == 0) {
		snprintf(err, errlen, "line 2: no key");
		return (-1);
	}
	pthread_mutex_lock(&s->lock);
	/* Oldest first, so the file's first key ends up current. */
	for (int i = n - 1; i >= 0; i--)
		if (push_key(s, k[i].id, k[i].created, k[i].key) != 0) {
			pthread_mutex_unlock(&s->lock);
			snprintf(err, errlen, "line %d: cipher refused the key",
			    i + 2);
			return (-1);
		}
	pthread_mutex_unlock(&s->lock);
	return (0);
}

int
nts_server_cookie(struct nts_server *s, const uint8_t *c2s,
    const uint8_t *s2c, const uint8_t *nonce, struct nts_cookie *out)
{
	uint8_t pt[2 * NTS_AEAD_KEY_LEN], *p = out->data;
	size_t n = 0;

	memcpy(pt, c2s, NTS_AEAD_KEY_LEN);
	memcpy(pt + NTS_AEAD_KEY_LEN, s2c, NTS_AEAD_KEY_LEN);
	pthread_mutex_lock(&s->lock);
	if (s->cur.aead != NULL) {
		uint32_t id = htonl(s->cur.id);

		memcpy(p, &id, sizeof id);
		memcpy(p + 4, nonce, NTS_NONCE_LEN);
		n = nts_aead_seal(s->cur.aead, nonce, NTS_NONCE_LEN, NULL, 0,
		    pt, sizeof pt, p + 4 + NTS_NONCE_LEN,
		    NTS_SCOOKIE_LEN - 4 - NTS_NONCE_LEN);
	}
	pthread_mutex_unlock(&s->lock);
	memset(pt, 0, sizeof pt);
	out->len = NTS_SCOOKIE_LEN;
	return (n == sizeof pt + NTS_AEAD_TAG_LEN ? 0 : -1);
}

int
nts_server_open_cookie(struct nts_server *s, const uint8_t *cookie,
    size_t len, uint8_t *c2s, uint8_t *s2c)
{
	uint8_t pt[2 * NTS_AEAD_KEY_LEN];
	const struct nts_skey *k = NULL;
	size_t ptlen = 0;
	int r = -1;

	if (len != NTS_SCOOKIE_LEN)
		return (-1);
	pthread_mutex_lock(&s->lock);
	if (s->cur.aead != NULL && key_id(cookie) == s->cur.id)
		k = &s->cur;
	else if (s->prev.aead != NULL && key_id(cookie) == s->prev.id)
		k = &s->prev;
	if (k != NULL)
		r = nts_aead_open(k->aead, cookie + 4, NTS_NONCE_LEN, NULL, 0,
		    cookie + 4 + NTS_NONCE_LEN, len - 4 - NTS_NONCE_LEN, pt,
		    sizeof pt, &ptlen);
	pthread_mutex_unlock(&s->lock);
	if (r != 0 || ptlen != sizeof pt)
		return (-1);
	memcpy(c2s, pt, NTS_AEAD_KEY_LEN);
	memcpy(s2c, pt + NTS_AEAD_KEY_LEN, NTS_AEAD_KEY_LEN);
	memset(pt, 0, sizeof pt);
	return (0);
}

/* ---- NTP requests ---- */

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

/* The Authenticator of a request verifies under c2s. */
static bool
auth_ok(const struct req_fields *rf, const uint8_t *req, const uint8_t *c2s)
{
	uint8_t pt[NTP_MAX_PKT];
	const struct nts_ef *f = &rf->auth;
	struct nts_aead *a;
	size_t nlen, clen, ptlen;
	int r;

	if (f->len < AUTH_HDR_LEN)
		return (false);
	nlen = (size_t)f->body[0] << 8 | f->body[1];
	clen = (size_t)f->body[2] << 8 | f->body[3];
	if (nlen < NTS_NONCE_LEN || clen < NTS_AEAD_TAG_LEN ||
	    AUTH_HDR_LEN + pad4(nlen) + pad4(clen) > f->len ||
	    (a = nts_aead_new(c2s, NTS_AEAD_KEY_LEN)) == NULL)
		return (false);
	r = nts_aead_open(a, f->body + AUTH_HDR_LEN, nlen, req, rf->auth_off,
	    f->body + AUTH_HDR_LEN + pad4(nlen), clen, pt, sizeof pt, &ptlen);
	nts_aead_free(a);
	return (r == 0);
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
build_reply(struct nts_server *s, const struct req_fields *rf, size_t len,
    const uint8_t *hdr, const uint8_t *c2s, const uint8_t *s2c,
    const uint8_t *rnd, uint8_t *out, size_t cap)
{
	uint8_t pt[NTS_COOKIE_MAX * (4 + NTS_SCOOKIE_LEN)], *a;
	struct nts_cookie c;
	size_t n, ptlen = 0, f, clen;
	int want;

	if (cap < NTP_HDR_LEN)
		return (0);
	memcpy(out, hdr, NTP_HDR_LEN);
	n = NTP_HDR_LEN;
	if ((f = nts_ef_put(out + n, cap - n, NTS_EF_UNIQUE_ID, rf->uid.body,
	    rf->uid.len)) == 0)
		return (0);
	n += f;
	want = cookies_that_fit(rf, len, f);
	for (int i = 0; i < want; i++) {
		if (nts_server_cookie(s, c2s, s2c, rnd + NTS_NONCE_LEN *
		    (size_t)(i + 1), &c) != 0)
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
	{
		struct nts_aead *k = nts_aead_new(s2c, NTS_AEAD_KEY_LEN);

		if (k == NULL)
			return (0);
		f = nts_aead_seal(k, rnd, NTS_NONCE_LEN, out, n, pt, ptlen,
		    a + 8 + NTS_NONCE_LEN, clen);
		nts_aead_free(k);
	}
	return (f == clen ? n + 4 + AUTH_HDR_LEN + NTS_NONCE_LEN + clen : 0);
}

enum nts_srv_verdict
nts_server_answer(struct nts_server *s, const uint8_t *req, size_t len,
    const uint8_t *hdr, const uint8_t *kod, const uint8_t *rnd, uint8_t *out,
    size_t cap, size_t *out_len)
{
	uint8_t c2s[NTS_AEAD_KEY_LEN], s2c[NTS_AEAD_KEY_LEN];
	struct req_fields rf;
	size_t f;

	assert(req != NULL && hdr != NULL && kod != NULL && rnd != NULL);
	*out_len = 0;
	if (len <= NTP_HDR_LEN || len > NTP_MAX_PKT ||
	    !scan_request(req, len, &rf))
		return (NTS_SRV_DROP);
	if (nts_server_open_cookie(s, rf.cookie.body, rf.cookie.len, c2s,
	    s2c) == 0 && auth_ok(&rf, req, c2s)) {
		*out_len = build_reply(s, &rf, len, hdr, c2s, s2c, rnd, out,
		    cap);
		memset(c2s, 0, sizeof c2s);
		memset(s2c, 0, sizeof s2c);
		return (*out_len > 0 ? NTS_SRV_OK : NTS_SRV_DROP);
	}
	/* RFC 8915 section 5.7: a NAK echoes the identifier, nothing else. */
	if (cap < NTP_HDR_LEN)
		return (NTS_SRV_DROP);
	memcpy(out, kod, NTP_HDR_LEN);
	f = nts_ef_put(out + NTP_HDR_LEN, cap - NTP_HDR_LEN, NTS_EF_UNIQUE_ID,
	    rf.uid.body, rf.uid.len);
	*out_len = f == 0 ? 0 : NTP_HDR_LEN + f;
	return (f == 0 ? NTS_SRV_DROP : NTS_SRV_NAK);
}
