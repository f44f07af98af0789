/*
 * Rendering a daemon's state for people and for monitoring.  Every number
 * is defined once, in a table row that names its JSON key, its metric and
 * where it comes from, so the control socket and the /metrics endpoint
 * cannot drift apart.  Nothing here changes any state it reads.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock_dry.h"
#include "ntp_pkt.h"
#include "status.h"

#define RMS_WEIGHT 0.1		/* weight of a new offset in the RMS average */

/* ---- Prometheus text writer ---- */

void
nt_prom_init(struct nt_prom *p)
{
	memset(p, 0, sizeof *p);
}

void
nt_prom_free(struct nt_prom *p)
{
	free(p->buf);
	free(p->seen);
	memset(p, 0, sizeof *p);
}

static void
grow_put(char **buf, size_t *len, size_t *cap, int *err, const char *s,
    size_t n)
{
	char *nb;
	size_t ncap;

	if (*err != 0)
		return;
	if (*len + n + 1 > *cap) {
		ncap = *cap == 0 ? 4096 : *cap;
		while (ncap < *len + n + 1)
			ncap *= 2;
		if ((nb = realloc(*buf, ncap)) == NULL) {
			*err = -ENOMEM;
			return;
		}
		*buf = nb;
		*cap = ncap;
	}
	assert(*buf != NULL);	/* cap > 0 only once a buffer exists */
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

static void
put(struct nt_prom *p, const char *s)
{
	grow_put(&p->buf, &p->len, &p->cap, &p->err, s, strlen(s));
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metrics; no ':' in label names. */
static bool
valid_name(const char *s, bool label)
{
	if (*s == '\0' || (*s >= '0' && *s <= '9'))
		return (false);
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' ||
		    (*s == ':' && !label)))
			return (false);
	return (true);
}

static bool
family_seen(const struct nt_prom *p, const char *name)
{
	size_t n = strlen(name);

	for (const char *s = p->seen; s != NULL && *s != '\0';
	    s = strchr(s, '\n') + 1)
		if (strncmp(s, name, n) == 0 && s[n] == '\n')
			return (true);
	return (false);
}

void
nt_prom_family(struct nt_prom *p, const char *name, const char *type,
    const char *help)
{
	bool counter = strcmp(type, "counter") == 0;
	size_t n = strlen(name);

	assert(valid_name(name, false) && n < sizeof p->family);
	assert(counter || strcmp(type, "gauge") == 0);
	/* promtool's rule: counters and only counters end in _total. */
	assert(counter == (n > 6 && strcmp(name + n - 6, "_total") == 0));
	assert(strchr(help, '\n') == NULL && strchr(help, '\\') == NULL);
	assert(!family_seen(p, name));
	grow_put(&p->seen, &p->seen_len, &p->seen_cap, &p->err, name, n);
	grow_put(&p->seen, &p->seen_len, &p->seen_cap, &p->err, "\n", 1);
	strlcpy(p->family, name, sizeof p->family);
	put(p, "# HELP ");
	put(p, name);
	put(p, " ");
	put(p, help);
	put(p, "\n# TYPE ");
	put(p, name);
	put(p, " ");
	put(p, type);
	put(p, "\n");
}

static void
put_label_value(struct nt_prom *p, const char *v)
{
	char c[2] = { 0, 0 };

	for (; *v != '\0'; v++) {
		if (*v == '\\')
			put(p, "\\\\");
		else if (*v == '"')
			put(p, "\\\"");
		else if (*v == '\n')
			put(p, "\\n");
		else {
			c[0] = *v;
			put(p, c);
		}
	}
}

static void
put_sample(struct nt_prom *p, const char *value, va_list ap)
{
	const char *k, *v;
	bool first = true;

	assert(p->family[0] != '\0');
	put(p, p->family);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		assert(valid_name(k, true) && v != NULL);
		put(p, first ? "{" : ",");
		put(p, k);
		put(p, "=\"");
		put_label_value(p, v);
		put(p, "\"");
		first = false;
	}
	put(p, first ? " " : "} ");
	put(p, value);
	put(p, "\n");
}

void
nt_prom_sample(struct nt_prom *p, double v, ...)
{
	char buf[40];
	va_list ap;

	if (isnan(v))
		strlcpy(buf, "NaN", sizeof buf);
	else if (isinf(v))
		strlcpy(buf, v > 0 ? "+Inf" : "-Inf", sizeof buf);
	else
		snprintf(buf, sizeof buf, "%.15g", v);
	va_start(ap, v);
	put_sample(p, buf, ap);
	va_end(ap);
}

void
nt_prom_sample_u64(struct nt_prom *p, uint64_t v, ...)
{
	char buf[24];
	va_list ap;

	snprintf(buf, sizeof buf, "%" PRIu64, v);
	va_start(ap, v);
	put_sample(p, buf, ap);
	va_end(ap);
}

const char *
nt_prom_text(const struct nt_prom *p, size_t *len)
{
	if (len != NULL)
		*len = p->buf == NULL ? 0 : p->len;
	return (p->buf == NULL ? "" : p->buf);
}

/* ---- The view registry ---- */

void
nt_status_init(struct nt_status *st, const char *role, struct nt_clock *clk)
{
	memset(st, 0, sizeof *st);
	st->role = role;
	st->clk = clk;
	st->started = nt_clock_now(clk);
}

/*
 * Every view a daemon registers (nt_status_add_engine(), _add_server();
 * test_status checks that they agree), and the two built from them.
 */
static const char *const view_names[] = { "tracking", "sources",
    "sourcestats", "server", NULL };

bool
nt_status_view_name(const char *name)
{
	if (strcmp(name, "all") == 0 || strcmp(name, "views") == 0)
		return (true);
	for (int k = 0; view_names[k] != NULL; k++)
		if (strcmp(name, view_names[k]) == 0)
			return (true);
	return (false);
}

