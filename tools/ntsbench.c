/*
 * ntsbench: what an NTS request costs the server itself, without the
 * kernel.  One thread feeds the same authenticated request (a client's
 * steady state: one cookie, no placeholders, or -p placeholders) to
 * nt_server_handle, the function the server's workers call, and reports
 * CPU time (CLOCK_THREAD_CPUTIME_ID) per request, so a loaded machine
 * slows it down but does not change its figure much.  The last reply is
 * checked the way a client checks it.  tools/bench-server.sh measures
 * the whole path, loopback included.
 *
 *   ntsbench [-n REQUESTS] [-p PLACEHOLDERS]
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acl.h"
#include "ntp_pkt.h"
#include "nts.h"
#include "nts_server.h"
#include "server.h"

static double
cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return ((double)t.tv_sec + (double)t.tv_nsec * 1e-9);
}

static void
random_bytes(uint8_t *buf, size_t len)
{
	arc4random_buf(buf, len);	/* as cmd/serve.c does */
}

/* A client's request spending one of s's cookies, with ph placeholders. */
static size_t
make_request(struct nts_server *s, struct nts_client *c, int ph,
    uint8_t *req, size_t cap)
{
	static const uint8_t hdr[48] = { 0x23 }, uid[NTS_UID_LEN] = { 'u' };
	static const uint8_t c2s[32] = { 1 }, s2c[32] = { 2 }, nonce[16];
	struct nts_ke_reply ke;

	memset(&ke, 0, sizeof ke);
	ke.n_cookies = NTS_COOKIE_MAX - ph;
	for (int i = 0; i < ke.n_cookies; i++)
		if (nts_server_cookie(s, c2s, s2c, nonce, &ke.cookies[i]) != 0)
			return (0);
	if (nts_client_init(c, c2s, s2c, &ke) != 0)
		return (0);
	return (nts_client_request(c, hdr, uid, nonce, req, cap));
}

int
main(int argc, char **argv)
{
	struct nt_server_state st = { .stratum = 2, .precision = -20 };
	struct nt_server_params sp = { .rl = { .interval = 0, .burst = 1,
	    .entries = 1024 }, .rand = random_bytes };
	uint8_t req[NTP_MAX_PKT], out[NTP_MAX_PKT], key[NTS_SKEY_RAND];
	enum nt_server_verdict why = NT_SRV_DROP_EXT;
	struct nts_server keys;
	struct nts_client c;
	struct nt_server srv;
	struct nt_ipaddr from;
	struct nt_acl acl;
	long n_req = 200000, ph = 0;
	size_t n, len = 0;
	char err[160];
	double t0, t;
	int ch;

	while ((ch = getopt(argc, argv, "n:p:")) != -1) {
		char *end;
		long v = strtol(optarg, &end, 10);

		if (*optarg != '\0' && *end == '\0' && ((ch == 'n' &&
		    (n_req = v) > 0) || (ch == 'p' && (ph = v) >= 0 &&
		    ph < NTS_COOKIE_MAX)))
			continue;
		fprintf(stderr, "usage: ntsbench [-n REQUESTS] [-p 0-7]\n");
		return (2);
	}
	arc4random_buf(key, sizeof key);
	if (nt_acl_init(&acl, NULL, 0, NULL, 0, err, sizeof err) != 0 ||
	    nt_ipaddr_parse(&from, "127.0.0.1") != 0 ||
	    nts_server_init(&keys, 3600) != 0 ||
	    nts_server_new_key(&keys, key, time(NULL)) != 0)
		return (3);
	sp.acl = &acl;
	sp.nts = &keys;
	if (nt_server_init(&srv, &sp, NULL) != 0 ||
	    (n = make_request(&keys, &c, (int)ph, req, sizeof req)) == 0)
		return (3);
	t0 = cpu_now();
	for (long i = 0; i < n_req; i++)
		len = nt_server_handle(&srv, &st, &from, req, n,
		    (nt_time)5 << 32, (nt_time)6 << 32, out, sizeof out, &why);
	t = cpu_now() - t0;
	if (why != NT_SRV_NTS_REPLY || nts_client_reply(&c, out, len) !=
	    NTS_OK) {
		fprintf(stderr, "ntsbench: the reply does not authenticate\n");
		return (1);
	}
	printf("ntsbench: %.2f us CPU per NTS request (%zu bytes, %ld "
	    "placeholder(s), reply %zu bytes), %ld requests\n",
	    t / (double)n_req * 1e6, n, ph, len, n_req);
	nts_client_free(&c);
	nt_server_free(&srv);
	nts_server_free(&keys);
	nt_acl_free(&acl);
	return (0);
}
