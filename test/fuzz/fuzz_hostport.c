/*
 * Fuzz target: "HOST[:PORT]" parsing (nt_parse_hostport), numeric address
 * parsing (nt_addr_parse) and the command-line path that joins them
 * (nt_conf_add_server_arg), as `ntimed query ARG` and `client ARG` use
 * them.  The first byte picks the host buffer size, allocated to the byte,
 * so any write past it is caught.  A host that parses must read back the
 * same on its own, and an address must format and parse back to itself.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conf.h"
#include "fuzz.h"
#include "hostport.h"
#include "net.h"

#define MAX_ARG 600

static void
check_address(const char *host, uint16_t port)
{
	char buf[NT_ADDRSTRLEN], back[NT_ADDRSTRLEN], err[128];
	struct nt_addr a, b;
	uint16_t port2;

	if (nt_addr_parse(&a, host, port) != 0)
		return;
	FZ_CHECK(nt_addr_family(&a) == AF_INET ||
	    nt_addr_family(&a) == AF_INET6);
	FZ_CHECK(nt_addr_port(&a) == port);
	nt_addr_format(&a, buf, sizeof buf);
	FZ_CHECK(strnlen(buf, sizeof buf) < sizeof buf);
	FZ_CHECK(nt_parse_hostport(buf, back, sizeof back, &port2, 1, err,
	    sizeof err) == 0);
	FZ_CHECK(port2 == port || port == 0);
	FZ_CHECK(nt_addr_parse(&b, back, port) == 0);
	FZ_CHECK(nt_addr_cmp(&a, &b) == 0);
	nt_addr_format_host(&a, buf, sizeof buf);
	FZ_CHECK(strnlen(buf, sizeof buf) < sizeof buf);
	(void)nt_addr_refid(&a);
}

/* A host on its own (as the config printer writes it) reads back as is. */
static void
check_host_alone(const char *host)
{
	char back[NT_HOSTLEN + 8], err[128];
	uint16_t port;

	FZ_CHECK(nt_parse_hostport(host, back, sizeof back, &port, 77, err,
	    sizeof err) == 0);
	FZ_CHECK(strcmp(back, host) == 0 && port == 77);
}

static void
check_server_arg(const char *arg)
{
	char err[NT_CONF_ERRLEN];
	struct nt_conf c;

	nt_conf_init(&c);
	err[0] = '\0';
	if (nt_conf_add_server_arg(&c, arg, err, sizeof err) == 0)
		FZ_CHECK(c.n_servers == 1 && c.servers[0].port != 0);
	else
		fz_check_message(err, sizeof err, "");
	nt_conf_free(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char arg[MAX_ARG + 1], err[NT_CONF_ERRLEN], *host;
	size_t hostlen;
	uint16_t port;

	if (size < 1 || size > MAX_ARG)
		return (0);
	hostlen = 1 + data[0] % (NT_HOSTLEN + 8);
	memcpy(arg, data + 1, size - 1);
	arg[size - 1] = '\0';		/* argv strings end at the first NUL */
	host = malloc(hostlen);
	FZ_CHECK(host != NULL);
	err[0] = '\0';
	if (nt_parse_hostport(arg, host, hostlen, &port, 123, err,
	    sizeof err) == 0) {
		FZ_CHECK(strlen(host) > 0 && strlen(host) < hostlen);
		FZ_CHECK(port != 0);
		check_host_alone(host);
		check_address(host, port);
	} else
		fz_check_message(err, sizeof err, "");
	free(host);
	check_server_arg(arg);
	return (0);
}
