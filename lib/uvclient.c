/*
 * Wiring the engine to libuv.  One connected UDP socket per source (so the
 * kernel drops datagrams from anyone else and each source has its own
 * ephemeral port), a uv_poll per socket for readability, and one timer
 * that fires when the engine asks for it.  A second timer reads the
 * kernel's clocks every second to notice steps made by someone else
 * (lib/stepdetect.h); the engine then restarts its measurements.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "statslog.h"
#include "stepdetect.h"
#include "uvclient.h"
#include "uvnts.h"

#define RESOLVE_RETRY_MIN 16.0	/* s */
#define RESOLVE_RETRY_MAX 3600.0
#define STEPCHECK_MS 1000	/* foreign step checks */

struct uvsource {
	struct nt_uvclient *c;
	int		src;
	int		fd;
	struct nt_addr	addr;
	uv_poll_t	poll;
	struct nt_uvnts	*nts;		/* NULL: plain NTP */
};

struct pending {
	struct nt_uvclient *c;
	struct nt_server_conf sc;
	int		max;		/* addresses to take (pools) */
	bool		is_pool;
	enum nt_family_filter fam;
	double		retry;
	uv_timer_t	timer;
	bool		inflight;	/* a lookup is running */
	bool		closed;		/* timer closed: free when the lookup ends */
	struct pending	*next;
};

/* A server or pool whose last lookup gave no address, and why. */
struct unresolved {
	struct nt_server_conf sc;
	const char	*state;		/* "cannot resolve", "not used" */
	char		why[128];
	struct unresolved *next;
};

struct nt_uvclient {
	uv_loop_t	*loop;
	struct nt_clock	*clk;
	struct nt_engine *e;
	uv_timer_t	timer;
	struct uvsource	*us[NT_MAX_SOURCES];
	struct pending	*pend;
	struct unresolved *unres;	/* kept after close: --once lists them */
	int		resolving;
	int		failed;
	bool		closing;
	bool		once;		/* measure_only: one burst, no retries */
	/* Steps by someone else; ours count only on the kernel clock. */
	struct nt_stepdetect sd;
	uv_timer_t	stepcheck;
	bool		steers_kernel;
	void		(*user_update)(void *, const struct nt_update *);
	void		*user_ctx;
	struct nt_statslog *stats;	/* NULL: no statistics logs */
	/*
	 * After a restart: copies of the replaced engine's sources, which
	 * servers still being looked up take over when found (heir_unslewed:
	 * what the old slew had left).  Dropped once no lookup runs.
	 */
	struct nt_source *heirs;
	size_t		n_heirs;
	double		heir_unslewed;
};

static void schedule(struct nt_uvclient *c, double delay);

static int
io_send(void *ctx, int src, const uint8_t *buf, size_t len)
{
	struct nt_uvclient *c = ctx;
	struct uvsource *u;
	uint8_t pkt[NTP_MAX_PKT];
	size_t n;
	int r;

	assert(src >= 0 && src < NT_MAX_SOURCES && c->us[src] != NULL);
	u = c->us[src];
	if (u->nts == NULL)
		return (nt_udp_send(u->fd, buf, len, NULL));
	if ((r = nt_uvnts_wrap(u->nts, buf, len, pkt, sizeof pkt, &n)) != 0)
		return (r);
	return (nt_udp_send(u->fd, pkt, n, NULL));
}

static uint64_t
io_random(void *ctx)
{
	uint64_t v;

	(void)ctx;
	arc4random_buf(&v, sizeof v);
	return (v);
}

static void
on_timer(uv_timer_t *t)
{
	struct nt_uvclient *c = t->data;

	schedule(c, nt_engine_run(c->e));
}

static void
schedule(struct nt_uvclient *c, double delay)
{
	uint64_t ms = (uint64_t)ceil(fmin(delay, 86400.0) * 1e3);

	if (!c->closing)
		uv_timer_start(&c->timer, on_timer, ms, 0);
}

