/*
 * Scenario files: every shipped one loads, defaults and units come out
 * right, client: is the real config, and each kind of mistake is one
 * line naming FILE:LINE:COLUMN.
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "simscen.h"

static int
load(struct nt_sim_scenario *sc, const char *text, char *err, size_t len)
{
	nt_sim_scenario_init(sc);
	return (nt_sim_scenario_load_buf(sc, "t.yaml", text, strlen(text), err,
	    len));
}

/* text must fail with a message starting with want. */
static void
bad(const char *text, const char *want)
{
	struct nt_sim_scenario sc;
	char err[NT_CONF_ERRLEN];

	assert_int_equal(load(&sc, text, err, sizeof err), -1);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("got \"%s\", want \"%s...\"", err, want);
	assert_null(strchr(err, '\n'));
	nt_sim_scenario_free(&sc);
}

static void
shipped_scenarios_load(void **state)
{
	const char *src = getenv("NTIMED_SRCDIR");
	char dir[512], path[1024], err[NT_CONF_ERRLEN];
	struct dirent *de;
	int n = 0;
	DIR *d;

	(void)state;
	snprintf(dir, sizeof dir, "%s/conf/sim", src != NULL ? src : "..");
	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		struct nt_sim_scenario sc;

		if (strstr(de->d_name, ".yaml") == NULL)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		nt_sim_scenario_init(&sc);
		if (nt_sim_scenario_load(&sc, path, err, sizeof err) != 0)
			fail_msg("%s", err);
		assert_true(sc.n_servers + sc.n_refclocks > 0);
		assert_int_equal(sc.client.n_servers, sc.n_servers);
		assert_int_equal(sc.client.n_refclocks, sc.n_refclocks);
		nt_sim_scenario_free(&sc);
		n++;
	}
	closedir(d);
	assert_true(n >= 8);
}

static void
units_defaults_and_client(void **state)
{
	struct nt_sim_scenario sc;
	char err[NT_CONF_ERRLEN];

	(void)state;
	assert_int_equal(load(&sc, "duration: 2h\n"
	    "clock: { offset: -5ms, freq_ppm: 12.5, drift: { freq_ppm: 3 } }\n"
	    "client: { step_threshold: 0.01, servers: [ { address: b, "
	    "minpoll: 4, maxpoll: 4 }, a ] }\n"
	    "servers:\n"
	    "  - { name: a, network: { out: { delay: 100us, jitter: 1e-4, "
	    "dist: uniform }, loss: 0.5 } }\n"
	    "  - { name: b, silent: [ { from: 1h, to: 90min } ] }\n"
	    "expect: { rms: 15us, steps: { min: 1, max: 1 } }\n",
	    err, sizeof err), 0);
	assert_string_equal(sc.name, "t");
	assert_true(sc.duration == 7200 && sc.settle == 1000);
	assert_true(sc.clock.offset == -5e-3 && sc.clock.freq_ppm == 12.5);
	assert_true(sc.have_drift && sc.drift_ppm == 3);
	assert_true(sc.client.step_threshold == 0.01);
	/* client.servers[i] is simulated by servers[sim_of[i]]. */
	assert_int_equal(sc.sim_of[0], 1);
	assert_int_equal(sc.sim_of[1], 0);
	assert_int_equal(sc.client.servers[0].minpoll, 4);
	assert_true(fabs(sc.servers[0].net.out.delay - 100e-6) < 1e-15);
	assert_int_equal(sc.servers[0].net.out.dist, NT_SIM_UNIFORM);
	assert_true(sc.servers[1].silent[0].to == 5400);
	assert_true(sc.expect[NT_SIM_RMS].max == 15e-6);
	assert_true(isnan(sc.expect[NT_SIM_RMS].min));
	assert_true(sc.expect[NT_SIM_STEPS].min == 1);
	nt_sim_scenario_free(&sc);
}

