/*
 * NTS-KE over TLS for servers, and the keys file (see nts_ke_server.h).
 * All a client can reach here is nts_ke_parse_request() with a buffer of
 * NTS_KE_MAX_REQUEST bytes, after a TLS 1.3 handshake that agreed on
 * ALPN ntske/1; everything else is GnuTLS's.  Each thread waits in poll()
 * on the listening sockets, a stop pipe and its connections in progress
 * (non-blocking sockets, GnuTLS in non-blocking mode), moves each one as
 * far as its socket lets it, and closes it when it is done or its
 * deadline has passed.  One thread serving one connection at a time, as
 * before, let four idle connections keep every other client out.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tlslib.h"

#include "driftfile.h"
#include "log.h"
#include "nts_ke_server.h"
#include "nts_tls.h"

#define KEYS_FORM "'ntimed-nts-keys 1', then 'id time hexkey' lines"
#define RESPONSE_MAX 2048	/* 8 cookies of 100 bytes and a few records */

/*
 * The certificate and key in use.  A reload swaps in new ones while
 * connections may still use the old: each holds a reference.
 */
struct cred {
	gnutls_certificate_credentials_t gc;
	int		refs;		/* under nts_ke_server.cred_lock */
};

struct nts_ke_server {
	struct nts_ke_server_params p;
	char		keys_file[4096];
	char		cert[4096], key[4096];
	char		ntp_server[NTS_SERVER_MAX_LEN + 1];	/* "": none */
	struct nts_server nts;
	bool		dirty;		/* keys changed since last written */
	pthread_mutex_t	cred_lock;
	struct cred	*cred;		/* holds a reference */
	int		fds[NTS_KE_SERVER_MAX_LISTEN];
	struct nt_addr	addrs[NTS_KE_SERVER_MAX_LISTEN];
	size_t		n_fds;
	int		stop[2];	/* a pipe: closing [1] stops threads */
	struct ke_thread *th[NTS_KE_SERVER_THREADS];
	int		n_threads;	/* running */
	_Atomic uint64_t served, failed;
};

static struct cred *
cred_get(struct nts_ke_server *s)
{
	struct cred *c;

	pthread_mutex_lock(&s->cred_lock);
	c = s->cred;
	assert(c != NULL && c->refs > 0);
	c->refs++;
	pthread_mutex_unlock(&s->cred_lock);
	return (c);
}

static void
cred_put(struct nts_ke_server *s, struct cred *c)
{
	bool last;

	if (c == NULL)
		return;
	pthread_mutex_lock(&s->cred_lock);
	assert(c->refs > 0);
	last = --c->refs == 0;
	pthread_mutex_unlock(&s->cred_lock);
	if (last) {
		gnutls_certificate_free_credentials(c->gc);
		free(c);
	}
}

/* Where a connection is: each step waits on the socket in one direction. */
enum conn_step {
	STEP_HANDSHAKE,		/* TLS; mostly waits to read */
	STEP_READ,		/* the request, up to End of Message */
	STEP_SEND,		/* the response */
	STEP_BYE,		/* close_notify */
};

/* One connection being served: a slot of a thread's table. */
struct conn {
	struct nts_ke_server *s;
	struct cred	*cred;		/* a reference */
	char		peer[NT_ADDRSTRLEN];
	uint64_t	from;		/* a hash of the client's address */
	int		fd;		/* -1: the slot is free */
	double		accepted, deadline;	/* CLOCK_MONOTONIC s */
	gnutls_session_t tls;
	enum conn_step	step;
	enum nts_ke_err	verdict;
	size_t		in_len, out_len, out_off;
	uint8_t		in[NTS_KE_MAX_REQUEST];
	uint8_t		out[RESPONSE_MAX];
};

/* A KE thread and the connections it has in progress. */
struct ke_thread {
	struct nts_ke_server *s;
	pthread_t	tid;
	double		accept_after;	/* out of descriptors: wait a bit */
	struct conn	c[NTS_KE_SERVER_CONNS];
};

