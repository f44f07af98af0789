/*
 * The TLS side of NTS-KE, kept apart from the record codec so that all a
 * hostile KE server can reach through it is nts_ke_parse_response() with
 * a bounded buffer.  Blocking I/O with a deadline: it runs on a worker
 * thread, and every wait (connect, handshake, each read) is cut to what
 * is left of the caller's timeout.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tlslib.h"

#include "hostport.h"
#include "nts_tls.h"


struct nts_trust {
	gnutls_certificate_credentials_t cred;
};

/* One KE in progress: who, until when, and where the error goes. */
struct ke {
	char		peer[NT_ADDRSTRLEN + 300];
	double		deadline;	/* CLOCK_MONOTONIC seconds */
	int		fd;
	gnutls_session_t s;
	char		*err;
	size_t		errlen;
};

static int ke_fail(struct ke *k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "NTS-KE host:port (address): why"; always returns -1. */
static int
ke_fail(struct ke *k, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	snprintf(k->err, k->errlen, "NTS-KE %s: %s", k->peer, why);
	return (-1);
}

struct nts_trust *
nts_trust_load(const char *ca_file, char *err, size_t errlen)
{
	struct nts_trust *t;
	int r;

	if (nt_tls_load(err, errlen) != 0)
		return (NULL);
	if ((t = calloc(1, sizeof *t)) == NULL ||
	    gnutls_certificate_allocate_credentials(&t->cred) != 0) {
		free(t);
		snprintf(err, errlen, "NTS: %s", strerror(ENOMEM));
		return (NULL);
	}
	if (ca_file != NULL)
		r = gnutls_certificate_set_x509_trust_file(t->cred, ca_file,
		    GNUTLS_X509_FMT_PEM);
	else
		r = gnutls_certificate_set_x509_system_trust(t->cred);
	if (r <= 0) {
		snprintf(err, errlen, "NTS: cannot load %s%s: %s",
		    ca_file != NULL ? "CA file " : "the system trust store",
		    ca_file != NULL ? ca_file : "",
		    r == 0 ? "no certificate in it" : gnutls_strerror(r));
		nts_trust_free(t);
		return (NULL);
	}
	return (t);
}

void
nts_trust_free(struct nts_trust *t)
{
	if (t == NULL)
		return;
	gnutls_certificate_free_credentials(t->cred);
	free(t);
}

double
nts_tls_mono_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		assert(!"CLOCK_MONOTONIC unavailable");
	return ((double)ts.tv_sec + (double)ts.tv_nsec * 1e-9);
}

unsigned
nts_tls_left_ms(double deadline)
{
	double left = deadline - nts_tls_mono_now();

	return (left <= 0 ? 0 : (unsigned)(left * 1e3) + 1);
}

static int
left_ms(const struct ke *k)
{
	return ((int)nts_tls_left_ms(k->deadline));
}

/*
 * Blocking from here on: GnuTLS waits with its own timeouts for reads
 * (handshake and records); a send waits at most what is left.
 */
static int
ke_blocking(struct ke *k)
{
	struct timeval tv;
	int ms = left_ms(k), fl = fcntl(k->fd, F_GETFL);

	if (ms == 0)
		return (ke_fail(k, "cannot connect: timed out"));
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (fl < 0 || fcntl(k->fd, F_SETFL, fl & ~O_NONBLOCK) != 0 ||
	    setsockopt(k->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
		return (ke_fail(k, "socket: %s", strerror(errno)));
	return (0);
}

static int
ke_connect(struct ke *k, const struct nt_addr *addr)
{
	struct pollfd pfd;
	socklen_t elen = sizeof(int);
	int e = 0;

	k->fd = socket(nt_addr_family(addr), SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0);
	if (k->fd < 0)
		return (ke_fail(k, "socket: %s", strerror(errno)));
	if (connect(k->fd, (const struct sockaddr *)&addr->ss,
	    addr->len) != 0) {
		if (errno != EINPROGRESS)
			return (ke_fail(k, "cannot connect: %s",
			    strerror(errno)));
		pfd.fd = k->fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, left_ms(k)) != 1)
			return (ke_fail(k, "cannot connect: timed out"));
		if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &e, &elen) != 0 ||
		    e != 0)
			return (ke_fail(k, "cannot connect: %s",
			    strerror(e != 0 ? e : errno)));
	}
	return (ke_blocking(k));
}

