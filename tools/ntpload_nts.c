/*
 * ntpload's NTS mode (see ntpload_nts.h).  The load is what a client in
 * its steady state sends: one cookie per request, none of the eight
 * placeholders a client with an empty jar would add, so each reply seals
 * one new cookie.  The server takes a cookie more than once, so the KE's
 * cookies are reused round-robin and the ones in replies thrown away:
 * the server's work per request is the same either way.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "net.h"
#include "ntpload_nts.h"
#include "nts_tls.h"

#define KE_TIMEOUT	10	/* s */
#define NTP_HDR		48

int
ntsload_ke(struct ntsload *ke, const struct sockaddr_storage *to,
    socklen_t tolen, unsigned ke_port, const char *name, const char *ca,
    char *err, size_t errlen)
{
	struct nts_ke_result *res = calloc(1, sizeof *res);
	struct nts_trust *trust;
	struct nt_addr a;
	int r = -1;

	memset(ke, 0, sizeof *ke);
	memset(&a, 0, sizeof a);
	memcpy(&a.ss, to, (size_t)tolen);
	a.len = tolen;
	if (a.ss.ss_family == AF_INET)
		((struct sockaddr_in *)&a.ss)->sin_port = htons((uint16_t)ke_port);
	else
		((struct sockaddr_in6 *)&a.ss)->sin6_port =
		    htons((uint16_t)ke_port);
	if (res == NULL || (trust = nts_trust_load(ca, err, errlen)) == NULL) {
		free(res);
		return (-1);
	}
	if (nts_ke_run(trust, &a, name, KE_TIMEOUT, res, err, errlen) == 0) {
		if (res->reply.n_cookies == 0)
			snprintf(err, errlen, "NTS-KE %s: no cookies", name);
		else if (getrandom(ke->salt, sizeof ke->salt, 0) !=
		    (ssize_t)sizeof ke->salt)
			snprintf(err, errlen, "getrandom failed");
		else
			r = 0;
	}
	if (r == 0) {
		memcpy(ke->c2s, res->c2s, sizeof ke->c2s);
		memcpy(ke->s2c, res->s2c, sizeof ke->s2c);
		memcpy(ke->cookies, res->reply.cookies, sizeof ke->cookies);
		ke->n_cookies = res->reply.n_cookies;
		if (res->reply.port != 0 &&
		    res->reply.port != ntohs(((const struct sockaddr_in *)
		    to)->sin_port))
			fprintf(stderr, "ntpload: note: the KE server names NTP "
			    "port %u; loading the port given\n",
			    res->reply.port);
	}
	memset(res, 0, sizeof *res);
	free(res);
	nts_trust_free(trust);
	return (r);
}

int
ntsload_thread_init(struct ntsload_thread *t, const struct ntsload *ke)
{
	memset(t, 0, sizeof *t);
	t->ke = ke;
	t->c2s = nts_aead_new(ke->c2s, sizeof ke->c2s);
	t->s2c = nts_aead_new(ke->s2c, sizeof ke->s2c);
	return (t->c2s != NULL && t->s2c != NULL ? 0 : -1);
}

void
ntsload_thread_free(struct ntsload_thread *t)
{
	nts_aead_free(t->c2s);
	nts_aead_free(t->s2c);
	memset(t, 0, sizeof *t);
}

/* Identifier (and, its first 16 bytes, nonce): origin, then the salt. */
static void
make_uid(const struct ntsload *ke, uint64_t origin, uint8_t *uid)
{
	for (int i = 7; i >= 0; i--) {
		uid[i] = (uint8_t)origin;
		origin >>= 8;
	}
	memcpy(uid + 8, ke->salt, sizeof ke->salt);
}

size_t
ntsload_request(struct ntsload_thread *t, uint64_t origin, uint8_t *buf,
    size_t cap)
{
	const struct ntsload *ke = t->ke;
	uint8_t hdr[NTP_HDR], uid[NTS_UID_LEN];

	memset(hdr, 0, sizeof hdr);
	hdr[0] = 0x23;			/* leap 0, version 4, mode 3 */
	make_uid(ke, origin, uid);
	memcpy(hdr + 40, uid, 8);
	t->next = (t->next + 1) % (unsigned)ke->n_cookies;
	return (nts_build_request(hdr, uid, &ke->cookies[t->next], 0, t->c2s,
	    uid, buf, cap));
}

enum ntsload_verdict
ntsload_check(struct ntsload_thread *t, const uint8_t *buf, size_t len,
    bool verify)
{
	uint8_t uid[NTS_UID_LEN];
	struct nts_cookie fresh;
	uint64_t origin = 0;
	int n;

	if (!verify) {		/* stratum 0, refid NTSN: the kiss */
		if (len >= NTP_HDR && buf[1] == 0 &&
		    memcmp(buf + 12, "NTSN", 4) == 0)
			return (NTSLOAD_NAK);
		return (len > NTP_HDR ? NTSLOAD_OK : NTSLOAD_BAD);
	}
	for (int i = 0; i < 8; i++)
		origin = origin << 8 | buf[24 + i];
	make_uid(t->ke, origin, uid);
	switch (nts_verify_reply(buf, len, uid, t->s2c, &fresh, 1, &n)) {
	case NTS_OK:
		return (NTSLOAD_OK);
	case NTS_NAK:
		return (NTSLOAD_NAK);
	default:
		return (NTSLOAD_BAD);
	}
}
