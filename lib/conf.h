/*
 * The configuration every role reads: one YAML schema, one struct.
 *
 * Loading is all-or-nothing: nt_conf_load() either fills the struct
 * completely or returns an error message of the form
 * "FILE:LINE:COLUMN: message" and leaves nothing half-applied.
 */
#ifndef NTIMED_CONF_H
#define NTIMED_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"
#include "refclock.h"

#define NT_CONF_DEFAULT_PATH "/etc/ntimed/ntimed.yaml"
#define NT_CONF_ERRLEN 512
#define NT_SYNC_HOLD_DEFAULT 3600	/* s: "holdover", synced after an update */
#define NT_HOSTLEN 256

struct nt_server_conf {
	char		address[NT_HOSTLEN];	/* name or numeric address */
	uint16_t	port;			/* default 123 */
	int		minpoll;		/* log2 s, default 6 */
	int		maxpoll;		/* log2 s, default 10 */
	bool		iburst;			/* default true */
	bool		prefer;			/* default false */
	bool		noselect;		/* measured, never selected */
	bool		trust;			/* never outvoted by untrusted */
	bool		require;		/* one such must be selectable */
	double		maxdelay;		/* s, larger round trips dropped;
						   0: no limit (default) */
	bool		nts;			/* RFC 8915, default false */
	uint16_t	nts_port;		/* NTS-KE port, default 4460 */
	bool		xleave;			/* RFC 9769 interleaved mode */
};

struct nt_pool_conf {
	struct nt_server_conf server;	/* address = the DNS name */
	int		max_sources;	/* addresses to use, default 4 */
};

/* How a server answers denied clients. */
enum nt_deny_action {
	NT_DENY_DROP = 0,	/* silence (default, as chrony) */
	NT_DENY_KOD,		/* KoD DENY, at most one per interval */
};

struct nt_ratelimit_conf {
	double		interval;	/* s per request sustained; 0: off */
	int		burst;		/* requests back to back, default 16 */
	bool		kod;		/* tell limited clients (KoD RATE) */
	bool		loopback;	/* limit loopback clients too */
	int		table_size;	/* addresses tracked per worker */
};

/* "server: nts:": serving NTS (RFC 8915). */
struct nt_nts_serve_conf {
	bool		enabled;	/* the mapping is there */
	char		*certificate;	/* PEM */
	char		*key;		/* PEM */
	char		**listen;	/* KE "addr[:port]"; none: the server's */
	size_t		n_listen;
	int		ntp_port;	/* advertised; 0: server.port */
	char		*ntp_server;	/* advertised; NULL: the KE host */
	char		keys[4096];	/* default /var/lib/ntimed/nts-keys */
	double		rotate;		/* s, default 1 week */
};

/* The "server:" section: serving time (ntimed slave, master). */
struct nt_serve_conf {
	char		**listen;	/* "addr", "addr:port", "[v6]:port" */
	size_t		n_listen;	/* 0: 0.0.0.0 and :: */
	int		port;		/* default 123 */
	int		workers;	/* threads; 0: one per CPU */
	char		**allow;	/* CIDRs; none: everyone */
	size_t		n_allow;
	char		**deny;		/* CIDRs, deny wins */
	size_t		n_deny;
	enum nt_deny_action denied;
	struct nt_ratelimit_conf ratelimit;
	int		local_stratum;	/* 1..15 served unsynced; 0: off */
	struct nt_nts_serve_conf nts;
};

/*
 * The "max_change:" section, chrony's maxchange: after start updates, an
 * offset above offset is ignored ignore times (-1: always), then the
 * daemon gives up.  offset 0: off (the default).
 */
struct nt_max_change_conf {
	double		offset;		/* s; 0: no limit */
	int		start;		/* updates before the check, default 1 */
	int		ignore;		/* ignored before giving up, default 2 */
};

/* The "control:" section: the local status and control socket. */
struct nt_control_conf {
	bool		enabled;	/* default true */
	char		socket[108];	/* path, default /run/ntimed/ntimed.sock */
	char		group[64];	/* may read the state, default ntimed */
};

/* The "metrics:" section: the Prometheus HTTP endpoint. */
struct nt_metrics_conf {
	bool		enabled;	/* default false */
	char		listen[NT_HOSTLEN + 8];	/* default 127.0.0.1:9975 */
};

/*
 * The "statistics:" section: chrony's logdir and log measurements
 * statistics tracking refclocks (lib/statslog.c).  All off by default.
 */
