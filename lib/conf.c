/*
 * The ntimed configuration file: its schema, defaults and checks.  The
 * tables below are the single description of every key; yconf does the
 * reading, the error messages, the freeing and the printing from them, so
 * a new key is one table line plus a default in nt_conf_init().
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acl.h"
#include "conf.h"
#include "driftfile.h"
#include "nts.h"
#include "nts_ke_server.h"
#include "hostport.h"
#include "net.h"
#include "privdrop.h"
#include "ratelimit.h"
#include "sandbox.h"
#include "yconf.h"

#define NTP_PORT	123
#define MAX_SOURCES	256	/* entries in servers or pools */
#define MAX_LISTEN	64	/* server.listen entries */
#define MAX_CIDRS	1024	/* server.allow, server.deny entries */
#define MAX_DELAY	1000.0	/* s, the largest maxdelay (as chrony's) */

static const char * const level_names[] = {
	[NT_LOG_ERR] = "error",
	[NT_LOG_WARNING] = "warning",
	[NT_LOG_NOTICE] = "notice",
	[NT_LOG_INFO] = "info",
	[NT_LOG_DEBUG] = "debug",
	NULL,
};

static const char * const dest_names[] = {
	[NT_LOG_STDERR] = "stderr",
	[NT_LOG_SYSLOG] = "syslog",
	[NT_LOG_NONE] = "none",
	NULL,
};

/* Keys shared by servers and pools; P is the path to the server part. */
#define SERVER_KEYS(T, P)						\
	NT_YCONF_STRBUF("address", T, P address, NT_YCONF_REQUIRED,	\
	    "host name or address, optionally with :port"),		\
	NT_YCONF_INT("port", T, P port, 1, 65535,			\
	    "UDP port, default 123"),					\
	NT_YCONF_INT("minpoll", T, P minpoll, 0, 17,			\
	    "shortest poll interval, log2 seconds, default 6"),		\
	NT_YCONF_INT("maxpoll", T, P maxpoll, 0, 17,			\
	    "longest poll interval, log2 seconds, default 10"),		\
	NT_YCONF_BOOL("iburst", T, P iburst,				\
	    "send a quick burst at start, default true"),		\
	NT_YCONF_BOOL("prefer", T, P prefer,				\
	    "prefer this source when it is selectable, default false"),	\
	NT_YCONF_BOOL("noselect", T, P noselect,			\
	    "measure and show it, never select it, default false"),	\
	NT_YCONF_BOOL("trust", T, P trust,				\
	    "only other trusted sources can outvote it, default false"),\
	NT_YCONF_BOOL("require", T, P require,				\
	    "no update unless a required source is selectable, "	\
	    "default false"),						\
	NT_YCONF_DOUBLE("maxdelay", T, P maxdelay, 0, MAX_DELAY,	\
	    "drop samples with a longer round trip, seconds; "		\
	    "0: no limit"),						\
	NT_YCONF_BOOL("xleave", T, P xleave,				\
	    "ask for interleaved mode (RFC 9769), default false"),	\
	NT_YCONF_BOOL("nts", T, P nts,					\
	    "authenticate with NTS (RFC 8915), default false"),		\
	NT_YCONF_INT("nts_port", T, P nts_port, 1, 65535,		\
	    "NTS-KE (TCP) port, default 4460")

static const struct nt_yconf_key server_keys[] = {
	SERVER_KEYS(struct nt_server_conf, ),
};

static const struct nt_yconf_key pool_keys[] = {
	SERVER_KEYS(struct nt_pool_conf, server.),
	NT_YCONF_INT("max_sources", struct nt_pool_conf, max_sources, 1, 16,
	    "addresses of the pool to use, default 4"),
};

static void
server_init(void *p)
{
	nt_server_conf_init(p);
}

static void
pool_init(void *p)
{
	struct nt_pool_conf *pool = p;

	nt_server_conf_init(&pool->server);
	pool->max_sources = 4;
}

static int
server_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base);
static int
pool_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base);

static const struct nt_yconf_schema server_schema =
    NT_YCONF_SCHEMA(server_keys, server_init, server_check);
static const struct nt_yconf_schema pool_schema =
    NT_YCONF_SCHEMA(pool_keys, pool_init, pool_check);

static int
source_item(struct nt_yconf_walk *w, const struct nt_yconf_key *k,
    const struct nt_yconf_node *n, void *target, const char *label);

static const struct nt_yconf_key server_elem = {
	.name = "server", .type = NT_YCONF_T_CUSTOM,
	.size = sizeof(struct nt_server_conf), .sub = &server_schema,
	.custom = source_item,
	.doc = "\"host\", \"host:port\", \"[v6]:port\" or a mapping",
};

static const struct nt_yconf_key pool_elem = {
	.name = "pool", .type = NT_YCONF_T_CUSTOM,
	.size = sizeof(struct nt_pool_conf), .sub = &pool_schema,
	.custom = source_item,
	.doc = "a DNS name (\"name\" or \"name:port\") or a mapping",
};

static const struct nt_yconf_key log_keys[] = {
	NT_YCONF_ENUM("level", struct nt_conf, log_level, level_names,
	    "most verbose level logged, default notice"),
	NT_YCONF_ENUM("destination", struct nt_conf, log_dest, dest_names,
	    "where log lines go, default stderr"),
};

