/*
 * The server side of NTP: what to answer to a datagram, as plain
 * functions of bytes, addresses and timestamps.  No sockets, no clock
 * reads, no threads: lib/uvserver.c moves the bytes, and the unit tests
 * and the simulator call the same functions.
 *
 *   nt_server_state_make()  what we advertise (stratum, refid, leap, root
 *                           delay and dispersion, reference time), from
 *                           the engine's system variables, as a snapshot
 *   nt_server_reply()       a client request -> a mode 4 reply, or why not
 *   nt_server_handle()      the same behind access control and rate
 *                           limiting, with counters: one call per datagram
 *
 * Plain replies are NTP_HDR_LEN bytes, NTS replies (params.nts) carry
 * cookies; neither is ever longer than the request, so the server cannot
 * be used to amplify a spoofed flood.
 */
#ifndef NTIMED_SERVER_H
#define NTIMED_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acl.h"
#include "clock.h"
#include "engine.h"
#include "ratelimit.h"
#include "timeutil.h"

struct nts_server;
struct nts_server_worker;

#define NT_SERVER_MIN_POLL	(-6)	/* poll echoed in replies, clamped */
#define NT_SERVER_MAX_POLL	17
#define NT_SERVER_MAX_DISP	16.0	/* s, RFC 5905 MAXDISP */
#define NT_SERVER_LOCAL_REFID	0x7f7f0101u	/* 127.127.1.1, as chrony */

/* Why a datagram got the answer it got; also the counter index. */
enum nt_server_verdict {
	NT_SRV_REPLY = 0,	/* a normal mode 4 reply */
	NT_SRV_KOD_RATE,	/* rate limited, told so */
	NT_SRV_KOD_DENY,	/* access denied, told so */
	NT_SRV_DROP_MALFORMED,	/* short, bad version, bad extension fields */
	NT_SRV_DROP_MODE,	/* not a client request (modes 6 and 7 too) */
	NT_SRV_DROP_EXT,	/* extension fields or a MAC we do not serve */
	NT_SRV_DROP_DENIED,	/* access denied, no answer */
	NT_SRV_DROP_RATE,	/* rate limited, no answer */
	/* Last, so that log lines read before NTS keep their order. */
	NT_SRV_NTS_REPLY,	/* an NTS-authenticated reply, with cookies */
	NT_SRV_NTS_NAK,		/* NTS cookie or authenticator bad: NTSN kiss */
	NT_SRV_N_VERDICTS
};

const char *nt_server_verdict_str(enum nt_server_verdict v);
/* True when the verdict sends a datagram. */
static inline bool
nt_server_verdict_sends(enum nt_server_verdict v)
{
	return (v <= NT_SRV_KOD_DENY || v == NT_SRV_NTS_REPLY ||
	    v == NT_SRV_NTS_NAK);
}

/*
 * What we advertise, fixed between clock updates.  Workers copy it once
 * per batch of datagrams; only root dispersion is computed per reply.
 */
struct nt_server_state {
	uint8_t		leap;		/* enum ntp_leap */
	uint8_t		stratum;	/* 1..15, or 16 unsynchronized */
	int8_t		precision;	/* log2 s */
	bool		disp_grows;	/* add NT_PHI per s since ref_time */
	uint32_t	refid;		/* host order */
	uint32_t	root_delay;	/* NTP short format */
	double		root_disp;	/* s, at ref_time */
	nt_time		ref_time;	/* 0: never synchronized */
	uint64_t	ref_ntp;	/* ref_time on the wire */
};

/*
 * From the engine's system variables at now.  local_stratum 1..15 serves
 * that stratum (leap 0, refid 127.127.1.1, root delay and dispersion 0,
 * reference time now) while not synchronized; 0 = off: then an
 * unsynchronized server answers leap 3 (alarm), stratum 16, refid INIT,
 * root dispersion 16 s, which every client ignores.  Synchronized at
 * stratum 16 (to a stratum 15 upstream) counts as not synchronized.
 */
