/*
 * The real-time adapter for the client engine: sockets, kernel receive
 * timestamps, name resolution and one timer on a libuv loop.  It holds no
 * timekeeping logic; that is all in engine.c, which the simulator drives
 * the same way.
 */
#ifndef NTIMED_UVCLIENT_H
#define NTIMED_UVCLIENT_H

#include <uv.h>

#include "conf.h"
#include "engine.h"
#include "resolve.h"

struct nt_uvclient;

struct nt_uvclient *nt_uvclient_new(uv_loop_t *loop,
    const struct nt_engine_params *p, struct nt_clock *clk,
    void (*on_update)(void *ctx, const struct nt_update *u), void *ctx);
/* Close handles; the caller then runs the loop until it is empty. */
void nt_uvclient_close(struct nt_uvclient *c);
void nt_uvclient_free(struct nt_uvclient *c);

/* Resolve and add a server, or a pool's addresses.  Names are retried. */
void nt_uvclient_add_server(struct nt_uvclient *c,
    const struct nt_server_conf *sc, enum nt_family_filter fam);
void nt_uvclient_add_pool(struct nt_uvclient *c, const struct nt_pool_conf *pc,
    enum nt_family_filter fam);

struct nt_engine *nt_uvclient_engine(struct nt_uvclient *c);
/* Log c's samples and updates to sl's files (NULL: none, the default). */
struct nt_statslog;
void nt_uvclient_set_statslog(struct nt_uvclient *c, struct nt_statslog *sl);
/* Run the engine now and re-arm its timer (after feeding it samples). */
void nt_uvclient_run(struct nt_uvclient *c);
/*
 * After a restart (reload, remove-server): the sources of c that are the
 * same servers as sources of old take over their measurements, those in
 * c now and those whose names are still being looked up when they are
 * found.  unslewed: what old's slew had still to do.  Returns how many
 * took over now.
 */
int nt_uvclient_inherit(struct nt_uvclient *c, const struct nt_engine *old,
    double unslewed);

/* Names still waiting for an answer from the resolver. */
int nt_uvclient_resolving(const struct nt_uvclient *c);
/* Names that failed at least once, and sources that could not be opened. */
int nt_uvclient_failed(const struct nt_uvclient *c);
/*
 * Why the server or pool sc has no source, when its last lookup gave no
 * address: the reason (the resolver's words), with *state "cannot
 * resolve" or "not used" (ruled out by -4 or -6).  NULL otherwise.
 * Kept after nt_uvclient_close(), for what --once prints.
 */
const char *nt_uvclient_unresolved(struct nt_uvclient *c,
    const struct nt_server_conf *sc, const char **state);

#endif
