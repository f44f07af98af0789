/*
 * UDP sockets with kernel receive timestamps, and numeric socket addresses.
 *
 * The receive timestamp is what makes a measured offset honest: it is taken
 * by the kernel when the datagram arrives, so the time the event loop spends
 * before it reads the packet does not show up as network delay.  Software
 * SO_TIMESTAMPING is asked for first, SO_TIMESTAMPNS second; if neither
 * gives a stamp, nt_udp_recv() reads the clock itself and says so.  That
 * happens for real: Linux switches packet stamping on lazily when the first
 * socket asks for it, so datagrams arriving in the next moments carry none.
 * Sources' sockets also ask for the kernel's send stamp of each request:
 * the time read before send() is early by the system call's own time.
 */
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <md5.h>

#include "net.h"

int
nt_addr_from_sockaddr(struct nt_addr *a, const struct sockaddr *sa,
    socklen_t len)
{
	memset(a, 0, sizeof *a);
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
		len = sizeof(struct sockaddr_in);
	else if (sa->sa_family == AF_INET6 &&
	    len >= sizeof(struct sockaddr_in6))
		len = sizeof(struct sockaddr_in6);
	else
		return (-EAFNOSUPPORT);
	memcpy(&a->ss, sa, len);
	a->len = len;
	return (0);
}

int
nt_addr_parse(struct nt_addr *a, const char *host, uint16_t port)
{
	struct addrinfo hints, *res;
	struct in_addr in;
	char serv[8];
	int r;

	memset(a, 0, sizeof *a);
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(serv, sizeof serv, "%u", (unsigned)port);
	if (host == NULL || host[0] == '\0')
		return (-EINVAL);
	if (getaddrinfo(host, serv, &hints, &res) != 0)
		return (-EINVAL);
	r = nt_addr_from_sockaddr(a, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	/* getaddrinfo() also takes inet_aton()'s "127.1" and "0x7f.1". */
	if (r == 0 && nt_addr_family(a) == AF_INET &&
	    inet_pton(AF_INET, host, &in) != 1)
		r = -EINVAL;
	if (r != 0)
		memset(a, 0, sizeof *a);
	return (r == 0 ? 0 : -EINVAL);
}

const char *
nt_addr_format_host(const struct nt_addr *a, char *buf, size_t len)
{
	assert(len > 0);
	if (a->len == 0 || getnameinfo((const struct sockaddr *)&a->ss,
	    a->len, buf, (socklen_t)len, NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(buf, len, "(no address)");
	return (buf);
}

const char *
nt_addr_format(const struct nt_addr *a, char *buf, size_t len)
{
	char host[NT_ADDRSTRLEN];

	if (a->len == 0) {
		snprintf(buf, len, "(no address)");
		return (buf);
	}
	nt_addr_format_host(a, host, sizeof host);
	if (nt_addr_family(a) == AF_INET6)
		snprintf(buf, len, "[%s]:%u", host, (unsigned)nt_addr_port(a));
	else
		snprintf(buf, len, "%s:%u", host, (unsigned)nt_addr_port(a));
	return (buf);
}

int
nt_addr_family(const struct nt_addr *a)
{
	return (a->len == 0 ? AF_UNSPEC : a->ss.ss_family);
}

uint16_t
nt_addr_port(const struct nt_addr *a)
{
	switch (nt_addr_family(a)) {
	case AF_INET:
		return (ntohs(((const struct sockaddr_in *)&a->ss)->sin_port));
	case AF_INET6:
		return (ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port));
	default:
		return (0);
	}
}

void
nt_addr_set_port(struct nt_addr *a, uint16_t port)
{
	switch (nt_addr_family(a)) {
	case AF_INET:
		((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
		break;
	case AF_INET6:
		((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
		break;
	default:
		assert(!"nt_addr_set_port on an empty address");
	}
}

static int
cmp_num(uint32_t a, uint32_t b)
{
	return (a < b ? -1 : a > b);
}

int
nt_addr_cmp(const struct nt_addr *a, const struct nt_addr *b)
{
	const struct sockaddr_in6 *a6, *b6;
	const struct sockaddr_in *a4, *b4;
	int r;

	if ((r = cmp_num((uint32_t)nt_addr_family(a),
	    (uint32_t)nt_addr_family(b))) != 0)
		return (r);
	switch (nt_addr_family(a)) {
	case AF_INET:
		a4 = (const struct sockaddr_in *)&a->ss;
		b4 = (const struct sockaddr_in *)&b->ss;
		r = memcmp(&a4->sin_addr, &b4->sin_addr, sizeof a4->sin_addr);
		break;
	case AF_INET6:
		a6 = (const struct sockaddr_in6 *)&a->ss;
		b6 = (const struct sockaddr_in6 *)&b->ss;
		r = memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof a6->sin6_addr);
		if (r == 0)
			r = cmp_num(a6->sin6_scope_id, b6->sin6_scope_id);
		break;
	default:
		return (0);
	}
	if (r != 0)
		return (r < 0 ? -1 : 1);
	return (cmp_num(nt_addr_port(a), nt_addr_port(b)));
}

enum nt_rx_stamping
nt_udp_enable_rx_stamps(int fd)
{
	int flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
	int on = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags,
	    sizeof flags) == 0)
		return (NT_RX_STAMP_TIMESTAMPING);
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) == 0)
		return (NT_RX_STAMP_TIMESTAMPNS);
	return (NT_RX_STAMP_NONE);
}

/* Software receive and send stamps, the latter without the packet. */
bool
nt_udp_enable_tx_stamps(int fd)
{
	int flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
	    SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_OPT_TSONLY;

	return (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags,
	    sizeof flags) == 0);
}

