/*
 * A hand-written SVG plot of a simulated run: the clock's time error with
 * the client's claimed (likely) bound around it, and its frequency error,
 * against time.  Each curve is drawn as the band between its lowest and highest
 * value in every pixel column, so one spike among a million ticks still
 * shows, and the file stays small.
 *
 * The vertical scales fit the data after the settling time (the start-up
 * error is often a million times larger); values outside are drawn at the
 * edge, and the settling time is marked.
 */
#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "sim_report.h"

#define W 1000
#define PANEL_H 260
#define LEFT 90
#define RIGHT 30
#define TOP 50
#define GAP 70
#define PLOT_W (W - LEFT - RIGHT)

struct axis {
	double	lo, hi;		/* data range shown */
	double	scale;		/* data unit -> label unit */
	const char *unit;
	int	y0;		/* panel top */
};

void
nt_sim_plot_init(struct nt_sim_plot *pl, double duration)
{
	memset(pl, 0, sizeof *pl);
	pl->duration = duration;
}

void
nt_sim_plot_add(struct nt_sim_plot *pl, const struct nt_sim_point *p)
{
	int c = (int)(p->t / pl->duration * NT_SIM_PLOT_COLS);

	if (c < 0 || c >= NT_SIM_PLOT_COLS)
		return;
	if (!pl->used[c]) {
		pl->used[c] = true;
		pl->t0[c] = p->t;
		pl->err_lo[c] = pl->err_hi[c] = p->err;
		pl->ferr_lo[c] = pl->ferr_hi[c] = p->ferr * 1e6;
		pl->bound[c] = p->bound;
		return;
	}
	pl->err_lo[c] = fmin(pl->err_lo[c], p->err);
	pl->err_hi[c] = fmax(pl->err_hi[c], p->err);
	pl->ferr_lo[c] = fmin(pl->ferr_lo[c], p->ferr * 1e6);
	pl->ferr_hi[c] = fmax(pl->ferr_hi[c], p->ferr * 1e6);
	pl->bound[c] = fmax(pl->bound[c], p->bound);
}

/* 1, 2 or 5 times a power of ten, giving about 6 steps over span. */
static double
nice_step(double span)
{
	double raw = span / 6, mag = pow(10, floor(log10(raw)));

	if (raw / mag < 1.5)
		return (mag);
	if (raw / mag < 3.5)
		return (2 * mag);
	if (raw / mag < 7.5)
		return (5 * mag);
	return (10 * mag);
}

static void
time_unit(double duration, double *scale, const char **unit)
{
	if (duration > 3 * 86400) {
		*scale = 1.0 / 86400;
		*unit = "days";
	} else if (duration > 3 * 3600) {
		*scale = 1.0 / 3600;
		*unit = "hours";
	} else if (duration > 600) {
		*scale = 1.0 / 60;
		*unit = "minutes";
	} else {
		*scale = 1;
		*unit = "seconds";
	}
}

/* Columns wholly after settling (all of them if none is). */
static bool
after_settle(const struct nt_sim_plot *pl, int c, double settle)
{
	double w = pl->duration / NT_SIM_PLOT_COLS;

	if (settle + w >= pl->duration)
		settle = 0;
	return (pl->used[c] && pl->t0[c] >= settle);
}

/* The median of the finite bounds after settling, or 0. */
static double
median_bound(const struct nt_sim_plot *pl, double settle)
{
	double v[NT_SIM_PLOT_COLS], t;
	int n = 0;

	for (int c = 0; c < NT_SIM_PLOT_COLS; c++)
		if (after_settle(pl, c, settle) && isfinite(pl->bound[c]))
			v[n++] = pl->bound[c];
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--)
			t = v[j], v[j] = v[j - 1], v[j - 1] = t;
	return (n > 0 ? v[n / 2] : 0.0);
}

/*
 * The range of the curve after settling; with bounds, also the typical
 * bound (larger ones run off the edge rather than flatten the curve).
 */
static void
fit_axis(const struct nt_sim_plot *pl, const double *lo, const double *hi,
    const double *bound, double settle, struct axis *a)
{
	double mn = INFINITY, mx = -INFINITY, m;

	for (int c = 0; c < NT_SIM_PLOT_COLS; c++) {
		if (!after_settle(pl, c, settle))
			continue;
		mn = fmin(mn, lo[c]);
		mx = fmax(mx, hi[c]);
	}
	if (bound != NULL && (m = median_bound(pl, settle)) > 0) {
		mn = fmin(mn, -m);
		mx = fmax(mx, m);
	}
	if (!isfinite(mn) || !isfinite(mx)) {
		mn = -1e-6;
		mx = 1e-6;
	}
	m = fmax(fmax(fabs(mn), fabs(mx)), 1e-9);
	if (mn >= 0)
		mn = -0.05 * m;
	if (mx <= 0)
		mx = 0.05 * m;
	a->lo = mn - 0.05 * (mx - mn);
	a->hi = mx + 0.05 * (mx - mn);
}

