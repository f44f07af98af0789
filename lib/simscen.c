/*
 * Scenario files: the schema tables, defaults and cross-checks.  Like the
 * config (conf.c), the tables are the single description of every key;
 * yconf reads, reports and frees from them.  Times accept a unit ("100us",
 * "2h") so a file reads like the network it describes; everything is
 * stored in seconds.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hostport.h"
#include "simscen.h"
#include "yconf.h"

const struct nt_sim_metric_info nt_sim_metric_info[NT_SIM_N_METRICS] = {
#define INFO(id, nm, unit, doc) [NT_SIM_##id] = { nm, unit, doc },
	NT_SIM_METRICS(INFO)
#undef INFO
};

/* ---- Durations: plain seconds, or a number with a unit ---- */

static const struct {
	const char	*name;
	double		mul;
	int		exp10;		/* mul as a power of ten, or 0 */
} units[] = {
	{ "ns", 1e-9, -9 }, { "us", 1e-6, -6 }, { "ms", 1e-3, -3 },
	{ "s", 1.0, 0 }, { "min", 60.0, 0 }, { "h", 3600.0, 0 },
	{ "d", 86400.0, 0 },
};

static int
parse_num(const char *s, bool with_unit, double *v)
{
	char num[64], *end;
	size_t n = strspn(s, "0123456789+-.eE");

	if (n == 0 || n >= sizeof num)
		return (-1);
	memcpy(num, s, n);
	num[n] = '\0';
	/*
	 * 1e400 (or 1e305d) is infinite, for the caller's range check to
	 * refuse; 1e-400 is no number (0 would not be what was meant).
	 */
	errno = 0;
	*v = strtod(num, &end);
	if (*end != '\0' || (errno == ERANGE && isfinite(*v)))
		return (-1);
	if (s[n] == '\0')
		return (0);
	for (size_t i = 0; with_unit && i < sizeof units / sizeof units[0];
	    i++) {
		if (strcmp(s + n, units[i].name) != 0)
			continue;
		/* "15us" reads as 15e-6 exactly, not as 15 * 1e-6. */
		if (units[i].exp10 != 0 && strcspn(num, "eE") == n &&
		    n + 5 < sizeof num) {
			snprintf(num + n, sizeof num - n, "e%d",
			    units[i].exp10);
			*v = strtod(num, NULL);
		} else
			*v *= units[i].mul;
		return (0);
	}
	return (-1);
}

int
nt_sim_parse_time(const char *s, double *v)
{
	return (parse_num(s, true, v));
}

static int
number_value(struct nt_yconf_walk *w, const struct nt_yconf_node *n,
    const char *label, bool with_unit, double *v)
{
	char got[128];

	if (n->kind == NT_YCONF_SCALAR && !n->quoted && n->len > 0 &&
	    strlen(n->str) == n->len && parse_num(n->str, with_unit, v) == 0)
		return (0);
	return (nt_yconf_error(w, n, "'%s' must be %s, got %s", label,
	    with_unit ? "a time (seconds, or a number with ns, us, ms, s, "
	    "min, h or d)" : "a number", nt_yconf_describe(n, got,
	    sizeof got)));
}

static int
walk_dur(struct nt_yconf_walk *w, const struct nt_yconf_key *k,
    const struct nt_yconf_node *n, void *target, const char *label)
{
	double v = 0;

	assert(k->size == sizeof(double));
	if (number_value(w, n, label, true, &v))
		return (-1);
	if (v < k->min || v > k->max)
		return (nt_yconf_error(w, n, "'%s' out of range: %s (allowed "
		    "%g..%g s)", label, n->str, k->min, k->max));
	memcpy(target, &v, sizeof v);
	return (0);
}

#define DUR(n, T, f, lo, hi, d) \
	{ .name = (n), .type = NT_YCONF_T_CUSTOM, NT_YCONF_FIELD_(T, f), \
	  .min = (lo), .max = (hi), .custom = walk_dur, .doc = (d) }
#define MAXT NT_SIM_DURATION_MAX	/* s: no scenario runs for 30 years */

/* ---- Network ---- */

static const char * const dist_names[] = {
	[NT_SIM_EXPONENTIAL] = "exponential",
	[NT_SIM_NORMAL] = "normal",
	[NT_SIM_UNIFORM] = "uniform",
	NULL,
};

static const struct nt_yconf_key path_keys[] = {
	DUR("delay", struct nt_sim_path, delay, 0, 100,
	    "base one-way delay"),
	DUR("jitter", struct nt_sim_path, jitter, 0, 100,
	    "mean extra delay above the base"),
	NT_YCONF_ENUM("dist", struct nt_sim_path, dist, dist_names,
	    "shape of the extra delay, default exponential"),
	NT_YCONF_DOUBLE("spike_prob", struct nt_sim_path, spike_prob, 0, 1,
	    "probability that a packet meets a delay spike"),
	DUR("spike", struct nt_sim_path, spike, 0, 100,
	    "mean extra delay of a spike (exponential)"),
};
static const struct nt_yconf_schema path_schema =
    NT_YCONF_SCHEMA(path_keys, NULL, NULL);

static const struct nt_yconf_key route_keys[] = {
	{ .name = "at", .type = NT_YCONF_T_CUSTOM, .flags = NT_YCONF_REQUIRED,
	  NT_YCONF_FIELD_(struct nt_sim_route, at), .min = 0, .max = MAXT,
	  .custom = walk_dur, .doc = "time of the change" },
	DUR("out", struct nt_sim_route, out, -100, 100,
	    "added to the outbound base delay"),
	DUR("in", struct nt_sim_route, in, -100, 100,
	    "added to the inbound base delay"),
};
static const struct nt_yconf_schema route_schema =
    NT_YCONF_SCHEMA(route_keys, NULL, NULL);
