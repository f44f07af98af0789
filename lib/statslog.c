/*
 * The statistics logs (see statslog.h): formatters that only format, and
 * a writer that appends their lines.  Why a directory descriptor: the
 * daemon opens it as root at start-up, then creates and reopens the
 * files relative to it as its own user; the path above it need not be
 * searchable by that user, and nothing is looked up by name after the
 * sandbox is on but the four file names.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "statslog.h"

#define SRC_W NT_STATSLOG_SRC

static const struct {
	const char	*name;
	const char	*columns;
} files[NT_STATSLOG_N] = {
	[NT_STATSLOG_MEASUREMENTS] = { "measurements.log",
	    "Date (UTC) Time     Source                     L St Poll     "
	    "Offset      Delay      Disp.  Root del. Root disp. Refid       "
	    "    Verdict" },
	[NT_STATSLOG_TRACKING] = { "tracking.log",
	    "Date (UTC) Time     Source                     St L   Freq ppm  "
	    "Skew ppm     Offset  Offset SD  Root del. Root disp. Likely err "
	    "  Max err. Poll Agree Action" },
	[NT_STATSLOG_STATISTICS] = { "statistics.log",
	    "Date (UTC) Time     Source                         Offset        "
	    "Low       High   Freq ppm  Skew ppm     Jitter NS Reach State" },
	[NT_STATSLOG_REFCLOCKS] = { "refclocks.log",
	    "Date (UTC) Time     Refclock                   L Raw offset     "
	    "Offset      Disp.         SD Pulse  N Verdict" },
};

const char *
nt_statslog_columns(enum nt_statslog_file f)
{
	assert(f >= 0 && f < NT_STATSLOG_N);
	return (files[f].columns);
}

const char *
nt_statslog_name(enum nt_statslog_file f)
{
	assert(f >= 0 && f < NT_STATSLOG_N);
	return (files[f].name);
}

const char *
nt_statslog_verdict(enum ntp_verdict v, bool held)
{
	switch (v) {
	case NTP_REPLY_OK:
		/* Kept, but outside the fit until the next one agrees. */
		return (held ? "held" : "ok");
	case NTP_REPLY_MAX_DELAY:
		return ("maxdelay");
	case NTP_REPLY_XLEAVE_SKIP:
		return ("xleave-skip");
	case NTP_REPLY_UNSYNC:
		return ("unsync");
	case NTP_REPLY_DISTANCE:
		return ("distance");
	case NTP_REPLY_KOD_RATE:
		return ("kod-rate");
	case NTP_REPLY_KOD_DENY:
		return ("kod-deny");
	case NTP_REPLY_KOD_RSTR:
		return ("kod-rstr");
	case NTP_REPLY_KOD_OTHER:
		return ("kod-other");
	case NTP_REPLY_ZERO_XMT:
		return ("zero-xmt");
	case NTP_REPLY_ZERO_REC:
		return ("zero-rec");
	case NTP_REPLY_BAD_DELAY:
		return ("bad-delay");
	default:
		return ("bad");
	}
}

/* A source's state in one word: the last column, for awk's $NF too. */
static const char *
state_word(enum nt_src_state st)
{
	static const char *const words[] = {
		[NT_SRC_INIT] = "init",
		[NT_SRC_SELECTED] = "selected",
		[NT_SRC_COMBINED] = "combined",
		[NT_SRC_CANDIDATE] = "candidate",
		[NT_SRC_FALSETICKER] = "falseticker",
		[NT_SRC_UNSYNC] = "unsync",
		[NT_SRC_DISTANCE] = "distance",
		[NT_SRC_UNREACH] = "unreachable",
		[NT_SRC_DENIED] = "denied",
		[NT_SRC_NOMAJORITY] = "nomajority",
		[NT_SRC_NOSELECT] = "noselect",
	};

	if ((unsigned)st >= sizeof words / sizeof words[0] ||
	    words[st] == NULL)
		return ("?");
	return (words[st]);
}

void
nt_statslog_label(const char *name, bool refclock, char *buf, size_t len)
{
	const char *open = strstr(name, " (");
	size_t n = strlen(name);

	assert(len > 0);
	if (open != NULL && n > 0 && name[n - 1] == ')') {
		/* A refclock's refid, a server's address. */
		n = refclock ? (size_t)(open - name) : n - (size_t)(open -
		    name) - 3;
		name = refclock ? name : open + 2;
	}
	if (n >= len)
		n = len - 1;
	memcpy(buf, name, n);
	for (size_t i = 0; i < n; i++)
		if (buf[i] == ' ' || buf[i] == '\t')
			buf[i] = '_';
	buf[n] = '\0';
}

