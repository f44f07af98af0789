/*
 * Wiring refclock drivers to libuv (see uvrefclock.h).  One state per
 * refclock: a retry timer for opening, a read timer (timer drivers) or a
 * uv_poll on the driver's descriptor (allocated per open, freed in its
 * close callback, so a reopen never races the old handle).  No timing
 * logic: the samples go straight to the refclock set.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "uvrefclock.h"

#define READ_BATCH	16	/* samples per driver read */
#define WATCHDOG_S	10.0

struct uvrc {
	struct nt_uvrefclock *u;
	int		index;
	bool		is_open;
	uv_poll_t	*poll;		/* descriptor drivers, while open */
	uv_timer_t	read_timer;	/* timer drivers */
	uv_timer_t	retry_timer;
	double		backoff;	/* s before the next open attempt */
	nt_time		opened_at, lost_at, last_sample;
	bool		was_open, silent_said;
	bool		open_failed;	/* last_err is from an open, not a loss */
	char		last_err[NT_RC_ERRLEN];
	unsigned	opens, losses;
};

struct nt_uvrefclock {
	uv_loop_t	*loop;
	struct nt_refclock_set set;
	struct uvrc	s[NT_REFCLOCK_MAX];
	uv_timer_t	watchdog;
	bool		closing;
};

static void try_open(struct uvrc *r);

static struct nt_refclock *
rc_of(struct uvrc *r)
{
	return (&r->u->set.rc[r->index]);
}

/*
 * The loop's monotonic time, for ages only (silent for, reopened after):
 * a step of the clock, ours or a dry run's, must not age anything.
 */
static nt_time
now_of(struct uvrc *r)
{
	return ((nt_time)uv_now(r->u->loop) * NT_MSEC);
}

static uint64_t
ms(double s)
{
	return ((uint64_t)ceil(s * 1e3));
}

static void
on_retry(uv_timer_t *t)
{
	try_open(t->data);
}

static void
schedule_retry(struct uvrc *r)
{
	if (r->u->closing)
		return;
	uv_timer_start(&r->retry_timer, on_retry, ms(r->backoff), 0);
}

static void
on_poll_closed(uv_handle_t *h)
{
	free(h);
}

/* Close the device; stop reading it. */
static void
shut(struct uvrc *r)
{
	struct nt_refclock *rc = rc_of(r);

	if (!r->is_open)
		return;
	r->is_open = false;
	if (r->poll != NULL) {
		uv_close((uv_handle_t *)r->poll, on_poll_closed);
		r->poll = NULL;
	}
	uv_timer_stop(&r->read_timer);
	rc->drv->close(rc);
}

/* The device failed: close it and try again after the back-off. */
static void
lost(struct uvrc *r, const char *why)
{
	struct nt_refclock *rc = rc_of(r);
	bool stable = nt_diff(now_of(r), r->opened_at) >= NT_UVRC_STABLE_S;

	shut(r);
	r->losses++;
	r->lost_at = now_of(r);
	if (stable)
		r->backoff = NT_UVRC_BACKOFF_MIN;
	nt_log(stable || strcmp(why, r->last_err) != 0 ? NT_LOG_WARNING :
	    NT_LOG_INFO, "refclock %s: device lost: %s; reopening in %.0f s",
	    rc->name, why, r->backoff);
	strlcpy(r->last_err, why, sizeof r->last_err);
	r->open_failed = false;
	schedule_retry(r);
	r->backoff = fmin(r->backoff * 2, NT_UVRC_BACKOFF_MAX);
}

static void
read_some(struct uvrc *r)
{
	struct nt_refclock *rc = rc_of(r);
	struct nt_refclock_sample out[READ_BATCH];
	char err[NT_RC_ERRLEN] = "";
	int n;

	n = rc->drv->read(rc, out, READ_BATCH, err, sizeof err);
	if (n < 0) {
		lost(r, err[0] != '\0' ? err : strerror(-n));
		return;
	}
	for (int i = 0; i < n && !r->u->closing; i++) {
		r->last_sample = now_of(r);
		if (r->silent_said)
			nt_log(NT_LOG_NOTICE, "refclock %s: samples again",
			    rc->name);
		r->silent_said = false;
		nt_refclock_set_raw(&r->u->set, r->index, &out[i]);
	}
}

static void
on_readable(uv_poll_t *h, int status, int events)
{
	struct uvrc *r = h->data;

	/* On an error or hang-up the driver's read says what happened. */
	(void)status;
	(void)events;
	read_some(r);
}

static void
on_read_timer(uv_timer_t *t)
{
	read_some(t->data);
}

/*
 * Read the open device from now on: on a timer, or when it is readable.
 * 0, or -1 with err when it cannot be watched (a regular file or a
 * directory: epoll refuses them); the driver then closes it.
 */
static int
started(struct uvrc *r, int fd, char *err, size_t errlen)
{
	struct nt_refclock *rc = rc_of(r);
	double iv;
	int e;

	if (rc->drv->interval > 0) {
		iv = fmin(rc->drv->interval, ldexp(1.0, rc->conf->poll));
		uv_timer_start(&r->read_timer, on_read_timer, ms(iv), ms(iv));
	} else {
		r->poll = calloc(1, sizeof *r->poll);
		assert(r->poll != NULL);
		if ((e = uv_poll_init(r->u->loop, r->poll, fd)) != 0) {
			free(r->poll);
			r->poll = NULL;
			nt_refclock_unwatchable(fd, uv_strerror(e), err,
			    errlen);
			return (-1);
		}
		r->poll->data = r;
		uv_poll_start(r->poll, UV_READABLE | UV_DISCONNECT,
		    on_readable);
	}
	r->is_open = true;
	r->opens++;
	r->opened_at = r->last_sample = now_of(r);
	return (0);
}

