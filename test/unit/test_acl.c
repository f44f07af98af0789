/*
 * Access control: prefixes as an operator writes them, the mistakes an
 * operator makes (host bits, bad lengths, names), prefix boundaries that
 * are not byte-aligned, IPv4 clients seen as IPv4-mapped IPv6, families
 * kept apart, and deny winning over allow.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <cmocka.h>

#include "acl.h"

static struct nt_ipaddr
ip(const char *s)
{
	struct nt_ipaddr a;

	assert_int_equal(nt_ipaddr_parse(&a, s), 0);
	return (a);
}

static struct nt_cidr
cidr(const char *s)
{
	char err[160] = "";
	struct nt_cidr c;

	if (nt_cidr_parse(&c, s, err, sizeof err) != 0)
		fail_msg("%s: %s", s, err);
	return (c);
}

static bool
matches(const char *prefix, const char *addr)
{
	struct nt_cidr c = cidr(prefix);
	struct nt_ipaddr a = ip(addr);

	return (nt_cidr_match(&c, &a));
}

static void
check_format(const char *in, const char *want)
{
	struct nt_cidr c = cidr(in);
	char buf[NT_CIDR_STRLEN];

	assert_string_equal(nt_cidr_format(&c, buf, sizeof buf), want);
}

static void
test_parse_forms(void **state)
{
	(void)state;
	check_format("192.0.2.0/24", "192.0.2.0/24");
	check_format("192.0.2.1", "192.0.2.1/32");
	check_format("0.0.0.0/0", "0.0.0.0/0");
	check_format("2001:DB8::/32", "2001:db8::/32");
	check_format("::1", "::1/128");
	check_format("::/0", "::/0");
	/* IPv4-mapped IPv6 prefixes are IPv4 prefixes. */
	check_format("::ffff:10.0.0.0/104", "10.0.0.0/8");
	check_format("::ffff:0:0/96", "0.0.0.0/0");
	assert_true(cidr("::ffff:10.0.0.0/104").v4);
	assert_false(cidr("::/0").v4);
	assert_true(cidr("10.0.0.0/8").v4);
}

static void
check_error(const char *in, const char *want)
{
	char err[160] = "";
	struct nt_cidr c;

	assert_int_equal(nt_cidr_parse(&c, in, err, sizeof err), -1);
	assert_string_equal(err, want);
}

static void
test_parse_errors(void **state)
{
	(void)state;
	check_error("10.1.2.3/8",
	    "'10.1.2.3/8' has host bits set (did you mean 10.0.0.0/8?)");
	check_error("192.0.2.129/25",
	    "'192.0.2.129/25' has host bits set (did you mean 192.0.2.128/25?)");
	check_error("2001:db8::1/64",
	    "'2001:db8::1/64' has host bits set (did you mean 2001:db8::/64?)");
	check_error("1.2.3.4/33", "'1.2.3.4/33': the prefix length must be 0..32");
	check_error("::/129", "'::/129': the prefix length must be 0..128");
	check_error("1.2.3.4/", "'1.2.3.4/': the prefix length must be 0..32");
	check_error("1.2.3.4/-1", "'1.2.3.4/-1': the prefix length must be 0..32");
	check_error("1.2.3.4/ 8", "'1.2.3.4/ 8': the prefix length must be 0..32");
	check_error("1.2.3.0/24x", "'1.2.3.0/24x': the prefix length must be 0..32");
	check_error("/8", "'/8' is not an address or prefix");
	check_error("", "'' is not an address or prefix");
	check_error("example.org", "'example.org' is not a numeric IPv4 or IPv6 "
	    "address");
	check_error("127.1", "'127.1' is not a numeric IPv4 or IPv6 address");
	check_error("fe80::1%eth0", "'fe80::1%eth0' is not a numeric IPv4 or "
	    "IPv6 address");
	check_error("1.2.3.4.5/8", "'1.2.3.4.5' is not a numeric IPv4 or IPv6 "
	    "address");
}

static void
test_match_boundaries(void **state)
{
	(void)state;
	assert_true(matches("192.0.2.0/24", "192.0.2.0"));
	assert_true(matches("192.0.2.0/24", "192.0.2.255"));
	assert_false(matches("192.0.2.0/24", "192.0.3.0"));
	assert_false(matches("192.0.2.0/24", "192.0.1.255"));
	/* Not on a byte boundary. */
	assert_true(matches("192.0.2.128/25", "192.0.2.128"));
	assert_true(matches("192.0.2.128/25", "192.0.2.255"));
	assert_false(matches("192.0.2.128/25", "192.0.2.127"));
	assert_true(matches("10.0.0.0/13", "10.7.255.255"));
	assert_false(matches("10.0.0.0/13", "10.8.0.0"));
	assert_true(matches("128.0.0.0/1", "255.255.255.255"));
	assert_false(matches("128.0.0.0/1", "127.255.255.255"));
	/* One host, and everything. */
	assert_true(matches("192.0.2.1", "192.0.2.1"));
	assert_false(matches("192.0.2.1", "192.0.2.2"));
	assert_true(matches("192.0.2.0/31", "192.0.2.1"));
	assert_false(matches("192.0.2.0/31", "192.0.2.2"));
	assert_true(matches("0.0.0.0/0", "203.0.113.7"));
	assert_true(matches("2001:db8::/32", "2001:db8:ffff::1"));
	assert_false(matches("2001:db8::/32", "2001:db9::1"));
	assert_true(matches("2001:db8::/33", "2001:db8:7fff::1"));
	assert_false(matches("2001:db8::/33", "2001:db8:8000::1"));
	assert_true(matches("::1", "::1"));
	assert_true(matches("::/0", "2001:db8::1"));
}

