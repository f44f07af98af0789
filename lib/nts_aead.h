/*
 * The one AEAD algorithm NTS needs, AEAD_AES_SIV_CMAC_256 (RFC 5297,
 * IANA AEAD id 15), behind four functions.  The NTS codec (nts.h) calls
 * only these, so it never sees GnuTLS and the unit tests can check the
 * key, nonce and associated-data order against published vectors.
 *
 * Sealed output is the 16-byte synthetic IV followed by the ciphertext,
 * exactly the layout RFC 8915 puts in an NTS Authenticator field.
 */
#ifndef NTIMED_NTS_AEAD_H
#define NTIMED_NTS_AEAD_H

#include <stddef.h>
#include <stdint.h>

#define NTS_AEAD_ID 15		/* AEAD_AES_SIV_CMAC_256 */
#define NTS_AEAD_KEY_LEN 32	/* two AES-128 keys: S2V, then CTR */
#define NTS_AEAD_TAG_LEN 16	/* the synthetic IV */

struct nts_aead;

/*
 * A cipher for key (NTS_AEAD_KEY_LEN bytes); NULL for another length, or
 * when Nettle cannot be loaded (nt_tls_load(), which says why).
 */
struct nts_aead *nts_aead_new(const uint8_t *key, size_t key_len);
/* The same cipher, now under key: no allocation.  0, or -1 (length). */
int nts_aead_rekey(struct nts_aead *a, const uint8_t *key, size_t key_len);
void nts_aead_free(struct nts_aead *a);

/*
 * Encrypt pt under nonce (at least 1 byte) and one associated-data
 * string; out gets tag then ciphertext, pt_len + NTS_AEAD_TAG_LEN bytes.
 * Returns that length, or 0 if out is too small.  Sealing and opening
 * only read a: threads may share one, as long as none re-keys it.
 */
size_t nts_aead_seal(const struct nts_aead *a, const uint8_t *nonce,
    size_t nonce_len, const uint8_t *ad, size_t ad_len, const uint8_t *pt,
    size_t pt_len, uint8_t *out, size_t cap);

/*
 * Decrypt and authenticate ct (tag then ciphertext).  Returns 0 and the
 * plaintext length in *pt_len, or -1 if it does not authenticate, is
 * shorter than a tag or does not fit in cap.
 */
int nts_aead_open(const struct nts_aead *a, const uint8_t *nonce,
    size_t nonce_len, const uint8_t *ad, size_t ad_len, const uint8_t *ct,
    size_t ct_len, uint8_t *pt, size_t cap, size_t *pt_len);

#endif