static int
udp_socket(int family, enum nt_rx_stamping *stamping)
{
	enum nt_rx_stamping st;
	int fd;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    IPPROTO_UDP);
	if (fd < 0)
		return (-errno);
	st = nt_udp_enable_rx_stamps(fd);
	if (stamping != NULL)
		*stamping = st;
	return (fd);
}

static int
close_with_errno(int fd)
{
	int e = errno;

	close(fd);
	return (-e);
}

int
nt_udp_client(const struct nt_addr *peer, enum nt_rx_stamping *stamping)
{
	int fd;

	if (peer->len == 0)
		return (-EDESTADDRREQ);
	if ((fd = udp_socket(nt_addr_family(peer), stamping)) < 0)
		return (fd);
	if (connect(fd, (const struct sockaddr *)&peer->ss, peer->len) != 0)
		return (close_with_errno(fd));
	return (fd);
}

int
nt_udp_reconnect(int fd, const struct nt_addr *peer)
{
	assert(fd >= 0 && peer->len != 0);
	return (connect(fd, (const struct sockaddr *)&peer->ss, peer->len) ==
	    0 ? 0 : -errno);
}

const char *
nt_udp_client_what(int err)
{
	return (err == -ENETUNREACH || err == -EHOSTUNREACH ||
	    err == -EADDRNOTAVAIL ? "no route to it" : "cannot open a socket");
}

int
nt_udp_server(const struct nt_addr *local, int flags,
    enum nt_rx_stamping *stamping)
{
	int fd, on = 1;

	if (local->len == 0)
		return (-EDESTADDRREQ);
	if ((fd = udp_socket(nt_addr_family(local), stamping)) < 0)
		return (fd);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0)
		return (close_with_errno(fd));
	if ((flags & NT_UDP_REUSEPORT) &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0)
		return (close_with_errno(fd));
	if (nt_addr_family(local) == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0)
		return (close_with_errno(fd));
	if (bind(fd, (const struct sockaddr *)&local->ss, local->len) != 0)
		return (close_with_errno(fd));
	return (fd);
}

int
nt_udp_local_addr(int fd, struct nt_addr *a)
{
	memset(a, 0, sizeof *a);
	a->len = sizeof a->ss;
	if (getsockname(fd, (struct sockaddr *)&a->ss, &a->len) != 0) {
		a->len = 0;
		return (-errno);
	}
	return (0);
}

