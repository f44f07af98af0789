/*
 * ntpload: load an NTP server with client requests and say how it coped.
 *
 * A benchmark is only as honest as its load generator, so this one is
 * closed-loop and bounded: each of several sockets keeps at most a window
 * of requests outstanding, a request not answered within the timeout
 * counts as lost and frees its slot, and the run ends by itself after the
 * given time.  Every reply is checked the way a client would check it:
 * its origin timestamp must be the transmit timestamp of a request still
 * outstanding on that socket (a per-run random key and a sequence number
 * are packed into it), its mode must be 4.  It reports replies per
 * second, loss, latency percentiles (1 us buckets, from the batch's send
 * time to the batch's receive time, both CLOCK_MONOTONIC), and the
 * invalid replies.  Counting starts after a warm-up.  It spins on its
 * sockets (poll with no timeout) so that its own wake-ups cost nothing:
 * give it a CPU of its own, or -b when it shares the server's.
 *
 *   ntpload [-c SOCKETS] [-w WINDOW] [-d SECONDS] [-j THREADS] [-b]
 *           [--json] [--nts [--nts-ca FILE] [--nts-name NAME]
 *           [--nts-port PORT] [--nts-verify N]] HOST:PORT
 *
 * Standalone on purpose (libc and pthreads only): it measures servers,
 * ours or others, and must not share code paths with what it measures.
 * Only --nts (ntpload_nts.c) needs more: one NTS-KE, then every request
 * carries a cookie and an Authenticator, a NAK or a reply that does not
 * authenticate is an error and not a reply, and every Nth reply's
 * Authenticator is verified (N 1, the default: all of them).  It uses
 * the client half of ntimed's NTS code and GnuTLS, not the server's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ntpload_nts.h"

#define HDR		48
#define BATCH		64
#define HIST_US		100000		/* 1 us buckets up to 100 ms */
#define MAX_SOCKS	1024
#define MAX_WINDOW	4096
#define MAX_THREADS	64
#define SEQ_BITS	40

struct opts {
	struct sockaddr_storage to;
	socklen_t	tolen;
	const char	*target;
	int		socks;		/* per thread */
	int		window;
	double		duration;	/* s, measured */
	double		warmup;		/* s, before it */
	double		timeout;	/* s */
	int		threads;
	bool		json;
	bool		block;		/* sleep in poll(), do not spin */
	bool		responder;	/* be the minimal server instead */
	bool		nts;
	const char	*nts_ca, *nts_name;	/* NULL: system, target */
	int		nts_port;	/* of the KE server */
	int		nts_verify;	/* verify every Nth reply */
	struct ntsload	ke;		/* with nts, after the KE */
};

struct stats {
	uint64_t	sent, replies, lost, late, bad_origin, bad_mode;
	uint64_t	short_len, kod;
	uint64_t	nak, bad_auth, verified;	/* with --nts */
	uint64_t	hist[HIST_US + 1];	/* last: overflow */
	uint64_t	max_ns;
};

struct slot {
	uint64_t	seq;
	int64_t		sent_ns;
	bool		busy;
};

struct lsock {
	int		fd;
	int		idx;		/* in the thread, for the key */
	uint64_t	next_seq;
	int		outstanding;
	struct slot	*slots;
};

struct loader {
	const struct opts *o;
	int		id;
	uint64_t	key;
	struct lsock	*s;
	struct stats	st;
	bool		counting;
	pthread_t	tid;
	struct ntsload_thread nts;
	uint64_t	n_checked;	/* NTS replies, for --nts-verify */
};

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
}

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (v);
}

/* The transmit timestamp: key ^ (thread, socket, sequence). */
static uint64_t
cookie(const struct loader *l, const struct lsock *s, uint64_t seq)
{
	return (l->key ^ ((uint64_t)l->id << 58 | (uint64_t)s->idx << SEQ_BITS |
	    seq));
}

