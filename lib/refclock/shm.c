/*
 * The shm driver: ntpd's shared-memory refclock protocol, which gpsd and
 * other GPS daemons write.  Segment key 0x4e545030 + unit.  We attach
 * read-only, so a bug here cannot corrupt the writer; mode 1's handshake
 * (count read before and after copying the sample) catches torn copies,
 * and since we cannot clear 'valid', a sample is new when its timestamps
 * are, and stale when its receive time is old (a dead writer leaves its
 * last sample behind).
 *
 * Units 0 and 1 are gpsd's root-only segments: one owned by anyone else,
 * or writable by others, is refused (whoever creates it first could feed
 * us time).  When such a unit does not exist yet and we are root (a master
 * before it gives up root), we create it, mode 0600, as ntpd and chronyd
 * do: the attachment outlives the switch to an unprivileged user, and gpsd
 * writes into our segment when it starts.  Units 2+ are world-writable by
 * gpsd's convention: used, with a warning; a missing one means the writer
 * has not started yet, and the adapter retries.  A writer that re-creates
 * its segment is re-attached.
 *
 * A record that is not a time (unknown mode, fractions beyond a second,
 * a receive time far from now, and what nt_refclock_check_time() refuses
 * for SOCK too: a reference time before 2025 or years ahead, a leap value
 * beyond 3) is refused and each kind logged once, then every 100th.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "log.h"
#include "ntp_pkt.h"
#include "refclock.h"

#define SHM_MAXAGE	4.0	/* s: older samples are a dead writer's */
#define SHM_RECHECK	8.0	/* s without news: is the segment still ours? */

struct shm {
	const volatile struct nt_shm_time *seg;
	int		shmid;
	bool		have_last;
	nt_time		last_clock, last_receive;
	nt_time		last_new;	/* local time of the last new sample */
	bool		unsync_said;
	struct nt_shm_time last_bad;	/* the last undecodable record */
	struct nt_rc_refusals bad;	/* kinds: enum refusal */
};

/* What a refused record is, for logging each kind once. */
enum refusal {
	BAD_MODE = 0,
	BAD_FIELDS,
	BAD_STALE,
	BAD_CHECK,		/* + enum nt_rc_check */
};

enum nt_shm_verdict
nt_shm_decode(const struct nt_shm_time *t, int c1, int c2,
    struct nt_shm_sample *out)
{
	int64_t cns, rns;

	if (t->mode != 0 && t->mode != 1)
		return (NT_SHM_MODE);
	if (!t->valid)
		return (NT_SHM_INVALID);
	if (t->mode == 1 && c1 != c2)
		return (NT_SHM_TORN);
	if (t->clock_usec < 0 || t->clock_usec > 999999 ||
	    t->receive_usec < 0 || t->receive_usec > 999999 ||
	    !NT_RC_SEC_OK(t->clock_sec) || !NT_RC_SEC_OK(t->receive_sec))
		return (NT_SHM_BADTIME);
	/* The nanosecond fields are newer; trust them when consistent. */
	cns = t->clock_nsec < 1000000000u &&
	    (int)(t->clock_nsec / 1000) == t->clock_usec ?
	    (int64_t)t->clock_nsec : (int64_t)t->clock_usec * 1000;
	rns = t->receive_nsec < 1000000000u &&
	    (int)(t->receive_nsec / 1000) == t->receive_usec ?
	    (int64_t)t->receive_nsec : (int64_t)t->receive_usec * 1000;
	out->clock = (nt_time)t->clock_sec * NT_SEC + cns;
	out->receive = (nt_time)t->receive_sec * NT_SEC + rns;
	out->leap = t->leap;
	out->precision = t->precision;
	out->count = c2;
	return (NT_SHM_OK);
}

int
nt_shm_check_perm(int unit, unsigned uid, unsigned cuid, unsigned mode,
    char *why, size_t len)
{
	if (unit <= 1 && (uid != 0 || cuid != 0)) {
		snprintf(why, len, "segment belongs to uid %u (created by uid "
		    "%u), not root: whoever made it could feed us any time; "
		    "refused (remove it with ipcrm, let gpsd run as root)", uid,
		    cuid);
		return (-1);
	}
	if (unit <= 1 && (mode & 0022)) {
		snprintf(why, len, "segment is writable by others (mode %04o); "
		    "refused", mode & 0777);
		return (-1);
	}
	if (mode & 0002) {
		snprintf(why, len, "segment is world-writable (mode %04o, as "
		    "gpsd makes units 2 and up): any local user can feed it "
		    "time; prefer unit 0 or 1", mode & 0777);
		return (1);
	}
	return (0);
}