void nt_server_state_make(struct nt_server_state *st,
    const struct nt_sysinfo *si, int precision, int local_stratum,
    nt_time now);

/*
 * Answer a request received at rx (our clock), transmitting at tx (0:
 * the caller stamps it later with nt_server_set_tx).  Returns the reply
 * length (NTP_HDR_LEN) or 0 when there is no answer; why says which.
 * Never writes more than NTP_HDR_LEN bytes; cap must be at least that.
 * (NTS requests are nt_server_handle's: they need the keys.)
 */
size_t nt_server_reply(const struct nt_server_state *st, const uint8_t *req,
    size_t len, nt_time rx, nt_time tx, uint8_t *out, size_t cap,
    enum nt_server_verdict *why);
/* A KoD (stratum 0, leap 3, refid code) for a valid request. */
size_t nt_server_kod(const struct nt_server_state *st, const uint8_t *req,
    size_t len, uint32_t code, int poll, nt_time rx, nt_time tx,
    uint8_t *out, size_t cap);
/*
 * Write the transmit timestamp of a reply built with tx == 0: after its
 * receive timestamp on the wire even if our clock stepped back since.
 * (Receive stamps sent have their lowest bit set, transmit stamps clear:
 * xleave.h says why.)
 */
void nt_server_set_tx(uint8_t *reply, nt_time tx);

/* A 64-bit big-endian field of a datagram (a timestamp on the wire). */
uint64_t nt_server_get64(const uint8_t *p);
void nt_server_put64(uint8_t *p, uint64_t v);

/* Datagrams by verdict, plus what the socket layer saw. */
struct nt_server_counters {
	uint64_t	received;
	uint64_t	n[NT_SRV_N_VERDICTS];
	uint64_t	send_errors;
	uint64_t	no_rx_stamp;	/* receive time read after the fact */
	uint64_t	nts_ke_served;	/* NTS-KE sessions that gave cookies */
	uint64_t	nts_ke_failed;	/* refused, cut short or timed out */
	uint64_t	interleaved;	/* replies in interleaved mode */
};

/* "received 10 replied 8 kod-rate 1 ... ": one log line. */
const char *nt_server_counters_str(const struct nt_server_counters *c,
    char *buf, size_t len);

/* What one server thread needs: the rules and its own rate table. */
struct nt_server_params {
	const struct nt_acl *acl;		/* shared, read-only */
	bool		deny_kod;		/* KoD DENY rather than silence */
	struct nt_ratelimit_params rl;
	struct nts_server *nts;			/* shared; NULL: no NTS */
	void		(*rand)(uint8_t *, size_t);	/* with nts */
};

struct nt_server {
	const struct nt_acl *acl;
	bool		deny_kod;
	int		kod_poll;
	struct nt_ratelimit rl;
	struct nts_server_worker *nts;	/* this thread's; NULL: no NTS */
	struct nt_server_counters cnt;
};

/* key: 16 random bytes for the rate table's hash (NULL in tests). */
int nt_server_init(struct nt_server *s, const struct nt_server_params *p,
    const uint8_t *key);
void nt_server_free(struct nt_server *s);

/*
 * One datagram from `from`: access control, request checks, rate limit,
 * reply.  Counts it.  Returns the reply length or 0 (drop).  With NTS,
 * cap should be NTP_MAX_PKT, and a reply with extension fields is
 * stamped with tx (0: rx) before it is sealed: nt_server_set_tx must not
 * touch it (verdicts NT_SRV_NTS_*).
 */
size_t nt_server_handle(struct nt_server *s, const struct nt_server_state *st,
    const struct nt_ipaddr *from, const uint8_t *req, size_t len, nt_time rx,
    nt_time tx, uint8_t *out, size_t cap, enum nt_server_verdict *why);

/*
 * Our precision, log2 s, as ntpd measures it: the smallest step between
 * two successive readings of clk that differ, rounded up to a power of 2
 * (at least 2^-30).  Reads the clock about a thousand times.
 */
int nt_server_precision(struct nt_clock *clk);

#endif
