/*
 * Fuzz target: the NTS-KE response parser, the first code that reads what
 * a KE server sends once TLS is up.  Beyond "no crash", a response it
 * accepts must give a client what it needs (NTPv4, AES-SIV, 1-8 sane
 * cookies, a printable server name), cut short it must only ever be
 * "incomplete", and every verdict must describe itself in one line.
 */
#include <string.h>

#include "fuzz.h"
#include "nts.h"

static void
check_accepted(const uint8_t *data, size_t size, const struct nts_ke_reply *r)
{
	struct nts_ke_reply r2;

	FZ_CHECK(r->aead == NTS_AEAD_ID);
	FZ_CHECK(r->n_cookies >= 1 && r->n_cookies <= NTS_COOKIE_MAX);
	for (int i = 0; i < r->n_cookies; i++)
		FZ_CHECK(r->cookies[i].len >= 1 &&
		    r->cookies[i].len <= NTS_COOKIE_MAX_LEN);
	FZ_CHECK(strnlen(r->server, sizeof r->server) < sizeof r->server);
	for (const char *p = r->server; *p != '\0'; p++)
		FZ_CHECK(*p > 0x20 && *p < 0x7f);
	/* The End of Message is last: without it, only "read more". */
	FZ_CHECK(nts_ke_parse_response(data, size - 1, &r2) ==
	    NTS_KE_INCOMPLETE);
	FZ_CHECK(nts_ke_parse_response(data, size / 2, &r2) ==
	    NTS_KE_INCOMPLETE || size / 2 >= NTS_KE_MAX_RESPONSE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nts_ke_reply r;
	enum nts_ke_err e;
	char why[160];

	if (size > NTS_KE_MAX_RESPONSE + 64)
		return (0);
	e = nts_ke_parse_response(data, size, &r);
	FZ_CHECK(e >= NTS_KE_OK && e <= NTS_KE_TOO_LONG);
	if (e == NTS_KE_OK)
		check_accepted(data, size, &r);
	if (e == NTS_KE_TOO_LONG)
		FZ_CHECK(size >= NTS_KE_MAX_RESPONSE);
	fz_check_message(nts_ke_describe(e, &r, why, sizeof why), sizeof why,
	    "");
	return (0);
}
