/*
 * A client source's NTS on the event loop.  The key exchange blocks (TLS
 * over TCP with a deadline), so it runs as a libuv work item; only its
 * result, copied back on the loop thread, touches the cookie jar.  A
 * failed exchange is retried after a back-off, so an NTS-KE server that
 * is down costs one connection attempt per interval, not one per poll.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conf.h"
#include "log.h"
#include "ntp_pkt.h"
#include "nts.h"
#include "nts_tls.h"
#include "resolve.h"
#include "source.h"
#include "uvnts.h"

#define KE_TIMEOUT 10.0		/* s for the whole exchange */
#define KE_RETRY_MIN 16.0	/* s after a failure, doubling */
#define KE_RETRY_MAX 1024.0

static struct nts_trust *trust;	/* read once, before the sandbox */

struct nt_uvnts {
	uv_loop_t	*loop;
	char		name[NT_HOSTLEN];
	char		label[NT_NAME_MAX];
	struct nt_addr	ke_addr;
	uint16_t	ntp_port;	/* configured; the KE may change it */
	nt_uvnts_ready_cb *ready;
	void		*ctx;
	struct nts_client client;
	bool		have_keys;
	uv_work_t	work;
	bool		running;	/* a key exchange is in flight */
	bool		resolving;	/* looking up the NTP server it named */
	bool		closed;		/* free when it returns */
	struct nts_ke_result result;
	char		err[NT_ADDRSTRLEN + 400];
	uint64_t	not_before;	/* loop ms: no exchange before */
	double		retry;		/* s */
};

int
nt_uvnts_trust_init(const char *ca_file, char *err, size_t errlen)
{
	assert(trust == NULL);
	trust = nts_trust_load(ca_file, err, errlen);
	return (trust != NULL ? 0 : -1);
}

bool
nt_uvnts_trusted(void)
{
	return (trust != NULL);
}

struct nt_uvnts *
nt_uvnts_new(uv_loop_t *loop, const char *ke_name,
    const struct nt_addr *ke_addr, uint16_t ntp_port, const char *label,
    nt_uvnts_ready_cb *ready, void *ctx)
{
	struct nt_uvnts *n;

	assert(trust != NULL);	/* nt_uvnts_trust_init() at start-up */
	if ((n = calloc(1, sizeof *n)) == NULL)
		return (NULL);
	n->loop = loop;
	snprintf(n->name, sizeof n->name, "%s", ke_name);
	snprintf(n->label, sizeof n->label, "%s", label);
	n->ke_addr = *ke_addr;
	n->ntp_port = ntp_port;
	n->ready = ready;
	n->ctx = ctx;
	n->retry = KE_RETRY_MIN;
	n->work.data = n;
	return (n);
}

/* The exported keys live on in the ciphers only. */
static void
forget_keys(struct nt_uvnts *n)
{
	explicit_bzero(n->result.c2s, sizeof n->result.c2s);
	explicit_bzero(n->result.s2c, sizeof n->result.s2c);
}

static void
uvnts_free(struct nt_uvnts *n)
{
	nts_client_free(&n->client);
	forget_keys(n);
	free(n);
}

void
nt_uvnts_close(struct nt_uvnts *n)
{
	if (n == NULL)
		return;
	if (n->running || n->resolving)
		n->closed = true;
	else
		uvnts_free(n);
}

static void
ke_work(uv_work_t *w)
{
	struct nt_uvnts *n = w->data;

	n->err[0] = '\0';
	if (nts_ke_run(trust, &n->ke_addr, n->name, KE_TIMEOUT, &n->result,
	    n->err, sizeof n->err) != 0)
		assert(n->err[0] != '\0');
}

static void
ke_failed(struct nt_uvnts *n, const char *why)
{
	nt_log(NT_LOG_ERR, "%s: %s (next attempt in %.0f s)", n->label, why,
	    n->retry);
	n->not_before = uv_now(n->loop) + (uint64_t)(n->retry * 1e3);
	n->retry = n->retry * 2 > KE_RETRY_MAX ? KE_RETRY_MAX : n->retry * 2;
}

