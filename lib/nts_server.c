/*
 * NTS for servers (see nts_server.h): the server keys, their file, and
 * the cookies sealed under them.  Every change of the keys happens under
 * the lock and moves the generation, which is how the server threads
 * (nts_answer.c) learn that their copies are stale.
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

#define KEYS_MAGIC "ntimed-nts-keys 1"

/* A key id on the wire (network order). */
static uint32_t
key_id(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof v);
	return (ntohl(v));
}

int
nts_server_init(struct nts_server *s, double rotate)
{
	assert(rotate > 0);
	memset(s, 0, sizeof *s);
	s->rotate = rotate;
	atomic_init(&s->gen, 1);	/* a new worker's 0 is always stale */
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
	atomic_fetch_add_explicit(&s->gen, 1, memory_order_release);
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
nts_skey_seal_cookie(const struct nts_skey *k, const uint8_t *c2s,
    const uint8_t *s2c, const uint8_t *nonce, struct nts_cookie *out)
{
	uint8_t pt[2 * NTS_AEAD_KEY_LEN], *p = out->data;
	uint32_t id = htonl(k->id);
	size_t n;

	assert(k->aead != NULL);
	memcpy(pt, c2s, NTS_AEAD_KEY_LEN);
	memcpy(pt + NTS_AEAD_KEY_LEN, s2c, NTS_AEAD_KEY_LEN);
	memcpy(p, &id, sizeof id);
	memcpy(p + 4, nonce, NTS_NONCE_LEN);
	n = nts_aead_seal(k->aead, nonce, NTS_NONCE_LEN, NULL, 0, pt, sizeof pt,
	    p + 4 + NTS_NONCE_LEN, NTS_SCOOKIE_LEN - 4 - NTS_NONCE_LEN);
	memset(pt, 0, sizeof pt);
	out->len = NTS_SCOOKIE_LEN;
	return (n == sizeof pt + NTS_AEAD_TAG_LEN ? 0 : -1);
}

int
nts_skey_open_cookie(const struct nts_skey *cur, const struct nts_skey *prev,
    const uint8_t *cookie, size_t len, uint8_t *c2s, uint8_t *s2c)
{
	uint8_t pt[2 * NTS_AEAD_KEY_LEN];
	const struct nts_skey *k = NULL;
	size_t ptlen = 0;

	if (len != NTS_SCOOKIE_LEN)
		return (-1);
	if (cur->aead != NULL && key_id(cookie) == cur->id)
		k = cur;
	else if (prev->aead != NULL && key_id(cookie) == prev->id)
		k = prev;
	if (k == NULL || nts_aead_open(k->aead, cookie + 4, NTS_NONCE_LEN,
	    NULL, 0, cookie + 4 + NTS_NONCE_LEN, len - 4 - NTS_NONCE_LEN, pt,
	    sizeof pt, &ptlen) != 0 || ptlen != sizeof pt)
		return (-1);
	memcpy(c2s, pt, NTS_AEAD_KEY_LEN);
	memcpy(s2c, pt + NTS_AEAD_KEY_LEN, NTS_AEAD_KEY_LEN);
	memset(pt, 0, sizeof pt);
	return (0);
}

int
nts_server_cookie(struct nts_server *s, const uint8_t *c2s,
    const uint8_t *s2c, const uint8_t *nonce, struct nts_cookie *out)
{
	int r = -1;

	pthread_mutex_lock(&s->lock);
	if (s->cur.aead != NULL)
		r = nts_skey_seal_cookie(&s->cur, c2s, s2c, nonce, out);
	pthread_mutex_unlock(&s->lock);
	return (r);
}

int
nts_server_open_cookie(struct nts_server *s, const uint8_t *cookie,
    size_t len, uint8_t *c2s, uint8_t *s2c)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = nts_skey_open_cookie(&s->cur, &s->prev, cookie, len, c2s, s2c);
	pthread_mutex_unlock(&s->lock);
	return (r);
}

unsigned
nts_server_gen(struct nts_server *s)
{
	return (atomic_load_explicit(&s->gen, memory_order_acquire));
}

unsigned
nts_server_snapshot(struct nts_server *s, struct nts_skey *cur,
    struct nts_skey *prev, bool live[2])
{
	unsigned gen;

	pthread_mutex_lock(&s->lock);
	*cur = s->cur;
	*prev = s->prev;
	live[0] = s->cur.aead != NULL;
	live[1] = s->prev.aead != NULL;
	cur->aead = prev->aead = NULL;
	gen = atomic_load_explicit(&s->gen, memory_order_relaxed);
	pthread_mutex_unlock(&s->lock);
	return (gen);
}
