/*
 * Serving NTP fast: worker threads around the sans-I/O reply logic.
 *
 * Throughput comes from doing little per datagram.  Each readable event
 * takes up to BATCH datagrams with one recvmmsg() and answers them in
 * user space (access list, rate table, reply); every SEND_CHUNK replies
 * it reads the clock, stamps them and sends them with one sendmmsg(): a
 * transmit stamp is never more than a few sends early.  The kernel's receive stamps are
 * read from each datagram's control messages; where recvmmsg/sendmmsg do
 * not exist (or params.no_mmsg asks), the same arrays are filled and
 * drained one recvmsg()/sendmsg() at a time.
 *
 * Sockets bound to a wildcard address also ask for IP_PKTINFO /
 * IPV6_RECVPKTINFO, and every reply leaves from the address its request
 * was sent to: on a host with several addresses a client would otherwise
 * get an answer from an address it did not ask and throw it away.
 *
 * Threads: the main thread creates every socket and handle, starts the
 * workers, publishes snapshots under a mutex with an atomic version
 * number, and reads counters that workers copy to atomics after each
 * batch.  A worker takes the mutex only when the version moved (about
 * once per clock update), so the busy path has no locks.
 */
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <uv.h>

#include "log.h"
#include "ntp_pkt.h"
#include "uvserver.h"
#include "xleave.h"

#define BATCH		64	/* datagrams per system call */
#define MAX_BATCHES	8	/* per readable event, then let others run */
#define SEND_CHUNK	8	/* replies per transmit stamp and sendmmsg() */
#define CTRL_LEN	256	/* stamps and packet info */
#define RCVBUF		(4 << 20)	/* bytes of socket receive queue */
#define HEAD_LEN	64	/* bytes of a datagram kept together */
#define N_COUNTERS	(sizeof(struct nt_server_counters) / sizeof(uint64_t))

_Static_assert(sizeof(struct nt_server_counters) % sizeof(uint64_t) == 0,
    "counters are copied as an array of uint64_t");

union ctrl {
	char		buf[CTRL_LEN];
	struct cmsghdr	align;
};

/* Where a reply leaves from, and a request for its kernel send stamp. */
union ctrl_out {
	char		buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
			    CMSG_SPACE(sizeof(int))];
	struct cmsghdr	align;
};

struct worker;

struct wsock {
	struct worker	*w;
	int		fd;
	int		family;
	bool		pktinfo;	/* wildcard: answer from the dst */
	uv_poll_t	poll;
};

struct worker {
	struct nt_uvserver *srv;
	int		idx;
	uv_thread_t	tid;
	bool		started;
	uv_loop_t	loop;
	uv_async_t	stop;
	struct wsock	socks[NT_UVSERVER_MAX_LISTEN];
	size_t		n_socks;
	bool		no_mmsg;
	bool		send_err_logged;
	struct nt_server core;
	struct nt_server_state st;
	unsigned	st_version;
	_Atomic uint64_t pub[N_COUNTERS];	/* core.cnt, for the main */
	struct mmsghdr	rmsg[BATCH], smsg[BATCH];
	struct iovec	riov[BATCH][2], siov[BATCH];
	struct sockaddr_storage from[BATCH];
	union ctrl	rctrl[BATCH];
	union ctrl_out	sctrl[BATCH];
	nt_time		rx[BATCH];
	/* NTS: stamped before sealing; interleaved: an earlier send's */
	bool		sealed[BATCH];
	bool		stamped;	/* send stamps asked since drained */
	struct nt_xleave_pending pend;
	/* NTS replies carry cookies; plain ones touch the first page only */
	uint8_t		out[BATCH][NTP_MAX_PKT];
	/*
	 * Datagrams land in head, and only what is longer than HEAD_LEN
	 * spills into tail: the pages of tail (and of whole, where a long
	 * one is put back together) are touched only by long requests,
	 * which we do not answer, so they cost no memory in normal use.
	 */
	uint8_t		head[BATCH][HEAD_LEN];
	uint8_t		tail[BATCH][NTP_MAX_PKT - HEAD_LEN];
	uint8_t		whole[NTP_MAX_PKT];
};