static double
ypos(const struct axis *a, double v)
{
	double y = (a->hi - v) / (a->hi - a->lo);

	y = fmin(fmax(y, 0.0), 1.0);	/* clipped: drawn at the edge */
	return (a->y0 + y * PANEL_H);
}

static double
xpos(const struct nt_sim_plot *pl, int c)
{
	(void)pl;
	return (LEFT + (c + 0.5) * PLOT_W / NT_SIM_PLOT_COLS);
}

static void
error_unit(struct axis *a)
{
	double m = fmax(fabs(a->lo), fabs(a->hi));

	if (m < 2e-6) {
		a->scale = 1e9;
		a->unit = "ns";
	} else if (m < 2e-3) {
		a->scale = 1e6;
		a->unit = "\xc2\xb5s";
	} else if (m < 2) {
		a->scale = 1e3;
		a->unit = "ms";
	} else {
		a->scale = 1;
		a->unit = "s";
	}
}

static void
draw_yaxis(FILE *f, const struct axis *a, const char *label)
{
	double step = nice_step((a->hi - a->lo) * a->scale);
	long k0 = lround(ceil(a->lo * a->scale / step));

	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
	    "fill=\"none\" stroke=\"#444\"/>\n", LEFT, a->y0, PLOT_W, PANEL_H);
	for (long k = k0; (double)k * step <= a->hi * a->scale; k++) {
		double v = (double)k * step, y = ypos(a, v / a->scale);
		double shown = k == 0 ? 0 : v;

		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
		    "stroke=\"#ddd\"/>\n<text x=\"%d\" y=\"%.1f\" "
		    "text-anchor=\"end\">%g</text>\n", LEFT, y, LEFT + PLOT_W,
		    y, LEFT - 6, y + 4, shown);
	}
	fprintf(f, "<text x=\"18\" y=\"%d\" transform=\"rotate(-90 18 %d)\" "
	    "text-anchor=\"middle\">%s (%s)</text>\n", a->y0 + PANEL_H / 2,
	    a->y0 + PANEL_H / 2, label, a->unit);
}

static void
draw_xaxis(FILE *f, const struct nt_sim_plot *pl, int y0, double settle)
{
	double scale, step;
	const char *unit;

	time_unit(pl->duration, &scale, &unit);
	step = nice_step(pl->duration * scale);
	for (long k = 0; (double)k * step <= pl->duration * scale * (1 + 1e-9);
	    k++) {
		double v = (double)k * step;
		double x = LEFT + v / scale / pl->duration * PLOT_W;

		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		    "stroke=\"#444\"/>\n<text x=\"%.1f\" y=\"%d\" "
		    "text-anchor=\"middle\">%g</text>\n", x, y0 + PANEL_H, x,
		    y0 + PANEL_H + 5, x, y0 + PANEL_H + 20, v);
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">time since "
	    "the start (%s)</text>\n", LEFT + PLOT_W / 2, y0 + PANEL_H + 38,
	    unit);
	if (settle > 0 && settle < pl->duration)
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		    "stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n",
		    LEFT + settle / pl->duration * PLOT_W, TOP,
		    LEFT + settle / pl->duration * PLOT_W, y0 + PANEL_H);
}

/* The band between lo and hi over all used columns, as one path. */
static void
draw_band(FILE *f, const struct nt_sim_plot *pl, const struct axis *a,
    const double *lo, const double *hi, const char *color)
{
	bool first = true;
	int c;

	fprintf(f, "<path fill=\"%s\" stroke=\"%s\" stroke-width=\"1\" d=\"",
	    color, color);
	for (c = 0; c < NT_SIM_PLOT_COLS; c++) {
		if (!pl->used[c])
			continue;
		fprintf(f, "%s%.1f %.1f", first ? "M" : " L", xpos(pl, c),
		    ypos(a, hi[c]));
		first = false;
	}
	for (c = NT_SIM_PLOT_COLS - 1; c >= 0; c--)
		if (pl->used[c])
			fprintf(f, " L%.1f %.1f", xpos(pl, c), ypos(a, lo[c]));
	fprintf(f, "%s\"/>\n", first ? "M0 0" : " Z");
}