/* Find the kernel's receive stamp in the control messages. */
static bool
rx_stamp(struct msghdr *msg, nt_time *t)
{
	struct scm_timestamping tss;
	struct timespec ts;
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_TIMESTAMPING &&
		    c->cmsg_len >= CMSG_LEN(sizeof tss)) {
			memcpy(&tss, CMSG_DATA(c), sizeof tss);
			ts = tss.ts[0];		/* [0] is the software stamp */
		} else if (c->cmsg_type == SCM_TIMESTAMPNS &&
		    c->cmsg_len >= CMSG_LEN(sizeof ts)) {
			memcpy(&ts, CMSG_DATA(c), sizeof ts);
		} else
			continue;
		if (ts.tv_sec != 0 || ts.tv_nsec != 0) {
			*t = nt_from_timespec(&ts);
			return (true);
		}
	}
	return (false);
}

ssize_t
nt_udp_recv(int fd, void *buf, size_t cap, struct nt_rx *rx)
{
	union {
		char	buf[512];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr msg;
	struct timespec now;
	ssize_t n;

	memset(rx, 0, sizeof *rx);
	memset(&msg, 0, sizeof msg);
	msg.msg_name = &rx->from.ss;
	msg.msg_namelen = sizeof rx->from.ss;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof control.buf;
	do
		n = recvmsg(fd, &msg, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return (errno == EWOULDBLOCK ? -EAGAIN : -errno);
	rx->from.len = msg.msg_namelen;
	rx->wire_len = (size_t)n;
	rx->truncated = (msg.msg_flags & MSG_TRUNC) || (size_t)n > cap;
	rx->len = rx->truncated ? cap : (size_t)n;
	if (!rx_stamp(&msg, &rx->rx_time)) {
		clock_gettime(CLOCK_REALTIME, &now);
		rx->rx_time = nt_from_timespec(&now);
		rx->rx_fallback = true;
	}
	return ((ssize_t)rx->len);
}

int
nt_udp_tx_stamp(int fd, nt_time *t)
{
	union {
		char	buf[512];
		struct cmsghdr align;
	} control;
	struct msghdr msg;
	int found = 0;

	for (int i = 0; i < 16; i++) {	/* bounded: a queue refilled fast */
		memset(&msg, 0, sizeof msg);
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof control.buf;
		if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
			if (errno == EINTR)
				continue;
			break;		/* EAGAIN: drained */
		}
		if (rx_stamp(&msg, t))	/* the same control message */
			found = 1;
	}
	return (found);
}

int
nt_udp_tx_stamp_data(int fd, void *buf, size_t cap, size_t *len, nt_time *t)
{
	union {
		char	buf[512];
		struct cmsghdr align;
	} control;
	struct iovec iov = { buf, cap };
	struct msghdr msg;
	ssize_t r;

	for (;;) {	/* stamp-less entries (none expected) are skipped */
		memset(&msg, 0, sizeof msg);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof control.buf;
		r = recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return (errno == EAGAIN ? 0 : -errno);
		if (!rx_stamp(&msg, t))	/* the same control message */
			continue;
		/* Cut short: not the datagram whole, so nothing to match. */
		*len = (msg.msg_flags & MSG_TRUNC) ? 0 : (size_t)r;
		return (1);
	}
}

int
nt_udp_send(int fd, const void *buf, size_t len, const struct nt_addr *to)
{
	ssize_t n;

	do {
		if (to == NULL)
			n = send(fd, buf, len, 0);
		else
			n = sendto(fd, buf, len, 0,
			    (const struct sockaddr *)&to->ss, to->len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return (-errno);
	return ((size_t)n == len ? 0 : -EMSGSIZE);
}

uint32_t
nt_addr_refid(const struct nt_addr *a)
{
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&a->ss;
	uint8_t d[MD5_DIGEST_LENGTH];
	MD5_CTX ctx;

	if (a->ss.ss_family == AF_INET)
		return (ntohl(v4->sin_addr.s_addr));
	assert(a->ss.ss_family == AF_INET6);
	MD5Init(&ctx);
	MD5Update(&ctx, v6->sin6_addr.s6_addr, sizeof v6->sin6_addr.s6_addr);
	MD5Final(d, &ctx);
	return ((uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 |
	    (uint32_t)d[2] << 8 | d[3]);
}