static int conn_fail(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One line naming the client; counts the failure; returns -1. */
static int
conn_fail(struct conn *c, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	nt_log(NT_LOG_INFO, "NTS-KE client %s: %s", c->peer, why);
	atomic_fetch_add(&c->s->failed, 1);
	return (-1);
}

/* GnuTLS wants the socket again (0), or failed for good (-1). */
static int
tls_again(struct conn *c, int r, const char *what)
{
	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
		return (0);
	return (conn_fail(c, "%s: %s", what, gnutls_strerror(r)));
}

static int
conn_tls(struct conn *c)
{
	gnutls_datum_t alpn = { (unsigned char *)(uintptr_t)NTS_KE_ALPN,
	    sizeof NTS_KE_ALPN - 1 };
	int r;

	if ((r = gnutls_init(&c->tls, GNUTLS_SERVER | GNUTLS_NONBLOCK)) != 0) {
		c->tls = NULL;
		return (conn_fail(c, "TLS: %s", gnutls_strerror(r)));
	}
	if ((r = gnutls_priority_set_direct(c->tls, NTS_TLS_PRIORITY,
	    NULL)) != 0 || (r = gnutls_credentials_set(c->tls,
	    GNUTLS_CRD_CERTIFICATE, c->cred->gc)) != 0 ||
	    (r = gnutls_alpn_set_protocols(c->tls, &alpn, 1,
	    GNUTLS_ALPN_MANDATORY)) != 0)
		return (conn_fail(c, "TLS: %s", gnutls_strerror(r)));
	gnutls_transport_set_int(c->tls, c->fd);
	gnutls_handshake_set_timeout(c->tls, 0);	/* the deadline's job */
	return (0);
}

/* 1: handshake done, 0: waiting, -1: failed. */
static int
conn_handshake(struct conn *c)
{
	gnutls_datum_t proto;
	int r = gnutls_handshake(c->tls);

	if (r < 0 && gnutls_error_is_fatal(r) == 0 && r != GNUTLS_E_AGAIN &&
	    r != GNUTLS_E_INTERRUPTED)
		return (1);		/* a warning alert: try again */
	if (r < 0)
		return (tls_again(c, r, "TLS handshake failed"));
	if (gnutls_protocol_get_version(c->tls) != GNUTLS_TLS1_3 ||
	    gnutls_alpn_get_selected_protocol(c->tls, &proto) != 0 ||
	    proto.size != sizeof NTS_KE_ALPN - 1 ||
	    memcmp(proto.data, NTS_KE_ALPN, proto.size) != 0)
		return (conn_fail(c, "not TLS 1.3 with ALPN %s", NTS_KE_ALPN));
	c->step = STEP_READ;
	return (1);
}

/* The answer to a request judged v: cookies only for a good one. */
static void
conn_answer(struct conn *c, enum nts_ke_err v)
{
	uint8_t c2s[NTS_AEAD_KEY_LEN], s2c[NTS_AEAD_KEY_LEN];
	uint8_t nonce[NTS_NONCE_LEN];
	struct nts_cookie ck[NTS_COOKIE_MAX];
	int r = 0;

	if (v == NTS_KE_OK && (r = nts_tls_export(c->tls, c2s, s2c)) != 0) {
		conn_fail(c, "key export failed: %s", gnutls_strerror(r));
		v = NTS_KE_SERVER_ERROR;
	}
	for (int i = 0; v == NTS_KE_OK && i < NTS_COOKIE_MAX; i++) {
		arc4random_buf(nonce, sizeof nonce);
		if (nts_server_cookie(&c->s->nts, c2s, s2c, nonce, &ck[i]) !=
		    0) {
			conn_fail(c, "cannot make a cookie");
			v = NTS_KE_SERVER_ERROR;
		}
	}
	memset(c2s, 0, sizeof c2s);
	memset(s2c, 0, sizeof s2c);
	c->verdict = v;
	c->out_len = nts_ke_build_response(v, ck, NTS_COOKIE_MAX,
	    c->s->ntp_server, c->s->p.ntp_port, c->out, sizeof c->out);
	assert(c->out_len > 0);
	c->out_off = 0;
	c->step = STEP_SEND;
}

/* 1: more to do at once, 0: waiting, -1: failed. */
static int
conn_read(struct conn *c)
{
	enum nts_ke_err v;
	ssize_t r;

	assert(c->in_len < sizeof c->in);
	r = gnutls_record_recv(c->tls, c->in + c->in_len,
	    sizeof c->in - c->in_len);
	if (r == 0)
		return (conn_fail(c, "connection closed before End of "
		    "Message"));
	if (r < 0)
		return (tls_again(c, (int)r, "before End of Message"));
	c->in_len += (size_t)r;
	if ((v = nts_ke_parse_request(c->in, c->in_len)) != NTS_KE_INCOMPLETE)
		conn_answer(c, v);
	return (1);	/* GnuTLS may hold more records already */
}

/*
 * Why a request was refused, as the server sees it (nts_ke_describe()
 * speaks of a server's response, to a client).
 */
static const char *
request_problem(enum nts_ke_err v)
{
	switch (v) {
	case NTS_KE_UNKNOWN_CRITICAL:
		return ("an unknown critical record");
	case NTS_KE_DUPLICATE:
		return ("a record repeated");
	case NTS_KE_NO_PROTOCOL:
		return ("NTPv4 not offered");
	case NTS_KE_NO_AEAD:
		return ("AEAD_AES_SIV_CMAC_256 not offered");
	case NTS_KE_AFTER_END:
		return ("data after End of Message");
	case NTS_KE_TOO_LONG:
		return ("no End of Message in the first 1024 bytes");
	default:
		return ("a malformed request (a record's length, a record "
		    "only servers send, or no Next Protocol or AEAD record)");
	}
}

/* 1: sent, 0: waiting, -1: failed. */
static int
conn_send(struct conn *c)
{
	ssize_t r;

	while (c->out_off < c->out_len) {
		r = gnutls_record_send(c->tls, c->out + c->out_off,
		    c->out_len - c->out_off);
		if (r < 0)
			return (tls_again(c, (int)r, "cannot send the "
			    "response"));
		c->out_off += (size_t)r;
	}
	if (c->verdict == NTS_KE_OK)
		atomic_fetch_add(&c->s->served, 1);
	else if (c->verdict != NTS_KE_SERVER_ERROR)
		conn_fail(c, "refused: %s", request_problem(c->verdict));
	c->step = STEP_BYE;
	return (1);
}

static void
conn_close(struct conn *c)
{
	if (c->tls != NULL)
		gnutls_deinit(c->tls);
	c->tls = NULL;
	cred_put(c->s, c->cred);
	c->cred = NULL;
	close(c->fd);
	c->fd = -1;
}

static const char *const step_names[] = {
	[STEP_HANDSHAKE] = "in the TLS handshake",
	[STEP_READ] = "reading the request",
	[STEP_SEND] = "sending the response",
	[STEP_BYE] = "closing",
};

/* As far as the socket lets us; closes the connection when done. */
static void
conn_step(struct conn *c)
{
	int r = 1;

	while (r > 0) {
		if (nts_tls_left_ms(c->deadline) == 0) {
			if (c->step != STEP_BYE)
				conn_fail(c, "timed out %s",
				    step_names[c->step]);
			r = -1;
			break;
		}
		switch (c->step) {
		case STEP_HANDSHAKE:
			r = conn_handshake(c);
			break;
		case STEP_READ:
			r = conn_read(c);
			break;
		case STEP_SEND:
			r = conn_send(c);
			break;
		case STEP_BYE:
			r = gnutls_bye(c->tls, GNUTLS_SHUT_WR);
			r = r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED ?
			    0 : -1;	/* sent, or no use trying: done */
			break;
		}
	}
	if (r < 0)
		conn_close(c);
}

/*
 * The poll() events a connection waits for.  A handshake mostly waits
 * to read, but our flight (a certificate chain larger than the socket's
 * send buffer) can wait to be written: GnuTLS says which.
 */
static short
conn_events(const struct conn *c)
{
	if (c->step == STEP_SEND || c->step == STEP_BYE)
		return (POLLOUT);
	if (c->step == STEP_HANDSHAKE &&
	    gnutls_record_get_direction(c->tls) == 1)
		return (POLLOUT);
	return (POLLIN);
}

/*
 * The client's address without its port, as a 64-bit FNV-1a hash: the
 * fairness below compares it 4096 times per connection under a flood.
 * Two addresses that collide share their fair part, no worse.
 */
static uint64_t
address_key(const struct nt_addr *a)
{
	char host[NT_ADDRSTRLEN];
	uint64_t h = 0xcbf29ce484222325u;

	nt_addr_format_host(a, host, sizeof host);
	for (const char *p = host; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3u;
	return (h);
}

/* How many of a thread's connections come from c's address. */
static int
same_address(const struct ke_thread *t, const struct conn *c)
{
	int n = 0;

	for (int i = 0; i < NTS_KE_SERVER_CONNS; i++)
		n += t->c[i].fd >= 0 && t->c[i].from == c->from;
	return (n);
}

/*
 * A free slot, or the slot of the connection that has been waiting
 * longest among those of the address holding the most: a flood of idle
 * connections from one address then evicts only its own, and from many
 * addresses each lasts only until the table has turned over, where a
 * real client's handshake takes milliseconds.  Quadratic in a table of
 * 64 (a few microseconds), and only when it is full.
 */
static struct conn *
free_slot(struct ke_thread *t)
{
	struct conn *old = NULL;
	int most = 0, n;

	for (int i = 0; i < NTS_KE_SERVER_CONNS; i++) {
		if (t->c[i].fd < 0)
			return (&t->c[i]);
		n = same_address(t, &t->c[i]);
		if (old == NULL || n > most || (n == most &&
		    t->c[i].accepted < old->accepted)) {
			most = n;
			old = &t->c[i];
		}
	}
	assert(old != NULL && most >= 1);
	conn_fail(old, "dropped after %.1f s %s: %d connections in "
	    "progress, %d from this address", nts_tls_mono_now() -
	    old->accepted, step_names[old->step], NTS_KE_SERVER_CONNS, most);
	conn_close(old);
	return (old);
}

static void
accept_one(struct ke_thread *t, int lfd)
{
	struct nts_ke_server *s = t->s;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	struct nt_addr a;
	struct conn *c;
	int fd;

	if ((fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC |
	    SOCK_NONBLOCK)) < 0) {
		/* Out of descriptors: the backlog waits, we do not spin. */
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM)
			t->accept_after = nts_tls_mono_now() + 0.1;
		return;		/* or another thread took it */
	}
	c = free_slot(t);
	memset(c, 0, offsetof(struct conn, in));
	c->s = s;
	c->fd = fd;
	c->accepted = nts_tls_mono_now();
	c->deadline = c->accepted + NTS_KE_SERVER_TIMEOUT;
	c->cred = cred_get(s);
	c->step = STEP_HANDSHAKE;
	if (nt_addr_from_sockaddr(&a, (struct sockaddr *)&ss, sl) == 0) {
		nt_addr_format(&a, c->peer, sizeof c->peer);
		c->from = address_key(&a);
	} else
		snprintf(c->peer, sizeof c->peer, "(unknown)");
	if (conn_tls(c) != 0)
		conn_close(c);
	else
		conn_step(c);	/* the ClientHello may be here already */
}

