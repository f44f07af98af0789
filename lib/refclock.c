/*
 * The refclock layer's shared code: the one driver table, the schema of a
 * 'refclocks:' entry, labelling pulses with their pair's second number,
 * combining raw samples per poll, and the set that routes samples from
 * drivers to the engine.  No I/O here: uvrefclock.c reads the devices.
 *
 * (One exception to "no I/O": nt_refclock_open_error() stats a device to
 * explain a failed open.)
 *
 * The logs this file writes are the ones a stratum-1 operator needs when
 * PPS is not selected: whether pulses are labelled, and if not why (no
 * pair, pair silent, pair off by more than 0.4 s), which 'offset' the
 * NMEA refclock should have (measured against the pulses), and which kind
 * a refclock of both kinds (SOCK) delivers, its time samples or its
 * pulses.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "ntp_pkt.h"
#include "refclock.h"
#include "yconf.h"

/* ---- The driver table: one row per driver ---- */

static const struct nt_refclock_driver *const drivers[] = {
	&nt_rc_nmea,
	&nt_rc_pps,
	&nt_rc_shm,
	&nt_rc_sock,
	&nt_rc_phc,
	&nt_rc_local,
};
#define N_DRIVERS (sizeof drivers / sizeof drivers[0])

/* The same names for the schema's enum (checked against the table). */
static const char *const driver_names[] = {
	"nmea", "pps", "shm", "sock", "phc", "local", NULL,
};
_Static_assert(sizeof driver_names / sizeof driver_names[0] == N_DRIVERS + 1,
    "driver_names must list the driver table");

size_t
nt_refclock_n_drivers(void)
{
	return (N_DRIVERS);
}

const struct nt_refclock_driver *
nt_refclock_driver(size_t i)
{
	assert(i < N_DRIVERS);
	assert(strcmp(drivers[i]->name, driver_names[i]) == 0);
	return (drivers[i]);
}

int
nt_refclock_find_driver(const char *name)
{
	for (size_t i = 0; i < N_DRIVERS; i++)
		if (strcmp(nt_refclock_driver(i)->name, name) == 0)
			return ((int)i);
	return (-1);
}

/* ---- Config ---- */

#define UNSET_POLL	(-100)
#define UNSET_BAUD	(-1)

static const char *const edge_names[] = { "assert", "clear", NULL };

#define T struct nt_refclock_conf
static const struct nt_yconf_key rc_keys[] = {
	{ .name = "driver", .type = NT_YCONF_T_ENUM, .flags = NT_YCONF_REQUIRED,
	  NT_YCONF_FIELD_(T, driver), .names = driver_names,
	  .doc = "nmea, pps, shm, sock, phc or local" },
	NT_YCONF_STRING("device", T, device, NT_YCONF_NULLABLE,
	    "nmea, pps, phc: device path (/dev/ttyS0, /dev/pps0, /dev/ptp0)"),
	NT_YCONF_STRING("path", T, path, NT_YCONF_NULLABLE,
	    "sock: path of the socket we create for gpsd"),
	NT_YCONF_INT("unit", T, unit, 0, 255,
	    "shm: segment unit (key 0x4e545030 + unit)"),
	NT_YCONF_DOUBLE("offset", T, offset, -100, 100,
	    "seconds added to every sample (e.g. NMEA serial delay)"),
	NT_YCONF_DOUBLE("delay", T, delay, 0, 10,
	    "assumed round-trip delay, seconds"),
	NT_YCONF_INT("poll", T, poll, NT_RC_MIN_POLL, NT_RC_MAX_POLL,
	    "log2 seconds between combined samples"),
	NT_YCONF_DOUBLE("precision", T, precision, 1e-9, 1,
	    "least error of a sample, seconds"),
	NT_YCONF_BOOL("prefer", T, prefer, "prefer this source"),
	NT_YCONF_BOOL("noselect", T, noselect, "measure, never select"),
	NT_YCONF_BOOL("trust", T, trust,
	    "only other trusted sources can outvote it, default false"),
	NT_YCONF_BOOL("require", T, require,
	    "no update unless a required source is selectable, "
	    "default false"),
	NT_YCONF_STRBUF("refid", T, refid, 0,
	    "reference id (1-4 characters), also its name for 'pps:'"),
	NT_YCONF_STRING("pps", T, pps, NT_YCONF_NULLABLE,
	    "refid of the pps refclock whose pulses this one numbers"),
	NT_YCONF_INT("baud", T, baud, 0, 4000000,
	    "nmea: line speed; 0 leaves the serial settings alone"),
	NT_YCONF_ENUM("edge", T, edge, edge_names, "pps: assert or clear"),
	NT_YCONF_INT("stratum", T, stratum, 0, 15,
	    "local: stratum served while it is selected"),
};
#undef T

static void rc_init(void *p);
static int rc_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base);

