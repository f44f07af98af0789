/*
 * Tests for host/port splitting.  Every address a user types goes through
 * nt_parse_hostport(), so each accepted form and each way to get it wrong
 * is pinned down here, including the IPv6 forms that are easy to misread.
 *
 * Decided here: a link-local IPv6 address with a scope ("fe80::1%eth0")
 * is accepted as a host, bare or in brackets, and passed on unchanged for
 * getaddrinfo() to resolve the scope.  A bare IPv6 address never carries a
 * port: "::1:123" is the address ::1:123; write "[::1]:123" for a port.
 * A host with two ':' or more that is no IPv6 address ("::1:21123",
 * "127.0.0.1:123:5") is refused, never handed to the resolver as a name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hostport.h"

#define DEFPORT 4460

static void
assert_ok(const char *arg, const char *want_host, uint16_t want_port)
{
	char host[256], err[128] = "";
	uint16_t port = 0;

	if (nt_parse_hostport(arg, host, sizeof(host), &port, DEFPORT, err,
	    sizeof(err)) != 0) {
		print_error("'%s' rejected: %s\n", arg, err);
		fail();
	}
	assert_string_equal(host, want_host);
	assert_int_equal(port, want_port);
}

/* Rejected, with a one-line reason that contains want_in_err. */
static void
assert_bad_len(const char *arg, size_t hostlen, const char *want_in_err)
{
	char host[256], err[128] = "";
	uint16_t port = 0;

	assert_true(hostlen <= sizeof(host));
	if (nt_parse_hostport(arg, host, hostlen, &port, DEFPORT, err,
	    sizeof(err)) == 0) {
		print_error("'%s' accepted as host '%s' port %u\n", arg, host,
		    port);
		fail();
	}
	assert_true(strlen(err) > 0);
	assert_null(strchr(err, '\n'));
	if (strstr(err, want_in_err) == NULL) {
		print_error("'%s': error '%s' lacks '%s'\n", arg, err,
		    want_in_err);
		fail();
	}
}

static void
assert_bad(const char *arg, const char *want_in_err)
{
	assert_bad_len(arg, 256, want_in_err);
}

static void
test_names(void **state)
{
	(void)state;
	assert_ok("host", "host", DEFPORT);
	assert_ok("host:123", "host", 123);
	assert_ok("ntp.example.org:10123", "ntp.example.org", 10123);
	assert_ok("1.2.3.4", "1.2.3.4", DEFPORT);
	assert_ok("1.2.3.4:1", "1.2.3.4", 1);
	assert_ok("1.2.3.4:65535", "1.2.3.4", 65535);
	assert_ok("localhost:00123", "localhost", 123);
}

static void
test_ipv6(void **state)
{
	(void)state;
	assert_ok("[::1]", "::1", DEFPORT);
	assert_ok("[::1]:10123", "::1", 10123);
	assert_ok("::1", "::1", DEFPORT);
	assert_ok("2001:db8::1", "2001:db8::1", DEFPORT);
	assert_ok("[2001:db8::1]:123", "2001:db8::1", 123);
	assert_ok("::ffff:1.2.3.4", "::ffff:1.2.3.4", DEFPORT);
	/* Bare IPv6 takes no port: this is one address. */
	assert_ok("::1:123", "::1:123", DEFPORT);
	/* Scoped link-local: kept whole for getaddrinfo(). */
	assert_ok("fe80::1%eth0", "fe80::1%eth0", DEFPORT);
	assert_ok("[fe80::1%eth0]:123", "fe80::1%eth0", 123);
	/* Brackets around a name are harmless. */
	assert_ok("[host]:123", "host", 123);
}

static void
test_bad_port(void **state)
{
	(void)state;
	assert_bad("1.2.3.4:0", "port");
	assert_bad("host:99999", "port");
	assert_bad("host:65536", "port");
	assert_bad("host:abc", "port");
	assert_bad("host:", "port");
	assert_bad("host:12a", "port");
	assert_bad("host:-1", "port");
	assert_bad("host:+123", "port");
	assert_bad("host: 123", "port");
	assert_bad("host:123 ", "port");
	assert_bad("host:99999999999999999999", "port");
	assert_bad("[::1]:", "port");
	assert_bad("[::1]:0", "port");
	assert_bad("[::1]:x", "port");
}

