/*
 * Fuzz target: what an NTS server reads from strangers.  The first byte
 * picks the parser: 0, a KE request (its verdict must be one a request
 * can have, and the answer built for it must parse as that answer on the
 * client side); 1, an NTP request with arbitrary extension fields, which
 * can never be answered with cookies (our key is not in the input); 2, a
 * real client's request with bytes of the input XORed in, which may be
 * answered only if it still authenticates, and never with more bytes
 * than it had.
 */
#include <string.h>

#include "fuzz.h"
#include "ntp_pkt.h"
#include "nts.h"
#include "nts_server.h"

static struct nts_server srv;
static struct nts_server_worker *w;
static const uint8_t C2S[32] = { 'c' }, S2C[32] = { 's' }, N16[16] = { 'n' };

/* Nonces: fixed, so that a crash replays. */
static void
zero_rand(uint8_t *buf, size_t len)
{
	memset(buf, 0, len);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t rnd[NTS_SKEY_RAND] = { 1, 2, 3, 4, 5 };

	(void)argc;
	(void)argv;
	return (nts_server_init(&srv, 3600) != 0 ||
	    nts_server_new_key(&srv, rnd, 1000) != 0 ||
	    (w = nts_server_worker_new(&srv, zero_rand)) == NULL);
}

static void
ke_request(const uint8_t *data, size_t size)
{
	struct nts_cookie ck[NTS_COOKIE_MAX];
	struct nts_ke_reply r;
	enum nts_ke_err e = nts_ke_parse_request(data, size), back;
	uint8_t out[2048];
	size_t n;

	FZ_CHECK(e == NTS_KE_OK || e == NTS_KE_INCOMPLETE ||
	    e == NTS_KE_BAD_RECORD || e == NTS_KE_UNKNOWN_CRITICAL ||
	    e == NTS_KE_DUPLICATE || e == NTS_KE_NO_PROTOCOL ||
	    e == NTS_KE_NO_AEAD || e == NTS_KE_AFTER_END ||
	    e == NTS_KE_TOO_LONG);
	if (e == NTS_KE_TOO_LONG)
		FZ_CHECK(size >= NTS_KE_MAX_REQUEST);
	if (e == NTS_KE_OK)
		FZ_CHECK(nts_ke_parse_request(data, size - 1) ==
		    NTS_KE_INCOMPLETE);
	if (e == NTS_KE_INCOMPLETE)
		return;
	for (int i = 0; i < NTS_COOKIE_MAX; i++)
		FZ_CHECK(nts_server_cookie(&srv, C2S, S2C, N16, &ck[i]) == 0);
	n = nts_ke_build_response(e, ck, NTS_COOKIE_MAX, "ntp.example.org",
	    4123, out, sizeof out);
	FZ_CHECK(n > 0);
	back = nts_ke_parse_response(out, n, &r);
	if (e == NTS_KE_OK)
		FZ_CHECK(back == NTS_KE_OK && r.n_cookies == NTS_COOKIE_MAX &&
		    r.port == 4123 && strcmp(r.server, "ntp.example.org") ==
		    0);
	else if (e == NTS_KE_NO_PROTOCOL || e == NTS_KE_NO_AEAD)
		FZ_CHECK(back == e);
	else
		FZ_CHECK(back == NTS_KE_SERVER_ERROR && r.code ==
		    (e == NTS_KE_UNKNOWN_CRITICAL ? 0 : 1));
}

static const uint8_t HDR[48] = { 0x24, 2 }, KOD[48] = { 0xe4 };

static void
raw_request(const uint8_t *data, size_t size)
{
	uint8_t out[NTP_MAX_PKT];
	enum nts_srv_verdict v;
	size_t len;

	if (size > NTP_MAX_PKT)
		return;
	v = nts_server_answer(w, data, size, HDR, KOD, out, sizeof out,
	    &len);
	FZ_CHECK(v == NTS_SRV_NAK || v == NTS_SRV_DROP);
	if (v == NTS_SRV_NAK)
		FZ_CHECK(len > NTP_HDR_LEN && len <= size &&
		    memcmp(out, KOD, NTP_HDR_LEN) == 0);
	else
		FZ_CHECK(len == 0);
}

static void
mutated_request(const uint8_t *data, size_t size)
{
	static const uint8_t hdr[48] = { 0x23 }, uid[32] = { 'u' };
	uint8_t req[NTP_MAX_PKT], out[NTP_MAX_PKT];
	struct nts_ke_reply ke;
	struct nts_client c;
	enum nts_srv_verdict v;
	size_t n, len;

	memset(&ke, 0, sizeof ke);
	ke.n_cookies = 1 + (size > 0 ? data[0] % NTS_COOKIE_MAX : 0);
	for (int i = 0; i < ke.n_cookies; i++)
		FZ_CHECK(nts_server_cookie(&srv, C2S, S2C, N16,
		    &ke.cookies[i]) == 0);
	FZ_CHECK(nts_client_init(&c, C2S, S2C, &ke) == 0);
	n = nts_client_request(&c, hdr, uid, N16, req, sizeof req);
	FZ_CHECK(n > 0);
	for (size_t i = 1; i < size && i - 1 < n; i++)
		req[i - 1] ^= data[i];
	v = nts_server_answer(w, req, n, HDR, KOD, out, sizeof out, &len);
	if (v == NTS_SRV_OK) {
		FZ_CHECK(len > NTP_HDR_LEN && len <= n);
		/* The identifier may have been changed: only if it is ours. */
		if (memcmp(req + 52, uid, sizeof uid) == 0)
			FZ_CHECK(nts_client_reply(&c, out, len) == NTS_OK);
	} else if (v == NTS_SRV_NAK)
		FZ_CHECK(len > NTP_HDR_LEN && len <= n);
	nts_client_free(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > NTS_KE_MAX_REQUEST + 64)
		return (0);
	switch (data[0] % 3) {
	case 0:
		ke_request(data + 1, size - 1);
		break;
	case 1:
		raw_request(data + 1, size - 1);
		break;
	default:
		mutated_request(data + 1, size - 1);
		break;
	}
	return (0);
}
