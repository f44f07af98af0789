/*
 * Host names to socket addresses on the event loop.  Numeric addresses
 * never leave the calling thread (so "ntimed query 127.0.0.1" works with
 * a broken resolver and costs no thread); names go through libuv's thread
 * pool so that a slow DNS server stalls nothing else.
 */
#ifndef NTIMED_RESOLVE_H
#define NTIMED_RESOLVE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "net.h"

enum nt_family_filter {
	NT_FAMILY_ANY = 0,
	NT_FAMILY_V4,
	NT_FAMILY_V6,
};

#define NT_RESOLVE_MAX 64	/* addresses passed to the callback, at most */

/*
 * The outcome: n >= 1 addresses (resolver order, duplicates dropped, all
 * with the requested port) and err NULL; or n == 0 and a one-line err
 * ("Name or service not known").  Both are valid only during the call.
 */
typedef void nt_resolve_cb(void *ctx, const struct nt_addr *addrs, size_t n,
    const char *err);

/*
 * Resolve host (a name or a numeric address, without brackets or port).
 * cb runs exactly once: before nt_resolve() returns for a numeric address
 * or a lookup that cannot even start, else later from the loop.
 */
void nt_resolve(uv_loop_t *loop, const char *host, uint16_t port,
    enum nt_family_filter family, nt_resolve_cb *cb, void *ctx);

#endif
