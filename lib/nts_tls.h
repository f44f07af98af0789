/*
 * NTS Key Establishment over TLS (RFC 8915 section 4): connect to the
 * KE server (TCP port 4460), TLS 1.3 with ALPN "ntske/1" and a verified
 * certificate, send our request, read the records until End of Message
 * and export the two AEAD keys.  A thin adapter around GnuTLS and a
 * blocking socket, meant to run off the event loop (a libuv work item):
 * what the records mean is nts.h's business.
 */
#ifndef NTIMED_NTS_TLS_H
#define NTIMED_NTS_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "tlslib.h"

#include "net.h"
#include "nts.h"

/* The certificates KE servers are checked against, loaded once. */
struct nts_trust;

/*
 * ca_file (PEM) if not NULL, else the system trust store.  Load it
 * before any sandbox goes up.  NULL with a one-line err on failure.
 */
struct nts_trust *nts_trust_load(const char *ca_file, char *err,
    size_t errlen);
void nts_trust_free(struct nts_trust *t);

struct nts_ke_result {
	struct nts_ke_reply reply;
	uint8_t		c2s[NTS_AEAD_KEY_LEN];
	uint8_t		s2c[NTS_AEAD_KEY_LEN];
};

/*
 * One key exchange with the KE server at addr, whose certificate must
 * be valid for name (a DNS name or the address itself) under trust.
 * Gives up after timeout seconds in all.  0, or -1 and err, a line
 * naming the server as "NTS-KE name:port (address)".
 */
int nts_ke_run(const struct nts_trust *trust, const struct nt_addr *addr,
    const char *name, double timeout, struct nts_ke_result *res, char *err,
    size_t errlen);

/* TLS 1.3 only, both sides. */
#define NTS_TLS_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3"

/*
 * Deadlines, on CLOCK_MONOTONIC in seconds: what is left in ms, at least
 * 1 while any is left (a timeout of 0 means "none" to GnuTLS and
 * SO_SNDTIMEO: callers check for 0 first).
 */
double nts_tls_mono_now(void);
unsigned nts_tls_left_ms(double deadline);

/* The two AEAD keys of an NTS-KE session (either side); GnuTLS's code. */
int nts_tls_export(gnutls_session_t s, uint8_t *c2s, uint8_t *s2c);

#endif