static void
send_window(struct loader *l, struct lsock *s)
{
	uint8_t buf[BATCH][NTSLOAD_REQ_MAX];
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	int n = 0, r;
	size_t len = HDR;
	int64_t now;

	while (s->outstanding + n < l->o->window && n < BATCH) {
		uint64_t origin = cookie(l, s, s->next_seq + (uint64_t)n);

		if (l->o->nts)
			len = ntsload_request(&l->nts, origin, buf[n],
			    sizeof buf[n]);
		else {
			memset(buf[n], 0, HDR);
			buf[n][0] = 0x23;	/* leap 0, version 4, mode 3 */
			put64(buf[n] + 40, origin);
		}
		iov[n] = (struct iovec){ buf[n], len };
		memset(&m[n], 0, sizeof m[n]);
		m[n].msg_hdr.msg_iov = &iov[n];
		m[n].msg_hdr.msg_iovlen = 1;
		n++;
	}
	if (n == 0)
		return;
	now = mono_ns();
	r = sendmmsg(s->fd, m, (unsigned)n, MSG_DONTWAIT);
	for (int i = 0; i < r; i++) {
		struct slot *sl;

		sl = &s->slots[s->next_seq % (uint64_t)l->o->window];
		sl->seq = s->next_seq++;
		sl->sent_ns = now;
		sl->busy = true;
		s->outstanding++;
		l->st.sent += l->counting;
	}
}

static void
record_latency(struct stats *st, int64_t ns)
{
	int64_t us = ns / 1000;

	if (ns < 0)
		ns = us = 0;
	st->hist[us < HIST_US ? us : HIST_US]++;
	if ((uint64_t)ns > st->max_ns)
		st->max_ns = (uint64_t)ns;
}

/*
 * NTS: a NAK answers the request (and counts as an error); a reply that
 * does not authenticate is ignored, as a client would, so the request
 * stays outstanding until the real reply or its timeout.
 */
static enum ntsload_verdict
nts_reply(struct loader *l, const uint8_t *p, size_t len)
{
	bool verify = l->n_checked++ % (uint64_t)l->o->nts_verify == 0;
	enum ntsload_verdict v = ntsload_check(&l->nts, p, len, verify);

	l->st.verified += l->counting && verify && v == NTSLOAD_OK;
	l->st.nak += l->counting && v == NTSLOAD_NAK;
	l->st.bad_auth += l->counting && v == NTSLOAD_BAD;
	return (v);
}

static void
check_reply(struct loader *l, struct lsock *s, const uint8_t *p, size_t len,
    int64_t now)
{
	enum ntsload_verdict nv = NTSLOAD_OK;
	uint64_t v, seq;
	struct slot *sl;

	if (len < HDR) {
		l->st.short_len += l->counting;
		return;
	}
	if ((p[0] & 7) != 4) {
		l->st.bad_mode += l->counting;
		return;
	}
	v = get64(p + 24) ^ l->key;
	seq = v & ((UINT64_C(1) << SEQ_BITS) - 1);
	if ((v >> 58) != (uint64_t)l->id ||
	    ((v >> SEQ_BITS) & 0x3ffff) != (uint64_t)s->idx ||
	    seq >= s->next_seq) {
		l->st.bad_origin += l->counting;
		return;
	}
	sl = &s->slots[seq % (uint64_t)l->o->window];
	if (!sl->busy || sl->seq != seq) {
		l->st.late += l->counting;	/* timed out, or duplicate */
		return;
	}
	if (l->o->nts && (nv = nts_reply(l, p, len)) == NTSLOAD_BAD)
		return;
	sl->busy = false;
	s->outstanding--;
	if (!l->counting || nv == NTSLOAD_NAK)
		return;
	l->st.replies++;
	l->st.kod += p[1] == 0;
	record_latency(&l->st, now - sl->sent_ns);
}

static void
receive(struct loader *l, struct lsock *s)
{
	uint8_t buf[BATCH][2 * NTSLOAD_REQ_MAX];
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	size_t cap = l->o->nts ? sizeof buf[0] : HDR + 16;
	int64_t now;
	int n;

	do {
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ buf[i], cap };
			memset(&m[i], 0, sizeof m[i]);
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(s->fd, m, BATCH, MSG_DONTWAIT, NULL);
		now = mono_ns();
		for (int i = 0; i < n; i++)
			check_reply(l, s, buf[i], m[i].msg_len, now);
	} while (n == BATCH);
}

static void
expire(struct loader *l, struct lsock *s, int64_t now)
{
	int64_t limit = (int64_t)(l->o->timeout * 1e9);

	for (int i = 0; i < l->o->window; i++) {
		struct slot *sl = &s->slots[i];

		if (sl->busy && now - sl->sent_ns > limit) {
			sl->busy = false;
			s->outstanding--;
			l->st.lost += l->counting;
		}
	}
}