/*
 * The kernel's send time of the source's request, from the socket's error
 * queue (whose stamps also wake on_readable(), as POLLERR).
 */
static void
take_tx_stamp(struct nt_uvclient *c, struct uvsource *u)
{
	nt_time t;

	if (nt_udp_tx_stamp(u->fd, &t) == 1)
		(void)nt_engine_tx_stamp(c->e, u->src,
		    c->clk->ops->from_kernel(c->clk, t));
}

static void
on_readable(uv_poll_t *h, int status, int events)
{
	struct uvsource *u = h->data;
	struct nt_uvclient *c = u->c;
	uint8_t buf[NTP_MAX_PKT];
	struct nt_rx rx;
	ssize_t n;

	(void)events;
	take_tx_stamp(c, u);	/* queued before the reply could arrive */
	for (int i = 0; i < 64; i++) {
		n = nt_udp_recv(u->fd, buf, sizeof buf, &rx);
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			if (n != -ECONNREFUSED)
				nt_log(NT_LOG_DEBUG, "%s: receive error: %s",
				    nt_engine_source(c->e, (size_t)u->src)->name,
				    strerror((int)-n));
			continue;
		}
		if (rx.truncated) {
			nt_log(NT_LOG_DEBUG, "%s: dropped a reply: datagram of "
			    "%zu bytes, longer than %d",
			    nt_engine_source(c->e, (size_t)u->src)->name,
			    rx.wire_len, NTP_MAX_PKT);
			continue;
		}
		if (u->nts != NULL && !nt_uvnts_accept(u->nts, buf, (size_t)n))
			continue;
		nt_engine_rx(c->e, u->src, buf, (size_t)n,
		    c->clk->ops->from_kernel(c->clk, rx.rx_time));
	}
	/*
	 * libuv stops polling on POLLERR (an ICMP error or a send stamp, now
	 * read): resume.
	 */
	if (status < 0 && !c->closing)
		uv_poll_start(&u->poll, UV_READABLE, on_readable);
	/* The engine may want to act sooner now (e.g. end a slew). */
	schedule(c, nt_engine_run(c->e));
}

void
nt_uvclient_run(struct nt_uvclient *c)
{
	schedule(c, nt_engine_run(c->e));
}

static void
source_name(char *name, size_t len, const struct nt_server_conf *sc,
    const struct nt_addr *a)
{
	char abuf[NT_ADDRSTRLEN];
	struct nt_addr tmp;

	nt_addr_format(a, abuf, sizeof abuf);
	if (nt_addr_parse(&tmp, sc->address, sc->port) == 0)
		strlcpy(name, abuf, len);	/* numeric: the address says it */
	else
		snprintf(name, len, "%s (%s)", sc->address, abuf);
}

/* Does old source o carry on as new source s (same name, same conf)? */
static bool
same_source(const struct nt_source *s, const struct nt_source *o)
{
	return (!s->refclock && !o->refclock && o->name[0] != '\0' &&
	    strcmp(s->name, o->name) == 0 &&
	    nt_server_conf_same(&s->conf, &o->conf));
}

/* Source src takes over the measurements of a matching heir, if any. */
static bool
adopt(struct nt_uvclient *c, size_t src)
{
	const struct nt_source *s = nt_engine_source(c->e, src);

	for (size_t j = 0; j < c->n_heirs; j++) {
		if (!same_source(s, &c->heirs[j]))
			continue;
		nt_engine_adopt_source(c->e, src, &c->heirs[j],
		    c->heir_unslewed);
		c->heirs[j].name[0] = '\0';	/* taken */
		return (true);
	}
	return (false);
}

static void
drop_heirs(struct nt_uvclient *c)
{
	free(c->heirs);
	c->heirs = NULL;
	c->n_heirs = 0;
}

/*
 * One server, one vote: a name and its address given both, or a pool that
 * returns a server already used, must not count twice in the selection.
 * The source already polling a, or NULL.
 */