static const struct nt_yconf_schema log_schema =
    NT_YCONF_SCHEMA(log_keys, NULL, NULL);

static const char * const deny_names[] = {
	[NT_DENY_DROP] = "drop",
	[NT_DENY_KOD] = "kod",
	NULL,
};

static const struct nt_yconf_key ratelimit_keys[] = {
	NT_YCONF_DOUBLE("interval", struct nt_ratelimit_conf, interval, 0,
	    3600, "seconds per request a client may sustain; 0: no limit"),
	NT_YCONF_INT("burst", struct nt_ratelimit_conf, burst, 1, 100000,
	    "requests a client may send back to back"),
	NT_YCONF_BOOL("kod", struct nt_ratelimit_conf, kod,
	    "tell limited clients to slow down (KoD RATE, one per interval)"),
	NT_YCONF_BOOL("loopback", struct nt_ratelimit_conf, loopback,
	    "limit clients on the loopback interface too"),
	NT_YCONF_INT("table_size", struct nt_ratelimit_conf, table_size,
	    NT_RL_MIN_ENTRIES, NT_RL_MAX_ENTRIES,
	    "client addresses tracked per worker (fixed memory)"),
};

static const struct nt_yconf_schema ratelimit_schema =
    NT_YCONF_SCHEMA(ratelimit_keys, NULL, NULL);

static const struct nt_yconf_key listen_elem = {
	.name = "listen", .type = NT_YCONF_T_STRING, .size = 0,
};

static const struct nt_yconf_key cidr_elem = {
	.name = "prefix", .type = NT_YCONF_T_STRING, .size = 0,
};

static int
serve_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base);

static int
nts_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base);

static const struct nt_yconf_key nts_keys[] = {
	NT_YCONF_STRING("certificate", struct nt_nts_serve_conf, certificate,
	    NT_YCONF_NULLABLE, "PEM certificate chain of the NTS-KE server; "
	    "~: no NTS"),
	NT_YCONF_STRING("key", struct nt_nts_serve_conf, key,
	    NT_YCONF_NULLABLE,
	    "PEM private key of that certificate"),
	NT_YCONF_SEQ("listen", struct nt_nts_serve_conf, listen, n_listen,
	    &listen_elem, 0, NTS_KE_SERVER_MAX_LISTEN, "numeric addresses "
	    "(and TCP ports, default 4460) for NTS-KE; none: the server's"),
	NT_YCONF_INT("ntp_port", struct nt_nts_serve_conf, ntp_port, 0,
	    65535, "NTP port advertised to KE clients; 0: the server's"),
	NT_YCONF_STRING("ntp_server", struct nt_nts_serve_conf, ntp_server,
	    NT_YCONF_NULLABLE, "NTP server name or address advertised to KE "
	    "clients; ~: they use the KE server's"),
	NT_YCONF_STRBUF("keys", struct nt_nts_serve_conf, keys, 0,
	    "file keeping the cookie keys across restarts"),
	NT_YCONF_DOUBLE("rotate", struct nt_nts_serve_conf, rotate, 60,
	    365 * 86400.0, "seconds between new cookie keys, default 1 week"),
};

static const struct nt_yconf_schema nts_schema =
    NT_YCONF_SCHEMA(nts_keys, NULL, nts_check);

static const struct nt_yconf_key serve_keys[] = {
	NT_YCONF_SEQ("listen", struct nt_serve_conf, listen, n_listen,
	    &listen_elem, 0, MAX_LISTEN, "numeric addresses (and ports) to "
	    "serve on; none: 0.0.0.0 and ::"),
	NT_YCONF_INT("port", struct nt_serve_conf, port, 1, 65535,
	    "UDP port for listen entries without one, default 123"),
	NT_YCONF_INT("workers", struct nt_serve_conf, workers, 0, 256,
	    "threads serving, each with its own sockets; 0: one per CPU"),
	NT_YCONF_SEQ("allow", struct nt_serve_conf, allow, n_allow,
	    &cidr_elem, 0, MAX_CIDRS, "clients served (CIDRs); none: all"),
	NT_YCONF_SEQ("deny", struct nt_serve_conf, deny, n_deny,
	    &cidr_elem, 0, MAX_CIDRS, "clients refused (CIDRs); deny wins"),
	NT_YCONF_ENUM("denied", struct nt_serve_conf, denied, deny_names,
	    "what refused clients get: drop (nothing) or kod (KoD DENY)"),
	NT_YCONF_MAP("ratelimit", offsetof(struct nt_serve_conf, ratelimit),
	    &ratelimit_schema, "per-client token bucket"),
	NT_YCONF_INT("local_stratum", struct nt_serve_conf, local_stratum,
	    0, 15, "stratum served while not synchronized; 0: off"),
	NT_YCONF_MAP("nts", offsetof(struct nt_serve_conf, nts), &nts_schema,
	    "serve NTS (RFC 8915): NTS-KE over TLS and NTS-authenticated NTP"),
};

static const struct nt_yconf_schema serve_schema =
    NT_YCONF_SCHEMA(serve_keys, NULL, serve_check);

