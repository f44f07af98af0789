/*
 * Tests for the refclock layer without libuv: the driver table, the
 * 'refclocks:' schema and its FILE:LINE:COLUMN errors, pulse labelling
 * (pairs that agree, disagree, go silent, are missing; NMEA's late-only
 * rule), the offset hint, combining per poll, the set's routing, and the
 * drivers' pure decoders (SHM records and permissions, SOCK datagrams,
 * PHC readings).  Then the shm and sock drivers against a real segment
 * (a mode-1 writer as gpsd does it, on a private unit) and a real socket,
 * and the local driver.  The phc and pps drivers need devices that this
 * machine may not have: those tests skip without /dev/ptp0 or /dev/pps0.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "log_capture.h"
#include "ntp_pkt.h"
#include "refclock.h"
#include "yconf.h"

static void
assert_near_at(double a, double b, double eps, const char *file, int line)
{
	if (!(fabs(a - b) <= eps)) {
		print_error("%.12g != %.12g (eps %g)\n", a, b, eps);
		_fail(file, line);
	}
}
#define assert_near(a, b, eps) \
	assert_near_at((a), (b), (eps), __FILE__, __LINE__)

/* ---- A clock the tests set ---- */

static nt_time fake_now;

static nt_time
fake_read(struct nt_clock *c)
{
	(void)c;
	return (fake_now);
}

static nt_time
fake_from_kernel(struct nt_clock *c, nt_time t)
{
	(void)c;
	return (t + 250 * NT_MSEC);	/* our clock is 0.25 s ahead */
}

static const struct nt_clock_ops fake_ops = {
	.now = fake_read,
	.from_kernel = fake_from_kernel,
};
static struct nt_clock fake_clock = { .ops = &fake_ops, .name = "fake" };

static nt_time
kernel_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (nt_from_timespec(&ts));
}

/* ---- Config ---- */

struct wrap {
	struct nt_refclock_conf *rc;
	size_t	n;
};

static int
wrap_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base)
{
	struct wrap *wr = base;

	return (nt_refclock_conf_check_list(w, nt_yconf_map_get(map,
	    "refclocks"), wr->rc, wr->n));
}

static const struct nt_yconf_key wrap_keys[] = {
	NT_YCONF_SEQ("refclocks", struct wrap, rc, n, &nt_refclock_conf_elem,
	    0, NT_REFCLOCK_MAX, "reference clocks"),
};
static const struct nt_yconf_schema wrap_schema =
    NT_YCONF_SCHEMA(wrap_keys, NULL, wrap_check);

static int
load(const char *text, struct wrap *w, char *err)
{
	memset(w, 0, sizeof *w);
	return (nt_yconf_load_buf("t.yaml", text, strlen(text), &wrap_schema,
	    w, err, NT_RC_ERRLEN));
}

/* Loading text fails with an error starting with want. */
static void
bad_conf(const char *text, const char *want)
{
	char err[NT_RC_ERRLEN];
	struct wrap w;

	if (load(text, &w, err) == 0) {
		print_error("loaded: %s\n", text);
		fail();
	}
	if (strncmp(err, want, strlen(want)) != 0) {
		print_error("got  '%s'\nwant '%s...'\n", err, want);
		fail();
	}
	nt_yconf_free(&wrap_schema, &w);
}

static const char full_conf[] =
    "refclocks:\n"
    "  - { driver: nmea, device: /dev/ttyAMA0, baud: 4800, offset: 0.35,\n"
    "      pps: PPS, delay: 0.1 }\n"
    "  - { driver: pps, device: /dev/pps0, edge: clear, prefer: true }\n"
    "  - { driver: shm, unit: 2, refid: GPSD }\n"
    "  - { driver: sock, path: /run/chrony.ttyS0.sock, noselect: true }\n"
    "  - { driver: phc, device: /dev/ptp1, offset: -37 }\n"
    "  - { driver: local, stratum: 8 }\n"
    "  - { driver: shm, unit: 42, poll: 2, precision: 1e-7 }\n";

static void
test_conf_full(void **state)
{
	char err[NT_RC_ERRLEN];
	struct wrap w;
	const struct nt_refclock_conf *c;

	(void)state;
	assert_int_equal(load(full_conf, &w, err), 0);
	assert_int_equal(w.n, 7);
	c = w.rc;
	assert_int_equal(c[0].driver, nt_refclock_find_driver("nmea"));
	assert_string_equal(c[0].device, "/dev/ttyAMA0");
	assert_int_equal(c[0].baud, 4800);
	assert_near(c[0].offset, 0.35, 0);
	assert_string_equal(c[0].pps, "PPS");
	assert_string_equal(c[0].refid, "GPS");
	assert_int_equal(c[0].poll, 4);
	assert_near(c[0].precision, 1e-3, 0);
	assert_int_equal(c[1].edge, NT_PPS_CLEAR);
	assert_true(c[1].prefer);
	assert_string_equal(c[1].refid, "PPS");
	assert_int_equal(c[1].baud, 0);
	assert_string_equal(c[2].refid, "GPSD");
	assert_int_equal(c[2].unit, 2);
	assert_string_equal(c[3].refid, "SOCK");
	assert_true(c[3].noselect);
	assert_string_equal(c[4].refid, "PHC1");
	assert_near(c[4].offset, -37, 0);
	assert_string_equal(c[5].refid, "LOCL");
	assert_int_equal(c[5].stratum, 8);
	assert_string_equal(c[6].refid, "SH42");
	assert_int_equal(c[6].poll, 2);
	assert_near(c[6].precision, 1e-7, 0);
	assert_true(nt_refclock_refid(&c[0]) == 0x47505300u);	/* "GPS\0" */
	nt_yconf_free(&wrap_schema, &w);
}

/* What --check-config prints loads back the same. */
static void
test_conf_print(void **state)
{
	char err[NT_RC_ERRLEN], *buf = NULL;
	size_t len = 0;
	struct wrap a, b;
	FILE *f;

	(void)state;
	assert_int_equal(load(full_conf, &a, err), 0);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	nt_yconf_print(f, &wrap_schema, &a, 0);
	fclose(f);
	if (load(buf, &b, err) != 0) {
		print_error("%s\n%s\n", err, buf);
		fail();
	}
	assert_int_equal(a.n, b.n);
	for (size_t i = 0; i < a.n; i++) {
		assert_int_equal(a.rc[i].driver, b.rc[i].driver);
		assert_string_equal(a.rc[i].refid, b.rc[i].refid);
		assert_int_equal(a.rc[i].poll, b.rc[i].poll);
		assert_int_equal(a.rc[i].baud, b.rc[i].baud);
		assert_int_equal(a.rc[i].unit, b.rc[i].unit);
		assert_near(a.rc[i].offset, b.rc[i].offset, 0);
		assert_near(a.rc[i].precision, b.rc[i].precision, 0);
	}
	free(buf);
	nt_yconf_free(&wrap_schema, &a);
	nt_yconf_free(&wrap_schema, &b);
}

/*
 * One device under two names (a udev symlink beside the node, or two
 * nodes of one device) is refused as the same path is; it was not.
 */
