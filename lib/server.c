/*
 * Server reply logic (RFC 5905 section 9 and 7.4, RFC 7822), sans-I/O.
 *
 * A request is answered when it is a client request (mode 3, or mode 0
 * of NTPv1 as chrony and ntpd do) of version 1 to 4 with nothing after
 * the header, or, when NTS is on, with NTS extension fields
 * (nts_server.c decides those).  Other extension fields and MACs are
 * dropped and counted, and so is everything else -- modes 1, 2, 4-7,
 * short or malformed datagrams.  A plain reply is the 48-byte header; an
 * NTS reply is never longer than its request either.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ntp_pkt.h"
#include "nts_server.h"
#include "server.h"
#include "source.h"

static const char *const verdict_names[NT_SRV_N_VERDICTS] = {
	[NT_SRV_REPLY] = "replied",
	[NT_SRV_KOD_RATE] = "kod-rate",
	[NT_SRV_KOD_DENY] = "kod-deny",
	[NT_SRV_DROP_MALFORMED] = "malformed",
	[NT_SRV_DROP_MODE] = "unsupported",
	[NT_SRV_DROP_EXT] = "extension",
	[NT_SRV_DROP_DENIED] = "denied",
	[NT_SRV_DROP_RATE] = "rate-limited",
	[NT_SRV_NTS_REPLY] = "nts-replied",
	[NT_SRV_NTS_NAK] = "nts-nak",
};

const char *
nt_server_verdict_str(enum nt_server_verdict v)
{
	assert(v >= 0 && v < NT_SRV_N_VERDICTS);
	return (verdict_names[v]);
}

void
nt_server_state_make(struct nt_server_state *st,
    const struct nt_sysinfo *si, int precision, int local_stratum,
    nt_time now)
{
	assert(local_stratum >= 0 && local_stratum < NTP_MAX_STRATUM);
	assert(precision >= -128 && precision <= 127);
	memset(st, 0, sizeof *st);
	st->precision = (int8_t)precision;
	/*
	 * Following a stratum 15 upstream makes us 16: "unsynchronized"
	 * (RFC 5905), which a reply must not claim with leap 0 and a refid.
	 */
	if (si->synced && si->stratum < NTP_MAX_STRATUM) {
		st->leap = (uint8_t)si->leap;
		st->stratum = (uint8_t)si->stratum;
		st->refid = si->refid;
		st->root_delay = nt_to_ntp32(si->root_delay);
		st->root_disp = si->root_disp;
		st->ref_time = si->ref_time;
		st->disp_grows = true;
	} else if (local_stratum > 0) {
		/* We are the reference: nothing accumulates on top of us. */
		st->leap = NTP_LEAP_NONE;
		st->stratum = (uint8_t)local_stratum;
		st->refid = NT_SERVER_LOCAL_REFID;
		st->ref_time = now;
	} else {
		st->leap = NTP_LEAP_UNSYNC;
		st->stratum = NTP_MAX_STRATUM;
		st->refid = NTP_CODE("INIT");
		st->root_disp = NT_SERVER_MAX_DISP;
	}
	assert(st->stratum >= 1 && st->stratum <= NTP_MAX_STRATUM);
	st->ref_ntp = st->ref_time != 0 ? nt_to_ntp64(st->ref_time) : 0;
}

/* Is this a request we answer?  NT_SRV_REPLY if so. */
static enum nt_server_verdict
check_request(const uint8_t *req, size_t len)
{
	struct ntp_pkt pkt;
	int version, mode;

	if (len == 0)
		return (NT_SRV_DROP_MALFORMED);
	version = (req[0] >> 3) & 7;
	mode = req[0] & 7;
	if (version == 0)
		return (NT_SRV_DROP_MALFORMED);
	if (version > NTP_VERSION)
		return (NT_SRV_DROP_MODE);
	if (mode != NTP_MODE_CLIENT &&
	    !(version == 1 && mode == NTP_MODE_RESERVED))
		return (NT_SRV_DROP_MODE);
	if (len < NTP_HDR_LEN)
		return (NT_SRV_DROP_MALFORMED);
	if (len == NTP_HDR_LEN)
		return (NT_SRV_REPLY);
	if (ntp_decode(req, len, &pkt) != NTP_DECODE_OK)
		return (NT_SRV_DROP_MALFORMED);
	return (NT_SRV_DROP_EXT);
}

static int
clamp_poll(int poll)
{
	if (poll < NT_SERVER_MIN_POLL)
		return (NT_SERVER_MIN_POLL);
	return (poll > NT_SERVER_MAX_POLL ? NT_SERVER_MAX_POLL : poll);
}

uint64_t
nt_server_get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (v);
}

void
nt_server_put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/*
 * Receive and transmit stamps on the wire: the lowest bit (2^-32 s) of a
 * receive stamp is 1, of a transmit stamp 0, so that the origin of a
 * request tells whether the client asks for interleaved mode (it echoes
 * a receive stamp: xleave.h) without a table lookup for every client.
 * A transmit stamp is after the receive stamp even when our clock was
 * stepped back between the two.
 */
