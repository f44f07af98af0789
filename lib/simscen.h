/*
 * A simulator scenario: the client's oscillator and kernel, the servers
 * with their clock error models and network paths, the client's own
 * configuration (literally the real config schema, under "client:"), and
 * the limits the run must meet ("expect:").  Scenario files are YAML read
 * with the config's reader, so every mistake is one line naming
 * FILE:LINE:COLUMN.  docs/sim.md describes every key.
 *
 * The summary figures the simulator reports are listed once, in
 * NT_SIM_METRICS: their JSON names, the expect: keys and the table rows
 * all come from that list.
 */
#ifndef NTIMED_SIMSCEN_H
#define NTIMED_SIMSCEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock_sim.h"
#include "conf.h"
#include "refclock.h"

#define NT_SIM_MAX_SERVERS 16
#define NT_SIM_MAX_REFCLOCKS 8
#define NT_SIM_NAMELEN 64
/* Seeds, in a scenario and on the command line: 0..2^53, exact in JSON. */
#define NT_SIM_SEED_MAX (UINT64_C(1) << 53)
/* Durations, in a scenario and with -D: 1 s to 1e9 s (30 years). */
#define NT_SIM_DURATION_MIN 1.0
#define NT_SIM_DURATION_MAX 1e9

/*
 * X(ID, json name, unit, description).  Units: "s" seconds, "ppm",
 * "" a count or fraction.  A figure that does not exist (never
 * converged, no data, a coverage when the client never claimed a bound)
 * is NaN: null in JSON, and it fails any limit.
 */
#define NT_SIM_METRICS(X)						\
	X(SYNC_1MS, "sync_1ms", "s",					\
	    "time to reach and stay within 1 ms of true time")		\
	X(SYNC_100US, "sync_100us", "s",				\
	    "time to reach and stay within 100 us of true time")	\
	X(RMS, "rms", "s", "RMS time error after settling")		\
	X(P99, "p99", "s", "99th percentile of |time error|")		\
	X(P999, "p999", "s", "99.9th percentile of |time error|")	\
	X(MAX, "max", "s", "maximum |time error|")			\
	X(MEAN, "mean", "s", "mean time error (clock - true)")		\
	X(FREQ_RMS, "freq_rms_ppm", "ppm", "RMS frequency error")	\
	X(BOUND_COVERAGE, "bound_coverage", "",				\
	    "fraction of time |error| was inside the claimed bound")	\
	X(BOUND_MEAN, "bound_mean", "s", "mean claimed error bound")	\
	X(BOUND_RATIO, "bound_ratio", "", "mean bound / RMS error")	\
	X(WORST_COVERAGE, "worst_coverage", "",				\
	    "fraction of time |error| was inside the worst case")	\
	X(WORST_RATIO, "worst_ratio", "",				\
	    "mean worst-case bound / RMS error")			\
	X(STEPS, "steps", "", "clock steps made")			\
	X(LEAPS, "leaps", "", "leap seconds the kernel made")		\
	X(PACKETS, "packets", "", "requests sent")			\
	X(PACKETS_PER_HOUR, "packets_per_hour", "",			\
	    "requests sent per hour after settling")			\
	X(UPDATES, "updates", "", "clock updates")			\
	X(FALSETICKERS, "falsetickers", "",				\
	    "servers flagged as falsetickers after settling")

enum nt_sim_metric {
#define NT_SIM_M_ENUM(id, name, unit, doc) NT_SIM_##id,
	NT_SIM_METRICS(NT_SIM_M_ENUM)
#undef NT_SIM_M_ENUM
	NT_SIM_N_METRICS
};

struct nt_sim_metric_info {
	const char	*name;
	const char	*unit;
	const char	*doc;
};
extern const struct nt_sim_metric_info nt_sim_metric_info[NT_SIM_N_METRICS];

/* An expect: limit; NaN bounds are absent. */
struct nt_sim_limit {
	double	min, max;
};

enum nt_sim_dist { NT_SIM_EXPONENTIAL = 0, NT_SIM_NORMAL, NT_SIM_UNIFORM };

/* One direction of a network path. */
struct nt_sim_path {
	double	delay;		/* base one-way delay, s */
	double	jitter;		/* mean extra delay, s */
	int	dist;		/* enum nt_sim_dist: shape of the extra delay */
	double	spike_prob;	/* probability of a delay spike, per packet */
	double	spike;		/* mean extra delay of a spike, s */
};

struct nt_sim_window {
	double	from, to;	/* s since the start */
};

/* From `at` on, the base delays change by out and in (a new route). */
struct nt_sim_route {
	double	at, out, in;
};

struct nt_sim_step {
	double	at, size;	/* a step of size s at `at` (size 0: none) */
};

struct nt_sim_kod {
	double	from, to;	/* s since the start */
	double	interval;	/* KoD RATE to requests closer than this (s) */
};

struct nt_sim_net {
	struct nt_sim_path out;	/* client -> server */
	struct nt_sim_path in;	/* server -> client */
	double	loss;		/* probability a packet is lost, each way */
	struct nt_sim_route *routes;
	size_t	n_routes;
};

