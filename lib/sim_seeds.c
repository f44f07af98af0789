/*
 * "ntimed sim --seeds": one scenario over many seeds.  One run says what
 * one draw of the network and the oscillator did; what someone choosing
 * servers wants is the spread: each figure's mean, least and greatest,
 * and how many seeds met each expect: limit.  Runs are added one at a
 * time, so a thousand seeds cost no more memory than one.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "sim_report.h"

void
nt_sim_seeds_init(struct nt_sim_seeds *s, uint64_t first, uint64_t last)
{
	assert(first <= last);
	memset(s, 0, sizeof *s);
	s->first = first;
	s->last = last;
	for (int i = 0; i < NT_SIM_N_METRICS; i++) {
		s->min[i] = INFINITY;
		s->max[i] = -INFINITY;
	}
}

void
nt_sim_seeds_add(struct nt_sim_seeds *s, const struct nt_sim_result *res,
    const bool *ok)
{
	bool all = true;

	s->duration = res->duration;
	s->settle = res->settle;
	s->n_servers = res->n_servers;
	s->n_refclocks = res->n_refclocks;
	for (int i = 0; i < NT_SIM_N_METRICS; i++) {
		double v = res->m[i];

		s->failed[i] += !ok[i];
		all = all && ok[i];
		if (isnan(v))
			continue;
		s->have[i]++;
		s->sum[i] += v;
		s->min[i] = fmin(s->min[i], v);
		s->max[i] = fmax(s->max[i], v);
	}
	if (!all && s->n_failed++ == 0)
		s->first_failed = res->seed;
	s->n++;
}

/* Mean over the runs where the figure exists; NaN where it never did. */
static double
mean(const struct nt_sim_seeds *s, int i)
{
	return (s->have[i] > 0 ? s->sum[i] / s->have[i] : NAN);
}

static double
least(const struct nt_sim_seeds *s, int i)
{
	return (s->have[i] > 0 ? s->min[i] : NAN);
}

static double
greatest(const struct nt_sim_seeds *s, int i)
{
	return (s->have[i] > 0 ? s->max[i] : NAN);
}

static bool
has_limit(const struct nt_sim_scenario *sc, int i)
{
	return (!isnan(sc->expect[i].min) || !isnan(sc->expect[i].max));
}

static void
text_figure(FILE *f, const struct nt_sim_seeds *s, int i)
{
	char b1[32], b2[32], b3[32];

	fprintf(f, "  %-55s %10s %10s %10s", nt_sim_metric_info[i].doc,
	    nt_sim_format_metric(i, mean(s, i), b1, sizeof b1),
	    nt_sim_format_metric(i, least(s, i), b2, sizeof b2),
	    nt_sim_format_metric(i, greatest(s, i), b3, sizeof b3));
	if (s->have[i] < s->n)
		fprintf(f, "  (%s for %d)", nt_sim_absent(i),
		    s->n - s->have[i]);
	fprintf(f, "\n");
}

/* A limit, and the figure on its side: the least for a minimum... */
static void
text_limit(FILE *f, const struct nt_sim_seeds *s, int i,
    const struct nt_sim_limit *l)
{
	char b1[32], b2[32];

	fprintf(f, "  %-18s", nt_sim_metric_info[i].name);
	if (!isnan(l->min))
		fprintf(f, " >= %s (least %s)", nt_sim_format_metric(i, l->min,
		    b1, sizeof b1), nt_sim_format_metric(i, least(s, i), b2,
		    sizeof b2));
	if (!isnan(l->max))
		fprintf(f, " <= %s (greatest %s)", nt_sim_format_metric(i,
		    l->max, b1, sizeof b1), nt_sim_format_metric(i,
		    greatest(s, i), b2, sizeof b2));
	fprintf(f, ": met by %d of %d%s\n", s->n - s->failed[i], s->n,
	    s->failed[i] > 0 ? ", FAILED" : "");
}