struct nt_uvserver {
	struct nt_uvserver_params p;
	uv_mutex_t	lock;
	struct nt_server_state st;	/* under lock */
	atomic_uint	version;
	struct worker	**w;
	int		n_workers;
	struct nt_addr	addrs[NT_UVSERVER_MAX_LISTEN];
	size_t		n_addrs;
	enum nt_rx_stamping stamping;
	/* Interleaved mode: one table for all workers (see xleave.h). */
	bool		xl_on;		/* kernel send stamps work */
	uv_mutex_t	xl_lock;
	struct nt_xleave xl;		/* under xl_lock */
};

/* ---- Snapshot and counters ---- */

static void
refresh_state(struct worker *w)
{
	struct nt_uvserver *s = w->srv;

	if (atomic_load_explicit(&s->version, memory_order_acquire) ==
	    w->st_version)
		return;
	uv_mutex_lock(&s->lock);
	w->st = s->st;
	w->st_version = atomic_load_explicit(&s->version,
	    memory_order_relaxed);
	uv_mutex_unlock(&s->lock);
}

static void
publish_counters(struct worker *w)
{
	uint64_t v[N_COUNTERS];

	memcpy(v, &w->core.cnt, sizeof v);
	for (size_t i = 0; i < N_COUNTERS; i++)
		atomic_store_explicit(&w->pub[i], v[i], memory_order_relaxed);
}

/* ---- Receiving ---- */

static void
reset_rx(struct worker *w, int i)
{
	struct msghdr *m = &w->rmsg[i].msg_hdr;

	m->msg_name = &w->from[i];
	m->msg_namelen = sizeof w->from[i];
	m->msg_iov = w->riov[i];
	m->msg_iovlen = 2;
	m->msg_control = w->rctrl[i].buf;
	m->msg_controllen = sizeof w->rctrl[i].buf;
	m->msg_flags = 0;
	w->riov[i][0] = (struct iovec){ w->head[i], sizeof w->head[i] };
	w->riov[i][1] = (struct iovec){ w->tail[i], sizeof w->tail[i] };
}

/* Datagram i in one piece. */
static const uint8_t *
datagram(struct worker *w, int i, size_t len)
{
	if (len <= HEAD_LEN)
		return (w->head[i]);
	assert(len <= NTP_MAX_PKT);
	memcpy(w->whole, w->head[i], HEAD_LEN);
	memcpy(w->whole + HEAD_LEN, w->tail[i], len - HEAD_LEN);
	return (w->whole);
}

/* Returns datagrams received (> 0), 0 when none wait, or -errno. */
static int
recv_batch(struct worker *w, struct wsock *ws)
{
	ssize_t r;
	int n;

	for (int i = 0; i < BATCH; i++)
		reset_rx(w, i);
	if (!w->no_mmsg) {
		n = recvmmsg(ws->fd, w->rmsg, BATCH, MSG_DONTWAIT, NULL);
		if (n >= 0)
			return (n);
		if (errno != ENOSYS)
			return (errno == EAGAIN || errno == EINTR ? 0 : -errno);
		w->no_mmsg = true;
	}
	for (n = 0; n < BATCH; n++) {
		r = recvmsg(ws->fd, &w->rmsg[n].msg_hdr, MSG_DONTWAIT);
		if (r < 0)
			break;
		w->rmsg[n].msg_len = (unsigned)r;
	}
	if (n == 0 && errno != EAGAIN && errno != EINTR)
		return (-errno);
	return (n);
}

/* Add a control message to a reply (where it leaves from, stamping). */
static void
reply_from(struct msghdr *reply, union ctrl_out *out, int level, int type,
    const void *data, size_t len)
{
	struct cmsghdr *o;

	assert(reply->msg_controllen + CMSG_SPACE(len) <= sizeof out->buf);
	reply->msg_control = out->buf;
	o = (struct cmsghdr *)(void *)(out->buf + reply->msg_controllen);
	memset(o, 0, CMSG_SPACE(len));
	reply->msg_controllen += CMSG_SPACE(len);
	o->cmsg_level = level;
	o->cmsg_type = type;
	o->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(o), data, len);
}

/* A request's packet info, turned into the reply's. */
static void
scan_pktinfo(const struct cmsghdr *c, struct msghdr *reply,
    union ctrl_out *out)
{
	struct in_pktinfo pi4;
	struct in6_pktinfo pi6;