static const struct nt_yconf_schema rc_schema =
    NT_YCONF_SCHEMA(rc_keys, rc_init, rc_check);

const struct nt_yconf_key nt_refclock_conf_elem = {
	.name = "refclock", .type = NT_YCONF_T_MAP,
	.size = sizeof(struct nt_refclock_conf), .sub = &rc_schema,
	.doc = "a mapping with 'driver:' and its options",
};

static void
rc_init(void *p)
{
	struct nt_refclock_conf *c = p;

	memset(c, 0, sizeof *c);
	c->driver = -1;
	c->poll = UNSET_POLL;
	c->precision = -1;
	c->baud = UNSET_BAUD;
	c->edge = NT_PPS_ASSERT;
}

/* GPS, PPS, SHM0 (SH10, S100), SOCK, PHC0 (the device's number), LOCL. */
static void
default_refid(struct nt_refclock_conf *c, const struct nt_refclock_driver *d)
{
	const char *dev = c->device != NULL ? c->device : "";
	size_t i = strlen(dev);

	if (strcmp(d->refid, "SHM") == 0) {
		strlcpy(c->refid, c->unit < 10 ? "SHM" : c->unit < 100 ?
		    "SH" : "S", sizeof c->refid);
		for (int u = c->unit, k = 3; k >= 0 && c->refid[k] == '\0';
		    k--, u /= 10)
			c->refid[k] = (char)('0' + u % 10);
	} else if (strcmp(d->refid, "PHC") == 0) {
		while (i > 0 && isdigit((unsigned char)dev[i - 1]))
			i--;
		snprintf(c->refid, sizeof c->refid, "PHC%c",
		    dev[i] != '\0' ? dev[i] : '0');
	} else
		strlcpy(c->refid, d->refid, sizeof c->refid);
}

/* Fill what was left unset with driver d's defaults. */
static void
rc_defaults(struct nt_refclock_conf *c, const struct nt_refclock_driver *d)
{
	if (c->poll == UNSET_POLL)
		c->poll = d->poll;
	if (c->precision < 0)
		c->precision = d->precision;
	if (c->baud == UNSET_BAUD)
		c->baud = (d->options & NT_RCO_BAUD) ? 9600 : 0;
	if (c->stratum == 0 && (d->options & NT_RCO_STRATUM))
		c->stratum = 10;
	if (c->refid[0] == '\0')
		default_refid(c, d);
}

void
nt_refclock_conf_init(struct nt_refclock_conf *c, int driver)
{
	assert(driver >= 0 && (size_t)driver < N_DRIVERS);
	rc_init(c);
	c->driver = driver;
	rc_defaults(c, nt_refclock_driver((size_t)driver));
}

static const struct {
	const char	*key;
	unsigned	opt;
} option_keys[] = {
	{ "device", NT_RCO_DEVICE }, { "path", NT_RCO_PATH },
	{ "unit", NT_RCO_UNIT }, { "baud", NT_RCO_BAUD },
	{ "edge", NT_RCO_EDGE }, { "pps", NT_RCO_PPS },
	{ "stratum", NT_RCO_STRATUM },
};
#define N_OPTION_KEYS (sizeof option_keys / sizeof option_keys[0])

/* A value that means "not used", as --check-config prints it back. */
static bool
neutral(const struct nt_refclock_conf *c, unsigned opt)
{
	switch (opt) {
	case NT_RCO_DEVICE:
		return (c->device == NULL);
	case NT_RCO_PATH:
		return (c->path == NULL);
	case NT_RCO_UNIT:
		return (c->unit == 0);
	case NT_RCO_BAUD:
		return (c->baud <= 0);
	case NT_RCO_EDGE:
		return (c->edge == NT_PPS_ASSERT);
	case NT_RCO_PPS:
		return (c->pps == NULL);
	case NT_RCO_STRATUM:
		return (c->stratum == 0);
	}
	assert(!"unknown option");
	return (true);
}

static void
options_of(const struct nt_refclock_driver *d, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; i < N_OPTION_KEYS; i++) {
		if (!(d->options & option_keys[i].opt))
			continue;
		if (buf[0] != '\0')
			strlcat(buf, ", ", len);
		strlcat(buf, option_keys[i].key, len);
	}
	if (buf[0] == '\0')
		strlcpy(buf, "none", len);
}

/* Options the driver does not take, and the ones it needs. */
static int
check_options(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    const struct nt_refclock_conf *c, const struct nt_refclock_driver *d)
{
	char opts[128];

	for (size_t i = 0; i < N_OPTION_KEYS; i++) {
		unsigned opt = option_keys[i].opt;
		const struct nt_yconf_node *k =
		    nt_yconf_map_key(map, option_keys[i].key);

		if ((d->required & opt) && neutral(c, opt))
			return (nt_yconf_error(w, map, "%s: driver '%s' needs "
			    "'%s'", w->path, d->name, option_keys[i].key));
		if ((d->options & opt) || neutral(c, opt) || k == NULL)
			continue;
		options_of(d, opts, sizeof opts);
		return (nt_yconf_error(w, k, "%s: '%s' is not an option of "
		    "driver '%s' (its own options: %s)", w->path,
		    option_keys[i].key, d->name, opts));
	}
	return (0);
}