void
nt_sim_seeds_text(FILE *f, const struct nt_sim_scenario *sc,
    const struct nt_sim_seeds *s)
{
	int n = 0;

	fputs("scenario ", f);
	nt_sim_put_printable(f, sc->name);
	fprintf(f, ", seeds %llu to %llu: %.0f s simulated each, ",
	    (unsigned long long)s->first,
	    (unsigned long long)s->last, s->duration);
	nt_sim_text_title_end(f, sc, s->n_servers, s->n_refclocks,
	    s->settle);
	fprintf(f, "\n  %-55s %10s %10s %10s\n", "over the seeds:", "mean",
	    "least", "greatest");
	for (int i = 0; i < NT_SIM_N_METRICS; i++)
		text_figure(f, s, i);
	for (int i = 0; i < NT_SIM_N_METRICS; i++) {
		if (!has_limit(sc, i))
			continue;
		if (n++ == 0)
			fprintf(f, "\nexpect:\n");
		text_limit(f, s, i, &sc->expect[i]);
	}
	if (n > 0 && s->n_failed == 0)
		fprintf(f, "all %d limits met by every seed\n", n);
	else if (n > 0)
		fprintf(f, "%d of %d seeds FAILED a limit (the first: seed "
		    "%llu)\n", s->n_failed, s->n,
		    (unsigned long long)s->first_failed);
}

static void
json_figures(struct nt_json *j, const struct nt_sim_seeds *s)
{
	nt_json_key(j, "figures");
	nt_json_begin_object(j);
	for (int i = 0; i < NT_SIM_N_METRICS; i++) {
		nt_json_key(j, nt_sim_metric_info[i].name);
		nt_json_begin_object(j);
		nt_json_key(j, "mean");
		nt_json_number(j, mean(s, i));
		nt_json_key(j, "min");
		nt_json_number(j, least(s, i));
		nt_json_key(j, "max");
		nt_json_number(j, greatest(s, i));
		nt_json_key(j, "runs");	/* where it exists */
		nt_json_int(j, s->have[i]);
		nt_json_end_object(j);
	}
	nt_json_end_object(j);
}

static void
json_expect(struct nt_json *j, const struct nt_sim_scenario *sc,
    const struct nt_sim_seeds *s)
{
	nt_json_key(j, "expect");
	nt_json_begin_object(j);
	for (int i = 0; i < NT_SIM_N_METRICS; i++) {
		if (!has_limit(sc, i))
			continue;
		nt_json_key(j, nt_sim_metric_info[i].name);
		nt_json_begin_object(j);
		nt_json_key(j, "min");
		nt_json_number(j, sc->expect[i].min);
		nt_json_key(j, "max");
		nt_json_number(j, sc->expect[i].max);
		nt_json_key(j, "failed");
		nt_json_int(j, s->failed[i]);
		nt_json_end_object(j);
	}
	nt_json_end_object(j);
}

void
nt_sim_seeds_json(FILE *f, const struct nt_sim_scenario *sc,
    const struct nt_sim_seeds *s)
{
	struct nt_json j;

	nt_sim_json_begin(&j, f, sc);
	nt_json_key(&j, "first_seed");
	nt_json_int(&j, (int64_t)s->first);
	nt_json_key(&j, "last_seed");
	nt_json_int(&j, (int64_t)s->last);
	nt_json_key(&j, "runs");
	nt_json_int(&j, s->n);
	nt_json_key(&j, "duration");
	nt_json_number(&j, s->duration);
	nt_json_key(&j, "settle");
	nt_json_number(&j, s->settle);
	json_figures(&j, s);
	json_expect(&j, sc, s);
	nt_json_key(&j, "failed");
	nt_json_int(&j, s->n_failed);
	nt_json_key(&j, "first_failed");
	if (s->n_failed > 0)
		nt_json_int(&j, (int64_t)s->first_failed);
	else
		nt_json_null(&j);
	nt_json_key(&j, "ok");
	nt_json_bool(&j, s->n_failed == 0);
	nt_json_end_object(&j);
	nt_json_finish(&j);
	fputc('\n', f);
}