	if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
	    c->cmsg_len >= CMSG_LEN(sizeof pi4)) {
		/* ipi_spec_dst is the local address the request reached. */
		memcpy(&pi4, CMSG_DATA(c), sizeof pi4);
		pi4.ipi_ifindex = 0;	/* routing picks the way */
		pi4.ipi_addr.s_addr = 0;
		reply_from(reply, out, IPPROTO_IP, IP_PKTINFO, &pi4,
		    sizeof pi4);
	} else if (c->cmsg_level == IPPROTO_IPV6 &&
	    c->cmsg_type == IPV6_PKTINFO &&
	    c->cmsg_len >= CMSG_LEN(sizeof pi6)) {
		memcpy(&pi6, CMSG_DATA(c), sizeof pi6);
		if (!IN6_IS_ADDR_LINKLOCAL(&pi6.ipi6_addr))
			pi6.ipi6_ifindex = 0;
		reply_from(reply, out, IPPROTO_IPV6, IPV6_PKTINFO, &pi6,
		    sizeof pi6);
	}
}

/*
 * The kernel's receive stamp (0 if none) and, for wildcard sockets
 * (reply not NULL), the control message that makes the reply leave from
 * the address the request was sent to.
 */
static nt_time
scan_cmsgs(struct msghdr *m, struct msghdr *reply, union ctrl_out *out)
{
	struct scm_timestamping tss;
	struct cmsghdr *c;
	nt_time t = 0;

	for (c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_TIMESTAMPING &&
		    c->cmsg_len >= CMSG_LEN(sizeof tss)) {
			memcpy(&tss, CMSG_DATA(c), sizeof tss);
			if (tss.ts[0].tv_sec != 0 || tss.ts[0].tv_nsec != 0)
				t = nt_from_timespec(&tss.ts[0]);
		} else if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_TIMESTAMPNS &&
		    c->cmsg_len >= CMSG_LEN(sizeof tss.ts[0])) {
			memcpy(&tss.ts[0], CMSG_DATA(c), sizeof tss.ts[0]);
			t = nt_from_timespec(&tss.ts[0]);
		} else if (reply != NULL)
			scan_pktinfo(c, reply, out);
	}
	return (t);
}

/* ---- Answering and sending ---- */

static void
send_error(struct worker *w, int err)
{
	w->core.cnt.send_errors++;
	if (w->send_err_logged)
		return;
	w->send_err_logged = true;
	nt_log(NT_LOG_WARNING, "server worker %d: cannot send a reply: %s "
	    "(further errors are only counted)", w->idx, strerror(err));
}

/* Send replies first..first+k-1. */
static void
send_batch(struct worker *w, struct wsock *ws, int first, int k)
{
	int done = first, r;

	k += first;
	while (done < k) {
		if (!w->no_mmsg) {
			r = sendmmsg(ws->fd, w->smsg + done,
			    (unsigned)(k - done), MSG_DONTWAIT);
			if (r < 0 && errno == ENOSYS) {
				w->no_mmsg = true;
				continue;
			}
		} else
			r = sendmsg(ws->fd, &w->smsg[done].msg_hdr,
			    MSG_DONTWAIT) < 0 ? -1 : 1;
		if (r > 0)
			done += r;
		else if (errno != EINTR) {
			send_error(w, errno);
			done++;		/* skip the one that failed */
		}
	}
}

/*
 * A client that asks for interleaved mode: its reply k made interleaved
 * when we can, and the kernel asked to stamp its send.  True when the
 * reply carries its transmit stamp already (an earlier reply's).
 */
static bool
interleave(struct worker *w, const struct nt_ipaddr *from,
    const uint8_t *req, int k)
{
	struct nt_uvserver *s = w->srv;
	enum nt_xleave_kind kind;
	int flags = SOF_TIMESTAMPING_TX_SOFTWARE;

	uv_mutex_lock(&s->xl_lock);
	kind = nt_xleave_answer(&s->xl, from, req, w->out[k]);
	uv_mutex_unlock(&s->xl_lock);
	if (kind == NT_XL_BASIC)
		return (false);
	nt_xleave_pending_add(&w->pend, from, w->out[k]);
	reply_from(&w->smsg[k].msg_hdr, &w->sctrl[k], SOL_SOCKET,
	    SO_TIMESTAMPING, &flags, sizeof flags);
	w->stamped = true;
	if (kind != NT_XL_INTERLEAVED)
		return (false);
	w->core.cnt.interleaved++;
	return (true);
}