void
nt_status_add_view(struct nt_status *st, const struct nt_status_view *v)
{
	assert(st->n_views < NT_STATUS_MAX_VIEWS);
	assert(v->name != NULL && strspn(v->name, "abcdefghijklmnopqrstuvwxyz")
	    == strlen(v->name) && v->name[0] != '\0');
	assert(strcmp(v->name, "all") != 0 && strcmp(v->name, "views") != 0);
	assert(nt_status_find(st, v->name) == NULL);
	st->views[st->n_views++] = *v;
}

const struct nt_status_view *
nt_status_find(const struct nt_status *st, const char *name)
{
	for (size_t i = 0; i < st->n_views; i++)
		if (strcmp(st->views[i].name, name) == 0)
			return (&st->views[i]);
	return (NULL);
}

static void
json_views(const struct nt_status *st, struct nt_json *j)
{
	nt_json_begin_object(j);
	nt_json_key(j, "role");
	nt_json_string(j, st->role);
	nt_json_key(j, "views");
	nt_json_begin_array(j);
	for (size_t i = 0; i < st->n_views; i++)
		if (st->views[i].json != NULL) {
			nt_json_begin_object(j);
			nt_json_key(j, "name");
			nt_json_string(j, st->views[i].name);
			nt_json_key(j, "help");
			nt_json_string(j, st->views[i].help);
			nt_json_end_object(j);
		}
	nt_json_end_array(j);
	nt_json_end_object(j);
}

int
nt_status_json(const struct nt_status *st, const char *name,
    struct nt_json *j)
{
	const struct nt_status_view *v;
	nt_time now = nt_clock_now(st->clk);

	if (strcmp(name, "views") == 0) {
		json_views(st, j);
		return (0);
	}
	if (strcmp(name, "all") == 0) {
		nt_json_begin_object(j);
		for (size_t i = 0; i < st->n_views; i++) {
			if (st->views[i].json == NULL)
				continue;
			nt_json_key(j, st->views[i].name);
			st->views[i].json(st->views[i].ctx, j, now);
		}
		nt_json_end_object(j);
		return (0);
	}
	if ((v = nt_status_find(st, name)) == NULL || v->json == NULL)
		return (-1);
	v->json(v->ctx, j, now);
	return (0);
}

void
nt_status_prom(const struct nt_status *st, struct nt_prom *p)
{
	nt_time now = nt_clock_now(st->clk);

	nt_prom_family(p, "ntimed_build_info", "gauge",
	    "Always 1; labels: version, role and the clock steered");
	nt_prom_sample(p, 1, "version", NTIMED_VERSION, "role", st->role,
	    "clock", st->clk->name, NULL);
	nt_prom_family(p, "ntimed_start_time_seconds", "gauge",
	    "When the daemon started, seconds since the Unix epoch");
	nt_prom_sample(p, (double)st->started * 1e-9, NULL);
	for (size_t i = 0; i < st->n_views; i++)
		if (st->views[i].prom != NULL)
			st->views[i].prom(st->views[i].ctx, p, now);
}

/* ---- Tracking ---- */

void
nt_track_update(struct nt_track *t, const struct nt_update *u)
{
	double sq = u->offset * u->offset;

	t->rms_offset = t->n_updates == 0 ? fabs(u->offset) :
	    sqrt((1 - RMS_WEIGHT) * t->rms_offset * t->rms_offset +
	    RMS_WEIGHT * sq);
	t->prev = t->last;
	t->last = u->when;
	t->n_updates++;
}

static void
count_sources(const struct nt_engine *e, struct nt_tracking *t)
{
	size_t n = nt_engine_n_sources(e);

	t->n_sources = (int)n;
	for (size_t i = 0; i < n; i++) {
		const struct nt_source *s = nt_engine_source(e, i);

		t->n_reachable += s->reach != 0;
		t->n_selectable += s->state == NT_SRC_SELECTED ||
		    s->state == NT_SRC_COMBINED || s->state == NT_SRC_CANDIDATE;
	}
}

static void
kernel_view(const struct nt_status_engine *se, nt_time now,
    struct nt_tracking *t)
{
	bool synced;

	t->clock = se->clk->name;
	t->dry_ahead = NAN;
	/* Its corrections change the rate by ppm: now for kernel time. */
	if (strcmp(se->clk->name, "dry-run") == 0)
		t->dry_ahead = nt_clock_dry_correction(now);
	if (strcmp(se->clk->name, "kernel") != 0)
		return;
	if (nt_clock_kernel_read(&t->kernel_freq_ppm, &t->kernel_maxerror,
	    &synced) == 0) {
		t->have_kernel = true;
		t->kernel_synced = synced;
	}
}

/*
 * What a serving role's clients get, which is what "tracking" promises:
 * a local stratum serves 127.127.1.1 at its stratum while the engine
 * itself is not synchronized.  "synchronized" stays the engine's.
 */
static void
served_view(const struct nt_status_engine *se, nt_time now,
    struct nt_tracking *t)
{
	struct nt_server_state st;

	se->served(se->served_ctx, &st);
	t->stratum = st.stratum;
	t->refid = st.refid;
	t->leap = st.leap;
	t->root_delay = nt_from_ntp32(st.root_delay);
	if (st.ref_time != 0)	/* a local stratum's is now */
		t->ref_time = st.ref_time;
	t->root_disp = st.root_disp + (st.disp_grows ?
	    NT_PHI * fmax(nt_diff(now, st.ref_time), 0) : 0);
}

/*
 * A refid is a code (shown as text) at stratum 0 and 1, when
 * unsynchronized (INIT), and when it is the selected reference clock's
 * (LOCL at the local driver's stratum); otherwise the upstream's IPv4
 * address.  With nothing selected yet (just after a reload, while the
 * server holds over what it served), one of our reference clocks' own
 * refids is still theirs.
 */
