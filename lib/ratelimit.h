/*
 * Per-client rate limiting for the server: a token bucket per source
 * address, in a table whose size is fixed when it is made.  However many
 * addresses send to us (a flood with random spoofed sources included), the
 * memory stays what it was: a new address takes the slot of the least
 * recently seen one in its set.
 *
 * A bucket holds up to `burst` requests and refills at one per `interval`
 * seconds.  A request that finds it empty is limited; whether a limited
 * client is told so (KoD RATE) is decided by a second, one-token bucket
 * with the same refill, so a limited address gets at most one KoD per
 * interval: a spoofed flood cannot use us to reflect packets at a victim
 * faster than the limit itself.
 *
 * The table is keyed with SipHash and a random key, so that nobody can
 * pick addresses that land in one set to push a flooder out of it.
 * Sans-I/O: times come in as arguments.  One table per server thread.
 */
#ifndef NTIMED_RATELIMIT_H
#define NTIMED_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acl.h"
#include "timeutil.h"

#define NT_RL_WAYS 4		/* entries per set */
#define NT_RL_MIN_ENTRIES 16
#define NT_RL_MAX_ENTRIES (1u << 22)

struct nt_ratelimit_params {
	double	interval;	/* s per request, sustained; 0: no limit */
	double	burst;		/* requests allowed back to back, >= 1 */
	bool	kod;		/* limited clients may get KoD RATE */
	bool	loopback;	/* limit loopback clients too */
	uint32_t entries;	/* table size (rounded down to a power of 2) */
};

enum nt_rl_verdict {
	NT_RL_PASS = 0,		/* answer */
	NT_RL_KOD,		/* limited: answer with KoD RATE */
	NT_RL_DROP,		/* limited: no answer */
};

struct nt_rl_entry {
	struct nt_ipaddr addr;
	nt_time		last;	/* 0: free */
	float		tokens;
	float		kod_tokens;
};

struct nt_ratelimit {
	struct nt_ratelimit_params p;
	struct nt_rl_entry *tab;
	uint32_t	mask;	/* sets - 1 */
	uint64_t	k0, k1;	/* SipHash key */
	uint64_t	evictions;
};

/*
 * Returns 0 or -ENOMEM.  key: 16 random bytes (NULL: zero, for tests that
 * want the same table layout every run).
 */
int nt_ratelimit_init(struct nt_ratelimit *rl,
    const struct nt_ratelimit_params *p, const uint8_t *key);
void nt_ratelimit_free(struct nt_ratelimit *rl);

/* A valid request from ip arrived at now: may it be answered? */
enum nt_rl_verdict nt_ratelimit_check(struct nt_ratelimit *rl,
    const struct nt_ipaddr *ip, nt_time now);
/*
 * A denied client asks: may it get a KoD DENY?  Uses only the KoD bucket,
 * so a denied address gets at most one KoD per interval (per second when
 * limiting is off).
 */
bool nt_ratelimit_kod_ok(struct nt_ratelimit *rl, const struct nt_ipaddr *ip,
    nt_time now);

/* Entries in use (a scan; for tests and statistics). */
size_t nt_ratelimit_used(const struct nt_ratelimit *rl);
/* Bytes of table memory: fixed at init. */
size_t nt_ratelimit_bytes(const struct nt_ratelimit *rl);
/* Smallest poll (log2 s) that stays within the limit, for KoD RATE. */
int nt_ratelimit_poll(const struct nt_ratelimit_params *p);

#endif