static void
same_device_by_link(void)
{
	char dir[] = "/tmp/ntimed-dev.XXXXXX", link[128], text[512];

	assert_non_null(mkdtemp(dir));
	snprintf(link, sizeof link, "%s/gps0", dir);
	assert_int_equal(symlink("/dev/null", link), 0);
	snprintf(text, sizeof text, "refclocks:\n"
	    "  - { driver: nmea, device: /dev/null }\n"
	    "  - { driver: nmea, device: %s, refid: GPS2 }\n", link);
	bad_conf(text, "t.yaml:3:29: refclocks[1] (GPS2): '");
	assert_int_equal(unlink(link), 0);
	assert_int_equal(mknod(link, S_IFCHR | 0600, makedev(1, 3)) == 0 ||
	    errno == EPERM, 1);
	if (access(link, F_OK) == 0) {	/* root: another node of /dev/null */
		bad_conf(text, "t.yaml:3:29: refclocks[1] (GPS2): '");
		unlink(link);
	}
	/* Not there yet: only the string can be compared. */
	snprintf(text, sizeof text, "refclocks:\n"
	    "  - { driver: nmea, device: %s/a }\n"
	    "  - { driver: nmea, device: %s/b, refid: GPS2 }\n", dir, dir);
	{
		struct wrap w;
		char err[NT_RC_ERRLEN];

		assert_int_equal(load(text, &w, err), 0);
		nt_yconf_free(&wrap_schema, &w);
	}
	rmdir(dir);
}

static void
test_conf_errors(void **state)
{
	(void)state;
	bad_conf("refclocks:\n  - { driver: garmin, device: /dev/x }\n",
	    "t.yaml:2:15: 'driver' must be one of: nmea, pps, shm, sock, phc, "
	    "local");
	bad_conf("refclocks:\n  - driver: nmea\n    device: /dev/x\n"
	    "    speed: 9600\n", "t.yaml:4:5: unknown key 'speed'");
	bad_conf("refclocks:\n  - driver: shm\n    baud: 4800\n",
	    "t.yaml:3:5: refclocks[0]: 'baud' is not an option of driver "
	    "'shm' (its own options: unit, pps)");
	bad_conf("refclocks:\n  - { driver: pps, device: /dev/pps0, "
	    "pps: X }\n", "t.yaml:2:39: refclocks[0]: 'pps' is not an option");
	bad_conf("refclocks:\n  - { driver: local, stratum: 3, device: /d }\n",
	    "t.yaml:2:34: refclocks[0]: 'device' is not an option of driver "
	    "'local'");
	bad_conf("refclocks:\n  - driver: nmea\n",
	    "t.yaml:2:5: refclocks[0]: driver 'nmea' needs 'device'");
	bad_conf("refclocks:\n  - { driver: sock }\n",
	    "t.yaml:2:5: refclocks[0]: driver 'sock' needs 'path'");
	bad_conf("refclocks:\n  - { driver: nmea, device: /dev/x, baud: 1234 }\n",
	    "t.yaml:2:43: refclocks[0]: 'baud' 1234 is not a serial speed");
	bad_conf("refclocks:\n  - { driver: nmea, device: ttyS0 }\n",
	    "t.yaml:2:29: refclocks[0]: 'device' must be an absolute path");
	bad_conf("refclocks:\n  - { driver: nmea, device: /x, refid: GPS12 }\n",
	    "t.yaml:2:40: 'refid' is too long");
	bad_conf("refclocks:\n  - { driver: nmea, device: /x, refid: 'G S' }\n",
	    "t.yaml:2:40: refclocks[0]: 'refid' must be 1-4 printable");
	bad_conf("refclocks:\n  - { driver: shm, poll: 13 }\n",
	    "t.yaml:2:26: 'poll' out of range: 13 (allowed -2..12)");
	bad_conf("refclocks:\n  - { driver: nmea, device: /dev/g }\n"
	    "  - { driver: nmea, device: /dev/g, refid: GPS2 }\n",
	    "t.yaml:3:29: refclocks[1]: '/dev/g' is already read by "
	    "refclocks[0]");
	same_device_by_link();
	bad_conf("refclocks:\n  - { driver: nmea, device: /tmp }\n",
	    "t.yaml:2:29: refclocks[0]: 'device' /tmp is a directory, not a "
	    "device");
	bad_conf("refclocks:\n  - { driver: local, stratum: 0 }\n",
	    "t.yaml:2:31: refclocks[0]: 'stratum' must be 1-15");
	bad_conf("refclocks:\n  - { driver: shm }\n  - { driver: shm, unit: 0 }\n",
	    "t.yaml:3:5: refclocks[1]: refid 'SHM0' is already used by "
	    "refclocks[0]");
	bad_conf("refclocks:\n  - { driver: nmea, device: /x, pps: PPS1 }\n"
	    "  - { driver: pps, device: /dev/pps0 }\n",
	    "t.yaml:2:38: refclocks[0]: 'pps: PPS1' names no refclock");
	bad_conf("refclocks:\n  - { driver: nmea, device: /x, pps: SHM0 }\n"
	    "  - { driver: shm }\n",
	    "t.yaml:2:38: refclocks[0]: 'pps: SHM0' names a 'shm' refclock");
	bad_conf("refclocks:\n  - { driver: nmea, device: /x, pps: PPS }\n"
	    "  - { driver: pps, device: /dev/pps0 }\n"
	    "  - { driver: shm, pps: PPS }\n",
	    "t.yaml:4:25: refclocks[2]: pps refclock 'PPS' is already paired "
	    "with refclocks[0]");
}

static void
test_driver_table(void **state)
{
	static const char *const names[] = { "nmea", "pps", "shm", "sock",
	    "phc", "local" };
	struct nt_refclock_conf c;

	(void)state;
	assert_int_equal(nt_refclock_n_drivers(), 6);
	for (size_t i = 0; i < 6; i++) {
		const struct nt_refclock_driver *d = nt_refclock_driver(i);

		assert_string_equal(d->name, names[i]);
		assert_int_equal(nt_refclock_find_driver(names[i]), (int)i);
		assert_non_null(d->open);
		assert_non_null(d->read);
		assert_non_null(d->close);
		assert_true(d->interval >= 0);
		assert_true((d->required & ~d->options) == 0);
	}
	assert_int_equal(nt_refclock_find_driver("garmin"), -1);
	nt_refclock_conf_init(&c, nt_refclock_find_driver("local"));
	assert_string_equal(c.refid, "LOCL");
	assert_int_equal(c.stratum, 10);
	assert_true(nt_refclock_driver((size_t)c.driver)->last_resort);
	nt_refclock_conf_init(&c, nt_refclock_find_driver("shm"));
	assert_string_equal(c.refid, "SHM0");
}

/* ---- Pulses ---- */

static struct nt_refclock_sample
pulse_at(double local, double phase)
{
	struct nt_refclock_sample s = { .local = nt_from_sec(local),
	    .offset = phase, .pulse = true, .n = 1 };

	return (s);
}

static void
pair_with(struct nt_pps_pair *p, double local, double offset)
{
	memset(p, 0, sizeof *p);
	p->src = 0;
	p->have = true;
	p->local = nt_from_sec(local);
	p->offset = offset;
	p->leap = NTP_LEAP_INSERT;
	p->hinted = NAN;
}

static void
test_pps_label(void **state)
{
	struct nt_pps_pair p;
	struct nt_refclock_sample pl = pulse_at(1000.5, 0.0021), out;
	double diff;

	(void)state;
	/* No pair at all. */
	memset(&p, 0, sizeof p);
	p.src = -1;
	assert_int_equal(nt_pps_label(&p, &pl, false, 0, &out, &diff),
	    NT_PPS_NOPAIR);
	assert_true(isnan(diff));
	/* A pair 3 s off: the pulse keeps its phase, gets the seconds. */
	pair_with(&p, 1000.2, 3.001);
	assert_int_equal(nt_pps_label(&p, &pl, false, 0, &out, &diff),
	    NT_PPS_OK);
	assert_near(out.offset, 3.0021, 1e-12);
	assert_false(out.pulse);
	assert_int_equal(out.leap, NTP_LEAP_INSERT);
	assert_near(diff, 0.0011, 1e-12);
	/* 0.45 s apart: refused. */
	pair_with(&p, 1000.2, 0.45);
	pl = pulse_at(1000.5, 0.0);
	assert_int_equal(nt_pps_label(&p, &pl, false, 0, &out, &diff),
	    NT_PPS_DISAGREE);
	assert_near(diff, -0.45, 1e-12);
	/* 0.39 s apart: still numbered. */
	pair_with(&p, 1000.2, -0.39);
	assert_int_equal(nt_pps_label(&p, &pl, false, 0, &out, &diff),
	    NT_PPS_OK);
	/* The pair's last sample is too old. */
	pair_with(&p, 1000.5 - NT_PPS_PAIR_MAXAGE - 0.1, 0);
	assert_int_equal(nt_pps_label(&p, &pl, false, 0, &out, &diff),
	    NT_PPS_STALE);
}

