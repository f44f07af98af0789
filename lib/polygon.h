/*
 * Convex polygons in the plane of (offset a, frequency b): the geometry
 * under a source's estimate (source_fit.c).  Each sample says that the
 * offset it saw, a + b x at its time x, lies in a slab; the slabs'
 * intersection is a convex polygon that holds the truth.  Here are the
 * clipping, the ranges, the centroid and the mean of a density tilted
 * along one direction, apart from the statistics that decide which
 * slabs and which tilt, so that each reads on its own.
 */
#ifndef NTIMED_POLYGON_H
#define NTIMED_POLYGON_H

#include <stdbool.h>

/* A box cut by 32 slabs: 4 + 2 * 31 vertices at the most. */
#define NT_POLY_MAX 72

struct nt_poly {
	int	n;		/* vertices, in order around it; 0: empty */
	double	a[NT_POLY_MAX];	/* offset, s */
	double	b[NT_POLY_MAX];	/* frequency, s/s */
};

/* Into q, the part of p where sign * (a + b x - w) <= 0. */
void nt_poly_clip(const struct nt_poly *p, struct nt_poly *q, double x,
    double w, double sign);
/*
 * Which sides of the slab lo <= a + b x <= hi cut p: NT_CUT_HI when a + b x
 * exceeds hi somewhere on p, NT_CUT_LO when it falls below lo (a NaN cuts
 * both).  Clipping by a side that does not cut gives p back unchanged.
 */
#define NT_CUT_HI 1u
#define NT_CUT_LO 2u
unsigned nt_poly_cuts(const struct nt_poly *p, double x, double lo,
    double hi);
/* The range of a + b x, and of b, over p. */
void nt_poly_range(const struct nt_poly *p, double x, double *lo,
    double *hi, double *blo, double *bhi);
/* The centroid of p's area; the middle when it has none to speak of. */
void nt_poly_centroid(const struct nt_poly *p, double *a, double *b);
/*
 * The mean of the density exp(lambda (a + b x)) over p: the centroid
 * when lambda is too small to matter.
 */
void nt_poly_tilted_mean(const struct nt_poly *p, double x, double lambda,
    double *a, double *b);
/*
 * Into q, the part of p where that density is at least e^-span of its
 * peak over p.
 */
void nt_poly_peak(const struct nt_poly *p, struct nt_poly *q, double x,
    double lambda, double span);

#endif
