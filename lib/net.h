/*
 * UDP sockets and socket addresses, the only place ntimed talks to the
 * kernel's network stack.  NTP needs more than libuv's UDP handles give:
 * the kernel's receive timestamp for every datagram (taken when the packet
 * arrived, not when we got round to reading it), and truncation detection.
 * So the roles own their sockets, poll them with uv_poll, and read them
 * with nt_udp_recv().
 *
 * Addresses are numeric here; names are resolve.h's business.  Every
 * function returns -errno on failure and never exits.
 */
#ifndef NTIMED_NET_H
#define NTIMED_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>

#include "timeutil.h"

struct nt_addr {
	struct sockaddr_storage ss;
	socklen_t	len;		/* 0: no address */
};

/* "[ffff:...:ffff%interfacename]:65535" and then some. */
#define NT_ADDRSTRLEN 96

/*
 * Parse a numeric IPv4 or IPv6 address (with "%scope" for link-local)
 * without touching DNS.  Returns 0 or -EINVAL.
 */
int nt_addr_parse(struct nt_addr *a, const char *host, uint16_t port);
/* Copy a sockaddr in (AF_INET or AF_INET6 only; else -EAFNOSUPPORT). */
int nt_addr_from_sockaddr(struct nt_addr *a, const struct sockaddr *sa,
    socklen_t len);

/* "1.2.3.4:123", "[::1]:123", "[fe80::1%eth0]:123". */
const char *nt_addr_format(const struct nt_addr *a, char *buf, size_t len);
/* "1.2.3.4", "::1", "fe80::1%eth0". */
const char *nt_addr_format_host(const struct nt_addr *a, char *buf,
    size_t len);

int nt_addr_family(const struct nt_addr *a);
uint16_t nt_addr_port(const struct nt_addr *a);
void nt_addr_set_port(struct nt_addr *a, uint16_t port);
/*
 * The reference id a server advertises for an upstream at this address
 * (RFC 5905): the IPv4 address, or the first four bytes of the MD5 of the
 * IPv6 address.  Host byte order, like struct ntp_pkt's refid.
 */
uint32_t nt_addr_refid(const struct nt_addr *a);

/* Total order (family, address, scope, port); 0 when equal. */
int nt_addr_cmp(const struct nt_addr *a, const struct nt_addr *b);
/*
 * What failed when nt_udp_client() returned err (negative errno): the
 * route to the peer ("no route to it") or the socket itself.
 */
const char *nt_udp_client_what(int err);

/* How the kernel stamps received datagrams on a socket. */
enum nt_rx_stamping {
	NT_RX_STAMP_NONE = 0,		/* nothing: user-space fallback */
	NT_RX_STAMP_TIMESTAMPING,	/* SO_TIMESTAMPING, software */
	NT_RX_STAMP_TIMESTAMPNS,	/* SO_TIMESTAMPNS */
};

/*
 * A non-blocking, close-on-exec UDP socket connect()ed to peer from an
 * ephemeral port, with kernel receive timestamps on.  Returns the fd or
 * -errno.  stamping (may be NULL) says which timestamps were enabled.
 */
int nt_udp_client(const struct nt_addr *peer, enum nt_rx_stamping *stamping);
/* Point a client socket at another peer (NTS moved the server's port). */
int nt_udp_reconnect(int fd, const struct nt_addr *peer);

#define NT_UDP_REUSEPORT 0x1	/* share the port between several sockets */

/*
 * A non-blocking, close-on-exec UDP socket bound to local (address and
 * port), SO_REUSEADDR, IPV6_V6ONLY for IPv6, receive timestamps on.
 * Returns the fd or -errno.
 */
int nt_udp_server(const struct nt_addr *local, int flags,
    enum nt_rx_stamping *stamping);

/* The local address a socket is bound to.  Returns 0 or -errno. */
int nt_udp_local_addr(int fd, struct nt_addr *a);

/* Turn on kernel receive timestamps, best kind first. */
enum nt_rx_stamping nt_udp_enable_rx_stamps(int fd);

/*
 * Also ask for the kernel's transmit timestamps of fd's datagrams (if
 * SO_TIMESTAMPING works; whether it does).  They wait on the socket's
 * error queue, which makes poll() report POLLERR until it is drained with
 * nt_udp_tx_stamp().
 */
bool nt_udp_enable_tx_stamps(int fd);

/*
 * The kernel's transmit timestamp of the newest datagram sent on fd,
 * draining fd's error queue: 1 with *t (CLOCK_REALTIME), 0 when none
 * waits.
 */
int nt_udp_tx_stamp(int fd, nt_time *t);

/*
 * Per-datagram transmit stamps (a SO_TIMESTAMPING control message with
 * SOF_TIMESTAMPING_TX_SOFTWARE on a socket with receive stamps on): the
 * next stamp from fd's error queue, with the stamped datagram as the
 * kernel looped it back (link-layer and IP headers first, the payload
 * last) in buf.  1 with *len (0 when it did not fit) and *t
 * (CLOCK_REALTIME), 0 when none waits, or -errno.
 */
int nt_udp_tx_stamp_data(int fd, void *buf, size_t cap, size_t *len,
    nt_time *t);

/* One received datagram. */
struct nt_rx {
	size_t		len;		/* bytes stored in the buffer */
	size_t		wire_len;	/* size of the datagram on the wire */
	bool		truncated;	/* wire_len > the buffer */
	struct nt_addr	from;
	nt_time		rx_time;	/* CLOCK_REALTIME at arrival */
	bool		rx_fallback;	/* no kernel stamp: read after recvmsg */
};

/*
 * Receive one datagram into buf.  Returns the bytes stored (>= 0) with rx
 * filled in, -EAGAIN when nothing is waiting, or another -errno (for a
 * connected socket -ECONNREFUSED reports an ICMP port unreachable).
 */
ssize_t nt_udp_recv(int fd, void *buf, size_t cap, struct nt_rx *rx);

/*
 * Send one datagram, to the connected peer when to is NULL.  Returns 0,
 * -EMSGSIZE if the kernel took only part of it, or -errno.
 */
int nt_udp_send(int fd, const void *buf, size_t len, const struct nt_addr *to);

#endif