static int
control_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base);
static int
metrics_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base);

static const struct nt_yconf_key control_keys[] = {
	NT_YCONF_BOOL("enabled", struct nt_control_conf, enabled,
	    "listen on the local control socket, default true"),
	NT_YCONF_STRBUF("socket", struct nt_control_conf, socket, 0,
	    "its absolute path, default /run/ntimed/ntimed.sock"),
	NT_YCONF_STRBUF("group", struct nt_control_conf, group, 0,
	    "group whose members may read the state, default ntimed"),
};

static const struct nt_yconf_schema control_schema =
    NT_YCONF_SCHEMA(control_keys, NULL, control_check);

static const struct nt_yconf_key metrics_keys[] = {
	NT_YCONF_BOOL("enabled", struct nt_metrics_conf, enabled,
	    "serve Prometheus metrics over HTTP, default false"),
	NT_YCONF_STRBUF("listen", struct nt_metrics_conf, listen, 0,
	    "numeric ADDRESS:PORT, default 127.0.0.1:9975"),
};

static const struct nt_yconf_schema metrics_schema =
    NT_YCONF_SCHEMA(metrics_keys, NULL, metrics_check);

static int
stats_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base);

static const struct nt_yconf_key stats_keys[] = {
	NT_YCONF_STRBUF("dir", struct nt_stats_conf, dir, 0,
	    "directory of the log files, default /var/log/ntimed"),
	NT_YCONF_BOOL("measurements", struct nt_stats_conf, measurements,
	    "measurements.log: every server reply, default false"),
	NT_YCONF_BOOL("tracking", struct nt_stats_conf, tracking,
	    "tracking.log: every clock update, default false"),
	NT_YCONF_BOOL("statistics", struct nt_stats_conf, statistics,
	    "statistics.log: each source's estimate at every clock update, "
	    "default false"),
	NT_YCONF_BOOL("refclocks", struct nt_stats_conf, refclocks,
	    "refclocks.log: every reference clock sample, default false"),
};

static const struct nt_yconf_schema stats_schema =
    NT_YCONF_SCHEMA(stats_keys, NULL, stats_check);

static const struct nt_yconf_key max_change_keys[] = {
	NT_YCONF_DOUBLE("offset", struct nt_max_change_conf, offset, 0, 1e6,
	    "seconds: a larger offset is not corrected; 0: no limit"),
	NT_YCONF_INT("start", struct nt_max_change_conf, start, 0, 1000000,
	    "clock updates before the limit applies, default 1"),
	NT_YCONF_INT("ignore", struct nt_max_change_conf, ignore, -1, 1000000,
	    "such offsets ignored before the daemon gives up; -1: always"),
};

static const struct nt_yconf_schema max_change_schema =
    NT_YCONF_SCHEMA(max_change_keys, NULL, NULL);

static int
conf_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base);

static const struct nt_yconf_key conf_keys[] = {
	NT_YCONF_SEQ("servers", struct nt_conf, servers, n_servers,
	    &server_elem, 0, MAX_SOURCES, "individual NTP servers"),
	NT_YCONF_SEQ("pools", struct nt_conf, pools, n_pools,
	    &pool_elem, 0, MAX_SOURCES, "DNS names with many servers"),
	NT_YCONF_SEQ("refclocks", struct nt_conf, refclocks, n_refclocks,
	    &nt_refclock_conf_elem, 0, NT_REFCLOCK_MAX,
	    "reference clocks (master)"),
	NT_YCONF_STRING("driftfile", struct nt_conf, driftfile,
	    NT_YCONF_NULLABLE, "absolute path of the frequency file, or ~"),
	NT_YCONF_STRING("nts_ca", struct nt_conf, nts_ca, NT_YCONF_NULLABLE,
	    "PEM file of the CAs NTS-KE servers are checked against; "
	    "~: the system's"),
	NT_YCONF_DOUBLE("step_threshold", struct nt_conf, step_threshold,
	    0, INFINITY, "offsets above this many seconds are stepped; "
	    "0 never steps"),
	NT_YCONF_INT("step_limit", struct nt_conf, step_limit, -1, 1000000,
	    "clock updates that may step; -1: any"),
	NT_YCONF_DOUBLE("max_distance", struct nt_conf, max_distance,
	    0.001, 100, "largest root distance of a usable source, seconds"),
	NT_YCONF_INT("min_sources", struct nt_conf, min_sources, 1, 16,
	    "selectable sources needed before the clock is steered"),
	NT_YCONF_INT("holdover", struct nt_conf, holdover, 1, 1000000,
	    "seconds without a clock update before we say unsynchronized"),
	NT_YCONF_MAP("max_change", offsetof(struct nt_conf, max_change),
	    &max_change_schema, "the largest offset corrected (chrony's "
	    "maxchange)"),
	NT_YCONF_MAP("log", 0, &log_schema, "logging"),
	NT_YCONF_MAP("server", offsetof(struct nt_conf, serve), &serve_schema,
	    "serving time to clients (ntimed slave)"),
	NT_YCONF_MAP("control", offsetof(struct nt_conf, control),
	    &control_schema, "local status and control socket"),
	NT_YCONF_MAP("metrics", offsetof(struct nt_conf, metrics),
	    &metrics_schema, "Prometheus endpoint"),
	NT_YCONF_STRBUF("user", struct nt_conf, user, 0,
	    "user the daemons run as after start-up, with only CAP_SYS_TIME; "
	    "root: stay root"),
	NT_YCONF_BOOL("sandbox", struct nt_conf, sandbox,
	    "run the daemons under a seccomp system call allow-list"),
	NT_YCONF_MAP("statistics", offsetof(struct nt_conf, statistics),
	    &stats_schema, "statistics logs (chrony's logdir and log)"),
};