/*
 * The kernel's send stamps of replies that asked for one, from the
 * socket's error queue, into the interleaved table.  Bounded: a queue
 * refilled as fast as it drains does not hold the worker.
 */
static void
take_tx_stamps(struct worker *w, struct wsock *ws)
{
	struct nt_clock *clk = w->srv->p.clk;
	uint8_t pkt[256];
	struct nt_ipaddr ip;
	uint64_t rx;
	size_t len;
	nt_time t;

	w->stamped = false;
	for (int i = 0; i < BATCH; i++) {
		if (nt_udp_tx_stamp_data(ws->fd, pkt, sizeof pkt, &len, &t) !=
		    1)
			break;
		if (!nt_xleave_pending_take(&w->pend, pkt, len, &ip, &rx))
			continue;
		t = clk->ops->from_kernel(clk, t);
		uv_mutex_lock(&w->srv->xl_lock);
		(void)nt_xleave_sent(&w->srv->xl, &ip, rx, nt_to_ntp64(t));
		uv_mutex_unlock(&w->srv->xl_lock);
	}
}

/* One received datagram; returns true when a reply was queued at k. */
static bool
answer_one(struct worker *w, struct wsock *ws, int i, int k, nt_time *late)
{
	struct nt_clock *clk = w->srv->p.clk;
	struct msghdr *m = &w->rmsg[i].msg_hdr, *r = &w->smsg[k].msg_hdr;
	enum nt_server_verdict why;
	struct nt_ipaddr from;
	size_t len = w->rmsg[i].msg_len, n;
	const uint8_t *req;
	nt_time kt;

	memset(r, 0, sizeof *r);
	kt = scan_cmsgs(m, ws->pktinfo ? r : NULL, &w->sctrl[k]);
	if (kt != 0)
		w->rx[k] = clk->ops->from_kernel(clk, kt);
	else {
		if (*late == 0)
			*late = nt_clock_now(clk);
		w->rx[k] = *late;
		w->core.cnt.no_rx_stamp++;
	}
	if (m->msg_namelen < sizeof(struct sockaddr_in) ||
	    (w->from[i].ss_family != AF_INET &&
	    w->from[i].ss_family != AF_INET6))
		return (false);
	nt_ipaddr_from_sockaddr(&from, (struct sockaddr *)&w->from[i]);
	if (m->msg_flags & MSG_TRUNC)
		len = 0;		/* over NTP_MAX_PKT: malformed */
	/* Only NTS replies (longer requests) need the time before sealing. */
	req = datagram(w, i, len);
	n = nt_server_handle(&w->core, &w->st, &from, req, len, w->rx[k],
	    len > NTP_HDR_LEN && w->core.nts != NULL ? nt_clock_now(clk) : 0,
	    w->out[k], sizeof w->out[k], &why);
	if (n == 0)
		return (false);
	w->sealed[k] = why == NT_SRV_NTS_REPLY || why == NT_SRV_NTS_NAK;
	if (why == NT_SRV_REPLY && w->srv->xl_on && nt_xleave_wanted(req, len))
		w->sealed[k] = interleave(w, &from, req, k);
	r->msg_name = &w->from[i];
	r->msg_namelen = m->msg_namelen;
	r->msg_iov = &w->siov[k];
	r->msg_iovlen = 1;
	w->siov[k].iov_base = w->out[k];
	w->siov[k].iov_len = n;
	return (true);
}

/*
 * Stamp and send replies first..k-1: the transmit stamp as late as we
 * can, just before the system call, so that the last reply of a chunk
 * leaves at most SEND_CHUNK - 1 sends after its stamp.
 */
static void
flush(struct worker *w, struct wsock *ws, int first, int k)
{
	nt_time tx;

	if (k == first)
		return;
	tx = nt_clock_now(w->srv->p.clk);
	for (int i = first; i < k; i++)
		if (!w->sealed[i])
			nt_server_set_tx(w->out[i], tx);
	send_batch(w, ws, first, k - first);
	/* Software stamps are taken during the send: mostly there now. */
	if (w->stamped)
		take_tx_stamps(w, ws);
}