static int
check_path(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    const char *key, const char *v, size_t max)
{
	const struct nt_yconf_node *n = nt_yconf_map_get(map, key);
	struct stat st;

	if (v == NULL)
		return (0);
	if (v[0] != '/')
		return (nt_yconf_error(w, n, "%s: '%s' must be an absolute "
		    "path, got '%s'", w->path, key, v));
	if (strlen(v) >= max)
		return (nt_yconf_error(w, n, "%s: '%s' is too long (%zu bytes, "
		    "max %zu)", w->path, key, strlen(v), max - 1));
	/* A device may be missing until it is plugged in, never a directory. */
	if (strcmp(key, "device") == 0 && stat(v, &st) == 0 &&
	    S_ISDIR(st.st_mode))
		return (nt_yconf_error(w, n, "%s: 'device' %s is a directory, "
		    "not a device", w->path, v));
	return (0);
}

static int
check_values(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    const struct nt_refclock_conf *c, const struct nt_refclock_driver *d)
{
	static const int bauds[] = { 0, 1200, 2400, 4800, 9600, 19200, 38400,
	    57600, 115200, 230400, 460800, 921600 };
	struct sockaddr_un sun;
	bool ok = c->baud < 0;

	for (size_t i = 0; i < sizeof bauds / sizeof bauds[0]; i++)
		ok |= c->baud == bauds[i];
	if (!ok)
		return (nt_yconf_error(w, nt_yconf_map_get(map, "baud"),
		    "%s: 'baud' %d is not a serial speed (4800, 9600, 19200, "
		    "38400, 57600, 115200, ...)", w->path, c->baud));
	for (const char *p = c->refid; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~')
			return (nt_yconf_error(w, nt_yconf_map_get(map,
			    "refid"), "%s: 'refid' must be 1-4 printable "
			    "characters without spaces", w->path));
	/* 0 is how an unset stratum reads (10); said, it is a mistake. */
	if ((d->options & NT_RCO_STRATUM) && c->stratum == 0 &&
	    nt_yconf_map_get(map, "stratum") != NULL)
		return (nt_yconf_error(w, nt_yconf_map_get(map, "stratum"),
		    "%s: 'stratum' must be 1-15 (stratum 0 is a reference "
		    "clock's own)", w->path));
	if (check_path(w, map, "device", c->device, 4096))
		return (-1);
	return (check_path(w, map, "path", c->path, sizeof sun.sun_path));
}

static int
rc_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base)
{
	struct nt_refclock_conf *c = base;
	const struct nt_refclock_driver *d;

	assert(c->driver >= 0 && (size_t)c->driver < N_DRIVERS); /* required */
	d = nt_refclock_driver((size_t)c->driver);
	if (check_options(w, map, c, d) || check_values(w, map, c, d))
		return (-1);
	/* As for servers: it would stop every update for good. */
	if (c->require && c->noselect)
		return (nt_yconf_error(w, nt_yconf_map_key(map, "require"),
		    "%s: 'require' with 'noselect' would never let the clock "
		    "be updated", w->path));
	rc_defaults(c, d);
	return (0);
}

static const struct nt_yconf_node *
seq_item(const struct nt_yconf_node *seq, size_t i)
{
	const struct nt_yconf_node *n = seq != NULL ? seq->first : NULL;

	while (n != NULL && i-- > 0)
		n = n->next;
	return (n);
}

/* The node to blame for key in entry i: the value, else the entry. */
static const struct nt_yconf_node *
blame(const struct nt_yconf_node *seq, size_t i, const char *key)
{
	const struct nt_yconf_node *item = seq_item(seq, i);
	const struct nt_yconf_node *v = nt_yconf_map_get(item, key);

	return (v != NULL ? v : item);
}

static int
find_refid(const struct nt_refclock_conf *rc, size_t n, const char *refid)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(rc[i].refid, refid) == 0)
			return ((int)i);
	return (-1);
}

static const char *
device_of(const struct nt_refclock_conf *c)
{
	return (c->device != NULL ? c->device : c->path);
}

/*
 * Two paths for one device: a udev symlink (/dev/gps0 -> ttyACM0), or
 * two nodes of one device (same type and st_rdev), or one file or FIFO
 * (same st_dev and st_ino).  Paths that do not exist yet compare as
 * strings only.
 */