static const struct nt_yconf_schema conf_schema =
    NT_YCONF_SCHEMA(conf_keys, NULL, conf_check);
const struct nt_yconf_schema *const nt_conf_schema = &conf_schema;

/* ---- Checks the table cannot express ---- */

/* The address of an IP literal in buf (16 bytes): its family, or 0. */
static int
ip_literal(const char *host, unsigned char *buf)
{
	if (inet_pton(AF_INET, host, buf) == 1)
		return (AF_INET);
	return (inet_pton(AF_INET6, host, buf) == 1 ? AF_INET6 : 0);
}

static bool
is_ip_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return (ip_literal(host, buf) != 0);
}

/* Split "host[:port]" in s->address; a port there must not clash. */
static int
check_address(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    struct nt_server_conf *s)
{
	const struct nt_yconf_node *a = nt_yconf_map_get(map, "address");
	char host[NT_HOSTLEN], reason[NT_CONF_ERRLEN];
	uint16_t port;

	assert(a != NULL);	/* required */
	if (nt_parse_hostport(s->address, host, sizeof host, &port, 0,
	    reason, sizeof reason))
		return (nt_yconf_error(w, a, "%s: %s", w->path, reason));
	if (port != 0) {
		if (nt_yconf_map_key(map, "port") != NULL)
			return (nt_yconf_error(w, nt_yconf_map_key(map, "port"),
			    "port given twice in %s, in 'address' and 'port'",
			    w->path));
		s->port = port;
	}
	strlcpy(s->address, host, sizeof s->address);
	return (0);
}

static int
check_polls(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    const struct nt_server_conf *s)
{
	const struct nt_yconf_node *at;

	if (s->minpoll <= s->maxpoll)
		return (0);
	at = nt_yconf_map_key(map, "minpoll");
	if (at == NULL)
		at = nt_yconf_map_key(map, "maxpoll");
	return (nt_yconf_error(w, at != NULL ? at : map,
	    "'minpoll' (%d) must not be greater than 'maxpoll' (%d)",
	    s->minpoll, s->maxpoll));
}

/* A required source that may never be selected would stop every update. */
static int
check_select(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    const struct nt_server_conf *s)
{
	if (!s->noselect || !s->require)
		return (0);
	return (nt_yconf_error(w, nt_yconf_map_key(map, "require"),
	    "%s: 'require' with 'noselect' would never let the clock be "
	    "updated", w->path));
}

/*
 * Interleaved mode rides on plain NTP's origin and receive fields; NTS
 * servers (ours included) answer NTS requests in basic mode only.
 */
static int
check_xleave(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    const struct nt_server_conf *s)
{
	if (!s->xleave || !s->nts)
		return (0);
	return (nt_yconf_error(w, nt_yconf_map_key(map, "xleave"),
	    "%s: 'xleave' is for plain NTP, not with 'nts: true'", w->path));
}

static int
server_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base)
{
	struct nt_server_conf *s = base;

	if (check_address(w, map, s) || check_polls(w, map, s) ||
	    check_xleave(w, map, s))
		return (-1);
	return (check_select(w, map, s));
}

static int
pool_name_check(struct nt_yconf_walk *w, const struct nt_yconf_node *at,
    const char *host)
{
	if (!is_ip_literal(host))
		return (0);
	return (nt_yconf_error(w, at, "%s: '%s' is an IP address, a pool "
	    "needs a DNS name (list addresses under 'servers')", w->path,
	    host));
}

static int
pool_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base)
{
	struct nt_pool_conf *p = base;

	if (server_check(w, map, &p->server))
		return (-1);
	return (pool_name_check(w, nt_yconf_map_get(map, "address"),
	    p->server.address));
}

/* A servers or pools entry: "host[:port]" or a mapping. */
static int
source_item(struct nt_yconf_walk *w, const struct nt_yconf_key *k,
    const struct nt_yconf_node *n, void *target, const char *label)
{
	struct nt_server_conf *s = target;	/* a pool's first member */
	char reason[NT_CONF_ERRLEN], got[128];

	if (n->kind == NT_YCONF_MAP)
		return (nt_yconf_walk_map(w, n, k->sub, target));
	if (n->kind != NT_YCONF_SCALAR || nt_yconf_is_null(n))
		return (nt_yconf_error(w, n,
		    "'%s' must be a string or a mapping, got %s", label,
		    nt_yconf_describe(n, got, sizeof got)));
	if (strlen(n->str) != n->len)
		return (nt_yconf_error(w, n,
		    "'%s' must not contain NUL characters", label));
	if (nt_parse_hostport(n->str, s->address, sizeof s->address,
	    &s->port, NTP_PORT, reason, sizeof reason))
		return (nt_yconf_error(w, n, "%s: %s", label, reason));
	if (k->sub == &pool_schema)
		return (pool_name_check(w, n, s->address));
	return (0);
}