static const char *
polled_by(const struct nt_uvclient *c, const struct nt_addr *a)
{
	for (size_t i = 0; i < NT_MAX_SOURCES; i++)
		if (c->us[i] != NULL && nt_addr_cmp(&c->us[i]->addr, a) == 0)
			return (nt_engine_source(c->e, i)->name);
	return (NULL);
}

/*
 * A key exchange is done: NTP goes where it said, unless another source
 * polls that server already (it would vote twice).
 */
static int
on_nts_ready(void *ctx, const struct nt_addr *a, char *why, size_t len)
{
	struct uvsource *u = ctx;
	char b[NT_ADDRSTRLEN];
	const char *other;
	int r;

	if (nt_addr_cmp(a, &u->addr) == 0)
		return (0);
	nt_addr_format(a, b, sizeof b);
	if ((other = polled_by(u->c, a)) != NULL) {
		snprintf(why, len, "NTS-KE names NTP server %s, which source "
		    "%s polls already (it would vote twice)", b, other);
		return (-1);
	}
	if ((r = nt_udp_reconnect(u->fd, a)) != 0) {
		snprintf(why, len, "NTP server %s from NTS-KE: %s", b,
		    strerror(-r));
		return (-1);
	}
	u->addr = *a;
	return (0);
}

/* The KE server is the source's name, at its address, port nts_port. */
static int
start_nts(struct nt_uvclient *c, struct uvsource *u,
    const struct nt_server_conf *sc)
{
	struct nt_addr ke = u->addr;

	if (!nt_uvnts_trusted()) {
		nt_log(NT_LOG_ERR, "%s: 'nts: true' needs a restart (the CA "
		    "certificates are read at start-up): not added",
		    sc->address);
		return (-1);
	}
	nt_addr_set_port(&ke, sc->nts_port);
	u->nts = nt_uvnts_new(c->loop, sc->address, &ke, sc->port,
	    nt_engine_source(c->e, (size_t)u->src)->name, on_nts_ready, u);
	if (u->nts == NULL)
		nt_log(NT_LOG_ERR, "%s: NTS: %s", sc->address,
		    strerror(ENOMEM));
	return (u->nts != NULL ? 0 : -1);
}

/* Returns whether a new source polls a now. */
static bool
open_source(struct nt_uvclient *c, const struct nt_server_conf *sc,
    const struct nt_addr *a)
{
	char name[NT_NAME_MAX];
	const char *other;
	struct uvsource *u;
	int fd, src;

	source_name(name, sizeof name, sc, a);
	if ((other = polled_by(c, a)) != NULL) {
		nt_log(NT_LOG_WARNING, "%s: the same server as source %s, "
		    "not added again (it would vote twice)", name, other);
		return (false);
	}
	fd = nt_udp_client(a, NULL);
	if (fd < 0) {
		nt_log(NT_LOG_ERR, "%s: %s: %s", name, nt_udp_client_what(fd),
		    strerror(-fd));
		c->failed++;
		return (false);
	}
	(void)nt_udp_enable_tx_stamps(fd);	/* without: T1 read before */
	src = nt_engine_add_source(c->e, sc, name, nt_addr_refid(a));
	if (src < 0 || (u = calloc(1, sizeof *u)) == NULL) {
		nt_log(NT_LOG_ERR, "%s: too many sources, ignored", name);
		close(fd);
		return (false);
	}
	u->c = c;
	u->src = src;
	u->fd = fd;
	u->addr = *a;
	if (sc->nts && start_nts(c, u, sc) != 0) {
		free(u);
		close(fd);
		return (false);
	}
	u->poll.data = u;
	uv_poll_init_socket(c->loop, &u->poll, fd);
	uv_poll_start(&u->poll, UV_READABLE, on_readable);
	c->us[src] = u;
	nt_log(NT_LOG_INFO, "added source %s%s", name, adopt(c, (size_t)src) ?
	    ", with the measurements it had before the restart" : "");
	schedule(c, 0);
	return (true);
}