static const struct nt_yconf_key route_elem = {
	.name = "route", .type = NT_YCONF_T_MAP,
	.size = sizeof(struct nt_sim_route), .sub = &route_schema,
};

static const struct nt_yconf_key net_keys[] = {
	NT_YCONF_MAP("out", offsetof(struct nt_sim_server, net.out),
	    &path_schema, "client to server"),
	NT_YCONF_MAP("in", offsetof(struct nt_sim_server, net.in),
	    &path_schema, "server to client"),
	NT_YCONF_DOUBLE("loss", struct nt_sim_server, net.loss, 0, 1,
	    "probability a packet is lost, each way"),
	NT_YCONF_SEQ("routes", struct nt_sim_server, net.routes,
	    net.n_routes, &route_elem, 0, 64, "base delay changes"),
};
/*
 * The base delay each way from route i's time on: the path's own plus
 * every route in force then (they add up, whatever their order).
 */
static double
route_base(const struct nt_sim_net *net, size_t i, bool out)
{
	double base = out ? net->out.delay : net->in.delay;

	for (size_t j = 0; j < net->n_routes; j++)
		if (net->routes[j].at <= net->routes[i].at)
			base += out ? net->routes[j].out : net->routes[j].in;
	return (base);
}

/* A route that takes a base delay below 0 would be cut to 0 unsaid. */
static int
net_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base)
{
	const struct nt_sim_net *net = &((struct nt_sim_server *)base)->net;
	const struct nt_yconf_node *seq = nt_yconf_map_get(map, "routes"), *n;
	double d;

	n = seq != NULL ? seq->first : NULL;
	/* The file's routes: one node each. */
	for (size_t i = 0; i < net->n_routes && n != NULL; i++, n = n->next) {
		for (int out = 1; out >= 0; out--) {
			/* Sums of decimals: a picosecond is rounding. */
			if ((d = route_base(net, i, out)) >= -1e-12)
				continue;
			return (nt_yconf_error(w, n, "%s.routes[%zu]: the %s base "
			    "delay would be %g s from %g s on (routes add to the "
			    "path's 'delay')", w->path, i, out ? "outbound" :
			    "inbound", d, net->routes[i].at));
		}
	}
	return (0);
}

static const struct nt_yconf_schema net_schema =
    NT_YCONF_SCHEMA(net_keys, NULL, net_check);

/* ---- Servers ---- */

/* A spell from..to must last: one that ends first would never happen. */
static int
spell_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    double from, double to)
{
	if (from < to)
		return (0);
	return (nt_yconf_error(w, map, "%s: 'from' (%g s) must come before "
	    "'to' (%g s)", w->path, from, to));
}

static int
window_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base)
{
	const struct nt_sim_window *win = base;

	return (spell_check(w, map, win->from, win->to));
}

static const struct nt_yconf_key window_keys[] = {
	{ .name = "from", .type = NT_YCONF_T_CUSTOM,
	  .flags = NT_YCONF_REQUIRED, NT_YCONF_FIELD_(struct nt_sim_window,
	  from), .min = 0, .max = MAXT, .custom = walk_dur, .doc = "start" },
	{ .name = "to", .type = NT_YCONF_T_CUSTOM,
	  .flags = NT_YCONF_REQUIRED, NT_YCONF_FIELD_(struct nt_sim_window,
	  to), .min = 0, .max = MAXT, .custom = walk_dur, .doc = "end" },
};
static const struct nt_yconf_schema window_schema =
    NT_YCONF_SCHEMA(window_keys, NULL, window_check);
static const struct nt_yconf_key window_elem = {
	.name = "window", .type = NT_YCONF_T_MAP,
	.size = sizeof(struct nt_sim_window), .sub = &window_schema,
};

static const struct nt_yconf_key step_keys[] = {
	{ .name = "at", .type = NT_YCONF_T_CUSTOM, .flags = NT_YCONF_REQUIRED,
	  NT_YCONF_FIELD_(struct nt_sim_server, step.at), .min = 0,
	  .max = MAXT, .custom = walk_dur, .doc = "time of the step" },
	{ .name = "size", .type = NT_YCONF_T_CUSTOM,
	  .flags = NT_YCONF_REQUIRED, NT_YCONF_FIELD_(struct nt_sim_server,
	  step.size), .min = -1e6, .max = 1e6, .custom = walk_dur,
	  .doc = "seconds added to the server's clock" },
};
static const struct nt_yconf_schema step_schema =
    NT_YCONF_SCHEMA(step_keys, NULL, NULL);

static const struct nt_yconf_key kod_keys[] = {
	{ .name = "interval", .type = NT_YCONF_T_CUSTOM,
	  .flags = NT_YCONF_REQUIRED, NT_YCONF_FIELD_(struct nt_sim_server,
	  kod.interval), .min = 1, .max = 1e6, .custom = walk_dur,
	  .doc = "requests closer than this get KoD RATE" },
	DUR("from", struct nt_sim_server, kod.from, 0, MAXT,
	    "rate limiting starts, default 0"),
	DUR("to", struct nt_sim_server, kod.to, 0, MAXT,
	    "rate limiting ends, default never"),
};
static int
kod_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base)
{
	const struct nt_sim_server *s = base;

	return (map == NULL ? 0 : spell_check(w, map, s->kod.from, s->kod.to));
}

static const struct nt_yconf_schema kod_schema =
    NT_YCONF_SCHEMA(kod_keys, NULL, kod_check);

