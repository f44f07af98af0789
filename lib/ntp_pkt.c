/*
 * The NTP wire format, in one file, so that every byte an untrusted peer
 * sends us is bounds-checked by the same few lines.  Nothing here does I/O
 * or reads a clock: the client, the server and the simulator all feed it
 * bytes and get plain structs back, and the tests can feed it garbage.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ntp_pkt.h"
#include "timeutil.h"

#define EXT_HDR_LEN 4		/* type (16 bits) + length (16 bits) */
#define EXT_MIN_LEN 16		/* RFC 7822 section 3 */

static uint16_t
get16(const uint8_t *p)
{
	return ((uint16_t)((unsigned)p[0] << 8 | p[1]));
}

static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3]);
}

static uint64_t
get64(const uint8_t *p)
{
	return ((uint64_t)get32(p) << 32 | get32(p + 4));
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

/* Legacy MAC sizes: crypto-NAK, key id + MD5, key id + SHA-1. */
static int
is_mac_len(size_t n)
{
	return (n == 4 || n == 20 || n == 24);
}

static void
decode_header(const uint8_t *buf, struct ntp_pkt *pkt)
{
	pkt->leap = buf[0] >> 6;
	pkt->version = (buf[0] >> 3) & 7;
	pkt->mode = buf[0] & 7;
	pkt->stratum = buf[1];
	pkt->poll = (int8_t)buf[2];
	pkt->precision = (int8_t)buf[3];
	pkt->root_delay = get32(buf + 4);
	pkt->root_disp = get32(buf + 8);
	pkt->refid = get32(buf + 12);
	pkt->ref = get64(buf + 16);
	pkt->org = get64(buf + 24);
	pkt->rec = get64(buf + 32);
	pkt->xmt = get64(buf + 40);
}

/*
 * Walk what follows the header: extension fields, then optionally a MAC.
 * A remainder of exactly 4, 20 or 24 bytes is a MAC, at the start as after
 * any field; otherwise a field header must fit and its length be sane.
 */
static enum ntp_decode_err
decode_trailer(const uint8_t *p, size_t rem, struct ntp_pkt *pkt)
{
	size_t flen;

	while (rem > 0) {
		if (is_mac_len(rem)) {
			pkt->mac_len = (uint16_t)rem;
			return (NTP_DECODE_OK);
		}
		if (rem < EXT_MIN_LEN)
			return (NTP_DECODE_EXTENSION);
		flen = get16(p + 2);
		if (flen < EXT_MIN_LEN || flen % 4 != 0 || flen > rem)
			return (NTP_DECODE_EXTENSION);
		pkt->n_ext++;
		pkt->ext_len = (uint16_t)(pkt->ext_len + flen);
		p += flen;
		rem -= flen;
	}
	return (NTP_DECODE_OK);
}

enum ntp_decode_err
ntp_decode(const uint8_t *buf, size_t len, struct ntp_pkt *pkt)
{
	assert(pkt != NULL);
	memset(pkt, 0, sizeof(*pkt));
	if (len < NTP_HDR_LEN)
		return (NTP_DECODE_SHORT);
	if (len > NTP_MAX_PKT)
		return (NTP_DECODE_LONG);
	assert(buf != NULL);
	/* The header is filled even when rejected, so callers can log it. */
	decode_header(buf, pkt);
	if (pkt->version == 0 || pkt->version > NTP_VERSION)
		return (NTP_DECODE_VERSION);
	return (decode_trailer(buf + NTP_HDR_LEN, len - NTP_HDR_LEN, pkt));
}

const char *
ntp_decode_strerror(enum ntp_decode_err err)
{
	switch (err) {
	case NTP_DECODE_OK:
		return ("ok");
	case NTP_DECODE_SHORT:
		return ("packet shorter than the 48-byte NTP header");
	case NTP_DECODE_VERSION:
		return ("unsupported NTP version (not 1-4)");
	case NTP_DECODE_EXTENSION:
		return ("malformed extension field or MAC");
	case NTP_DECODE_LONG:
		return ("packet longer than 1024 bytes");
	}
	return ("unknown decode error");
}

size_t
ntp_encode(const struct ntp_pkt *pkt, uint8_t *buf, size_t cap)
{
	assert(pkt != NULL);
	assert(pkt->leap <= 3 && pkt->version <= 7 && pkt->mode <= 7);
	if (buf == NULL || cap < NTP_HDR_LEN)
		return (0);
	buf[0] = (uint8_t)(pkt->leap << 6 | pkt->version << 3 | pkt->mode);
	buf[1] = pkt->stratum;
	buf[2] = (uint8_t)pkt->poll;
	buf[3] = (uint8_t)pkt->precision;
	put32(buf + 4, pkt->root_delay);
	put32(buf + 8, pkt->root_disp);
	put32(buf + 12, pkt->refid);
	put64(buf + 16, pkt->ref);
	put64(buf + 24, pkt->org);
	put64(buf + 32, pkt->rec);
	put64(buf + 40, pkt->xmt);
	return (NTP_HDR_LEN);
}

double
ntp_root_distance(const struct ntp_pkt *pkt)
{
	return (nt_from_ntp32(pkt->root_delay) / 2.0 +
	    nt_from_ntp32(pkt->root_disp));
}

bool
ntp_is_kiss_code(uint32_t refid)
{
	int n = 0;

	/* 1-4 printable ASCII characters, left-justified, NUL-padded. */
	for (int shift = 24; shift >= 0; shift -= 8) {
		unsigned ch = (refid >> shift) & 0xff;

		if (ch == 0)
			break;
		if (ch < 0x21 || ch > 0x7e)
			return (false);
		n++;
	}
	/* After the first NUL only NULs (n < 4: the shift stays below 32). */
	return (n == 4 || (n > 0 && (refid & (0xffffffffu >> (8 * n))) == 0));
}

static enum ntp_verdict
kod_verdict(uint32_t code)
{
	if (code == NTP_CODE("RATE"))
		return (NTP_REPLY_KOD_RATE);
	if (code == NTP_CODE("DENY"))
		return (NTP_REPLY_KOD_DENY);
	if (code == NTP_CODE("RSTR"))
		return (NTP_REPLY_KOD_RSTR);
	return (NTP_REPLY_KOD_OTHER);
}

enum ntp_verdict
ntp_check_reply(const struct ntp_pkt *pkt, uint64_t our_xmt,
    double max_root_dist)
{
	assert(pkt != NULL);
	if (pkt->version == 0 || pkt->version > NTP_VERSION)
		return (NTP_REPLY_BAD_VERSION);
	if (pkt->mode != NTP_MODE_SERVER)
		return (NTP_REPLY_BAD_MODE);
	/* Before the KoD checks: only a real reply may tell us to go away. */
	if (pkt->org != our_xmt)
		return (NTP_REPLY_BOGUS_ORIGIN);
	if (pkt->xmt == 0)
		return (NTP_REPLY_ZERO_XMT);
	/* Stratum 0 without a kiss code (OpenNTPD at start-up): unsynced. */
	if (pkt->stratum == 0 && ntp_is_kiss_code(pkt->refid))
		return (kod_verdict(pkt->refid));
	if (pkt->stratum == 0)
		return (NTP_REPLY_UNSYNC);
	if (pkt->leap == NTP_LEAP_UNSYNC || pkt->stratum >= NTP_MAX_STRATUM)
		return (NTP_REPLY_UNSYNC);
	if (pkt->rec == 0)
		return (NTP_REPLY_ZERO_REC);
	if (ntp_root_distance(pkt) > max_root_dist)
		return (NTP_REPLY_DISTANCE);
	return (NTP_REPLY_OK);
}

bool
ntp_delay_possible(double delay, int precision)
{
	assert(!isnan(delay));
	return (delay >= -(ldexp(1.0, precision) + 1e-6));
}

const char *
ntp_verdict_str(enum ntp_verdict v)
{
	switch (v) {
	case NTP_REPLY_OK:
		return ("ok");
	case NTP_REPLY_BAD_MODE:
		return ("not a server reply (mode is not 4)");
	case NTP_REPLY_BAD_VERSION:
		return ("unsupported NTP version");
	case NTP_REPLY_BOGUS_ORIGIN:
		return ("origin timestamp does not match our request");
	case NTP_REPLY_ZERO_XMT:
		return ("server transmit timestamp is zero");
	case NTP_REPLY_ZERO_REC:
		return ("server receive timestamp is zero");
	case NTP_REPLY_BAD_DELAY:
		return ("server timestamps span more than the round trip "
		    "(negative delay)");
	case NTP_REPLY_KOD_RATE:
		return ("kiss-o'-death RATE: polling too fast");
	case NTP_REPLY_KOD_DENY:
		return ("kiss-o'-death DENY: access denied");
	case NTP_REPLY_KOD_RSTR:
		return ("kiss-o'-death RSTR: access restricted");
	case NTP_REPLY_KOD_OTHER:
		return ("kiss-o'-death (stratum 0) with another code");
	case NTP_REPLY_UNSYNC:
		return ("server is not synchronized");
	case NTP_REPLY_DISTANCE:
		return ("root distance too large");
	case NTP_REPLY_MAX_DELAY:
		return ("round-trip delay above maxdelay");
	case NTP_REPLY_XLEAVE_SKIP:
		return ("interleaved reply for an exchange already sampled "
		    "or dropped");
	}
	return ("unknown verdict");
}

bool
ntp_verdict_is_kod(enum ntp_verdict v)
{
	return (v == NTP_REPLY_KOD_RATE || v == NTP_REPLY_KOD_DENY ||
	    v == NTP_REPLY_KOD_RSTR || v == NTP_REPLY_KOD_OTHER);
}

const char *
ntp_refid_str(uint32_t refid, int stratum, char *buf, size_t len)
{
	char code[5];
	size_t n = 0;

	assert(buf != NULL && len > 0);
	if (stratum >= 2) {
		snprintf(buf, len, "%u.%u.%u.%u", refid >> 24,
		    (refid >> 16) & 0xff, (refid >> 8) & 0xff, refid & 0xff);
		return (buf);
	}
	for (int shift = 24; shift >= 0; shift -= 8) {
		unsigned ch = (refid >> shift) & 0xff;

		if (ch >= 0x20 && ch < 0x7f)
			code[n++] = (char)ch;
	}
	code[n] = '\0';
	snprintf(buf, len, "%s", code);
	return (buf);
}