#define NT_STATS_DIR_DEFAULT "/var/log/ntimed"
struct nt_stats_conf {
	char		dir[200];	/* absolute, default /var/log/ntimed */
	bool		measurements;	/* measurements.log: every reply */
	bool		tracking;	/* tracking.log: every clock update */
	bool		statistics;	/* statistics.log: sources per update */
	bool		refclocks;	/* refclocks.log: every refclock sample */
};

struct nt_conf {
	struct nt_server_conf *servers;
	size_t		n_servers;
	struct nt_pool_conf *pools;
	size_t		n_pools;
	char		*driftfile;		/* NULL: none */
	char		*nts_ca;		/* PEM CAs for NTS; NULL: system's */
	double		step_threshold;		/* s, default 0.128 */
	int		step_limit;		/* updates that may step; -1 = always */
	double		max_distance;		/* s, root distance limit, default 3 */
	int		min_sources;		/* selectable sources needed, default 1 */
	int		holdover;		/* s without updates before unsynced, 3600 */
	struct nt_max_change_conf max_change;	/* "max_change:" */
	enum nt_log_level log_level;		/* default notice */
	enum nt_log_dest log_dest;		/* default stderr */
	struct nt_serve_conf serve;		/* "server:" */
	struct nt_control_conf control;		/* "control:" */
	struct nt_metrics_conf metrics;		/* "metrics:" */
	char		user[64];		/* switch to after start-up, default ntimed */
	bool		sandbox;		/* seccomp filter, default on if built in */
	struct nt_refclock_conf *refclocks;	/* "refclocks:" (master) */
	size_t		n_refclocks;
	struct nt_stats_conf statistics;	/* "statistics:" */
};

void nt_conf_init(struct nt_conf *c);		/* defaults, no servers */
void nt_conf_free(struct nt_conf *c);

/*
 * Load path into c (which must be fresh from nt_conf_init()).  On error
 * returns -1, leaves c as it was and writes "FILE:LINE:COLUMN: message"
 * into err.  A missing file is an error too ("FILE: cannot open: ..."),
 * and a file the system would not let us read (no permission, I/O) is
 * NT_YCONF_ESYS (-2): exit 3 rather than 2.
 */
int nt_conf_load(struct nt_conf *c, const char *path, char *err, size_t errlen);
/* The same from memory; name is used in messages (fuzzing, tests). */
int nt_conf_load_buf(struct nt_conf *c, const char *name, const char *buf,
    size_t len, char *err, size_t errlen);

/* The same server, polled the same way (reloads keep such sources). */
bool nt_server_conf_same(const struct nt_server_conf *a,
    const struct nt_server_conf *b);

/*
 * The same server by what the file says: the same port, and the same
 * address (IP literals compared as addresses) or DNS name (in any case).
 * Nothing is looked up: two names of one address are not the same here.
 */
bool nt_server_conf_same_host(const struct nt_server_conf *a,
    const struct nt_server_conf *b);
/*
 * Whether an entry of c other than s is the same host: "server", "pool",
 * or NULL.
 */
const char *nt_conf_same_host(const struct nt_conf *c,
    const struct nt_server_conf *s);

/*
 * How the loader checks "user:": 0, or -1 with a reason in err.  By
 * default nt_privdrop_check_name() (the account database); a daemon
 * under its sandbox, which cannot run NSS modules, sets its own for its
 * reloads.  NULL restores the default.
 */
typedef int nt_conf_user_check_fn(const char *user, char *err,
    size_t errlen);
void nt_conf_set_user_check(nt_conf_user_check_fn *fn);

/* Append a server (command line); returns 0, or -1 with err filled. */
int nt_conf_add_server_arg(struct nt_conf *c, const char *arg, char *err,
    size_t errlen);
/* Drop all servers and pools (command-line servers replace the file's). */
void nt_conf_clear_sources(struct nt_conf *c);

/*
 * Command-line --listen ADDR[:PORT]: the first call replaces the file's
 * list.  Returns 0, or -1 with err filled.
 */
int nt_conf_add_listen_arg(struct nt_conf *c, const char *arg, bool *replaced,
    char *err, size_t errlen);
/* Split a checked listen entry into a numeric host and a port. */
int nt_conf_listen_split(const struct nt_conf *c, const char *entry,
    char *host, size_t hostlen, uint16_t *port, char *err, size_t errlen);

/* Print the effective configuration as YAML that loads back the same. */
void nt_conf_print(FILE *f, const struct nt_conf *c);

/*
 * The schema itself, for files that embed a config (a simulator scenario's
 * "client:" section): walk a node into a struct nt_conf with yconf.h.
 */
struct nt_yconf_schema;
extern const struct nt_yconf_schema *const nt_conf_schema;

/* Defaults used by server entries. */
void nt_server_conf_init(struct nt_server_conf *s);

#endif
