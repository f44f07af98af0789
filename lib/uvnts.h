/*
 * NTS (RFC 8915) for one of the client's sources, on the event loop: the
 * key exchange on libuv's thread pool (lib/nts_tls.c), the cookie jar
 * (lib/nts_client.c) between the engine's requests and the socket, and a
 * new key exchange when the cookies run out or the server sends an NTS
 * NAK.  The engine never sees NTS: it gets only replies that
 * authenticated.  The CA certificates are read once, before the sandbox.
 */
#ifndef NTIMED_UVNTS_H
#define NTIMED_UVNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "net.h"

/* Read ca_file (NULL: the system's CAs) for every NTS source; 0 or -1. */
int nt_uvnts_trust_init(const char *ca_file, char *err, size_t errlen);
/* Whether they were read (a reload cannot read them: the sandbox). */
bool nt_uvnts_trusted(void);

struct nt_uvnts;

/*
 * After each key exchange: where NTP goes now (the server and port the
 * KE named, or the KE server's address at the NTP port).  0 to use it;
 * nonzero refuses it, with why (the exchange then counts as failed, and
 * is retried after the back-off).
 */
typedef int nt_uvnts_ready_cb(void *ctx, const struct nt_addr *ntp_addr,
    char *why, size_t len);

/*
 * A source whose NTS-KE server is ke_name (checked against its
 * certificate) at ke_addr; label names it in the log.  The first key
 * exchange starts with the first request.
 */
struct nt_uvnts *nt_uvnts_new(uv_loop_t *loop, const char *ke_name,
    const struct nt_addr *ke_addr, uint16_t ntp_port, const char *label,
    nt_uvnts_ready_cb *ready, void *ctx);
/* Frees it now, or when a key exchange or lookup in flight returns. */
void nt_uvnts_close(struct nt_uvnts *n);

/*
 * The engine's request (the 48-byte header) with NTS fields into out.
 * 0, or -EAGAIN while there are no keys or cookies (a key exchange is
 * then started unless one runs or failed moments ago).
 */
int nt_uvnts_wrap(struct nt_uvnts *n, const uint8_t *req, size_t len,
    uint8_t *out, size_t cap, size_t *out_len);
/* Whether a reply authenticates (an NTS NAK starts a new exchange). */
bool nt_uvnts_accept(struct nt_uvnts *n, const uint8_t *buf, size_t len);

#endif