/* Numeric names are checked against the certificate's IP addresses. */
static bool
is_address(const char *name)
{
	struct in6_addr a6;

	return (inet_pton(AF_INET, name, &a6) == 1 ||
	    inet_pton(AF_INET6, name, &a6) == 1);
}

static int
ke_session(struct ke *k, const struct nts_trust *trust, const char *name)
{
	gnutls_datum_t alpn = { (unsigned char *)(uintptr_t)NTS_KE_ALPN,
	    sizeof NTS_KE_ALPN - 1 };
	int r;

	if ((r = gnutls_init(&k->s, GNUTLS_CLIENT)) != 0) {
		k->s = NULL;
		return (ke_fail(k, "TLS: %s", gnutls_strerror(r)));
	}
	if ((r = gnutls_priority_set_direct(k->s, NTS_TLS_PRIORITY, NULL)) != 0 ||
	    (r = gnutls_credentials_set(k->s, GNUTLS_CRD_CERTIFICATE,
	    trust->cred)) != 0 ||
	    (r = gnutls_alpn_set_protocols(k->s, &alpn, 1,
	    GNUTLS_ALPN_MANDATORY)) != 0)
		return (ke_fail(k, "TLS: %s", gnutls_strerror(r)));
	if (!is_address(name) && (r = gnutls_server_name_set(k->s,
	    GNUTLS_NAME_DNS, name, strlen(name))) != 0)
		return (ke_fail(k, "TLS: %s", gnutls_strerror(r)));
	gnutls_session_set_verify_cert(k->s, name, 0);
	gnutls_transport_set_int(k->s, k->fd);
	return (0);
}

static bool
timed_out(int r)
{
	return (r == GNUTLS_E_TIMEDOUT || r == GNUTLS_E_AGAIN);
}

static int
verify_failed(struct ke *k)
{
	gnutls_datum_t out;
	unsigned status = gnutls_session_get_verify_cert_status(k->s);
	size_t n;
	int r;

	if (gnutls_certificate_verification_status_print(status,
	    GNUTLS_CRT_X509, &out, 0) != 0)
		return (ke_fail(k, "certificate verification failed"));
	n = strnlen((const char *)out.data, out.size);
	while (n > 0 && out.data[n - 1] == ' ')
		n--;
	r = ke_fail(k, "certificate verification failed: %.*s", (int)n,
	    (const char *)out.data);
	gnutls_free(out.data);
	return (r);
}

static int
ke_handshake(struct ke *k)
{
	gnutls_datum_t proto;
	int r;

	if (left_ms(k) == 0)
		return (ke_fail(k, "TLS handshake failed: timed out"));
	gnutls_handshake_set_timeout(k->s, (unsigned)left_ms(k));
	do
		r = gnutls_handshake(k->s);
	while (r == GNUTLS_E_INTERRUPTED || (r < 0 &&
	    gnutls_error_is_fatal(r) == 0 && r != GNUTLS_E_AGAIN &&
	    left_ms(k) > 0));
	if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR)
		return (verify_failed(k));
	if (r < 0)
		return (ke_fail(k, "TLS handshake failed: %s",
		    timed_out(r) ? "timed out" : gnutls_strerror(r)));
	if (gnutls_protocol_get_version(k->s) != GNUTLS_TLS1_3)
		return (ke_fail(k, "not TLS 1.3"));
	if (gnutls_alpn_get_selected_protocol(k->s, &proto) != 0 ||
	    proto.size != sizeof NTS_KE_ALPN - 1 ||
	    memcmp(proto.data, NTS_KE_ALPN, proto.size) != 0)
		return (ke_fail(k, "server did not agree to ALPN %s",
		    NTS_KE_ALPN));
	return (0);
}

static int
ke_send_request(struct ke *k)
{
	uint8_t req[64];
	size_t n = nts_ke_build_request(req, sizeof req), off = 0;
	ssize_t r;

	assert(n > 0);
	while (off < n) {
		r = gnutls_record_send(k->s, req + off, n - off);
		if (r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r < 0)
			return (ke_fail(k, "cannot send request: %s",
			    gnutls_strerror((int)r)));
		off += (size_t)r;
	}
	return (0);
}

