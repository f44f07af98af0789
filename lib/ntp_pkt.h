/*
 * NTP packet codec (RFC 5905 header, RFC 7822 extension fields) and the
 * checks a client applies to a reply.  Sans-I/O: bytes in, structs out.
 *
 * Timestamps stay in their raw 64-bit wire form here; converting them to
 * nt_time needs a pivot (see timeutil.h), which is the caller's business.
 */
#ifndef NTIMED_NTP_PKT_H
#define NTIMED_NTP_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NTP_HDR_LEN 48
#define NTP_MAX_PKT 1024	/* largest datagram we ever build or accept */
#define NTP_PORT 123
#define NTP_VERSION 4
#define NTP_MAX_STRATUM 16	/* 16 = unsynchronized */
#define NTP_MINPOLL 4		/* RFC 5905 */
#define NTP_MAXPOLL 17

enum ntp_mode {
	NTP_MODE_RESERVED = 0,
	NTP_MODE_ACTIVE = 1,
	NTP_MODE_PASSIVE = 2,
	NTP_MODE_CLIENT = 3,
	NTP_MODE_SERVER = 4,
	NTP_MODE_BROADCAST = 5,
	NTP_MODE_CONTROL = 6,
	NTP_MODE_PRIVATE = 7,
};

enum ntp_leap {
	NTP_LEAP_NONE = 0,
	NTP_LEAP_INSERT = 1,	/* last minute of the day has 61 s */
	NTP_LEAP_DELETE = 2,	/* last minute of the day has 59 s */
	NTP_LEAP_UNSYNC = 3,	/* alarm: clock not synchronized */
};

struct ntp_pkt {
	uint8_t		leap;		/* enum ntp_leap */
	uint8_t		version;	/* 1..7 on the wire */
	uint8_t		mode;		/* enum ntp_mode */
	uint8_t		stratum;	/* 0 = KoD/unspecified */
	int8_t		poll;		/* log2 seconds */
	int8_t		precision;	/* log2 seconds */
	uint32_t	root_delay;	/* NTP short format (16.16) */
	uint32_t	root_disp;	/* NTP short format (16.16) */
	uint32_t	refid;		/* host byte order */
	uint64_t	ref;		/* reference timestamp */
	uint64_t	org;		/* origin timestamp */
	uint64_t	rec;		/* receive timestamp */
	uint64_t	xmt;		/* transmit timestamp */
	/* Filled by ntp_decode() only: */
	uint16_t	n_ext;		/* extension fields found (skipped) */
	uint16_t	ext_len;	/* bytes of extension fields */
	uint16_t	mac_len;	/* bytes of legacy MAC after them, 0 if none */
};

/* Results of ntp_decode(). */
enum ntp_decode_err {
	NTP_DECODE_OK = 0,
	NTP_DECODE_SHORT,	/* fewer than 48 bytes */
	NTP_DECODE_VERSION,	/* version 0 or above 4 */
	NTP_DECODE_EXTENSION,	/* malformed extension field or trailer */
	NTP_DECODE_LONG,	/* more than NTP_MAX_PKT bytes */
};

/*
 * Decode a datagram.  Extension fields (RFC 7822: type, length >= 16,
 * length a multiple of 4, inside the datagram) are validated and skipped;
 * a trailing legacy MAC (4, 20 or 24 bytes) is recognised.  Any other
 * trailing bytes make the packet malformed.  Never reads outside buf.
 */
enum ntp_decode_err ntp_decode(const uint8_t *buf, size_t len,
    struct ntp_pkt *pkt);
const char *ntp_decode_strerror(enum ntp_decode_err err);

/* Write the 48-byte header; returns NTP_HDR_LEN, or 0 if cap is too small. */
size_t ntp_encode(const struct ntp_pkt *pkt, uint8_t *buf, size_t cap);

/* Four-character refid/KoD code as a host-order uint32, e.g. NTP_CODE("RATE"). */
#define NTP_CODE(s) \
	((uint32_t)(uint8_t)(s)[0] << 24 | (uint32_t)(uint8_t)(s)[1] << 16 | \
	 (uint32_t)(uint8_t)(s)[2] << 8 | (uint32_t)(uint8_t)(s)[3])

/* What a client makes of a reply, best first. */
enum ntp_verdict {
	NTP_REPLY_OK = 0,
	NTP_REPLY_BAD_MODE,	/* not mode 4 (mode 5 broadcast is ignored too) */
	NTP_REPLY_BAD_VERSION,	/* not 1..4 */
	NTP_REPLY_BOGUS_ORIGIN,	/* origin != our transmit: stale, duplicate or forged */
	NTP_REPLY_ZERO_XMT,	/* server transmit timestamp is zero */
	NTP_REPLY_ZERO_REC,	/* server receive timestamp is zero */
	NTP_REPLY_BAD_DELAY,	/* negative delay: the server's times are wrong */
	NTP_REPLY_KOD_RATE,	/* Kiss-o'-Death: slow down */
	NTP_REPLY_KOD_DENY,	/* Kiss-o'-Death: access denied, stop */
	NTP_REPLY_KOD_RSTR,	/* Kiss-o'-Death: restricted, stop */
	NTP_REPLY_KOD_OTHER,	/* stratum 0 with another code */
	NTP_REPLY_UNSYNC,	/* leap = 3 or stratum >= 16: not selectable */
	NTP_REPLY_DISTANCE,	/* root distance above the limit */
	NTP_REPLY_MAX_DELAY,	/* round trip above the source's maxdelay
				   (nt_source_reply(), not ntp_check_reply()) */
	NTP_REPLY_XLEAVE_SKIP,	/* interleaved, for an exchange already
				   sampled or dropped: no sample (ditto) */
};

/*
 * Check a decoded reply against the transmit timestamp we sent.  Origin is
 * checked before KoD so that a forged KoD cannot silence a server.
 * max_root_dist: root_delay/2 + root_disp must not exceed it.
 */
enum ntp_verdict ntp_check_reply(const struct ntp_pkt *pkt, uint64_t our_xmt,
    double max_root_dist);
const char *ntp_verdict_str(enum ntp_verdict v);
/*
 * Whether a reply's round-trip delay, (t4 - t1) - (t3 - t2), can be: not
 * negative beyond the server's precision (log2 s) and our timestamps'
 * 1 us.  A server that took longer between receive and transmit than our
 * whole round trip has wrong timestamps, and its sample would claim to be
 * exact (NTP_REPLY_BAD_DELAY).
 */
bool ntp_delay_possible(double delay, int precision);
/* A stratum-0 refid that is a kiss code: 1-4 printable ASCII, NUL-padded. */
bool ntp_is_kiss_code(uint32_t refid);
/* True for the KoD verdicts. */
bool ntp_verdict_is_kod(enum ntp_verdict v);

/* Root distance of a reply's header: root_delay/2 + root_disp, seconds. */
double ntp_root_distance(const struct ntp_pkt *pkt);

/*
 * Refid as text: dotted IPv4 for stratum >= 2, else the 4-character code
 * with unprintable bytes dropped ("GPS", "RATE", "LOCL").
 */
#define NTP_REFID_STRLEN 16
const char *ntp_refid_str(uint32_t refid, int stratum, char *buf, size_t len);

#endif