/* Milliseconds until the next deadline (or accept retry), -1: none. */
static int
poll_timeout(const struct ke_thread *t, bool accepting)
{
	double soonest = accepting ? -1 : t->accept_after;
	unsigned ms;

	for (int i = 0; i < NTS_KE_SERVER_CONNS; i++)
		if (t->c[i].fd >= 0 && (soonest < 0 ||
		    t->c[i].deadline < soonest))
			soonest = t->c[i].deadline;
	if (soonest < 0)
		return (-1);
	ms = nts_tls_left_ms(soonest);
	return (ms > 60000 ? 60000 : (int)ms);
}

/* Serve the connections that poll() says can move, then new ones. */
static void
ke_round(struct ke_thread *t, struct pollfd *pfd, const int *slot, int n,
    size_t n_listen)
{
	for (int i = (int)n_listen + 1; i < n; i++)
		if (pfd[i].revents != 0)
			conn_step(&t->c[slot[i]]);
	for (int i = 0; i < NTS_KE_SERVER_CONNS; i++)
		if (t->c[i].fd >= 0 && nts_tls_left_ms(t->c[i].deadline) == 0)
			conn_step(&t->c[i]);	/* fails it */
	for (size_t i = 0; i < n_listen; i++)
		if (pfd[i].revents & POLLIN)
			accept_one(t, pfd[i].fd);
}

