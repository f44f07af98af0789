/*
 * The network layer against the real loopback: address parsing and
 * printing, datagrams between two of our sockets with kernel receive
 * timestamps, truncation, and the ICMP error a connected socket reports.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "net.h"
#include "resolve.h"

static void
check_roundtrip(const char *host, uint16_t port, int family,
    const char *want_host, const char *want)
{
	struct nt_addr a, b;
	char buf[NT_ADDRSTRLEN], hbuf[NT_ADDRSTRLEN];

	assert_int_equal(nt_addr_parse(&a, host, port), 0);
	assert_int_equal(nt_addr_family(&a), family);
	assert_int_equal(nt_addr_port(&a), port);
	assert_string_equal(nt_addr_format(&a, buf, sizeof buf), want);
	assert_string_equal(nt_addr_format_host(&a, hbuf, sizeof hbuf),
	    want_host);
	/* What we print parses back to the same address. */
	assert_int_equal(nt_addr_parse(&b, hbuf, port), 0);
	assert_int_equal(nt_addr_cmp(&a, &b), 0);
}

static void
test_parse_format_v4(void **state)
{
	(void)state;
	check_roundtrip("192.0.2.1", 123, AF_INET, "192.0.2.1",
	    "192.0.2.1:123");
	check_roundtrip("127.0.0.1", 65535, AF_INET, "127.0.0.1",
	    "127.0.0.1:65535");
	check_roundtrip("0.0.0.0", 0, AF_INET, "0.0.0.0", "0.0.0.0:0");
}

static void
test_parse_format_v6(void **state)
{
	(void)state;
	check_roundtrip("::1", 123, AF_INET6, "::1", "[::1]:123");
	check_roundtrip("2001:DB8:0:0::1", 4460, AF_INET6, "2001:db8::1",
	    "[2001:db8::1]:4460");
	check_roundtrip("::ffff:192.0.2.1", 123, AF_INET6, "::ffff:192.0.2.1",
	    "[::ffff:192.0.2.1]:123");
}

static void
test_parse_scope(void **state)
{
	const struct sockaddr_in6 *sin6;
	unsigned lo = if_nametoindex("lo");
	struct nt_addr a, b;
	char buf[NT_ADDRSTRLEN], num[32];

	(void)state;
	if (lo == 0)
		skip();
	check_roundtrip("fe80::1%lo", 123, AF_INET6, "fe80::1%lo",
	    "[fe80::1%lo]:123");
	assert_int_equal(nt_addr_parse(&a, "fe80::1%lo", 123), 0);
	sin6 = (const struct sockaddr_in6 *)&a.ss;
	assert_int_equal(sin6->sin6_scope_id, lo);
	/* A numeric scope is the same address, printed with the name. */
	snprintf(num, sizeof num, "fe80::1%%%u", lo);
	assert_int_equal(nt_addr_parse(&b, num, 123), 0);
	assert_int_equal(nt_addr_cmp(&a, &b), 0);
	assert_string_equal(nt_addr_format(&b, buf, sizeof buf),
	    "[fe80::1%lo]:123");
	/* Same address on another interface is a different peer. */
	assert_int_equal(nt_addr_parse(&b, "fe80::1", 123), 0);
	assert_int_not_equal(nt_addr_cmp(&a, &b), 0);
}

static void
test_parse_rejects(void **state)
{
	static const char *bad[] = {
		"", "example.com", "localhost", "1.2.3", "127.1", "0x7f.0.0.1",
		"1.2.3.4.5", "256.1.1.1", "::g", "[::1]", "1.2.3.4:123",
		"fe80::1%nosuchif0", " 1.2.3.4",
	};
	struct nt_addr a;
	char buf[NT_ADDRSTRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(nt_addr_parse(&a, bad[i], 123), -EINVAL);
		assert_int_equal(a.len, 0);
		assert_string_equal(nt_addr_format(&a, buf, sizeof buf),
		    "(no address)");
	}
}

static void
test_compare_and_port(void **state)
{
	struct nt_addr a, b, c, d;

	(void)state;
	assert_int_equal(nt_addr_parse(&a, "10.0.0.1", 123), 0);
	assert_int_equal(nt_addr_parse(&b, "10.0.0.2", 123), 0);
	assert_int_equal(nt_addr_parse(&c, "::1", 123), 0);
	assert_int_equal(nt_addr_parse(&d, "10.0.0.1", 124), 0);
	assert_true(nt_addr_cmp(&a, &b) < 0);
	assert_true(nt_addr_cmp(&b, &a) > 0);
	assert_true(nt_addr_cmp(&a, &c) < 0);	/* AF_INET sorts first */
	assert_true(nt_addr_cmp(&a, &d) < 0);
	nt_addr_set_port(&d, 123);
	assert_int_equal(nt_addr_cmp(&a, &d), 0);
	nt_addr_set_port(&c, 4460);
	assert_int_equal(nt_addr_port(&c), 4460);
}

