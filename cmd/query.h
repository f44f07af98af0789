/*
 * What cmd/query.c (plain NTP: requests, replies, the table and the
 * JSON) and cmd/query_nts.c (NTS: the key exchange, cookies, its
 * options) share for "ntimed query HOST": the state of a query and of
 * each host, and the few calls one makes into the other.  Nothing else
 * includes it.
 */
#ifndef NTIMED_QUERY_H
#define NTIMED_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "clock.h"
#include "conf.h"
#include "net.h"
#include "ntp_pkt.h"
#include "nts.h"
#include "nts_tls.h"
#include "resolve.h"
#include "timeutil.h"

struct query_opts {
	enum nt_family_filter family;
	int		count;
	double		timeout;	/* seconds per reply */
	double		interval;	/* seconds between requests */
	uint16_t	port;
	bool		port_set;	/* -p given */
	bool		json;
	bool		nts;		/* --nts: HOST is an NTS-KE server */
	const char	*nts_ca;	/* --nts-ca FILE, else the system's */
};

/* A host's NTS state: the key exchange, then the cookie jar. */
struct host_nts {
	uv_work_t	work;
	struct nts_ke_result *ke;	/* while the KE runs */
	struct nt_addr	ke_addr;
	char		ke_err[NT_ADDRSTRLEN + 300];
	bool		ke_done;
	struct nts_client client;
	bool		authenticated;	/* a sample came from an NTS reply */
};

struct sample {
	double	offset;
	double	delay;
	nt_time	t;			/* local receive time (T4) */
};

struct host {
	struct query	*q;
	const char	*arg;		/* as given on the command line */
	char		name[NT_HOSTLEN];
	uint16_t	port;
	struct nt_addr	addr;		/* len 0 until resolved */
	int		fd;		/* -1: no socket */
	uv_poll_t	poll;
	uv_timer_t	timer;
	int		sent;
	bool		waiting;	/* a request is outstanding */
	uint64_t	xmt;		/* its random transmit timestamp */
	nt_time		t1;		/* its real send time (T1) */
	uint64_t	sent_ms;	/* and the loop time then */
	struct sample	*samples;
	int		n_samples;
	struct ntp_pkt	hdr;		/* last valid reply */
	nt_time		hdr_pivot;	/* T1 of that reply */
	bool		have_hdr;
	const char	*soft_error;	/* ICMP error seen while waiting */
	const char	*ignored;	/* why the last reply was not taken */
	bool		started;	/* timer initialised */
	bool		done;
	char		error[NT_ADDRSTRLEN + 360];	/* "" while all is well */
	struct host_nts	nts;
};

struct query {
	uv_loop_t	*loop;
	struct query_opts opt;
	struct nt_clock	*clock;
	struct host	*hosts;
	int		n_hosts;
	struct nts_trust *trust;	/* --nts */
	bool		sys_error;	/* exit 3 */
};

/* ---- cmd/query.c, for the NTS part ---- */

/* The host is done and failed; the first reason given sticks. */
void query_host_fail(struct host *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The NTP server's addresses: open a socket to one and start asking. */
void query_start_ntp(struct host *h, const struct nt_addr *addrs, size_t n);
/* nt_resolve()'s callback for a host: the KE server, or the NTP server. */
void query_on_resolved(void *ctx, const struct nt_addr *addrs, size_t n,
    const char *err);

/* ---- cmd/query_nts.c ---- */

/* --nts, --nts-ca (ch 'N', 'C'); the checks once all are parsed. */
void query_nts_option(struct query_opts *o, int ch, const char *arg);
/* -1 to go on, or the usage error's exit code. */
int query_nts_check_options(struct query_opts *o);
/* --nts: the CA certificates, read once for every host.  0 or exit code. */
int query_nts_load_trust(struct query *q);
/* The key exchange with the KE server at addr, on the thread pool. */
void query_nts_start_ke(struct host *h, const struct nt_addr *addr);
/*
 * The request with NTS fields (a fresh unique identifier and nonce, the
 * oldest cookie, the authenticator) around the header hdr.  Returns the
 * length, 0 when the cookies ran out.
 */
size_t query_nts_request(struct host *h, const uint8_t *hdr, uint8_t *buf,
    size_t cap);
/* Whether a reply from addr authenticates (else it is not used). */
bool query_nts_accept(struct host *h, const uint8_t *buf, size_t len,
    const char *addr);
/* The cookies and keys of every host, and the trust store. */
void query_nts_free(struct query *q);

#endif