static void *
ke_thread(void *arg)
{
	struct ke_thread *t = arg;
	struct nts_ke_server *s = t->s;
	struct pollfd pfd[NTS_KE_SERVER_MAX_LISTEN + 1 + NTS_KE_SERVER_CONNS];
	int slot[NTS_KE_SERVER_MAX_LISTEN + 1 + NTS_KE_SERVER_CONNS];
	size_t n_listen;
	bool accepting;
	int n;

	for (;;) {
		accepting = nts_tls_mono_now() >= t->accept_after;
		n_listen = accepting ? s->n_fds : 0;
		for (n = 0; n < (int)n_listen; n++)
			pfd[n] = (struct pollfd){ s->fds[n], POLLIN, 0 };
		pfd[n++] = (struct pollfd){ s->stop[0], POLLIN, 0 };
		for (int i = 0; i < NTS_KE_SERVER_CONNS; i++)
			if (t->c[i].fd >= 0) {
				slot[n] = i;
				pfd[n++] = (struct pollfd){ t->c[i].fd,
				    conn_events(&t->c[i]), 0 };
			}
		if (poll(pfd, (nfds_t)n, poll_timeout(t, accepting)) < 0) {
			if (errno == EINTR)
				continue;
			nt_log(NT_LOG_ERR, "NTS-KE: poll: %s", strerror(errno));
			break;
		}
		if (pfd[n_listen].revents != 0)
			break;
		ke_round(t, pfd, slot, n, n_listen);
	}
	for (int i = 0; i < NTS_KE_SERVER_CONNS; i++)
		if (t->c[i].fd >= 0)
			conn_close(&t->c[i]);
	return (NULL);
}

