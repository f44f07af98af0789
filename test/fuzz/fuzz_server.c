/*
 * Fuzz target: the server's request handling (nt_server_handle), the code
 * that answers datagrams from anyone on the Internet.  Each input sets up
 * what the server advertises, then sends a script of datagrams from a few
 * client addresses (allowed, denied, outside the allow list, loopback)
 * through access control, rate limiting and the reply builder.
 *
 * Properties: an answer is one 48-byte header, never longer than the
 * request (no amplification), and only for a valid client request; every
 * datagram is counted once; a reply decodes (the round trip), echoes the
 * request's transmit timestamp and version, carries our receive and
 * transmit times, and passes a client's checks -- as a usable sample when
 * we are synchronized, or a KoD the client believes.  When the flags ask
 * for it, the request comes from a real client source instead and its
 * sample must measure the clock offset the script set, to the microsecond.
 *
 * Layout, big-endian, zeros past the end of the input:
 *   start_s:4 flags:1 stratum:1 leap:1 root_delay_ms:1 root_disp_ms:2
 *   precision:1, then per datagram
 *   from:1 gap_ms:2 mode:1 [mode & 1: offset_ms:4 delay_us:3 proc_us:2 |
 *   else len:2 datagram:len]
 */
#include <math.h>
#include <string.h>

#include "acl.h"
#include "fuzz.h"
#include "ntp_pkt.h"
#include "server.h"
#include "source.h"

#define MAX_DATAGRAMS 64

static const char *const from_addrs[] = {
	"192.0.2.1", "192.0.2.200", "198.51.100.7", "127.0.0.1", "::1",
	"2001:db8::1", "2001:db8:ffff::1",
};
static char *allow[] = { "192.0.2.0/24", "2001:db8::/32", "127.0.0.0/8" };
static char *deny[] = { "192.0.2.128/25", "2001:db8:ffff::/48" };

static struct nt_acl acl;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[128];

	(void)argc;
	(void)argv;
	FZ_CHECK(nt_acl_init(&acl, allow, 3, deny, 2, err, sizeof err) == 0);
	return (0);
}

static void
setup(struct fz_in *in, struct nt_server *srv, struct nt_server_state *st,
    nt_time now)
{
	struct nt_server_params sp;
	struct nt_sysinfo si;
	unsigned flags = (unsigned)fz_take(in, 1);

	memset(&si, 0, sizeof si);
	si.synced = flags & 1;
	si.stratum = 1 + (int)(fz_take(in, 1) % 15);
	si.leap = (int)(fz_take(in, 1) % 4);
	si.refid = 0xc0000201;
	si.ref_time = now - (nt_time)(flags >> 4) * 64 * NT_SEC;
	si.root_delay = (double)fz_take(in, 1) * 1e-3;
	si.root_disp = (double)fz_take(in, 2) * 1e-3;
	nt_server_state_make(st, &si, (int8_t)fz_take(in, 1),
	    (flags & 2) ? 8 : 0, now);
	memset(&sp, 0, sizeof sp);
	sp.acl = &acl;
	sp.deny_kod = flags & 4;
	sp.rl.interval = (flags & 8) ? 2.0 : 0.0;
	sp.rl.burst = 4;
	sp.rl.kod = flags & 4;
	sp.rl.loopback = true;
	sp.rl.entries = 64;
	FZ_CHECK(nt_server_init(srv, &sp, NULL) == 0);
}

/* What any answer must look like, whatever the request was. */
static void
check_answer(const struct nt_server_state *st, const uint8_t *req,
    size_t len, const uint8_t *out, size_t n, nt_time rx, nt_time tx,
    enum nt_server_verdict why)
{
	struct ntp_pkt r;

	FZ_CHECK(n == NTP_HDR_LEN && n <= len);
	FZ_CHECK(ntp_decode(out, n, &r) == NTP_DECODE_OK);
	FZ_CHECK(memcmp(out + 24, req + 40, 8) == 0);	/* origin echoed */
	FZ_CHECK(r.version == ((req[0] >> 3) & 7) && r.mode == NTP_MODE_SERVER);
	/*
	 * Receive stamps are odd, transmit stamps even (xleave.h), and a
	 * transmit stamp not after the receive stamp is moved just after it.
	 */
	FZ_CHECK(r.rec == (nt_to_ntp64(rx) | 1));
	FZ_CHECK(r.xmt == (tx > rx ? nt_to_ntp64(tx) & ~(uint64_t)1 :
	    r.rec + 1));
	FZ_CHECK(r.poll >= NT_SERVER_MIN_POLL && r.poll <= NT_SERVER_MAX_POLL);
	if (r.xmt == 0)
		return;		/* sent at the very second an NTP era began */
	if (why == NT_SRV_REPLY) {
		FZ_CHECK(r.stratum == st->stratum && r.leap == st->leap);
		FZ_CHECK(r.refid == st->refid);
		FZ_CHECK(ntp_check_reply(&r, r.org, INFINITY) ==
		    (st->leap == NTP_LEAP_UNSYNC || st->stratum >= 16 ?
		    NTP_REPLY_UNSYNC : NTP_REPLY_OK));
	} else {
		FZ_CHECK(r.stratum == 0 && r.leap == NTP_LEAP_UNSYNC);
		FZ_CHECK(ntp_check_reply(&r, r.org, INFINITY) ==
		    (why == NT_SRV_KOD_RATE ? NTP_REPLY_KOD_RATE :
		    NTP_REPLY_KOD_DENY));
	}
}