static void
test_pps_late_only(void **state)
{
	struct nt_pps_pair p;
	struct nt_refclock_sample pl = pulse_at(2000.0, 0.001), out;
	double diff, want = NAN;

	(void)state;
	/* NMEA 0.7 s late, not calibrated: the nearest second would be
	 * wrong by one; the late-only rule numbers it right and refuses. */
	pair_with(&p, 1999.8, -0.7);
	assert_int_equal(nt_pps_label(&p, &pl, false, 0, &out, &diff),
	    NT_PPS_OK);
	assert_near(out.offset, -0.999, 1e-12);	/* the trap */
	assert_int_equal(nt_pps_label(&p, &pl, true, 0, &out, &diff),
	    NT_PPS_DISAGREE);
	assert_near(diff, 0.701, 1e-12);
	/* 32 pulses later the hint says which offset to set. */
	for (int i = 0; i < NT_PPS_HINT_PULSES; i++) {
		assert_true(isnan(want));
		want = nt_pps_hint(&p, 0.701 + (i % 2 ? 1e-3 : -1e-3), 0, true);
	}
	assert_near(want, 0.701, 1e-9);
	/* The same again: said already. */
	for (int i = 0; i < NT_PPS_HINT_PULSES; i++)
		assert_true(isnan(nt_pps_hint(&p, 0.7015, 0, true)));
	/* Calibrated (offset 0.7): numbered, and no hint for 1 ms. */
	pair_with(&p, 1999.8, -0.7 + 0.7);
	assert_int_equal(nt_pps_label(&p, &pl, true, 0.7, &out, &diff),
	    NT_PPS_OK);
	assert_near(out.offset, 0.001, 1e-12);
	for (int i = 0; i < NT_PPS_HINT_PULSES; i++)
		assert_true(isnan(nt_pps_hint(&p, 0.001, 0.7, true)));
	/* A generic pair whose hint comes out negative keeps it. */
	pair_with(&p, 0, 0);
	for (int i = 0; i < NT_PPS_HINT_PULSES; i++)
		want = nt_pps_hint(&p, -0.2, 0, false);
	assert_near(want, -0.2, 1e-12);
}

/* ---- The set ---- */

struct got {
	int	n;
	int	index[64];
	struct nt_refclock_sample s[64];
};

static void
collect(void *ctx, int index, const struct nt_refclock_sample *s)
{
	struct got *g = ctx;

	assert_true(g->n < 64);
	g->index[g->n] = index;
	g->s[g->n++] = *s;
}

static bool fallback_synced;

static bool
fallback(void *ctx, nt_time now, struct nt_refclock_sample *out)
{
	(void)ctx;
	if (!fallback_synced)
		return (false);
	memset(out, 0, sizeof *out);
	out->local = now;
	out->disp = 1e-3;
	return (true);
}

static void
two_clocks(struct nt_refclock_conf *c, bool paired)
{
	nt_refclock_conf_init(&c[0], nt_refclock_find_driver("nmea"));
	c[0].device = (char *)"/dev/null";
	c[0].offset = 0.3;
	c[0].poll = 0;
	c[0].pps = paired ? (char *)"PPS" : NULL;
	nt_refclock_conf_init(&c[1], nt_refclock_find_driver("pps"));
	c[1].device = (char *)"/dev/pps0";
	c[1].offset = 1e-6;	/* cable */
	c[1].poll = 0;
}

static void
test_set_pairing(void **state)
{
	struct nt_refclock_conf c[2];
	struct nt_refclock_set set;
	struct nt_refclock_sample gps = { .offset = -0.3004, .n = 1 };
	struct nt_refclock_sample pl;
	struct got g;
	char err[NT_RC_ERRLEN];

	(void)state;
	two_clocks(c, true);
	memset(&g, 0, sizeof g);
	assert_int_equal(nt_refclock_set_init(&set, &fake_clock, c, 2, collect,
	    &g, err, sizeof err), 0);
	assert_int_equal(set.rc[1].pair.src, 0);
	assert_int_equal(set.rc[0].labels, 1);
	/* A pulse before any GPS time: not used. */
	pl = pulse_at(100.0, 0.0002);
	nt_refclock_set_raw(&set, 1, &pl);
	assert_int_equal(g.n, 0);
	assert_int_equal(set.rc[1].n_dropped, 1);
	/* GPS at 99.6 (+0.3 offset), then the pulse: numbered. */
	gps.local = nt_from_sec(99.6);
	nt_refclock_set_raw(&set, 0, &gps);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.index[0], 0);
	assert_near(g.s[0].offset, -0.0004, 1e-12);
	assert_near(g.s[0].disp, 1e-3, 0);	/* nmea precision */
	nt_refclock_set_raw(&set, 1, &pl);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.index[1], 1);
	assert_near(g.s[1].offset, 0.000201, 1e-12);
	assert_false(g.s[1].pulse);
	/* 20 s later the GPS has said nothing: pulses stop. */
	pl = pulse_at(120.0, 0.0002);
	nt_refclock_set_raw(&set, 1, &pl);
	assert_int_equal(g.n, 2);
	assert_int_equal(set.rc[1].last_verdict, NT_PPS_STALE);
}

static void
test_set_unpaired(void **state)
{
	struct nt_refclock_conf c[2];
	struct nt_refclock_set set;
	struct nt_refclock_sample pl = pulse_at(50.0, -0.0003);
	struct got g;
	char err[NT_RC_ERRLEN];

	(void)state;
	two_clocks(c, false);
	memset(&g, 0, sizeof g);
	assert_int_equal(nt_refclock_set_init(&set, &fake_clock, c, 2, collect,
	    &g, err, sizeof err), 0);
	/* PPS without a pair and without a synchronized clock: unused. */
	for (int i = 0; i < 5; i++)
		nt_refclock_set_raw(&set, 1, &pl);
	assert_int_equal(g.n, 0);
	assert_int_equal(set.rc[1].last_verdict, NT_PPS_NOPAIR);
	/* Once the engine says the clock is synchronized: used. */
	nt_refclock_set_fallback(&set, fallback);
	fallback_synced = false;
	nt_refclock_set_raw(&set, 1, &pl);
	assert_int_equal(g.n, 0);
	fallback_synced = true;
	nt_refclock_set_raw(&set, 1, &pl);
	assert_int_equal(g.n, 1);
	assert_near(g.s[0].offset, -0.000299, 1e-12);
	/* A broken 'pps:' reference is refused by the set too. */
	c[0].pps = (char *)"NOPE";
	assert_int_equal(nt_refclock_set_init(&set, &fake_clock, c, 2, collect,
	    &g, err, sizeof err), -1);
	assert_non_null(strstr(err, "NOPE"));
}

