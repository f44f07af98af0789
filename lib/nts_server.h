/*
 * The server's half of NTS (RFC 8915), sans-I/O: the cookies we hand
 * out in the KE and in NTP replies, and what to answer to an NTP request
 * carrying NTS extension fields.  As chrony does, a cookie is the
 * client's two keys sealed (AES-SIV) under a server key named by a
 * 32-bit id, so the server keeps no per-client state; the current and
 * the previous server key are accepted, so a rotation does not strand a
 * client.  Random bytes come from the caller; file and TLS I/O live in
 * nts_ke_server.c.  One mutex guards the keys (workers and the KE
 * threads share them; a GnuTLS cipher handle is not reentrant).
 */
#ifndef NTIMED_NTS_SERVER_H
#define NTIMED_NTS_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nts.h"

#define NTS_SKEY_LEN NTS_AEAD_KEY_LEN
#define NTS_SKEY_RAND (4 + NTS_SKEY_LEN)	/* bytes for a new key */
/* key id, nonce, sealed c2s || s2c */
#define NTS_SCOOKIE_LEN (4 + NTS_NONCE_LEN + NTS_AEAD_TAG_LEN + \
	2 * NTS_AEAD_KEY_LEN)
/* random bytes one reply needs: a nonce per cookie and one to seal */
#define NTS_REPLY_RAND ((NTS_COOKIE_MAX + 1) * NTS_NONCE_LEN)
#define NTS_KEYS_TEXT_MAX 512

struct nts_skey {
	uint32_t	id;
	int64_t		created;	/* Unix seconds */
	uint8_t		key[NTS_SKEY_LEN];
	struct nts_aead	*aead;
};

struct nts_server {
	pthread_mutex_t	lock;
	struct nts_skey	cur, prev;	/* prev.aead NULL: none */
	double		rotate;		/* s between keys */
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
 * Unique Identifier.  *out_len is the length.  rnd: NTS_REPLY_RAND bytes.
 */
enum nts_srv_verdict nts_server_answer(struct nts_server *s,
    const uint8_t *req, size_t len, const uint8_t *hdr, const uint8_t *kod,
    const uint8_t *rnd, uint8_t *out, size_t cap, size_t *out_len);

#endif
