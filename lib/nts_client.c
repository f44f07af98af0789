/*
 * One server's NTS state for a client: the two keys exported from the
 * TLS session and a jar of single-use cookies.  Each request spends the
 * oldest cookie and asks for as many back as it takes to refill the jar,
 * so a lost reply costs one cookie and a new KE is needed only after
 * NTS_COOKIE_MAX losses in a row (or an NTS NAK).
 */
#include <assert.h>
#include <string.h>

#include "nts.h"

int
nts_client_init(struct nts_client *c, const uint8_t *c2s_key,
    const uint8_t *s2c_key, const struct nts_ke_reply *ke)
{
	assert(c != NULL && ke != NULL);
	assert(ke->n_cookies >= 0 && ke->n_cookies <= NTS_COOKIE_MAX);
	memset(c, 0, sizeof *c);
	c->c2s = nts_aead_new(c2s_key, NTS_AEAD_KEY_LEN);
	c->s2c = nts_aead_new(s2c_key, NTS_AEAD_KEY_LEN);
	if (c->c2s == NULL || c->s2c == NULL) {
		nts_client_free(c);
		return (-1);
	}
	memcpy(c->jar, ke->cookies, sizeof c->jar);
	c->n_cookies = ke->n_cookies;
	return (0);
}

void
nts_client_free(struct nts_client *c)
{
	nts_aead_free(c->c2s);
	nts_aead_free(c->s2c);
	memset(c, 0, sizeof *c);
}

size_t
nts_client_request(struct nts_client *c, const uint8_t *hdr,
    const uint8_t *uid, const uint8_t *nonce, uint8_t *buf, size_t cap)
{
	struct nts_cookie cookie;
	size_t n;

	assert(c != NULL && c->c2s != NULL);
	if (c->n_cookies == 0)
		return (0);
	cookie = c->jar[0];
	n = nts_build_request(hdr, uid, &cookie, NTS_COOKIE_MAX - c->n_cookies,
	    c->c2s, nonce, buf, cap);
	if (n == 0)
		return (0);
	c->n_cookies--;
	memmove(c->jar, c->jar + 1, (size_t)c->n_cookies * sizeof c->jar[0]);
	memcpy(c->uid, uid, NTS_UID_LEN);
	c->pending = true;
	return (n);
}

enum nts_verdict
nts_client_reply(struct nts_client *c, const uint8_t *buf, size_t len)
{
	enum nts_verdict v;
	int n_new;

	assert(c != NULL && c->s2c != NULL);
	assert(c->n_cookies >= 0 && c->n_cookies <= NTS_COOKIE_MAX);
	if (!c->pending)
		return (NTS_BAD_UID);
	v = nts_verify_reply(buf, len, c->uid, c->s2c, c->jar + c->n_cookies,
	    NTS_COOKIE_MAX - c->n_cookies, &n_new);
	if (v == NTS_OK || v == NTS_NAK)
		c->pending = false;
	if (v == NTS_OK)
		c->n_cookies += n_new;
	return (v);
}