/* Poll every socket once; send while sending, expire now and then. */
static void
step(struct loader *l, struct pollfd *pfd, bool sending, int64_t *next_exp)
{
	int64_t now;

	for (int i = 0; sending && i < l->o->socks; i++)
		send_window(l, &l->s[i]);
	if (poll(pfd, (nfds_t)l->o->socks, l->o->block ? 1 : 0) > 0)
		for (int i = 0; i < l->o->socks; i++)
			if (pfd[i].revents & POLLIN)
				receive(l, &l->s[i]);
	now = mono_ns();
	if (now >= *next_exp) {
		for (int i = 0; i < l->o->socks; i++)
			expire(l, &l->s[i], now);
		*next_exp = now + 10000000;
	}
}

static int
outstanding(const struct loader *l)
{
	int n = 0;

	for (int i = 0; i < l->o->socks; i++)
		n += l->s[i].outstanding;
	return (n);
}

static void *
run_loader(void *arg)
{
	struct loader *l = arg;
	struct pollfd pfd[MAX_SOCKS];
	int64_t t0 = mono_ns(), next_exp = t0;
	int64_t warm = t0 + (int64_t)(l->o->warmup * 1e9);
	int64_t end = warm + (int64_t)(l->o->duration * 1e9);
	int64_t drain = end + (int64_t)(l->o->timeout * 1e9) + 10000000;

	for (int i = 0; i < l->o->socks; i++)
		pfd[i] = (struct pollfd){ .fd = l->s[i].fd, .events = POLLIN };
	while (mono_ns() < warm)
		step(l, pfd, true, &next_exp);
	l->counting = true;
	while (mono_ns() < end)
		step(l, pfd, true, &next_exp);
	/* Replies to the last requests still count; no new requests. */
	while (outstanding(l) > 0 && mono_ns() < drain)
		step(l, pfd, false, &next_exp);
	for (int i = 0; i < l->o->socks; i++)
		expire(l, &l->s[i], INT64_MAX);
	return (NULL);
}

static int
open_socks(struct loader *l)
{
	l->s = calloc((size_t)l->o->socks, sizeof *l->s);
	if (l->s == NULL)
		return (-1);
	for (int i = 0; i < l->o->socks; i++) {
		struct lsock *s = &l->s[i];

		s->idx = i;
		s->slots = calloc((size_t)l->o->window, sizeof *s->slots);
		s->fd = socket(l->o->to.ss_family, SOCK_DGRAM | SOCK_NONBLOCK,
		    0);
		if (s->slots == NULL || s->fd < 0 ||
		    connect(s->fd, (const struct sockaddr *)&l->o->to,
		    l->o->tolen) != 0) {
			fprintf(stderr, "ntpload: %s: %s\n", l->o->target,
			    strerror(errno));
			return (-1);
		}
	}
	return (0);
}

static void
close_socks(struct loader *l)
{
	for (int i = 0; l->s != NULL && i < l->o->socks; i++) {
		if (l->s[i].fd > 0)
			close(l->s[i].fd);
		free(l->s[i].slots);
	}
	free(l->s);
}

/* ---- Results ---- */

static void
merge(struct stats *sum, const struct stats *st)
{
	sum->sent += st->sent;
	sum->replies += st->replies;
	sum->lost += st->lost;
	sum->late += st->late;
	sum->bad_origin += st->bad_origin;
	sum->bad_mode += st->bad_mode;
	sum->short_len += st->short_len;
	sum->kod += st->kod;
	sum->nak += st->nak;
	sum->bad_auth += st->bad_auth;
	sum->verified += st->verified;
	for (int i = 0; i <= HIST_US; i++)
		sum->hist[i] += st->hist[i];
	if (st->max_ns > sum->max_ns)
		sum->max_ns = st->max_ns;
}

/* The q-quantile of the histogram, in us (upper edge of its bucket). */
static double
quantile(const struct stats *st, double q)
{
	uint64_t want = (uint64_t)(q * (double)st->replies), seen = 0;

	if (st->replies == 0)
		return (0);
	for (int i = 0; i <= HIST_US; i++) {
		seen += st->hist[i];
		if (seen > want)
			return (i + 1.0);
	}
	return (HIST_US);
}

