/*
 * Name resolution for every role that takes server names.  The libuv
 * thread pool does the blocking getaddrinfo(); this file turns its result
 * into a short, deduplicated list of nt_addr and its errors back into the
 * resolver's own words (gai_strerror), which users know from other tools.
 */
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolve.h"

struct resolve_req {
	uv_getaddrinfo_t req;
	nt_resolve_cb	*cb;
	void		*ctx;
	uint16_t	port;
};

/* libuv renames the resolver's error codes; map them back. */
static const struct {
	int	uv;
	int	eai;
} eai_map[] = {
	{ UV_EAI_ADDRFAMILY, EAI_ADDRFAMILY },
	{ UV_EAI_AGAIN, EAI_AGAIN },
	{ UV_EAI_BADFLAGS, EAI_BADFLAGS },
	{ UV_EAI_CANCELED, EAI_CANCELED },
	{ UV_EAI_FAIL, EAI_FAIL },
	{ UV_EAI_FAMILY, EAI_FAMILY },
	{ UV_EAI_MEMORY, EAI_MEMORY },
	{ UV_EAI_NODATA, EAI_NODATA },
	{ UV_EAI_NONAME, EAI_NONAME },
	{ UV_EAI_OVERFLOW, EAI_OVERFLOW },
	{ UV_EAI_SERVICE, EAI_SERVICE },
	{ UV_EAI_SOCKTYPE, EAI_SOCKTYPE },
};

static const char *
resolve_strerror(int uv_status)
{
	for (size_t i = 0; i < sizeof eai_map / sizeof eai_map[0]; i++)
		if (eai_map[i].uv == uv_status)
			return (gai_strerror(eai_map[i].eai));
	return (uv_strerror(uv_status));
}

static int
family_of(enum nt_family_filter f)
{
	switch (f) {
	case NT_FAMILY_V4:
		return (AF_INET);
	case NT_FAMILY_V6:
		return (AF_INET6);
	case NT_FAMILY_ANY:
		return (AF_UNSPEC);
	}
	assert(!"bad nt_family_filter");
	return (AF_UNSPEC);
}

/* Append sa to addrs unless it is there already. */
static void
add_unique(struct nt_addr *addrs, size_t *n, const struct sockaddr *sa,
    socklen_t len, uint16_t port)
{
	struct nt_addr a;

	if (*n >= NT_RESOLVE_MAX || nt_addr_from_sockaddr(&a, sa, len) != 0)
		return;
	nt_addr_set_port(&a, port);
	for (size_t i = 0; i < *n; i++)
		if (nt_addr_cmp(&addrs[i], &a) == 0)
			return;
	addrs[(*n)++] = a;
}

static void
on_getaddrinfo(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct resolve_req *r = req->data;
	struct nt_addr *addrs;
	size_t n = 0;

	addrs = calloc(NT_RESOLVE_MAX, sizeof *addrs);
	if (status != 0)
		r->cb(r->ctx, NULL, 0, resolve_strerror(status));
	else if (addrs == NULL)
		r->cb(r->ctx, NULL, 0, strerror(ENOMEM));
	else {
		for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
			add_unique(addrs, &n, ai->ai_addr, ai->ai_addrlen,
			    r->port);
		r->cb(r->ctx, addrs, n, n > 0 ? NULL : "no usable address");
	}
	uv_freeaddrinfo(res);
	free(addrs);
	free(r);
}

/*
 * A numeric address: 1 if handled here (cb has run), 0 if host is a name.
 */
static int
resolve_numeric(const char *host, uint16_t port, int family,
    nt_resolve_cb *cb, void *ctx)
{
	struct nt_addr a;
	char err[128];

	if (nt_addr_parse(&a, host, port) != 0)
		return (0);
	if (family != AF_UNSPEC && family != nt_addr_family(&a)) {
		snprintf(err, sizeof err, "%s is an IPv%d address, IPv%d "
		    "required", host, family == AF_INET ? 6 : 4,
		    family == AF_INET ? 4 : 6);
		cb(ctx, NULL, 0, err);
	} else
		cb(ctx, &a, 1, NULL);
	return (1);
}

void
nt_resolve(uv_loop_t *loop, const char *host, uint16_t port,
    enum nt_family_filter family, nt_resolve_cb *cb, void *ctx)
{
	struct resolve_req *r;
	struct addrinfo hints;
	int status;

	assert(host != NULL && cb != NULL);
	if (resolve_numeric(host, port, family_of(family), cb, ctx))
		return;
	if ((r = calloc(1, sizeof *r)) == NULL) {
		cb(ctx, NULL, 0, strerror(ENOMEM));
		return;
	}
	r->cb = cb;
	r->ctx = ctx;
	r->port = port;
	r->req.data = r;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = family_of(family);
	hints.ai_socktype = SOCK_DGRAM;
	status = uv_getaddrinfo(loop, &r->req, on_getaddrinfo, host, NULL,
	    &hints);
	if (status != 0) {
		free(r);
		cb(ctx, NULL, 0, resolve_strerror(status));
	}
}