static bool
refid_is_code(const struct nt_status_engine *se, uint32_t refid,
    int stratum)
{
	const struct nt_update *u = nt_engine_last_update(se->e);
	size_t n = nt_engine_n_sources(se->e);
	const struct nt_source *s;

	if (stratum <= 1 || stratum >= NTP_MAX_STRATUM)
		return (true);
	if (u != NULL && u->selected >= 0 && (size_t)u->selected < n) {
		s = nt_engine_source(se->e, (size_t)u->selected);
		return (s->refclock && s->refid == refid);
	}
	for (size_t i = 0; i < n; i++) {
		s = nt_engine_source(se->e, i);
		if (s->refclock && s->refid == refid)
			return (true);
	}
	return (false);
}

const char *
nt_status_refid(const struct nt_status_engine *se, uint32_t refid,
    int stratum, char *buf, size_t len)
{
	return (ntp_refid_str(refid, refid_is_code(se, refid, stratum) ? 0 :
	    2, buf, len));
}

void
nt_status_tracking(const struct nt_status_engine *se, nt_time now,
    struct nt_tracking *t)
{
	const struct nt_discipline *d = nt_engine_disc(se->e);
	const struct nt_update *u = nt_engine_last_update(se->e);
	struct nt_sysinfo si;

	memset(t, 0, sizeof *t);
	nt_engine_sysinfo(se->e, now, &si);
	t->synced = si.synced;
	t->stratum = si.stratum;
	t->refid = si.refid;
	t->leap = si.leap;
	/*
	 * What we serve forgets the last update once the holdover has run
	 * out; the operator still wants to know when it was (as chronyc).
	 */
	t->ref_time = si.ref_time != 0 || u == NULL ? si.ref_time : u->when;
	t->system_offset = nt_disc_remaining(d, now);
	t->last_offset = u != NULL ? u->offset : NAN;
	t->rms_offset = se->track.n_updates > 0 ? se->track.rms_offset : NAN;
	t->freq_ppm = nt_disc_freq_ppm(d);
	t->skew_ppm = nt_disc_skew_ppm(d);
	t->residual_freq_ppm = NAN;
	t->update_interval = se->track.n_updates >= 2 ?
	    nt_diff(se->track.last, se->track.prev) : NAN;
	t->max_error = nt_engine_worst_error(se->e, now);
	t->est_error = nt_engine_likely_error(se->e, now);
	if (si.synced && u != NULL) {
		const struct nt_source *s = nt_engine_source(se->e,
		    (size_t)u->selected);

		t->selected = s->name;
		t->residual_freq_ppm = s->est_freq * 1e6;
		t->root_delay = si.root_delay;
		t->root_disp = si.root_disp +
		    NT_PHI * fmax(nt_diff(now, si.ref_time), 0);
	}
	if (se->served != NULL)
		served_view(se, now, t);
	t->refid_code = refid_is_code(se, t->refid, t->stratum);
	t->n_updates = se->updates_before + (uint64_t)d->n_updates;
	t->n_steps = d->n_steps;
	count_sources(se->e, t);
	kernel_view(se, now, t);
}

const char *
nt_status_summary(const struct nt_status_engine *se, nt_time now, char *buf,
    size_t len)
{
	char b1[NT_DURSTR_LEN], b2[NT_DURSTR_LEN], b3[NT_DURSTR_LEN];
	struct nt_tracking t;

	nt_status_tracking(se, now, &t);
	if (!t.synced)
		snprintf(buf, len, "not synchronized: %d of %d sources "
		    "reachable", t.n_reachable, t.n_sources);
	else
		snprintf(buf, len, "synchronized to %s, stratum %d, offset "
		    "%s, error likely within %s, at most %s", t.selected,
		    t.stratum, nt_format_dur(t.last_offset, b1, sizeof b1),
		    nt_format_mag(t.est_error, b2, sizeof b2),
		    nt_format_mag(t.max_error, b3, sizeof b3));
	return (buf);
}

enum fkind { F_DOUBLE, F_INT, F_BOOL, F_U64, F_TIME };

/* One number of a snapshot: its JSON key and its metric. */
struct field {
	const char	*key;
	const char	*metric;	/* NULL: JSON only */
	const char	*help;
	enum fkind	kind;
	size_t		off;
};

#define TF(k, m, kind, f, h) { k, m, h, kind, offsetof(struct nt_tracking, f) }