struct nt_sim_server {
	char	name[NT_SIM_NAMELEN];	/* its address in client.servers */
	int	stratum;
	double	root_delay, root_disp;	/* s, as advertised */
	double	proc;			/* s between receive and transmit */
	/* Clock error model: server time - true time. */
	double	offset;			/* s: a falseticker is off by this */
	double	freq_ppm;		/* a drifting server */
	struct nt_sim_step step;
	bool	leap;			/* announces the scenario's leap */
	struct nt_sim_window *silent;	/* it does not answer then */
	size_t	n_silent;
	struct nt_sim_kod kod;		/* interval 0: never */
	struct nt_sim_net net;
};

/*
 * A simulated reference clock: what the device gives the driver, not the
 * driver.  A pps model is a pulse at every true second, timestamped with
 * normal jitter; an nmea model is the sentence of every true second,
 * whose first byte arrives latency +- jitter (uniform) after it; a sock
 * model is gpsd on one SOCK socket: every second's pulse datagram (as
 * pps), then its time datagram, taken latency +- time_jitter after the
 * second and naming it (gpsd's uncorrected serial delay reads as its
 * time being late).  Their samples go through the real refclock layer
 * (pairing, combining) into the real engine, exactly as the drivers' do.
 */
enum nt_sim_rc_kind { NT_SIM_RC_PPS = 0, NT_SIM_RC_NMEA, NT_SIM_RC_SOCK };

struct nt_sim_refclock {
	char	name[NT_REFID_LEN];	/* the refid in client.refclocks */
	int	kind;			/* enum nt_sim_rc_kind */
	double	jitter;		/* s: pps: sd of the timestamp; nmea: half
				   the spread of the latency (NaN: default) */
	double	latency;	/* s, nmea: mean delay of the sentence; sock:
				   of the time datagram */
	double	time_jitter;	/* s, sock: its time datagram's latency
				   varies by +- this (NaN: default) */
	double	missing;	/* probability a second gives nothing */
	double	offset;		/* s: the receiver's time - true time */
	struct nt_sim_window *silent;	/* nothing at all then (no fix) */
	size_t	n_silent;
};

enum nt_sim_leap { NT_SIM_LEAP_NONE = 0, NT_SIM_LEAP_INSERT,
    NT_SIM_LEAP_DELETE };

struct nt_sim_scenario {
	char	*name;		/* default: the file name without .yaml */
	char	*description;
	double	duration;	/* s */
	/*
	 * s: the run's duration when it is not the file's (-D), else 0; set
	 * before loading.  The file's own checks against its duration
	 * (settle, leap) are then left to the caller: see
	 * nt_sim_scenario_cut().
	 */
	double	run_duration;
	double	settle;		/* s: statistics after convergence from here */
	double	tick;		/* s between statistics samples */
	int64_t	seed;
	char	start_str[40];	/* UTC, "2026-01-01T00:00:00Z" */
	nt_time	start;		/* parsed */
	int	leap;		/* enum nt_sim_leap, at the next month's end */
	struct nt_simclock_model clock;
	bool	have_drift;	/* the client starts from a drift file */
	double	drift_ppm, drift_skew_ppm;
	struct nt_sim_server *servers;
	size_t	n_servers;
	struct nt_sim_refclock *refclocks;
	size_t	n_refclocks;
	struct nt_conf client;	/* client.servers[i] is servers[sim_of[i]] */
	size_t	sim_of[NT_SIM_MAX_SERVERS];
	/* client.refclocks[i] is refclocks[rc_of[i]] */
	size_t	rc_of[NT_SIM_MAX_REFCLOCKS];
	struct nt_sim_limit expect[NT_SIM_N_METRICS];
};

/* Defaults (no servers, no limits). */
void nt_sim_scenario_init(struct nt_sim_scenario *sc);
void nt_sim_server_init(struct nt_sim_server *s);
void nt_sim_scenario_free(struct nt_sim_scenario *sc);

/*
 * Load a scenario file into sc (fresh from nt_sim_scenario_init(), with
 * run_duration set for -D).
 * Returns 0, or -1 with "FILE:LINE:COLUMN: message" in err
 * (NT_YCONF_ESYS when the system would not let us read the file).
 */
int nt_sim_scenario_load(struct nt_sim_scenario *sc, const char *path,
    char *err, size_t errlen);
int nt_sim_scenario_load_buf(struct nt_sim_scenario *sc, const char *name,
    const char *buf, size_t len, char *err, size_t errlen);

/*
 * UTC's leap second happens at the first midnight after the start that
 * ends a month: its (pre-leap) time.
 */
nt_time nt_sim_leap_midnight(const struct nt_sim_scenario *sc);

/*
 * The scenario's timed events that a run of `duration` s ends before (or
 * at): the leap second, a server's step or new route, the start or end
 * of a silent or KoD spell, a refclock's silence.  Returns how many, and
 * describes the earliest in buf ("the leap second at 7200 s").
 */
size_t nt_sim_scenario_cut(const struct nt_sim_scenario *sc, double duration,
    char *buf, size_t len);

/*
 * "100us", "2h", "30d" or plain seconds; returns 0 or -1.  Never NaN; a
 * number too large ("1e400") is infinite, for the caller's range check.
 */
int nt_sim_parse_time(const char *s, double *v);

/* Append a server with defaults; NULL when full or out of memory. */
struct nt_sim_server *nt_sim_scenario_add_server(struct nt_sim_scenario *sc);

/*
 * After building a scenario in code: give every simulated server a
 * client.servers entry (defaults, address = name) if it has none, and
 * check that the two lists match.  Returns 0, or -1 with err filled.
 */
int nt_sim_scenario_finish(struct nt_sim_scenario *sc, char *err,
    size_t errlen);

#endif
