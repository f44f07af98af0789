/*
 * The NTS-KE server (RFC 8915 section 4) and the NTS key state on disk:
 * the I/O half of nts_server.h.  A few threads of their own accept TCP
 * connections on the KE addresses and each moves up to
 * NTS_KE_SERVER_CONNS of them along at once, without blocking: TLS 1.3
 * only, ALPN ntske/1 mandatory, one request of at most
 * NTS_KE_MAX_REQUEST bytes, the answer, close -- all within a deadline.
 * Each connection costs a bounded buffer and lives until its deadline at
 * most; when a thread's table is full, a new connection takes the place
 * of the one waiting longest among those of the address holding the
 * most.  So idle or slow connections (slowloris), even churned from
 * one address, cannot keep real clients out, the threads and memory
 * stay bounded, and the NTP workers and the main loop never wait on
 * any of it.
 */
#ifndef NTIMED_NTS_KE_SERVER_H
#define NTIMED_NTS_KE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net.h"
#include "nts_server.h"

#define NTS_KE_SERVER_MAX_LISTEN 16
#define NTS_KE_SERVER_THREADS 4
#define NTS_KE_SERVER_CONNS 64		/* per thread, in progress at once */
#define NTS_KE_SERVER_TIMEOUT 5.0	/* s per connection, all in */

struct nts_ke_server_params {
	const struct nt_addr *listen;	/* TCP addresses for the KE */
	size_t		n_listen;
	bool		listen_default;	/* wildcards: skip a missing family */
	const char	*cert, *key;	/* PEM files: at start, and reload */
	const char	*keys_file;	/* server cookie keys */
	double		rotate;		/* s between server keys */
	uint16_t	ntp_port;	/* advertised if not 123 */
	const char	*ntp_server;	/* advertised if not NULL or "" */
};

struct nts_ke_counters {
	uint64_t	served, failed;
};

struct nts_ke_server;

/*
 * Load the certificate and key, the keys file (a new key if it does not
 * exist or is due), bind and listen, start the threads.  Call before
 * dropping privileges.  NULL and a one-line err on failure.
 */
struct nts_ke_server *nts_ke_server_start(
    const struct nts_ke_server_params *p, char *err, size_t errlen);
/* The keys the NTP workers use; lives as long as the server. */
struct nts_server *nts_ke_server_keys(struct nts_ke_server *s);
/*
 * From the main loop now and then (after dropping privileges): rotate
 * the key when due, and write the keys file when it changed.  0, or -1
 * with err (the old file stays).
 */
int nts_ke_server_maintain(struct nts_ke_server *s, char *err,
    size_t errlen);
/*
 * Read the certificate and key files again (a renewed certificate):
 * connections from now on use the new ones, those in progress finish
 * with the old.  0, or -1 with err (the old ones stay in use).  Runs with
 * the daemon's privileges of the moment: after the switch to an
 * unprivileged user, the files must be readable by it.
 */
int nts_ke_server_reload_cert(struct nts_ke_server *s, char *err,
    size_t errlen);
void nts_ke_server_counters(struct nts_ke_server *s,
    struct nts_ke_counters *c);
size_t nts_ke_server_n_addrs(const struct nts_ke_server *s);
const struct nt_addr *nts_ke_server_addr(const struct nts_ke_server *s,
    size_t i);
void nts_ke_server_stop(struct nts_ke_server *s);

#endif