static const struct field tracking_fields[] = {
	TF("synchronized", "ntimed_system_synchronized", F_BOOL, synced,
	    "1 when the clock is synchronized to a selected source"),
	TF("stratum", "ntimed_system_stratum", F_INT, stratum,
	    "Stratum we would serve (16: unsynchronized)"),
	TF("reference_time", "ntimed_system_reference_time_seconds", F_TIME,
	    ref_time, "Time of the last clock update, seconds since the epoch"),
	TF("system_offset", "ntimed_system_offset_seconds", F_DOUBLE,
	    system_offset, "True time minus the system clock still to be "
	    "slewed, seconds"),
	TF("last_offset", "ntimed_system_last_offset_seconds", F_DOUBLE,
	    last_offset, "Offset measured at the last clock update, seconds"),
	TF("rms_offset", "ntimed_system_rms_offset_seconds", F_DOUBLE,
	    rms_offset, "Long-term average of the offset (RMS), seconds"),
	TF("frequency_ppm", "ntimed_system_frequency_ppm", F_DOUBLE, freq_ppm,
	    "Frequency correction in force, ppm (positive: clock sped up)"),
	TF("residual_frequency_ppm", "ntimed_system_residual_frequency_ppm",
	    F_DOUBLE, residual_freq_ppm, "Frequency error still measured "
	    "against the selected source, ppm"),
	TF("skew_ppm", "ntimed_system_skew_ppm", F_DOUBLE, skew_ppm,
	    "Estimated error bound of the frequency, ppm"),
	TF("root_delay", "ntimed_system_root_delay_seconds", F_DOUBLE,
	    root_delay, "Round-trip delay to the primary reference, seconds"),
	TF("root_dispersion", "ntimed_system_root_dispersion_seconds",
	    F_DOUBLE, root_disp, "Dispersion accumulated up to the primary "
	    "reference, seconds"),
	TF("update_interval", "ntimed_system_update_interval_seconds",
	    F_DOUBLE, update_interval, "Time between the last two clock "
	    "updates, seconds"),
	TF("leap", "ntimed_system_leap_status", F_INT, leap,
	    "Leap indicator: 0 none, 1 insert, 2 delete, 3 unsynchronized"),
	TF("max_error", "ntimed_system_max_error_seconds", F_DOUBLE, max_error,
	    "Worst-case bound on |true time - system clock| (the kernel's "
	    "maxerror), seconds"),
	TF("estimated_error", "ntimed_system_estimated_error_seconds",
	    F_DOUBLE, est_error, "Likely bound on |true time - system clock| "
	    "(the kernel's esterror), seconds"),
	TF("sources", "ntimed_system_sources", F_INT, n_sources,
	    "Configured sources with an address"),
	TF("sources_reachable", "ntimed_system_sources_reachable", F_INT,
	    n_reachable, "Sources that answered at least one of the last 8 "
	    "polls"),
	TF("sources_selectable", "ntimed_system_sources_selectable", F_INT,
	    n_selectable, "Sources that agree with the majority"),
	TF("updates", "ntimed_clock_updates_total", F_U64, n_updates,
	    "Clock updates made by the discipline"),
	TF("steps", "ntimed_clock_steps_total", F_INT, n_steps,
	    "Clock steps made by the discipline"),
	TF("dry_run_ahead", "ntimed_dry_run_ahead_seconds", F_DOUBLE,
	    dry_ahead, "Dry run: how far the daemon's clock (what it serves) "
	    "is ahead of the kernel clock, seconds"),
};

static const struct field kernel_fields[] = {
	TF("synchronized", "ntimed_kernel_synchronized", F_BOOL,
	    kernel_synced, "1 when the kernel clock is marked synchronized"),
	TF("max_error", "ntimed_kernel_max_error_seconds", F_DOUBLE,
	    kernel_maxerror, "The kernel's own maxerror, seconds"),
	TF("frequency_ppm", "ntimed_kernel_frequency_ppm", F_DOUBLE,
	    kernel_freq_ppm, "The kernel's frequency correction, ppm"),
};
#define N_FIELDS(a) (sizeof(a) / sizeof((a)[0]))

/* The field as a double; NAN when it has no value. */
static double
field_value(const struct field *f, const void *base)
{
	const char *p = (const char *)base + f->off;
	nt_time tv;

	switch (f->kind) {
	case F_DOUBLE:
		return (*(const double *)p);
	case F_INT:
		return (*(const int *)p);
	case F_BOOL:
		return (*(const bool *)p ? 1 : 0);
	case F_U64:
		return ((double)*(const uint64_t *)p);
	case F_TIME:
		memcpy(&tv, p, sizeof tv);
		return (tv == 0 ? NAN : (double)tv * 1e-9);
	}
	assert(!"bad field kind");
	return (NAN);
}

static uint64_t
field_u64(const struct field *f, const void *base)
{
	uint64_t v;

	assert(f->kind == F_U64);
	memcpy(&v, (const char *)base + f->off, sizeof v);
	return (v);
}

static void
json_field(struct nt_json *j, const struct field *f, const void *base)
{
	const char *p = (const char *)base + f->off;
	nt_time tv;

	nt_json_key(j, f->key);
	switch (f->kind) {
	case F_BOOL:
		nt_json_bool(j, *(const bool *)p);
		break;
	case F_INT:
		nt_json_int(j, *(const int *)p);
		break;
	case F_U64:
		nt_json_int(j, (int64_t)*(const uint64_t *)p);
		break;
	case F_TIME:
		memcpy(&tv, p, sizeof tv);
		tv == 0 ? nt_json_null(j) : nt_json_decimal(j, tv, 9);
		break;
	case F_DOUBLE:
		nt_json_number(j, *(const double *)p);	/* NaN, Inf: null */
		break;
	}
}

static void
prom_fields(struct nt_prom *p, const struct field *fs, size_t n,
    const void *base)
{
	for (size_t i = 0; i < n; i++) {
		double v = field_value(&fs[i], base);

		if (fs[i].metric == NULL || !isfinite(v))
			continue;
		nt_prom_family(p, fs[i].metric, fs[i].kind == F_U64 ||
		    strstr(fs[i].metric, "_total") != NULL ? "counter" :
		    "gauge", fs[i].help);
		nt_prom_sample(p, v, NULL);
	}
}

static const char *
leap_str(int leap)
{
	static const char *const names[] = { "normal", "insert second",
	    "delete second", "not synchronized" };

	return (names[leap & 3]);
}

static void
tracking_json(void *ctx, struct nt_json *j, nt_time now)
{
	struct nt_status_engine *se = ctx;
	char refid[NTP_REFID_STRLEN];
	struct nt_tracking t;

	nt_status_tracking(se, now, &t);
	nt_json_begin_object(j);
	nt_json_key(j, "refid");
	nt_json_string(j, ntp_refid_str(t.refid, t.refid_code ? 0 : 2,
	    refid, sizeof refid));
	nt_json_key(j, "refid_hex");
	snprintf(refid, sizeof refid, "%08" PRIX32, t.refid);
	nt_json_string(j, refid);
	nt_json_key(j, "selected");
	nt_json_string(j, t.selected);
	nt_json_key(j, "leap_status");
	nt_json_string(j, leap_str(t.leap));
	nt_json_key(j, "clock");
	nt_json_string(j, t.clock);
	for (size_t i = 0; i < N_FIELDS(tracking_fields); i++)
		json_field(j, &tracking_fields[i], &t);
	nt_json_key(j, "kernel");
	if (!t.have_kernel)
		nt_json_null(j);
	else {
		nt_json_begin_object(j);
		for (size_t i = 0; i < N_FIELDS(kernel_fields); i++)
			json_field(j, &kernel_fields[i], &t);
		nt_json_end_object(j);
	}
	nt_json_end_object(j);
}