static void
mistakes_named_where(void **state)
{
	(void)state;
	bad("servers: [ { name: a, network: { out: { delay: 1 furlong } } } ]"
	    "\n", "t.yaml:1:48: 'delay' must be a time");
	bad("servers: [ { name: a } ]\nclient: { servers: [ b ] }\n",
	    "t.yaml:2:22: client.servers[0]: 'b' is not one of the simulated");
	bad("servers: [ { name: a }, { name: b } ]\nclient: { servers: [ a ] }"
	    "\n", "t.yaml:1:25: servers[1]: 'b' is missing from client.serv");
	bad("servers: [ { name: a }, { name: a } ]\n",
	    "t.yaml:1:25: servers[1]: name 'a' is also servers[0]'s");
	bad("duration: 100\nsettle: 200\nservers: [ { name: a } ]\n",
	    "t.yaml:2:9: 'settle' (200 s) must be less than 'duration'");
	bad("servers: [ { name: a } ]\nleap: insert\n",
	    "t.yaml:2:7: a leap second happens at the end of a month");
	bad("servers: [ { name: a } ]\nexpect: { rmss: 1 }\n",
	    "t.yaml:2:11: unknown key 'rmss' in expect");
	bad("servers: [ { name: a } ]\nexpect: { rms: { min: 2, max: 1 } }\n",
	    "t.yaml:2:16: expect.rms: min 2 is above max 1");
	bad("servers: [ { name: a } ]\nexpect: { steps: 1ms }\n",
	    "t.yaml:2:18: 'steps' must be a number");
	bad("servers: [ { name: a } ]\nclient: { pools: [ p.example.org ] }\n",
	    "t.yaml:2:18: client.pools: the simulator has no DNS");
	/* Nor NTS: a source that asks for it is not what is simulated. */
	bad("servers: [ { name: a } ]\nclient: { servers: [ { address: a, "
	    "nts: true } ] }\n", "t.yaml:2:22: client.servers[0]: the "
	    "simulator has no NTS, its servers answer plain NTP (leave out "
	    "'nts')");
	bad("servers: [ { name: a } ]\nstart: 2026-02-30T00:00:00Z\n",
	    "t.yaml:2:8: 'start' must be a UTC time");
	bad("servers: [ { name: a } ]\nstart: 1970-01-01T00:00:00Z\n",
	    "t.yaml:2:8: 'start' must be a UTC time like "
	    "2026-01-01T00:00:00Z, in 1972 to 2200, got "
	    "'1970-01-01T00:00:00Z'");
	bad("name: x\n", "t.yaml:1:1: no servers");
	bad("servers: [ { name: a, silent: [ { from: 2h, to: 1h } ] } ]\n",
	    "t.yaml:1:33: servers[0].silent[0]: 'from' (7200 s) must come");
	/* A KoD spell too: one that ends before it starts never is. */
	bad("servers: [ { name: a, kod: { interval: 64, from: 2h, to: 1h } } "
	    "]\n", "t.yaml:1:28: servers[0].kod: 'from' (7200 s) must come "
	    "before 'to' (3600 s)");
	/*
	 * Routes add up from their times on; one that would take a base
	 * delay below 0 (cut to 0 when run) is refused, whatever the order.
	 */
	bad("servers:\n  - name: a\n    network:\n      out: { delay: 1ms }\n"
	    "      routes: [ { at: 50, out: 2ms }, { at: 60, in: 1ms },\n"
	    "        { at: 10, out: -1ms }, { at: 70, out: -2.5ms } ]\n",
	    "t.yaml:6:32: servers[0].network.routes[3]: the outbound base "
	    "delay would be -0.0005 s from 70 s on (routes add to the path's "
	    "'delay')");
	/* An empty value for a mapping with required keys: named there. */
	bad("servers:\n  - name: a\n    step: ~\n",
	    "t.yaml:3:11: missing required key 'at' in servers[0].step");
	bad("servers:\n  - name: a\n    silent: [ ~ ]\n",
	    "t.yaml:3:15: missing required key 'from' in servers[0].silent[0]");
	/* A tick that samples nothing after settle would give no figures. */
	bad("servers: [ { name: a } ]\nduration: 100\ntick: 1h\n",
	    "t.yaml:3:7: 'tick' (3600 s) is too long: no tick falls between "
	    "'settle' (50 s) and the end of the run (100 s), so there would be "
	    "no statistics");
	bad("servers: [ { name: a } ]\nclient: { step_thresold: 1 }\n",
	    "t.yaml:2:11: unknown key 'step_thresold' in client");
	bad("servers: [ { name: a, offset: \"1\" } ]\n",
	    "t.yaml:1:31: 'offset' must be a time");
	bad("servers: [ { name: a, stratum: 16 } ]\n",
	    "t.yaml:1:32: 'stratum' out of range");
	bad("servers: &x [ { name: a } ]\n",
	    "t.yaml:1:10: anchors and aliases are not supported");
}