static void
test_filter(void **state)
{
	struct nt_refclock_conf c[2];
	struct nt_refclock_set set;
	struct got g;
	char err[NT_RC_ERRLEN];

	(void)state;
	two_clocks(c, false);
	c[0].poll = 4;
	c[0].offset = 0;
	memset(&g, 0, sizeof g);
	assert_int_equal(nt_refclock_set_init(&set, &fake_clock, c, 2, collect,
	    &g, err, sizeof err), 0);
	/* 1 Hz samples with two wild ones per 16: they are trimmed. */
	for (int i = 0; i < 40; i++) {
		struct nt_refclock_sample s = { .local = nt_from_sec(10 + i),
		    .offset = 0.010 + (i % 16 == 3 ? 0.5 : i % 16 == 9 ? -0.4 :
		    (i % 2 ? 1e-3 : -1e-3)), .n = 1 };

		nt_refclock_set_raw(&set, 0, &s);
	}
	assert_int_equal(g.n, 2);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(g.s[k].n, 16);
		assert_near(g.s[k].offset, 0.010, 5e-4);
		assert_true(g.s[k].disp < 2e-3);
		/* The mean local time of the kept samples. */
		assert_true(fabs(nt_diff(g.s[k].local,
		    nt_from_sec(10 + 16 * k + 7.5))) < 1.5);
	}
	/* A gap longer than the poll drops the partial batch. */
	{
		struct nt_refclock_sample s = { .local = nt_from_sec(200),
		    .offset = 1, .n = 1 };

		nt_refclock_set_raw(&set, 0, &s);
		assert_int_equal(set.rc[0].n_filt, 1);
	}
}

/*
 * A combined sample's standard error (sd) is what its mean's scatter
 * really is: 16 sentences a poll, each 20 ms either way at random
 * (uniform), over 600 polls.  The kept readings' spread (disp) is only
 * about twice that, not sqrt(16) times: too narrow to bound the mean,
 * which is what the fit used to take it for (nmea-only's worst case).
 */
static void
test_filter_sd(void **state)
{
	struct nt_refclock_conf c[2];
	struct nt_refclock_set set;
	static struct got g;
	char err[NT_RC_ERRLEN];
	uint64_t x = 12345;
	double sum = 0, sq = 0, sd2 = 0, disp = 0, var;
	int polls = 0;

	(void)state;
	two_clocks(c, false);
	c[0].poll = 4;
	c[0].offset = 0;
	assert_int_equal(nt_refclock_set_init(&set, &fake_clock, c, 2, collect,
	    &g, err, sizeof err), 0);
	for (int i = 0; i < 600 * 16; i++) {
		struct nt_refclock_sample s = { .local = nt_from_sec(10 + i),
		    .n = 1 };

		x = x * 6364136223846793005u + 1442695040888963407u;
		s.offset = (ldexp((double)(x >> 11), -53) - 0.5) * 0.04;
		g.n = 0;
		nt_refclock_set_raw(&set, 0, &s);
		if (g.n == 0)
			continue;
		assert_int_equal(g.s[0].n, 16);
		sum += g.s[0].offset;
		sq += g.s[0].offset * g.s[0].offset;
		sd2 += g.s[0].sd * g.s[0].sd;
		disp += g.s[0].disp;
		polls++;
	}
	assert_true(polls >= 590);
	var = sq / polls - (sum / polls) * (sum / polls);
	assert_true(sd2 / polls > 0.8 * var && sd2 / polls < 1.25 * var);
	assert_true(disp / polls > 1.5 * sqrt(var));
	/* One reading a poll: no scatter to tell. */
	c[0].poll = 0;
	assert_int_equal(nt_refclock_set_init(&set, &fake_clock, c, 2, collect,
	    &g, err, sizeof err), 0);
	g.n = 0;
	{
		struct nt_refclock_sample s = { .local = nt_from_sec(10),
		    .offset = 0.01, .n = 1 };

		nt_refclock_set_raw(&set, 0, &s);
	}
	assert_int_equal(g.n, 1);
	assert_true(g.s[0].sd == 0);
}

/* ---- SHM ---- */

static struct nt_shm_time
shm_record(int mode, int valid)
{
	struct nt_shm_time t;

	memset(&t, 0, sizeof t);
	t.mode = mode;
	t.valid = valid;
	t.clock_sec = 1700000000;
	t.clock_usec = 123456;
	t.clock_nsec = 123456789;
	t.receive_sec = 1700000000;
	t.receive_usec = 623456;
	t.receive_nsec = 623456000;
	t.precision = -20;
	return (t);
}

static void
test_shm_decode(void **state)
{
	struct nt_shm_time t;
	struct nt_shm_sample s;

	(void)state;
	t = shm_record(1, 1);
	assert_int_equal(nt_shm_decode(&t, 4, 4, &s), NT_SHM_OK);
	assert_int_equal(s.clock, INT64_C(1700000000123456789));
	assert_int_equal(s.receive, INT64_C(1700000000623456000));
	assert_int_equal(s.precision, -20);
	assert_int_equal(nt_shm_decode(&t, 4, 6, &s), NT_SHM_TORN);
	t = shm_record(0, 1);	/* mode 0: no count handshake */
	assert_int_equal(nt_shm_decode(&t, 4, 6, &s), NT_SHM_OK);
	t = shm_record(1, 0);
	assert_int_equal(nt_shm_decode(&t, 4, 4, &s), NT_SHM_INVALID);
	t = shm_record(2, 1);
	assert_int_equal(nt_shm_decode(&t, 4, 4, &s), NT_SHM_MODE);
	t = shm_record(1, 1);
	t.clock_usec = 1000000;
	assert_int_equal(nt_shm_decode(&t, 4, 4, &s), NT_SHM_BADTIME);
	/* Seconds whose nanoseconds would overflow, or before 1970. */
	t = shm_record(1, 1);
	t.clock_sec = (time_t)INT64_C(648518348105509824);
	assert_int_equal(nt_shm_decode(&t, 4, 4, &s), NT_SHM_BADTIME);
	t = shm_record(1, 1);
	t.receive_sec = -1;
	assert_int_equal(nt_shm_decode(&t, 4, 4, &s), NT_SHM_BADTIME);
	/* An old writer's garbage nanoseconds: microseconds win. */
	t = shm_record(1, 1);
	t.clock_nsec = 999;
	assert_int_equal(nt_shm_decode(&t, 4, 4, &s), NT_SHM_OK);
	assert_int_equal(s.clock, INT64_C(1700000000123456000));
}

/* The check SHM and SOCK share: what is not a time, and why. */
static void
test_check_time(void **state)
{
	nt_time k = INT64_C(1800000000) * NT_SEC;	/* 2027-01-15 */
	char why[NT_RC_ERRLEN];

	(void)state;
	assert_int_equal(nt_refclock_check_time(k, 0.25, 1, 2, why,
	    sizeof why), NT_RCC_OK);
	assert_int_equal(nt_refclock_check_time(k, 0, 3, 3, NULL, 0),
	    NT_RCC_OK);
	/* A clock time in 1970, or a negative one. */
	assert_int_equal(nt_refclock_check_time(k, -1.8e9, 0, 3, why,
	    sizeof why), NT_RCC_PAST);
	assert_string_equal(why, "reference time 1970-01-01T00:00:00Z is "
	    "before 2025-01-01");
	assert_int_equal(nt_refclock_check_time(k, -1.8e9 - 5, 0, 3, why,
	    sizeof why), NT_RCC_PAST);
	/* 1e9 s ahead (2058); 5e9 s; NaN. */
	assert_int_equal(nt_refclock_check_time(k, 1e9, 0, 3, why,
	    sizeof why), NT_RCC_AHEAD);
	assert_non_null(strstr(why, "2058-"));
	assert_int_equal(nt_refclock_check_time(k, 5e9, 0, 3, why,
	    sizeof why), NT_RCC_OFFSET);
	assert_int_equal(nt_refclock_check_time(k, NAN, 0, 3, why,
	    sizeof why), NT_RCC_OFFSET);
	/* A machine without RTC at 1970 may still learn 2027: 1e9 s only. */
	assert_int_equal(nt_refclock_check_time(0, 1.8e9, 0, 3, why,
	    sizeof why), NT_RCC_OFFSET);
	assert_int_equal(nt_refclock_check_time(k, 0, 9, 3, why, sizeof why),
	    NT_RCC_LEAP);
	assert_string_equal(why, "leap value 9 (allowed 0-3)");
	assert_int_equal(nt_refclock_check_time(k, 0, 3, 2, NULL, 0),
	    NT_RCC_LEAP);
}