static void
test_families(void **state)
{
	(void)state;
	/* "::/0" is every IPv6 client, not every client. */
	assert_false(matches("::/0", "192.0.2.1"));
	assert_false(matches("0.0.0.0/0", "::1"));
	assert_false(matches("0.0.0.0/0", "2001:db8::1"));
	/* An IPv4 client on a dual-stack socket is still IPv4. */
	assert_true(matches("192.0.2.0/24", "::ffff:192.0.2.5"));
	assert_true(matches("::ffff:192.0.2.0/120", "192.0.2.5"));
	assert_true(matches("0.0.0.0/0", "::ffff:1.2.3.4"));
	assert_false(matches("192.0.2.0/24", "::192.0.2.5"));	/* compat, not mapped */
	/* A v6 prefix over the mapped range does not catch IPv4 clients. */
	assert_false(matches("::/80", "192.0.2.1"));
}

static void
test_ipaddr(void **state)
{
	struct sockaddr_in v4 = { .sin_family = AF_INET };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };
	struct nt_ipaddr a, b;

	(void)state;
	inet_pton(AF_INET, "192.0.2.9", &v4.sin_addr);
	nt_ipaddr_from_sockaddr(&a, (struct sockaddr *)&v4);
	inet_pton(AF_INET6, "::ffff:192.0.2.9", &v6.sin6_addr);
	nt_ipaddr_from_sockaddr(&b, (struct sockaddr *)&v6);
	assert_memory_equal(a.b, b.b, 16);
	assert_true(nt_ipaddr_is_v4(&a));
	b = ip("2001:db8::9");
	assert_false(nt_ipaddr_is_v4(&b));
	a = ip("127.255.0.3");
	assert_true(nt_ipaddr_is_loopback(&a));
	a = ip("::1");
	assert_true(nt_ipaddr_is_loopback(&a));
	a = ip("::ffff:127.0.0.1");
	assert_true(nt_ipaddr_is_loopback(&a));
	a = ip("128.0.0.1");
	assert_false(nt_ipaddr_is_loopback(&a));
	a = ip("::2");
	assert_false(nt_ipaddr_is_loopback(&a));
	assert_int_equal(nt_ipaddr_parse(&a, "localhost"), -1);
}

static bool
allowed(const struct nt_acl *acl, const char *addr)
{
	struct nt_ipaddr a = ip(addr);

	return (nt_acl_allowed(acl, &a));
}

static void
test_acl_rules(void **state)
{
	char *allow[] = { "192.0.2.0/24", "2001:db8::/32" };
	char *deny[] = { "192.0.2.128/25", "2001:db8:bad::/48" };
	char err[160] = "";
	struct nt_acl acl;

	(void)state;
	/* Nothing configured: everyone. */
	assert_int_equal(nt_acl_init(&acl, NULL, 0, NULL, 0, err, sizeof err),
	    0);
	assert_true(allowed(&acl, "203.0.113.1"));
	assert_true(allowed(&acl, "::1"));
	nt_acl_free(&acl);
	/* Allow lists restrict; deny wins inside them. */
	assert_int_equal(nt_acl_init(&acl, allow, 2, deny, 2, err, sizeof err),
	    0);
	assert_true(allowed(&acl, "192.0.2.1"));
	assert_true(allowed(&acl, "192.0.2.127"));
	assert_false(allowed(&acl, "192.0.2.128"));
	assert_false(allowed(&acl, "::ffff:192.0.2.200"));
	assert_false(allowed(&acl, "198.51.100.1"));
	assert_true(allowed(&acl, "2001:db8:1::1"));
	assert_false(allowed(&acl, "2001:db8:bad::1"));
	assert_false(allowed(&acl, "::1"));
	nt_acl_free(&acl);
	/* Deny only: everyone else. */
	assert_int_equal(nt_acl_init(&acl, NULL, 0, deny, 1, err, sizeof err),
	    0);
	assert_false(allowed(&acl, "192.0.2.200"));
	assert_true(allowed(&acl, "192.0.2.1"));
	assert_true(allowed(&acl, "2001:db8:bad::1"));
	nt_acl_free(&acl);
}

static void
test_acl_errors(void **state)
{
	char *good[] = { "10.0.0.0/8" };
	char *bad[] = { "10.0.0.0/8", "10.1.0.0/8" };
	char err[160] = "";
	struct nt_acl acl;

	(void)state;
	assert_int_equal(nt_acl_init(&acl, good, 1, bad, 2, err, sizeof err),
	    -1);
	assert_string_equal(err, "deny[1]: '10.1.0.0/8' has host bits set "
	    "(did you mean 10.0.0.0/8?)");
	assert_null(acl.allow);
	assert_null(acl.deny);
	assert_int_equal(nt_acl_init(&acl, bad, 2, NULL, 0, err, sizeof err),
	    -1);
	assert_string_equal(err, "allow[1]: '10.1.0.0/8' has host bits set "
	    "(did you mean 10.0.0.0/8?)");
	nt_acl_free(&acl);		/* harmless after a failure */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_match_boundaries),
		cmocka_unit_test(test_families),
		cmocka_unit_test(test_ipaddr),
		cmocka_unit_test(test_acl_rules),
		cmocka_unit_test(test_acl_errors),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