/*
 * -D: the checks against the duration use the run's, not the file's (a
 * leap beyond the file's 2 h loads for a month's run), and the
 * events a shorter run ends before are counted, the earliest named.
 */
static void
duration_override(void **state)
{
	const char *text = "start: 2026-01-01T00:00:00Z\nleap: insert\n"
	    "duration: 2h\nsettle: 100\n"
	    "servers:\n  - { name: a, step: { at: 1h, size: 1ms },\n"
	    "      silent: [ { from: 3h, to: 4h } ],\n"
	    "      network: { routes: [ { at: 30d, out: 1ms, in: 1ms } ] } }\n"
	    "  - { name: b, kod: { interval: 100, from: 1h, to: 5h } }\n";
	const char *short_run = "duration: 100\nsettle: 200\n"
	    "servers: [ { name: a } ]\n";
	struct nt_sim_scenario sc;
	char err[NT_CONF_ERRLEN], first[128];

	(void)state;
	bad(text, "t.yaml:2:7: a leap second happens at the end of a month");
	nt_sim_scenario_init(&sc);
	sc.run_duration = 31 * 86400.0;
	assert_int_equal(nt_sim_scenario_load_buf(&sc, "t.yaml", text,
	    strlen(text), err, sizeof err), 0);
	assert_true(sc.run_duration == 31 * 86400.0 && sc.duration == 7200);
	/* The leap is at 2678400 s (31 d), the new route at 30 d. */
	assert_int_equal(nt_sim_scenario_cut(&sc, 32 * 86400.0, first,
	    sizeof first), 0);
	assert_string_equal(first, "");
	assert_int_equal(nt_sim_scenario_cut(&sc, 30 * 86400.0, first,
	    sizeof first), 2);
	assert_string_equal(first, "server 'a' takes a new route at "
	    "2592000 s");
	assert_int_equal(nt_sim_scenario_cut(&sc, 10000, first,
	    sizeof first), 5);
	assert_string_equal(first, "server 'a' falls silent at 10800 s");
	assert_int_equal(nt_sim_scenario_cut(&sc, 3000, first,
	    sizeof first), 7);
	assert_string_equal(first, "server 'a' steps at 3600 s");
	nt_sim_scenario_free(&sc);
	/* The settling time too is the caller's to check against -D. */
	nt_sim_scenario_init(&sc);
	sc.run_duration = 600;
	assert_int_equal(nt_sim_scenario_load_buf(&sc, "t.yaml", short_run,
	    strlen(short_run), err, sizeof err), 0);
	nt_sim_scenario_free(&sc);
}

/*
 * Limits: nothing that cannot be negative takes a negative limit (the
 * table would show it without its sign), a coverage is a fraction, and
 * the mean, which has a sign, keeps it.
 */
static void
limits_in_range(void **state)
{
	struct nt_sim_scenario sc;
	char err[NT_CONF_ERRLEN];

	(void)state;
	bad("servers: [ { name: a } ]\nexpect: { rms: -1 }\n",
	    "t.yaml:2:16: 'rms' out of range: -1 (allowed 0 or more)");
	bad("servers: [ { name: a } ]\nexpect: { rms: { min: -5 } }\n",
	    "t.yaml:2:23: 'rms' out of range: -5 (allowed 0 or more)");
	bad("servers: [ { name: a } ]\nexpect: { steps: { max: -1 } }\n",
	    "t.yaml:2:25: 'steps' out of range: -1");
	bad("servers: [ { name: a } ]\nexpect: { sync_1ms: -2s }\n",
	    "t.yaml:2:21: 'sync_1ms' out of range: -2s");
	bad("servers: [ { name: a } ]\nexpect: { bound_coverage: "
	    "{ min: 1.5 } }\n", "t.yaml:2:34: 'bound_coverage' out of range: "
	    "1.5 (allowed 0..1)");
	/* A limit beyond any number, with a unit too, is none. */
	bad("servers: [ { name: a } ]\nexpect: { rms: 1e305d }\n",
	    "t.yaml:2:16: 'rms' out of range: 1e305d (not a finite number)");
	bad("servers: [ { name: a } ]\nexpect: { mean: { min: -1e400 } }\n",
	    "t.yaml:2:24: 'mean' out of range: -1e400 (not a finite number)");
	bad("servers: [ { name: a } ]\nduration: 1e400\n",
	    "t.yaml:2:11: 'duration' out of range: 1e400 (allowed 1..1e+09 s)");
	/* A limit that limits nothing is a mistake too. */
	bad("servers: [ { name: a } ]\nexpect: { rms: {} }\n",
	    "t.yaml:2:16: expect.rms sets no limit: give min, max or both");
	bad("servers: [ { name: a } ]\nexpect: { rms: { \"min\\0x\": 1 } }\n",
	    "t.yaml:2:18: unknown key 'min\\x00x' (a quoted string) in "
	    "expect.rms (expected min or max)");
	assert_int_equal(load(&sc, "servers: [ { name: a } ]\nexpect: { mean: "
	    "{ min: -5us, max: 5us }, rms: 0, bound_coverage: { min: 1 } }\n",
	    err, sizeof err), 0);
	assert_true(sc.expect[NT_SIM_MEAN].min == -5e-6);
	assert_true(sc.expect[NT_SIM_RMS].max == 0);
	nt_sim_scenario_free(&sc);
}