/* A listen entry: a numeric address, optionally with a port. */
static int
listen_split(const char *entry, uint16_t default_port, char *host,
    size_t hostlen, uint16_t *port, char *err, size_t errlen)
{
	char reason[NT_CONF_ERRLEN];
	struct nt_addr a;

	if (nt_parse_hostport(entry, host, hostlen, port, default_port,
	    reason, sizeof reason)) {
		snprintf(err, errlen, "%s", reason);
		return (-1);
	}
	if (nt_addr_parse(&a, host, *port) != 0) {
		snprintf(err, errlen, "'%s' is not a numeric IPv4 or IPv6 "
		    "address", host);
		return (-1);
	}
	return (0);
}

/*
 * The index of an entry before list[n] that names the same address and
 * port as list[n] ("127.0.0.1" and "127.0.0.1:123" do), or -1.  The
 * entries were checked already.  A bind to the same address twice would
 * fail with a misleading "address already in use".
 */
static int
listen_dup(char *const *list, size_t n, uint16_t default_port)
{
	char host[NT_HOSTLEN], reason[NT_CONF_ERRLEN];
	struct nt_addr a, b;
	uint16_t port;

	if (listen_split(list[n], default_port, host, sizeof host, &port,
	    reason, sizeof reason) != 0 || nt_addr_parse(&a, host, port) != 0)
		return (-1);
	for (size_t i = 0; i < n; i++)
		if (listen_split(list[i], default_port, host, sizeof host,
		    &port, reason, sizeof reason) == 0 &&
		    nt_addr_parse(&b, host, port) == 0 &&
		    nt_addr_cmp(&a, &b) == 0)
			return ((int)i);
	return (-1);
}

/* No address listed twice in the file's server.listen. */
static int
check_listen_dups(struct nt_yconf_walk *w, const struct nt_yconf_node *seq,
    uint16_t port)
{
	char *list[MAX_LISTEN];
	const struct nt_yconf_node *n;
	size_t i = 0;
	int j;

	for (n = seq->first; n != NULL && i < MAX_LISTEN; n = n->next, i++) {
		list[i] = n->str;
		if ((j = listen_dup(list, i, port)) >= 0)
			return (nt_yconf_error(w, n, "%s.listen[%zu]: the same "
			    "address as %s.listen[%d]", w->path, i, w->path,
			    j));
	}
	return (0);
}

/* Each entry of list key k of map, checked by kind. */
static int
check_list(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    const char *k, uint16_t default_port)
{
	const struct nt_yconf_node *seq = nt_yconf_map_get(map, k), *n;
	char host[NT_HOSTLEN], reason[NT_CONF_ERRLEN];
	struct nt_cidr cidr;
	uint16_t port;
	size_t i = 0;

	if (seq == NULL || seq->kind != NT_YCONF_SEQ)
		return (0);
	for (n = seq->first; n != NULL; n = n->next, i++) {
		if (strcmp(k, "listen") == 0 ? listen_split(n->str,
		    default_port, host, sizeof host, &port, reason,
		    sizeof reason) : nt_cidr_parse(&cidr, n->str, reason,
		    sizeof reason))
			return (nt_yconf_error(w, n, "%s.%s[%zu]: %s", w->path,
			    k, i, reason));
	}
	return (strcmp(k, "listen") == 0 ? check_listen_dups(w, seq,
	    default_port) : 0);
}

static int
serve_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base)
{
	const struct nt_serve_conf *sc = base;
	uint16_t port = (uint16_t)sc->port;

	if (map == NULL)
		return (0);
	if (check_list(w, map, "listen", port) || check_list(w, map, "allow",
	    port) || check_list(w, map, "deny", port))
		return (-1);
	return (0);
}

/*
 * server.nts: on once a certificate is given (a printed configuration
 * says "certificate: ~" for off), and then its key is a must.
 */
static int
nts_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base)
{
	struct nt_nts_serve_conf *nc = base;

	if (map == NULL)
		return (0);
	nc->enabled = nc->certificate != NULL || nc->key != NULL;
	if (nc->enabled && (nc->certificate == NULL || nc->key == NULL))
		return (nt_yconf_error(w, map, "%s needs both 'certificate' "
		    "and 'key' (PEM files)", w->path));
	if (nc->keys[0] != '/')
		return (nt_yconf_error(w, nt_yconf_map_get(map, "keys"),
		    "'%s.keys' must be an absolute path", w->path));
	if (nc->ntp_server != NULL && (nc->ntp_server[0] == '\0' ||
	    !nts_server_name_ok(nc->ntp_server)))
		return (nt_yconf_error(w, nt_yconf_map_get(map, "ntp_server"),
		    "'%s.ntp_server' must be a host name or address of 1 to "
		    "%d printable characters without spaces", w->path,
		    NTS_SERVER_MAX_LEN));
	return (check_list(w, map, "listen", NTS_KE_PORT));
}

