/*
 * The server's half of NTS (RFC 8915), sans-I/O: the cookies we hand
 * out in the KE and in NTP replies, and what to answer to an NTP request
 * carrying NTS extension fields.  As chrony does, a cookie is the
 * client's two keys sealed (AES-SIV) under a server key named by a
 * 32-bit id, so the server keeps no per-client state; the current and
 * the previous server key are accepted, so a rotation does not strand a
 * client.  Random bytes come from the caller; file and TLS I/O live in
 * nts_ke_server.c.  One mutex guards the keys, which the KE threads use
 * as they are; each server thread answers NTP requests (nts_answer.c)
 * with its own copy, refreshed when an atomic generation number says
 * the keys changed, so that serving takes no lock.
 */
#ifndef NTIMED_NTS_SERVER_H
#define NTIMED_NTS_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nts.h"

#define NTS_SKEY_LEN NTS_AEAD_KEY_LEN
#define NTS_SKEY_RAND (4 + NTS_SKEY_LEN)	/* bytes for a new key */
/* key id, nonce, sealed c2s || s2c */
#define NTS_SCOOKIE_LEN (4 + NTS_NONCE_LEN + NTS_AEAD_TAG_LEN + \
	2 * NTS_AEAD_KEY_LEN)
#define NTS_KEYS_TEXT_MAX 512

struct nts_skey {
	uint32_t	id;
	int64_t		created;	/* Unix seconds */
	uint8_t		key[NTS_SKEY_LEN];
	struct nts_aead	*aead;		/* NULL: no key */
};

struct nts_server {
	pthread_mutex_t	lock;
	struct nts_skey	cur, prev;	/* prev.aead NULL: none */
	double		rotate;		/* s between keys */
	atomic_uint	gen;		/* moves (under lock) with the keys */
};

int nts_server_init(struct nts_server *s, double rotate);
void nts_server_free(struct nts_server *s);
/* A new current key from rnd (NTS_SKEY_RAND bytes); the old one stays. */
int nts_server_new_key(struct nts_server *s, const uint8_t *rnd, int64_t now);
/* True when the current key is due for rotation (or there is none). */
bool nts_server_due(struct nts_server *s, int64_t now);

/*
 * The key state as text ("ntimed-nts-keys 1", then one line per key:
 * id, creation time, hex key; current first) and back.  Parse returns 0,
 * or -1 with err "line N: why".
 */
size_t nts_server_keys_format(struct nts_server *s, char *buf, size_t cap);
int nts_server_keys_parse(struct nts_server *s, const char *text, char *err,
    size_t errlen);

/* A cookie holding c2s and s2c under the current key, nonce 16 bytes. */
int nts_server_cookie(struct nts_server *s, const uint8_t *c2s,
    const uint8_t *s2c, const uint8_t *nonce, struct nts_cookie *out);
/* Its keys back: 0, or -1 for an unknown key id or a tampered cookie. */
int nts_server_open_cookie(struct nts_server *s, const uint8_t *cookie,
    size_t len, uint8_t *c2s, uint8_t *s2c);

/* The same two under given keys (k->aead not NULL; prev->aead may be). */
int nts_skey_seal_cookie(const struct nts_skey *k, const uint8_t *c2s,
    const uint8_t *s2c, const uint8_t *nonce, struct nts_cookie *out);
int nts_skey_open_cookie(const struct nts_skey *cur,
    const struct nts_skey *prev, const uint8_t *cookie, size_t len,
    uint8_t *c2s, uint8_t *s2c);

/* The generation of the keys: it moves whenever they change. */
unsigned nts_server_gen(struct nts_server *s);
/*
 * A copy of both keys (aead NULL in the copies, *live whether each
 * exists) and the generation they belong to, taken under the lock.
 */
unsigned nts_server_snapshot(struct nts_server *s, struct nts_skey *cur,
    struct nts_skey *prev, bool live[2]);

/* ---- answering NTP requests (nts_answer.c) ---- */

/*
 * What one server thread answers NTS requests with: its own ciphers for
 * the server keys, made again only when the generation moved, two
 * ciphers re-keyed per request with the client's keys from the cookie,
 * and rand for the nonces (called for a pool of them at a time).
 */
struct nts_server_worker;

struct nts_server_worker *nts_server_worker_new(struct nts_server *s,
    void (*rand)(uint8_t *, size_t));
void nts_server_worker_free(struct nts_server_worker *w);

enum nts_srv_verdict {
	NTS_SRV_OK = 0,		/* reply with the length returned */
	NTS_SRV_NAK,		/* cookie or authenticator no good: NTSN kiss */
	NTS_SRV_DROP,		/* not an NTS request, or malformed */
};

/*
 * An NTP request req[0..len) (header and extension fields) whose answer
 * header hdr (NTP_HDR_LEN bytes, its transmit time already set) was
 * built by the caller.  NTS_SRV_OK: out holds header, Unique Identifier
 * and an Authenticator sealing a fresh cookie per cookie and placeholder
 * received (as many as fit in len bytes: never longer than the request).
 * NTS_SRV_NAK: out holds the caller's kiss header kod (NTSN) and the
 * Unique Identifier.  *out_len is the length.  Only the thread that owns
 * w may call this with it.
 */
enum nts_srv_verdict nts_server_answer(struct nts_server_worker *w,
    const uint8_t *req, size_t len, const uint8_t *hdr, const uint8_t *kod,
    uint8_t *out, size_t cap, size_t *out_len);

#endif