/* The seed takes what --seed takes: 0..2^53, exactly. */
static void
seed_range(void **state)
{
	struct nt_sim_scenario sc;
	char err[NT_CONF_ERRLEN];

	(void)state;
	assert_int_equal(load(&sc, "servers: [ { name: a } ]\n"
	    "seed: 9007199254740992\n", err, sizeof err), 0);
	assert_true((uint64_t)sc.seed == NT_SIM_SEED_MAX);
	nt_sim_scenario_free(&sc);
	bad("servers: [ { name: a } ]\nseed: 9007199254740993\n",
	    "t.yaml:2:7: 'seed' out of range: 9007199254740993 (allowed "
	    "0..9007199254740992)");
	bad("servers: [ { name: a } ]\nseed: -1\n",
	    "t.yaml:2:7: 'seed' out of range: -1 (allowed 0..");
	bad("servers: [ { name: a } ]\nseed: 1.5\n",
	    "t.yaml:2:7: 'seed' must be an integer, got '1.5'");
	bad("servers: [ { name: a } ]\nseed: 99999999999999999999999\n",
	    "t.yaml:2:7: 'seed' out of range");
}

/* refclocks: the receivers; client.refclocks: the master's own config. */
static void
refclock_models(void **state)
{
	struct nt_sim_scenario sc;
	char err[NT_CONF_ERRLEN];

	(void)state;
	assert_int_equal(load(&sc, "refclocks:\n"
	    "  - { driver: nmea, latency: 200ms, jitter: 5ms, missing: 0.1,\n"
	    "      silent: [ { from: 1h, to: 2h } ] }\n"
	    "  - { name: P1, driver: pps, offset: -50ns }\n"
	    "  - { driver: pps }\n"
	    "client:\n  refclocks:\n"
	    "    - { driver: pps, device: /dev/pps1, refid: PPS }\n"
	    "    - { driver: pps, device: /dev/pps0, refid: P1 }\n"
	    "    - { driver: nmea, device: /dev/ttyS0, pps: P1, offset: 0.2 }\n",
	    err, sizeof err), 0);
	assert_int_equal(sc.n_servers, 0);
	assert_int_equal(sc.n_refclocks, 3);
	/* Defaults by kind; names default to the drivers' refids. */
	assert_string_equal(sc.refclocks[0].name, "GPS");
	assert_int_equal(sc.refclocks[0].kind, NT_SIM_RC_NMEA);
	assert_true(fabs(sc.refclocks[0].latency - 0.2) < 1e-15);
	assert_true(fabs(sc.refclocks[0].jitter - 5e-3) < 1e-15);
	assert_true(sc.refclocks[0].missing == 0.1);
	assert_true(sc.refclocks[0].silent[0].from == 3600);
	assert_int_equal(sc.refclocks[1].kind, NT_SIM_RC_PPS);
	assert_true(fabs(sc.refclocks[1].offset + 50e-9) < 1e-18);
	assert_true(sc.refclocks[1].jitter == 1e-6);
	assert_true(sc.refclocks[1].missing == 0);
	assert_string_equal(sc.refclocks[2].name, "PPS");
	/* client.refclocks[i] is refclocks[rc_of[i]]. */
	assert_int_equal(sc.rc_of[0], 2);
	assert_int_equal(sc.rc_of[1], 1);
	assert_int_equal(sc.rc_of[2], 0);
	assert_string_equal(sc.client.refclocks[2].pps, "P1");
	nt_sim_scenario_free(&sc);
	/* NMEA defaults: 100 ms +- 20 ms, 1 % missing. */
	assert_int_equal(load(&sc, "refclocks: [ { driver: nmea } ]\n"
	    "client: { refclocks: [ { driver: nmea, device: /dev/x } ] }\n"
	    "servers: [ { name: a } ]\n", err, sizeof err), 0);
	assert_true(sc.refclocks[0].latency == 0.1 &&
	    sc.refclocks[0].jitter == 0.02 && sc.refclocks[0].missing == 0.01);
	assert_int_equal(sc.client.n_servers, 1);
	nt_sim_scenario_free(&sc);
	/* gpsd's socket: pulses as pps, its time 100 ms +- 20 ms late. */
	assert_int_equal(load(&sc, "refclocks: [ { driver: sock } ]\n"
	    "client: { refclocks: [ { driver: sock, path: /run/x.sock } ] }\n",
	    err, sizeof err), 0);
	assert_int_equal(sc.refclocks[0].kind, NT_SIM_RC_SOCK);
	assert_string_equal(sc.refclocks[0].name, "SOCK");
	assert_true(sc.refclocks[0].jitter == 1e-6 &&
	    sc.refclocks[0].latency == 0.1 &&
	    sc.refclocks[0].time_jitter == 0.02 &&
	    sc.refclocks[0].missing == 0);
	nt_sim_scenario_free(&sc);
}

