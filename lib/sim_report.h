/*
 * What `ntimed sim` prints: the summary as a table for people or JSON for
 * tools, the time series as CSV, and a plot as SVG.  All output is a pure
 * function of the run, so the same scenario and seed give the same bytes.
 */
#ifndef NTIMED_SIM_REPORT_H
#define NTIMED_SIM_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "sim.h"

/*
 * Why a metric does not exist: "never" (a time to sync), "no bound" (a
 * coverage, when the client never claimed one), "n/a".
 */
const char *nt_sim_absent(int metric);
/* A metric as people read it ("12.3us", "99.95 %", "never"). */
const char *nt_sim_format_metric(int metric, double v, char *buf,
    size_t len);

/*
 * A scenario's name or description in the text summary: control
 * characters and bytes that are not UTF-8 as "\xNN", as messages quote
 * them (nt_printable()), so that no name breaks a line or sends a
 * terminal escape.
 */
void nt_sim_put_printable(FILE *f, const char *s);

void nt_sim_report_text(FILE *f, const struct nt_sim_scenario *sc,
    const struct nt_sim_result *res, const bool *ok);
void nt_sim_report_json(FILE *f, const struct nt_sim_scenario *sc,
    const struct nt_sim_result *res, const bool *ok);
/*
 * Either summary's title ends so: servers, refclocks, settling time, and
 * the scenario's description.
 */
void nt_sim_text_title_end(FILE *f, const struct nt_sim_scenario *sc,
    size_t n_servers, size_t n_refclocks, double settle);
/* Either summary's JSON starts so: an object, and which scenario. */
struct nt_json;
void nt_sim_json_begin(struct nt_json *j, FILE *f,
    const struct nt_sim_scenario *sc);

/*
 * Many seeds of one scenario (sim_seeds.c): each figure's mean, least and
 * greatest over the runs where it exists, and how many runs failed each
 * expect: limit.
 */
struct nt_sim_seeds {
	uint64_t	first, last;	/* the seeds asked for */
	int		n;		/* runs added */
	double		duration, settle;
	size_t		n_servers, n_refclocks;
	double		sum[NT_SIM_N_METRICS];
	double		min[NT_SIM_N_METRICS], max[NT_SIM_N_METRICS];
	int		have[NT_SIM_N_METRICS];	/* runs where not NaN */
	int		failed[NT_SIM_N_METRICS];	/* runs outside */
	int		n_failed;	/* runs outside any limit */
	uint64_t	first_failed;	/* the first of them */
};

void nt_sim_seeds_init(struct nt_sim_seeds *s, uint64_t first,
    uint64_t last);
void nt_sim_seeds_add(struct nt_sim_seeds *s, const struct nt_sim_result *res,
    const bool *ok);
void nt_sim_seeds_text(FILE *f, const struct nt_sim_scenario *sc,
    const struct nt_sim_seeds *s);
void nt_sim_seeds_json(FILE *f, const struct nt_sim_scenario *sc,
    const struct nt_sim_seeds *s);

/* CSV: a header, then one row per tick. */
void nt_sim_csv_header(FILE *f);
void nt_sim_csv_row(FILE *f, const struct nt_sim_point *p,
    const struct nt_engine *e);

/*
 * The plot keeps, per pixel column, the range of each curve, so a 30-day
 * run costs no more memory than a 10-minute one and spikes still show.
 */
#define NT_SIM_PLOT_COLS 900

struct nt_sim_plot {
	double	duration;
	double	t0[NT_SIM_PLOT_COLS];	/* first tick in the column */
	double	err_lo[NT_SIM_PLOT_COLS], err_hi[NT_SIM_PLOT_COLS];
	double	ferr_lo[NT_SIM_PLOT_COLS], ferr_hi[NT_SIM_PLOT_COLS];
	double	bound[NT_SIM_PLOT_COLS];	/* largest in the column */
	bool	used[NT_SIM_PLOT_COLS];
};

void nt_sim_plot_init(struct nt_sim_plot *pl, double duration);
void nt_sim_plot_add(struct nt_sim_plot *pl, const struct nt_sim_point *p);
/* Write the SVG; title names the scenario and seed. */
void nt_sim_plot_write(FILE *f, const struct nt_sim_plot *pl,
    const char *title, double settle);

#endif