static bool
same_device(const char *a, const char *b)
{
	struct stat sa, sb;

	if (strcmp(a, b) == 0)
		return (true);
	if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
		return (false);
	if ((S_ISCHR(sa.st_mode) && S_ISCHR(sb.st_mode)) ||
	    (S_ISBLK(sa.st_mode) && S_ISBLK(sb.st_mode)))
		return (sa.st_rdev == sb.st_rdev);
	return (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
}

/* The refclock before i that reads the same device or socket, or -1. */
static int
find_device(const struct nt_refclock_conf *rc, size_t i)
{
	const char *d = device_of(&rc[i]);

	for (size_t j = 0; d != NULL && j < i; j++) {
		const char *e = device_of(&rc[j]);

		if (e != NULL && same_device(d, e))
			return ((int)j);
	}
	return (-1);
}

static int
check_pair(struct nt_yconf_walk *w, const struct nt_yconf_node *seq,
    const struct nt_refclock_conf *rc, size_t n, size_t i)
{
	int j = find_refid(rc, n, rc[i].pps);

	if (j < 0)
		return (nt_yconf_error(w, blame(seq, i, "pps"), "refclocks[%zu]:"
		    " 'pps: %s' names no refclock (refids: see 'refid')", i,
		    rc[i].pps));
	if (rc[j].driver != nt_refclock_find_driver("pps"))
		return (nt_yconf_error(w, blame(seq, i, "pps"), "refclocks[%zu]:"
		    " 'pps: %s' names a '%s' refclock, not a pps one", i,
		    rc[i].pps, driver_names[rc[j].driver]));
	for (size_t k = 0; k < i; k++)
		if (rc[k].pps != NULL && strcmp(rc[k].pps, rc[i].pps) == 0)
			return (nt_yconf_error(w, blame(seq, i, "pps"),
			    "refclocks[%zu]: pps refclock '%s' is already "
			    "paired with refclocks[%zu]", i, rc[i].pps, k));
	return (0);
}

int
nt_refclock_conf_check_list(struct nt_yconf_walk *w,
    const struct nt_yconf_node *seq, const struct nt_refclock_conf *rc,
    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int j = find_refid(rc, i, rc[i].refid);

		if (j >= 0)
			return (nt_yconf_error(w, blame(seq, i, "refid"),
			    "refclocks[%zu]: refid '%s' is already used by "
			    "refclocks[%d]: give one of them another 'refid'",
			    i, rc[i].refid, j));
		if (rc[i].pps != NULL && check_pair(w, seq, rc, n, i))
			return (-1);
		/* Two readers of one port would each get half the bytes. */
		if ((j = find_device(rc, i)) >= 0 &&
		    strcmp(device_of(&rc[i]), device_of(&rc[j])) == 0)
			return (nt_yconf_error(w, blame(seq, i, rc[i].device !=
			    NULL ? "device" : "path"), "refclocks[%zu]: '%s' "
			    "is already read by refclocks[%d] (%s)", i,
			    device_of(&rc[i]), j, rc[j].refid));
		if (j >= 0)
			return (nt_yconf_error(w, blame(seq, i, rc[i].device !=
			    NULL ? "device" : "path"), "refclocks[%zu] (%s): "
			    "'%s' is the device refclocks[%d] (%s) already "
			    "reads as '%s'", i, rc[i].refid, device_of(&rc[i]),
			    j, rc[j].refid, device_of(&rc[j])));
	}
	return (0);
}

uint32_t
nt_refclock_refid(const struct nt_refclock_conf *c)
{
	uint32_t v = 0;

	for (size_t i = 0; i < 4; i++)
		v = v << 8 | (uint8_t)(i < strlen(c->refid) ? c->refid[i] : 0);
	return (v);
}

/* ---- Pulses ---- */

enum nt_pps_verdict
nt_pps_label(struct nt_pps_pair *p, const struct nt_refclock_sample *pulse,
    bool late_only, double pair_conf_offset, struct nt_refclock_sample *out,
    double *diff)
{
	double lab;

	assert(pulse->pulse);
	*diff = NAN;
	if (!p->have)
		return (NT_PPS_NOPAIR);
	if (fabs(nt_diff(pulse->local, p->local)) > NT_PPS_PAIR_MAXAGE)
		return (NT_PPS_STALE);
	if (late_only)	/* truth - raw pair = its lag, in [0, 1) */
		lab = pulse->offset + ceil(p->offset - pair_conf_offset - 0.05 -
		    pulse->offset);
	else
		lab = pulse->offset + round(p->offset - pulse->offset);
	*diff = lab - p->offset;
	if (fabs(*diff) > NT_PPS_MAX_DISAGREE)
		return (NT_PPS_DISAGREE);
	*out = *pulse;
	out->offset = lab;
	out->pulse = false;
	out->leap = p->leap;
	return (NT_PPS_OK);
}