/* "2026-11-27 08:35:12": the columns' first two. */
static void
fmt_when(nt_time t, char *buf, size_t len)
{
	time_t sec = (time_t)(t / 1000000000);
	struct tm tm;

	if (t < 0 || gmtime_r(&sec, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		strlcpy(buf, "0000-00-00 00:00:00", len);
}

/* A number in a 10-wide column, or "-" when there is none. */
static const char *
fmt_num(double v, bool have, char *buf, size_t len)
{
	if (have)
		snprintf(buf, len, "%10.3e", v);
	else
		snprintf(buf, len, "%10s", "-");
	return (buf);
}

static int
done(int n, size_t len)
{
	return (n < 0 || (size_t)n >= len ? -1 : n);
}

int
nt_statslog_fmt_meas(char *buf, size_t len, const struct nt_statslog_meas *m)
{
	char when[32], refid[NTP_REFID_STRLEN], o[16], d[16], e[16];

	fmt_when(m->when, when, sizeof when);
	ntp_refid_str(m->refid, m->stratum, refid, sizeof refid);
	return (done(snprintf(buf, len, "%s %-*s %1d %2d %4d %s %s %s "
	    "%10.3e %10.3e %-15s %s\n", when, SRC_W, m->source, m->leap,
	    m->stratum, m->poll, fmt_num(m->offset, m->have_sample, o,
	    sizeof o), fmt_num(m->delay, m->have_sample, d, sizeof d),
	    fmt_num(m->disp, m->have_sample, e, sizeof e), m->root_delay,
	    m->root_disp, refid[0] != '\0' ? refid : "-", m->verdict), len));
}

int
nt_statslog_fmt_track(char *buf, size_t len,
    const struct nt_statslog_track *t)
{
	char when[32], agree[24];

	fmt_when(t->when, when, sizeof when);
	snprintf(agree, sizeof agree, "%d/%d", t->agree, t->candidates);
	return (done(snprintf(buf, len, "%s %-*s %2d %1d %10.3f %9.3f "
	    "%10.3e %10.3e %10.3e %10.3e %10.3e %10.3e %4d %5s %s\n",
	    when, SRC_W, t->source, t->stratum, t->leap, t->freq_ppm,
	    t->skew_ppm, t->offset, t->offset_sd, t->root_delay,
	    t->root_disp, t->likely, t->max_error, t->poll, agree,
	    t->action), len));
}

int
nt_statslog_fmt_stat(char *buf, size_t len, const struct nt_statslog_stat *s)
{
	char when[32], reach[8];

	fmt_when(s->when, when, sizeof when);
	snprintf(reach, sizeof reach, "%03o", (unsigned)s->reach & 0777u);
	return (done(snprintf(buf, len, "%s %-*s %10.3e %10.3e %10.3e "
	    "%10.3f %9.3f %10.3e %2d %5s %s\n", when, SRC_W, s->source,
	    s->offset, s->lo, s->hi, s->freq_ppm, s->skew_ppm, s->jitter,
	    s->samples, reach, s->state), len));
}

int
nt_statslog_fmt_rc(char *buf, size_t len, const struct nt_statslog_rc *r)
{
	char when[32], o[16];

	fmt_when(r->when, when, sizeof when);
	return (done(snprintf(buf, len, "%s %-*s %1d %10.3e %s %10.3e "
	    "%10.3e %5s %2d %s\n", when, SRC_W, r->source, r->leap, r->raw,
	    fmt_num(r->offset, r->have_sample, o, sizeof o), r->disp, r->sd,
	    r->pulse ? "yes" : "no", r->n, r->verdict), len));
}

/* ---- The writer ---- */

struct statsfile {
	bool	on;
	int	fd;		/* -1: not open */
	int	lines;		/* since the last banner */
	/* An error was said: quiet until the same thing works again. */
	bool	open_failed;
	bool	write_failed;
};

struct nt_statslog {
	int		dirfd;
	char		dir[sizeof ((struct nt_stats_conf *)0)->dir];
	struct statsfile f[NT_STATSLOG_N];
};

struct nt_statslog *
nt_statslog_new(const struct nt_stats_conf *c, char *err, size_t len)
{
	struct nt_statslog *sl;
	int fd;

	err[0] = '\0';
	if (!c->measurements && !c->tracking && !c->statistics &&
	    !c->refclocks)
		return (NULL);
	fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && mkdir(c->dir, 0755) == 0)
		fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, len, "statistics: %s: %s", c->dir,
		    strerror(errno));
		return (NULL);
	}
	if ((sl = calloc(1, sizeof *sl)) == NULL) {
		close(fd);
		snprintf(err, len, "statistics: out of memory");
		return (NULL);
	}
	sl->dirfd = fd;
	strlcpy(sl->dir, c->dir, sizeof sl->dir);
	sl->f[NT_STATSLOG_MEASUREMENTS].on = c->measurements;
	sl->f[NT_STATSLOG_TRACKING].on = c->tracking;
	sl->f[NT_STATSLOG_STATISTICS].on = c->statistics;
	sl->f[NT_STATSLOG_REFCLOCKS].on = c->refclocks;
	for (int i = 0; i < NT_STATSLOG_N; i++)
		sl->f[i].fd = -1;
	return (sl);
}