static uint64_t
wire_rx(nt_time rx)
{
	return (nt_to_ntp64(rx) | 1);
}

static uint64_t
wire_tx(uint64_t rec, nt_time tx)
{
	uint64_t t = nt_to_ntp64(tx) & ~(uint64_t)1;

	/* Modular: an NTP era may end between the two. */
	if ((int64_t)(t - rec) <= 0)
		t = rec + 1;
	assert((t & 1) == 0);
	return (t);
}

/* The parts every answer shares: version, origin, receive, transmit. */
static void
answer_common(struct ntp_pkt *p, const struct nt_server_state *st,
    const uint8_t *req, nt_time rx, nt_time tx)
{
	memset(p, 0, sizeof *p);
	p->version = (req[0] >> 3) & 7;
	p->mode = NTP_MODE_SERVER;
	p->precision = st->precision;
	p->org = nt_server_get64(req + 40);
	p->rec = wire_rx(rx);
	p->xmt = tx != 0 ? wire_tx(p->rec, tx) : 0;
}

static double
root_disp_at(const struct nt_server_state *st, nt_time rx)
{
	double d = st->root_disp;

	if (st->disp_grows && rx > st->ref_time)
		d += NT_PHI * nt_diff(rx, st->ref_time);
	return (fmin(d, NT_SERVER_MAX_DISP));
}

/* The mode 4 header for a request already checked. */
static size_t
build_reply(const struct nt_server_state *st, const uint8_t *req,
    nt_time rx, nt_time tx, uint8_t *out, size_t cap)
{
	struct ntp_pkt p;

	answer_common(&p, st, req, rx, tx);
	p.leap = st->leap;
	p.stratum = st->stratum;
	p.poll = (int8_t)clamp_poll((int8_t)req[2]);
	p.root_delay = st->root_delay;
	p.root_disp = nt_to_ntp32(root_disp_at(st, rx));
	p.refid = st->refid;
	p.ref = st->ref_ntp;
	return (ntp_encode(&p, out, cap));
}

size_t
nt_server_reply(const struct nt_server_state *st, const uint8_t *req,
    size_t len, nt_time rx, nt_time tx, uint8_t *out, size_t cap,
    enum nt_server_verdict *why)
{
	assert(cap >= NTP_HDR_LEN);
	*why = check_request(req, len);
	if (*why != NT_SRV_REPLY)
		return (0);
	return (build_reply(st, req, rx, tx, out, cap));
}

/* A kiss header for a request already checked. */
static size_t
build_kod(const struct nt_server_state *st, const uint8_t *req,
    uint32_t code, int poll, nt_time rx, nt_time tx, uint8_t *out,
    size_t cap)
{
	struct ntp_pkt p;

	answer_common(&p, st, req, rx, tx);
	p.leap = NTP_LEAP_UNSYNC;
	p.stratum = 0;
	p.refid = code;
	p.poll = (int8_t)clamp_poll(poll > (int8_t)req[2] ? poll :
	    (int8_t)req[2]);
	return (ntp_encode(&p, out, cap));
}

size_t
nt_server_kod(const struct nt_server_state *st, const uint8_t *req,
    size_t len, uint32_t code, int poll, nt_time rx, nt_time tx,
    uint8_t *out, size_t cap)
{
	assert(cap >= NTP_HDR_LEN);
	if (check_request(req, len) != NT_SRV_REPLY)
		return (0);
	return (build_kod(st, req, code, poll, rx, tx, out, cap));
}

/*
 * A request with extension fields, when NTS is on.  The Authenticator
 * covers the transmit time, so it is stamped here (tx 0: rx), not later.
 */
static size_t
nts_answer(struct nt_server *s, const struct nt_server_state *st,
    const uint8_t *req, size_t len, nt_time rx, nt_time tx, uint8_t *out,
    size_t cap, enum nt_server_verdict *why)
{
	uint8_t hdr[NTP_HDR_LEN], kod[NTP_HDR_LEN];
	size_t n;

	if (tx == 0)
		tx = rx;
	build_reply(st, req, rx, tx, hdr, sizeof hdr);
	build_kod(st, req, NTP_CODE("NTSN"), s->kod_poll, rx, tx, kod,
	    sizeof kod);
	switch (nts_server_answer(s->nts, req, len, hdr, kod, out, cap, &n)) {
	case NTS_SRV_OK:
		*why = NT_SRV_NTS_REPLY;
		return (n);
	case NTS_SRV_NAK:
		*why = NT_SRV_NTS_NAK;
		return (n);
	case NTS_SRV_DROP:
		break;
	}
	*why = NT_SRV_DROP_EXT;
	return (0);
}

void
nt_server_set_tx(uint8_t *reply, nt_time tx)
{
	nt_server_put64(reply + 40, wire_tx(nt_server_get64(reply + 32), tx));
}

