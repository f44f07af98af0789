/*
 * "ntimed query": ask NTP servers for their time and show how far ours is
 * off, like ntpdig or sntp, but never touching the clock.  It is the tool a
 * sysadmin reaches for first ("is that server alive, and does it agree with
 * us?"), and what the interop tests use to probe chronyd, so its JSON
 * output is a stable interface.
 *
 * Every host is queried in parallel on one libuv loop.  The sockets are our
 * own (net.h) so that each reply carries the kernel's receive timestamp;
 * requests carry a random transmit timestamp, which the server echoes and
 * we match, so that the real send time never leaves this machine.
 *
 * With --nts each host is first an NTS-KE server (RFC 8915): that part,
 * the key exchange and the cookies, is cmd/query_nts.c; this file calls
 * it where a request is built and a reply is taken.
 */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "clock.h"
#include "cmd.h"
#include "conf.h"
#include "hostport.h"
#include "json.h"
#include "log.h"
#include "query.h"
#include "source.h"

#define QUERY_MAX_COUNT 1000
#define QUERY_MAX_TIMEOUT 3600.0
#define QUERY_MAX_DISTANCE 16.0		/* seconds of root distance */
#define QUERY_INTERVAL 2.0
#define QUERY_FAST_INTERVAL 0.2

static const struct option long_opts[] = {
	{ "count", required_argument, NULL, 'n' },
	{ "timeout", required_argument, NULL, 't' },
	{ "port", required_argument, NULL, 'p' },
	{ "fast", no_argument, NULL, 'f' },
	{ "json", no_argument, NULL, 'j' },
	{ "nts", no_argument, NULL, 'N' },
	{ "nts-ca", required_argument, NULL, 'C' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: ntimed query [-46fhv] [-n COUNT] [-t TIMEOUT] "
	    "[-p PORT] [--json] [--nts [--nts-ca FILE]]\n"
	    "                    HOST[:PORT]...\n"
	    "       ntimed query [--local | -s PATH] [VIEW | VERB] "
	    "(see --local --help)\n\n"
	    "Ask NTP servers for their time and show our clock's offset.\n"
	    "The clock is never changed.\n\n"
	    "  -4, -6           use only IPv4 / IPv6 addresses\n"
	    "  -n, --count N    requests per host (default 4)\n"
	    "  -t, --timeout S  seconds to wait for each reply (default 2)\n"
	    "  -p, --port P     server port when HOST has none (default 123)\n"
	    "  -f, --fast       0.2 s between requests instead of 2 s "
	    "(own servers only)\n"
	    "      --json       one JSON document on stdout\n"
	    "      --nts        authenticate with NTS (RFC 8915): HOST[:PORT] "
	    "is the\n"
	    "                   NTS-KE server (port 4460 unless given)\n"
	    "      --nts-ca F   trust the CA certificates in PEM file F "
	    "instead of the\n"
	    "                   system's\n"
	    "  -v, --verbose    log ignored replies on stderr\n"
	    "  -h, --help       this text\n"
	    "      --local      ask the daemon on this machine instead "
	    "(see --local --help)\n\n"
	    "HOST is a name, an IPv4 address, an IPv6 address or [IPv6]:PORT.\n"
	    "Offsets are the server's time minus ours (chronyc shows the "
	    "opposite sign).\n"
	    "Exit status: 0 all hosts answered, 1 some did not, "
	    "2 usage error, 3 system\nerror (also output that cannot be "
	    "written).\n");
}

#define usage_error(...) nt_cmd_usage("query", __VA_ARGS__)

static bool
parse_long(const char *s, long lo, long hi, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	return (*s != '\0' && *end == '\0' && errno == 0 && *v >= lo &&
	    *v <= hi);
}