static const struct nt_yconf_key server_keys[] = {
	NT_YCONF_STRBUF("name", struct nt_sim_server, name, 0,
	    "its address in client.servers, default serverN"),
	NT_YCONF_INT("stratum", struct nt_sim_server, stratum, 1, 15,
	    "advertised stratum, default 1"),
	DUR("root_delay", struct nt_sim_server, root_delay, 0, 16,
	    "advertised root delay"),
	DUR("root_disp", struct nt_sim_server, root_disp, 0, 16,
	    "advertised root dispersion"),
	DUR("processing", struct nt_sim_server, proc, 0, 1,
	    "time between receive and transmit timestamps"),
	DUR("offset", struct nt_sim_server, offset, -1e6, 1e6,
	    "server clock - true time (a falseticker)"),
	NT_YCONF_DOUBLE("freq_ppm", struct nt_sim_server, freq_ppm, -1e5, 1e5,
	    "server clock frequency error (a drifting server)"),
	NT_YCONF_MAP("step", 0, &step_schema, "a step of the server's clock"),
	NT_YCONF_BOOL("leap", struct nt_sim_server, leap,
	    "announce the scenario's leap second, default true"),
	NT_YCONF_SEQ("silent", struct nt_sim_server, silent, n_silent,
	    &window_elem, 0, 64, "times it does not answer"),
	NT_YCONF_MAP("kod", 0, &kod_schema, "answer KoD RATE when polled "
	    "too often"),
	NT_YCONF_MAP("network", 0, &net_schema, "the path to it"),
};

static void
server_init(void *p)
{
	nt_sim_server_init(p);
}

static const struct nt_yconf_schema server_schema =
    NT_YCONF_SCHEMA(server_keys, server_init, NULL);
static const struct nt_yconf_key server_elem = {
	.name = "server", .type = NT_YCONF_T_MAP,
	.size = sizeof(struct nt_sim_server), .sub = &server_schema,
};

/* ---- Reference clocks: what the receivers do ---- */

static const char * const rc_kind_names[] = {
	[NT_SIM_RC_PPS] = "pps",
	[NT_SIM_RC_NMEA] = "nmea",
	[NT_SIM_RC_SOCK] = "sock",
	NULL,
};

/* Unset model parameters take their kind's defaults. */
static void
refclock_defaults(struct nt_sim_refclock *m)
{
	static const char *const names[] = { "PPS", "GPS", "SOCK" };
	bool nmea = m->kind == NT_SIM_RC_NMEA;

	if (isnan(m->jitter))
		m->jitter = nmea ? 20e-3 : 1e-6;
	if (isnan(m->latency))
		m->latency = m->kind == NT_SIM_RC_PPS ? 0 : 100e-3;
	if (isnan(m->time_jitter))
		m->time_jitter = m->kind == NT_SIM_RC_SOCK ? 20e-3 : 0;
	if (isnan(m->missing))
		m->missing = nmea ? 0.01 : 0;
	if (m->name[0] == '\0')
		strlcpy(m->name, names[m->kind], sizeof m->name);
}

static int
refclock_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base)
{
	struct nt_sim_refclock *m = base;
	bool sock = m->kind == NT_SIM_RC_SOCK;
	double spread;

	assert(m->kind >= 0 && m->kind <= NT_SIM_RC_SOCK);
	if (m->kind == NT_SIM_RC_PPS && !isnan(m->latency))
		return (nt_yconf_error(w, nt_yconf_map_get(map, "latency"),
		    "%s: 'latency' is a property of nmea and sock receivers "
		    "(a pulse has 'jitter')", w->path));
	if (!sock && !isnan(m->time_jitter))
		return (nt_yconf_error(w, nt_yconf_map_get(map,
		    "time_jitter"), "%s: 'time_jitter' is a property of sock "
		    "receivers (their time datagrams)", w->path));
	refclock_defaults(m);
	spread = sock ? m->time_jitter : m->jitter;
	if (m->kind != NT_SIM_RC_PPS && spread > m->latency)
		return (nt_yconf_error(w, map, "%s: '%s' (%g s) must not "
		    "exceed 'latency' (%g s): a %s cannot come before its "
		    "second", w->path, sock ? "time_jitter" : "jitter", spread,
		    m->latency, sock ? "time datagram" : "sentence"));
	return (0);
}

static const struct nt_yconf_key refclock_keys[] = {
	{ .name = "driver", .type = NT_YCONF_T_ENUM,
	  .flags = NT_YCONF_REQUIRED, NT_YCONF_FIELD_(struct nt_sim_refclock,
	  kind), .names = rc_kind_names, .doc = "pps, nmea or sock" },
	NT_YCONF_STRBUF("name", struct nt_sim_refclock, name, 0,
	    "its refid in client.refclocks, default PPS, GPS or SOCK"),
	DUR("jitter", struct nt_sim_refclock, jitter, 0, 0.5,
	    "pps, sock: sd of the pulse's timestamp, default 1us; nmea: the "
	    "latency varies by +- this, default 20ms"),
	DUR("latency", struct nt_sim_refclock, latency, 0, 0.99,
	    "nmea: mean delay of a sentence after its second; sock: of the "
	    "time datagram; default 100ms"),
	DUR("time_jitter", struct nt_sim_refclock, time_jitter, 0, 0.5,
	    "sock: the time datagram's latency varies by +- this, default "
	    "20ms"),
	NT_YCONF_DOUBLE("missing", struct nt_sim_refclock, missing, 0, 1,
	    "probability that an event gives no sample, default nmea 0.01, "
	    "else 0"),
	DUR("offset", struct nt_sim_refclock, offset, -0.5, 0.5,
	    "the receiver's time - true time"),
	NT_YCONF_SEQ("silent", struct nt_sim_refclock, silent, n_silent,
	    &window_elem, 0, 64, "times it gives nothing (no fix, unplugged)"),
};

static void
refclock_init(void *p)
{
	struct nt_sim_refclock *m = p;

	memset(m, 0, sizeof *m);
	m->jitter = m->latency = m->time_jitter = m->missing = NAN;
}

static const struct nt_yconf_schema refclock_schema =
    NT_YCONF_SCHEMA(refclock_keys, refclock_init, refclock_check);
static const struct nt_yconf_key refclock_elem = {
	.name = "refclock", .type = NT_YCONF_T_MAP,
	.size = sizeof(struct nt_sim_refclock), .sub = &refclock_schema,
};

