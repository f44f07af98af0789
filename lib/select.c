/*
 * Marzullo-style intersection, then the choice of a system peer and an
 * inverse-variance average of the agreeing sources.
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>

#include "select.h"

struct edge {
	double	v;
	int	type;	/* +1 opens an interval, -1 closes one */
	bool	trust;	/* a trusted candidate's */
};

/* The region chosen: covered by the most trusted, then the most of all. */
struct region {
	double	lo, hi;
	int	depth;		/* candidates covering it */
	int	trusted;	/* trusted ones among them */
};

static int
edge_cmp(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;

	if (x->v < y->v)
		return (-1);
	if (x->v > y->v)
		return (1);
	return (y->type - x->type);	/* open before close: closed intervals */
}

static void
intersect(const struct nt_candidate *c, size_t n, struct region *best)
{
	struct edge e[2 * NT_SELECT_MAX];
	int depth = 0, trusted = 0;

	best->depth = best->trusted = 0;
	best->lo = best->hi = 0;
	for (size_t i = 0; i < n; i++) {
		e[2 * i].v = c[i].offset - c[i].distance;
		e[2 * i].type = 1;
		e[2 * i + 1].v = c[i].offset + c[i].distance;
		e[2 * i + 1].type = -1;
		e[2 * i].trust = e[2 * i + 1].trust = c[i].trust;
	}
	qsort(e, 2 * n, sizeof e[0], edge_cmp);
	for (size_t i = 0; i < 2 * n; i++) {
		depth += e[i].type;
		trusted += e[i].trust ? e[i].type : 0;
		if (e[i].type > 0 && (trusted > best->trusted ||
		    (trusted == best->trusted && depth > best->depth))) {
			best->trusted = trusted;
			best->depth = depth;
			best->lo = e[i].v;
			best->hi = e[i + 1].v;	/* next edge ends the region */
		}
	}
}

static bool
covers(const struct nt_candidate *c, double lo, double hi)
{
	return (c->offset - c->distance <= lo && c->offset + c->distance >= hi);
}

/* A strict majority of the candidates, or of the trusted ones if any agree. */
static bool
majority(const struct nt_candidate *c, size_t n, const struct region *r)
{
	int n_trusted = 0;

	if (r->trusted == 0)
		return (2 * r->depth > (int)n);
	for (size_t i = 0; i < n; i++)
		n_trusted += c[i].trust;
	return (2 * r->trusted > n_trusted);
}

/*
 * Mark the candidates that hold the region; with trusted ones there, the
 * others must also lie within what those share.
 */
static int
mark_truechimers(struct nt_candidate *c, size_t n, const struct region *r)
{
	double tlo = -INFINITY, thi = INFINITY;
	int count = 0;

	for (size_t i = 0; i < n; i++) {
		if (!c[i].trust || !covers(&c[i], r->lo, r->hi))
			continue;
		tlo = fmax(tlo, c[i].offset - c[i].distance);
		thi = fmin(thi, c[i].offset + c[i].distance);
	}
	for (size_t i = 0; i < n; i++) {
		if (!covers(&c[i], r->lo, r->hi) || (!c[i].trust &&
		    (c[i].offset - c[i].distance < tlo ||
		    c[i].offset + c[i].distance > thi)))
			continue;
		c[i].truechimer = true;
		count++;
	}
	return (count);
}

static bool
has_required(const struct nt_candidate *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].truechimer && c[i].require)
			return (true);
	return (false);
}

static int
pick_peer(const struct nt_candidate *c, size_t n)
{
	int best = -1;

	for (size_t i = 0; i < n; i++) {
		if (!c[i].truechimer)
			continue;
		if (best < 0 || (c[i].prefer && !c[best].prefer) ||
		    (c[i].prefer == c[best].prefer &&
		    c[i].distance < c[best].distance))
			best = (int)i;
	}
	return (best);
}

static void
combine(struct nt_candidate *c, size_t n, struct nt_selection *out)
{
	const struct nt_candidate *peer = &c[out->selected];
	double w_sum = 0, o_sum = 0, fw_sum = 0, f_sum = 0;

	for (size_t i = 0; i < n; i++) {
		double w;

		if (!c[i].truechimer ||
		    c[i].distance > NT_COMBINE_LIMIT * peer->distance ||
		    (peer->prefer && !c[i].prefer))
			continue;
		c[i].combined = true;
		w = 1.0 / fmax(c[i].var, 1e-18);
		w_sum += w;
		o_sum += w * c[i].offset;
		if (isfinite(c[i].freq_var) && c[i].freq_var > 0) {
			fw_sum += 1.0 / c[i].freq_var;
			f_sum += c[i].freq / c[i].freq_var;
		}
	}
	assert(w_sum > 0);
	out->offset = o_sum / w_sum;
	out->offset_var = 1.0 / w_sum;
	out->freq = fw_sum > 0 ? f_sum / fw_sum : 0.0;
	out->freq_var = fw_sum > 0 ? 1.0 / fw_sum : INFINITY;
}

void
nt_select(struct nt_candidate *c, size_t n, int min_sources,
    bool need_required, struct nt_selection *out)
{
	struct region r;

	assert(n <= NT_SELECT_MAX);
	out->ok = false;
	out->no_required = false;
	out->n_truechimers = 0;
	out->selected = -1;
	for (size_t i = 0; i < n; i++) {
		assert(c[i].distance >= 0);
		c[i].truechimer = false;
		c[i].combined = false;
	}
	if (n == 0)
		return;
	intersect(c, n, &r);
	out->lo = r.lo;
	out->hi = r.hi;
	if (!majority(c, n, &r))
		return;
	out->n_truechimers = mark_truechimers(c, n, &r);
	assert(r.trusted > 0 ? out->n_truechimers <= r.depth :
	    out->n_truechimers == r.depth);
	if (out->n_truechimers < min_sources)
		return;
	if (need_required && !has_required(c, n)) {
		out->no_required = true;
		return;
	}
	out->selected = pick_peer(c, n);
	out->distance = c[out->selected].distance;
	combine(c, n, out);
	out->ok = true;
}
