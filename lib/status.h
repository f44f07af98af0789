/*
 * What a running daemon tells its operator, in one place: the engine's
 * state (what chronyc calls tracking, sources and sourcestats), a
 * server's counters, and any other "view" a role registers.  Each view
 * renders itself as a JSON value (for the control socket, lib/control.c)
 * and as Prometheus metric families (for the HTTP endpoint,
 * lib/metrics.c), so both always show the same numbers.
 *
 * A daemon fills one struct nt_status at start-up:
 *
 *   nt_status_init(&st, "client", clk);
 *   nt_status_add_engine(&st, &se);      tracking, sources, sourcestats
 *   nt_status_add_server(&st, &ss);      "server" (slave, master)
 *   nt_status_add_view(&st, &v);         anything else (refclocks)
 *
 * Views are read on the daemon's loop thread only; their callbacks may
 * read any state that thread owns.
 */
#ifndef NTIMED_STATUS_H
#define NTIMED_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "engine.h"
#include "json.h"
#include "server.h"
#include "timeutil.h"

#define NT_STATUS_MAX_VIEWS 8

/* ---- Prometheus text exposition format 0.0.4 ---- */

/*
 * A growing buffer of metric families.  Calls mirror the format: a
 * family (HELP and TYPE lines), then its samples.  Names and label names
 * are checked (asserts: they are constants in our code); label values
 * are escaped.  A family name may appear only once per document.
 */
struct nt_prom {
	char	*buf;
	size_t	len, cap;
	int	err;		/* -ENOMEM, sticky */
	char	family[64];	/* current family */
	char	*seen;		/* "\n"-separated family names so far */
	size_t	seen_len, seen_cap;
};

#define NT_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

void nt_prom_init(struct nt_prom *p);
void nt_prom_free(struct nt_prom *p);
/* type: "gauge" or "counter" (counters' names end in _total). */
void nt_prom_family(struct nt_prom *p, const char *name, const char *type,
    const char *help);
/*
 * One sample of the current family with labels given as name, value
 * pairs ending with NULL.  A NaN value is written as NaN; callers skip
 * values that do not exist instead.
 */
void nt_prom_sample(struct nt_prom *p, double v, ...)
    __attribute__((sentinel));
void nt_prom_sample_u64(struct nt_prom *p, uint64_t v, ...)
    __attribute__((sentinel));
/* The text so far; NULL-safe length.  Returns "" before any family. */
const char *nt_prom_text(const struct nt_prom *p, size_t *len);

/* ---- Views ---- */

typedef void nt_status_json_fn(void *ctx, struct nt_json *j, nt_time now);
typedef void nt_status_prom_fn(void *ctx, struct nt_prom *p, nt_time now);

struct nt_status_view {
	const char	*name;	/* request name: [a-z]+ */
	const char	*help;	/* one line, for "views" */
	nt_status_json_fn *json;	/* writes one JSON value; NULL: none */
	nt_status_prom_fn *prom;	/* metric families; NULL: none */
	void		*ctx;
};

struct nt_status {
	const char	*role;		/* "client", "slave", ... */
	struct nt_clock	*clk;		/* "now" for every view */
	nt_time		started;
	struct nt_status_view views[NT_STATUS_MAX_VIEWS];
	size_t		n_views;
};

void nt_status_init(struct nt_status *st, const char *role,
    struct nt_clock *clk);
/*
 * Whether name is a view the daemons register, or "all" or "views": the
 * words that make "ntimed query WORD" ask the local daemon.
 */
bool nt_status_view_name(const char *name);
/* Register a view (copied; ctx must outlive st).  Asserts room, unique. */
void nt_status_add_view(struct nt_status *st, const struct nt_status_view *v);
const struct nt_status_view *nt_status_find(const struct nt_status *st,
    const char *name);
/*
 * The JSON value of view name ("views": the list of views, "all": an
 * object with every view).  Returns 0, or -1 for an unknown view.
 */
int nt_status_json(const struct nt_status *st, const char *name,
    struct nt_json *j);
/* Every view's metric families, after ntimed_build_info and uptime. */
void nt_status_prom(const struct nt_status *st, struct nt_prom *p);

/* ---- The engine's views ---- */

/*
 * What the engine does not keep but an operator asks for: chrony's RMS
 * offset and update interval.  Feed it every update (the engine's
 * on_update callback).
 */
struct nt_track {
	uint64_t	n_updates;
	nt_time		last, prev;	/* times of the last two updates */
	double		rms_offset;	/* s, exponential average of offset^2 */
};

void nt_track_update(struct nt_track *t, const struct nt_update *u);

/*
 * A serving role's snapshot of what its clients get now (cmd/serve.c's
 * make_state()): with a local stratum, or the old engine's state held
 * over a reload, that differs from the engine's own system variables.
 */
