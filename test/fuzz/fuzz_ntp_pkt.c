/*
 * Fuzz target: the NTP codec and the client's reply checks, the first
 * code every datagram from the network meets.  Beyond "no crash, no read
 * outside the buffer", it checks what the rest of ntimed relies on: a
 * header that decodes encodes back to the same 48 bytes, the extension
 * fields and MAC account for every byte of an accepted packet, and a reply
 * judged OK really is a synchronized mode-4 answer to our request within
 * the distance limit.
 */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "ntp_pkt.h"

static void
check_layout(const struct ntp_pkt *p, size_t size)
{
	FZ_CHECK(NTP_HDR_LEN + (size_t)p->ext_len + p->mac_len == size);
	FZ_CHECK((size_t)p->n_ext * 16 <= p->ext_len);
	FZ_CHECK(p->ext_len % 4 == 0);
	FZ_CHECK(p->mac_len == 0 || p->mac_len == 4 || p->mac_len == 20 ||
	    p->mac_len == 24);
}

/* Decoding keeps every header bit: encoding gives the same bytes back. */
static void
check_round_trip(const struct ntp_pkt *p, const uint8_t *data)
{
	uint8_t out[NTP_HDR_LEN];
	struct ntp_pkt q;

	FZ_CHECK(ntp_encode(p, out, sizeof out) == NTP_HDR_LEN);
	FZ_CHECK(memcmp(out, data, NTP_HDR_LEN) == 0);
	FZ_CHECK(ntp_encode(p, out, sizeof out - 1) == 0);
	if (ntp_decode(out, sizeof out, &q) == NTP_DECODE_OK)
		FZ_CHECK(q.xmt == p->xmt && q.org == p->org &&
		    q.refid == p->refid && q.mode == p->mode);
}

static void
check_verdict(const struct ntp_pkt *p, uint64_t our_xmt, double max_dist)
{
	enum ntp_verdict v = ntp_check_reply(p, our_xmt, max_dist);

	FZ_CHECK(v >= NTP_REPLY_OK && v <= NTP_REPLY_DISTANCE);
	FZ_CHECK(strcmp(ntp_verdict_str(v), "unknown verdict") != 0);
	/* Only a reply echoing our transmit timestamp may say anything. */
	if (p->org != our_xmt)
		FZ_CHECK(v == NTP_REPLY_BOGUS_ORIGIN ||
		    v == NTP_REPLY_BAD_MODE || v == NTP_REPLY_BAD_VERSION);
	if (ntp_verdict_is_kod(v))
		FZ_CHECK(p->stratum == 0 && p->mode == NTP_MODE_SERVER);
	if (v != NTP_REPLY_OK)
		return;
	FZ_CHECK(p->mode == NTP_MODE_SERVER && p->org == our_xmt);
	FZ_CHECK(p->stratum >= 1 && p->stratum < NTP_MAX_STRATUM);
	FZ_CHECK(p->leap != NTP_LEAP_UNSYNC && p->xmt != 0);
	FZ_CHECK(ntp_root_distance(p) <= max_dist);
}

static void
check_refid(const struct ntp_pkt *p)
{
	char buf[NTP_REFID_STRLEN], tiny[3];

	ntp_refid_str(p->refid, p->stratum, buf, sizeof buf);
	FZ_CHECK(strnlen(buf, sizeof buf) < sizeof buf);
	for (size_t i = 0; buf[i] != '\0'; i++)
		FZ_CHECK(buf[i] >= 0x20 && buf[i] < 0x7f);
	ntp_refid_str(p->refid, p->stratum, tiny, sizeof tiny);
	FZ_CHECK(strnlen(tiny, sizeof tiny) < sizeof tiny);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum ntp_decode_err e;
	struct ntp_pkt p;
	double dist;

	e = ntp_decode(data, size, &p);
	FZ_CHECK(strcmp(ntp_decode_strerror(e), "unknown decode error") != 0);
	FZ_CHECK((e == NTP_DECODE_SHORT) == (size < NTP_HDR_LEN));
	FZ_CHECK((e == NTP_DECODE_LONG) == (size > NTP_MAX_PKT));
	if (e == NTP_DECODE_SHORT || e == NTP_DECODE_LONG)
		return (0);
	check_round_trip(&p, data);
	if (e != NTP_DECODE_OK)
		return (0);
	check_layout(&p, size);
	dist = ntp_root_distance(&p);
	FZ_CHECK(isfinite(dist) && dist >= 0);
	/* As the engine calls it (default limit), and with a matching origin. */
	check_verdict(&p, p.org, 3.0);
	check_verdict(&p, p.org ^ 1, 3.0);
	check_verdict(&p, p.org, dist);
	check_refid(&p);
	return (0);
}