/*
 * A real client's request, answered when our clock is offset seconds
 * ahead of the client's and the path takes delay each way: the sample
 * must say offset and 2 * delay.
 */
static void
client_exchange(struct fz_in *in, struct nt_server *srv,
    const struct nt_server_state *st, const struct nt_ipaddr *ip,
    struct nt_source *cl, nt_time *now)
{
	uint8_t req[NTP_HDR_LEN], out[NTP_MAX_PKT];
	double offset = (double)(int32_t)fz_take(in, 4) * 1e-3;
	double delay = (double)fz_take(in, 3) * 1e-6;
	double proc = (double)fz_take(in, 2) * 1e-6;
	enum nt_server_verdict why;
	struct nt_sample smp;
	nt_time t1, rx, tx;
	bool malformed;
	size_t n;

	if (*now < cl->next_poll)
		*now = cl->next_poll;
	t1 = *now;
	if (nt_source_request(cl, t1, (uint64_t)t1 * 2654435761u | 1, req,
	    sizeof req) == 0)
		return;			/* a KoD DENY stopped it */
	rx = nt_add(t1, offset + delay);
	tx = nt_add(rx, proc);
	n = nt_server_handle(srv, st, ip, req, sizeof req, rx, tx, out,
	    sizeof out, &why);
	if (n == 0)
		return;
	check_answer(st, req, sizeof req, out, n, rx, tx, why);
	if (nt_source_reply(cl, out, n, nt_add(t1, 2 * delay + proc), 16.0,
	    0, &smp, &malformed) != NTP_REPLY_OK)
		return;
	FZ_CHECK(why == NT_SRV_REPLY);
	FZ_CHECK(fabs(smp.offset - offset) < 1e-6);
	FZ_CHECK(fabs(smp.delay - 2 * delay) < 1e-6);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct nt_server_state st;
	struct nt_server_conf sc;
	struct nt_server srv;
	struct nt_source cl;
	struct nt_ipaddr ip;
	uint8_t out[NTP_MAX_PKT];
	const uint8_t *req;
	enum nt_server_verdict why;
	uint64_t before;
	nt_time now, tx;
	size_t len, n;
	int mode;

	now = (nt_time)(fz_take(&in, 4) + 1) * NT_SEC;
	setup(&in, &srv, &st, now);
	nt_server_conf_init(&sc);
	nt_source_init(&cl, &sc, "client", 0, now);
	for (int i = 0; i < MAX_DATAGRAMS && in.n > 0; i++) {
		FZ_CHECK(nt_ipaddr_parse(&ip, from_addrs[fz_take(&in, 1) %
		    (sizeof from_addrs / sizeof from_addrs[0])]) == 0);
		now += (nt_time)fz_take(&in, 2) * NT_MSEC;
		mode = (int)fz_take(&in, 1);
		before = srv.cnt.received;
		if (mode & 1) {
			client_exchange(&in, &srv, &st, &ip, &cl, &now);
			continue;
		}
		len = fz_bytes(&in, (size_t)fz_take(&in, 2), &req);
		tx = (mode & 2) ? 0 : now + 20 * NT_USEC;
		n = nt_server_handle(&srv, &st, &ip, req, len, now, tx, out,
		    sizeof out, &why);
		FZ_CHECK(why >= 0 && why < NT_SRV_N_VERDICTS);
		FZ_CHECK(srv.cnt.received == before + 1);
		FZ_CHECK((n > 0) == nt_server_verdict_sends(why));
		if (n == 0)
			continue;
		if (tx == 0) {
			tx = now + 20 * NT_USEC;
			nt_server_set_tx(out, tx);
		}
		check_answer(&st, req, len, out, n, now, tx, why);
	}
	nt_server_free(&srv);
	return (0);
}
