/*
 * A small seeded PRNG (xoshiro256**) for the simulator and tests, where
 * the same seed must give the same run.  Never used for anything an
 * attacker could guess to his advantage: packets use arc4random.
 */
#ifndef NTIMED_RNG_H
#define NTIMED_RNG_H

#include <stdint.h>

struct nt_rng {
	uint64_t s[4];
};

void nt_rng_seed(struct nt_rng *r, uint64_t seed);
uint64_t nt_rng_u64(struct nt_rng *r);
double nt_rng_uniform(struct nt_rng *r);		/* [0, 1) */
double nt_rng_normal(struct nt_rng *r);			/* mean 0, sd 1 */
double nt_rng_exp(struct nt_rng *r, double mean);

#endif
