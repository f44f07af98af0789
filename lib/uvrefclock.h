/*
 * The real-time adapter for reference clocks: opens every configured
 * refclock, polls descriptor drivers (nmea, sock) with uv_poll and reads
 * timer drivers (pps, shm, phc, local) with uv_timer, and feeds what they
 * read to the refclock set (refclock.h), whose callback gets the samples.
 *
 * Devices come and go (USB receivers are unplugged, gpsd restarts): a
 * device that cannot be opened, or that fails (EOF, EIO, ENODEV), is
 * closed and reopened with back-off (1 s doubling to 64 s), and each
 * change is logged once: "refclock GPS (/dev/ttyUSB0): device lost: ...",
 * "... reopened after 12 s".  A refclock that stays silent for
 * NT_UVRC_SILENT_S is reported too.
 */
#ifndef NTIMED_UVREFCLOCK_H
#define NTIMED_UVREFCLOCK_H

#include <uv.h>

#include "refclock.h"

#define NT_UVRC_BACKOFF_MIN	1.0	/* s */
#define NT_UVRC_BACKOFF_MAX	64.0
#define NT_UVRC_STABLE_S	10.0	/* open this long: back-off resets */
#define NT_UVRC_SILENT_S	60.0	/* no sample this long: say so */

struct nt_uvrefclock;

/*
 * Open every refclock of confs (which must outlive the adapter); failures
 * are retried, never fatal.  Returns NULL with err filled only for a
 * config the set refuses (see nt_refclock_set_init()).
 */
struct nt_uvrefclock *nt_uvrefclock_new(uv_loop_t *loop, struct nt_clock *clk,
    const struct nt_refclock_conf *confs, size_t n,
    nt_refclock_sample_fn *on_sample, void *ctx, char *err, size_t errlen);
/* The engine's clock as the pair of unpaired pulses (see refclock.h). */
void nt_uvrefclock_set_fallback(struct nt_uvrefclock *u,
    nt_refclock_fallback_fn *fn);
/* Close devices and handles; the caller then runs the loop until empty. */
void nt_uvrefclock_close(struct nt_uvrefclock *u);
void nt_uvrefclock_free(struct nt_uvrefclock *u);

size_t nt_uvrefclock_n(const struct nt_uvrefclock *u);
const struct nt_refclock *nt_uvrefclock_get(const struct nt_uvrefclock *u,
    size_t i);
bool nt_uvrefclock_is_open(const struct nt_uvrefclock *u, size_t i);
/* Times refclock i was (re)opened, and lost. */
unsigned nt_uvrefclock_opens(const struct nt_uvrefclock *u, size_t i);
unsigned nt_uvrefclock_losses(const struct nt_uvrefclock *u, size_t i);
/*
 * While refclock i is closed: why (the driver's words, as logged), with
 * *state "cannot open" or "device lost" (not retried yet); NULL while it
 * is open.  For 'ntimed query sources', which has no sample to show.
 */
const char *nt_uvrefclock_error(const struct nt_uvrefclock *u, size_t i,
    const char **state);

#endif