static void
report(const struct opts *o, const struct stats *st)
{
	double rate = (double)st->replies / o->duration;
	double asked = (double)(st->replies + st->lost);
	double loss = asked > 0 ? (double)st->lost / asked : 0;
	uint64_t invalid = st->bad_origin + st->bad_mode + st->short_len +
	    st->nak + st->bad_auth;

	if (o->json) {
		printf("{\"target\": \"%s\", \"threads\": %d, \"sockets\": %d, "
		    "\"window\": %d, \"duration\": %g, \"sent\": %llu, "
		    "\"replies\": %llu, \"rate\": %.0f, \"lost\": %llu, "
		    "\"loss\": %.6f, \"late\": %llu, \"invalid\": %llu, "
		    "\"bad_origin\": %llu, \"bad_mode\": %llu, \"short\": %llu, "
		    "\"kod\": %llu, \"p50_us\": %.0f, \"p99_us\": %.0f, "
		    "\"max_us\": %.1f", o->target, o->threads, o->socks,
		    o->window, o->duration, (unsigned long long)st->sent,
		    (unsigned long long)st->replies, rate,
		    (unsigned long long)st->lost, loss,
		    (unsigned long long)st->late, (unsigned long long)invalid,
		    (unsigned long long)st->bad_origin,
		    (unsigned long long)st->bad_mode,
		    (unsigned long long)st->short_len,
		    (unsigned long long)st->kod, quantile(st, 0.5),
		    quantile(st, 0.99), (double)st->max_ns / 1e3);
		if (o->nts)
			printf(", \"nts\": true, \"nak\": %llu, "
			    "\"bad_auth\": %llu, \"verified\": %llu",
			    (unsigned long long)st->nak,
			    (unsigned long long)st->bad_auth,
			    (unsigned long long)st->verified);
		printf("}\n");
		return;
	}
	printf("ntpload %s: %d thread(s) x %d sockets x window %d, %.1f s\n",
	    o->target, o->threads, o->socks, o->window, o->duration);
	printf("  replies   %llu (%.0f/s), %llu KoD\n",
	    (unsigned long long)st->replies, rate,
	    (unsigned long long)st->kod);
	printf("  lost      %llu (%.3f%%), late %llu\n",
	    (unsigned long long)st->lost, loss * 100,
	    (unsigned long long)st->late);
	printf("  invalid   %llu (origin mismatch %llu, wrong mode %llu, "
	    "short %llu)\n", (unsigned long long)invalid,
	    (unsigned long long)st->bad_origin,
	    (unsigned long long)st->bad_mode,
	    (unsigned long long)st->short_len);
	if (o->nts)
		printf("  nts       authenticator verified on %llu replies "
		    "(every %d), failed %llu, NAK %llu\n",
		    (unsigned long long)st->verified, o->nts_verify,
		    (unsigned long long)st->bad_auth,
		    (unsigned long long)st->nak);
	printf("  latency   p50 %.0f us, p99 %.0f us, max %.1f us\n",
	    quantile(st, 0.5), quantile(st, 0.99), (double)st->max_ns / 1e3);
}

/* ---- Options ---- */

static void
usage(FILE *f)
{
	fprintf(f, "usage: ntpload [-c SOCKETS] [-w WINDOW] [-d SECONDS] "
	    "[-W WARMUP] [-t TIMEOUT_MS]\n"
	    "               [-j THREADS] [-b] [--json] HOST:PORT\n"
	    "       ntpload --responder HOST:PORT\n"
	    "Load an NTP server with NTPv4 client requests (numeric IPv4 "
	    "address,\nor [IPv6]:port) and report replies/s, loss, latency "
	    "and invalid replies.\n"
	    "  -c  sockets per thread (default 8)\n"
	    "  -w  requests outstanding per socket (default 16)\n"
	    "  -d  measured seconds (default 5)\n"
	    "  -W  warm-up seconds before measuring (default 0.5)\n"
	    "  -t  ms before a request counts as lost (default 200)\n"
	    "  -j  threads, each with its own sockets (default 1)\n"
	    "  -b  block waiting for replies instead of spinning (when the\n"
	    "      load shares its CPUs with the server)\n"
	    "  --responder  no load: answer requests on HOST:PORT as simply\n"
	    "      as possible, until killed (the floor servers are measured\n"
	    "      against)\n"
	    "  --nts  one NTS-KE first, then NTS requests (RFC 8915); NAKs\n"
	    "      and replies that do not authenticate count as invalid\n"
	    "  --nts-ca FILE    CA certificates (PEM; default: the system's)\n"
	    "  --nts-name NAME  the name the server's certificate covers\n"
	    "      (default: HOST)\n"
	    "  --nts-port PORT  the server's NTS-KE port (default 4460)\n"
	    "  --nts-verify N   verify every Nth reply's Authenticator\n"
	    "      (default 1: all; the others are checked for a NAK only)\n");
}

