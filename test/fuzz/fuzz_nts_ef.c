/*
 * Fuzz target: the NTS extension fields of a reply (RFC 8915 section 5).
 * Half the inputs are whole replies, which must never authenticate (the
 * key is not in the input); the other half are sealed with the right key
 * as the encrypted part of a reply with our identifier, so that the
 * parser of decrypted fields is fuzzed too.  Cookies taken must be sane
 * and go back out in a request that decodes as NTP.
 */
#include <string.h>

#include "../unit/nts_fake_server.h"
#include "fuzz.h"
#include "ntp_pkt.h"
#include "nts.h"

static const uint8_t key_s2c[NTS_AEAD_KEY_LEN] = { 's', '2', 'c' };
static const uint8_t uid[NTS_UID_LEN] = { 'u', 'i', 'd' };
static struct nts_aead *s2c;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	s2c = nts_aead_new(key_s2c, sizeof key_s2c);
	return (s2c == NULL);
}

/* A cookie we took goes out again in a well-formed request. */
static void
check_cookie(const struct nts_cookie *c)
{
	static const uint8_t hdr[NTP_HDR_LEN] = { 0x23 }, nonce[16] = { 1 };
	uint8_t buf[NTP_MAX_PKT];
	struct ntp_pkt p;
	size_t n;

	FZ_CHECK(c->len >= 12 && c->len <= NTS_COOKIE_MAX_LEN);
	n = nts_build_request(hdr, uid, c, 1, s2c, nonce, buf, sizeof buf);
	FZ_CHECK(n > NTP_HDR_LEN && n % 4 == 0);
	FZ_CHECK(ntp_decode(buf, n, &p) == NTP_DECODE_OK && p.n_ext == 4);
}

static void
check_sealed(const uint8_t *data, size_t size)
{
	static const uint8_t hdr[NTP_HDR_LEN] = { 0x24, 2 };
	uint8_t buf[NTP_MAX_PKT * 2];
	struct nts_cookie out[NTS_COOKIE_MAX];
	enum nts_verdict v;
	size_t n;
	int got;

	if (size > NTP_MAX_PKT - NTP_HDR_LEN - 36 - 40)
		return;
	n = nts_test_reply(hdr, uid, s2c, data, size, buf);
	FZ_CHECK(n > 0);
	v = nts_verify_reply(buf, n, uid, s2c, out, NTS_COOKIE_MAX, &got);
	FZ_CHECK(v == NTS_OK || v == NTS_BAD_ENCRYPTED);
	FZ_CHECK(got >= 0 && got <= NTS_COOKIE_MAX);
	FZ_CHECK(v == NTS_OK || got == 0);
	for (int i = 0; i < got; i++)
		check_cookie(&out[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nts_cookie out[NTS_COOKIE_MAX];
	enum nts_verdict v;
	int got;

	if (size < 1)
		return (0);
	if (data[0] & 1) {
		check_sealed(data + 1, size - 1);
		return (0);
	}
	v = nts_verify_reply(data + 1, size - 1, uid, s2c, out,
	    NTS_COOKIE_MAX, &got);
	FZ_CHECK(v != NTS_OK && got == 0);
	FZ_CHECK(strcmp(nts_verdict_str(v), "unknown NTS verdict") != 0);
	return (0);
}
