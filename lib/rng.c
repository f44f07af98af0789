/*
 * xoshiro256** seeded through splitmix64, plus the few distributions the
 * simulator needs.  Deterministic across platforms: integer arithmetic,
 * then one conversion to double.
 */
#include <math.h>

#include "rng.h"

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return (z ^ (z >> 31));
}

static uint64_t
rotl(uint64_t x, int k)
{
	return ((x << k) | (x >> (64 - k)));
}

void
nt_rng_seed(struct nt_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

uint64_t
nt_rng_u64(struct nt_rng *r)
{
	uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return (result);
}

double
nt_rng_uniform(struct nt_rng *r)
{
	return ((double)(nt_rng_u64(r) >> 11) * 0x1.0p-53);
}

double
nt_rng_normal(struct nt_rng *r)
{
	double u1 = 1.0 - nt_rng_uniform(r), u2 = nt_rng_uniform(r);

	/* Box-Muller; u1 in (0, 1] so the log is finite. */
	return (sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
}

double
nt_rng_exp(struct nt_rng *r, double mean)
{
	return (-mean * log(1.0 - nt_rng_uniform(r)));
}