static void
tracking_prom(void *ctx, struct nt_prom *p, nt_time now)
{
	struct nt_tracking t;

	nt_status_tracking(ctx, now, &t);
	prom_fields(p, tracking_fields, N_FIELDS(tracking_fields), &t);
	if (t.have_kernel)
		prom_fields(p, kernel_fields, N_FIELDS(kernel_fields), &t);
}

/* ---- Sources ---- */

char
nt_status_src_symbol(enum nt_src_state s)
{
	switch (s) {
	case NT_SRC_SELECTED:
		return ('*');
	case NT_SRC_COMBINED:
		return ('+');
	case NT_SRC_CANDIDATE:
	case NT_SRC_NOSELECT:
		return ('-');
	case NT_SRC_FALSETICKER:
	case NT_SRC_NOMAJORITY:
		return ('x');
	case NT_SRC_DISTANCE:
		return ('~');
	default:
		return ('?');
	}
}

/*
 * A source still without a state of its own (NT_SRC_INIT) says what it
 * lacks: a server that answered only with a KoD RATE, or only with
 * replies that were dropped (malformed, not an answer to our request),
 * did reply, and "no reply" would send its admin to look for a firewall.
 */
const char *
nt_status_src_state(const struct nt_source *s)
{
	if (s->state != NT_SRC_INIT)
		return (nt_src_state_str(s->state));
	if (nt_source_all_too_slow(s))
		return (NT_SRC_TOO_SLOW);
	if (s->have_last || s->refclock)
		return (nt_src_state_str(s->state));	/* "no sample yet" */
	if (s->n_kod > 0)		/* DENY and the others set a state */
		return ("rate limited (KoD RATE)");
	if (s->n_bad > 0)
		return ("no valid reply");
	return (s->n_tx > 0 ? "no reply" : "not polled");
}

/*
 * The wait the schedule set after the last request: a burst's gap, the
 * ramp after it or a back-off.  s->poll is only the interval it heads
 * for (an unreachable server is at maxpoll long before it is polled that
 * seldom).  Intervals are powers of two; the kernel's send time moved t1
 * by a little.
 */
static double
src_poll_interval(const struct nt_source *s)
{
	double gap = nt_diff(s->next_poll, s->t1);

	if (s->refclock || s->t1 == 0 || !(gap > 0))	/* t1 0: restarted */
		return (nt_source_interval(s));
	return (ldexp(1.0, (int)lround(log2(gap))));
}

/* One reading of a source, in the units we show. */
struct srcview {
	const char	*name;
	char		address[NT_NAME_MAX];
	const char	*state;
	char		symbol[2];
	bool		selected;
	bool		have_reply, have_sample;
	double		stratum;	/* NAN before a reply */
	int		poll;
	double		poll_interval;
	int		reach;
	double		last_offset, last_delay, last_error, last_age;
	double		offset, offset_sd, min_delay, jitter, distance;
	double		freq_ppm, skew_ppm, span;
	int		samples;
	uint64_t	n_tx, n_rx, n_bad, n_kod, n_tx_stamped, n_xleave;
	bool		interleaved;	/* the newest sample was */
	bool		prefer;
	bool		noselect, trust, require;
	double		maxdelay;	/* NAN: no limit */
	bool		refclock;
	bool		unresolved;	/* a server without a source */
	const char	*error;		/* why it has no sample (or source) */
};

static void
src_address(const struct nt_source *s, char *buf, size_t len)
{
	const char *open = strchr(s->name, '(');

	strlcpy(buf, open != NULL ? open + 1 : s->name, len);
	buf[strcspn(buf, ")")] = '\0';
}

static double
finite_or_nan(double v)
{
	return (isfinite(v) ? v : NAN);
}

static void
src_last(const struct nt_source *s, nt_time now, struct srcview *v)
{
	const struct nt_sample *last = &s->hist[s->n_hist - 1];

	v->last_offset = last->offset;
	v->last_delay = last->delay;
	v->last_error = last->delay / 2 + fmax(last->disp, NT_SD_BOUND * last->sd);
	v->last_age = fmax(nt_diff(now, last->t), 0);
	v->offset = nt_source_offset_at(s, now);
	v->offset_sd = finite_or_nan(sqrt(s->est_var));
	v->min_delay = s->min_delay;
	v->jitter = s->jitter;
	v->distance = finite_or_nan(nt_source_distance(s, now));
	v->freq_ppm = finite_or_nan(s->est_freq * 1e6);
	v->skew_ppm = finite_or_nan(sqrt(s->est_freq_var) * 1e6);
	v->span = nt_diff(last->t, s->hist[0].t);
}