static int
attach(struct nt_refclock *rc, int shmid, void **seg, char *err,
    size_t errlen)
{
	struct shmid_ds ds;
	char why[256];
	int r;

	if (shmctl(shmid, IPC_STAT, &ds) != 0) {
		r = -errno;
		snprintf(err, errlen, "SHM unit %d: %s (we run as uid %u)",
		    rc->conf->unit, strerror(errno), (unsigned)geteuid());
		return (r);
	}
	r = nt_shm_check_perm(rc->conf->unit, ds.shm_perm.uid,
	    ds.shm_perm.cuid, ds.shm_perm.mode, why, sizeof why);
	if (r < 0) {
		snprintf(err, errlen, "SHM unit %d: %s", rc->conf->unit, why);
		return (-EPERM);
	}
	if (r > 0)
		nt_log(NT_LOG_WARNING, "refclock %s: %s", rc->name, why);
	if (ds.shm_segsz < sizeof(struct nt_shm_time)) {
		snprintf(err, errlen, "SHM unit %d: segment too small (%zu "
		    "bytes, need %zu): not an NTP segment", rc->conf->unit,
		    (size_t)ds.shm_segsz, sizeof(struct nt_shm_time));
		return (-EINVAL);
	}
	*seg = shmat(shmid, NULL, SHM_RDONLY);
	if (*seg == (void *)-1) {
		r = -errno;
		snprintf(err, errlen, "SHM unit %d: cannot attach: %s",
		    rc->conf->unit, strerror(errno));
		return (r);
	}
	return (0);
}

static int
shm_open_unit(struct nt_refclock *rc, char *err, size_t errlen)
{
	int unit = rc->conf->unit, shmid, r;
	struct shm *st;
	void *seg = NULL;

	shmid = shmget((key_t)(NT_SHM_KEY + unit), 0, 0);
	if (shmid < 0 && errno == ENOENT && unit <= 1 && geteuid() == 0) {
		shmid = shmget((key_t)(NT_SHM_KEY + unit),
		    sizeof(struct nt_shm_time), IPC_CREAT | 0600);
		if (shmid >= 0)
			nt_log(NT_LOG_INFO, "SHM unit %d: created (mode 0600) "
			    "for gpsd to write into", unit);
	}
	if (shmid < 0) {
		r = -errno;
		if (errno == ENOENT)
			snprintf(err, errlen, "SHM unit %d (key 0x%08x) does "
			    "not exist yet: gpsd (or another writer) has not "
			    "created it", unit, NT_SHM_KEY + unit);
		else
			snprintf(err, errlen, "SHM unit %d (key 0x%08x): %s "
			    "(we run as uid %u)", unit, NT_SHM_KEY + unit,
			    strerror(errno), (unsigned)geteuid());
		return (r);
	}
	if ((r = attach(rc, shmid, &seg, err, errlen)) < 0)
		return (r);
	assert(seg != NULL);
	st = calloc(1, sizeof *st);
	assert(st != NULL);
	st->seg = seg;
	st->shmid = shmid;
	st->last_new = nt_clock_now(rc->clk);
	rc->priv = st;
	return (0);
}

static void
shm_close(struct nt_refclock *rc)
{
	struct shm *st = rc->priv;

	if (st == NULL)
		return;
	(void)shmdt((const void *)st->seg);
	free(st);
	rc->priv = NULL;
}

/* Copy the segment between two reads of its count. */
static void
snapshot(const volatile struct nt_shm_time *seg, struct nt_shm_time *c,
    int *c1, int *c2)
{
	memset(c, 0, sizeof *c);
	*c1 = seg->count;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	c->mode = seg->mode;
	c->clock_sec = seg->clock_sec;
	c->clock_usec = seg->clock_usec;
	c->receive_sec = seg->receive_sec;
	c->receive_usec = seg->receive_usec;
	c->leap = seg->leap;
	c->precision = seg->precision;
	c->valid = seg->valid;
	c->clock_nsec = seg->clock_nsec;
	c->receive_nsec = seg->receive_nsec;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	*c2 = seg->count;
}

/* Nothing new for a while: has the writer made a new segment? */
static int
recheck(struct nt_refclock *rc, struct shm *st, nt_time now, char *err,
    size_t errlen)
{
	int id;

	if (nt_diff(now, st->last_new) < SHM_RECHECK)
		return (0);
	st->last_new = now;
	id = shmget((key_t)(NT_SHM_KEY + rc->conf->unit), 0, 0);
	if (id == st->shmid)
		return (0);
	snprintf(err, errlen, "SHM unit %d was %s by its writer",
	    rc->conf->unit, id < 0 ? "removed" : "re-created");
	return (-EIDRM);
}