double
nt_pps_hint(struct nt_pps_pair *p, double diff, double pair_conf_offset,
    bool late_only)
{
	double mean, want;

	p->sum += diff;
	if (++p->n < NT_PPS_HINT_PULSES)
		return (NAN);
	mean = p->sum / p->n;
	p->sum = 0;
	p->n = 0;
	want = pair_conf_offset + mean;
	if (late_only && want < -0.05)	/* NMEA is never early */
		want += 1;
	if (fabs(mean) < NT_PPS_HINT_MIN ||
	    (!isnan(p->hinted) && fabs(want - p->hinted) < NT_PPS_HINT_MIN))
		return (NAN);
	p->hinted = want;
	return (want);
}

/* ---- Combining ---- */

static void
sort_by_offset(struct nt_refclock_sample *s, int n)
{
	for (int i = 1; i < n; i++) {
		struct nt_refclock_sample x = s[i];
		int j = i;

		for (; j > 0 && s[j - 1].offset > x.offset; j--)
			s[j] = s[j - 1];
		s[j] = x;
	}
}

/* Which of n sorted values stands for the i-th, drop cut off each end. */
static int
winsor(int i, int n, int drop)
{
	return (i < drop ? drop : i >= n - drop ? n - drop - 1 : i);
}

/*
 * The standard error of the mean of s[drop..n-drop), sorted: the
 * winsorized spread of all n (the kept ones' own understates it) over
 * the kept share of sqrt(n).
 */
static double
trimmed_mean_sd(const struct nt_refclock_sample *s, int n, int drop)
{
	double m = 0, var = 0;
	int k = n - 2 * drop;

	if (k < 2)
		return (0.0);
	for (int i = 0; i < n; i++)
		m += s[winsor(i, n, drop)].offset / n;
	for (int i = 0; i < n; i++) {
		double d = s[winsor(i, n, drop)].offset - m;

		var += d * d;
	}
	return (sqrt(var / (n - 1) / n) * n / k);
}

static void
combine(struct nt_refclock_sample *s, int n, struct nt_refclock_sample *out)
{
	int drop = n / 5, k = n - 2 * drop;
	double off = 0, dt = 0, var = 0, disp = 0, sd = 0;
	nt_time t0 = s[0].local;
	int leap = s[n - 1].leap;

	assert(n > 0 && k > 0);
	sort_by_offset(s, n);
	for (int i = drop; i < drop + k; i++) {
		off += s[i].offset;
		dt += nt_diff(s[i].local, t0);
		disp = fmax(disp, s[i].disp);
		sd = fmax(sd, s[i].sd);
	}
	off /= k;
	for (int i = drop; i < drop + k; i++)
		var += (s[i].offset - off) * (s[i].offset - off);
	*out = s[drop];
	out->local = nt_add(t0, dt / k);
	out->offset = off;
	/* The readings' spread, and how far their mean is likely off. */
	out->disp = fmax(disp, k > 1 ? sqrt(var / (k - 1)) : 0);
	out->sd = fmax(sd, trimmed_mean_sd(s, n, drop));
	out->leap = leap;
	out->n = n;
}

bool
nt_refclock_filter_add(struct nt_refclock *rc,
    const struct nt_refclock_sample *s, struct nt_refclock_sample *out)
{
	double period = ldexp(1.0, rc->conf->poll), age;
	bool done = false;

	/* Nothing to combine when reads come once a poll or less. */
	if (rc->conf->poll <= 0 || (rc->drv->interval > 0 &&
	    rc->drv->interval >= period)) {
		*out = *s;
		out->n = 1;
		return (true);
	}
	if (rc->n_filt > 0) {
		age = nt_diff(s->local, rc->filt[0].local);
		/* Stale (a gap) or from before a clock step: start again. */
		if (age < 0 || nt_diff(s->local,
		    rc->filt[rc->n_filt - 1].local) > period)
			rc->n_filt = 0;
		else if (age >= period || rc->n_filt == NT_RC_FILTER_MAX) {
			combine(rc->filt, rc->n_filt, out);
			rc->n_filt = 0;
			done = true;
		}
	}
	rc->filt[rc->n_filt++] = *s;
	return (done);
}

/* ---- The set ---- */

static void
rc_name(struct nt_refclock *rc)
{
	const struct nt_refclock_conf *c = rc->conf;

	if (c->device != NULL)
		snprintf(rc->name, sizeof rc->name, "%s (%s)", c->refid,
		    c->device);
	else if (c->path != NULL)
		snprintf(rc->name, sizeof rc->name, "%s (%s)", c->refid,
		    c->path);
	else if (rc->drv->options & NT_RCO_UNIT)
		snprintf(rc->name, sizeof rc->name, "%s (%s unit %d)",
		    c->refid, rc->drv->name, c->unit);
	else
		snprintf(rc->name, sizeof rc->name, "%s (%s)", c->refid,
		    rc->drv->name);
}