/* ---- The client's oscillator and kernel ---- */

#define SC struct nt_sim_scenario
static const struct nt_yconf_key temp_keys[] = {
	NT_YCONF_DOUBLE("amplitude_ppm", SC, clock.temp_ppm, 0, 1000,
	    "amplitude of the frequency swing"),
	DUR("period", SC, clock.temp_period, 1, MAXT, "its period"),
};
static const struct nt_yconf_schema temp_schema =
    NT_YCONF_SCHEMA(temp_keys, NULL, NULL);

static const struct nt_yconf_key kernel_keys[] = {
	NT_YCONF_DOUBLE("max_freq_ppm", SC, clock.max_freq_ppm, 1, 100000,
	    "largest frequency correction, default 100000"),
	NT_YCONF_DOUBLE("slew_rate_ppm", SC, clock.slew_ppm, 1, 100000,
	    "rate of the kernel's own slew, default 500"),
	NT_YCONF_BOOL("step", SC, clock.can_step,
	    "the kernel lets us step, default true"),
};
static const struct nt_yconf_schema kernel_schema =
    NT_YCONF_SCHEMA(kernel_keys, NULL, NULL);

static const struct nt_yconf_key drift_keys[] = {
	NT_YCONF_DOUBLE("freq_ppm", SC, drift_ppm, -1e5, 1e5,
	    "frequency in the drift file"),
	NT_YCONF_DOUBLE("skew_ppm", SC, drift_skew_ppm, 0, 1e5,
	    "its uncertainty"),
};
static const struct nt_yconf_schema drift_schema =
    NT_YCONF_SCHEMA(drift_keys, NULL, NULL);

static int
clock_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base)
{
	SC *sc = base;

	(void)w;
	sc->have_drift = nt_yconf_map_get(map, "drift") != NULL;
	return (0);
}

static const struct nt_yconf_key clock_keys[] = {
	DUR("offset", SC, clock.offset, -1e6, 1e6,
	    "initial clock - true time"),
	NT_YCONF_DOUBLE("freq_ppm", SC, clock.freq_ppm, -1e5, 1e5,
	    "initial frequency error of the oscillator"),
	NT_YCONF_DOUBLE("wander", SC, clock.wander, 0, 1e-3,
	    "frequency random walk, (s/s)/sqrt(s)"),
	NT_YCONF_MAP("temperature", 0, &temp_schema,
	    "a sinusoidal frequency term"),
	NT_YCONF_MAP("kernel", 0, &kernel_schema, "what the kernel allows"),
	NT_YCONF_MAP("drift", 0, &drift_schema,
	    "start from a drift file with this frequency"),
};
static const struct nt_yconf_schema clock_schema =
    NT_YCONF_SCHEMA(clock_keys, NULL, clock_check);

/* ---- expect: one limit per metric ---- */

static int
walk_limit(struct nt_yconf_walk *w, const struct nt_yconf_key *k,
    const struct nt_yconf_node *n, void *target, const char *label);