static int
control_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base)
{
	const struct nt_control_conf *cc = base;

	if (map != NULL && cc->socket[0] != '/')
		return (nt_yconf_error(w, nt_yconf_map_get(map, "socket"),
		    "'control.socket' must be an absolute path"));
	return (0);
}

static int
metrics_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base)
{
	const struct nt_metrics_conf *mc = base;
	char host[NT_HOSTLEN], reason[NT_CONF_ERRLEN];
	uint16_t port;

	if (map == NULL || nt_yconf_map_get(map, "listen") == NULL)
		return (0);
	if (nt_parse_hostport(mc->listen, host, sizeof host, &port, 9975,
	    reason, sizeof reason) != 0)
		return (nt_yconf_error(w, nt_yconf_map_get(map, "listen"),
		    "'metrics.listen': %s", reason));
	if (!is_ip_literal(host))
		return (nt_yconf_error(w, nt_yconf_map_get(map, "listen"),
		    "'metrics.listen' must be a numeric address "
		    "(ADDRESS:PORT), got '%s'", host));
	return (0);
}

static int
stats_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base)
{
	const struct nt_stats_conf *sc = base;
	const char *dir = sc->dir;

	if (map == NULL || nt_yconf_map_get(map, "dir") == NULL)
		return (0);
	/* A daemon's working directory is no place to look for it. */
	if (dir[0] != '/')
		return (nt_yconf_error(w, nt_yconf_map_get(map, "dir"),
		    "'statistics.dir' must be an absolute path, got '%s'",
		    dir));
	return (0);
}

/* How "user:" is looked up; a daemon changes it (nt_conf_set_user_check). */
static nt_conf_user_check_fn *user_check = nt_privdrop_check_name;

/*
 * "user:" names an account: asked of the system now, while the loader
 * can still say where (the start-up lookup could not), as the refclocks'
 * devices are.  Only when given: the default may be missing.
 */
static int
check_user(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    const char *user)
{
	char reason[NT_CONF_ERRLEN];

	if (nt_yconf_map_get(map, "user") == NULL ||
	    user_check(user, reason, sizeof reason) == 0)
		return (0);
	return (nt_yconf_error(w, nt_yconf_map_get(map, "user"), "'user': %s",
	    reason));
}

/* One entry of servers or pools, where the file has it. */
struct source_at {
	const struct nt_yconf_node *at;	/* the address */
	const struct nt_server_conf *s;
	const char	*list;		/* "servers" or "pools" */
	size_t		i;
};

/* The entries of list (the count checked), in s (n of them so far). */
static size_t
sources_at(const struct nt_yconf_node *map, const char *list,
    const struct nt_server_conf *first, size_t stride, size_t count,
    struct source_at *s, size_t n)
{
	const struct nt_yconf_node *seq = nt_yconf_map_get(map, list), *e;
	size_t i = 0;

	if (count == 0)
		return (n);
	assert(seq != NULL && seq->kind == NT_YCONF_SEQ && seq->n == count);
	for (e = seq->first; e != NULL; e = e->next, i++) {
		s[n].at = e->kind == NT_YCONF_MAP ?
		    nt_yconf_map_get(e, "address") : e;
		s[n].s = (const void *)((const char *)first + i * stride);
		s[n].list = list;
		s[n++].i = i;
	}
	return (n);
}

/* File order: the first of two equal entries is the one kept. */
static int
source_at_cmp(const void *a, const void *b)
{
	const struct source_at *x = a, *y = b;

	if (x->at->line != y->at->line)
		return (x->at->line < y->at->line ? -1 : 1);
	return (x->at->col < y->at->col ? -1 : x->at->col > y->at->col);
}

/* "servers[2]: duplicate server '[::1]:123' (first at line 3)" */
static int
source_dup_error(struct nt_yconf_walk *w, const struct source_at *first,
    const struct source_at *again)
{
	const struct nt_server_conf *s = again->s;
	bool v6 = strchr(s->address, ':') != NULL;
	bool pool = strcmp(again->list, "pools") == 0;
	const char *as = strcmp(first->list, again->list) == 0 ? "" :
	    pool ? ", as a server" : ", as a pool";

	return (nt_yconf_error(w, again->at, "%s[%zu]: duplicate %s "
	    "'%s%s%s:%u' (first at line %d%s)", again->list, again->i,
	    pool ? "pool" : "server", v6 ? "[" : "", s->address, v6 ? "]" :
	    "", s->port, first->at->line, as));
}

/*
 * No server or pool listed twice (the same name or address and port):
 * it would vote twice.  Names are not looked up here; two names of one
 * address are found at run time (lib/uvclient.c).
 */
static int
check_source_dups(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    const struct nt_conf *c)
{
	struct source_at *s;
	size_t n;
	int rc = 0;

	if (c->n_servers + c->n_pools < 2)
		return (0);
	if ((s = calloc(c->n_servers + c->n_pools, sizeof *s)) == NULL)
		return (nt_yconf_error(w, map, "out of memory"));
	n = sources_at(map, "servers", c->servers, sizeof *c->servers,
	    c->n_servers, s, 0);
	n = sources_at(map, "pools", c->pools != NULL ? &c->pools[0].server :
	    NULL, sizeof *c->pools, c->n_pools, s, n);
	qsort(s, n, sizeof *s, source_at_cmp);
	for (size_t j = 1; j < n && rc == 0; j++)
		for (size_t i = 0; i < j && rc == 0; i++)
			if (nt_server_conf_same_host(s[i].s, s[j].s))
				rc = source_dup_error(w, &s[i], &s[j]);
	free(s);
	return (rc);
}