int
nt_refclock_set_init(struct nt_refclock_set *set, struct nt_clock *clk,
    const struct nt_refclock_conf *confs, size_t n,
    nt_refclock_sample_fn *on_sample, void *ctx, char *err, size_t errlen)
{
	assert(n <= NT_REFCLOCK_MAX);
	memset(set, 0, sizeof *set);
	set->n = n;
	set->clk = clk;
	set->on_sample = on_sample;
	set->ctx = ctx;
	for (size_t i = 0; i < n; i++) {
		struct nt_refclock *rc = &set->rc[i];

		rc->drv = nt_refclock_driver((size_t)confs[i].driver);
		rc->conf = &confs[i];
		rc->clk = clk;
		rc->index = (int)i;
		rc->pair.src = -1;
		rc->pair.hinted = NAN;
		rc->labels = -1;
		rc->last_verdict = NT_PPS_OK;
		rc_name(rc);
	}
	for (size_t i = 0; i < n; i++) {
		int j;

		if (confs[i].pps == NULL)
			continue;
		j = find_refid(confs, n, confs[i].pps);
		if (j < 0 || set->rc[j].pair.src >= 0) {
			snprintf(err, errlen, "refclock %s: 'pps: %s' names no "
			    "free pps refclock", set->rc[i].name, confs[i].pps);
			return (-1);
		}
		set->rc[j].pair.src = (int)i;
		set->rc[i].labels = j;
	}
	return (0);
}

void
nt_refclock_set_fallback(struct nt_refclock_set *set,
    nt_refclock_fallback_fn *fn)
{
	set->fallback = fn;
}

static void
deliver(struct nt_refclock_set *set, struct nt_refclock *rc,
    const struct nt_refclock_sample *s)
{
	struct nt_refclock_sample out;

	if (!nt_refclock_filter_add(rc, s, &out))
		return;
	rc->n_out++;
	if (set->on_sample != NULL)
		set->on_sample(set->ctx, rc->index, &out);
}

/* Say why pulses are (not) used, when that changes. */
static void
log_verdict(struct nt_refclock *rc, const struct nt_refclock *pr,
    enum nt_pps_verdict v, double diff)
{
	bool own = pr == rc;
	const char *pn = own ? "its own time samples" : pr != NULL ?
	    pr->conf->refid : "the system clock";

	if (v == rc->last_verdict && rc->n_pulses > 1)
		return;
	rc->last_verdict = v;
	if (v == NT_PPS_OK)
		nt_log(NT_LOG_NOTICE, "refclock %s: pulses numbered by %s",
		    rc->name, pn);
	else if (v == NT_PPS_NOPAIR && pr == NULL &&
	    rc->drv == &nt_rc_pps)
		nt_log(NT_LOG_WARNING, "refclock %s: pulses not used: no "
		    "refclock pairs with it ('pps: %s' on the refclock that "
		    "gives the time) and the clock is not synchronized to "
		    "another source yet", rc->name, rc->conf->refid);
	else if (v == NT_PPS_NOPAIR && pr == NULL)
		nt_log(NT_LOG_WARNING, "refclock %s: pulses not used: it gave "
		    "no time samples to number them and the clock is not "
		    "synchronized to another source yet", rc->name);
	else if (v == NT_PPS_NOPAIR || v == NT_PPS_STALE)
		nt_log(NT_LOG_WARNING, "refclock %s: pulses not used: no time "
		    "from %s in the last %.0f s (no fix?)", rc->name,
		    own ? "it" : pn, NT_PPS_PAIR_MAXAGE);
	else if (own)
		nt_log(NT_LOG_WARNING, "refclock %s: pulses not used: its time "
		    "samples are off by %+.3f s from them (more than %.1f s)",
		    rc->name, -diff, NT_PPS_MAX_DISAGREE);
	else
		nt_log(NT_LOG_WARNING, "refclock %s: pulses not used: %s is off "
		    "by %+.3f s from the pulses (more than %.1f s): correct "
		    "its 'offset'", rc->name, pn, -diff, NT_PPS_MAX_DISAGREE);
}

static void
log_hint(struct nt_refclock *rc, const struct nt_refclock *pr, double want)
{
	nt_log(NT_LOG_NOTICE, "refclock %s: against the pulses of %s its time "
	    "is %+.3f s off: set 'offset: %.3f' on refclock %s (now %.3f)",
	    pr->name, rc->conf->refid, pr->conf->offset - want, want,
	    pr->conf->refid, pr->conf->offset);
}

/* The pair's last time, from the pair's sample s. */
static void
pair_note(struct nt_pps_pair *p, const struct nt_refclock_sample *s)
{
	assert(!s->pulse);
	p->have = true;
	p->local = s->local;
	p->offset = s->offset;
	p->disp = s->disp;
	p->leap = s->leap;
}