static int
parse_target(struct opts *o, const char *arg)
{
	char host[128];
	const char *port;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&o->to;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&o->to;
	char *end;
	long p;

	if (arg[0] == '[') {
		port = strstr(arg, "]:");
		if (port == NULL || (size_t)(port - arg - 1) >= sizeof host)
			return (-1);
		memcpy(host, arg + 1, (size_t)(port - arg - 1));
		host[port - arg - 1] = '\0';
		port += 2;
	} else {
		port = strrchr(arg, ':');
		if (port == NULL || (size_t)(port - arg) >= sizeof host)
			return (-1);
		memcpy(host, arg, (size_t)(port - arg));
		host[port - arg] = '\0';
		port++;
	}
	p = strtol(port, &end, 10);
	if (*port == '\0' || *end != '\0' || p < 1 || p > 65535)
		return (-1);
	memset(&o->to, 0, sizeof o->to);
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)p);
		o->tolen = sizeof *v4;
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)p);
		o->tolen = sizeof *v6;
	} else
		return (-1);
	o->target = arg;
	return (0);
}

static int
num(const char *s, double lo, double hi, double *out)
{
	char *end;

	*out = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || !(*out >= lo && *out <= hi)) {
		fprintf(stderr, "ntpload: invalid number '%s' (%g-%g)\n", s, lo,
		    hi);
		return (-1);
	}
	return (0);
}

static int
parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "responder", no_argument, NULL, 'R' },
		{ "nts", no_argument, NULL, 'N' },
		{ "nts-ca", required_argument, NULL, 'A' },
		{ "nts-name", required_argument, NULL, 'M' },
		{ "nts-port", required_argument, NULL, 'P' },
		{ "nts-verify", required_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double v;
	int ch, r = 0;

	*o = (struct opts){ .socks = 8, .window = 16, .duration = 5,
	    .warmup = 0.5, .timeout = 0.2, .threads = 1,
	    .nts_port = NTS_KE_PORT, .nts_verify = 1 };
	while (r == 0 && (ch = getopt_long(argc, argv, "c:w:d:W:t:j:bh", lo,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			r = num(optarg, 1, MAX_SOCKS, &v);
			o->socks = (int)v;
			break;
		case 'w':
			r = num(optarg, 1, MAX_WINDOW, &v);
			o->window = (int)v;
			break;
		case 'd': r = num(optarg, 0.1, 3600, &o->duration); break;
		case 'W': r = num(optarg, 0, 60, &o->warmup); break;
		case 't':
			r = num(optarg, 1, 10000, &v);
			o->timeout = v / 1e3;
			break;
		case 'j':
			r = num(optarg, 1, MAX_THREADS, &v);
			o->threads = (int)v;
			break;
		case 'J': o->json = true; break;
		case 'b': o->block = true; break;
		case 'R': o->responder = true; break;
		case 'N': o->nts = true; break;
		case 'A': o->nts_ca = optarg; break;
		case 'M': o->nts_name = optarg; break;
		case 'P':
			r = num(optarg, 1, 65535, &v);
			o->nts_port = (int)v;
			break;
		case 'V':
			r = num(optarg, 1, 1e9, &v);
			o->nts_verify = (int)v;
			break;
		case 'h': usage(stdout); exit(0);
		default: r = -1; break;
		}
	}
	if (r != 0 || optind != argc - 1) {
		usage(stderr);
		return (-1);
	}
	if (parse_target(o, argv[optind]) != 0) {
		fprintf(stderr, "ntpload: '%s' is not IPV4:PORT or "
		    "[IPV6]:PORT\n", argv[optind]);
		return (-1);
	}
	if (o->nts && o->responder) {
		fprintf(stderr, "ntpload: --nts loads a server; the responder "
		    "speaks plain NTP only\n");
		return (-1);
	}
	return (0);
}

/* The target's host part: the default name its certificate must cover. */
static void
target_host(const char *target, char *host, size_t cap)
{
	const char *end = target[0] == '[' ? strstr(target, "]:") :
	    strrchr(target, ':');
	const char *start = target[0] == '[' ? target + 1 : target;
	size_t n = end == NULL ? 0 : (size_t)(end - start);

	snprintf(host, cap, "%.*s", (int)n, start);
}

/* One NTS-KE for all threads: the keys and cookies everyone uses. */
static int
nts_setup(struct opts *o)
{
	char host[128], err[512];

	target_host(o->target, host, sizeof host);
	if (ntsload_ke(&o->ke, &o->to, o->tolen, (unsigned)o->nts_port,
	    o->nts_name != NULL ? o->nts_name : host, o->nts_ca, err,
	    sizeof err) != 0) {
		fprintf(stderr, "ntpload: %s\n", err);
		return (-1);
	}
	return (0);
}

/* ---- The minimal responder ---- */

static uint64_t
ntp64(const struct timespec *ts)
{
	return ((uint64_t)(ts->tv_sec + 2208988800LL) << 32 |
	    (((uint64_t)ts->tv_nsec << 32) / 1000000000));
}

static void
rx_stamp(struct msghdr *m, struct timespec *ts)
{
	struct scm_timestamping tss;
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_TIMESTAMPING) {
			memcpy(&tss, CMSG_DATA(c), sizeof tss);
			*ts = tss.ts[0];
			return;
		}
	}
	clock_gettime(CLOCK_REALTIME, ts);
}