/* Answer n received datagrams, sending every SEND_CHUNK replies. */
static void
process_batch(struct worker *w, struct wsock *ws, int n)
{
	nt_time late = 0;
	int k = 0, sent = 0;

	refresh_state(w);
	for (int i = 0; i < n; i++) {
		if (answer_one(w, ws, i, k, &late))
			k++;
		if (k - sent == SEND_CHUNK) {
			flush(w, ws, sent, k);
			sent = k;
		}
	}
	flush(w, ws, sent, k);
}

static void
on_readable(uv_poll_t *h, int status, int events)
{
	struct wsock *ws = h->data;
	struct worker *w = ws->w;
	int n = BATCH;

	(void)events;
	/*
	 * POLLERR: a send stamp queued after its sendmmsg() returned.
	 * libuv stopped polling for it; read it and poll again.
	 */
	if (status < 0) {
		take_tx_stamps(w, ws);
		uv_poll_start(&ws->poll, UV_READABLE, on_readable);
	}
	for (int b = 0; b < MAX_BATCHES && n == BATCH; b++) {
		n = recv_batch(w, ws);
		if (n < 0) {
			nt_log(NT_LOG_DEBUG, "server worker %d: receive error: "
			    "%s", w->idx, strerror(-n));
			break;
		}
		if (n > 0)
			process_batch(w, ws, n);
	}
	publish_counters(w);
}

/* ---- Workers ---- */

static void
on_stop(uv_async_t *a)
{
	struct worker *w = a->data;

	for (size_t i = 0; i < w->n_socks; i++) {
		uv_poll_stop(&w->socks[i].poll);
		uv_close((uv_handle_t *)&w->socks[i].poll, NULL);
	}
	uv_close((uv_handle_t *)&w->stop, NULL);
}

static void
worker_main(void *arg)
{
	struct worker *w = arg;

	uv_run(&w->loop, UV_RUN_DEFAULT);
	publish_counters(w);
}

static int
enable_pktinfo(int fd, int family)
{
	int on = 1;

	if (family == AF_INET)
		return (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on));
	return (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on,
	    sizeof on));
}

static bool
is_wildcard(const struct nt_addr *a)
{
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&a->ss;

	if (nt_addr_family(a) == AF_INET)
		return (v4->sin_addr.s_addr == htonl(INADDR_ANY));
	return (IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr));
}

/*
 * A deep receive queue: a burst (or a flood) arriving while the worker
 * waits to be scheduled must queue, not be dropped with the well-behaved
 * clients' requests in it.  Past net.core.rmem_max only with
 * CAP_NET_ADMIN; the kernel's limit otherwise.
 */