typedef void nt_status_served_fn(void *ctx, struct nt_server_state *st);

/*
 * A configured server or pool that has no source: its name did not
 * resolve, or -4/-6 ruled its address out.  "sources" lists it (as
 * chronyc's "sources -a" does an unresolved name) until a lookup finds
 * it an address.
 */
struct nt_status_unresolved {
	const char	*host;		/* as configured */
	char		name[NT_NAME_MAX];	/* host[:port] */
	const char	*state;		/* "cannot resolve", "not used" */
	const char	*why;		/* the resolver's words */
};

/* The i-th such server into u; false after the last. */
typedef bool nt_status_unresolved_fn(void *ctx, size_t i,
    struct nt_status_unresolved *u);

/*
 * Why engine source i gets no samples, when the daemon knows better than
 * the engine: a refclock whose device cannot be opened.  Returns the
 * reason and sets *state ("cannot open"), or returns NULL.
 */
typedef const char *nt_status_source_error_fn(void *ctx, size_t i,
    const char **state);

struct nt_status_engine {
	struct nt_engine *e;	/* the daemon may replace it (reload) */
	struct nt_clock	*clk;
	struct nt_track	track;
	/* Clock updates by the engines before e (a counter never falls). */
	uint64_t	updates_before;
	/* Serving roles: tracking shows what we serve.  NULL: a client. */
	nt_status_served_fn *served;
	void		*served_ctx;
	/* Servers without a source.  NULL: none (the simulator). */
	nt_status_unresolved_fn *unresolved;
	void		*unresolved_ctx;
	/* Sources' errors (the master's refclocks).  NULL: none. */
	nt_status_source_error_fn *source_error;
	void		*source_error_ctx;
};

/* One reading of everything "tracking" shows. */
struct nt_tracking {
	bool		synced;
	int		stratum;	/* what we serve (16: unsynchronized) */
	uint32_t	refid;		/* likewise */
	bool		refid_code;	/* shown as text (GPS, LOCL, INIT) */
	const char	*selected;	/* source name, NULL when none */
	nt_time		ref_time;	/* 0: never */
	double		system_offset;	/* s: true - clock, still to slew */
	double		last_offset;	/* s, NAN before the first update */
	double		rms_offset;	/* s, NAN before the first update */
	double		freq_ppm;	/* correction in force, + = faster */
	double		residual_freq_ppm;	/* selected source, or NAN */
	double		skew_ppm;
	double		root_delay;	/* s */
	double		root_disp;	/* s, grown to now */
	double		update_interval;	/* s, NAN before two updates */
	int		leap;		/* enum ntp_leap */
	/* Bounds on |true - clock|, s; INFINITY before the first update. */
	double		max_error;	/* the worst case (kernel maxerror) */
	double		est_error;	/* the likely one (kernel esterror) */
	bool		have_kernel;	/* the kernel clock's own view: */
	bool		kernel_synced;
	double		kernel_maxerror;	/* s */
	double		kernel_freq_ppm;
	/* Dry run: s the daemon's clock is ahead of the kernel's, or NAN. */
	double		dry_ahead;
	int		n_sources, n_reachable, n_selectable;
	uint64_t	n_updates;
	int		n_steps;
	const char	*clock;		/* "kernel", "dry-run", "sim" */
};

void nt_status_tracking(const struct nt_status_engine *se, nt_time now,
    struct nt_tracking *t);
/*
 * "synchronized to X, stratum 3, offset +1.2us, error likely within
 * 45us, at most 345us".
 */
const char *nt_status_summary(const struct nt_status_engine *se,
    nt_time now, char *buf, size_t len);
/*
 * A refid we serve as people read it: text for a code ("GPS", "INIT",
 * "LOCL" at the local driver's stratum 10), else an IPv4 address.
 */
const char *nt_status_refid(const struct nt_status_engine *se,
    uint32_t refid, int stratum, char *buf, size_t len);
/* Registers "tracking", "sources" and "sourcestats" (se outlives st). */
void nt_status_add_engine(struct nt_status *st, struct nt_status_engine *se);

/*
 * A source's state in words ("selected", "no reply", ...), as the sources
 * view and "client --once" show it.
 */
const char *nt_status_src_state(const struct nt_source *s);
/* chrony's one-character state: '*', '+', '-', 'x', '~', '?'. */
char nt_status_src_symbol(enum nt_src_state s);

/* ---- A server's counters ---- */

struct nt_status_server {
	/* Fill c with the counters now (e.g. nt_uvserver_counters). */
	void	(*counters)(void *ctx, struct nt_server_counters *c);
	void	*ctx;
};

/* Registers "server" (ss outlives st). */
void nt_status_add_server(struct nt_status *st, struct nt_status_server *ss);

#endif