/* One batch: receive, answer, read the clock once, send. */
static void
respond(int fd, struct mmsghdr *m, uint8_t (*buf)[HDR + 16],
    struct sockaddr_storage *from, char (*ctrl)[256])
{
	struct iovec iov[BATCH];
	struct timespec ts;
	int n;

	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ buf[i], sizeof buf[i] };
		m[i].msg_hdr = (struct msghdr){ .msg_name = &from[i],
		    .msg_namelen = sizeof from[i], .msg_iov = &iov[i],
		    .msg_iovlen = 1, .msg_control = ctrl[i],
		    .msg_controllen = 256 };
	}
	n = recvmmsg(fd, m, BATCH, MSG_DONTWAIT, NULL);
	for (int i = 0; i < n; i++) {
		rx_stamp(&m[i].msg_hdr, &ts);
		memcpy(buf[i] + 24, buf[i] + 40, 8);
		put64(buf[i] + 32, ntp64(&ts));
		buf[i][0] = (uint8_t)((buf[i][0] & 0x38) | 4);
		buf[i][1] = 1;
		iov[i].iov_len = HDR;
		m[i].msg_hdr.msg_control = NULL;
		m[i].msg_hdr.msg_controllen = 0;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	for (int i = 0; i < n; i++)
		put64(buf[i] + 40, ntp64(&ts));
	if (n > 0)
		(void)sendmmsg(fd, m, (unsigned)n, 0);
}

/*
 * The least an NTP server can do per request with batched system calls,
 * kernel receive stamps included: the floor servers are measured
 * against.  No checks, no access control, no rate limiting: not a server
 * to deploy.  Runs until killed.
 */
static int
responder(const struct opts *o)
{
	static uint8_t buf[BATCH][HDR + 16];
	static struct sockaddr_storage from[BATCH];
	static char ctrl[BATCH][256];
	static struct mmsghdr m[BATCH];
	int flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
	struct pollfd p;
	int fd;

	fd = socket(o->to.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags,
	    sizeof flags) != 0 || bind(fd, (const struct sockaddr *)&o->to,
	    o->tolen) != 0) {
		fprintf(stderr, "ntpload: %s: %s\n", o->target,
		    strerror(errno));
		return (3);
	}
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	for (;;)
		if (poll(&p, 1, -1) > 0)
			respond(fd, m, buf, from, ctrl);
}

int
main(int argc, char **argv)
{
	static struct loader l[MAX_THREADS];
	static struct stats sum;
	struct opts o;
	int rc = 0;

	if (parse_opts(&o, argc, argv) != 0)
		return (2);
	if (o.responder)
		return (responder(&o));
	if (o.nts && nts_setup(&o) != 0)
		return (3);
	for (int i = 0; i < o.threads && rc == 0; i++) {
		l[i].o = &o;
		l[i].id = i;
		if (getrandom(&l[i].key, sizeof l[i].key, 0) !=
		    sizeof l[i].key || open_socks(&l[i]) != 0 ||
		    (o.nts && ntsload_thread_init(&l[i].nts, &o.ke) != 0))
			rc = 3;
	}
	for (int i = 0; i < o.threads && rc == 0; i++)
		if (pthread_create(&l[i].tid, NULL, run_loader, &l[i]) != 0)
			rc = 3;
	for (int i = 0; i < o.threads && rc == 0; i++) {
		pthread_join(l[i].tid, NULL);
		merge(&sum, &l[i].st);
	}
	for (int i = 0; i < o.threads; i++) {
		close_socks(&l[i]);
		ntsload_thread_free(&l[i].nts);
	}
	if (rc != 0)
		return (rc);
	report(&o, &sum);
	return (sum.replies > 0 ? 0 : 1);
}
