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

/* Find the region covered by the most intervals; returns that count. */
static int
intersect(const struct nt_candidate *c, size_t n, double *lo, double *hi)
{
	struct edge e[2 * NT_SELECT_MAX];
	int depth = 0, best = 0;

	for (size_t i = 0; i < n; i++) {
		e[2 * i].v = c[i].offset - c[i].distance;
		e[2 * i].type = 1;
		e[2 * i + 1].v = c[i].offset + c[i].distance;
		e[2 * i + 1].type = -1;
	}
	qsort(e, 2 * n, sizeof e[0], edge_cmp);
	for (size_t i = 0; i < 2 * n; i++) {
		depth += e[i].type;
		if (e[i].type > 0 && depth > best) {
			best = depth;
			*lo = e[i].v;
			*hi = e[i + 1].v;	/* next edge ends the region */
		}
	}
	return (best);
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
    struct nt_selection *out)
{
	int depth;

	assert(n <= NT_SELECT_MAX);
	out->ok = false;
	out->n_truechimers = 0;
	out->selected = -1;
	for (size_t i = 0; i < n; i++) {
		assert(c[i].distance >= 0);
		c[i].truechimer = false;
		c[i].combined = false;
	}
	if (n == 0)
		return;
	depth = intersect(c, n, &out->lo, &out->hi);
	if (2 * depth <= (int)n)
		return;		/* no strict majority */
	for (size_t i = 0; i < n; i++) {
		if (c[i].offset - c[i].distance <= out->lo &&
		    c[i].offset + c[i].distance >= out->hi) {
			c[i].truechimer = true;
			out->n_truechimers++;
		}
	}
	assert(out->n_truechimers == depth);
	if (out->n_truechimers < min_sources)
		return;
	out->selected = pick_peer(c, n);
	out->distance = c[out->selected].distance;
	combine(c, n, out);
	out->ok = true;
}