/* ---- start, keys, stop ---- */

static int
load_keys(struct nts_ke_server *s, char *err, size_t errlen)
{
	char text[NTS_KEYS_TEXT_MAX], why[160];
	uint8_t rnd[NTS_SKEY_RAND];
	int r;

	r = nt_statefile_read(s->keys_file, text, sizeof text, KEYS_FORM, why,
	    sizeof why);
	if (r < 0) {
		snprintf(err, errlen, "NTS keys: %s", why);
		return (-1);
	}
	/*
	 * A broken file (a crash mid-edit by hand, a disk fault) must not
	 * keep the server down: new keys replace it, and the clients' old
	 * cookies get an NTS NAK, as after a lost file.
	 */
	if (r == 0 && nts_server_keys_parse(&s->nts, text, why,
	    sizeof why) != 0)
		nt_log(NT_LOG_WARNING, "NTS keys: %s: %s: starting with new "
		    "keys (clients' cookies become invalid)", s->keys_file, why);
	if (nts_server_due(&s->nts, (int64_t)time(NULL))) {
		arc4random_buf(rnd, sizeof rnd);
		if (nts_server_new_key(&s->nts, rnd, (int64_t)time(NULL)) != 0) {
			snprintf(err, errlen, "NTS keys: the cipher refused "
			    "a new key");
			return (-1);
		}
		s->dirty = true;	/* written after privileges are dropped */
	}
	return (0);
}

