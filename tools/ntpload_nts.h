/*
 * ntpload's NTS mode (RFC 8915): one key exchange before the load, then
 * NTS requests built and replies checked with the client half of
 * ntimed's NTS code (nts_tls.c, nts.c), never the server's.  Kept out of
 * ntpload.c so that its plain mode stays libc and pthreads only.
 */
#ifndef NTPLOAD_NTS_H
#define NTPLOAD_NTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "nts.h"

#define NTSLOAD_REQ_MAX 512	/* header, identifier, cookie, auth */

/* What the key exchange gave: shared read-only by the load threads. */
struct ntsload {
	uint8_t		c2s[NTS_AEAD_KEY_LEN], s2c[NTS_AEAD_KEY_LEN];
	struct nts_cookie cookies[NTS_COOKIE_MAX];
	int		n_cookies;
	uint8_t		salt[NTS_UID_LEN - 8];	/* rest of uid and nonce */
};

/* One load thread's ciphers (a GnuTLS handle is not reentrant). */
struct ntsload_thread {
	const struct ntsload *ke;
	struct nts_aead	*c2s, *s2c;
	unsigned	next;		/* cookie, round-robin */
};

enum ntsload_verdict {
	NTSLOAD_OK,
	NTSLOAD_NAK,		/* NTS NAK kiss: the cookie was refused */
	NTSLOAD_BAD,		/* does not authenticate */
};

/*
 * The KE with the server at `to` (its address, port ke_port) whose
 * certificate must cover name, trusting ca (NULL: the system's store).
 * 0, or -1 with a line in err.
 */
int ntsload_ke(struct ntsload *ke, const struct sockaddr_storage *to,
    socklen_t tolen, unsigned ke_port, const char *name, const char *ca,
    char *err, size_t errlen);
int ntsload_thread_init(struct ntsload_thread *t, const struct ntsload *ke);
void ntsload_thread_free(struct ntsload_thread *t);

/*
 * A request whose transmit timestamp is origin, with the next cookie and
 * no placeholders (so one cookie comes back, as in a client's steady
 * state); the identifier is made from origin, so a reply's own origin
 * timestamp says which identifier it must echo.  Returns the length.
 */
size_t ntsload_request(struct ntsload_thread *t, uint64_t origin,
    uint8_t *buf, size_t cap);
/*
 * A reply whose origin timestamp matched a request of ours: a NAK, or,
 * if verify, whether its identifier and Authenticator check out.
 */
enum ntsload_verdict ntsload_check(struct ntsload_thread *t,
    const uint8_t *buf, size_t len, bool verify);

#endif