/* Could not open, or not watch: say so (once per reason), retry later. */
static void
open_failed(struct uvrc *r, const char *err)
{
	struct nt_refclock *rc = rc_of(r);

	nt_log(strcmp(err, r->last_err) != 0 ? NT_LOG_WARNING : NT_LOG_INFO,
	    "refclock %s: cannot open: %s; retrying in %.0f s", rc->name, err,
	    r->backoff);
	strlcpy(r->last_err, err, sizeof r->last_err);
	r->open_failed = true;
	schedule_retry(r);
	r->backoff = fmin(r->backoff * 2, NT_UVRC_BACKOFF_MAX);
}

static void
try_open(struct uvrc *r)
{
	struct nt_refclock *rc = rc_of(r);
	char err[NT_RC_ERRLEN] = "";
	int fd;

	assert(!r->is_open);
	fd = rc->drv->open(rc, err, sizeof err);
	if (fd < 0) {
		if (err[0] == '\0')
			strlcpy(err, strerror(-fd), sizeof err);
		open_failed(r, err);
		return;
	}
	if (started(r, fd, err, sizeof err) != 0) {
		/* The wrong kind of file: not worth a quick retry. */
		rc->drv->close(rc);
		r->backoff = NT_UVRC_BACKOFF_MAX;
		strlcat(err, " (fix 'device')", sizeof err);
		open_failed(r, err);
		return;
	}
	if (r->was_open)
		nt_log(NT_LOG_NOTICE, "refclock %s: reopened after %.0f s",
		    rc->name, nt_diff(now_of(r), r->lost_at));
	else
		nt_log(NT_LOG_INFO, "refclock %s: opened (driver %s)",
		    rc->name, rc->drv->name);
	r->was_open = true;
	r->last_err[0] = '\0';
}

static void
on_watchdog(uv_timer_t *t)
{
	struct nt_uvrefclock *u = t->data;

	for (size_t i = 0; i < u->set.n; i++) {
		struct uvrc *r = &u->s[i];

		if (!r->is_open || r->silent_said ||
		    nt_diff(now_of(r), r->last_sample) < NT_UVRC_SILENT_S)
			continue;
		r->silent_said = true;
		nt_log(NT_LOG_WARNING, "refclock %s: no samples for %.0f s",
		    rc_of(r)->name, nt_diff(now_of(r), r->last_sample));
	}
}

struct nt_uvrefclock *
nt_uvrefclock_new(uv_loop_t *loop, struct nt_clock *clk,
    const struct nt_refclock_conf *confs, size_t n,
    nt_refclock_sample_fn *on_sample, void *ctx, char *err, size_t errlen)
{
	struct nt_uvrefclock *u = calloc(1, sizeof *u);

	assert(u != NULL);
	if (nt_refclock_set_init(&u->set, clk, confs, n, on_sample, ctx, err,
	    errlen) != 0) {
		free(u);
		return (NULL);
	}
	u->loop = loop;
	uv_timer_init(loop, &u->watchdog);
	u->watchdog.data = u;
	uv_timer_start(&u->watchdog, on_watchdog, ms(WATCHDOG_S),
	    ms(WATCHDOG_S));
	for (size_t i = 0; i < n; i++) {
		struct uvrc *r = &u->s[i];

		r->u = u;
		r->index = (int)i;
		r->backoff = NT_UVRC_BACKOFF_MIN;
		uv_timer_init(loop, &r->read_timer);
		uv_timer_init(loop, &r->retry_timer);
		r->read_timer.data = r->retry_timer.data = r;
		try_open(r);
	}
	return (u);
}

void
nt_uvrefclock_set_fallback(struct nt_uvrefclock *u,
    nt_refclock_fallback_fn *fn)
{
	nt_refclock_set_fallback(&u->set, fn);
}

void
nt_uvrefclock_close(struct nt_uvrefclock *u)
{
	if (u->closing)
		return;
	u->closing = true;
	uv_close((uv_handle_t *)&u->watchdog, NULL);
	for (size_t i = 0; i < u->set.n; i++) {
		shut(&u->s[i]);
		uv_close((uv_handle_t *)&u->s[i].read_timer, NULL);
		uv_close((uv_handle_t *)&u->s[i].retry_timer, NULL);
	}
}

void
nt_uvrefclock_free(struct nt_uvrefclock *u)
{
	if (u == NULL)
		return;
	assert(u->closing);
	free(u);
}

size_t
nt_uvrefclock_n(const struct nt_uvrefclock *u)
{
	return (u->set.n);
}

const struct nt_refclock *
nt_uvrefclock_get(const struct nt_uvrefclock *u, size_t i)
{
	assert(i < u->set.n);
	return (&u->set.rc[i]);
}

bool
nt_uvrefclock_is_open(const struct nt_uvrefclock *u, size_t i)
{
	assert(i < u->set.n);
	return (u->s[i].is_open);
}

unsigned
nt_uvrefclock_opens(const struct nt_uvrefclock *u, size_t i)
{
	assert(i < u->set.n);
	return (u->s[i].opens);
}

unsigned
nt_uvrefclock_losses(const struct nt_uvrefclock *u, size_t i)
{
	assert(i < u->set.n);
	return (u->s[i].losses);
}

const char *
nt_uvrefclock_error(const struct nt_uvrefclock *u, size_t i,
    const char **state)
{
	const struct uvrc *r;

	assert(i < u->set.n);
	r = &u->s[i];
	if (r->is_open || r->last_err[0] == '\0')
		return (NULL);
	*state = r->open_failed ? "cannot open" : "device lost";
	return (r->last_err);
}
