/*
 * Access control for the server: address prefixes and the allow/deny
 * decision.  The lists are short (an operator's few networks) and scanned
 * in order; the check is a handful of byte compares per entry, cheap next
 * to the system calls that brought the packet in.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "hostport.h"

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0xff, 0xff };

void
nt_ipaddr_from_sockaddr(struct nt_ipaddr *ip, const struct sockaddr *sa)
{
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET) {
		memcpy(ip->b, v4_mapped, sizeof v4_mapped);
		memcpy(ip->b + 12, &v4->sin_addr, 4);
	} else {
		assert(sa->sa_family == AF_INET6);
		memcpy(ip->b, &v6->sin6_addr, 16);
	}
}

int
nt_ipaddr_parse(struct nt_ipaddr *ip, const char *s)
{
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		memcpy(ip->b, v4_mapped, sizeof v4_mapped);
		memcpy(ip->b + 12, &a4, 4);
		return (0);
	}
	return (inet_pton(AF_INET6, s, ip->b) == 1 ? 0 : -1);
}

bool
nt_ipaddr_is_v4(const struct nt_ipaddr *ip)
{
	return (memcmp(ip->b, v4_mapped, sizeof v4_mapped) == 0);
}

bool
nt_ipaddr_is_loopback(const struct nt_ipaddr *ip)
{
	static const uint8_t v6_lo[16] = { [15] = 1 };

	if (nt_ipaddr_is_v4(ip))
		return (ip->b[12] == 127);
	return (memcmp(ip->b, v6_lo, 16) == 0);
}

/* Does a equal b in the first bits bits? */
static bool
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	uint8_t mask;

	if (memcmp(a, b, whole) != 0)
		return (false);
	if (rest == 0)
		return (true);
	mask = (uint8_t)(0xff00u >> rest);
	return (((a[whole] ^ b[whole]) & mask) == 0);
}

bool
nt_cidr_match(const struct nt_cidr *c, const struct nt_ipaddr *ip)
{
	if (c->v4 != nt_ipaddr_is_v4(ip))
		return (false);
	return (prefix_equal(c->addr.b, ip->b, c->bits));
}

static bool
host_bits_zero(const struct nt_ipaddr *ip, unsigned bits)
{
	struct nt_ipaddr z = { { 0 } };

	for (unsigned i = 0; i < bits; i++)
		z.b[i / 8] |= ip->b[i / 8] & (uint8_t)(0x80u >> (i % 8));
	return (memcmp(z.b, ip->b, 16) == 0);
}

static void
clear_host_bits(struct nt_ipaddr *ip, unsigned bits)
{
	for (unsigned i = bits; i < 128; i++)
		ip->b[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
}

/* The prefix length after '/', or -1. */
static int
parse_bits(const char *s, int max)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return (-1);
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end != '\0' || errno != 0 || v > max)
		return (-1);
	return ((int)v);
}

int
nt_cidr_parse(struct nt_cidr *c, const char *s, char *err, size_t errlen)
{
	char host[NT_CIDR_STRLEN], canon[NT_CIDR_STRLEN], q[100];
	const char *slash = strchr(s, '/');
	size_t hlen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	int bits, max;

	memset(c, 0, sizeof *c);
	if (hlen == 0 || hlen >= sizeof host) {
		snprintf(err, errlen, "'%s' is not an address or prefix",
		    nt_printable(s, q, sizeof q));
		return (-1);
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (nt_ipaddr_parse(&c->addr, host) != 0) {
		snprintf(err, errlen, "'%s' is not a numeric IPv4 or IPv6 "
		    "address", nt_printable(host, q, sizeof q));
		return (-1);
	}
	max = strchr(host, ':') == NULL ? 32 : 128;
	bits = slash == NULL ? max : parse_bits(slash + 1, max);
	if (bits < 0) {
		snprintf(err, errlen, "'%s': the prefix length must be 0..%d",
		    nt_printable(s, q, sizeof q), max);
		return (-1);
	}
	if (max == 32)
		bits += 96;
	c->v4 = nt_ipaddr_is_v4(&c->addr) && bits >= 96;
	c->bits = (uint8_t)bits;
	if (!host_bits_zero(&c->addr, c->bits)) {
		clear_host_bits(&c->addr, c->bits);
		snprintf(err, errlen, "'%s' has host bits set (did you mean "
		    "%s?)", s, nt_cidr_format(c, canon, sizeof canon));
		return (-1);
	}
	return (0);
}

const char *
nt_cidr_format(const struct nt_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (c->v4)
		inet_ntop(AF_INET, c->addr.b + 12, a, sizeof a);
	else
		inet_ntop(AF_INET6, c->addr.b, a, sizeof a);
	snprintf(buf, len, "%s/%d", a, c->v4 ? c->bits - 96 : c->bits);
	return (buf);
}

static int
parse_list(struct nt_cidr **out, char *const *in, size_t n, const char *what,
    char *err, size_t errlen)
{
	char reason[160];

	*out = NULL;
	if (n == 0)
		return (0);
	*out = calloc(n, sizeof **out);
	if (*out == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	for (size_t i = 0; i < n; i++) {
		if (nt_cidr_parse(&(*out)[i], in[i], reason, sizeof reason)) {
			snprintf(err, errlen, "%s[%zu]: %s", what, i, reason);
			free(*out);
			*out = NULL;
			return (-1);
		}
	}
	return (0);
}

int
nt_acl_init(struct nt_acl *acl, char *const *allow, size_t n_allow,
    char *const *deny, size_t n_deny, char *err, size_t errlen)
{
	memset(acl, 0, sizeof *acl);
	if (parse_list(&acl->allow, allow, n_allow, "allow", err, errlen))
		return (-1);
	if (parse_list(&acl->deny, deny, n_deny, "deny", err, errlen)) {
		free(acl->allow);
		acl->allow = NULL;
		return (-1);
	}
	acl->n_allow = n_allow;
	acl->n_deny = n_deny;
	return (0);
}

void
nt_acl_free(struct nt_acl *acl)
{
	free(acl->allow);
	free(acl->deny);
	memset(acl, 0, sizeof *acl);
}

bool
nt_acl_allowed(const struct nt_acl *acl, const struct nt_ipaddr *ip)
{
	for (size_t i = 0; i < acl->n_deny; i++)
		if (nt_cidr_match(&acl->deny[i], ip))
			return (false);
	if (acl->n_allow == 0)
		return (true);
	for (size_t i = 0; i < acl->n_allow; i++)
		if (nt_cidr_match(&acl->allow[i], ip))
			return (true);
	return (false);
}