static const struct nt_yconf_key expect_keys[] = {
#define LIMIT_KEY(id, nm, unit, d) \
	{ .name = (nm), .type = NT_YCONF_T_CUSTOM, \
	  .offset = offsetof(SC, expect[NT_SIM_##id]), \
	  .size = sizeof(struct nt_sim_limit), .custom = walk_limit, \
	  .doc = (d) },
	NT_SIM_METRICS(LIMIT_KEY)
#undef LIMIT_KEY
};
static const struct nt_yconf_schema expect_schema =
    NT_YCONF_SCHEMA(expect_keys, NULL, NULL);

/*
 * What a limit on metric m may be: only the mean error has a sign, and a
 * coverage is a fraction.  A negative limit on a size or a count (which
 * the table would show without its sign) is a mistake, not a wish.
 */
static int
limit_range(struct nt_yconf_walk *w, const struct nt_yconf_node *n, int m,
    const char *label, double v)
{
	double lo = m == NT_SIM_MEAN ? -INFINITY : 0;
	double hi = m == NT_SIM_BOUND_COVERAGE || m == NT_SIM_WORST_COVERAGE ?
	    1 : INFINITY;

	assert(m >= 0 && m < NT_SIM_N_METRICS);
	if (isfinite(v) && v >= lo && v <= hi)
		return (0);
	if (!isfinite(v))
		return (nt_yconf_error(w, n, "'%s' out of range: %s (not a "
		    "finite number)", label, n->str));
	if (isinf(hi))
		return (nt_yconf_error(w, n, "'%s' out of range: %s (allowed "
		    "0 or more)", label, n->str));
	return (nt_yconf_error(w, n, "'%s' out of range: %s (allowed "
	    "%g..%g)", label, n->str, lo, hi));
}

/* One bound of a limit, number and range checked. */
static int
limit_value(struct nt_yconf_walk *w, const struct nt_yconf_node *n, int m,
    const char *label, bool unit, double *v)
{
	if (number_value(w, n, label, unit, v))
		return (-1);
	return (limit_range(w, n, m, label, *v));
}

/* "rms: 15us" is a maximum; "steps: { min: 1, max: 1 }" both. */
static int
walk_limit(struct nt_yconf_walk *w, const struct nt_yconf_key *k,
    const struct nt_yconf_node *n, void *target, const char *label)
{
	struct nt_sim_limit *l = target;
	int m = (int)(k - expect_keys);
	bool unit = strcmp(nt_sim_metric_info[m].unit, "s") == 0;
	const struct nt_yconf_node *key, *v;
	char got[128];

	assert(k >= expect_keys && k < expect_keys + NT_SIM_N_METRICS);
	if (n->kind == NT_YCONF_SCALAR)
		return (limit_value(w, n, m, label, unit, &l->max));
	if (n->kind != NT_YCONF_MAP)
		return (nt_yconf_error(w, n, "'%s' must be a maximum or a "
		    "mapping with min and/or max, got %s", label,
		    nt_yconf_describe(n, got, sizeof got)));
	for (key = n->first; key != NULL; key = v->next) {
		/* The length too: "min\0x" is not min. */
		bool is_min = key->len == 3 && strcmp(key->str, "min") == 0;

		v = key->next;
		if (!is_min && (key->len != 3 || strcmp(key->str, "max") != 0))
			return (nt_yconf_error(w, key, "unknown key %s in "
			    "expect.%s (expected min or max)",
			    nt_yconf_describe(key, got, sizeof got), label));
		if (!isnan(is_min ? l->min : l->max))
			return (nt_yconf_error(w, key, "duplicate key '%s' in "
			    "expect.%s", key->str, label));
		if (limit_value(w, v, m, label, unit, is_min ? &l->min :
		    &l->max))
			return (-1);
	}
	if (l->min > l->max)
		return (nt_yconf_error(w, n, "expect.%s: min %g is above "
		    "max %g", label, l->min, l->max));
	if (isnan(l->min) && isnan(l->max))
		return (nt_yconf_error(w, n, "expect.%s sets no limit: give "
		    "min, max or both", label));
	return (0);
}

/* ---- The whole file ---- */

/*
 * The seed takes the range --seed takes, exactly: digits, 0..2^53 (a
 * double would let 2^53 + 1 pass as 2^53).
 */
static int
walk_seed(struct nt_yconf_walk *w, const struct nt_yconf_key *k,
    const struct nt_yconf_node *n, void *target, const char *label)
{
	char got[128];
	const char *digits;
	uint64_t v;
	int64_t s;

	assert(k->size == sizeof(int64_t));
	if (n->kind != NT_YCONF_SCALAR || n->quoted || n->len == 0 ||
	    strlen(n->str) != n->len)
		return (nt_yconf_error(w, n, "'%s' must be an integer, got %s",
		    label, nt_yconf_describe(n, got, sizeof got)));
	digits = n->str + (n->str[0] == '-' || n->str[0] == '+');
	if (*digits == '\0' || digits[strspn(digits, "0123456789")] != '\0')
		return (nt_yconf_error(w, n, "'%s' must be an integer, got %s",
		    label, nt_yconf_describe(n, got, sizeof got)));
	errno = 0;
	v = strtoull(digits, NULL, 10);
	if (errno != 0 || v > NT_SIM_SEED_MAX || (n->str[0] == '-' && v > 0))
		return (nt_yconf_error(w, n, "'%s' out of range: %s (allowed "
		    "0..%" PRIu64 ")", label, n->str, NT_SIM_SEED_MAX));
	s = (int64_t)v;
	memcpy(target, &s, sizeof s);
	return (0);
}

static int scen_check(struct nt_yconf_walk *w,
    const struct nt_yconf_node *map, void *base);
static int walk_client(struct nt_yconf_walk *w, const struct nt_yconf_key *k,
    const struct nt_yconf_node *n, void *target, const char *label);

static const char * const leap_names[] = {
	[NT_SIM_LEAP_NONE] = "none",
	[NT_SIM_LEAP_INSERT] = "insert",
	[NT_SIM_LEAP_DELETE] = "delete",
	NULL,
};

static const struct nt_yconf_key scen_keys[] = {
	NT_YCONF_STRING("name", SC, name, 0, "default: the file name"),
	NT_YCONF_STRING("description", SC, description, 0, "one line"),
	DUR("duration", SC, duration, NT_SIM_DURATION_MIN, MAXT,
	    "simulated time, default 10000 s"),
	DUR("settle", SC, settle, 0, MAXT, "statistics after convergence "
	    "from this time on, default min(1000 s, duration / 2)"),
	DUR("tick", SC, tick, 0.001, 3600, "statistics sample interval, "
	    "default 1 s"),
	{ .name = "seed", .type = NT_YCONF_T_CUSTOM, NT_YCONF_FIELD_(SC,
	  seed), .custom = walk_seed, .doc = "random seed 0..2^53, "
	  "default 1" },
	NT_YCONF_STRBUF("start", SC, start_str, 0, "UTC start, default "
	    "2026-01-01T00:00:00Z"),
	NT_YCONF_ENUM("leap", SC, leap, leap_names, "a leap second at the "
	    "end of the month (midnight UTC)"),
	NT_YCONF_MAP("clock", 0, &clock_schema, "the client's oscillator"),
	NT_YCONF_SEQ("servers", SC, servers, n_servers, &server_elem, 0,
	    NT_SIM_MAX_SERVERS, "the simulated servers"),
	NT_YCONF_SEQ("refclocks", SC, refclocks, n_refclocks, &refclock_elem,
	    0, NT_SIM_MAX_REFCLOCKS, "the simulated reference clocks"),
	{ .name = "client", .type = NT_YCONF_T_CUSTOM,
	  .offset = offsetof(SC, client), .size = sizeof(struct nt_conf),
	  .custom = walk_client, .doc = "the client's configuration" },
	NT_YCONF_MAP("expect", 0, &expect_schema, "limits the run must meet"),
};
static const struct nt_yconf_schema scen_schema =
    NT_YCONF_SCHEMA(scen_keys, NULL, scen_check);
#undef SC

/* The client: section is literally the daemon's configuration. */
static int
walk_client(struct nt_yconf_walk *w, const struct nt_yconf_key *k,
    const struct nt_yconf_node *n, void *target, const char *label)
{
	char saved[NT_YCONF_PATHLEN], got[128];
	int rc;

	(void)k;
	if (nt_yconf_is_null(n))
		return (0);
	if (n->kind != NT_YCONF_MAP)
		return (nt_yconf_error(w, n, "'%s' must be a mapping, got %s",
		    label, nt_yconf_describe(n, got, sizeof got)));
	strlcpy(saved, w->path, sizeof saved);
	strlcpy(w->path, "client", sizeof w->path);
	rc = nt_yconf_walk_map(w, n, nt_conf_schema, target);
	strlcpy(w->path, saved, sizeof w->path);
	return (rc);
}

/* ---- Cross-checks, shared by files and scenarios built in code ---- */

static const struct nt_yconf_node *
seq_item(const struct nt_yconf_node *seq, size_t i)
{
	const struct nt_yconf_node *n;

	if (seq == NULL || seq->kind != NT_YCONF_SEQ)
		return (seq);
	for (n = seq->first; n != NULL && i > 0; n = n->next)
		i--;
	return (n != NULL ? n : seq);
}

static int
parse_utc(const char *s, nt_time *t)
{
	struct tm tm, back;
	const char *end;
	time_t tt;

	memset(&tm, 0, sizeof tm);
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return (-1);
	back = tm;
	tt = timegm(&tm);
	/* timegm() normalises "02-30"; only real dates read back the same. */
	if (back.tm_year < 72 || back.tm_year > 300 ||
	    gmtime_r(&tt, &tm) == NULL || tm.tm_mon != back.tm_mon ||
	    tm.tm_mday != back.tm_mday || tm.tm_hour != back.tm_hour ||
	    tm.tm_min != back.tm_min || tm.tm_sec != back.tm_sec)
		return (-1);
	*t = (nt_time)tt * NT_SEC;
	return (0);
}

/*
 * Where an error is: servers[i] ('s'), client.servers[i] ('c'),
 * client.pools ('p'), refclocks[i] ('r'), client.refclocks[i] ('k'), or
 * the top-level key `key` (0).
 */
struct blame {
	char		list;
	size_t		i;
	const char	*key;
	char		msg[NT_CONF_ERRLEN + 2 * NT_HOSTLEN];
};

static int
name_servers(struct nt_sim_scenario *sc, struct blame *b)
{
	char q[64];

	for (size_t i = 0; i < sc->n_servers; i++) {
		if (sc->servers[i].name[0] == '\0')
			snprintf(sc->servers[i].name, NT_SIM_NAMELEN,
			    "server%zu", i + 1);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(sc->servers[i].name,
			    sc->servers[j].name) != 0)
				continue;
			*b = (struct blame){ 's', i, NULL, "" };
			snprintf(b->msg, sizeof b->msg, "servers[%zu]: name "
			    "'%s' is also servers[%zu]'s", i,
			    nt_printable(sc->servers[i].name, q, sizeof q), j);
			return (-1);
		}
	}
	return (0);
}