static void
test_shm_perm(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(nt_shm_check_perm(0, 0, 0, 0600, why, sizeof why), 0);
	assert_int_equal(nt_shm_check_perm(1, 0, 0, 0644, why, sizeof why), 0);
	assert_int_equal(nt_shm_check_perm(0, 1000, 1000, 0600, why,
	    sizeof why), -1);
	assert_non_null(strstr(why, "uid 1000"));
	assert_int_equal(nt_shm_check_perm(1, 0, 1000, 0600, why, sizeof why),
	    -1);
	assert_int_equal(nt_shm_check_perm(0, 0, 0, 0666, why, sizeof why), -1);
	assert_int_equal(nt_shm_check_perm(0, 0, 0, 0620, why, sizeof why), -1);
	assert_int_equal(nt_shm_check_perm(2, 1000, 1000, 0666, why,
	    sizeof why), 1);
	assert_non_null(strstr(why, "world-writable"));
	assert_int_equal(nt_shm_check_perm(5, 1000, 1000, 0600, why,
	    sizeof why), 0);
}

/* A writer as gpsd does it: mode 1, count bumped around the update. */
static void
shm_write(volatile struct nt_shm_time *t, nt_time clock, nt_time receive,
    int leap, int valid)
{
	t->valid = 0;
	t->count++;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	t->mode = 1;
	t->clock_sec = (time_t)(clock / NT_SEC);
	t->clock_usec = (int)(clock % NT_SEC / 1000);
	t->clock_nsec = (unsigned)(clock % NT_SEC);
	t->receive_sec = (time_t)(receive / NT_SEC);
	t->receive_usec = (int)(receive % NT_SEC / 1000);
	t->receive_nsec = (unsigned)(receive % NT_SEC);
	t->leap = leap;
	t->precision = -10;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	t->count++;
	t->valid = valid;
}

static int
shm_read_one(struct nt_refclock *rc, struct nt_refclock_sample *s)
{
	char err[NT_RC_ERRLEN];

	return (rc->drv->read(rc, s, 1, err, sizeof err));
}

/* An shm refclock for unit (not opened); c must outlive set. */
static struct nt_refclock *
shm_refclock(struct nt_refclock_conf *c, struct nt_refclock_set *set,
    int unit)
{
	char err[NT_RC_ERRLEN];

	nt_refclock_conf_init(c, nt_refclock_find_driver("shm"));
	c->unit = unit;
	assert_int_equal(nt_refclock_set_init(set, &fake_clock, c, 1, NULL,
	    NULL, err, sizeof err), 0);
	return (&set->rc[0]);
}

/* The writer's side: unit's segment, created and attached read-write. */
static volatile struct nt_shm_time *
shm_segment(int unit, int *id)
{
	volatile struct nt_shm_time *t;

	*id = shmget((key_t)(NT_SHM_KEY + unit), sizeof(struct nt_shm_time),
	    IPC_CREAT | 0600);
	assert_true(*id >= 0);
	t = shmat(*id, NULL, 0);
	assert_true(t != (void *)-1);
	return (t);
}

static void shm_recreate(struct nt_refclock *rc,
    volatile struct nt_shm_time *t, int id, int unit);

static void
test_shm_segment(void **state)
{
	struct nt_refclock_conf c;
	struct nt_refclock_set set;
	struct nt_refclock *rc;
	struct nt_refclock_sample s;
	volatile struct nt_shm_time *t;
	char err[NT_RC_ERRLEN];
	int unit = 100 + (int)(getpid() % 150), id;
	nt_time k;

	(void)state;
	rc = shm_refclock(&c, &set, unit);
	(void)shmctl(shmget((key_t)(NT_SHM_KEY + unit), 0, 0), IPC_RMID, NULL);
	/* Not there yet: a clear reason, retried by the adapter. */
	assert_int_equal(rc->drv->open(rc, err, sizeof err), -ENOENT);
	assert_non_null(strstr(err, "does not exist yet"));
	t = shm_segment(unit, &id);
	assert_int_equal(rc->drv->open(rc, err, sizeof err), 0);
	/* Nothing written yet. */
	assert_int_equal(shm_read_one(rc, &s), 0);
	/* A sample: reference 0.1 s ahead of the receive time. */
	k = kernel_now();
	fake_now = fake_from_kernel(NULL, k) + 200 * NT_MSEC;
	shm_write(t, k + 100 * NT_MSEC, k, NTP_LEAP_NONE, 1);
	assert_int_equal(shm_read_one(rc, &s), 1);
	assert_int_equal(s.local, fake_from_kernel(NULL, k));
	assert_near(s.offset, 0.1 - 0.25, 1e-9);	/* clock 0.25 s ahead */
	assert_near(s.disp, ldexp(1, -10), 1e-12);
	/* The same sample again (valid stays set): not new. */
	assert_int_equal(shm_read_one(rc, &s), 0);
	/* Not valid; not synchronized; stale: all ignored. */
	shm_write(t, k + 2 * NT_SEC, k + NT_SEC, NTP_LEAP_NONE, 0);
	assert_int_equal(shm_read_one(rc, &s), 0);
	shm_write(t, k + 2 * NT_SEC, k + NT_SEC, NTP_LEAP_UNSYNC, 1);
	assert_int_equal(shm_read_one(rc, &s), 0);
	fake_now = fake_from_kernel(NULL, k) + 20 * NT_SEC;
	shm_write(t, k + 3 * NT_SEC, k + 2 * NT_SEC, NTP_LEAP_NONE, 1);
	assert_int_equal(shm_read_one(rc, &s), 0);
	/* Fresh again, with a leap second announced. */
	shm_write(t, k + 19 * NT_SEC, k + 19 * NT_SEC, NTP_LEAP_INSERT, 1);
	assert_int_equal(shm_read_one(rc, &s), 1);
	assert_int_equal(s.leap, NTP_LEAP_INSERT);
	shm_recreate(rc, t, id, unit);
}

/* Write one record, read it: nothing, and n_log new warnings with want. */
static void
shm_refused(struct nt_refclock *rc, volatile struct nt_shm_time *t,
    nt_time clock, nt_time receive, int leap, int n_log, const char *want)
{
	struct nt_refclock_sample s;

	log_reset();
	shm_write(t, clock, receive, leap, 1);
	assert_int_equal(shm_read_one(rc, &s), 0);
	if (n_logged != n_log || (n_log > 0 && (strstr(logged, want) ==
	    NULL || strstr(logged, rc->name) == NULL))) {
		print_error("want %d lines with '%s', got:\n%s", n_log, want,
		    logged);
		fail();
	}
}

/*
 * Records that are not times: refused, each kind logged once with the
 * refclock's name and the reason, as SOCK does.  (Before: a 1970 clock
 * time was a sample, leap 9 was served as 0, the rest dropped silently.)
 */