static void
src_view(const struct nt_source *s, nt_time now, struct srcview *v)
{
	memset(v, 0, sizeof *v);
	v->name = s->name;
	src_address(s, v->address, sizeof v->address);
	v->state = nt_status_src_state(s);
	v->symbol[0] = nt_status_src_symbol(s->state);
	v->selected = s->state == NT_SRC_SELECTED;
	v->have_reply = s->have_last;
	v->stratum = s->have_last ? (double)s->last.stratum : NAN;
	v->poll_interval = src_poll_interval(s);
	v->poll = ilogb(v->poll_interval);
	v->reach = s->reach;
	v->samples = s->n_hist;
	v->n_tx = s->n_tx;
	v->n_tx_stamped = s->n_tx_stamped;
	v->n_rx = s->n_rx;
	v->n_bad = s->n_bad;
	v->n_kod = s->n_kod;
	v->n_xleave = s->n_xleave;
	v->interleaved = s->n_hist > 0 && s->last_xleave;
	v->prefer = s->conf.prefer;
	v->noselect = s->noselect;
	v->trust = s->conf.trust;
	v->require = s->conf.require;
	v->maxdelay = s->conf.maxdelay > 0 ? s->conf.maxdelay : NAN;
	v->refclock = s->refclock;
	v->have_sample = s->n_hist > 0;
	if (v->have_sample)
		src_last(s, now, v);
}

/*
 * Engine source i as src_view() sees it, except that one with nothing to
 * show (no sample yet, or stale) says why when the daemon knows it: "cannot
 * open" and the driver's words for a refclock's device, as a server that
 * cannot be resolved says the resolver's.
 */
static void
engine_src_view(const struct nt_status_engine *se, size_t i, nt_time now,
    struct srcview *v)
{
	const struct nt_source *s = nt_engine_source(se->e, i);
	const char *state = NULL, *why;

	src_view(s, now, v);
	if (se->source_error == NULL || (s->state != NT_SRC_INIT &&
	    s->state != NT_SRC_UNREACH))
		return;
	why = se->source_error(se->source_error_ctx, i, &state);
	if (why == NULL)
		return;
	assert(state != NULL);
	v->state = state;
	v->error = why;
}

/* A configured server without a source: a name, a state and why. */
static void
unresolved_view(const struct nt_status_unresolved *u, struct srcview *v)
{
	memset(v, 0, sizeof *v);
	v->name = u->name;
	v->state = u->state;
	v->symbol[0] = nt_status_src_symbol(NT_SRC_INIT);	/* '?' */
	v->unresolved = true;
	v->error = u->why;
}

/* The i-th server without a source (see nt_status_unresolved_fn). */
static bool
unresolved(const struct nt_status_engine *se, size_t i,
    struct nt_status_unresolved *u)
{
	return (se->unresolved != NULL &&
	    se->unresolved(se->unresolved_ctx, i, u));
}

#define SF(k, m, kind, f, h) { k, m, h, kind, offsetof(struct srcview, f) }

/* Values every source has. */
static const struct field src_fields[] = {
	SF("stratum", "ntimed_source_stratum", F_DOUBLE, stratum,
	    "Stratum of the source's last reply"),
	SF("selected", "ntimed_source_selected", F_BOOL, selected,
	    "1 for the source the clock follows"),
	SF("reach", "ntimed_source_reach", F_INT, reach,
	    "Reach register: bit 0 is the last poll, 1 when it was answered"),
	SF("poll", NULL, F_INT, poll, ""),
	SF("poll_interval", "ntimed_source_poll_interval_seconds", F_DOUBLE,
	    poll_interval, "Current polling interval, seconds"),
	SF("samples", "ntimed_source_samples", F_INT, samples,
	    "Samples in the source's history"),
	SF("prefer", NULL, F_BOOL, prefer, ""),
	SF("noselect", NULL, F_BOOL, noselect, ""),
	SF("trust", NULL, F_BOOL, trust, ""),
	SF("require", NULL, F_BOOL, require, ""),
	SF("maxdelay", NULL, F_DOUBLE, maxdelay, ""),
	SF("refclock", NULL, F_BOOL, refclock, ""),
	SF("requests", "ntimed_source_requests_total", F_U64, n_tx,
	    "Requests sent to the source"),
	SF("requests_kernel_stamped",
	    "ntimed_source_requests_kernel_stamped_total", F_U64, n_tx_stamped,
	    "Requests timed by the kernel's transmit timestamp"),
	SF("replies", "ntimed_source_replies_total", F_U64, n_rx,
	    "Replies received from the source"),
	SF("bad_replies", "ntimed_source_bad_replies_total", F_U64, n_bad,
	    "Replies dropped as invalid"),
	SF("kod", "ntimed_source_kiss_of_death_total", F_U64, n_kod,
	    "Kiss-o'-Death replies received"),
	SF("interleaved", NULL, F_BOOL, interleaved, ""),
	SF("interleaved_samples", "ntimed_source_interleaved_samples_total",
	    F_U64, n_xleave, "Samples from interleaved replies (xleave)"),
};

/* Values that exist once the source has samples (else JSON null). */
static const struct field sample_fields[] = {
	SF("last_offset", "ntimed_source_last_offset_seconds", F_DOUBLE,
	    last_offset, "Offset of the last sample (server - local), seconds"),
	SF("last_delay", "ntimed_source_delay_seconds", F_DOUBLE, last_delay,
	    "Round-trip delay of the last sample, seconds"),
	SF("last_error", "ntimed_source_last_error_seconds", F_DOUBLE,
	    last_error, "Error bound of the last sample, seconds"),
	SF("last_sample_age", "ntimed_source_last_sample_age_seconds",
	    F_DOUBLE, last_age, "Time since the last sample, seconds"),
	SF("offset", "ntimed_source_offset_seconds", F_DOUBLE, offset,
	    "Offset estimate now (server - local), seconds"),
	SF("offset_sd", "ntimed_source_offset_stddev_seconds", F_DOUBLE,
	    offset_sd, "Standard deviation of the offset estimate, seconds"),
	SF("min_delay", "ntimed_source_min_delay_seconds", F_DOUBLE,
	    min_delay, "Smallest round-trip delay in the history, seconds"),
	SF("jitter", "ntimed_source_jitter_seconds", F_DOUBLE, jitter,
	    "RMS residual of the source's samples, seconds"),
	SF("root_distance", "ntimed_source_root_distance_seconds", F_DOUBLE,
	    distance, "Root distance of the source now, seconds"),
	SF("frequency_ppm", "ntimed_source_frequency_ppm", F_DOUBLE, freq_ppm,
	    "Our frequency error against the source, ppm"),
	SF("skew_ppm", "ntimed_source_frequency_skew_ppm", F_DOUBLE, skew_ppm,
	    "Error bound of that frequency, ppm"),
	SF("span", "ntimed_source_span_seconds", F_DOUBLE, span,
	    "Time from the oldest to the newest sample, seconds"),
};