/* The simulated servers speak plain NTP: 'nts' would be ignored. */
static int
no_nts(const struct nt_sim_scenario *sc, struct blame *b)
{
	for (size_t i = 0; i < sc->client.n_servers; i++) {
		if (!sc->client.servers[i].nts)
			continue;
		*b = (struct blame){ 'c', i, NULL, "" };
		snprintf(b->msg, sizeof b->msg, "client.servers[%zu]: the "
		    "simulator has no NTS, its servers answer plain NTP (leave "
		    "out 'nts')", i);
		return (-1);
	}
	return (0);
}

/* Without client.servers, every simulated server gets the defaults. */
static int
default_client_servers(struct nt_sim_scenario *sc, struct blame *b)
{
	char err[NT_CONF_ERRLEN];

	for (size_t i = 0; i < sc->n_servers; i++) {
		if (nt_conf_add_server_arg(&sc->client, sc->servers[i].name,
		    err, sizeof err) == 0)
			continue;
		*b = (struct blame){ 's', i, NULL, "" };
		snprintf(b->msg, sizeof b->msg, "servers[%zu]: %s", i, err);
		return (-1);
	}
	return (0);
}

static int
match_servers(struct nt_sim_scenario *sc, struct blame *b)
{
	bool used[NT_SIM_MAX_SERVERS] = { false };
	char q[64];
	size_t i, j;

	if (sc->client.n_servers == 0 && default_client_servers(sc, b))
		return (-1);
	for (i = 0; i < sc->client.n_servers; i++) {
		for (j = 0; j < sc->n_servers; j++)
			if (strcmp(sc->client.servers[i].address,
			    sc->servers[j].name) == 0)
				break;
		*b = (struct blame){ 'c', i, NULL, "" };
		if (j == sc->n_servers || used[j]) {
			snprintf(b->msg, sizeof b->msg, "client.servers[%zu]: "
			    "'%s' %s", i, sc->client.servers[i].address,
			    j == sc->n_servers ? "is not one of the simulated "
			    "servers (their 'name')" : "is listed twice");
			return (-1);
		}
		used[j] = true;
		sc->sim_of[i] = j;
	}
	for (j = 0; j < sc->n_servers; j++) {
		if (used[j])
			continue;
		*b = (struct blame){ 's', j, NULL, "" };
		snprintf(b->msg, sizeof b->msg, "servers[%zu]: '%s' is missing "
		    "from client.servers (list all of them, or none)", j,
		    nt_printable(sc->servers[j].name, q, sizeof q));
		return (-1);
	}
	return (0);
}

/*
 * client.refclocks is the master's real configuration; each entry names
 * (by refid) the simulated receiver that feeds it, of the same driver.
 */