static void
test_shm_bad_records(void **state)
{
	struct nt_refclock_conf c;
	struct nt_refclock_set set;
	struct nt_refclock *rc;
	struct nt_refclock_sample s;
	volatile struct nt_shm_time *t;
	char err[NT_RC_ERRLEN];
	int unit = 300 + (int)(getpid() % 150), id;
	nt_time k = kernel_now();

	(void)state;
	rc = shm_refclock(&c, &set, unit);
	t = shm_segment(unit, &id);
	assert_int_equal(rc->drv->open(rc, err, sizeof err), 0);
	fake_now = fake_from_kernel(NULL, k);
	shm_refused(rc, t, 0, k, 0, 1,
	    "reference time 1970-01-01T00:00:00Z is before 2025-01-01");
	shm_refused(rc, t, 1000 * NT_SEC, k + 1, 0, 0, "");  /* same kind */
	shm_refused(rc, t, k + INT64_C(1000000000) * NT_SEC, k, 0, 1,
	    "more than 512 weeks after");
	shm_refused(rc, t, k + 2, k + 2, 9, 1, "leap value 9 (allowed 0-3)");
	shm_refused(rc, t, k - 100 * NT_SEC, k - 100 * NT_SEC, 0, 1,
	    "receive time -100.0 s from now");
	/* Undecodable: a mode other than 0/1, fractions beyond a second. */
	log_reset();
	t->mode = 7;
	t->count += 2;
	assert_int_equal(shm_read_one(rc, &s), 0);
	assert_int_equal(shm_read_one(rc, &s), 0);	/* the same: once */
	assert_non_null(strstr(logged, "bad record: mode 7"));
	assert_int_equal(n_logged, 1);
	shm_write(t, k + 3 * NT_SEC, k + 3 * NT_SEC, 0, 1);
	t->clock_nsec = 3000000000u;
	t->clock_usec = 5000000;
	assert_int_equal(shm_read_one(rc, &s), 0);
	assert_non_null(strstr(logged, "5000000 us 3000000000 ns; receive"));
	assert_int_equal(n_logged, 2);
	/* A good one still goes through. */
	shm_write(t, k + 4 * NT_SEC, k + 4 * NT_SEC, 0, 1);
	fake_now = fake_from_kernel(NULL, k + 4 * NT_SEC);
	assert_int_equal(shm_read_one(rc, &s), 1);
	rc->drv->close(rc);
	nt_log_set_sink(NULL, NULL);
	shmdt((const void *)t);
	assert_int_equal(shmctl(id, IPC_RMID, NULL), 0);
}

/* The writer re-creates its segment: noticed, re-attached. */
static void
shm_recreate(struct nt_refclock *rc, volatile struct nt_shm_time *t, int id,
    int unit)
{
	struct nt_refclock_sample s;
	char err[NT_RC_ERRLEN];

	shmdt((const void *)t);
	assert_int_equal(shmctl(id, IPC_RMID, NULL), 0);
	id = shmget((key_t)(NT_SHM_KEY + unit), sizeof(struct nt_shm_time),
	    IPC_CREAT | 0600);
	assert_true(id >= 0);
	fake_now += 9 * NT_SEC;
	assert_int_equal(shm_read_one(rc, &s), -EIDRM);
	rc->drv->close(rc);
	assert_int_equal(rc->drv->open(rc, err, sizeof err), 0);
	rc->drv->close(rc);
	assert_int_equal(shmctl(id, IPC_RMID, NULL), 0);
}

/*
 * gpsd's root-only unit, missing when a master starts as root: created,
 * 0600 and root's, so that the attachment outlives the switch to another
 * user and gpsd writes into it.  Unit 1, left alone if a gpsd has it.
 */
static void
test_shm_create_private(void **state)
{
	struct nt_refclock_conf c;
	struct nt_refclock_set set;
	struct nt_refclock *rc;
	struct shmid_ds ds;
	char err[NT_RC_ERRLEN];
	int id;

	(void)state;
	if (geteuid() != 0 || shmget((key_t)(NT_SHM_KEY + 1), 0, 0) >= 0)
		skip();
	rc = shm_refclock(&c, &set, 1);
	assert_int_equal(rc->drv->open(rc, err, sizeof err), 0);
	id = shmget((key_t)(NT_SHM_KEY + 1), 0, 0);
	assert_true(id >= 0);
	assert_int_equal(shmctl(id, IPC_STAT, &ds), 0);
	assert_int_equal(ds.shm_perm.uid, 0);
	assert_int_equal(ds.shm_perm.mode & 0777, 0600);
	assert_int_equal(ds.shm_segsz, sizeof(struct nt_shm_time));
	rc->drv->close(rc);
	assert_int_equal(shmctl(id, IPC_RMID, NULL), 0);
}

/* ---- SOCK ---- */

static struct nt_sock_sample
sock_record(double offset, int pulse, int leap)
{
	struct nt_sock_sample s;

	memset(&s, 0, sizeof s);
	s.tv.tv_sec = 1800000000;
	s.tv.tv_usec = 500000;
	s.offset = offset;
	s.pulse = pulse;
	s.leap = leap;
	s.magic = NT_SOCK_MAGIC;
	return (s);
}

static void
test_sock_decode(void **state)
{
	struct nt_sock_sample s = sock_record(0.25, 0, 1), out;
	uint8_t buf[sizeof s + 1];

	(void)state;
	/* The layout chrony documents, on this ABI. */
	assert_int_equal(offsetof(struct nt_sock_sample, offset),
	    sizeof(struct timeval));
	assert_int_equal(offsetof(struct nt_sock_sample, magic),
	    sizeof(struct timeval) + sizeof(double) + 3 * sizeof(int));
	assert_int_equal(nt_sock_decode(&s, sizeof s, &out), NT_SOCK_OK);
	assert_near(out.offset, 0.25, 0);
	assert_int_equal(out.leap, 1);
	memcpy(buf, &s, sizeof s);
	assert_int_equal(nt_sock_decode(buf, sizeof s + 1, &out), NT_SOCK_SIZE);
	assert_int_equal(nt_sock_decode(buf, sizeof s - 1, &out), NT_SOCK_SIZE);
	s.magic = 0x4b434f53;		/* byte-swapped */
	assert_int_equal(nt_sock_decode(&s, sizeof s, &out), NT_SOCK_MAGIC_BAD);
	s = sock_record(NAN, 0, 0);
	assert_int_equal(nt_sock_decode(&s, sizeof s, &out), NT_SOCK_BADTIME);
	s = sock_record(0, 0, 3);
	assert_int_equal(nt_sock_decode(&s, sizeof s, &out), NT_SOCK_LEAP);
	s = sock_record(0, 0, 0);
	s.tv.tv_usec = 1000000;
	assert_int_equal(nt_sock_decode(&s, sizeof s, &out), NT_SOCK_BADTIME);
	/* Found by fuzz_sock: seconds whose nanoseconds overflow. */
	s = sock_record(0, 0, 0);
	s.tv.tv_sec = (time_t)INT64_C(648518348105509824);
	assert_int_equal(nt_sock_decode(&s, sizeof s, &out), NT_SOCK_BADTIME);
	s.tv.tv_sec = -1;
	assert_int_equal(nt_sock_decode(&s, sizeof s, &out), NT_SOCK_BADTIME);
	/* The shared check: a time before 2025, or 512 weeks ahead. */
	s = sock_record(-1.8e9, 0, 0);
	assert_int_equal(nt_sock_decode(&s, sizeof s, &out), NT_SOCK_BADTIME);
	s = sock_record(1e9, 0, 0);
	assert_int_equal(nt_sock_decode(&s, sizeof s, &out), NT_SOCK_BADTIME);
}

static void
sock_send(const char *path, const void *buf, size_t len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	strlcpy(sun.sun_path, path, sizeof sun.sun_path);
	assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&sun,
	    sizeof sun), (ssize_t)len);
	close(fd);
}