/* The sample fields, null while the source has no sample. */
static void
sample_fields_json(struct nt_json *j, const struct srcview *v)
{
	for (size_t i = 0; i < N_FIELDS(sample_fields); i++) {
		if (v->have_sample)
			json_field(j, &sample_fields[i], v);
		else {
			nt_json_key(j, sample_fields[i].key);
			nt_json_null(j);
		}
	}
}

/*
 * A field of a server without a source: nothing measured is null, a
 * flag false, a counter 0 (nothing was sent).
 */
static void
unmeasured_field(struct nt_json *j, const struct field *f)
{
	nt_json_key(j, f->key);
	if (f->kind == F_BOOL)
		nt_json_bool(j, false);
	else if (f->kind == F_U64)
		nt_json_int(j, 0);
	else
		nt_json_null(j);
}

static void
source_json(struct nt_json *j, const struct srcview *v)
{
	nt_json_begin_object(j);
	nt_json_key(j, "name");
	nt_json_string(j, v->name);
	nt_json_key(j, "address");
	nt_json_string(j, v->unresolved ? NULL : v->address);
	nt_json_key(j, "state");
	nt_json_string(j, v->state);
	nt_json_key(j, "symbol");
	nt_json_string(j, v->symbol);
	for (size_t i = 0; i < N_FIELDS(src_fields); i++) {
		if (v->unresolved)
			unmeasured_field(j, &src_fields[i]);
		else
			json_field(j, &src_fields[i], v);
	}
	sample_fields_json(j, v);
	nt_json_key(j, "error");
	nt_json_string(j, v->error);
	nt_json_end_object(j);
}

static void
sources_json(void *ctx, struct nt_json *j, nt_time now)
{
	struct nt_status_engine *se = ctx;
	struct nt_status_unresolved u;
	struct srcview v;

	nt_json_begin_array(j);
	for (size_t i = 0; i < nt_engine_n_sources(se->e); i++) {
		engine_src_view(se, i, now, &v);
		source_json(j, &v);
	}
	for (size_t i = 0; unresolved(se, i, &u); i++) {
		unresolved_view(&u, &v);
		source_json(j, &v);
	}
	nt_json_end_array(j);
}

/* One family over every source that has the value. */
static void
src_family(struct nt_prom *p, const struct srcview *vs, size_t n,
    const struct field *f, bool samples)
{
	bool started = false;
	double v;

	for (size_t i = 0; i < n; i++) {
		if (samples && !vs[i].have_sample)
			continue;
		v = field_value(f, &vs[i]);
		if (!isfinite(v))
			continue;
		if (!started)
			nt_prom_family(p, f->metric, f->kind == F_U64 ?
			    "counter" : "gauge", f->help);
		started = true;
		if (f->kind == F_U64)
			nt_prom_sample_u64(p, field_u64(f, &vs[i]), "source",
			    vs[i].name, NULL);
		else
			nt_prom_sample(p, v, "source", vs[i].name, NULL);
	}
}

/*
 * Every source, and every server without one (address "", its state),
 * whose other families it is not in: it has no numbers.
 */
static void
source_info_prom(struct nt_prom *p, const struct nt_status_engine *se,
    const struct srcview *vs, size_t n)
{
	struct nt_status_unresolved u;

	if (n == 0 && !unresolved(se, 0, &u))
		return;
	nt_prom_family(p, "ntimed_source_info", "gauge", "Always 1; labels: "
	    "the source's address and why it is or is not used");
	for (size_t i = 0; i < n; i++)
		nt_prom_sample(p, 1, "source", vs[i].name, "address",
		    vs[i].address, "state", vs[i].state, NULL);
	for (size_t i = 0; unresolved(se, i, &u); i++)
		nt_prom_sample(p, 1, "source", u.name, "address", "", "state",
		    u.state, NULL);
}