static void
deepen_queue(int fd)
{
	int size = RCVBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

static int
worker_add_socket(struct worker *w, const struct nt_addr *a,
    enum nt_rx_stamping *st)
{
	struct wsock *ws = &w->socks[w->n_socks];
	int fd, r;

	fd = nt_udp_server(a, NT_UDP_REUSEPORT, st);
	if (fd < 0)
		return (fd);
	deepen_queue(fd);
	if (is_wildcard(a) && enable_pktinfo(fd, nt_addr_family(a)) != 0) {
		int e = errno;

		close(fd);
		return (-e);
	}
	ws->w = w;
	ws->fd = fd;
	ws->family = nt_addr_family(a);
	ws->pktinfo = is_wildcard(a);
	if ((r = uv_poll_init_socket(&w->loop, &ws->poll, fd)) != 0) {
		close(fd);
		return (r);	/* libuv errors are -errno */
	}
	ws->poll.data = ws;
	uv_poll_start(&ws->poll, UV_READABLE, on_readable);
	w->n_socks++;
	return (0);
}

/*
 * A worker with its loop, or NULL with *r: -ENOMEM, or what libuv said
 * (-EMFILE when each worker's epoll and event descriptors do not fit).
 */
static struct worker *
worker_new(struct nt_uvserver *s, int idx, int *r)
{
	struct worker *w = calloc(1, sizeof *w);
	uint8_t key[16];

	*r = -ENOMEM;
	if (w == NULL)
		return (NULL);
	w->srv = s;
	w->idx = idx;
	w->no_mmsg = s->p.no_mmsg;
	arc4random_buf(key, sizeof key);
	if (nt_server_init(&w->core, &s->p.srv, key) != 0) {
		free(w);
		return (NULL);
	}
	if ((*r = uv_loop_init(&w->loop)) != 0) {
		nt_server_free(&w->core);
		free(w);
		return (NULL);
	}
	if ((*r = uv_async_init(&w->loop, &w->stop, on_stop)) != 0) {
		(void)uv_loop_close(&w->loop);
		nt_server_free(&w->core);
		free(w);
		return (NULL);
	}
	w->stop.data = w;
	w->st = s->st;
	w->st_version = atomic_load(&s->version);
	return (w);
}

/* Close what a worker that never ran holds, then free it. */
static void
worker_free(struct worker *w)
{
	if (!w->started)
		on_stop(&w->stop);
	uv_run(&w->loop, UV_RUN_DEFAULT);	/* closing callbacks */
	uv_loop_close(&w->loop);
	for (size_t i = 0; i < w->n_socks; i++)
		close(w->socks[i].fd);
	nt_server_free(&w->core);
	free(w);
}

/* ---- Binding ---- */

/*
 * SO_REUSEPORT lets our workers share a port, and would as quietly let
 * us share it with another server already there.  A plain bind first
 * tells us whether anyone is.
 */
static int
port_free(const struct nt_addr *a)
{
	int fd, r = 0, on = 1;

	if (nt_addr_port(a) == 0)
		return (0);
	fd = socket(nt_addr_family(a), SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return (-errno);
	if (nt_addr_family(a) == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0)
		r = -errno;
	close(fd);
	return (r);
}

static bool
family_missing(int err)
{
	return (err == -EAFNOSUPPORT || err == -EADDRNOTAVAIL);
}

static int
last_fd(const struct worker *w)
{
	assert(w->n_socks > 0);
	return (w->socks[w->n_socks - 1].fd);
}

/*
 * An address bound already that a covers or that covers a (a wildcard
 * and an address of its family, one port): binding both fails with
 * EADDRINUSE, which is not another server.
 */
static const struct nt_addr *
overlapping(const struct nt_uvserver *s, const struct nt_addr *a)
{
	for (size_t i = 0; i < s->n_addrs; i++)
		if (nt_addr_family(&s->addrs[i]) == nt_addr_family(a) &&
		    nt_addr_port(&s->addrs[i]) == nt_addr_port(a) &&
		    (is_wildcard(&s->addrs[i]) || is_wildcard(a)))
			return (&s->addrs[i]);
	return (NULL);
}

/* Bind one listen address in every worker. */
static int
bind_everywhere(struct nt_uvserver *s, const struct nt_addr *want,
    char *err, size_t errlen)
{
	struct nt_addr a = *want;
	enum nt_rx_stamping st = NT_RX_STAMP_NONE;
	const struct nt_addr *o;
	char buf[NT_ADDRSTRLEN], ob[NT_ADDRSTRLEN];
	int r;

	if ((o = overlapping(s, &a)) != NULL) {
		snprintf(err, errlen, "cannot serve on %s: %s, listed before, "
		    "serves it already; list one or the other",
		    nt_addr_format(&a, buf, sizeof buf),
		    nt_addr_format(o, ob, sizeof ob));
		return (-1);
	}
	if ((r = port_free(&a)) == 0) {
		for (int i = 0; i < s->n_workers && r == 0; i++) {
			r = worker_add_socket(s->w[i], &a, &st);
			/* Port 0: every later worker takes the first's. */
			if (r == 0 && i == 0)
				r = nt_udp_local_addr(last_fd(s->w[0]), &a);
		}
	}
	if (r == 0) {
		if (s->n_addrs == 0)
			s->stamping = st;
		s->addrs[s->n_addrs++] = a;
		return (0);
	}
	if (s->p.listen_default && family_missing(r)) {
		nt_log(NT_LOG_NOTICE, "not serving on %s: %s",
		    nt_addr_format(&a, buf, sizeof buf), strerror(-r));
		return (0);
	}
	snprintf(err, errlen, "cannot serve on %s: %s%s",
	    nt_addr_format(&a, buf, sizeof buf), strerror(-r),
	    r == -EADDRINUSE ? " (is another NTP server running?)" : "");
	return (-1);
}

/* ---- Public interface ---- */

static int
start_workers(struct nt_uvserver *s)
{
	sigset_t all, old;
	int r = 0;

	/* Workers inherit a mask that leaves signals to the main loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 0; i < s->n_workers && r == 0; i++) {
		r = uv_thread_create(&s->w[i]->tid, worker_main, s->w[i]);
		s->w[i]->started = r == 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return (r);
}

static void
free_workers(struct nt_uvserver *s)
{
	for (int i = 0; i < s->n_workers; i++)
		if (s->w[i] != NULL)
			worker_free(s->w[i]);
	free(s->w);
	uv_mutex_destroy(&s->lock);
	uv_mutex_destroy(&s->xl_lock);
	nt_xleave_free(&s->xl);
	free(s);
}

struct nt_uvserver *
nt_uvserver_start(const struct nt_uvserver_params *p,
    const struct nt_server_state *st, char *err, size_t errlen)
{
	struct nt_uvserver *s;
	uint8_t key[24];
	int r;

	assert(p->workers >= 1 && p->workers <= NT_UVSERVER_MAX_WORKERS);
	assert(p->n_listen >= 1 && p->n_listen <= NT_UVSERVER_MAX_LISTEN);
	if ((s = calloc(1, sizeof *s)) == NULL ||
	    (s->w = calloc((size_t)p->workers, sizeof(struct worker *))) ==
	    NULL) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	s->p = *p;
	s->st = *st;
	uv_mutex_init(&s->lock);
	uv_mutex_init(&s->xl_lock);
	arc4random_buf(key, sizeof key);
	nt_xleave_init(&s->xl, NT_XLEAVE_ENTRIES, key);
	s->n_workers = p->workers;
	for (int i = 0; i < s->n_workers; i++) {
		if ((s->w[i] = worker_new(s, i, &r)) == NULL) {
			snprintf(err, errlen, "cannot make server worker %d of "
			    "%d: %s%s", i + 1, s->n_workers, strerror(-r),
			    r == -EMFILE ? " (fewer workers, or a higher limit "
			    "of open files: LimitNOFILE=)" : "");
			free_workers(s);
			return (NULL);
		}
	}
	for (size_t i = 0; i < p->n_listen; i++) {
		if (bind_everywhere(s, &p->listen[i], err, errlen) != 0) {
			free_workers(s);
			return (NULL);
		}
	}
	if (s->n_addrs == 0) {
		snprintf(err, errlen, "no address to serve on");
		free_workers(s);
		return (NULL);
	}
	/* Per-datagram send stamps come with SO_TIMESTAMPING only. */
	s->xl_on = s->stamping == NT_RX_STAMP_TIMESTAMPING;
	if ((r = start_workers(s)) != 0) {
		snprintf(err, errlen, "cannot start a server thread: %s",
		    uv_strerror(r));
		nt_uvserver_stop(s);
		return (NULL);
	}
	return (s);
}

void
nt_uvserver_publish(struct nt_uvserver *s, const struct nt_server_state *st)
{
	uv_mutex_lock(&s->lock);
	s->st = *st;
	atomic_fetch_add_explicit(&s->version, 1, memory_order_release);
	uv_mutex_unlock(&s->lock);
}

void
nt_uvserver_counters(struct nt_uvserver *s, struct nt_server_counters *c)
{
	uint64_t sum[N_COUNTERS] = { 0 };

	for (int i = 0; i < s->n_workers; i++)
		for (size_t k = 0; k < N_COUNTERS; k++)
			sum[k] += atomic_load_explicit(&s->w[i]->pub[k],
			    memory_order_relaxed);
	memcpy(c, sum, sizeof *c);
}

size_t
nt_uvserver_n_addrs(const struct nt_uvserver *s)
{
	return (s->n_addrs);
}

const struct nt_addr *
nt_uvserver_addr(const struct nt_uvserver *s, size_t i)
{
	assert(i < s->n_addrs);
	return (&s->addrs[i]);
}

int
nt_uvserver_workers(const struct nt_uvserver *s)
{
	return (s->n_workers);
}

enum nt_rx_stamping
nt_uvserver_stamping(const struct nt_uvserver *s)
{
	return (s->stamping);
}

void
nt_uvserver_stop(struct nt_uvserver *s)
{
	for (int i = 0; i < s->n_workers; i++)
		if (s->w[i]->started)
			uv_async_send(&s->w[i]->stop);
	for (int i = 0; i < s->n_workers; i++)
		if (s->w[i]->started)
			uv_thread_join(&s->w[i]->tid);
	free_workers(s);
}
