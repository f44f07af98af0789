/*
 * "ntimed query --nts HOST": Network Time Security (RFC 8915) for the
 * query.  Each host is first an NTS-KE server: a TLS key exchange with
 * it on libuv's thread pool (lib/nts_tls.c) gives the keys, the cookies
 * and which NTP server to ask (its Server and Port records); then every
 * request spends a cookie, and only replies that authenticate count.
 *
 * It is a file of its own so that cmd/query.c reads as the plain NTP
 * query it is (requests, replies, the table, the JSON), with NTS in
 * three places: building a request, taking a reply, and after the name
 * lookup.  Nothing here decides about time.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "query.h"

void
query_nts_option(struct query_opts *o, int ch, const char *arg)
{
	if (ch == 'N')
		o->nts = true;
	else if (ch == 'C')
		o->nts_ca = arg;
	else
		assert(!"not an NTS option");
}

int
query_nts_check_options(struct query_opts *o)
{
	if (o->nts_ca != NULL && !o->nts)
		return (nt_cmd_usage("query", "--nts-ca needs --nts"));
	if (o->nts && !o->port_set)
		o->port = NTS_KE_PORT;
	return (-1);
}

int
query_nts_load_trust(struct query *q)
{
	char err[512];

	if (!q->opt.nts)
		return (0);
	if ((q->trust = nts_trust_load(q->opt.nts_ca, err, sizeof err)) ==
	    NULL) {
		fprintf(stderr, "ntimed query: %s\n", err);
		return (q->opt.nts_ca != NULL ? EXIT_USAGE : EXIT_SYSTEM);
	}
	return (0);
}

void
query_nts_free(struct query *q)
{
	for (int i = 0; i < q->n_hosts; i++)
		nts_client_free(&q->hosts[i].nts.client);
	nts_trust_free(q->trust);
	q->trust = NULL;
}

/* ---- The key exchange, on the thread pool ---- */

static void
ke_work(uv_work_t *w)
{
	struct host *h = w->data;

	if (nts_ke_run(h->q->trust, &h->nts.ke_addr, h->name,
	    h->q->opt.timeout, h->nts.ke, h->nts.ke_err,
	    sizeof h->nts.ke_err) != 0)
		assert(h->nts.ke_err[0] != '\0');
}

/*
 * Keys and cookies in hand: NTP goes to the server the KE named, or to
 * the KE server's address (RFC 8915 section 4.1.7), port 123 unless told.
 */
static void
ke_after(uv_work_t *w, int status)
{
	struct host *h = w->data;
	struct nts_ke_result *ke = h->nts.ke;
	uint16_t port = ke->reply.port != 0 ? ke->reply.port : NTP_PORT;
	struct nt_addr a = h->nts.ke_addr;

	assert(status == 0);
	h->nts.ke = NULL;
	h->nts.ke_done = true;
	if (h->nts.ke_err[0] != '\0')
		query_host_fail(h, "%s", h->nts.ke_err);
	else if (nts_client_init(&h->nts.client, ke->c2s, ke->s2c,
	    &ke->reply) != 0) {
		h->q->sys_error = true;
		query_host_fail(h, "NTS: cannot set up AES-SIV");
	} else if (ke->reply.server[0] != '\0')
		nt_resolve(h->q->loop, ke->reply.server, port,
		    h->q->opt.family, query_on_resolved, h);
	else {
		nt_addr_set_port(&a, port);
		query_start_ntp(h, &a, 1);
	}
	explicit_bzero(ke, sizeof *ke);
	free(ke);
}

void
query_nts_start_ke(struct host *h, const struct nt_addr *addr)
{
	int r;

	if ((h->nts.ke = calloc(1, sizeof *h->nts.ke)) == NULL) {
		h->q->sys_error = true;
		query_host_fail(h, "%s", strerror(ENOMEM));
		return;
	}
	h->nts.ke_addr = *addr;
	h->nts.work.data = h;
	if ((r = uv_queue_work(h->q->loop, &h->nts.work, ke_work,
	    ke_after)) != 0) {
		free(h->nts.ke);
		h->nts.ke = NULL;
		h->q->sys_error = true;
		query_host_fail(h, "cannot start the NTS key exchange: %s",
		    uv_strerror(r));
	}
}

/* ---- Requests and replies ---- */

size_t
query_nts_request(struct host *h, const uint8_t *hdr, uint8_t *buf,
    size_t cap)
{
	uint8_t uid[NTS_UID_LEN], nonce[NTS_NONCE_LEN];

	arc4random_buf(uid, sizeof uid);
	arc4random_buf(nonce, sizeof nonce);
	return (nts_client_request(&h->nts.client, hdr, uid, nonce, buf,
	    cap));
}

/*
 * A reply counts only if it authenticates; anything else is ignored
 * (anyone can send us a datagram), except an NTS NAK that echoes our
 * identifier: the server has forgotten our key, and the host fails.
 */
bool
query_nts_accept(struct host *h, const uint8_t *buf, size_t len,
    const char *addr)
{
	enum nts_verdict v;

	if ((v = nts_client_reply(&h->nts.client, buf, len)) == NTS_OK)
		return (true);
	if (v == NTS_NAK) {
		query_host_fail(h, "%s: %s", addr, nts_verdict_str(v));
		return (false);
	}
	nt_log(NT_LOG_DEBUG, "%s: ignored reply: %s", addr,
	    nts_verdict_str(v));
	h->ignored = nts_verdict_str(v);
	return (false);
}