static struct unresolved **
find_unresolved(struct nt_uvclient *c, const struct nt_server_conf *sc)
{
	struct unresolved **u;

	for (u = &c->unres; *u != NULL; u = &(*u)->next)
		if (strcmp((*u)->sc.address, sc->address) == 0 &&
		    (*u)->sc.port == sc->port)
			break;
	return (u);
}

/* Remember why sc has no source (why NULL: it has one now). */
static void
note_unresolved(struct nt_uvclient *c, const struct nt_server_conf *sc,
    const char *state, const char *why)
{
	struct unresolved **u = find_unresolved(c, sc), *gone;

	if (why == NULL && *u != NULL) {
		gone = *u;
		*u = gone->next;
		free(gone);
		return;
	}
	/* Without memory it goes unlisted; the log has said why anyway. */
	if (why == NULL || (*u == NULL && (*u = calloc(1, sizeof **u)) ==
	    NULL))
		return;
	(*u)->sc = *sc;
	(*u)->state = state;
	strlcpy((*u)->why, why, sizeof (*u)->why);
}

static void retry_resolve(uv_timer_t *t);

/* p's lookup gave no address: say why, and try again later (daemons). */
static void
lookup_failed(struct nt_uvclient *c, struct pending *p, const char *err)
{
	struct nt_addr numeric;
	char why[128];

	c->failed++;
	if (p->fam != NT_FAMILY_ANY &&
	    nt_addr_parse(&numeric, p->sc.address, p->sc.port) == 0) {
		/* No lookup to wait for: -4 or -6 rules the address out. */
		snprintf(why, sizeof why, "an IPv%c address, but only IPv%c "
		    "is allowed (-%c)", nt_addr_family(&numeric) == AF_INET ?
		    '4' : '6', p->fam == NT_FAMILY_V4 ? '4' : '6',
		    p->fam == NT_FAMILY_V4 ? '4' : '6');
		nt_log(NT_LOG_ERR, "%s: %s: not used", p->sc.address, why);
		note_unresolved(c, &p->sc, "not used", why);
		return;
	}
	note_unresolved(c, &p->sc, "cannot resolve", err);
	if (c->once) {
		nt_log(NT_LOG_WARNING, "cannot resolve %s: %s", p->sc.address,
		    err);
		return;
	}
	nt_log(NT_LOG_WARNING, "cannot resolve %s: %s (retrying in %.0f s)",
	    p->sc.address, err, p->retry);
	uv_timer_start(&p->timer, retry_resolve, (uint64_t)(p->retry * 1e3),
	    0);
	p->retry = fmin(p->retry * 2, RESOLVE_RETRY_MAX);
}

static void
on_resolved(void *ctx, const struct nt_addr *addrs, size_t n, const char *err)
{
	struct pending *p = ctx;
	struct nt_uvclient *c = p->c;

	c->resolving--;
	p->inflight = false;
	if (p->closed) {		/* closed while the lookup ran */
		free(p);
		return;
	}
	if (c->closing)
		return;
	if (n == 0)
		lookup_failed(c, p, err);
	else
		note_unresolved(c, &p->sc, NULL, NULL);
	for (size_t i = 0, taken = 0; i < n && (int)taken < p->max; i++)
		taken += open_source(c, &p->sc, &addrs[i]);
	if (c->resolving == 0)
		drop_heirs(c);
}

static void
retry_resolve(uv_timer_t *t)
{
	struct pending *p = t->data;

	p->c->resolving++;
	p->inflight = true;
	nt_resolve(p->c->loop, p->sc.address, p->sc.port, p->fam, on_resolved,
	    p);
}

static void
add_pending(struct nt_uvclient *c, const struct nt_server_conf *sc, int max,
    enum nt_family_filter fam)
{
	struct pending *p = calloc(1, sizeof *p);