static int
parse_opt(struct query_opts *o, int ch, const char *arg)
{
	char *end;
	long v;

	switch (ch) {
	case '4':
		o->family = NT_FAMILY_V4;
		break;
	case '6':
		o->family = NT_FAMILY_V6;
		break;
	case 'n':
		if (!parse_long(arg, 1, QUERY_MAX_COUNT, &v))
			return (usage_error("invalid count '%s' (expected "
			    "1-%d)", arg, QUERY_MAX_COUNT));
		o->count = (int)v;
		break;
	case 't':
		o->timeout = strtod(arg, &end);
		if (*arg == '\0' || *end != '\0' || !(o->timeout > 0) ||
		    o->timeout > QUERY_MAX_TIMEOUT)
			return (usage_error("invalid timeout '%s' (expected "
			    "seconds, 0 < TIMEOUT <= %g)", arg,
			    QUERY_MAX_TIMEOUT));
		break;
	case 'p':
		if (!parse_long(arg, 1, 65535, &v))
			return (usage_error("invalid port '%s' (expected "
			    "1-65535)", arg));
		o->port = (uint16_t)v;
		o->port_set = true;
		break;
	case 'N':
	case 'C':
		query_nts_option(o, ch, arg);
		break;
	case 'f':
		o->interval = QUERY_FAST_INTERVAL;
		break;
	case 'j':
		o->json = true;
		break;
	case 'v':
		nt_log_set_level(NT_LOG_DEBUG);
		break;
	default:
		assert(!"unhandled option");
	}
	return (0);
}

/* Returns -1 to go on, else the exit code (help, usage error). */
static int
parse_args(struct query_opts *o, int argc, char **argv)
{
	int ch, r;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":46fn:t:p:vh", long_opts,
	    NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			return (query_output_status(0));
		}
		if (ch == '?' || ch == ':')
			return (nt_query_bad_option(false, ch, argv));
		if ((r = parse_opt(o, ch, optarg)) != 0)
			return (r);
	}
	if (optind >= argc)
		return (usage_error("no host given (see --help)"));
	return (query_nts_check_options(o));
}

/* ---- results ---- */

static void
host_finish(struct host *h)
{
	if (h->done)
		return;
	h->done = true;
	h->waiting = false;
	uv_timer_stop(&h->timer);
	if (h->fd >= 0)
		uv_poll_stop(&h->poll);
}