static int
conf_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base)
{
	const struct nt_conf *c = base;
	char got[128];

	if (c->driftfile != NULL && c->driftfile[0] != '/')
		return (nt_yconf_error(w, nt_yconf_map_get(map, "driftfile"),
		    "'driftfile' must be an absolute path, got %s",
		    nt_yconf_describe(nt_yconf_map_get(map, "driftfile"), got,
		    sizeof got)));
	/* Room for the temporary name next to it: PATH.tmp.PID. */
	if (c->driftfile != NULL && strlen(c->driftfile) > NT_DRIFT_PATH_MAX)
		return (nt_yconf_error(w, nt_yconf_map_get(map, "driftfile"),
		    "'driftfile' is longer than %d bytes", NT_DRIFT_PATH_MAX));
	if (c->sandbox && !nt_sandbox_available())
		return (nt_yconf_error(w, nt_yconf_map_get(map, "sandbox"),
		    "'sandbox': this ntimed was built without seccomp "
		    "(libseccomp); set it to false"));
	if (nt_refclock_conf_check_list(w, nt_yconf_map_get(map, "refclocks"),
	    c->refclocks, c->n_refclocks) != 0 ||
	    check_source_dups(w, map, c) != 0)
		return (-1);
	return (check_user(w, map, c->user));
}

/* ---- Public interface ---- */

bool
nt_server_conf_same(const struct nt_server_conf *a,
    const struct nt_server_conf *b)
{
	return (strcmp(a->address, b->address) == 0 && a->port == b->port &&
	    a->minpoll == b->minpoll && a->maxpoll == b->maxpoll &&
	    a->iburst == b->iburst && a->prefer == b->prefer &&
	    a->noselect == b->noselect && a->trust == b->trust &&
	    a->require == b->require && a->maxdelay == b->maxdelay &&
	    a->nts == b->nts && a->nts_port == b->nts_port &&
	    a->xleave == b->xleave);
}

bool
nt_server_conf_same_host(const struct nt_server_conf *a,
    const struct nt_server_conf *b)
{
	unsigned char x[sizeof(struct in6_addr)], y[sizeof x];
	int fa, fb;

	if (a->port != b->port)
		return (false);
	fa = ip_literal(a->address, x);
	fb = ip_literal(b->address, y);
	if (fa != 0 || fb != 0)
		return (fa == fb && memcmp(x, y, fa == AF_INET ?
		    sizeof(struct in_addr) : sizeof x) == 0);
	return (strcasecmp(a->address, b->address) == 0);	/* DNS */
}

const char *
nt_conf_same_host(const struct nt_conf *c, const struct nt_server_conf *s)
{
	for (size_t i = 0; i < c->n_servers; i++)
		if (&c->servers[i] != s &&
		    nt_server_conf_same_host(&c->servers[i], s))
			return ("server");
	for (size_t i = 0; i < c->n_pools; i++)
		if (&c->pools[i].server != s &&
		    nt_server_conf_same_host(&c->pools[i].server, s))
			return ("pool");
	return (NULL);
}

void
nt_conf_set_user_check(nt_conf_user_check_fn *fn)
{
	user_check = fn != NULL ? fn : nt_privdrop_check_name;
}

void
nt_server_conf_init(struct nt_server_conf *s)
{
	memset(s, 0, sizeof *s);
	s->port = NTP_PORT;
	s->minpoll = 6;
	s->maxpoll = 10;
	s->iburst = true;
	s->prefer = false;
	s->noselect = false;
	s->trust = false;
	s->require = false;
	s->maxdelay = 0;	/* no limit */
	s->nts = false;
	s->nts_port = NTS_KE_PORT;
}

void
nt_conf_init(struct nt_conf *c)
{
	memset(c, 0, sizeof *c);
	c->servers = NULL;
	c->pools = NULL;
	c->driftfile = NULL;
	c->nts_ca = NULL;
	c->step_threshold = 0.128;
	c->step_limit = 3;
	c->max_distance = 3.0;
	c->min_sources = 1;
	c->holdover = NT_SYNC_HOLD_DEFAULT;
	c->max_change.offset = 0;	/* off */
	c->max_change.start = 1;
	c->max_change.ignore = 2;
	c->log_level = NT_LOG_NOTICE;
	c->log_dest = NT_LOG_STDERR;
	c->control.enabled = true;
	strlcpy(c->control.socket, "/run/ntimed/ntimed.sock",
	    sizeof c->control.socket);
	strlcpy(c->control.group, "ntimed", sizeof c->control.group);
	strlcpy(c->metrics.listen, "127.0.0.1:9975", sizeof c->metrics.listen);
	strlcpy(c->user, NT_PRIVDROP_DEFAULT_USER, sizeof c->user);
	c->sandbox = nt_sandbox_available();
	c->serve.port = NTP_PORT;
	c->serve.workers = 0;
	c->serve.denied = NT_DENY_DROP;
	c->serve.ratelimit.interval = 1.0;
	c->serve.ratelimit.burst = 16;
	c->serve.ratelimit.kod = true;
	c->serve.ratelimit.loopback = false;
	c->serve.ratelimit.table_size = 16384;
	c->serve.local_stratum = 0;
	strlcpy(c->serve.nts.keys, "/var/lib/ntimed/nts-keys",
	    sizeof c->serve.nts.keys);
	c->serve.nts.rotate = 7 * 86400.0;
	strlcpy(c->statistics.dir, NT_STATS_DIR_DEFAULT,
	    sizeof c->statistics.dir);
}

