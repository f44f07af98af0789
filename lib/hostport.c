/*
 * Host/port splitting, shared by the config loader and every command line
 * that takes an address, so that "[::1]:123" means the same everywhere.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostport.h"
#include "json.h"

#define QUOTED_MAX 100		/* bytes of an argument echoed in a message */

/*
 * A valid 3-byte sequence that would mislead a reader though it prints
 * nothing: line and paragraph separators, bidirectional controls (which
 * reorder what follows) and the BOM.
 */
static bool
invisible(const unsigned char *p, int n)
{
	unsigned cp;

	if (n != 3)
		return (false);
	cp = (p[0] & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu);
	return ((cp >= 0x200e && cp <= 0x200f) || (cp >= 0x2028 &&
	    cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff);
}

const char *
nt_printable(const char *s, char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, left = strlen(s);

	assert(buf != NULL && len >= 8);
	while (left > 0) {
		int n = nt_utf8_seq(p, left);
		/*
		 * A C0 or C1 control, an invisible character, or a byte that
		 * is not UTF-8: each of its bytes as "\xNN".
		 */
		bool esc = n < 0 || *p < 0x20 || *p == 0x7f ||
		    (*p == 0xc2 && p[1] < 0xa0) || invisible(p, n);
		size_t take = n < 0 ? 1 : (size_t)n;
		size_t need = esc ? 4 * take : take;

		if (o + need + 4 > len) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (esc) {
			for (size_t k = 0; k < take; k++)
				o += (size_t)snprintf(buf + o, len - o,
				    "\\x%02x", p[k]);
		} else {
			memcpy(buf + o, p, take);
			o += take;
		}
		p += take;
		left -= take;
	}
	buf[o] = '\0';
	return (buf);
}

static int
parse_port(const char *s, uint16_t *port, char *err, size_t errlen)
{
	char *end, q[QUOTED_MAX];
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	/* Digits only: strtol() alone would take " 123" and "+123". */
	if (*s == '\0' || s[strspn(s, "0123456789")] != '\0' ||
	    *end != '\0' || errno != 0 || v < 1 || v > 65535) {
		snprintf(err, errlen, "invalid port '%s' (expected 1-65535)",
		    nt_printable(s, q, sizeof q));
		return (-1);
	}
	*port = (uint16_t)v;
	return (0);
}

static int
copy_host(char *host, size_t hostlen, const char *s, size_t n,
    char *err, size_t errlen)
{
	if (n == 0) {
		snprintf(err, errlen, "empty host name");
		return (-1);
	}
	if (n >= hostlen) {
		snprintf(err, errlen, "host name too long (%zu bytes, max %zu)",
		    n, hostlen - 1);
		return (-1);
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch <= ' ' || ch >= 0x7f || ch == '/' || ch == '[' ||
		    ch == ']') {
			snprintf(err, errlen, "invalid character in host name");
			return (-1);
		}
	}
	memcpy(host, s, n);
	host[n] = '\0';
	return (0);
}

/*
 * A host with two ':' or more must be an IPv6 address ("fe80::1%eth0"
 * keeps its scope for getaddrinfo()): "::1:21123" or "127.0.0.1:123:5"
 * would otherwise go to the resolver as a name.  0, or -1 and err.
 */
static int
check_ipv6(const char *host, char *err, size_t errlen)
{
	struct in6_addr a;
	char addr[INET6_ADDRSTRLEN], q[QUOTED_MAX];
	size_t n = strcspn(host, "%");

	if (n < sizeof addr) {
		memcpy(addr, host, n);
		addr[n] = '\0';
		if (inet_pton(AF_INET6, addr, &a) == 1)
			return (0);
	}
	snprintf(err, errlen, "'%s' is not an IPv6 address (a port after an "
	    "IPv6 address needs brackets: [::1]:123)",
	    nt_printable(host, q, sizeof q));
	return (-1);
}

/*
 * "[HOST]" or "[HOST]:PORT".  A name has no ':' and an IPv6 address at
 * least two; a host with exactly one would not read back the same once
 * printed without brackets (a config printed by --check-config).
 */
static int
parse_bracketed(const char *arg, char *host, size_t hostlen, uint16_t *port,
    char *err, size_t errlen)
{
	const char *close = strchr(arg, ']'), *colon;
	char q[QUOTED_MAX];

	if (close == NULL) {
		snprintf(err, errlen, "missing ']' in '%s'",
		    nt_printable(arg, q, sizeof q));
		return (-1);
	}
	if (copy_host(host, hostlen, arg + 1, (size_t)(close - arg - 1),
	    err, errlen))
		return (-1);
	colon = strchr(host, ':');
	if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		snprintf(err, errlen, "'%s' is neither a host name nor an "
		    "IPv6 address", nt_printable(host, q, sizeof q));
		return (-1);
	}
	if (colon != NULL && check_ipv6(host, err, errlen) != 0)
		return (-1);
	if (close[1] == '\0')
		return (0);
	if (close[1] != ':') {
		snprintf(err, errlen, "unexpected text after ']' in '%s'",
		    nt_printable(arg, q, sizeof q));
		return (-1);
	}
	return (parse_port(close + 2, port, err, errlen));
}

int
nt_parse_hostport(const char *arg, char *host, size_t hostlen,
    uint16_t *port, uint16_t default_port, char *err, size_t errlen)
{
	const char *colon;

	assert(arg != NULL && host != NULL && hostlen > 0 && port != NULL);
	*port = default_port;
	if (arg[0] == '[')
		return (parse_bracketed(arg, host, hostlen, port, err,
		    errlen));
	colon = strchr(arg, ':');
	if (colon != NULL && strchr(colon + 1, ':') != NULL)	/* bare IPv6 */
		return (copy_host(host, hostlen, arg, strlen(arg), err,
		    errlen) != 0 ? -1 : check_ipv6(host, err, errlen));
	if (colon == NULL)
		return (copy_host(host, hostlen, arg, strlen(arg), err, errlen));
	if (copy_host(host, hostlen, arg, (size_t)(colon - arg), err, errlen))
		return (-1);
	return (parse_port(colon + 1, port, err, errlen));
}