/* The keys are good for the NTP server at a, if the source takes it. */
static void
use_server(struct nt_uvnts *n, const struct nt_addr *a)
{
	char b[NT_ADDRSTRLEN], why[NT_ADDRSTRLEN + 160];

	why[0] = '\0';
	if (n->ready(n->ctx, a, why, sizeof why) != 0) {
		assert(why[0] != '\0');
		ke_failed(n, why);
		return;
	}
	n->have_keys = true;
	n->retry = KE_RETRY_MIN;
	nt_log(NT_LOG_INFO, "%s: NTS-KE with %s done: %d cookies, NTP server "
	    "%s", n->label, n->name, n->result.reply.n_cookies,
	    nt_addr_format(a, b, sizeof b));
}

static void
on_server(void *ctx, const struct nt_addr *addrs, size_t n_addrs,
    const char *err)
{
	struct nt_uvnts *n = ctx;
	char why[2 * NT_HOSTLEN + 160];

	assert(n->resolving);
	n->resolving = false;
	if (n->closed) {
		uvnts_free(n);
		return;
	}
	if (n_addrs > 0) {
		use_server(n, &addrs[0]);
		return;
	}
	snprintf(why, sizeof why, "NTS-KE %s names NTP server %s: %s",
	    n->name, n->result.reply.server, err);
	ke_failed(n, why);
}

/*
 * NTP goes to the server the KE named (RFC 8915 section 4.1.7), looked
 * up in the KE address's family (the source's socket is of that family),
 * or to the KE server's own address; to the port it named, or the
 * configured one.
 */
static void
find_server(struct nt_uvnts *n)
{
	const struct nts_ke_reply *r = &n->result.reply;
	uint16_t port = r->port != 0 ? r->port : n->ntp_port;
	struct nt_addr a = n->ke_addr;

	if (r->server[0] == '\0') {
		nt_addr_set_port(&a, port);
		use_server(n, &a);
		return;
	}
	n->resolving = true;
	nt_resolve(n->loop, r->server, port, nt_addr_family(&n->ke_addr) ==
	    AF_INET6 ? NT_FAMILY_V6 : NT_FAMILY_V4, on_server, n);
}

static void
ke_after(uv_work_t *w, int status)
{
	struct nt_uvnts *n = w->data;

	assert(status == 0 && n->running);
	n->running = false;
	if (n->closed) {
		uvnts_free(n);
		return;
	}
	nts_client_free(&n->client);
	n->have_keys = false;
	if (n->err[0] != '\0')
		ke_failed(n, n->err);
	else if (nts_client_init(&n->client, n->result.c2s, n->result.s2c,
	    &n->result.reply) != 0)
		ke_failed(n, "NTS: cannot set up AES-SIV");
	else
		find_server(n);
	forget_keys(n);
}

static void
start_ke(struct nt_uvnts *n)
{
	int r;

	if (n->running || n->resolving || uv_now(n->loop) < n->not_before)
		return;
	if ((r = uv_queue_work(n->loop, &n->work, ke_work, ke_after)) != 0) {
		ke_failed(n, uv_strerror(r));
		return;
	}
	n->running = true;
}

int
nt_uvnts_wrap(struct nt_uvnts *n, const uint8_t *req, size_t len,
    uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t uid[NTS_UID_LEN], nonce[NTS_NONCE_LEN];

	assert(len == NTP_HDR_LEN && !n->closed);
	if (n->have_keys && n->client.n_cookies == 0) {
		nt_log(NT_LOG_NOTICE, "%s: out of NTS cookies, new key "
		    "exchange", n->label);
		n->have_keys = false;
	}
	if (!n->have_keys) {
		start_ke(n);
		return (-EAGAIN);
	}
	arc4random_buf(uid, sizeof uid);
	arc4random_buf(nonce, sizeof nonce);
	*out_len = nts_client_request(&n->client, req, uid, nonce, out, cap);
	return (*out_len > 0 ? 0 : -EMSGSIZE);
}

bool
nt_uvnts_accept(struct nt_uvnts *n, const uint8_t *buf, size_t len)
{
	enum nts_verdict v;

	if (!n->have_keys)
		return (false);
	if ((v = nts_client_reply(&n->client, buf, len)) == NTS_OK)
		return (true);
	if (v == NTS_NAK) {
		nt_log(NT_LOG_NOTICE, "%s: %s: new key exchange", n->label,
		    nts_verdict_str(v));
		n->have_keys = false;
		start_ke(n);
	} else
		nt_log(NT_LOG_DEBUG, "%s: ignored reply: %s", n->label,
		    nts_verdict_str(v));
	return (false);
}