/* No refclock gives the seconds: the engine's clock may, at now. */
static void
fallback_pair(struct nt_refclock_set *set, struct nt_pps_pair *p, nt_time now)
{
	struct nt_refclock_sample fb;

	memset(&fb, 0, sizeof fb);
	p->have = set->fallback != NULL && set->fallback(set->ctx, now, &fb);
	p->local = fb.local;
	p->offset = p->have ? fb.offset : 0;
	p->disp = p->have ? fb.disp : 0;
	p->leap = p->have ? fb.leap : NTP_LEAP_NONE;
}

/*
 * A refclock that is its own pair delivers the other kind from now on:
 * its pulses, or its time samples because its pulses were refused (or,
 * stopped, none came lately).
 */
static void
switch_kind(struct nt_refclock *rc, bool pulses, bool stopped)
{
	char why[64];

	assert(rc->pair.src == rc->index && rc->use_pulses != pulses);
	rc->use_pulses = pulses;
	rc->n_switch = 0;
	rc->n_filt = 0;		/* a combined sample is of one kind */
	if (stopped)
		snprintf(why, sizeof why, "no pulse for %.0f s",
		    NT_PPS_PULSE_MAXAGE);
	else
		snprintf(why, sizeof why, "%d pulses in a row %s", NT_PPS_SWITCH,
		    pulses ? "numbered by them" : "refused");
	nt_log(NT_LOG_NOTICE, "refclock %s: its %s are used from now on (%s)",
	    rc->name, pulses ? "pulses" : "time samples", why);
}

/*
 * Is a pulse of a refclock that is its own pair delivered (ok: its time
 * labelled it)?  Only once NT_PPS_SWITCH in a row were labelled, until
 * as many in a row were not: a pair that disagrees by about the bound
 * does not swing the clock between the two kinds.
 */
static bool
own_pulse_used(struct nt_refclock *rc, bool ok, nt_time local)
{
	rc->last_pulse = local;
	if (ok == rc->use_pulses)
		rc->n_switch = 0;
	else if (++rc->n_switch >= NT_PPS_SWITCH)
		switch_kind(rc, ok, false);
	return (ok && rc->use_pulses);
}

static void
label_pulse(struct nt_refclock_set *set, struct nt_refclock *rc,
    const struct nt_refclock_sample *s)
{
	struct nt_pps_pair *p = &rc->pair;
	const struct nt_refclock *pr = p->src >= 0 ? &set->rc[p->src] : NULL;
	struct nt_refclock_sample lab;
	enum nt_pps_verdict v;
	double diff, want;
	bool used;

	rc->n_pulses++;
	if (pr == NULL)
		fallback_pair(set, p, s->local);
	v = nt_pps_label(p, s, pr != NULL && pr->drv->late_only,
	    pr != NULL ? pr->conf->offset : 0, &lab, &diff);
	log_verdict(rc, pr, v, diff);
	/* Its own 'offset' moves pulses and time alike: no hint for that. */
	if (pr != NULL && pr != rc && !isnan(diff)) {
		want = nt_pps_hint(p, diff, pr->conf->offset,
		    pr->drv->late_only);
		if (!isnan(want))
			log_hint(rc, pr, want);
	}
	used = pr == rc ? own_pulse_used(rc, v == NT_PPS_OK, s->local) :
	    v == NT_PPS_OK;
	if (!used) {
		rc->n_dropped++;
		return;
	}
	deliver(set, rc, &lab);
}

/*
 * A time sample: it labels the pulses of the pps refclock it pairs with
 * and its own, and is delivered unless its own pulses are.
 */
static void
time_sample(struct nt_refclock_set *set, struct nt_refclock *rc,
    const struct nt_refclock_sample *s)
{
	if (rc->labels >= 0)
		pair_note(&set->rc[rc->labels].pair, s);
	/* Pulses of a pps refclock paired with another are never times. */
	assert(rc->pair.src < 0 || rc->pair.src == rc->index);
	if (rc->pair.src < 0) {
		rc->pair.src = rc->index;
		rc->n_filt = 0;		/* pulses the system clock labelled */
		rc->n_pulses = 0;	/* who labels them now is news */
	}
	pair_note(&rc->pair, s);
	if (rc->use_pulses &&
	    fabs(nt_diff(s->local, rc->last_pulse)) > NT_PPS_PULSE_MAXAGE)
		switch_kind(rc, false, true);
	if (!rc->use_pulses)
		deliver(set, rc, s);
}

void
nt_refclock_set_raw(struct nt_refclock_set *set, int i,
    const struct nt_refclock_sample *raw)
{
	struct nt_refclock *rc;
	struct nt_refclock_sample s = *raw;

	assert(i >= 0 && (size_t)i < set->n);
	rc = &set->rc[i];
	rc->n_raw++;
	s.offset += rc->conf->offset;
	s.disp = fmax(s.disp, rc->conf->precision);
	s.delay = rc->conf->delay;
	if (s.pulse)
		label_pulse(set, rc, &s);
	else
		time_sample(set, rc, &s);
}