/* The same record as before (field by field: the struct has padding). */
static bool
same_record(const struct nt_shm_time *a, const struct nt_shm_time *b)
{
	return (a->mode == b->mode && a->clock_sec == b->clock_sec &&
	    a->clock_usec == b->clock_usec && a->clock_nsec == b->clock_nsec &&
	    a->receive_sec == b->receive_sec &&
	    a->receive_usec == b->receive_usec &&
	    a->receive_nsec == b->receive_nsec && a->leap == b->leap);
}

/* A record that does not decode: said once per kind, counted per change. */
static void
undecodable(struct nt_refclock *rc, struct shm *st,
    const struct nt_shm_time *t, enum nt_shm_verdict v)
{
	if (same_record(t, &st->last_bad))
		return;
	st->last_bad = *t;
	if (v == NT_SHM_MODE)
		(void)nt_refclock_refused(rc, &st->bad, BAD_MODE, "bad record: "
		    "mode %d (neither 0 nor 1); not used", t->mode);
	else
		(void)nt_refclock_refused(rc, &st->bad, BAD_FIELDS, "bad "
		    "record: field out of range (clock %lld s %d us %u ns; "
		    "receive %lld s %d us %u ns); not used",
		    (long long)t->clock_sec, t->clock_usec, t->clock_nsec,
		    (long long)t->receive_sec, t->receive_usec,
		    t->receive_nsec);
}

static bool
usable(struct nt_refclock *rc, struct shm *st, const struct nt_shm_sample *s,
    nt_time local, nt_time now)
{
	enum nt_rc_check c;
	char why[NT_RC_ERRLEN];

	c = nt_refclock_check_time(s->receive, nt_diff(s->clock, s->receive),
	    s->leap, NTP_LEAP_UNSYNC, why, sizeof why);
	if (c != NT_RCC_OK) {
		(void)nt_refclock_refused(rc, &st->bad, BAD_CHECK + c,
		    "bad record: %s; not used", why);
		return (false);
	}
	if (fabs(nt_diff(now, local)) > SHM_MAXAGE) {
		(void)nt_refclock_refused(rc, &st->bad, BAD_STALE, "bad record: "
		    "receive time %+.1f s from now (more than %.0f s: a stopped "
		    "writer's last sample?); not used", nt_diff(local, now),
		    SHM_MAXAGE);
		return (false);
	}
	if (s->leap == NTP_LEAP_UNSYNC) {
		if (!st->unsync_said)
			nt_log(NT_LOG_WARNING, "refclock %s: the writer says it "
			    "is not synchronized (leap 3); not used", rc->name);
		st->unsync_said = true;
		return (false);
	}
	st->unsync_said = false;
	return (true);
}

static int
shm_read(struct nt_refclock *rc, struct nt_refclock_sample *out, size_t max,
    char *err, size_t errlen)
{
	struct shm *st = rc->priv;
	struct nt_shm_time copy;
	struct nt_shm_sample s;
	enum nt_shm_verdict v;
	nt_time now = nt_clock_now(rc->clk), local;
	int c1, c2;

	snapshot(st->seg, &copy, &c1, &c2);
	v = nt_shm_decode(&copy, c1, c2, &s);
	if (v == NT_SHM_MODE || v == NT_SHM_BADTIME)
		undecodable(rc, st, &copy, v);
	if (v != NT_SHM_OK || (st->have_last && s.clock == st->last_clock &&
	    s.receive == st->last_receive))
		return (recheck(rc, st, now, err, errlen));
	st->have_last = true;
	st->last_clock = s.clock;
	st->last_receive = s.receive;
	st->last_new = now;
	local = rc->clk->ops->from_kernel(rc->clk, s.receive);
	if (max == 0 || !usable(rc, st, &s, local, now))
		return (0);
	memset(out, 0, sizeof *out);
	out->local = local;
	out->offset = nt_diff(s.clock, local);
	out->disp = s.precision >= -30 && s.precision <= 0 ?
	    ldexp(1.0, s.precision) : 0;
	out->leap = s.leap;
	out->n = 1;
	return (1);
}

const struct nt_refclock_driver nt_rc_shm = {
	.name = "shm",
	.refid = "SHM",
	.options = NT_RCO_UNIT | NT_RCO_PPS,
	.required = 0,
	.poll = 4,
	.precision = 1e-6,
	.interval = 0.5,
	.open = shm_open_unit,
	.read = shm_read,
	.close = shm_close,
};