static void
test_sock_socket(void **state)
{
	struct nt_refclock_conf c;
	struct nt_refclock_set set;
	struct nt_refclock *rc;
	struct nt_refclock_sample s[4];
	struct nt_sock_sample ss;
	char err[NT_RC_ERRLEN], dir[] = "/tmp/ntimed-sock.XXXXXX", path[128];
	struct stat st;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/chrony.ttyS0.sock", dir);
	nt_refclock_conf_init(&c, nt_refclock_find_driver("sock"));
	c.path = path;
	assert_int_equal(nt_refclock_set_init(&set, &fake_clock, &c, 1, NULL,
	    NULL, err, sizeof err), 0);
	rc = &set.rc[0];
	/* A file that is not a socket is never removed. */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(rc->drv->open(rc, err, sizeof err), -EEXIST);
	assert_int_equal(stat(path, &st), 0);
	unlink(path);
	fd = rc->drv->open(rc, err, sizeof err);
	assert_true(fd > 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(rc->drv->read(rc, s, 4, err, sizeof err), 0);
	/* A sample taken 20 s before now: stale, dropped. */
	fake_now = INT64_C(1800000020) * NT_SEC;
	ss = sock_record(0.125, 0, 0);
	sock_send(path, &ss, sizeof ss);
	assert_int_equal(rc->drv->read(rc, s, 4, err, sizeof err), 0);
	fake_now = INT64_C(1800000001) * NT_SEC;
	/* Time sample, pulse, junk, wrong magic. */
	ss = sock_record(0.125, 0, 0);
	sock_send(path, &ss, sizeof ss);
	ss = sock_record(-0.0004, 1, 0);
	sock_send(path, &ss, sizeof ss);
	sock_send(path, "garbage", 7);
	ss.magic = 1;
	sock_send(path, &ss, sizeof ss);
	assert_int_equal(rc->drv->read(rc, s, 4, err, sizeof err), 2);
	assert_int_equal(s[0].local,
	    INT64_C(1800000000500000000) + 250 * NT_MSEC);
	assert_near(s[0].offset, 0.125 - 0.25, 1e-12);
	assert_false(s[0].pulse);
	assert_true(s[1].pulse);
	assert_near(s[1].offset, -0.0004 - 0.25, 1e-12);
	rc->drv->close(rc);
	assert_int_not_equal(stat(path, &st), 0);	/* removed */
	rmdir(dir);
}

/* ---- NMEA diagnostics, through a FIFO ---- */

/* "$body*CS\r\n", the checksum right or (bad) wrong. */
static void
nmea_line(char *buf, size_t cap, const char *body, bool bad)
{
	unsigned cs = 0;

	for (const char *p = body; *p != '\0'; p++)
		cs ^= (unsigned char)*p;
	snprintf(buf, cap, "$%s*%02X\r\n", body, bad ? cs ^ 0x11 : cs);
}

/* An nmea refclock at baud reading a FIFO; the test writes into fd. */
struct nmea_fifo {
	struct nt_refclock_conf c;
	struct nt_refclock_set set;
	struct nt_refclock *rc;
	char	dir[32], path[128];
	int	fd;
};

static void
nmea_fifo_open(struct nmea_fifo *f, int baud)
{
	char err[NT_RC_ERRLEN];

	strlcpy(f->dir, "/tmp/ntimed-fifo.XXXXXX", sizeof f->dir);
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/gps", f->dir);
	assert_int_equal(mkfifo(f->path, 0600), 0);
	nt_refclock_conf_init(&f->c, nt_refclock_find_driver("nmea"));
	f->c.device = f->path;
	f->c.baud = baud;
	assert_int_equal(nt_refclock_set_init(&f->set, &fake_clock, &f->c, 1,
	    NULL, NULL, err, sizeof err), 0);
	f->rc = &f->set.rc[0];
	assert_true(f->rc->drv->open(f->rc, err, sizeof err) > 0);
	f->fd = open(f->path, O_WRONLY | O_NONBLOCK);
	assert_true(f->fd >= 0);
}

/* Write line, a second passes, read: the samples it gave. */
static int
nmea_fifo_second(struct nmea_fifo *f, const char *line)
{
	struct nt_refclock_sample s[4];
	char err[NT_RC_ERRLEN];
	int n;

	assert_int_equal(write(f->fd, line, strlen(line)),
	    (ssize_t)strlen(line));
	fake_now += NT_SEC;
	n = f->rc->drv->read(f->rc, s, 4, err, sizeof err);
	assert_true(n >= 0);
	return (n);
}

static void
nmea_fifo_close(struct nmea_fifo *f)
{
	close(f->fd);
	f->rc->drv->close(f->rc);
	unlink(f->path);
	rmdir(f->dir);
}

/* Lines of body for 11 s into a FIFO read by an nmea refclock at baud. */
static void
nmea_fifo_run(const char *body, bool bad, int baud)
{
	struct nmea_fifo f;
	char line[128];

	fake_now = INT64_C(1800000000) * NT_SEC;
	nmea_fifo_open(&f, baud);
	nmea_line(line, sizeof line, body, bad);
	for (int i = 0; i < 12; i++)
		assert_int_equal(nmea_fifo_second(&f, line), 0);
	nmea_fifo_close(&f);
}

/* GGA only, each second's, for 8 s from fake_now: the samples. */
static int
nmea_gga_only(void)
{
	struct nmea_fifo f;
	char body[96], line[128];
	int n = 0;

	nmea_fifo_open(&f, 0);
	for (int i = 0; i < 8; i++) {
		int64_t tod = fake_now / NT_SEC % 86400;

		snprintf(body, sizeof body, "GPGGA,%02d%02d%02d.00,4807.038,N,"
		    "01131.000,E,1,08,0.9,545.4,M,46.9,M,,", (int)(tod / 3600),
		    (int)(tod / 60 % 60), (int)(tod % 60));
		nmea_line(line, sizeof line, body, false);
		n += nmea_fifo_second(&f, line);
	}
	nmea_fifo_close(&f);
	return (n);
}

/*
 * A fix that comes and goes every second was logged twice every two
 * seconds, forever: now 10 lines, then one saying the rest of the 10
 * minutes go to the debug log.
 */
static void
test_nmea_flapping(void **state)
{
	struct nmea_fifo f;
	char body[96], line[128];
	int n = 0;

	(void)state;
	log_reset_at(NT_LOG_NOTICE);
	fake_now = INT64_C(1800000000) * NT_SEC;
	nmea_fifo_open(&f, 0);
	for (int i = 0; i < 120; i++) {
		int64_t tod = fake_now / NT_SEC % 86400;

		snprintf(body, sizeof body, "GPRMC,%02d%02d%02d.00,%c,,,,,,,"
		    "150127,,", (int)(tod / 3600), (int)(tod / 60 % 60),
		    (int)(tod % 60), i % 2 == 0 ? 'A' : 'V');
		nmea_line(line, sizeof line, body, false);
		n += nmea_fifo_second(&f, line);
	}
	nmea_fifo_close(&f);
	assert_true(n > 40);	/* every second with a fix was used */
	assert_true(n_logged <= 14);
	assert_non_null(strstr(logged, "10 changes of the receiver's state in "
	    "10 s: the next ones in that time are logged at debug level "
	    "only"));
	nt_log_set_sink(NULL, NULL);
}

/*
 * A receiver without a date (GGA only) leaves the day to our clock: said
 * once; and on a clock that was never set (1970, before the 2025 floor)
 * it was served as 2025-01-01 at stratum 1: now not used, and said.
 */
static void
test_nmea_no_date(void **state)
{
	(void)state;
	log_reset_at(NT_LOG_NOTICE);
	fake_now = INT64_C(1800000000) * NT_SEC;
	assert_true(nmea_gga_only() > 0);
	assert_non_null(strstr(logged, "receiver sends no date (no RMC or "
	    "ZDA with one): the day is taken from our clock"));
	log_reset();
	fake_now = INT64_C(1000) * NT_SEC;	/* no RTC: 1970 */
	assert_int_equal(nmea_gga_only(), 0);
	assert_non_null(strstr(logged, "our clock is before 2025, not set: "
	    "the day is unknown; not used until the clock is set"));
	nt_log_set_sink(NULL, NULL);
}

/*
 * A field error names the field and its value; the line speed is blamed
 * only when framing or checksums fail, and 'baud: 0' is not "now 0".
 */
static void
test_nmea_diagnostics(void **state)
{
	(void)state;
	log_reset();
	nmea_fifo_run("GPRMC,120000.00,A,4807.038,N,01131.000,E,022.4,084.4,"
	    "310226,003.1,W,A", false, 0);
	assert_non_null(strstr(logged, "bad sentence 'GPRMC': invalid date "
	    "'310226' (field 9) (1 so far), skipped"));
	assert_non_null(strstr(logged, "well framed, with valid checksums"));
	assert_null(strstr(logged, "baud"));
	log_reset();
	nmea_fifo_run("GPRMC,256161.00,A,,,,,,,011126,,", false, 9600);
	assert_non_null(strstr(logged, "invalid time '256161.00' (field 1)"));
	log_reset();
	nmea_fifo_run("GPZDA,120000,31,02,2026,,", false, 9600);
	assert_non_null(strstr(logged, "invalid date '31,02,2026' (field 3)"));
	log_reset();
	nmea_fifo_run("GPRMC,120000.00,A,,,,,,,011126,,", true, 0);
	assert_non_null(strstr(logged, "checksum mismatch"));
	assert_non_null(strstr(logged, "('baud: 0' leaves it as it is: set "
	    "'baud')"));
	assert_null(strstr(logged, "now 0"));
	log_reset();
	nmea_fifo_run("GPRMC,120000.00,A,,,,,,,011126,,", true, 4800);
	assert_non_null(strstr(logged, "wrong 'baud' (now 4800)?"));
	nt_log_set_sink(NULL, NULL);
}

/*
 * Paths that open but can never be read as a stream get their true
 * reason (it was "operation not permitted: not a device, pipe or
 * socket" for /dev/null, a character device, and for a directory).
 */
static void
test_unwatchable(void **state)
{
	char buf[NT_RC_ERRLEN];
	int fd;

	(void)state;
	fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	nt_refclock_unwatchable(fd, "operation not permitted", buf, sizeof buf);
	assert_non_null(strstr(buf, "it is a character device (1:3) that "
	    "cannot be watched for input (operation not permitted)"));
	assert_non_null(strstr(buf, "/dev/null and the like never send"));
	close(fd);
	fd = open("/tmp", O_RDONLY);
	assert_true(fd >= 0);
	nt_refclock_unwatchable(fd, "operation not permitted", buf, sizeof buf);
	assert_string_equal(buf, "it is a directory, not a device");
	close(fd);
	fd = open("/proc/self/status", O_RDONLY);
	assert_true(fd >= 0);
	nt_refclock_unwatchable(fd, "operation not permitted", buf, sizeof buf);
	assert_non_null(strstr(buf, "is a regular file"));
	close(fd);
}

/* ---- PHC, PPS, local ---- */

static void
test_phc_best(void **state)
{
	nt_time ts[4][3] = {
		{ 1000, 5000 + 1500, 2000 },		/* window 1000 */
		{ 3000, 5000 + 3200, 3400 },		/* window 400: best */
		{ 4000, 0, 3900 },			/* negative: stepped */
		{ 5000, 5000 + 5500, 5600 },		/* window 600 */
	};
	nt_time mid;
	double off, win;

	(void)state;
	assert_int_equal(nt_phc_best((const nt_time (*)[3])ts, 4, &mid, &off,
	    &win), 1);
	assert_int_equal(mid, 3200);
	assert_near(off, 5000e-9, 1e-15);
	assert_near(win, 400e-9, 1e-15);
	assert_int_equal(nt_phc_best((const nt_time (*)[3])&ts[2], 1, &mid,
	    &off, &win), -1);
	/* PRECISE: a zero window. */
	ts[0][0] = ts[0][2] = 7;
	ts[0][1] = 9;
	assert_int_equal(nt_phc_best((const nt_time (*)[3])ts, 1, &mid, &off,
	    &win), 0);
	assert_int_equal(mid, 7);
	assert_near(win, 0, 0);
}

/* Open a device driver on path when it exists; read a few samples. */
static void
device_driver(const char *driver, const char *path)
{
	struct nt_refclock_conf c;
	struct nt_refclock_set set;
	struct nt_refclock *rc;
	struct nt_refclock_sample s;
	char err[NT_RC_ERRLEN];
	int n = 0;

	if (access(path, F_OK) != 0) {
		print_message("no %s here: skipped\n", path);
		skip();
	}
	nt_refclock_conf_init(&c, nt_refclock_find_driver(driver));
	c.device = (char *)path;
	assert_int_equal(nt_refclock_set_init(&set, nt_clock_dry(), &c, 1, NULL,
	    NULL, err, sizeof err), 0);
	rc = &set.rc[0];
	if (rc->drv->open(rc, err, sizeof err) < 0) {
		print_error("%s\n", err);
		fail();
	}
	for (int i = 0; i < 30 && n == 0; i++) {
		n = rc->drv->read(rc, &s, 1, err, sizeof err);
		assert_true(n >= 0);
		usleep(100000);
	}
	rc->drv->close(rc);
	assert_int_equal(n, 1);
	assert_true(isfinite(s.offset));
}

static void
test_phc_device(void **state)
{
	(void)state;
	device_driver("phc", "/dev/ptp0");
}

static void
test_pps_device(void **state)
{
	(void)state;
	device_driver("pps", "/dev/pps0");
}

static void
test_local(void **state)
{
	struct nt_refclock_conf c;
	struct nt_refclock_set set;
	struct nt_refclock *rc;
	struct nt_refclock_sample s;
	char err[NT_RC_ERRLEN];

	(void)state;
	nt_refclock_conf_init(&c, nt_refclock_find_driver("local"));
	assert_int_equal(nt_refclock_set_init(&set, &fake_clock, &c, 1, NULL,
	    NULL, err, sizeof err), 0);
	rc = &set.rc[0];
	fake_now = 12345 * NT_SEC;
	assert_int_equal(rc->drv->open(rc, err, sizeof err), 0);
	assert_int_equal(rc->drv->read(rc, &s, 1, err, sizeof err), 1);
	assert_int_equal(s.local, 12345 * NT_SEC);
	assert_near(s.offset, 0, 0);
	rc->drv->close(rc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_full),
		cmocka_unit_test(test_conf_print),
		cmocka_unit_test(test_conf_errors),
		cmocka_unit_test(test_driver_table),
		cmocka_unit_test(test_pps_label),
		cmocka_unit_test(test_pps_late_only),
		cmocka_unit_test(test_set_pairing),
		cmocka_unit_test(test_set_unpaired),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_filter_sd),
		cmocka_unit_test(test_shm_decode),
		cmocka_unit_test(test_check_time),
		cmocka_unit_test(test_shm_perm),
		cmocka_unit_test(test_shm_segment),
		cmocka_unit_test(test_shm_bad_records),
		cmocka_unit_test(test_shm_create_private),
		cmocka_unit_test(test_sock_decode),
		cmocka_unit_test(test_sock_socket),
		cmocka_unit_test(test_nmea_diagnostics),
		cmocka_unit_test(test_nmea_no_date),
		cmocka_unit_test(test_nmea_flapping),
		cmocka_unit_test(test_unwatchable),
		cmocka_unit_test(test_phc_best),
		cmocka_unit_test(test_phc_device),
		cmocka_unit_test(test_pps_device),
		cmocka_unit_test(test_local),
	};

	nt_log_setup(NT_LOG_STDERR, NT_LOG_DEBUG, "test_refclock");
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
