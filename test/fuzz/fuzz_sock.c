/*
 * Fuzz target: chrony's SOCK refclock datagram (nt_sock_decode), which
 * gpsd or any local process able to write to the socket sends.  A sample
 * the decoder accepts must be a finite, bounded time with valid leap
 * bits; anything else must be refused.  The datagram is copied to a
 * buffer of its exact size, so a read past it is caught.
 *
 * Then the input read as a sequence of datagrams, as one socket delivers
 * them: the ones the decoder accepts go through a refclock set (each
 * sample delivered as it is, and combined per 4 s), whose system clock
 * would label any pulse.  A refclock that gives time samples labels its
 * pulses from them alone: a pulse delivered is within 0.4 s of its last
 * time sample, and the set delivers one kind at a time (no time sample
 * while its pulses are used).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "refclock.h"

#define DGRAM sizeof(struct nt_sock_sample)

struct seq {
	struct nt_refclock_set set[2];	/* poll 0 and poll 2 */
	bool	have_time;
	double	last_time;		/* offset of the last time sample */
	uint64_t n_time_out;		/* time samples delivered (poll 0) */
};

static bool
synced(void *ctx, nt_time now, struct nt_refclock_sample *out)
{
	(void)ctx;
	memset(out, 0, sizeof *out);
	out->local = now;
	out->disp = 1e-3;
	return (true);
}

/* From the set that delivers each sample as it is. */
static void
delivered(void *ctx, int index, const struct nt_refclock_sample *s)
{
	struct seq *q = ctx;

	FZ_CHECK(index == 0 && !s->pulse && s->n == 1);
	FZ_CHECK(isfinite(s->offset) && isfinite(s->disp));
	if (!q->set[0].rc[0].use_pulses)
		return;
	FZ_CHECK(q->have_time);
	FZ_CHECK(fabs(s->offset - q->last_time) <= NT_PPS_MAX_DISAGREE + 1e-6);
}

/* From the set that combines them per 4 s. */
static void
combined(void *ctx, int index, const struct nt_refclock_sample *s)
{
	(void)ctx;
	FZ_CHECK(index == 0 && !s->pulse && s->n >= 1);
	FZ_CHECK(isfinite(s->offset) && isfinite(s->disp));
}

static void
feed(struct seq *q, const struct nt_sock_sample *ds)
{
	struct nt_refclock_sample s = { .n = 1 };
	uint64_t out0 = q->set[0].rc[0].n_out;

	s.local = (nt_time)ds->tv.tv_sec * NT_SEC +
	    (nt_time)ds->tv.tv_usec * 1000;
	s.offset = ds->offset;
	s.pulse = ds->pulse != 0;
	s.leap = ds->leap;
	for (int k = 0; k < 2; k++)
		nt_refclock_set_raw(&q->set[k], 0, &s);
	if (s.pulse)
		return;
	q->have_time = true;
	q->last_time = s.offset;
	if (q->set[0].rc[0].n_out != out0)
		FZ_CHECK(!q->set[0].rc[0].use_pulses);
}

static void
sequence(const uint8_t *data, size_t size)
{
	static struct nt_refclock_conf c[2];
	static struct seq q;
	char err[NT_RC_ERRLEN];
	uint8_t buf[DGRAM];
	struct nt_sock_sample ds;

	memset(&q, 0, sizeof q);
	for (int k = 0; k < 2; k++) {
		nt_refclock_conf_init(&c[k], nt_refclock_find_driver("sock"));
		c[k].path = (char *)"/run/chrony.fuzz.sock";
		c[k].poll = 2 * k;
		FZ_CHECK(nt_refclock_set_init(&q.set[k], NULL, &c[k], 1,
		    k == 0 ? delivered : combined, &q, err, sizeof err) == 0);
		nt_refclock_set_fallback(&q.set[k], synced);
	}
	for (size_t at = 0; at + DGRAM <= size; at += DGRAM) {
		memcpy(buf, data + at, DGRAM);
		if (nt_sock_decode(buf, DGRAM, &ds) == NT_SOCK_OK)
			feed(&q, &ds);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	nt_log_set_sink(fz_quiet, NULL);	/* the set says every change */
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nt_sock_sample s;
	enum nt_sock_verdict v;

	sequence(data, size);
	memset(&s, 0, sizeof s);
	v = nt_sock_decode(data, size, &s);
	FZ_CHECK(strcmp(nt_sock_strerror(v), "?") != 0);
	FZ_CHECK((v == NT_SOCK_SIZE) == (size != sizeof s));
	if (v != NT_SOCK_OK)
		return (0);
	FZ_CHECK(s.magic == NT_SOCK_MAGIC);
	FZ_CHECK(isfinite(s.offset) && fabs(s.offset) <= 1e9);
	FZ_CHECK(s.tv.tv_usec >= 0 && s.tv.tv_usec < 1000000);
	FZ_CHECK(s.leap >= 0 && s.leap <= 2);
	return (0);
}