void
query_host_fail(struct host *h, const char *fmt, ...)
{
	va_list ap;

	if (h->error[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(h->error, sizeof h->error, fmt, ap);
		va_end(ap);
	}
	host_finish(h);
}

static void
host_no_more_requests(struct host *h)
{
	char why[96];

	if (h->n_samples == 0 && h->ignored != NULL)
		query_host_fail(h, "no usable reply: %s", h->ignored);
	else if (h->n_samples == 0) {
		snprintf(why, sizeof why, "%g s%s%s", h->q->opt.timeout,
		    h->soft_error != NULL ? "; " : "",
		    h->soft_error != NULL ? h->soft_error : "");
		query_host_fail(h, "no reply (timeout after %s)", why);
	} else
		host_finish(h);
}

static void
make_sample(const struct host *h, const struct ntp_pkt *p, nt_time t4,
    struct sample *s)
{
	nt_time t1 = h->t1;
	nt_time t2 = nt_from_ntp64(p->rec, t1);
	nt_time t3 = nt_from_ntp64(p->xmt, t1);

	s->offset = ((double)(t2 - t1) + (double)(t3 - t4)) * 0.5e-9;
	s->delay = nt_diff(t4, t1) - nt_diff(t3, t2);
	s->t = t4;
}

/* ---- the request/reply cycle ---- */

static void on_timer(uv_timer_t *t);

static uint64_t
ms_of(double seconds)
{
	return (seconds <= 0 ? 0 : (uint64_t)ceil(seconds * 1e3));
}

static void
schedule_next(struct host *h)
{
	struct query *q = h->q;
	uint64_t next = h->sent_ms + ms_of(q->opt.interval), now;

	if (h->sent >= q->opt.count) {
		host_no_more_requests(h);
		return;
	}
	now = uv_now(q->loop);
	uv_timer_start(&h->timer, on_timer, next > now ? next - now : 0, 0);
}

/*
 * ICMP errors come back on a connected socket.  The daemon ignores them
 * (anyone can forge one); a query keeps waiting too, except for a refusal
 * before any reply: nothing listens there, and waiting would only delay
 * saying so (drain()).
 */
static bool
soft_error(int err)
{
	return (err == ECONNREFUSED || err == EHOSTUNREACH ||
	    err == ENETUNREACH || err == EHOSTDOWN);
}

/*
 * The header, with NTS its fields around it.  Returns the length, 0 when
 * the cookies ran out (every one was spent on a request that got no
 * reply).
 */
static size_t
build_request(struct host *h, const struct ntp_pkt *p, uint8_t *buf,
    size_t cap)
{
	uint8_t hdr[NTP_HDR_LEN];

	if (ntp_encode(p, hdr, sizeof hdr) != NTP_HDR_LEN)
		assert(!"ntp_encode failed on a full-size buffer");
	if (h->q->opt.nts)
		return (query_nts_request(h, hdr, buf, cap));
	assert(cap >= NTP_HDR_LEN);
	memcpy(buf, hdr, NTP_HDR_LEN);
	return (NTP_HDR_LEN);
}

static void
send_request(struct host *h)
{
	struct ntp_pkt p;
	uint8_t buf[NTP_MAX_PKT];
	size_t len;
	int r, tries = 0;

	memset(&p, 0, sizeof p);
	p.version = NTP_VERSION;
	p.mode = NTP_MODE_CLIENT;
	do
		arc4random_buf(&p.xmt, sizeof p.xmt);
	while (p.xmt == 0);
	if ((len = build_request(h, &p, buf, sizeof buf)) == 0) {
		query_host_fail(h, "NTS: no cookie left (%d requests without "
		    "an authenticated reply)", NTS_COOKIE_MAX);
		return;
	}
	for (;;) {
		h->t1 = nt_clock_now(h->q->clock);
		r = nt_udp_send(h->fd, buf, len, NULL);
		/* A pending ICMP error is reported once, by any call. */
		if (r == 0 || !soft_error(-r) || ++tries == 2)
			break;
		h->soft_error = strerror(-r);
	}
	uv_update_time(h->q->loop);
	h->sent_ms = uv_now(h->q->loop);
	h->sent++;
	if (r != 0) {
		query_host_fail(h, "cannot send: %s", strerror(-r));
		return;
	}
	h->xmt = p.xmt;
	h->waiting = true;
	uv_timer_start(&h->timer, on_timer, ms_of(h->q->opt.timeout), 0);
}

static void
on_timer(uv_timer_t *t)
{
	struct host *h = t->data;

	if (h->done)
		return;
	if (h->waiting) {		/* the reply did not come */
		h->waiting = false;
		schedule_next(h);
	} else
		send_request(h);
}

static const char *
kod_name(const struct ntp_pkt *p, char *buf, size_t len)
{
	char code[NTP_REFID_STRLEN];

	snprintf(buf, len, "KoD %s", ntp_refid_str(p->refid, 0, code,
	    sizeof code));
	return (buf);
}

/*
 * RFC 5905 kiss codes are 1-4 printable ASCII characters, zero-filled.
 * OpenNTPD answers with stratum 0, leap 3 and a zero refid until its clock
 * has been set: that is an unsynchronized server, not a kiss-o'-death.
 */
static bool
has_kiss_code(uint32_t refid)
{
	unsigned ch;
	bool end = false;

	for (int shift = 24; shift >= 0; shift -= 8) {
		ch = (refid >> shift) & 0xff;
		if (ch == 0 && shift != 24)
			end = true;
		else if (end || ch <= 0x20 || ch >= 0x7f)
			return (false);
	}
	return (true);
}

/*
 * The refid as text where it is a code: stratum 0 and 1 (a kiss code, a
 * reference clock), and an unsynchronized server's INIT or STEP at
 * stratum 16; an IPv4 address (or a hash of one) otherwise.
 */
static const char *
refid_str(const struct ntp_pkt *p, char *buf, size_t len)
{
	bool code = p->stratum <= 1 || (p->stratum >= NTP_MAX_STRATUM &&
	    has_kiss_code(p->refid));

	return (ntp_refid_str(p->refid, code ? 0 : 2, buf, len));
}

static enum ntp_verdict
check_reply(const struct ntp_pkt *p, uint64_t xmt)
{
	enum ntp_verdict v = ntp_check_reply(p, xmt, QUERY_MAX_DISTANCE);

	if (v == NTP_REPLY_KOD_OTHER && !has_kiss_code(p->refid))
		v = NTP_REPLY_UNSYNC;
	return (v);
}

static void
handle_reply(struct host *h, const uint8_t *buf, size_t len, nt_time rx)
{
	char addr[NT_ADDRSTRLEN], kod[32], dist[32];
	enum ntp_verdict v;
	enum ntp_decode_err e;
	struct ntp_pkt p;
	struct sample smp;

	nt_addr_format(&h->addr, addr, sizeof addr);
	if ((e = ntp_decode(buf, len, &p)) != NTP_DECODE_OK) {
		nt_log(NT_LOG_DEBUG, "%s: ignored reply: %s", addr,
		    ntp_decode_strerror(e));
		h->ignored = ntp_decode_strerror(e);
		return;
	}
	if (h->q->opt.nts && !query_nts_accept(h, buf, len, addr))
		return;
	v = check_reply(&p, h->xmt);
	make_sample(h, &p, h->q->clock->ops->from_kernel(h->q->clock, rx),
	    &smp);
	if (v == NTP_REPLY_OK && !ntp_delay_possible(smp.delay, p.precision))
		v = NTP_REPLY_BAD_DELAY;
	if (v != NTP_REPLY_OK && !ntp_verdict_is_kod(v) &&
	    v != NTP_REPLY_UNSYNC && v != NTP_REPLY_DISTANCE) {
		nt_log(NT_LOG_DEBUG, "%s: ignored reply: %s", addr,
		    ntp_verdict_str(v));
		h->ignored = ntp_verdict_str(v);
		return;
	}
	h->waiting = false;
	uv_timer_stop(&h->timer);
	if (ntp_verdict_is_kod(v)) {
		query_host_fail(h, "%s", kod_name(&p, kod, sizeof kod));
		return;
	}
	h->hdr = p;
	h->hdr_pivot = h->t1;
	h->have_hdr = true;
	if (v == NTP_REPLY_UNSYNC) {
		query_host_fail(h, "%s", "unsynchronized");
		return;
	}
	if (v == NTP_REPLY_DISTANCE) {
		snprintf(dist, sizeof dist, "%.3f s", ntp_root_distance(&p));
		query_host_fail(h, "root distance %s above 16 s", dist);
		return;
	}
	assert(h->n_samples < h->q->opt.count);
	h->samples[h->n_samples++] = smp;
	h->nts.authenticated |= h->q->opt.nts;
	schedule_next(h);
}

/*
 * The kernel cut it to our buffer: no NTP reply is that long (we would
 * not understand its extension fields anyway), but the host's error says
 * why it was not taken ("no usable reply"), not "no reply": the server
 * is there, and answers wrongly.
 */
static void
ignore_long_reply(struct host *h, const struct nt_rx *rx)
{
	char addr[NT_ADDRSTRLEN];

	nt_log(NT_LOG_DEBUG, "%s: ignored reply: %s (%zu bytes)",
	    nt_addr_format(&h->addr, addr, sizeof addr),
	    ntp_decode_strerror(NTP_DECODE_LONG), rx->wire_len);
	h->ignored = ntp_decode_strerror(NTP_DECODE_LONG);
}

/* Read everything waiting; returns the number of socket errors seen. */
static int
drain(struct host *h)
{
	uint8_t buf[NTP_MAX_PKT];
	struct nt_rx rx;
	ssize_t n;
	int errors = 0;

	while (!h->done && (n = nt_udp_recv(h->fd, buf, sizeof buf, &rx)) !=
	    -EAGAIN) {
		if (n == -ECONNREFUSED && h->n_samples == 0)
			query_host_fail(h, "no NTP server there (connection "
			    "refused)");
		else if (n < 0 && soft_error((int)-n)) {
			h->soft_error = strerror((int)-n);
			errors++;
		} else if (n < 0)
			query_host_fail(h, "cannot receive: %s",
			    strerror((int)-n));
		else if (h->waiting && rx.truncated)
			ignore_long_reply(h, &rx);
		else if (h->waiting)
			handle_reply(h, buf, (size_t)n, rx.rx_time);
	}
	return (errors);
}

/*
 * The kernel's send time of the request in flight replaces the time read
 * before send() (lib/source.h).  Whether a stamp was waiting: it is what
 * made poll() report POLLERR, if nothing else did.
 */
static bool
take_tx_stamp(struct host *h)
{
	nt_time t;

	if (nt_udp_tx_stamp(h->fd, &t) != 1)
		return (false);
	t = h->q->clock->ops->from_kernel(h->q->clock, t);
	if (h->waiting && nt_tx_stamp_fits(h->t1, t))
		h->t1 = t;
	return (true);
}

static void
on_readable(uv_poll_t *p, int status, int events)
{
	struct host *h = p->data;
	bool stamped;

	(void)events;
	if (h->done)
		return;
	stamped = take_tx_stamp(h);	/* queued before any reply */
	if (drain(h) == 0 && status < 0 && !stamped)
		query_host_fail(h, "socket error: %s", uv_strerror(status));
	/* libuv stops polling on POLLERR (an ICMP error, a stamp): resume. */
	if (!h->done && status < 0)
		uv_poll_start(&h->poll, UV_READABLE, on_readable);
}

/* ---- starting a host ---- */

/* socket() failures that are about this machine, not the host. */
static bool
system_errno(int err)
{
	return (err == EMFILE || err == ENFILE || err == ENOMEM ||
	    err == ENOBUFS);
}

void
query_start_ntp(struct host *h, const struct nt_addr *addrs, size_t n)
{
	int fd = -EDESTADDRREQ, r;

	/* The first address we can open a socket to (IPv6 may be off). */
	for (size_t i = 0; i < n && fd < 0; i++) {
		h->addr = addrs[i];
		fd = nt_udp_client(&addrs[i], NULL);
		if (fd < 0 && system_errno(-fd))
			break;
	}
	if (fd < 0) {
		h->q->sys_error |= system_errno(-fd);
		query_host_fail(h, "%s: %s", nt_udp_client_what(fd),
		    strerror(-fd));
		return;
	}
	(void)nt_udp_enable_tx_stamps(fd);	/* without: T1 read before */
	if ((r = uv_poll_init_socket(h->q->loop, &h->poll, fd)) != 0) {
		close(fd);
		h->q->sys_error = true;
		query_host_fail(h, "cannot poll socket: %s", uv_strerror(r));
		return;
	}
	h->fd = fd;
	h->poll.data = h;
	uv_poll_start(&h->poll, UV_READABLE, on_readable);
	send_request(h);
}

void
query_on_resolved(void *ctx, const struct nt_addr *addrs, size_t n,
    const char *err)
{
	struct host *h = ctx;

	if (err != NULL)
		query_host_fail(h, "cannot resolve%s: %s", h->q->opt.nts &&
		    h->nts.ke_done ? " the NTS-negotiated server" : "", err);
	else if (h->q->opt.nts && !h->nts.ke_done)
		query_nts_start_ke(h, &addrs[0]);
	else
		query_start_ntp(h, addrs, n);
}

static int
host_init(struct host *h, struct query *q, const char *arg)
{
	char err[160];

	memset(h, 0, sizeof *h);
	h->q = q;
	h->arg = arg;
	h->fd = -1;
	if (nt_parse_hostport(arg, h->name, sizeof h->name, &h->port,
	    q->opt.port, err, sizeof err) != 0)
		return (strstr(err, arg) != NULL ? usage_error("%s", err) :
		    usage_error("%s in '%s'", err, arg));
	return (0);
}

static int
host_start(struct host *h)
{
	struct query *q = h->q;

	if (uv_timer_init(q->loop, &h->timer) != 0)
		assert(!"uv_timer_init cannot fail");
	h->timer.data = h;
	h->started = true;
	h->samples = calloc((size_t)q->opt.count, sizeof *h->samples);
	if (h->samples == NULL)
		return (-ENOMEM);
	nt_resolve(q->loop, h->name, h->port, q->opt.family,
	    query_on_resolved, h);
	return (0);
}

static void
on_poll_closed(uv_handle_t *handle)
{
	struct host *h = handle->data;

	close(h->fd);
	h->fd = -1;
}

static void
host_close(struct host *h)
{
	if (!h->started)
		return;
	uv_close((uv_handle_t *)&h->timer, NULL);
	if (h->fd >= 0)
		uv_close((uv_handle_t *)&h->poll, on_poll_closed);
}

/* ---- output ---- */

static const struct sample *
best_sample(const struct host *h)
{
	const struct sample *best = NULL;

	for (int i = 0; i < h->n_samples; i++)
		if (best == NULL || h->samples[i].delay < best->delay)
			best = &h->samples[i];
	return (best);
}

static bool
host_ok(const struct host *h)
{
	return (h->error[0] == '\0' && h->n_samples > 0);
}

static const char *
leap_name(int leap)
{
	static const char *names[] = { "none", "insert", "delete",
	    "unsynchronized" };

	return (names[leap & 3]);
}

/* A duration without the sign for values that are never negative. */
static const char *
dur(double s, char *buf, size_t len)
{
	nt_format_dur(s, buf, len);
	return (buf[0] == '+' ? buf + 1 : buf);
}

/*
 * "2^6 (64.000s)"; a server's garbage (2^127) without the seconds, which
 * no duration string holds.
 */
static void
print_pow2(FILE *f, const char *label, int exp)
{
	char b[NT_DURSTR_LEN];

	if (exp > 31)
		fprintf(f, "  %-16s 2^%d\n", label, exp);
	else
		fprintf(f, "  %-16s 2^%d (%s)\n", label, exp,
		    dur(ldexp(1.0, exp), b, sizeof b));
}

static void
print_header(FILE *f, const struct ntp_pkt *p, nt_time pivot)
{
	char b1[NT_DURSTR_LEN], b2[NT_DURSTR_LEN], ts[NT_TIMESTR_LEN];
	char refid[NTP_REFID_STRLEN];

	fprintf(f, "  stratum          %d\n", p->stratum);
	refid_str(p, refid, sizeof refid);
	fprintf(f, "  refid            %s\n", refid[0] != '\0' ? refid :
	    "(none)");
	fprintf(f, "  leap             %s\n", leap_name(p->leap));
	fprintf(f, "  version          %d\n", p->version);
	print_pow2(f, "poll", p->poll);
	print_pow2(f, "precision", p->precision);
	fprintf(f, "  root delay       %s\n",
	    dur(nt_from_ntp32(p->root_delay), b1, sizeof b1));
	fprintf(f, "  root dispersion  %s\n",
	    dur(nt_from_ntp32(p->root_disp), b2, sizeof b2));
	/* To the second, as the other times we show; --json has it all. */
	fprintf(f, "  reference time   %s\n", p->ref == 0 ? "(never synced)" :
	    nt_format_utc_sec(nt_from_ntp64(p->ref, pivot), ts, sizeof ts));
}

static void
print_sample(FILE *f, const char *label, const struct sample *s)
{
	char b1[NT_DURSTR_LEN], b2[NT_DURSTR_LEN];

	fprintf(f, "  %-16s offset %s  delay %s\n", label,
	    nt_format_dur(s->offset, b1, sizeof b1),
	    dur(s->delay, b2, sizeof b2));
}

static void
print_host(FILE *f, const struct host *h)
{
	char addr[NT_ADDRSTRLEN], label[24];

	if (h->addr.len != 0)
		fprintf(f, "%s (%s)\n", h->arg,
		    nt_addr_format(&h->addr, addr, sizeof addr));
	else
		fprintf(f, "%s\n", h->arg);
	if (h->have_hdr)
		print_header(f, &h->hdr, h->hdr_pivot);
	if (h->nts.authenticated)
		fprintf(f, "  authenticated    NTS (RFC 8915)\n");
	for (int i = 0; i < h->n_samples; i++) {
		snprintf(label, sizeof label, "sample %d", i + 1);
		print_sample(f, label, &h->samples[i]);
	}
	if (h->n_samples > 0)
		print_sample(f, "best", best_sample(h));
	if (host_ok(h) && h->n_samples < h->sent)
		fprintf(f, "  lost             %d of %d replies\n",
		    h->sent - h->n_samples, h->sent);
	if (!host_ok(h))
		fprintf(f, "  error            %s\n", h->error);
}

static void
json_header(struct nt_json *j, const struct host *h)
{
	const struct ntp_pkt *p = &h->hdr;
	char refid[NTP_REFID_STRLEN];

	nt_json_key(j, "stratum");
	nt_json_int(j, p->stratum);
	nt_json_key(j, "refid");
	nt_json_string(j, refid_str(p, refid, sizeof refid));
	nt_json_key(j, "leap");
	nt_json_int(j, p->leap);
	nt_json_key(j, "version");
	nt_json_int(j, p->version);
	nt_json_key(j, "poll");
	nt_json_int(j, p->poll);
	nt_json_key(j, "precision");
	nt_json_number(j, ldexp(1.0, p->precision));
	nt_json_key(j, "root_delay");
	nt_json_number(j, nt_from_ntp32(p->root_delay));
	nt_json_key(j, "root_dispersion");
	nt_json_number(j, nt_from_ntp32(p->root_disp));
	nt_json_key(j, "reference_time");
	if (p->ref == 0)
		nt_json_null(j);
	else
		nt_json_decimal(j, nt_from_ntp64(p->ref, h->hdr_pivot), 9);
}

static void
json_nulls(struct nt_json *j, const char *const *keys)
{
	for (; *keys != NULL; keys++) {
		nt_json_key(j, *keys);
		nt_json_null(j);
	}
}

static void
json_samples(struct nt_json *j, const struct host *h)
{
	static const char *const none[] = { "offset", "delay", NULL };
	const struct sample *best = best_sample(h);

	if (best == NULL)
		json_nulls(j, none);
	else {
		nt_json_key(j, "offset");
		nt_json_number(j, best->offset);
		nt_json_key(j, "delay");
		nt_json_number(j, best->delay);
	}
	nt_json_key(j, "samples");
	nt_json_begin_array(j);
	for (int i = 0; i < h->n_samples; i++) {
		nt_json_begin_object(j);
		nt_json_key(j, "offset");
		nt_json_number(j, h->samples[i].offset);
		nt_json_key(j, "delay");
		nt_json_number(j, h->samples[i].delay);
		nt_json_key(j, "t");
		nt_json_decimal(j, h->samples[i].t, 9);
		nt_json_end_object(j);
	}
	nt_json_end_array(j);
}

static void
json_host(struct nt_json *j, const struct host *h)
{
	static const char *const no_header[] = { "stratum", "refid", "leap",
	    "version", "poll", "precision", "root_delay", "root_dispersion",
	    "reference_time", NULL };
	char addr[NT_ADDRSTRLEN];

	nt_json_begin_object(j);
	nt_json_key(j, "host");
	nt_json_string(j, h->arg);
	nt_json_key(j, "address");
	nt_json_string(j, h->addr.len == 0 ? NULL :
	    nt_addr_format(&h->addr, addr, sizeof addr));
	nt_json_key(j, "nts");
	nt_json_bool(j, h->nts.authenticated);
	if (h->have_hdr)
		json_header(j, h);
	else
		json_nulls(j, no_header);
	json_samples(j, h);
	nt_json_key(j, "ok");
	nt_json_bool(j, host_ok(h));
	nt_json_key(j, "error");
	nt_json_string(j, host_ok(h) ? NULL : h->error);
	nt_json_end_object(j);
}

static int
print_results(const struct query *q)
{
	struct nt_json j;

	if (!q->opt.json) {
		for (int i = 0; i < q->n_hosts; i++) {
			if (i > 0)
				fputc('\n', stdout);
			print_host(stdout, &q->hosts[i]);
		}
		/* ferror(): a write that failed before the last flush. */
		return (fflush(stdout) == 0 && !ferror(stdout) ? 0 :
		    -(errno != 0 ? errno : EIO));
	}
	nt_json_init_file(&j, stdout, true);
	nt_json_begin_array(&j);
	for (int i = 0; i < q->n_hosts; i++)
		json_host(&j, &q->hosts[i]);
	nt_json_end_array(&j);
	fputc('\n', stdout);
	return (nt_json_finish(&j));
}

/* ---- the role ---- */

static int
run(struct query *q)
{
	int code = 0, r;

	for (int i = 0; i < q->n_hosts; i++)
		if (host_start(&q->hosts[i]) != 0) {
			q->sys_error = true;
			query_host_fail(&q->hosts[i], "%s", strerror(ENOMEM));
		}
	uv_run(q->loop, UV_RUN_DEFAULT);
	for (int i = 0; i < q->n_hosts; i++)
		host_close(&q->hosts[i]);
	uv_run(q->loop, UV_RUN_DEFAULT);	/* the close callbacks */
	if ((r = print_results(q)) != 0) {
		fprintf(stderr, "ntimed query: cannot write output: %s\n",
		    strerror(-r));
		return (EXIT_SYSTEM);
	}
	for (int i = 0; i < q->n_hosts; i++)
		if (!host_ok(&q->hosts[i]))
			code = EXIT_RUNTIME;
	return (q->sys_error ? EXIT_SYSTEM : code);
}

int
cmd_query(int argc, char **argv)
{
	struct query q;
	uv_loop_t loop;
	int r;

	/* No host, or --local: the daemon here (cmd/query_local.c). */
	if ((r = cmd_query_local(argc, argv)) >= 0)
		return (r);
	memset(&q, 0, sizeof q);
	q.opt.count = 4;
	q.opt.timeout = 2.0;
	q.opt.interval = QUERY_INTERVAL;
	q.opt.port = NTP_PORT;
	if ((r = parse_args(&q.opt, argc, argv)) >= 0)
		return (r);
	q.n_hosts = argc - optind;
	if ((q.hosts = calloc((size_t)q.n_hosts, sizeof *q.hosts)) == NULL) {
		fprintf(stderr, "ntimed query: %s\n", strerror(ENOMEM));
		return (EXIT_SYSTEM);
	}
	for (int i = 0; i < q.n_hosts; i++)
		if ((r = host_init(&q.hosts[i], &q, argv[optind + i])) != 0)
			goto out;
	if ((r = uv_loop_init(&loop)) != 0) {
		fprintf(stderr, "ntimed query: cannot start event loop: %s\n",
		    uv_strerror(r));
		r = EXIT_SYSTEM;
		goto out;
	}
	q.loop = &loop;
	q.clock = nt_clock_dry();
	if ((r = query_nts_load_trust(&q)) == 0)
		r = run(&q);
	if (uv_loop_close(&loop) != 0)
		assert(!"handles left open on the query loop");
out:
	query_nts_free(&q);
	for (int i = 0; i < q.n_hosts; i++)
		free(q.hosts[i].samples);
	free(q.hosts);
	return (r);
}