/* Read records until the codec has a verdict. */
static int
ke_read_response(struct ke *k, struct nts_ke_reply *reply)
{
	uint8_t *buf = malloc(NTS_KE_MAX_RESPONSE);
	size_t len = 0;
	ssize_t r = 0;
	enum nts_ke_err e = NTS_KE_INCOMPLETE;
	char why[160];

	if (buf == NULL)
		return (ke_fail(k, "%s", strerror(ENOMEM)));
	while (e == NTS_KE_INCOMPLETE) {
		if (left_ms(k) == 0) {
			r = GNUTLS_E_TIMEDOUT;
			break;
		}
		gnutls_record_set_timeout(k->s, (unsigned)left_ms(k));
		r = gnutls_record_recv(k->s, buf + len,
		    NTS_KE_MAX_RESPONSE - len);
		/* AGAIN also follows a post-handshake message (a ticket). */
		if (r == GNUTLS_E_INTERRUPTED ||
		    (r == GNUTLS_E_AGAIN && left_ms(k) > 0))
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		e = nts_ke_parse_response(buf, len, reply);
	}
	free(buf);
	if (e == NTS_KE_INCOMPLETE)
		return (ke_fail(k, "%s", r == 0 ||
		    r == GNUTLS_E_PREMATURE_TERMINATION ? "connection closed "
		    "before End of Message" : timed_out((int)r) ? "timed out "
		    "waiting for the response" : gnutls_strerror((int)r)));
	if (e != NTS_KE_OK)
		return (ke_fail(k, "%s", nts_ke_describe(e, reply, why,
		    sizeof why)));
	return (0);
}

/* RFC 8915 section 5.1: context is protocol, AEAD, then 0 c2s / 1 s2c. */
int
nts_tls_export(gnutls_session_t s, uint8_t *c2s, uint8_t *s2c)
{
	uint8_t ctx[5] = { 0, NTS_PROTO_NTPV4, NTS_AEAD_ID >> 8,
	    NTS_AEAD_ID & 0xff, 0 };
	int r;

	r = gnutls_prf_rfc5705(s, sizeof NTS_EXPORTER_LABEL - 1,
	    NTS_EXPORTER_LABEL, sizeof ctx, (const char *)ctx,
	    NTS_AEAD_KEY_LEN, (char *)c2s);
	ctx[4] = 1;
	if (r == 0)
		r = gnutls_prf_rfc5705(s, sizeof NTS_EXPORTER_LABEL - 1,
		    NTS_EXPORTER_LABEL, sizeof ctx, (const char *)ctx,
		    NTS_AEAD_KEY_LEN, (char *)s2c);
	return (r);
}

static int
ke_export(struct ke *k, struct nts_ke_result *res)
{
	int r = nts_tls_export(k->s, res->c2s, res->s2c);

	return (r == 0 ? 0 : ke_fail(k, "key export failed: %s",
	    gnutls_strerror(r)));
}

int
nts_ke_run(const struct nts_trust *trust, const struct nt_addr *addr,
    const char *name, double timeout, struct nts_ke_result *res, char *err,
    size_t errlen)
{
	char a[NT_ADDRSTRLEN], pname[NT_ADDRSTRLEN];
	struct ke k;
	int r;

	assert(trust != NULL && addr != NULL && name != NULL && res != NULL);
	assert(timeout > 0 && err != NULL && errlen > 0);
	memset(&k, 0, sizeof k);
	memset(res, 0, sizeof *res);
	k.fd = -1;
	k.err = err;
	k.errlen = errlen;
	k.deadline = nts_tls_mono_now() + timeout;
	snprintf(k.peer, sizeof k.peer, "%s:%u (%s)", nt_printable(name,
	    pname, sizeof pname), nt_addr_port(addr),
	    nt_addr_format(addr, a, sizeof a));
	if ((r = ke_connect(&k, addr)) == 0 &&
	    (r = ke_session(&k, trust, name)) == 0 &&
	    (r = ke_handshake(&k)) == 0 && (r = ke_send_request(&k)) == 0 &&
	    (r = ke_read_response(&k, &res->reply)) == 0)
		r = ke_export(&k, res);
	if (k.s != NULL)
		gnutls_deinit(k.s);
	if (k.fd >= 0)
		close(k.fd);
	return (r);
}
