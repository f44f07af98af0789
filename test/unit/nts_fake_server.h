/*
 * The server's half of an NTS exchange, just enough to test the client's
 * half: a reply with a Unique Identifier and an Authenticator whose
 * encrypted part is the caller's bytes.  Shared by the unit tests and the
 * extension-field fuzz target (lib/nts_server.c is the real server; this one stays minimal).
 */
#ifndef NTIMED_TEST_NTS_FAKE_SERVER_H
#define NTIMED_TEST_NTS_FAKE_SERVER_H

#include <string.h>

#include "ntp_pkt.h"
#include "nts.h"

static inline size_t
nts_test_field(uint8_t *p, unsigned type, const uint8_t *body, size_t len)
{
	size_t flen = (4 + len + 3) & ~(size_t)3;

	memset(p, 0, flen);
	p[0] = (uint8_t)(type >> 8);
	p[1] = (uint8_t)type;
	p[2] = (uint8_t)(flen >> 8);
	p[3] = (uint8_t)flen;
	if (body != NULL)
		memcpy(p + 4, body, len);
	return (flen);
}

/*
 * hdr (48 bytes), Unique Identifier uid, then an Authenticator sealing
 * pt[0..pt_len) under s2c with a 16-byte nonce.  buf must hold
 * 48 + 36 + 40 + pt_len + 3 bytes.  Returns the length, 0 on failure.
 */
static inline size_t
nts_test_reply(const uint8_t *hdr, const uint8_t *uid,
    const struct nts_aead *s2c, const uint8_t *pt, size_t pt_len,
    uint8_t *buf)
{
	static const uint8_t nonce[16] = { 0x5e, 0x11, 0x7e };
	size_t n = NTP_HDR_LEN, clen = pt_len + NTS_AEAD_TAG_LEN;
	size_t body = 4 + sizeof nonce + ((clen + 3) & ~(size_t)3);
	uint8_t *a;

	memcpy(buf, hdr, NTP_HDR_LEN);
	n += nts_test_field(buf + n, NTS_EF_UNIQUE_ID, uid, NTS_UID_LEN);
	a = buf + n;
	nts_test_field(a, NTS_EF_AUTH, NULL, body);
	a[4] = 0;
	a[5] = sizeof nonce;
	a[6] = (uint8_t)(clen >> 8);
	a[7] = (uint8_t)clen;
	memcpy(a + 8, nonce, sizeof nonce);
	if (nts_aead_seal(s2c, nonce, sizeof nonce, buf, n, pt, pt_len,
	    a + 8 + sizeof nonce, clen) != clen)
		return (0);
	return (n + 4 + body);
}

#endif
