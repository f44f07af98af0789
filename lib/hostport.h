/*
 * "HOST", "HOST:PORT", "[V6]", "[V6]:PORT", "V6" parsing for command lines
 * and config values.  Pure string work, no resolution.
 */
#ifndef NTIMED_HOSTPORT_H
#define NTIMED_HOSTPORT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Split arg into host and port.  A bare IPv6 address (two or more colons,
 * no brackets) is a host without port.  port is set to default_port when
 * absent.  Returns 0, or -1 with a one-line reason in err.
 */
int nt_parse_hostport(const char *arg, char *host, size_t hostlen,
    uint16_t *port, uint16_t default_port, char *err, size_t errlen);

/*
 * s for an error message: C0 and C1 controls, DEL, invisible characters
 * that mislead (bidirectional controls, line separators, the BOM) and
 * bytes that are not UTF-8 as "\xNN", cut with "..." to fit len (>= 8),
 * so that no argument or config value can break a message's single line
 * or send escapes to a terminal.  Returns buf.
 */
const char *nt_printable(const char *s, char *buf, size_t len);

#endif