void
nt_statslog_free(struct nt_statslog *sl)
{
	if (sl == NULL)
		return;
	for (int i = 0; i < NT_STATSLOG_N; i++)
		if (sl->f[i].fd >= 0)
			close(sl->f[i].fd);
	close(sl->dirfd);
	free(sl);
}

const char *
nt_statslog_dir(const struct nt_statslog *sl)
{
	return (sl->dir);
}

/* "/var/log/ntimed/tracking.log" as messages name it. */
static const char *
path_of(const struct nt_statslog *sl, int i, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", sl->dir, strcmp(sl->dir, "/") == 0 ?
	    "" : "/", files[i].name);
	return (buf);
}

void
nt_statslog_reopen(struct nt_statslog *sl)
{
	char path[sizeof sl->dir + 32];
	struct statsfile *f;
	int fd;

	if (sl == NULL)
		return;
	for (int i = 0; i < NT_STATSLOG_N; i++) {
		f = &sl->f[i];
		if (!f->on)
			continue;
		fd = openat(sl->dirfd, files[i].name, O_WRONLY | O_APPEND |
		    O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
		if (fd < 0) {
			if (!f->open_failed)
				nt_log(NT_LOG_ERR, "statistics: cannot open "
				    "%s: %s%s", path_of(sl, i, path,
				    sizeof path), strerror(errno), f->fd >= 0 ?
				    " (still writing to the file open "
				    "before)" : "");
			f->open_failed = true;
			continue;
		}
		if (f->fd >= 0)
			close(f->fd);
		if (f->open_failed)
			nt_log(NT_LOG_NOTICE, "statistics: %s open again",
			    path_of(sl, i, path, sizeof path));
		f->fd = fd;
		f->lines = 0;
		f->open_failed = false;
	}
}

/* The banner: columns between two rules as long as they are. */
static size_t
banner(int i, char *buf, size_t len)
{
	size_t n = strlen(files[i].columns), at = 0;

	assert(3 * (n + 1) < len);
	memset(buf, '=', n);
	buf[n] = '\n';
	at = n + 1;
	memcpy(buf + at, files[i].columns, n);
	buf[at + n] = '\n';
	at += n + 1;
	memset(buf + at, '=', n);
	buf[at + n] = '\n';
	return (at + n + 1);
}

/* Append one line (and the banner when due) with one write(). */
static void
put(struct nt_statslog *sl, int i, const char *line, int n)
{
	struct statsfile *f = &sl->f[i];
	char out[4 * NT_STATSLOG_LINE], path[sizeof sl->dir + 32];
	size_t at = 0;
	ssize_t w;

	if (f->fd < 0 || n < 0)
		return;
	if (f->lines % NT_STATSLOG_BANNER == 0)
		at = banner(i, out, sizeof out);
	assert(at + (size_t)n <= sizeof out);
	memcpy(out + at, line, (size_t)n);
	at += (size_t)n;
	w = write(f->fd, out, at);
	if (w == (ssize_t)at) {
		f->lines++;
		if (f->write_failed)
			nt_log(NT_LOG_NOTICE, "statistics: %s written again",
			    path_of(sl, i, path, sizeof path));
		f->write_failed = false;
		return;
	}
	/* A short write to a regular file: the disk is full. */
	if (!f->write_failed)
		nt_log(NT_LOG_ERR, "statistics: cannot write %s: %s (lines "
		    "are dropped until it works again)", path_of(sl, i, path,
		    sizeof path), strerror(w < 0 ? errno : ENOSPC));
	f->write_failed = true;
	f->lines = 0;	/* a banner marks the gap */
}

static bool
wants(const struct nt_statslog *sl, int i)
{
	return (sl != NULL && sl->f[i].fd >= 0);
}

static void
log_refclock(struct nt_statslog *sl, const char *label,
    const struct nt_sample_event *ev)
{
	const struct nt_refclock_sample *rs = ev->rc;
	struct nt_statslog_rc r;
	char line[NT_STATSLOG_LINE];

	memset(&r, 0, sizeof r);
	r.when = ev->when;
	r.source = label;
	r.leap = rs->leap;
	r.n = rs->n;
	r.pulse = rs->pulse;
	r.raw = rs->offset;
	r.have_sample = ev->have_sample;
	r.offset = ev->smp.offset;
	r.disp = ev->have_sample ? ev->smp.disp : rs->disp;
	r.sd = rs->sd;
	r.verdict = ev->have_sample ? "ok" : rs->leap == NTP_LEAP_UNSYNC ?
	    "unsync" : "bad";
	put(sl, NT_STATSLOG_REFCLOCKS, line, nt_statslog_fmt_rc(line,
	    sizeof line, &r));
}

void
nt_statslog_sample(struct nt_statslog *sl, const struct nt_engine *e,
    const struct nt_sample_event *ev)
{
	const struct nt_source *s;
	char label[NT_NAME_MAX], line[NT_STATSLOG_LINE];
	struct nt_statslog_meas m;

	if (!wants(sl, ev->rc != NULL ? NT_STATSLOG_REFCLOCKS :
	    NT_STATSLOG_MEASUREMENTS))
		return;
	s = nt_engine_source(e, (size_t)ev->src);
	nt_statslog_label(s->name, ev->rc != NULL, label, sizeof label);
	if (ev->rc != NULL) {
		log_refclock(sl, label, ev);
		return;
	}
	assert(ev->pkt != NULL);
	memset(&m, 0, sizeof m);
	m.when = ev->when;
	m.source = label;
	m.leap = ev->pkt->leap;
	m.stratum = ev->pkt->stratum;
	m.poll = s->poll;
	m.refid = ev->pkt->refid;
	m.root_delay = nt_from_ntp32(ev->pkt->root_delay);
	m.root_disp = nt_from_ntp32(ev->pkt->root_disp);
	m.have_sample = ev->have_sample;
	m.offset = ev->smp.offset;
	m.delay = ev->smp.delay;
	m.disp = ev->smp.disp;
	m.verdict = nt_statslog_verdict(ev->verdict, ev->verdict ==
	    NTP_REPLY_OK && s->have_held && s->held.t == ev->smp.t);
	put(sl, NT_STATSLOG_MEASUREMENTS, line, nt_statslog_fmt_meas(line,
	    sizeof line, &m));
}

static void
log_tracking(struct nt_statslog *sl, const struct nt_engine *e,
    const struct nt_update *u)
{
	const struct nt_source *s = nt_engine_source(e, (size_t)u->selected);
	char label[NT_NAME_MAX], line[NT_STATSLOG_LINE];
	struct nt_statslog_track t;
	struct nt_sysinfo si;

	nt_statslog_label(s->name, s->refclock, label, sizeof label);
	nt_engine_sysinfo(e, u->when, &si);
	memset(&t, 0, sizeof t);
	t.when = u->when;
	t.source = label;
	t.stratum = si.stratum;
	t.leap = si.leap;
	t.freq_ppm = u->freq_ppm;
	t.skew_ppm = nt_disc_skew_ppm(nt_engine_disc(e));
	t.offset = u->offset;
	t.offset_sd = u->offset_sd;
	t.root_delay = si.root_delay;
	t.root_disp = si.root_disp;
	t.likely = nt_engine_likely_error(e, u->when);
	t.max_error = nt_engine_worst_error(e, u->when);
	t.poll = s->poll;
	t.agree = u->n_truechimers;
	t.candidates = u->n_candidates;
	t.action = u->act.err != 0 ? "error" : u->act.stepped ? "step" :
	    "slew";
	put(sl, NT_STATSLOG_TRACKING, line, nt_statslog_fmt_track(line,
	    sizeof line, &t));
}

static void
log_source(struct nt_statslog *sl, const struct nt_source *s, nt_time now)
{
	char label[NT_NAME_MAX], line[NT_STATSLOG_LINE];
	struct nt_statslog_stat st;

	nt_statslog_label(s->name, s->refclock, label, sizeof label);
	memset(&st, 0, sizeof st);
	st.when = now;
	st.source = label;
	st.offset = nt_source_offset_at(s, now);
	nt_source_bounds_at(s, now, &st.lo, &st.hi);
	st.freq_ppm = s->est_freq * 1e6;
	st.skew_ppm = (s->freq_hi - s->freq_lo) / 2 * 1e6;
	st.jitter = s->jitter;
	st.samples = s->n_hist;
	st.reach = s->reach;
	st.state = state_word(s->state);
	put(sl, NT_STATSLOG_STATISTICS, line, nt_statslog_fmt_stat(line,
	    sizeof line, &st));
}

void
nt_statslog_update(struct nt_statslog *sl, const struct nt_engine *e,
    const struct nt_update *u)
{
	if (wants(sl, NT_STATSLOG_TRACKING))
		log_tracking(sl, e, u);
	if (!wants(sl, NT_STATSLOG_STATISTICS))
		return;
	for (size_t i = 0; i < nt_engine_n_sources(e); i++) {
		const struct nt_source *s = nt_engine_source(e, i);

		if (s->n_hist > 0)	/* an estimate to show */
			log_source(sl, s, u->when);
	}
}
