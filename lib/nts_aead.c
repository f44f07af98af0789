/*
 * AES-SIV-CMAC-256 for NTS through GnuTLS (which uses Nettle's SIV):
 * cryptography we do not write ourselves.  GnuTLS takes one
 * associated-data string and the nonce as the last S2V component before
 * the plaintext, which is the order RFC 8915 section 5.6 asks for.
 */
#include <assert.h>
#include <stdlib.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "nts_aead.h"

struct nts_aead {
	gnutls_aead_cipher_hd_t	hd;
};

struct nts_aead *
nts_aead_new(const uint8_t *key, size_t key_len)
{
	struct nts_aead *a;
	gnutls_datum_t k;

	assert(key != NULL);
	if (key_len != NTS_AEAD_KEY_LEN || (a = calloc(1, sizeof *a)) == NULL)
		return (NULL);
	k.data = (unsigned char *)(uintptr_t)key;
	k.size = (unsigned)key_len;
	if (gnutls_aead_cipher_init(&a->hd, GNUTLS_CIPHER_AES_128_SIV,
	    &k) != 0) {
		free(a);
		return (NULL);
	}
	return (a);
}

void
nts_aead_free(struct nts_aead *a)
{
	if (a == NULL)
		return;
	gnutls_aead_cipher_deinit(a->hd);
	free(a);
}

size_t
nts_aead_seal(const struct nts_aead *a, const uint8_t *nonce,
    size_t nonce_len, const uint8_t *ad, size_t ad_len, const uint8_t *pt,
    size_t pt_len, uint8_t *out, size_t cap)
{
	size_t out_len = cap;

	assert(a != NULL && nonce != NULL && out != NULL);
	if (nonce_len == 0 || cap < pt_len + NTS_AEAD_TAG_LEN)
		return (0);
	if (gnutls_aead_cipher_encrypt(a->hd, nonce, nonce_len, ad, ad_len,
	    NTS_AEAD_TAG_LEN, pt, pt_len, out, &out_len) != 0)
		return (0);
	assert(out_len == pt_len + NTS_AEAD_TAG_LEN);
	return (out_len);
}

int
nts_aead_open(const struct nts_aead *a, const uint8_t *nonce,
    size_t nonce_len, const uint8_t *ad, size_t ad_len, const uint8_t *ct,
    size_t ct_len, uint8_t *pt, size_t cap, size_t *pt_len)
{
	size_t n = cap;

	assert(a != NULL && nonce != NULL && pt != NULL && pt_len != NULL);
	if (nonce_len == 0 || ct_len < NTS_AEAD_TAG_LEN ||
	    cap < ct_len - NTS_AEAD_TAG_LEN)
		return (-1);
	if (gnutls_aead_cipher_decrypt(a->hd, nonce, nonce_len, ad, ad_len,
	    NTS_AEAD_TAG_LEN, ct, ct_len, pt, &n) != 0)
		return (-1);
	assert(n == ct_len - NTS_AEAD_TAG_LEN);
	*pt_len = n;
	return (0);
}
