/*
 * Who may ask this server for the time: "allow" and "deny" lists of
 * address prefixes (CIDRs), deny winning, as an operator of chrony or ntpd
 * expects.  Sans-I/O: prefixes in, yes or no out.
 *
 * Addresses are kept in one 16-byte form, IPv6 with IPv4 written as
 * IPv4-mapped IPv6 (::ffff:a.b.c.d), so a client reaching a dual-stack
 * socket as ::ffff:192.0.2.1 is judged exactly like 192.0.2.1.  A prefix
 * keeps its family, though: "::/0" means every IPv6 client, not every
 * client, and "::ffff:10.0.0.0/104" is read as "10.0.0.0/8".
 */
#ifndef NTIMED_ACL_H
#define NTIMED_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An IPv6 address, or an IPv4 address as ::ffff:a.b.c.d. */
struct nt_ipaddr {
	uint8_t	b[16];
};

/* From an AF_INET or AF_INET6 socket address (the scope id is dropped). */
void nt_ipaddr_from_sockaddr(struct nt_ipaddr *ip, const struct sockaddr *sa);
/* Parse a numeric IPv4 or IPv6 address; returns 0 or -1. */
int nt_ipaddr_parse(struct nt_ipaddr *ip, const char *s);
bool nt_ipaddr_is_v4(const struct nt_ipaddr *ip);
/* 127.0.0.0/8 and ::1. */
bool nt_ipaddr_is_loopback(const struct nt_ipaddr *ip);

struct nt_cidr {
	struct nt_ipaddr addr;		/* host bits are zero */
	uint8_t		bits;		/* prefix length in the 16-byte form */
	bool		v4;		/* an IPv4 prefix (bits >= 96) */
};

#define NT_CIDR_STRLEN 64

/*
 * "192.0.2.0/24", "2001:db8::/32", "192.0.2.1" (one host), "::/0".
 * Host bits set ("10.1.2.3/8") are an error, so that a typo does not
 * silently open or close more than meant.  Returns 0, or -1 with a
 * one-line reason in err.
 */
int nt_cidr_parse(struct nt_cidr *c, const char *s, char *err, size_t errlen);
const char *nt_cidr_format(const struct nt_cidr *c, char *buf, size_t len);
bool nt_cidr_match(const struct nt_cidr *c, const struct nt_ipaddr *ip);

struct nt_acl {
	struct nt_cidr	*allow;		/* none: everyone not denied */
	size_t		n_allow;
	struct nt_cidr	*deny;
	size_t		n_deny;
};

/*
 * Build from the configuration's strings.  Returns 0, or -1 with
 * "allow[2]: reason" in err (nothing allocated then).
 */
int nt_acl_init(struct nt_acl *acl, char *const *allow, size_t n_allow,
    char *const *deny, size_t n_deny, char *err, size_t errlen);
void nt_acl_free(struct nt_acl *acl);
/* Deny wins; an empty allow list allows everyone else. */
bool nt_acl_allowed(const struct nt_acl *acl, const struct nt_ipaddr *ip);

#endif