/* The PEM files into a new struct cred (one reference), or NULL. */
static struct cred *
load_cert(const char *cert, const char *key, char *err, size_t errlen)
{
	struct cred *c = calloc(1, sizeof *c);
	int r;

	if (c == NULL) {
		snprintf(err, errlen, "NTS: %s", strerror(ENOMEM));
		return (NULL);
	}
	if ((r = gnutls_certificate_allocate_credentials(&c->gc)) != 0) {
		free(c);
		snprintf(err, errlen, "NTS: %s", gnutls_strerror(r));
		return (NULL);
	}
	r = gnutls_certificate_set_x509_key_file(c->gc, cert, key,
	    GNUTLS_X509_FMT_PEM);
	if (r < 0) {
		snprintf(err, errlen, "NTS: cannot load certificate %s with "
		    "key %s: %s", cert, key, gnutls_strerror(r));
		gnutls_certificate_free_credentials(c->gc);
		free(c);
		return (NULL);
	}
	c->refs = 1;
	return (c);
}

static int
listen_on(struct nts_ke_server *s, const struct nt_addr *a, char *err,
    size_t errlen)
{
	char b[NT_ADDRSTRLEN];
	socklen_t len = sizeof a->ss;
	int fd, one = 1;

	fd = socket(nt_addr_family(a), SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0 && s->p.listen_default && (errno == EAFNOSUPPORT ||
	    errno == EADDRNOTAVAIL))
		return (0);	/* no IPv6 here: the other wildcard serves */
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof one) != 0 || (nt_addr_family(a) == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) ||
	    bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0 ||
	    listen(fd, 64) != 0) {
		snprintf(err, errlen, "NTS-KE %s: %s", nt_addr_format(a, b,
		    sizeof b), strerror(errno));
		if (fd >= 0)
			close(fd);
		return (-1);
	}
	s->fds[s->n_fds] = fd;
	s->addrs[s->n_fds] = *a;
	if (getsockname(fd, (struct sockaddr *)&s->addrs[s->n_fds].ss,
	    &len) == 0)
		s->addrs[s->n_fds].len = len;
	s->n_fds++;
	return (0);
}

/* Thread i with a table of free slots; 0 or -1. */
static int
start_thread(struct nts_ke_server *s, int i)
{
	struct ke_thread *t = calloc(1, sizeof *t);

	if (t == NULL)
		return (-1);
	t->s = s;
	for (int k = 0; k < NTS_KE_SERVER_CONNS; k++)
		t->c[k].fd = -1;
	s->th[i] = t;
	return (pthread_create(&t->tid, NULL, ke_thread, t) == 0 ? 0 : -1);
}

