/*
 * Token buckets per client address in a fixed, set-associative table.
 * Why fixed: the addresses of a flood are the attacker's choice, so any
 * table that grows with them is memory the attacker controls.  Here a set
 * of NT_RL_WAYS entries is picked by a keyed hash of the address; a new
 * address replaces the set's least recently seen entry.  A real flooder
 * is seen all the time and stays put; what gets evicted is a quiet
 * address, which then starts again with a full bucket -- a small gift, as
 * a client that has been quiet deserves one anyway.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

#define KOD_DEFAULT_INTERVAL 1.0	/* s, denied KoDs when not limiting */

/* ---- SipHash-2-4 of a 16-byte message ---- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void
sip_round(uint64_t v[4])
{
	v[0] += v[1]; v[1] = ROTL(v[1], 13); v[1] ^= v[0];
	v[0] = ROTL(v[0], 32);
	v[2] += v[3]; v[3] = ROTL(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = ROTL(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = ROTL(v[1], 17); v[1] ^= v[2];
	v[2] = ROTL(v[2], 32);
}

static uint64_t
le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return (v);
}

static void
sip_absorb(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	sip_round(v);
	sip_round(v);
	v[0] ^= m;
}

static uint64_t
siphash16(uint64_t k0, uint64_t k1, const uint8_t in[16])
{
	uint64_t v[4] = {
		0x736f6d6570736575ULL ^ k0, 0x646f72616e646f6dULL ^ k1,
		0x6c7967656e657261ULL ^ k0, 0x7465646279746573ULL ^ k1,
	};

	sip_absorb(v, le64(in));
	sip_absorb(v, le64(in + 8));
	sip_absorb(v, (uint64_t)16 << 56);	/* length, no tail bytes */
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sip_round(v);
	return (v[0] ^ v[1] ^ v[2] ^ v[3]);
}

/* ---- The table ---- */

int
nt_ratelimit_init(struct nt_ratelimit *rl,
    const struct nt_ratelimit_params *p, const uint8_t *key)
{
	uint32_t n = NT_RL_MIN_ENTRIES;

	assert(p->interval >= 0 && p->burst >= 1);
	memset(rl, 0, sizeof *rl);
	rl->p = *p;
	while (n * 2 <= p->entries && n * 2 <= NT_RL_MAX_ENTRIES)
		n *= 2;
	rl->p.entries = n;
	/* calloc: pages nobody has touched take no memory. */
	rl->tab = calloc(n, sizeof *rl->tab);
	if (rl->tab == NULL)
		return (-ENOMEM);
	rl->mask = n / NT_RL_WAYS - 1;
	if (key != NULL) {
		rl->k0 = le64(key);
		rl->k1 = le64(key + 8);
	}
	return (0);
}

void
nt_ratelimit_free(struct nt_ratelimit *rl)
{
	free(rl->tab);
	rl->tab = NULL;
}

/* The entry for ip, found or taken over from the set's oldest. */
static struct nt_rl_entry *
lookup(struct nt_ratelimit *rl, const struct nt_ipaddr *ip, nt_time now,
    double burst)
{
	uint32_t set = (uint32_t)siphash16(rl->k0, rl->k1, ip->b) & rl->mask;
	struct nt_rl_entry *e = &rl->tab[(size_t)set * NT_RL_WAYS];
	struct nt_rl_entry *victim = e;

	for (int i = 0; i < NT_RL_WAYS; i++) {
		if (e[i].last != 0 && memcmp(e[i].addr.b, ip->b, 16) == 0)
			return (&e[i]);
		if (e[i].last < victim->last)
			victim = &e[i];
	}
	if (victim->last != 0)
		rl->evictions++;
	victim->addr = *ip;
	victim->last = now;
	victim->tokens = (float)burst;
	victim->kod_tokens = 1;
	return (victim);
}

/*
 * Refill both buckets for the time since the entry was last seen.  When
 * our clock was stepped back, the time since counts from now: waiting
 * for the clock to pass the old `last` would silence a limited client
 * for as long as the step.
 */
static void
refill(struct nt_rl_entry *e, nt_time now, double interval, double burst)
{
	double dt = nt_diff(now, e->last);

	if (dt > 0) {
		e->tokens = (float)fmin(burst, e->tokens + dt / interval);
		e->kod_tokens = (float)fmin(1.0, e->kod_tokens + dt / interval);
	}
	e->last = now;
}

enum nt_rl_verdict
nt_ratelimit_check(struct nt_ratelimit *rl, const struct nt_ipaddr *ip,
    nt_time now)
{
	struct nt_rl_entry *e;

	if (rl->p.interval <= 0 ||
	    (!rl->p.loopback && nt_ipaddr_is_loopback(ip)))
		return (NT_RL_PASS);
	if (now == 0)
		now = 1;		/* 0 marks a free entry */
	e = lookup(rl, ip, now, rl->p.burst);
	refill(e, now, rl->p.interval, rl->p.burst);
	if (e->tokens >= 1) {
		e->tokens -= 1;
		return (NT_RL_PASS);
	}
	if (rl->p.kod && e->kod_tokens >= 1) {
		e->kod_tokens -= 1;
		return (NT_RL_KOD);
	}
	return (NT_RL_DROP);
}

bool
nt_ratelimit_kod_ok(struct nt_ratelimit *rl, const struct nt_ipaddr *ip,
    nt_time now)
{
	double interval = rl->p.interval > 0 ? rl->p.interval :
	    KOD_DEFAULT_INTERVAL;
	double burst = rl->p.interval > 0 ? rl->p.burst : 1;
	struct nt_rl_entry *e;

	if (now == 0)
		now = 1;
	e = lookup(rl, ip, now, burst);
	refill(e, now, interval, burst);
	if (e->kod_tokens < 1)
		return (false);
	e->kod_tokens -= 1;
	return (true);
}

size_t
nt_ratelimit_used(const struct nt_ratelimit *rl)
{
	size_t n = 0;

	for (size_t i = 0; i < rl->p.entries; i++)
		n += rl->tab[i].last != 0;
	return (n);
}

size_t
nt_ratelimit_bytes(const struct nt_ratelimit *rl)
{
	return ((size_t)rl->p.entries * sizeof *rl->tab);
}

int
nt_ratelimit_poll(const struct nt_ratelimit_params *p)
{
	int poll = 0;

	while (poll < 17 && ldexp(1.0, poll) < p->interval)
		poll++;
	return (poll);
}