static void
sources_prom(void *ctx, struct nt_prom *p, nt_time now)
{
	struct nt_status_engine *se = ctx;
	size_t n = nt_engine_n_sources(se->e);
	struct srcview *vs = NULL;

	if (n > 0 && (vs = calloc(n, sizeof *vs)) == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		engine_src_view(se, i, now, &vs[i]);
	source_info_prom(p, se, vs, n);
	for (size_t i = 0; i < N_FIELDS(src_fields); i++)
		if (src_fields[i].metric != NULL)
			src_family(p, vs, n, &src_fields[i], false);
	for (size_t i = 0; i < N_FIELDS(sample_fields); i++)
		src_family(p, vs, n, &sample_fields[i], true);
	free(vs);
}

static void
sourcestats_json(void *ctx, struct nt_json *j, nt_time now)
{
	struct nt_status_engine *se = ctx;
	struct srcview v;

	nt_json_begin_array(j);
	for (size_t i = 0; i < nt_engine_n_sources(se->e); i++) {
		src_view(nt_engine_source(se->e, i), now, &v);
		nt_json_begin_object(j);
		nt_json_key(j, "name");
		nt_json_string(j, v.name);
		nt_json_key(j, "samples");
		nt_json_int(j, v.samples);
		sample_fields_json(j, &v);
		nt_json_end_object(j);
	}
	nt_json_end_array(j);
}

void
nt_status_add_engine(struct nt_status *st, struct nt_status_engine *se)
{
	const struct nt_status_view views[] = {
		{ "tracking", "system clock state (chronyc tracking)",
		    tracking_json, tracking_prom, se },
		{ "sources", "sources and why each is used or not "
		    "(chronyc sources)", sources_json, sources_prom, se },
		{ "sourcestats", "per-source statistics (chronyc "
		    "sourcestats)", sourcestats_json, NULL, se },
	};

	for (size_t i = 0; i < N_FIELDS(views); i++)
		nt_status_add_view(st, &views[i]);
}

/* ---- Server counters ---- */

/*
 * The coarse classes, for dashboards.  An NTS NAK is a class of
 * its own: it answers a client whose cookie we no longer know (our keys
 * changed), which then runs a new key exchange; it denies nobody, and
 * counted as "denied" it looked like an ACL refusing clients.
 */
static const char *
verdict_class(enum nt_server_verdict v)
{
	switch (v) {
	case NT_SRV_REPLY:
	case NT_SRV_NTS_REPLY:
		return ("replied");
	case NT_SRV_NTS_NAK:
		return ("nts_nak");
	case NT_SRV_KOD_RATE:
	case NT_SRV_DROP_RATE:
		return ("ratelimited");
	case NT_SRV_KOD_DENY:
	case NT_SRV_DROP_DENIED:
		return ("denied");
	case NT_SRV_DROP_MALFORMED:
		return ("malformed");
	default:
		return ("unsupported");
	}
}

static const char *const classes[] = { "replied", "ratelimited", "denied",
    "nts_nak", "malformed", "unsupported" };

static uint64_t
class_sum(const struct nt_server_counters *c, const char *class)
{
	uint64_t sum = 0;

	for (int v = 0; v < NT_SRV_N_VERDICTS; v++)
		if (strcmp(verdict_class((enum nt_server_verdict)v), class) == 0)
			sum += c->n[v];
	return (sum);
}

static void
server_json(void *ctx, struct nt_json *j, nt_time now)
{
	struct nt_status_server *ss = ctx;
	struct nt_server_counters c;
	char key[32];

	(void)now;
	memset(&c, 0, sizeof c);
	ss->counters(ss->ctx, &c);
	nt_json_begin_object(j);
	nt_json_key(j, "received");
	nt_json_int(j, (int64_t)c.received);
	for (size_t i = 0; i < N_FIELDS(classes); i++) {
		nt_json_key(j, classes[i]);
		nt_json_int(j, (int64_t)class_sum(&c, classes[i]));
	}
	for (int v = 0; v < NT_SRV_N_VERDICTS; v++) {
		snprintf(key, sizeof key, "verdict_%s",
		    nt_server_verdict_str((enum nt_server_verdict)v));
		for (char *p = key; *p != '\0'; p++)
			if (*p == '-')
				*p = '_';
		nt_json_key(j, key);
		nt_json_int(j, (int64_t)c.n[v]);
	}
	nt_json_key(j, "send_errors");
	nt_json_int(j, (int64_t)c.send_errors);
	nt_json_key(j, "no_rx_timestamp");
	nt_json_int(j, (int64_t)c.no_rx_stamp);
	nt_json_key(j, "nts_ke_served");
	nt_json_int(j, (int64_t)c.nts_ke_served);
	nt_json_key(j, "nts_ke_failed");
	nt_json_int(j, (int64_t)c.nts_ke_failed);
	nt_json_key(j, "interleaved");
	nt_json_int(j, (int64_t)c.interleaved);
	nt_json_end_object(j);
}

static void
server_prom(void *ctx, struct nt_prom *p, nt_time now)
{
	struct nt_status_server *ss = ctx;
	struct nt_server_counters c;

	(void)now;
	memset(&c, 0, sizeof c);
	ss->counters(ss->ctx, &c);
	nt_prom_family(p, "ntimed_server_received_total", "counter",
	    "NTP datagrams received by the server");
	nt_prom_sample_u64(p, c.received, NULL);
	nt_prom_family(p, "ntimed_server_requests_total", "counter",
	    "NTP requests by result");
	for (size_t i = 0; i < N_FIELDS(classes); i++)
		nt_prom_sample_u64(p, class_sum(&c, classes[i]), "result",
		    classes[i], NULL);
	nt_prom_family(p, "ntimed_server_verdicts_total", "counter",
	    "NTP requests by the exact verdict");
	for (int v = 0; v < NT_SRV_N_VERDICTS; v++)
		nt_prom_sample_u64(p, c.n[v], "verdict",
		    nt_server_verdict_str((enum nt_server_verdict)v), NULL);
	nt_prom_family(p, "ntimed_server_send_errors_total", "counter",
	    "Replies the kernel refused to send");
	nt_prom_sample_u64(p, c.send_errors, NULL);
	nt_prom_family(p, "ntimed_server_no_rx_timestamp_total", "counter",
	    "Requests without a kernel receive timestamp");
	nt_prom_sample_u64(p, c.no_rx_stamp, NULL);
	nt_prom_family(p, "ntimed_server_nts_ke_total", "counter",
	    "NTS-KE connections by result");
	nt_prom_sample_u64(p, c.nts_ke_served, "result", "served", NULL);
	nt_prom_sample_u64(p, c.nts_ke_failed, "result", "failed", NULL);
	nt_prom_family(p, "ntimed_server_interleaved_total", "counter",
	    "Replies in interleaved mode (RFC 9769), among those replied");
	nt_prom_sample_u64(p, c.interleaved, NULL);
}

void
nt_status_add_server(struct nt_status *st, struct nt_status_server *ss)
{
	const struct nt_status_view v = { "server", "NTP server counters "
	    "(chronyc serverstats)", server_json, server_prom, ss };

	assert(ss->counters != NULL);
	nt_status_add_view(st, &v);
}