const char *
nt_server_counters_str(const struct nt_server_counters *c, char *buf,
    size_t len)
{
	size_t off;

	off = (size_t)snprintf(buf, len, "received %llu",
	    (unsigned long long)c->received);
	for (int i = 0; i < NT_SRV_N_VERDICTS && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, ", %s %llu",
		    verdict_names[i], (unsigned long long)c->n[i]);
	if (off < len)
		snprintf(buf + off, len - off, ", send errors %llu, "
		    "no kernel rx stamp %llu, nts-ke served %llu failed %llu, "
		    "interleaved %llu",
		    (unsigned long long)c->send_errors,
		    (unsigned long long)c->no_rx_stamp,
		    (unsigned long long)c->nts_ke_served,
		    (unsigned long long)c->nts_ke_failed,
		    (unsigned long long)c->interleaved);
	return (buf);
}

int
nt_server_init(struct nt_server *s, const struct nt_server_params *p,
    const uint8_t *key)
{
	int r;

	assert(p->acl != NULL);
	memset(s, 0, sizeof *s);
	s->acl = p->acl;
	s->deny_kod = p->deny_kod;
	s->kod_poll = nt_ratelimit_poll(&p->rl);
	assert(p->nts == NULL || p->rand != NULL);
	if (p->nts != NULL &&
	    (s->nts = nts_server_worker_new(p->nts, p->rand)) == NULL)
		return (-ENOMEM);
	if ((r = nt_ratelimit_init(&s->rl, &p->rl, key)) != 0) {
		nts_server_worker_free(s->nts);
		s->nts = NULL;
	}
	return (r);
}

void
nt_server_free(struct nt_server *s)
{
	nt_ratelimit_free(&s->rl);
	nts_server_worker_free(s->nts);
	s->nts = NULL;
}

/* Access denied: a KoD DENY if configured and the request deserves it. */
static size_t
handle_denied(struct nt_server *s, const struct nt_server_state *st,
    const struct nt_ipaddr *from, const uint8_t *req, size_t len, nt_time rx,
    nt_time tx, uint8_t *out, size_t cap, enum nt_server_verdict *why)
{
	size_t n;

	*why = NT_SRV_DROP_DENIED;
	if (!s->deny_kod || check_request(req, len) != NT_SRV_REPLY ||
	    !nt_ratelimit_kod_ok(&s->rl, from, rx))
		return (0);
	n = nt_server_kod(st, req, len, NTP_CODE("DENY"), s->kod_poll, rx,
	    tx, out, cap);
	*why = NT_SRV_KOD_DENY;
	return (n);
}

/* Allowed: a valid request is answered unless its client is limited. */
static size_t
handle_allowed(struct nt_server *s, const struct nt_server_state *st,
    const struct nt_ipaddr *from, const uint8_t *req, size_t len, nt_time rx,
    nt_time tx, uint8_t *out, size_t cap, enum nt_server_verdict *why)
{
	bool nts;

	*why = check_request(req, len);
	nts = *why == NT_SRV_DROP_EXT && s->nts != NULL;
	if (*why != NT_SRV_REPLY && !nts)
		return (0);
	switch (nt_ratelimit_check(&s->rl, from, rx)) {
	case NT_RL_PASS:
		if (nts)
			return (nts_answer(s, st, req, len, rx, tx, out, cap,
			    why));
		return (nt_server_reply(st, req, len, rx, tx, out, cap, why));
	case NT_RL_KOD:
		*why = NT_SRV_KOD_RATE;
		return (build_kod(st, req, NTP_CODE("RATE"), s->kod_poll, rx,
		    tx, out, cap));
	case NT_RL_DROP:
		break;
	}
	*why = NT_SRV_DROP_RATE;
	return (0);
}

size_t
nt_server_handle(struct nt_server *s, const struct nt_server_state *st,
    const struct nt_ipaddr *from, const uint8_t *req, size_t len, nt_time rx,
    nt_time tx, uint8_t *out, size_t cap, enum nt_server_verdict *why)
{
	size_t n;

	s->cnt.received++;
	if (nt_acl_allowed(s->acl, from))
		n = handle_allowed(s, st, from, req, len, rx, tx, out, cap,
		    why);
	else
		n = handle_denied(s, st, from, req, len, rx, tx, out, cap,
		    why);
	assert((n > 0) == nt_server_verdict_sends(*why));
	s->cnt.n[*why]++;
	return (n);
}

int
nt_server_precision(struct nt_clock *clk)
{
	nt_time prev = nt_clock_now(clk), t, best = NT_SEC;
	int p = -30;

	for (int i = 0; i < 1000; i++) {
		t = nt_clock_now(clk);
		if (t > prev && t - prev < best)
			best = t - prev;
		prev = t;
	}
	while (p < 0 && ldexp(1.0, p) < (double)best * 1e-9)
		p++;
	return (p);
}
