/*
 * Network Time Security for NTPv4 clients (RFC 8915), the part that is
 * only bytes: the NTS-KE records a client sends and gets back over TLS,
 * and the NTP extension fields that carry the cookie and authenticate
 * the reply.  Sans-I/O like ntp_pkt.h: no sockets, no clock, no random
 * numbers (the caller passes the unique identifier and nonce in), so the
 * tests and fuzzers can drive every path.  TLS is nts_ke.h's business,
 * the cipher nts_aead.h's.
 */
#ifndef NTIMED_NTS_H
#define NTIMED_NTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nts_aead.h"

#define NTS_KE_PORT 4460
#define NTS_KE_ALPN "ntske/1"
#define NTS_EXPORTER_LABEL "EXPORTER-network-time-security"
#define NTS_PROTO_NTPV4 0
#define NTS_COOKIE_MAX 8	/* cookies kept, as RFC 8915 suggests */
#define NTS_COOKIE_MAX_LEN 256	/* longer ones are refused */
#define NTS_SERVER_MAX_LEN 255	/* a DNS name or an address */
#define NTS_KE_MAX_RESPONSE 16384	/* 8 cookies fit many times over */
#define NTS_UID_LEN 32		/* Unique Identifier body */
#define NTS_NONCE_LEN 16	/* our Authenticator nonce */

/* NTP extension field types (RFC 8915 section 5.7). */
#define NTS_EF_UNIQUE_ID 0x0104
#define NTS_EF_COOKIE 0x0204
#define NTS_EF_PLACEHOLDER 0x0304
#define NTS_EF_AUTH 0x0404

struct nts_cookie {
	uint16_t	len;
	uint8_t		data[NTS_COOKIE_MAX_LEN];
};

/* ---- NTS-KE records ---- */

enum nts_ke_err {
	NTS_KE_OK = 0,
	NTS_KE_INCOMPLETE,	/* no End of Message yet: read more */
	NTS_KE_BAD_RECORD,	/* a record's body length is wrong for its type */
	NTS_KE_UNKNOWN_CRITICAL, /* a critical record we do not know */
	NTS_KE_SERVER_ERROR,	/* the server sent an Error record */
	NTS_KE_WARNING,		/* the server sent a Warning record */
	NTS_KE_DUPLICATE,	/* a record that may appear once came twice */
	NTS_KE_NO_PROTOCOL,	/* NTPv4 not offered as next protocol */
	NTS_KE_NO_AEAD,		/* AEAD_AES_SIV_CMAC_256 not chosen */
	NTS_KE_NO_COOKIE,	/* not one cookie */
	NTS_KE_BAD_COOKIE,	/* empty or over NTS_COOKIE_MAX_LEN bytes */
	NTS_KE_BAD_SERVER,	/* server name not printable ASCII, or port 0 */
	NTS_KE_AFTER_END,	/* bytes after End of Message */
	NTS_KE_TOO_LONG,	/* over NTS_KE_MAX_RESPONSE with no end */
};

struct nts_ke_reply {
	uint16_t	aead;
	struct nts_cookie cookies[NTS_COOKIE_MAX];
	int		n_cookies;	/* extra ones are dropped */
	char		server[NTS_SERVER_MAX_LEN + 1];	/* "": the KE host */
	uint16_t	port;		/* 0: the default, 123 */
	uint16_t	code;		/* of an Error or Warning record */
};

/* Our request: NTPv4, AES-SIV-CMAC-256, end.  Returns its length or 0. */
size_t nts_ke_build_request(uint8_t *buf, size_t cap);
/* Parse a whole response (or what came so far: NTS_KE_INCOMPLETE). */
enum nts_ke_err nts_ke_parse_response(const uint8_t *buf, size_t len,
    struct nts_ke_reply *r);
/* One line: "server sent error 1 (bad request)", ... */
const char *nts_ke_describe(enum nts_ke_err e, const struct nts_ke_reply *r,
    char *buf, size_t len);

/* ---- NTS-KE, the server's side ---- */

#define NTS_KE_MAX_REQUEST 1024	/* a request is about 16 bytes */

/*
 * A client's request: NTS_KE_OK when it offers NTPv4 and AES-SIV-CMAC-256,
 * NTS_KE_INCOMPLETE until End of Message came, NTS_KE_NO_PROTOCOL or
 * NTS_KE_NO_AEAD when it offers neither, else why it is malformed.
 */
