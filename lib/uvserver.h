/*
 * The server's socket layer: worker threads, each with its own libuv loop
 * and its own SO_REUSEPORT socket per listening address, moving datagrams
 * in batches (recvmmsg/sendmmsg) between the kernel and the sans-I/O
 * reply logic of server.h.  The kernel spreads clients over the workers;
 * nothing is shared between workers but the read-only access list and
 * the snapshot of what we advertise, which the main thread publishes
 * after every clock update and workers pick up at their next batch.
 *
 * Time: every datagram's receive time is the kernel's software stamp
 * (SO_TIMESTAMPING), mapped through the clock's from_kernel; the transmit
 * time is read once per chunk of up to 8 replies, after they are built
 * and just before the sendmmsg() that sends them.  The clock's now and
 * from_kernel must be safe to call from several threads.
 */
#ifndef NTIMED_UVSERVER_H
#define NTIMED_UVSERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "clock.h"
#include "net.h"
#include "server.h"

#define NT_UVSERVER_MAX_WORKERS 256
#define NT_UVSERVER_MAX_LISTEN 64

struct nt_uvserver_params {
	const struct nt_addr *listen;	/* addresses and ports to bind */
	size_t		n_listen;
	/*
	 * The listen list is the default (0.0.0.0 and ::): a family this
	 * host does not have is skipped with a notice, not an error.
	 */
	bool		listen_default;
	int		workers;	/* 1..NT_UVSERVER_MAX_WORKERS */
	struct nt_clock	*clk;
	struct nt_server_params srv;	/* srv.acl must outlive the server */
	bool		no_mmsg;	/* one recvmsg/sendmsg per datagram */
};

struct nt_uvserver;

/*
 * Bind every address for every worker and start the workers, serving st
 * until the next nt_uvserver_publish().  Returns NULL with a one-line
 * reason in err ("127.0.0.1:123: Address already in use ...") when any
 * address cannot be bound; nothing is left running then.
 */
struct nt_uvserver *nt_uvserver_start(const struct nt_uvserver_params *p,
    const struct nt_server_state *st, char *err, size_t errlen);

/* A new snapshot for every worker (any thread, usually the main one). */
void nt_uvserver_publish(struct nt_uvserver *s,
    const struct nt_server_state *st);

/* Sum of every worker's counters, as of their last batch. */
void nt_uvserver_counters(struct nt_uvserver *s, struct nt_server_counters *c);

/* Addresses actually bound (port 0 resolved), one per listen entry used. */
size_t nt_uvserver_n_addrs(const struct nt_uvserver *s);
const struct nt_addr *nt_uvserver_addr(const struct nt_uvserver *s, size_t i);
int nt_uvserver_workers(const struct nt_uvserver *s);
/* Kind of receive timestamps the sockets got (the first socket's). */
enum nt_rx_stamping nt_uvserver_stamping(const struct nt_uvserver *s);

/* Stop and join the workers, close the sockets, free everything. */
void nt_uvserver_stop(struct nt_uvserver *s);

#endif
