/*
 * Source selection: which sources agree on the time, and what the
 * agreeing ones say together.  Pure arithmetic on intervals.
 *
 * Each candidate is an interval [offset - distance, offset + distance]
 * that must contain the true offset if the source is honest.  Marzullo's
 * algorithm finds the region covered by the most intervals; only a strict
 * majority of candidates counts, so two liars out of five are outvoted and
 * three disagreeing liars out of five leave us with no answer at all.
 *
 * Trusted candidates (chrony's "trust") come first: the region is the one
 * covered by the most of them, then by the most candidates, and only a
 * majority of the trusted ones is needed; an untrusted candidate must also
 * lie within the interval the agreeing trusted ones share, so it cannot
 * pull the result out of it.  Without trusted candidates this is plain
 * Marzullo.
 */
#ifndef NTIMED_SELECT_H
#define NTIMED_SELECT_H

#include <stdbool.h>
#include <stddef.h>

#define NT_SELECT_MAX 64
#define NT_COMBINE_LIMIT 3.0	/* combine sources up to 3x the best distance */

struct nt_candidate {
	double	offset;		/* s */
	double	distance;	/* s: half-width of the correctness interval */
	double	var;		/* variance of offset, s^2 */
	double	freq;		/* our frequency error against it, s/s */
	double	freq_var;
	int	stratum;
	bool	prefer;
	bool	trust;		/* only other trusted ones can outvote it */
	bool	require;	/* counts for need_required */
	/* Results. */
	bool	truechimer;
	bool	combined;
};

struct nt_selection {
	bool	ok;		/* a majority agreed */
	bool	no_required;	/* it did, but no required candidate is in it */
	int	n_truechimers;
	int	selected;	/* index of the system peer, -1 if none */
	double	lo, hi;		/* the majority's intersection */
	double	offset;		/* combined offset, s */
	double	offset_var;
	double	freq;		/* combined frequency error, s/s */
	double	freq_var;
	double	distance;	/* the selected candidate's distance */
};

/*
 * Run selection over n candidates (n <= NT_SELECT_MAX); marks each
 * candidate's truechimer/combined flags.  min_sources truechimers are
 * required for ok, and with need_required (some source is configured with
 * "require", a candidate now or not) one of them must be a require one.
 */
void nt_select(struct nt_candidate *c, size_t n, int min_sources,
    bool need_required, struct nt_selection *out);

#endif