static void
wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&p, 1, 2000), 1);
}

static nt_time
now_realtime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (nt_from_timespec(&ts));
}

/* A server socket on an ephemeral loopback port, and its address. */
static int
open_server(const char *host, struct nt_addr *addr)
{
	struct nt_addr any;
	int fd;

	assert_int_equal(nt_addr_parse(&any, host, 0), 0);
	fd = nt_udp_server(&any, 0, NULL);
	if (fd < 0)
		return (fd);
	assert_int_equal(nt_udp_local_addr(fd, addr), 0);
	assert_int_not_equal(nt_addr_port(addr), 0);
	return (fd);
}

/*
 * The kernel turns packet stamping on lazily (a deferred static key) when
 * the first socket asks: datagrams that arrive just before that carry no
 * stamp, and nt_udp_recv() says so.  Wait until stamps flow.
 */
static void
warm_up_stamps(int sfd, int cfd)
{
	struct nt_rx rx;
	uint8_t buf[8];

	for (int i = 0; i < 100; i++) {
		assert_int_equal(nt_udp_send(cfd, "warm", 4, NULL), 0);
		wait_readable(sfd);
		assert_int_equal(nt_udp_recv(sfd, buf, sizeof buf, &rx), 4);
		if (!rx.rx_fallback)
			return;
		usleep(10000);
	}
	fail_msg("no kernel receive timestamp after 100 datagrams");
}