static int
match_refclocks(struct nt_sim_scenario *sc, struct blame *b)
{
	bool used[NT_SIM_MAX_REFCLOCKS] = { false };
	char q[64];
	size_t i, j;

	for (i = 0; i < sc->client.n_refclocks; i++) {
		const struct nt_refclock_conf *c = &sc->client.refclocks[i];
		const char *drv = nt_refclock_driver((size_t)c->driver)->name;

		*b = (struct blame){ 'k', i, NULL, "" };
		for (j = 0; j < sc->n_refclocks; j++)
			if (strcmp(c->refid, sc->refclocks[j].name) == 0)
				break;
		if (j == sc->n_refclocks || used[j]) {
			snprintf(b->msg, sizeof b->msg, "client.refclocks[%zu]: "
			    "refid '%s' %s", i, nt_printable(c->refid, q,
			    sizeof q), j == sc->n_refclocks ? "is not one of the "
			    "simulated refclocks (their 'name')" :
			    "is listed twice");
			return (-1);
		}
		if (strcmp(drv, rc_kind_names[sc->refclocks[j].kind]) != 0) {
			snprintf(b->msg, sizeof b->msg, "client.refclocks[%zu]: "
			    "driver '%s', but the simulated refclock '%s' is %s",
			    i, drv, nt_printable(c->refid, q, sizeof q),
			    rc_kind_names[sc->refclocks[j].kind]);
			return (-1);
		}
		used[j] = true;
		sc->rc_of[i] = j;
	}
	for (j = 0; j < sc->n_refclocks; j++) {
		if (used[j])
			continue;
		*b = (struct blame){ 'r', j, NULL, "" };
		snprintf(b->msg, sizeof b->msg, "refclocks[%zu]: '%s' is missing "
		    "from client.refclocks (the master's configuration: list "
		    "each with its refid)", j,
		    nt_printable(sc->refclocks[j].name, q, sizeof q));
		return (-1);
	}
	return (0);
}

nt_time
nt_sim_leap_midnight(const struct nt_sim_scenario *sc)
{
	int64_t day = sc->start / NT_SEC / 86400 + 1;
	struct tm tm;
	time_t t;

	for (;; day++) {
		t = (time_t)(day * 86400);
		if (gmtime_r(&t, &tm) == NULL || tm.tm_mday == 1)
			return ((nt_time)t * NT_SEC);
	}
}

/* The events a run ends before: how many, and the earliest. */
struct cut {
	double	duration;
	size_t	n;
	double	first;		/* s: when the earliest is */
	char	*buf;
	size_t	len;
};

/* An event at `at` s: "server 'ntp1' steps at 3600 s" (who may be NULL). */
static void
cut_event(struct cut *c, double at, const char *kind, const char *who,
    const char *what)
{
	char q[64];

	if (!isfinite(at) || at < c->duration)
		return;
	if (c->n++ > 0 && at >= c->first)
		return;
	c->first = at;
	if (who != NULL)
		snprintf(c->buf, c->len, "%s '%s' %s at %.15g s", kind,
		    nt_printable(who, q, sizeof q), what, at);
	else
		snprintf(c->buf, c->len, "%s at %.15g s", what, at);
}

/* Both ends of silent spells; `from` 0 is no event. */
static void
cut_spells(struct cut *c, const struct nt_sim_window *v, size_t n,
    const char *kind, const char *who)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i].from > 0)
			cut_event(c, v[i].from, kind, who, "falls silent");
		cut_event(c, v[i].to, kind, who, "is heard again");
	}
}

static void
cut_server(struct cut *c, const struct nt_sim_server *s)
{
	if (s->step.size != 0)
		cut_event(c, s->step.at, "server", s->name, "steps");
	cut_spells(c, s->silent, s->n_silent, "server", s->name);
	if (s->kod.interval > 0 && s->kod.from > 0)
		cut_event(c, s->kod.from, "server", s->name,
		    "starts KoD RATE");
	if (s->kod.interval > 0)
		cut_event(c, s->kod.to, "server", s->name, "stops KoD RATE");
	for (size_t i = 0; i < s->net.n_routes; i++)
		cut_event(c, s->net.routes[i].at, "server", s->name,
		    "takes a new route");
}

size_t
nt_sim_scenario_cut(const struct nt_sim_scenario *sc, double duration,
    char *buf, size_t len)
{
	struct cut c = { duration, 0, INFINITY, buf, len };

	assert(len > 0);
	buf[0] = '\0';
	if (sc->leap != NT_SIM_LEAP_NONE)
		cut_event(&c, nt_diff(nt_sim_leap_midnight(sc), sc->start),
		    NULL, NULL, "the leap second");
	for (size_t i = 0; i < sc->n_servers; i++)
		cut_server(&c, &sc->servers[i]);
	for (size_t i = 0; i < sc->n_refclocks; i++)
		cut_spells(&c, sc->refclocks[i].silent,
		    sc->refclocks[i].n_silent, "refclock",
		    sc->refclocks[i].name);
	return (c.n);
}

/*
 * Whether a statistics tick, sampled at (k + 1/2) tick (lib/sim.c), falls
 * between settle and end: a tick that is too long samples nothing, and
 * every figure would be made of no data.
 */
static bool
ticks_from(double tick, double settle, double end)
{
	return ((floor(end / tick - 0.5) + 0.5) * tick >= settle);
}

