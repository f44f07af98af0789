/*
 * Interleaved mode state for the server (see xleave.h for the protocol).
 *
 * Why a keyed hash: the addresses that land in a set are otherwise the
 * sender's choice, and a flood of spoofed interleaved-looking requests
 * aimed at one set would push the real clients out of it.  The hash is
 * multilinear over the address's two 64-bit halves with a random key
 * (universal: without the key, colliding addresses cannot be picked),
 * which is all a table needs; it is not a MAC.  Losing an entry only
 * costs its client one basic reply.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ntp_pkt.h"
#include "server.h"
#include "xleave.h"

#define OFF_ORG	24	/* origin timestamp in an NTP header */
#define OFF_RX	32	/* receive timestamp */
#define OFF_TX	40	/* transmit timestamp */

void
nt_xleave_init(struct nt_xleave *x, uint32_t entries, const uint8_t *key)
{
	uint32_t n = NT_XLEAVE_WAYS;

	memset(x, 0, sizeof *x);
	while (n * 2 <= entries && n < (1u << 24))
		n *= 2;
	x->mask = n / NT_XLEAVE_WAYS - 1;
	/* Without a key (tests), fixed odd multipliers that still mix. */
	x->k[1] = UINT64_C(0x9e3779b97f4a7c15);
	x->k[2] = UINT64_C(0xc2b2ae3d27d4eb4f);
	if (key != NULL)
		for (int i = 0; i < 3; i++)
			x->k[i] = nt_server_get64(key + 8 * i) | (i > 0);
}

void
nt_xleave_free(struct nt_xleave *x)
{
	free(x->tab);
	x->tab = NULL;
}

/*
 * The first entry of ip's set.  The set comes from the top bits of the
 * sum (multiply-add-shift): the low bits of a product depend on the low
 * bits of the address only.
 */
static struct nt_xl_entry *
set_of(const struct nt_xleave *x, const struct nt_ipaddr *ip)
{
	uint64_t h = x->k[0] + nt_server_get64(ip->b) * x->k[1] +
	    nt_server_get64(ip->b + 8) * x->k[2];
	uint64_t set = (h >> 32) * ((uint64_t)x->mask + 1) >> 32;

	return (&x->tab[(size_t)set * NT_XLEAVE_WAYS]);
}

static struct nt_xl_entry *
find(const struct nt_xleave *x, const struct nt_ipaddr *ip)
{
	struct nt_xl_entry *e;

	if (x->tab == NULL)
		return (NULL);
	e = set_of(x, ip);
	for (int i = 0; i < NT_XLEAVE_WAYS; i++)
		if (e[i].rx != 0 && memcmp(e[i].addr.b, ip->b, 16) == 0)
			return (&e[i]);
	return (NULL);
}

/* ip's entry, or the least recently used of its set, made ip's. */
static struct nt_xl_entry *
find_or_take(struct nt_xleave *x, const struct nt_ipaddr *ip)
{
	struct nt_xl_entry *e = find(x, ip), *victim;

	if (e != NULL)
		return (e);
	/* Made at first use: a server without such clients pays nothing. */
	if (x->tab == NULL &&
	    (x->tab = calloc((size_t)x->mask + 1, NT_XLEAVE_WAYS *
	    sizeof *x->tab)) == NULL)
		return (NULL);
	victim = e = set_of(x, ip);
	for (int i = 1; i < NT_XLEAVE_WAYS; i++)
		if (e[i].used < victim->used)
			victim = &e[i];
	if (victim->rx != 0)
		x->evictions++;
	memset(victim, 0, sizeof *victim);
	victim->addr = *ip;
	return (victim);
}

bool
nt_xleave_wanted(const uint8_t *req, size_t len)
{
	/* Plain requests only: NTS replies are sealed before they leave. */
	return (len == NTP_HDR_LEN && (req[OFF_ORG + 7] & 1) != 0);
}

enum nt_xleave_kind
nt_xleave_answer(struct nt_xleave *x, const struct nt_ipaddr *ip,
    const uint8_t *req, uint8_t *reply)
{
	struct nt_xl_entry *e = find_or_take(x, ip);
	enum nt_xleave_kind kind = NT_XL_STAMP;
	uint64_t rx = nt_server_get64(reply + OFF_RX);

	assert(nt_xleave_wanted(req, NTP_HDR_LEN));
	assert((rx & 1) != 0);	/* nt_server_reply marks receive stamps */
	if (e == NULL)
		return (NT_XL_BASIC);	/* out of memory: basic replies */
	if (e->rx == nt_server_get64(req + OFF_ORG) && e->tx != 0) {
		/*
		 * RFC 9769: the origin is the request's receive field (the
		 * client's arrival time of our previous reply), which tells
		 * the client that this reply is interleaved.
		 */
		memcpy(reply + OFF_ORG, req + OFF_RX, 8);
		nt_server_put64(reply + OFF_TX, e->tx);
		kind = NT_XL_INTERLEAVED;
	}
	e->rx = rx;
	e->tx = 0;
	e->used = ++x->tick;
	return (kind);
}

bool
nt_xleave_sent(struct nt_xleave *x, const struct nt_ipaddr *ip, uint64_t rx,
    uint64_t tx)
{
	struct nt_xl_entry *e = find(x, ip);

	if (e == NULL || e->rx != rx || tx == 0)
		return (false);
	e->tx = tx & ~(uint64_t)1;	/* a transmit stamp: lowest bit 0 */
	return (true);
}

void
nt_xleave_pending_add(struct nt_xleave_pending *p, const struct nt_ipaddr *ip,
    const uint8_t *reply)
{
	unsigned i = p->next++ % NT_XLEAVE_PENDING;

	p->e[i].addr = *ip;
	p->e[i].org = nt_server_get64(reply + OFF_ORG);
	p->e[i].rx = nt_server_get64(reply + OFF_RX);
	assert(p->e[i].rx != 0);
}

bool
nt_xleave_pending_take(struct nt_xleave_pending *p, const uint8_t *pkt,
    size_t len, struct nt_ipaddr *ip, uint64_t *rx)
{
	const uint8_t *ntp;
	uint64_t org;

	if (len < NTP_HDR_LEN)
		return (false);
	ntp = pkt + len - NTP_HDR_LEN;
	org = nt_server_get64(ntp + OFF_ORG);
	*rx = nt_server_get64(ntp + OFF_RX);
	for (int i = 0; i < NT_XLEAVE_PENDING; i++) {
		if (p->e[i].rx == 0 || p->e[i].rx != *rx || p->e[i].org != org)
			continue;
		*ip = p->e[i].addr;
		p->e[i].rx = 0;
		return (true);
	}
	return (false);
}