static void
test_bad_host(void **state)
{
	(void)state;
	assert_bad(":123", "empty");
	assert_bad("", "empty");
	assert_bad("[]", "empty");
	assert_bad("[]:123", "empty");
	assert_bad("[::1", "]");
	assert_bad("[", "]");
	assert_bad("[::1]x", "after");
	assert_bad("[::1]]", "after");
	assert_bad("[::1]:123:", "port");
	assert_bad("ho st", "character");
	assert_bad("a/b:123", "character");
	assert_bad("host\n", "character");
	assert_bad("a]b", "character");
	assert_bad("\x7f", "character");
	assert_bad("h\xc3\xa9", "character");
	/* Two ':' or more: an IPv6 address, or refused (not a name). */
	assert_bad("::1:21123", "not an IPv6 address");
	assert_bad("127.0.0.1:123:5", "needs brackets");
	assert_bad("host:12:3", "not an IPv6 address");
	assert_bad("[a:b:c]:123", "not an IPv6 address");
	assert_bad("fe80::1x%eth0", "not an IPv6 address");
}

static void
test_overlong(void **state)
{
	char arg[600];

	(void)state;
	/* With a 16-byte buffer 15 characters fit, 16 do not. */
	{
		char host[16], err[128];
		uint16_t port;

		assert_int_equal(nt_parse_hostport("abcdefghijklmno:9", host,
		    sizeof(host), &port, DEFPORT, err, sizeof(err)), 0);
		assert_string_equal(host, "abcdefghijklmno");
		assert_int_equal(port, 9);
	}
	assert_bad_len("abcdefghijklmnop", 16, "too long");
	assert_bad_len("abcdefghijklmnop:123", 16, "too long");
	assert_bad_len("[1:2:3:4:5:6:7:88]", 16, "too long");
	assert_bad_len("1:2:3:4:5:6:7:88", 16, "too long");
	/* A long argument against the full buffer. */
	memset(arg, 'a', sizeof(arg) - 1);
	arg[sizeof(arg) - 1] = '\0';
	assert_bad(arg, "too long");
	memcpy(arg + 300, ":123", 5);
	assert_bad(arg, "too long");
	/* The error buffer is small: still a terminated string. */
	{
		char host[256], err[8];
		uint16_t port;

		assert_int_equal(nt_parse_hostport("host:abc", host,
		    sizeof(host), &port, DEFPORT, err, sizeof(err)), -1);
		assert_int_equal(strlen(err), sizeof(err) - 1);
	}
}

/* Controls and bytes that are not UTF-8 escaped; valid UTF-8 kept. */
static void
test_printable(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(nt_printable("a\nb\x1b[31m", buf, sizeof buf),
	    "a\\x0ab\\x1b[31m");
	assert_string_equal(nt_printable("\xff\xfe", buf, sizeof buf),
	    "\\xff\\xfe");
	assert_string_equal(nt_printable("caf\xc3\xa9 \xe2\x82\xac", buf,
	    sizeof buf), "caf\xc3\xa9 \xe2\x82\xac");
	/* A cut sequence, an overlong, a C1 control (U+009B, CSI). */
	assert_string_equal(nt_printable("\xe2\x82", buf, sizeof buf),
	    "\\xe2\\x82");
	assert_string_equal(nt_printable("\xc0\xaf", buf, sizeof buf),
	    "\\xc0\\xaf");
	assert_string_equal(nt_printable("\xc2\x9b", buf, sizeof buf),
	    "\\xc2\\x9b");
	/* Right-to-left override (U+202E), line separator (U+2028). */
	assert_string_equal(nt_printable("a\xe2\x80\xae" "b\xe2\x80\xa8",
	    buf, sizeof buf), "a\\xe2\\x80\\xaeb\\xe2\\x80\\xa8");
	/* Cut to fit, never inside an escape. */
	assert_string_equal(nt_printable("\xff\xff\xff\xff", buf, 12),
	    "\\xff\\xff...");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_bad_port),
		cmocka_unit_test(test_bad_host),
		cmocka_unit_test(test_overlong),
		cmocka_unit_test(test_printable),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
