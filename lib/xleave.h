/*
 * The server side of NTP interleaved client/server mode (RFC 9769),
 * sans-I/O: which requests are interleaved, which timestamps their
 * replies carry, and the state that takes, as plain functions of bytes
 * and addresses.  lib/uvserver.c asks the kernel for the transmit stamps
 * and feeds them back here.
 *
 * A basic reply's transmit timestamp is read before the reply is sent, so
 * it is early by the system call.  A client in interleaved mode sends, as
 * the origin of its next request, the receive timestamp of our previous
 * reply; we recognise that and answer with the kernel's transmit stamp of
 * that previous reply, origin = the request's receive field, receive =
 * this request's receive time.  When we do not know that stamp (first
 * contact, an evicted entry, a stamp the kernel did not give) the answer
 * is a basic one, which is always correct.
 *
 * Cheap for everybody else: every receive timestamp we send has its
 * lowest bit (2^-32 s) set and every transmit timestamp its lowest bit
 * clear (nt_server_set_tx), as chronyd does.  A request whose origin is
 * zero or even (a basic client echoes our transmit time, or sends zero)
 * touches no state and asks for no kernel stamp; only a request whose
 * origin looks like one of our receive times (a client asking for
 * interleaved mode) does.  Such a client gets a basic reply whose send
 * is stamped by the kernel, and from its next request on, interleaved
 * replies: the third reply is the first interleaved one, as with chronyd.
 *
 * Memory is fixed when the table is made, whatever the number of source
 * addresses: a set-associative table like lib/ratelimit.c's, keyed by a
 * random universal hash, a new address taking the least recently used
 * entry of its set.  An evicted client just gets a basic reply.
 * Not thread-safe: the caller locks (one table serves every worker,
 * since a client that changes its source port for every request, as
 * chronyd does, lands on a different worker each time).
 */
#ifndef NTIMED_XLEAVE_H
#define NTIMED_XLEAVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acl.h"

#define NT_XLEAVE_WAYS		4	/* entries per set */
#define NT_XLEAVE_ENTRIES	4096	/* the server's table */
#define NT_XLEAVE_PENDING	64	/* stamped replies awaiting a stamp */

/* What nt_xleave_answer did to a basic reply. */
enum nt_xleave_kind {
	NT_XL_BASIC = 0,	/* untouched; no kernel stamp wanted */
	NT_XL_STAMP,		/* untouched; stamp its send (nt_xleave_sent) */
	NT_XL_INTERLEAVED,	/* rewritten: do not stamp it; stamp its send */
};

struct nt_xl_entry {
	struct nt_ipaddr addr;
	uint64_t	rx;	/* receive stamp of its last request; 0 free */
	uint64_t	tx;	/* kernel stamp of the reply to it; 0 unknown */
	uint64_t	used;	/* tick of the last request, for eviction */
};

struct nt_xleave {
	struct nt_xl_entry *tab;	/* NULL until first used */
	uint32_t	mask;		/* sets - 1 */
	uint64_t	k[3];		/* hash key */
	uint64_t	tick;
	uint64_t	evictions;
};

/*
 * A table of about `entries` (rounded down to a power of 2, at least
 * NT_XLEAVE_WAYS), allocated when the first client needs it (until then,
 * and if that fails, replies are basic).  key: 24 random bytes, NULL in
 * tests.
 */
void nt_xleave_init(struct nt_xleave *x, uint32_t entries,
    const uint8_t *key);
void nt_xleave_free(struct nt_xleave *x);

/* Does this request (len bytes) ask for interleaved mode?  No state. */
bool nt_xleave_wanted(const uint8_t *req, size_t len);

/*
 * reply: the basic NTP_HDR_LEN-byte reply just built for req (a request
 * nt_xleave_wanted) from ip.  Makes it interleaved if the request's
 * origin is the receive stamp of our previous reply to ip and we know
 * when that left; remembers this reply's receive stamp either way.
 */
enum nt_xleave_kind nt_xleave_answer(struct nt_xleave *x,
    const struct nt_ipaddr *ip, const uint8_t *req, uint8_t *reply);

/*
 * The reply to ip carrying receive stamp rx left at tx (NTP format, our
 * clock).  False when ip's entry has moved on (a newer request, evicted).
 */
bool nt_xleave_sent(struct nt_xleave *x, const struct nt_ipaddr *ip,
    uint64_t rx, uint64_t tx);

/*
 * Replies whose kernel stamps are due, to match the stamps (which come
 * back with a copy of the datagram) to their clients.  Old ones are
 * overwritten: a stamp that never came costs nothing.
 */
struct nt_xleave_pending {
	struct {
		struct nt_ipaddr addr;
		uint64_t	org, rx;	/* 0: empty */
	}		e[NT_XLEAVE_PENDING];
	unsigned	next;
};

void nt_xleave_pending_add(struct nt_xleave_pending *p,
    const struct nt_ipaddr *ip, const uint8_t *reply);
/*
 * pkt: the looped-back datagram (link, network and transport headers
 * first, the NTP reply last).  True with ip and rx when it is a pending
 * reply, which is then forgotten.
 */
bool nt_xleave_pending_take(struct nt_xleave_pending *p, const uint8_t *pkt,
    size_t len, struct nt_ipaddr *ip, uint64_t *rx);

#endif