void
nt_conf_free(struct nt_conf *c)
{
	nt_yconf_free(&conf_schema, c);
	assert(c->servers == NULL && c->n_servers == 0);
	assert(c->pools == NULL && c->n_pools == 0);
	assert(c->refclocks == NULL && c->n_refclocks == 0);
	assert(c->driftfile == NULL && c->nts_ca == NULL);
	assert(c->serve.listen == NULL && c->serve.allow == NULL &&
	    c->serve.deny == NULL);
}

void
nt_conf_clear_sources(struct nt_conf *c)
{
	free(c->servers);
	c->servers = NULL;
	c->n_servers = 0;
	free(c->pools);
	c->pools = NULL;
	c->n_pools = 0;
}

int
nt_conf_load_buf(struct nt_conf *c, const char *name, const char *buf,
    size_t len, char *err, size_t errlen)
{
	struct nt_conf tmp;

	nt_conf_init(&tmp);
	if (nt_yconf_load_buf(name, buf, len, &conf_schema, &tmp, err,
	    errlen)) {
		nt_conf_free(&tmp);
		return (-1);
	}
	nt_conf_free(c);
	*c = tmp;
	return (0);
}

int
nt_conf_load(struct nt_conf *c, const char *path, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	int rc;

	if ((rc = nt_yconf_read_file(path, &buf, &len, err, errlen)) != 0)
		return (rc);
	rc = nt_conf_load_buf(c, path, buf, len, err, errlen);
	free(buf);
	return (rc);
}

int
nt_conf_add_server_arg(struct nt_conf *c, const char *arg, char *err,
    size_t errlen)
{
	struct nt_server_conf s, *servers;
	char reason[NT_CONF_ERRLEN], q[100];

	nt_server_conf_init(&s);
	if (nt_parse_hostport(arg, s.address, sizeof s.address, &s.port,
	    NTP_PORT, reason, sizeof reason)) {
		snprintf(err, errlen, "invalid server '%s': %s",
		    nt_printable(arg, q, sizeof q), reason);
		return (-1);
	}
	if (c->n_servers >= MAX_SOURCES) {
		snprintf(err, errlen, "too many servers (max %d)", MAX_SOURCES);
		return (-1);
	}
	servers = reallocarray(c->servers, c->n_servers + 1, sizeof *servers);
	if (servers == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	servers[c->n_servers++] = s;
	c->servers = servers;
	return (0);
}

int
nt_conf_add_listen_arg(struct nt_conf *c, const char *arg, bool *replaced,
    char *err, size_t errlen)
{
	struct nt_serve_conf *sc = &c->serve;
	char host[NT_HOSTLEN], reason[NT_CONF_ERRLEN], *copy, **list;
	uint16_t port;
	int dup;

	if (listen_split(arg, (uint16_t)sc->port, host, sizeof host, &port,
	    reason, sizeof reason)) {
		snprintf(err, errlen, "invalid listen address '%s': %s", arg,
		    reason);
		return (-1);
	}
	if (!*replaced) {
		for (size_t i = 0; i < sc->n_listen; i++)
			free(sc->listen[i]);
		free(sc->listen);
		sc->listen = NULL;
		sc->n_listen = 0;
		*replaced = true;
	}
	if (sc->n_listen >= MAX_LISTEN) {
		snprintf(err, errlen, "too many listen addresses (max %d)",
		    MAX_LISTEN);
		return (-1);
	}
	copy = strdup(arg);
	list = copy == NULL ? NULL : reallocarray(sc->listen,
	    sc->n_listen + 1, sizeof *list);
	if (list == NULL) {
		free(copy);
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	list[sc->n_listen++] = copy;
	sc->listen = list;
	if ((dup = listen_dup(sc->listen, sc->n_listen - 1,
	    (uint16_t)sc->port)) >= 0) {
		snprintf(err, errlen, "listen address '%s' is the same as '%s'",
		    arg, sc->listen[dup]);
		free(sc->listen[--sc->n_listen]);
		return (-1);
	}
	return (0);
}

int
nt_conf_listen_split(const struct nt_conf *c, const char *entry, char *host,
    size_t hostlen, uint16_t *port, char *err, size_t errlen)
{
	return (listen_split(entry, (uint16_t)c->serve.port, host, hostlen,
	    port, err, errlen));
}

void
nt_conf_print(FILE *f, const struct nt_conf *c)
{
	fprintf(f, "# ntimed effective configuration\n");
	nt_yconf_print(f, &conf_schema, c, 0);
}