/* The claimed (likely) bound, +-, as two dashed lines where it is finite. */
static void
draw_bound(FILE *f, const struct nt_sim_plot *pl, const struct axis *a)
{
	for (int sign = -1; sign <= 1; sign += 2) {
		bool pen = false;

		fprintf(f, "<path fill=\"none\" stroke=\"#d95f02\" "
		    "stroke-dasharray=\"5 3\" d=\"M0 0");
		for (int c = 0; c < NT_SIM_PLOT_COLS; c++) {
			if (!pl->used[c] || !isfinite(pl->bound[c])) {
				pen = false;
				continue;
			}
			fprintf(f, " %s%.1f %.1f", pen ? "L" : "M",
			    xpos(pl, c), ypos(a, sign * pl->bound[c]));
			pen = true;
		}
		fprintf(f, "\"/>\n");
	}
}

/*
 * A character XML 1.0 takes as it is (n: its valid UTF-8 length): no C0
 * control, DEL or C1 control (allowed, but a title has no use for them),
 * nor U+FFFE or U+FFFF.
 */
static bool
xml_char(const unsigned char *p, int n)
{
	if (n == 1)
		return (p[0] >= 0x20 && p[0] != 0x7f);
	if (n == 2)
		return (p[0] != 0xc2 || p[1] >= 0xa0);
	if (n == 3)
		return (p[0] != 0xef || p[1] != 0xbf || p[2] < 0xbe);
	return (true);
}

/*
 * The title as XML text, whatever bytes the scenario's name has: <, >
 * and & as entities, and U+FFFD for each control character and each
 * sequence that is not UTF-8.
 */
static void
title_text(FILE *f, const char *title)
{
	const unsigned char *p = (const unsigned char *)title;
	size_t left = strlen(title), take;
	int n;

	fputs("<text x=\"500\" y=\"28\" text-anchor=\"middle\" "
	    "font-size=\"16\">", f);
	for (; left > 0; p += take, left -= take) {
		n = nt_utf8_seq(p, left);
		take = n < 0 ? (size_t)-n : (size_t)n;
		assert(take >= 1 && take <= left);
		if (n < 0 || !xml_char(p, n))
			fputs("\xef\xbf\xbd", f);	/* U+FFFD */
		else if (*p == '<')
			fputs("&lt;", f);
		else if (*p == '>')
			fputs("&gt;", f);
		else if (*p == '&')
			fputs("&amp;", f);
		else
			fwrite(p, 1, take, f);
	}
	fputs("</text>\n", f);
}

/*
 * What the curves are.  The dashed band is the likely bound (status'
 * estimated_error, the kernel's esterror), not the worst case.
 */
static void
draw_legend(FILE *f, const struct nt_sim_plot *pl)
{
	bool bounded = false;

	for (int c = 0; c < NT_SIM_PLOT_COLS; c++)
		bounded = bounded || (pl->used[c] && isfinite(pl->bound[c]));
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"360\" height=\"22\" "
	    "fill=\"white\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n"
	    "<text x=\"%d\" y=\"%d\" fill=\"#1b9e77\">clock - true "
	    "time</text><text x=\"%d\" y=\"%d\" fill=\"#d95f02\">%s</text>\n",
	    LEFT + 4, TOP + 4, LEFT + 12, TOP + 19, LEFT + 140, TOP + 19,
	    bounded ? "\xc2\xb1 claimed (likely) error bound" :
	    "no error bound claimed");
}

void
nt_sim_plot_write(FILE *f, const struct nt_sim_plot *pl, const char *title,
    double settle)
{
	struct axis e = { .y0 = TOP }, fr = { .y0 = TOP + PANEL_H + GAP };
	int h = TOP + 2 * PANEL_H + GAP + 50;

	fit_axis(pl, pl->err_lo, pl->err_hi, pl->bound, settle, &e);
	error_unit(&e);
	fit_axis(pl, pl->ferr_lo, pl->ferr_hi, NULL, settle, &fr);
	fr.scale = 1;
	fr.unit = "ppm";
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "
	    "xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	    "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
	    "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
	    "fill=\"white\"/>\n", W, h, W, h);
	title_text(f, title);
	draw_yaxis(f, &e, "time error");
	draw_band(f, pl, &e, pl->err_lo, pl->err_hi, "#1b9e77");
	draw_bound(f, pl, &e);
	draw_xaxis(f, pl, e.y0, settle);
	draw_legend(f, pl);
	draw_yaxis(f, &fr, "frequency error");
	draw_band(f, pl, &fr, pl->ferr_lo, pl->ferr_hi, "#7570b3");
	draw_xaxis(f, pl, fr.y0, settle);
	fprintf(f, "</svg>\n");
}