struct nts_ke_server *
nts_ke_server_start(const struct nts_ke_server_params *p, char *err,
    size_t errlen)
{
	struct nts_ke_server *s;

	assert(p->n_listen >= 1 && p->n_listen <= NTS_KE_SERVER_MAX_LISTEN);
	if (nt_tls_load(err, errlen) != 0)
		return (NULL);
	if ((s = calloc(1, sizeof *s)) == NULL ||
	    nts_server_init(&s->nts, p->rotate) != 0) {
		free(s);
		snprintf(err, errlen, "NTS: %s", strerror(ENOMEM));
		return (NULL);
	}
	s->p = *p;
	s->stop[0] = s->stop[1] = -1;
	snprintf(s->keys_file, sizeof s->keys_file, "%s", p->keys_file);
	snprintf(s->cert, sizeof s->cert, "%s", p->cert);
	snprintf(s->key, sizeof s->key, "%s", p->key);
	s->p.cert = s->cert;	/* the caller's strings may not outlive us */
	s->p.key = s->key;
	s->p.keys_file = s->keys_file;
	assert(p->ntp_server == NULL || nts_server_name_ok(p->ntp_server));
	snprintf(s->ntp_server, sizeof s->ntp_server, "%s",
	    p->ntp_server != NULL ? p->ntp_server : "");
	s->p.ntp_server = s->ntp_server;
	if (pthread_mutex_init(&s->cred_lock, NULL) != 0) {
		nts_server_free(&s->nts);
		free(s);
		snprintf(err, errlen, "NTS: %s", strerror(ENOMEM));
		return (NULL);
	}
	if ((s->cred = load_cert(s->cert, s->key, err, errlen)) == NULL ||
	    load_keys(s, err, errlen) != 0)
		goto fail;
	for (size_t i = 0; i < p->n_listen; i++)
		if (listen_on(s, &p->listen[i], err, errlen) != 0)
			goto fail;
	if (s->n_fds == 0) {
		snprintf(err, errlen, "NTS-KE: no address to listen on");
		goto fail;
	}
	if (pipe2(s->stop, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "NTS-KE: pipe: %s", strerror(errno));
		goto fail;
	}
	for (; s->n_threads < NTS_KE_SERVER_THREADS; s->n_threads++)
		if (start_thread(s, s->n_threads) != 0) {
			snprintf(err, errlen, "NTS-KE: cannot start a thread");
			goto fail;
		}
	return (s);
fail:
	nts_ke_server_stop(s);
	return (NULL);
}

struct nts_server *
nts_ke_server_keys(struct nts_ke_server *s)
{
	return (&s->nts);
}

int
nts_ke_server_maintain(struct nts_ke_server *s, char *err, size_t errlen)
{
	char text[NTS_KEYS_TEXT_MAX];
	uint8_t rnd[NTS_SKEY_RAND];
	int64_t now = (int64_t)time(NULL);
	size_t n;

	if (nts_server_due(&s->nts, now)) {
		arc4random_buf(rnd, sizeof rnd);
		if (nts_server_new_key(&s->nts, rnd, now) == 0) {
			s->dirty = true;
			nt_log(NT_LOG_NOTICE, "NTS: new server key");
		}
	}
	if (!s->dirty)
		return (0);
	n = nts_server_keys_format(&s->nts, text, sizeof text);
	if (nt_statefile_write(s->keys_file, text, n, 0600, err, errlen) != 0)
		return (-1);
	s->dirty = false;
	return (0);
}

int
nts_ke_server_reload_cert(struct nts_ke_server *s, char *err, size_t errlen)
{
	struct cred *c, *old;

	if ((c = load_cert(s->cert, s->key, err, errlen)) == NULL)
		return (-1);
	pthread_mutex_lock(&s->cred_lock);
	old = s->cred;
	s->cred = c;
	pthread_mutex_unlock(&s->cred_lock);
	cred_put(s, old);	/* freed when its last connection ends */
	return (0);
}

void
nts_ke_server_counters(struct nts_ke_server *s, struct nts_ke_counters *c)
{
	c->served = atomic_load(&s->served);
	c->failed = atomic_load(&s->failed);
}

size_t
nts_ke_server_n_addrs(const struct nts_ke_server *s)
{
	return (s->n_fds);
}

const struct nt_addr *
nts_ke_server_addr(const struct nts_ke_server *s, size_t i)
{
	assert(i < s->n_fds);
	return (&s->addrs[i]);
}

void
nts_ke_server_stop(struct nts_ke_server *s)
{
	if (s == NULL)
		return;
	if (s->stop[1] >= 0)
		close(s->stop[1]);	/* every poll() sees the hangup */
	for (int i = 0; i < s->n_threads; i++)
		pthread_join(s->th[i]->tid, NULL);
	for (int i = 0; i < NTS_KE_SERVER_THREADS; i++)
		free(s->th[i]);
	if (s->stop[0] >= 0)
		close(s->stop[0]);
	for (size_t i = 0; i < s->n_fds; i++)
		close(s->fds[i]);
	cred_put(s, s->cred);	/* the threads have let go of theirs */
	pthread_mutex_destroy(&s->cred_lock);
	nts_server_free(&s->nts);
	free(s);
}