enum nts_ke_err nts_ke_parse_request(const uint8_t *buf, size_t len);
/*
 * The answer to a request judged verdict: for NTS_KE_OK next protocol
 * NTPv4, AEAD 15, the cookies, a Server record if server is not NULL or
 * "", a Port record if port is not 0 or 123, End of Message; for
 * NTS_KE_NO_PROTOCOL / NTS_KE_NO_AEAD the empty negotiation record RFC
 * 8915 asks for; NTS_KE_SERVER_ERROR: Error 2 (internal server error);
 * else Error 0 (unrecognized critical record) or 1 (bad request).
 * Returns the length, 0 if no room.
 */
size_t nts_ke_build_response(enum nts_ke_err verdict,
    const struct nts_cookie *cookies, int n_cookies, const char *server,
    uint16_t port, uint8_t *buf, size_t cap);
/*
 * Whether name may go in a Server record: "" (none), or up to
 * NTS_SERVER_MAX_LEN printable ASCII characters without spaces.
 */
bool nts_server_name_ok(const char *name);

/* ---- NTP extension fields ---- */

/* One extension field, as found in a packet. */
struct nts_ef {
	uint16_t	type;
	const uint8_t	*body;
	size_t		len;		/* body bytes */
};

/* One field of type with body (NULL: zeros), padded; 0 if no room. */
size_t nts_ef_put(uint8_t *p, size_t cap, unsigned type, const uint8_t *body,
    size_t len);
/*
 * The next field of p[0..rem) into f; returns its length, or 0 if the
 * header does not fit or its length is below the minimum (16), not a
 * multiple of 4 or beyond the buffer.
 */
size_t nts_ef_next(const uint8_t *p, size_t rem, struct nts_ef *f);

enum nts_verdict {
	NTS_OK = 0,
	NTS_NAK,		/* NTS NAK kiss: our cookie is no good, new KE */
	NTS_MALFORMED,		/* extension fields do not parse */
	NTS_NO_UID,		/* no Unique Identifier */
	NTS_BAD_UID,		/* not the one we sent */
	NTS_NO_AUTH,		/* no Authenticator */
	NTS_AUTH_NOT_LAST,	/* fields after the Authenticator */
	NTS_BAD_AUTH_FIELD,	/* its nonce/ciphertext lengths do not fit */
	NTS_AUTH_FAILED,	/* does not decrypt under our key */
	NTS_BAD_ENCRYPTED,	/* the decrypted fields do not parse */
};

const char *nts_verdict_str(enum nts_verdict v);

/*
 * A request: the 48-byte header hdr, then Unique Identifier uid, NTS
 * Cookie, n_placeholders Cookie Placeholders as long as the cookie, and
 * an Authenticator over all that with nonce.  Returns the length, or 0
 * if it does not fit in cap.
 */
size_t nts_build_request(const uint8_t *hdr, const uint8_t *uid,
    const struct nts_cookie *cookie, int n_placeholders,
    const struct nts_aead *c2s, const uint8_t *nonce, uint8_t *buf,
    size_t cap);

/*
 * Check a reply (header and extension fields) to the request with uid:
 * the identifier echoed, the Authenticator verified under s2c, and the
 * cookies inside the encrypted part copied to out (at most max; *n_out
 * says how many).  Unencrypted cookies are ignored.
 */
enum nts_verdict nts_verify_reply(const uint8_t *buf, size_t len,
    const uint8_t *uid, const struct nts_aead *s2c, struct nts_cookie *out,
    int max, int *n_out);

/* ---- a client's NTS state for one server ---- */

struct nts_client {
	struct nts_aead	*c2s, *s2c;
	struct nts_cookie jar[NTS_COOKIE_MAX];
	int		n_cookies;
	uint8_t		uid[NTS_UID_LEN];	/* of the request in flight */
	bool		pending;
};

/* Keys exported from the TLS session and the KE's cookies; 0 or -1. */
int nts_client_init(struct nts_client *c, const uint8_t *c2s_key,
    const uint8_t *s2c_key, const struct nts_ke_reply *ke);
void nts_client_free(struct nts_client *c);
/*
 * Spend the oldest cookie on a request (see nts_build_request), asking
 * for enough new ones to fill the jar.  0: no cookie left, or no room.
 */
size_t nts_client_request(struct nts_client *c, const uint8_t *hdr,
    const uint8_t *uid, const uint8_t *nonce, uint8_t *buf, size_t cap);
/* Verify a reply to the pending request; its cookies join the jar. */
enum nts_verdict nts_client_reply(struct nts_client *c, const uint8_t *buf,
    size_t len);

#endif