	assert(p != NULL);
	p->c = c;
	p->sc = *sc;
	p->max = max;
	p->fam = fam;
	p->retry = RESOLVE_RETRY_MIN;
	uv_timer_init(c->loop, &p->timer);
	p->timer.data = p;
	p->next = c->pend;
	c->pend = p;
	retry_resolve(&p->timer);
}

void
nt_uvclient_add_server(struct nt_uvclient *c, const struct nt_server_conf *sc,
    enum nt_family_filter fam)
{
	add_pending(c, sc, 1, fam);
}

void
nt_uvclient_add_pool(struct nt_uvclient *c, const struct nt_pool_conf *pc,
    enum nt_family_filter fam)
{
	add_pending(c, &pc->server, pc->max_sources, fam);
}

static void
io_update(void *ctx, const struct nt_update *u)
{
	struct nt_uvclient *c = ctx;

	if (c->steers_kernel && u->act.stepped && u->act.err == 0)
		nt_stepdetect_own_step(&c->sd, u->act.step);
	nt_statslog_update(c->stats, c->e, u);
	if (c->user_update != NULL)
		c->user_update(c->user_ctx, u);
}

static void
io_sample(void *ctx, const struct nt_sample_event *ev)
{
	struct nt_uvclient *c = ctx;

	nt_statslog_sample(c->stats, c->e, ev);
}

/* max_change ran out: the daemon's loop ends, the role exits (EXIT_GAVE_UP). */
static void
io_give_up(void *ctx)
{
	struct nt_uvclient *c = ctx;

	uv_stop(c->loop);
}

/* CLOCK_REALTIME between two readings of CLOCK_BOOTTIME (never stepped). */
static void
read_clocks(nt_time *real, nt_time *mono, double *err)
{
	struct timespec a, r, b;

	if (clock_gettime(CLOCK_BOOTTIME, &a) != 0 ||
	    clock_gettime(CLOCK_REALTIME, &r) != 0 ||
	    clock_gettime(CLOCK_BOOTTIME, &b) != 0)
		abort();
	*real = nt_from_timespec(&r);
	*mono = nt_from_timespec(&a) + (nt_from_timespec(&b) -
	    nt_from_timespec(&a)) / 2;
	*err = nt_diff(nt_from_timespec(&b), nt_from_timespec(&a));
}

static void
on_stepcheck(uv_timer_t *t)
{
	struct nt_uvclient *c = t->data;
	char b[NT_DURSTR_LEN];
	nt_time real, mono;
	double err, step;

	read_clocks(&real, &mono, &err);
	switch (nt_stepdetect_feed(&c->sd, real, mono, err, &step)) {
	case NT_STEP_FOREIGN:
		nt_log(NT_LOG_WARNING, "clock stepped by %s by something "
		    "else; restarting measurements", nt_format_dur(step, b,
		    sizeof b));
		nt_engine_restart_sources(c->e);
		schedule(c, 0);
		break;
	case NT_STEP_LEAP:
		nt_log(NT_LOG_NOTICE, "the kernel applied a leap second");
		break;
	case NT_STEP_NONE:
		break;
	}
}

static void
start_stepcheck(struct nt_uvclient *c)
{
	struct nt_stepdetect_params p = { NT_STEPDETECT_THRESHOLD, 0 };
	nt_time real, mono;
	double err, step;

	c->steers_kernel = strcmp(c->clk->name, "kernel") == 0;
	nt_stepdetect_init(&c->sd, &p);
	read_clocks(&real, &mono, &err);
	(void)nt_stepdetect_feed(&c->sd, real, mono, err, &step);
	uv_timer_init(c->loop, &c->stepcheck);
	c->stepcheck.data = c;
	uv_timer_start(&c->stepcheck, on_stepcheck, STEPCHECK_MS, STEPCHECK_MS);
}