static void
exchange(const char *host)
{
	enum nt_rx_stamping st;
	struct nt_addr srv, cli;
	struct nt_rx rx;
	uint8_t buf[64];
	int sfd, cfd;

	if ((sfd = open_server(host, &srv)) < 0)
		skip();		/* no such loopback (IPv6 disabled) */
	cfd = nt_udp_client(&srv, &st);
	assert_true(cfd >= 0);
	assert_int_not_equal(st, NT_RX_STAMP_NONE);
	assert_int_equal(nt_udp_local_addr(cfd, &cli), 0);
	assert_int_equal(nt_udp_recv(sfd, buf, sizeof buf, &rx), -EAGAIN);
	warm_up_stamps(sfd, cfd);

	assert_int_equal(nt_udp_send(cfd, "ping", 4, NULL), 0);
	wait_readable(sfd);
	assert_int_equal(nt_udp_recv(sfd, buf, sizeof buf, &rx), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(rx.wire_len, 4);
	assert_false(rx.truncated);
	assert_int_equal(nt_addr_cmp(&rx.from, &cli), 0);
	assert_false(rx.rx_fallback);
	assert_true(fabs(nt_diff(rx.rx_time, now_realtime())) < 1.0);

	assert_int_equal(nt_udp_send(sfd, "pong!", 5, &rx.from), 0);
	wait_readable(cfd);
	assert_int_equal(nt_udp_recv(cfd, buf, sizeof buf, &rx), 5);
	assert_memory_equal(buf, "pong!", 5);
	assert_int_equal(nt_addr_cmp(&rx.from, &srv), 0);
	assert_false(rx.rx_fallback);
	assert_true(fabs(nt_diff(rx.rx_time, now_realtime())) < 1.0);
	assert_int_equal(nt_udp_recv(cfd, buf, sizeof buf, &rx), -EAGAIN);
	close(cfd);
	close(sfd);
}

static void
test_loopback_v4(void **state)
{
	(void)state;
	exchange("127.0.0.1");
}

static void
test_loopback_v6(void **state)
{
	(void)state;
	exchange("::1");
}

static void
test_truncation(void **state)
{
	struct nt_addr srv;
	struct nt_rx rx;
	uint8_t big[100], buf[48];
	int sfd, cfd;

	(void)state;
	memset(big, 0xa5, sizeof big);
	sfd = open_server("127.0.0.1", &srv);
	assert_true(sfd >= 0);
	cfd = nt_udp_client(&srv, NULL);
	assert_true(cfd >= 0);
	assert_int_equal(nt_udp_send(cfd, big, sizeof big, NULL), 0);
	assert_int_equal(nt_udp_send(cfd, big, sizeof buf, NULL), 0);
	wait_readable(sfd);
	assert_int_equal(nt_udp_recv(sfd, buf, sizeof buf, &rx), sizeof buf);
	assert_true(rx.truncated);
	assert_int_equal(rx.len, sizeof buf);
	assert_int_equal(rx.wire_len, sizeof big);
	assert_memory_equal(buf, big, sizeof buf);
	/* A datagram that fits exactly is not truncated. */
	wait_readable(sfd);
	assert_int_equal(nt_udp_recv(sfd, buf, sizeof buf, &rx), sizeof buf);
	assert_false(rx.truncated);
	assert_int_equal(rx.wire_len, sizeof buf);
	close(cfd);
	close(sfd);
}

static void
test_port_unreachable(void **state)
{
	struct nt_addr srv;
	struct nt_rx rx;
	uint8_t buf[8];
	int sfd, cfd;

	(void)state;
	/* Take a free port, then let it go: nothing listens there. */
	sfd = open_server("127.0.0.1", &srv);
	assert_true(sfd >= 0);
	close(sfd);
	cfd = nt_udp_client(&srv, NULL);
	assert_true(cfd >= 0);
	assert_int_equal(nt_udp_send(cfd, "x", 1, NULL), 0);
	wait_readable(cfd);
	assert_int_equal(nt_udp_recv(cfd, buf, sizeof buf, &rx),
	    -ECONNREFUSED);
	close(cfd);
}

static void
test_reuseport(void **state)
{
	struct nt_addr a, b;
	int fd1, fd2;

	(void)state;
	assert_int_equal(nt_addr_parse(&a, "127.0.0.1", 0), 0);
	fd1 = nt_udp_server(&a, NT_UDP_REUSEPORT, NULL);
	assert_true(fd1 >= 0);
	assert_int_equal(nt_udp_local_addr(fd1, &b), 0);
	fd2 = nt_udp_server(&b, NT_UDP_REUSEPORT, NULL);
	assert_true(fd2 >= 0);
	close(fd2);
	close(fd1);
}

static void
test_errors_are_negative_errno(void **state)
{
	struct nt_addr none, a;

	(void)state;
	memset(&none, 0, sizeof none);
	assert_int_equal(nt_udp_client(&none, NULL), -EDESTADDRREQ);
	assert_int_equal(nt_udp_server(&none, 0, NULL), -EDESTADDRREQ);
	/* Binding an address this host does not have. */
	assert_int_equal(nt_addr_parse(&a, "192.0.2.1", 0), 0);
	assert_int_equal(nt_udp_server(&a, 0, NULL), -EADDRNOTAVAIL);
	assert_int_equal(nt_udp_send(-1, "x", 1, NULL), -EBADF);
}

struct resolved {
	int		calls;
	size_t		n;
	struct nt_addr	first;
	char		err[128];
};

static void
on_resolved(void *ctx, const struct nt_addr *addrs, size_t n, const char *err)
{
	struct resolved *r = ctx;

	r->calls++;
	r->n = n;
	if (n > 0)
		r->first = addrs[0];
	snprintf(r->err, sizeof r->err, "%s", err != NULL ? err : "");
}

static void
test_resolve_numeric_is_synchronous(void **state)
{
	struct resolved r;
	char buf[NT_ADDRSTRLEN];
	uv_loop_t loop;

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	memset(&r, 0, sizeof r);
	nt_resolve(&loop, "::1", 4460, NT_FAMILY_ANY, on_resolved, &r);
	assert_int_equal(r.calls, 1);		/* before the loop ran */
	assert_int_equal(r.n, 1);
	assert_string_equal(nt_addr_format(&r.first, buf, sizeof buf),
	    "[::1]:4460");
	memset(&r, 0, sizeof r);
	nt_resolve(&loop, "127.0.0.1", 123, NT_FAMILY_V6, on_resolved, &r);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.n, 0);
	assert_string_equal(r.err, "127.0.0.1 is an IPv4 address, IPv6 "
	    "required");
	assert_int_equal(uv_run(&loop, UV_RUN_NOWAIT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void
test_resolve_name_on_loop(void **state)
{
	struct resolved r;
	char buf[NT_ADDRSTRLEN];
	uv_loop_t loop;

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	memset(&r, 0, sizeof r);
	/* From /etc/hosts: no DNS traffic leaves the machine. */
	nt_resolve(&loop, "localhost", 123, NT_FAMILY_V4, on_resolved, &r);
	assert_int_equal(r.calls, 0);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(r.calls, 1);
	if (r.n == 0)
		skip();		/* no localhost entry on this machine */
	assert_string_equal(r.err, "");
	assert_string_equal(nt_addr_format(&r.first, buf, sizeof buf),
	    "127.0.0.1:123");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format_v4),
		cmocka_unit_test(test_parse_format_v6),
		cmocka_unit_test(test_parse_scope),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_compare_and_port),
		cmocka_unit_test(test_loopback_v4),
		cmocka_unit_test(test_loopback_v6),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_port_unreachable),
		cmocka_unit_test(test_reuseport),
		cmocka_unit_test(test_errors_are_negative_errno),
		cmocka_unit_test(test_resolve_numeric_is_synchronous),
		cmocka_unit_test(test_resolve_name_on_loop),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