/* ---- For drivers ---- */

void
nt_refclock_unwatchable(int fd, const char *why, char *buf, size_t len)
{
	struct stat st;
	bool known = fstat(fd, &st) == 0;

	if (known && S_ISDIR(st.st_mode))
		snprintf(buf, len, "it is a directory, not a device");
	else if (known && S_ISREG(st.st_mode))
		snprintf(buf, len, "it is a regular file, which cannot be "
		    "watched for input: replay a log through a pty "
		    "(tools/nmea-play.py) or a FIFO");
	else if (known && S_ISCHR(st.st_mode))
		snprintf(buf, len, "it is a character device (%u:%u) that "
		    "cannot be watched for input (%s): not a serial port or "
		    "GNSS device (/dev/null and the like never send anything)",
		    major(st.st_rdev), minor(st.st_rdev), why);
	else
		snprintf(buf, len, "cannot watch it for input (%s)", why);
}

/* "2027-01-15T08:00:00Z": to the nearest second (offsets are doubles). */
static const char *
format_sec(nt_time t, char *buf, size_t len)
{
	char *dot;

	t = (nt_time)llround(nt_diff(t, 0)) * NT_SEC;
	nt_format_utc(t, buf, len);
	if ((dot = strchr(buf, '.')) != NULL)
		strlcpy(dot, "Z", len - (size_t)(dot - buf));
	return (buf);
}

enum nt_rc_check
nt_refclock_check_time(nt_time taken, double offset, int leap, int max_leap,
    char *why, size_t len)
{
	char a[NT_TIMESTR_LEN], b[NT_TIMESTR_LEN];
	nt_time ref, ceiling;

	if (why == NULL)
		len = 0;
	/* Beyond 4e9 s the sum could overflow: not a time either way. */
	if (!isfinite(offset) || fabs(offset) > 4 * NT_RC_MAX_OFFSET) {
		snprintf(why, len, "offset %g s is not a time", offset);
		return (NT_RCC_OFFSET);
	}
	ref = nt_add(taken, offset);
	if (ref < NT_RC_TIME_FLOOR) {
		snprintf(why, len, "reference time %s is before 2025-01-01",
		    format_sec(ref, a, sizeof a));
		return (NT_RCC_PAST);
	}
	ceiling = (taken > NT_RC_TIME_FLOOR ? taken : NT_RC_TIME_FLOOR) +
	    NT_RC_MAX_AHEAD * NT_SEC;
	if (ref > ceiling) {
		snprintf(why, len, "reference time %s is more than 512 weeks "
		    "after it was taken (%s)", format_sec(ref, a, sizeof a),
		    format_sec(taken, b, sizeof b));
		return (NT_RCC_AHEAD);
	}
	if (fabs(offset) > NT_RC_MAX_OFFSET) {
		snprintf(why, len, "offset %.0f s is more than 1e9 s", offset);
		return (NT_RCC_OFFSET);
	}
	if (leap < 0 || leap > max_leap) {
		snprintf(why, len, "leap value %d (allowed 0-%d)", leap,
		    max_leap);
		return (NT_RCC_LEAP);
	}
	return (NT_RCC_OK);
}

bool
nt_refclock_refused(const struct nt_refclock *rc, struct nt_rc_refusals *r,
    unsigned kind, const char *fmt, ...)
{
	bool first;
	char msg[NT_RC_ERRLEN];
	va_list ap;

	assert(kind < 32);
	first = !(r->kinds & UINT32_C(1) << kind);
	r->kinds |= UINT32_C(1) << kind;
	if (r->n++ % 100 != 0 && !first)
		return (false);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	nt_log(NT_LOG_WARNING, "refclock %s: %s", rc->name, msg);
	return (true);
}

void
nt_refclock_open_error(const char *path, int err, char *buf, size_t len)
{
	struct stat st;
	struct passwd *pw;
	struct group *gr;
	char owner[64], group[64];

	if (err == ENOENT) {
		snprintf(buf, len, "%s: no such device (not plugged in, or not "
		    "created yet)", path);
		return;
	}
	if ((err != EACCES && err != EPERM) || stat(path, &st) != 0) {
		snprintf(buf, len, "%s: %s", path, strerror(err));
		return;
	}
	pw = getpwuid(st.st_uid);
	gr = getgrgid(st.st_gid);
	snprintf(owner, sizeof owner, "%s", pw != NULL ? pw->pw_name : "?");
	snprintf(group, sizeof group, "%s", gr != NULL ? gr->gr_name : "?");
	snprintf(buf, len, "%s: permission denied (owner %s, group %s, mode "
	    "%04o; we run as uid %u: add that user to group '%s', or fix the "
	    "device's udev rule)", path, owner, group,
	    (unsigned)(st.st_mode & 07777), (unsigned)geteuid(), group);
}