static void
refclock_mistakes(void **state)
{
	(void)state;
	bad("refclocks: [ { driver: gps } ]\n",
	    "t.yaml:1:24: 'driver' must be one of: pps, nmea, sock, got "
	    "'gps'");
	bad("refclocks: [ { name: PPS } ]\n",
	    "t.yaml:1:14: missing required key 'driver' in refclocks[0]");
	bad("refclocks: [ { driver: pps, latency: 1ms } ]\n",
	    "t.yaml:1:38: refclocks[0]: 'latency' is a property of nmea");
	bad("refclocks: [ { driver: nmea, latency: 10ms, jitter: 20ms } ]\n",
	    "t.yaml:1:14: refclocks[0]: 'jitter' (0.02 s) must not exceed");
	bad("refclocks: [ { driver: nmea, time_jitter: 1ms } ]\n",
	    "t.yaml:1:43: refclocks[0]: 'time_jitter' is a property of sock");
	bad("refclocks: [ { driver: sock, latency: 10ms } ]\n",
	    "t.yaml:1:14: refclocks[0]: 'time_jitter' (0.02 s) must not "
	    "exceed");
	bad("refclocks: [ { driver: nmea, latency: 1s } ]\n",
	    "t.yaml:1:39: 'latency' out of range");
	bad("refclocks: [ { driver: pps, missing: 2 } ]\n",
	    "t.yaml:1:38: 'missing' out of range");
	bad("refclocks: [ { driver: pps, jitter: fast } ]\n",
	    "t.yaml:1:37: 'jitter' must be a time");
	bad("refclocks: [ { driver: pps, name: TOOLONG } ]\n",
	    "t.yaml:1:35: 'name' is too long");
	bad("refclocks: [ { driver: pps } ]\n",
	    "t.yaml:1:14: refclocks[0]: 'PPS' is missing from client.refclocks");
	bad("refclocks: [ { driver: pps } ]\nclient: { refclocks: [ "
	    "{ driver: pps, device: /dev/x, refid: P2 } ] }\n",
	    "t.yaml:2:24: client.refclocks[0]: refid 'P2' is not one of the "
	    "simulated");
	bad("refclocks: [ { driver: pps, name: GPS } ]\nclient: { refclocks: [ "
	    "{ driver: nmea, device: /dev/x } ] }\n",
	    "t.yaml:2:24: client.refclocks[0]: driver 'nmea', but the "
	    "simulated refclock 'GPS' is pps");
	bad("refclocks: [ { driver: pps } ]\nclient: { refclocks: [ "
	    "{ driver: pps } ] }\n",
	    "t.yaml:2:24: client.refclocks[0]: driver 'pps' needs 'device'");
	bad("refclocks: []\n", "t.yaml:1:1: no servers");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shipped_scenarios_load),
		cmocka_unit_test(units_defaults_and_client),
		cmocka_unit_test(mistakes_named_where),
		cmocka_unit_test(duration_override),
		cmocka_unit_test(limits_in_range),
		cmocka_unit_test(seed_range),
		cmocka_unit_test(refclock_models),
		cmocka_unit_test(refclock_mistakes),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