struct nt_uvclient *
nt_uvclient_new(uv_loop_t *loop, const struct nt_engine_params *p,
    struct nt_clock *clk, void (*on_update)(void *, const struct nt_update *),
    void *ctx)
{
	struct nt_uvclient *c = calloc(1, sizeof *c);
	struct nt_engine_io io = { 0 };

	if (c == NULL)
		return (NULL);
	c->loop = loop;
	c->clk = clk;
	c->user_update = on_update;
	c->user_ctx = ctx;
	c->once = p->measure_only;
	io = (struct nt_engine_io){ c, io_send, io_random, io_update,
	    io_give_up, io_sample };
	c->e = nt_engine_new(p, clk, &io);
	if (c->e == NULL) {
		free(c);
		return (NULL);
	}
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	start_stepcheck(c);
	return (c);
}

static void
free_on_close(uv_handle_t *h)
{
	free(h->data);
}

/* A pending name's timer is closed; a running lookup frees it later. */
static void
pending_closed(uv_handle_t *h)
{
	struct pending *p = h->data;

	if (p->inflight)
		p->closed = true;
	else
		free(p);
}

void
nt_uvclient_close(struct nt_uvclient *c)
{
	struct pending *p, *next;

	c->closing = true;
	uv_close((uv_handle_t *)&c->timer, NULL);
	uv_close((uv_handle_t *)&c->stepcheck, NULL);
	for (int i = 0; i < NT_MAX_SOURCES; i++) {
		if (c->us[i] == NULL)
			continue;
		uv_poll_stop(&c->us[i]->poll);
		close(c->us[i]->fd);
		nt_uvnts_close(c->us[i]->nts);
		uv_close((uv_handle_t *)&c->us[i]->poll, free_on_close);
		c->us[i] = NULL;
	}
	for (p = c->pend; p != NULL; p = next) {
		next = p->next;
		/* --once's timeout came first: listed, as a failed lookup. */
		if (p->inflight)
			note_unresolved(c, &p->sc, "cannot resolve",
			    "no answer from the resolver in time");
		uv_close((uv_handle_t *)&p->timer, pending_closed);
	}
	c->pend = NULL;
}

void
nt_uvclient_free(struct nt_uvclient *c)
{
	struct unresolved *u;

	assert(c->closing);
	drop_heirs(c);
	while ((u = c->unres) != NULL) {
		c->unres = u->next;
		free(u);
	}
	nt_engine_free(c->e);
	free(c);
}

int
nt_uvclient_inherit(struct nt_uvclient *c, const struct nt_engine *old,
    double unslewed)
{
	size_t n = nt_engine_n_sources(old);
	int kept = 0;

	assert(c->heirs == NULL);
	if (n == 0 || (c->heirs = calloc(n, sizeof *c->heirs)) == NULL)
		return (0);		/* nothing to keep (or no memory) */
	for (size_t j = 0; j < n; j++)
		if (!nt_engine_source(old, j)->refclock)
			c->heirs[c->n_heirs++] = *nt_engine_source(old, j);
	c->heir_unslewed = unslewed;
	for (size_t i = 0; i < nt_engine_n_sources(c->e); i++)
		kept += adopt(c, i);
	if (c->resolving == 0)
		drop_heirs(c);
	return (kept);
}

struct nt_engine *
nt_uvclient_engine(struct nt_uvclient *c)
{
	return (c->e);
}

void
nt_uvclient_set_statslog(struct nt_uvclient *c, struct nt_statslog *sl)
{
	c->stats = sl;
}

int
nt_uvclient_resolving(const struct nt_uvclient *c)
{
	return (c->resolving);
}

int
nt_uvclient_failed(const struct nt_uvclient *c)
{
	return (c->failed);
}

const char *
nt_uvclient_unresolved(struct nt_uvclient *c, const struct nt_server_conf *sc,
    const char **state)
{
	struct unresolved *u = *find_unresolved(c, sc);

	if (u == NULL)
		return (NULL);
	*state = u->state;
	return (u->why);
}