static int
finish(struct nt_sim_scenario *sc, struct blame *b)
{
	double end;

	*b = (struct blame){ 0, 0, NULL, "" };
	if (isnan(sc->settle))
		sc->settle = fmin(1000.0, sc->duration / 2);
	if (sc->n_servers == 0 && sc->n_refclocks == 0) {
		b->key = "servers";
		snprintf(b->msg, sizeof b->msg, "no servers: describe at "
		    "least one under 'servers' (or 'refclocks')");
		return (-1);
	}
	b->key = "start";
	if (parse_utc(sc->start_str, &sc->start)) {
		char q[64];

		snprintf(b->msg, sizeof b->msg, "'start' must be a UTC time "
		    "like 2026-01-01T00:00:00Z, in 1972 to 2200, got '%s'",
		    nt_printable(sc->start_str, q, sizeof q));
		return (-1);
	}
	/* With -D the caller checks the settling time and cut events. */
	b->key = "settle";
	if (sc->run_duration == 0 && sc->settle >= sc->duration) {
		snprintf(b->msg, sizeof b->msg, "'settle' (%g s) must be less "
		    "than 'duration' (%g s)", sc->settle, sc->duration);
		return (-1);
	}
	b->key = "tick";
	end = sc->run_duration > 0 ? sc->run_duration : sc->duration;
	if (sc->settle < end && !ticks_from(sc->tick, sc->settle, end)) {
		snprintf(b->msg, sizeof b->msg, "'tick' (%g s) is too long: "
		    "no tick falls between 'settle' (%g s) and the end of the "
		    "run (%g s), so there would be no statistics", sc->tick,
		    sc->settle, end);
		return (-1);
	}
	b->key = "leap";
	if (sc->run_duration == 0 && sc->leap != NT_SIM_LEAP_NONE &&
	    nt_diff(nt_sim_leap_midnight(sc), sc->start) >= sc->duration) {
		snprintf(b->msg, sizeof b->msg, "a leap second happens at the "
		    "end of a month: the next is %.0f s after the start, "
		    "after the end of the run",
		    nt_diff(nt_sim_leap_midnight(sc), sc->start));
		return (-1);
	}
	b->list = 'p';
	if (sc->client.n_pools > 0) {
		snprintf(b->msg, sizeof b->msg, "client.pools: the simulator "
		    "has no DNS; describe each server under 'servers'");
		return (-1);
	}
	if (no_nts(sc, b) || name_servers(sc, b) || match_refclocks(sc, b))
		return (-1);
	if (sc->n_servers == 0 && sc->client.n_servers == 0)
		return (0);
	return (match_servers(sc, b));
}

static int
scen_check(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    void *base)
{
	const struct nt_yconf_node *at = map, *client;
	struct blame b;

	if (finish(base, &b) == 0)
		return (0);
	client = nt_yconf_map_get(map, "client");
	if (b.list == 0)
		at = nt_yconf_map_get(map, b.key);
	else if (b.list == 'p')
		at = nt_yconf_map_get(client, "pools");
	else if (b.list == 's')
		at = seq_item(nt_yconf_map_get(map, "servers"), b.i);
	else if (b.list == 'c')
		at = seq_item(nt_yconf_map_get(client, "servers"), b.i);
	else if (b.list == 'r')
		at = seq_item(nt_yconf_map_get(map, "refclocks"), b.i);
	else if (b.list == 'k')
		at = seq_item(nt_yconf_map_get(client, "refclocks"), b.i);
	return (nt_yconf_error(w, at != NULL ? at : map, "%s", b.msg));
}

/* ---- Public interface ---- */

void
nt_sim_server_init(struct nt_sim_server *s)
{
	memset(s, 0, sizeof *s);
	s->stratum = 1;
	s->leap = true;
	s->kod.to = INFINITY;
	s->net.out.dist = NT_SIM_EXPONENTIAL;
	s->net.in.dist = NT_SIM_EXPONENTIAL;
}

void
nt_sim_scenario_init(struct nt_sim_scenario *sc)
{
	memset(sc, 0, sizeof *sc);
	sc->duration = 10000;
	sc->settle = NAN;
	sc->tick = 1;
	sc->seed = 1;
	strlcpy(sc->start_str, "2026-01-01T00:00:00Z", sizeof sc->start_str);
	sc->clock.max_freq_ppm = 100000;
	sc->clock.slew_ppm = 500;
	sc->clock.can_step = true;
	sc->drift_skew_ppm = 1;
	nt_conf_init(&sc->client);
	for (int i = 0; i < NT_SIM_N_METRICS; i++)
		sc->expect[i] = (struct nt_sim_limit){ NAN, NAN };
}

void
nt_sim_scenario_free(struct nt_sim_scenario *sc)
{
	nt_yconf_free(&scen_schema, sc);
	nt_conf_free(&sc->client);
}

struct nt_sim_server *
nt_sim_scenario_add_server(struct nt_sim_scenario *sc)
{
	struct nt_sim_server *v;

	if (sc->n_servers == NT_SIM_MAX_SERVERS)
		return (NULL);
	v = reallocarray(sc->servers, sc->n_servers + 1, sizeof *v);
	if (v == NULL)
		return (NULL);
	sc->servers = v;
	nt_sim_server_init(&v[sc->n_servers]);
	return (&v[sc->n_servers++]);
}

int
nt_sim_scenario_finish(struct nt_sim_scenario *sc, char *err, size_t errlen)
{
	struct blame b;

	if (finish(sc, &b) == 0)
		return (0);
	snprintf(err, errlen, "%s", b.msg);
	return (-1);
}

/* "conf/sim/lan.yaml" -> "lan". */
static char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/'), *b = slash ? slash + 1 : path;
	size_t n = strlen(b);

	if (n > 5 && strcmp(b + n - 5, ".yaml") == 0)
		n -= 5;
	else if (n > 4 && strcmp(b + n - 4, ".yml") == 0)
		n -= 4;
	return (strndup(b, n));
}

int
nt_sim_scenario_load_buf(struct nt_sim_scenario *sc, const char *name,
    const char *buf, size_t len, char *err, size_t errlen)
{
	struct nt_sim_scenario tmp;

	nt_sim_scenario_init(&tmp);
	tmp.run_duration = sc->run_duration;
	if (nt_yconf_load_buf(name, buf, len, &scen_schema, &tmp, err,
	    errlen)) {
		nt_sim_scenario_free(&tmp);
		return (-1);
	}
	if (tmp.name == NULL && (tmp.name = base_name(name)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		nt_sim_scenario_free(&tmp);
		return (-1);
	}
	nt_sim_scenario_free(sc);
	*sc = tmp;
	return (0);
}

int
nt_sim_scenario_load(struct nt_sim_scenario *sc, const char *path, char *err,
    size_t errlen)
{
	char *buf;
	size_t len;
	int rc;

	if ((rc = nt_yconf_read_file(path, &buf, &len, err, errlen)) != 0)
		return (rc);
	rc = nt_sim_scenario_load_buf(sc, path, buf, len, err, errlen);
	free(buf);
	return (rc);
}
