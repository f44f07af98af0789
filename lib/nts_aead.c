/*
 * AES-SIV-CMAC-256 for NTS through Nettle, the library GnuTLS itself
 * does its cryptography with: cryptography we do not write ourselves.
 * Nettle's SIV takes one associated-data string and the nonce as the
 * last S2V component before the plaintext, the order RFC 8915 section
 * 5.6 asks for.  Nettle rather than GnuTLS's AEAD API because a server
 * keys two ciphers per request (the client's C2S and S2C keys from its
 * cookie): GnuTLS allocates and looks up a cipher for every key, which
 * cost more than the cryptography itself, where a Nettle context is
 * re-keyed in place (nts_aead_rekey) and is never written while it
 * seals or opens.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "tlslib.h"

#include "nts_aead.h"

_Static_assert(NTS_AEAD_TAG_LEN == SIV_DIGEST_SIZE, "SIV tag length");
_Static_assert(NTS_AEAD_KEY_LEN == SIV_CMAC_AES128_KEY_SIZE, "SIV key");

struct nts_aead {
	struct siv_cmac_aes128_ctx ctx;
};

struct nts_aead *
nts_aead_new(const uint8_t *key, size_t key_len)
{
	struct nts_aead *a;

	assert(key != NULL);
	if (key_len != NTS_AEAD_KEY_LEN || nt_tls_load(NULL, 0) != 0 ||
	    (a = calloc(1, sizeof *a)) == NULL)
		return (NULL);
	siv_cmac_aes128_set_key(&a->ctx, key);
	return (a);
}

int
nts_aead_rekey(struct nts_aead *a, const uint8_t *key, size_t key_len)
{
	assert(a != NULL && key != NULL);
	if (key_len != NTS_AEAD_KEY_LEN)
		return (-1);
	siv_cmac_aes128_set_key(&a->ctx, key);
	return (0);
}

void
nts_aead_free(struct nts_aead *a)
{
	if (a == NULL)
		return;
	memset(a, 0, sizeof *a);	/* the expanded key */
	free(a);
}

size_t
nts_aead_seal(const struct nts_aead *a, const uint8_t *nonce,
    size_t nonce_len, const uint8_t *ad, size_t ad_len, const uint8_t *pt,
    size_t pt_len, uint8_t *out, size_t cap)
{
	assert(a != NULL && nonce != NULL && out != NULL);
	if (nonce_len < SIV_MIN_NONCE_SIZE || cap < pt_len + NTS_AEAD_TAG_LEN)
		return (0);
	siv_cmac_aes128_encrypt_message(&a->ctx, nonce_len, nonce, ad_len, ad,
	    pt_len + NTS_AEAD_TAG_LEN, out, pt);
	return (pt_len + NTS_AEAD_TAG_LEN);
}

int
nts_aead_open(const struct nts_aead *a, const uint8_t *nonce,
    size_t nonce_len, const uint8_t *ad, size_t ad_len, const uint8_t *ct,
    size_t ct_len, uint8_t *pt, size_t cap, size_t *pt_len)
{
	assert(a != NULL && nonce != NULL && pt != NULL && pt_len != NULL);
	if (nonce_len < SIV_MIN_NONCE_SIZE || ct_len < NTS_AEAD_TAG_LEN ||
	    cap < ct_len - NTS_AEAD_TAG_LEN)
		return (-1);
	if (!siv_cmac_aes128_decrypt_message(&a->ctx, nonce_len, nonce, ad_len,
	    ad, ct_len - NTS_AEAD_TAG_LEN, pt, ct))
		return (-1);
	*pt_len = ct_len - NTS_AEAD_TAG_LEN;
	return (0);
}
