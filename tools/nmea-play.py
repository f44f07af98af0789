#!/usr/bin/env python3
"""Replay an NMEA log into a pseudo-terminal as if a GPS receiver were there.

Why: the nmea refclock driver (and gpsd) read a serial device; a pty lets
them read a real receiver's capture with no hardware.  Each second, the
next cycle of the log (one RMC, or the first time sentence, to the next)
is written with its times and dates rewritten to that second (checksums
recomputed), --late seconds after the second starts, paced at --baud like
a serial line.  Lines starting with '#' are skipped; everything else
(junk, bad checksums) is replayed as is.

  tools/nmea-play.py --link /tmp/gps0 test/data/nmea/ublox-zed-f9p-nmea.log
  ntimed ... refclocks: [{ driver: nmea, device: /tmp/gps0, offset: 0.05 }]

Faults for tests: --nofix K (status V from cycle K for --nofix-for
seconds, default 2), --jump K (+3600 s in cycle K), --cut K (close
mid-sentence at cycle K, then a new pty under the same link, after
--cut-for seconds without one, default 0), --badsum K (wrong checksums
on the time sentences of cycle K).
"""
import argparse
import os
import sys
import time
import tty

TIME_TYPES = ("RMC", "GGA", "GNS", "ZDA", "GLL", "GST", "GBS")


def checksum(body):
    s = 0
    for c in body.encode("latin-1"):
        s ^= c
    return "%02X" % s


def rewrite(line, t, nofix, badsum=False):
    """Return line (bytes, no CR/LF) with its time fields set to t."""
    text = line.decode("latin-1")
    if not text.startswith("$") or len(text) < 7:
        return line
    star = text.find("*")
    body = text[1:star] if star >= 0 else text[1:]
    f = body.split(",")
    kind = f[0][2:] if not f[0].startswith("P") else ""
    if kind not in TIME_TYPES:
        return line
    tm = time.gmtime(t)
    hms = "%02d%02d%02d.00" % (tm.tm_hour, tm.tm_min, tm.tm_sec)
    if kind == "GLL" and len(f) > 5:
        f[5] = hms
    elif len(f) > 1:
        f[1] = hms
    if kind == "RMC" and len(f) > 9:
        f[9] = "%02d%02d%02d" % (tm.tm_mday, tm.tm_mon, tm.tm_year % 100)
        if nofix:
            f[2] = "V"
    if kind == "ZDA" and len(f) > 4:
        f[2:5] = ["%02d" % tm.tm_mday, "%02d" % tm.tm_mon,
                  "%04d" % tm.tm_year]
    if kind == "GGA" and nofix and len(f) > 6:
        f[6] = "0"
    body = ",".join(f)
    sum_ = "%02X" % (int(checksum(body), 16) ^ (0x5A if badsum else 0))
    out = "$" + body + ("*" + sum_ if star >= 0 else "")
    return out.encode("latin-1")


def cycles(path):
    """Split the log into one-second cycles, each a list of raw lines."""
    with open(path, "rb") as fh:
        lines = [l for l in fh.read().split(b"\n") if l and not l.startswith(b"#")]
    first = None
    for l in lines:
        s = l.decode("latin-1")
        i = s.find("$")
        if i >= 0 and s[i + 3:i + 6] in ("RMC", "ZDA", "GGA", "GNS"):
            first = s[i + 3:i + 6]
            break
    if first is None:
        sys.exit("%s: no RMC, ZDA, GGA or GNS sentence" % path)
    out, cur = [], []
    for l in lines:
        s = l.decode("latin-1")
        i = s.find("$")
        if i >= 0 and s[i + 3:i + 6] == first and cur:
            out.append(cur)
            cur = []
        cur.append(l)
    if cur:
        out.append(cur)
    return out


class Pty:
    def __init__(self, link):
        self.link = link
        self.master = None
        self.open()

    def open(self):
        master, slave = os.openpty()
        tty.setraw(master)
        name = os.ttyname(slave)
        os.close(slave)
        self.master = master
        if self.link:
            tmp = self.link + ".new"
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(name, tmp)
            os.rename(tmp, self.link)
        print("nmea-play: %s%s" % (name, " <- " + self.link if self.link else ""),
              file=sys.stderr, flush=True)

    def write(self, data, baud):
        if baud <= 0:
            os.write(self.master, data)
            return
        per = 10.0 / baud
        for i in range(0, len(data), 16):
            os.write(self.master, data[i:i + 16])
            time.sleep(per * len(data[i:i + 16]))

    def cut(self, data, gap):
        os.write(self.master, data[:len(data) // 2])
        os.close(self.master)
        if gap > 0:
            if self.link and os.path.islink(self.link):
                os.unlink(self.link)
            time.sleep(gap)
        self.open()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("log")
    ap.add_argument("--link", help="symlink to the pty's slave side")
    ap.add_argument("--late", type=float, default=0.05,
                    help="seconds after the second to send (default 0.05)")
    ap.add_argument("--baud", type=int, default=0,
                    help="pace the bytes like a serial line (0: at once)")
    ap.add_argument("--count", type=int, default=0,
                    help="cycles to send, 0: forever (the log loops)")
    ap.add_argument("--nofix", type=int, default=-1)
    ap.add_argument("--nofix-for", type=int, default=2)
    ap.add_argument("--jump", type=int, default=-1)
    ap.add_argument("--cut", type=int, default=-1)
    ap.add_argument("--cut-for", type=float, default=0)
    ap.add_argument("--badsum", type=int, default=-1)
    a = ap.parse_args()
    cyc = cycles(a.log)
    pty = Pty(a.link)
    k = 0
    sec = int(time.time()) + 1
    try:
        while a.count == 0 or k < a.count:
            time.sleep(max(0.0, sec + a.late - time.time()))
            t = sec + (3600 if k == a.jump else 0)
            nofix = a.nofix >= 0 and a.nofix <= k < a.nofix + a.nofix_for
            data = b"".join(rewrite(l.rstrip(b"\r"), t, nofix,
                                    k == a.badsum) + b"\r\n"
                            for l in cyc[k % len(cyc)])
            if k == a.cut:
                pty.cut(data, a.cut_for)
                sec = int(time.time())      # no backlog after the gap
            else:
                pty.write(data, a.baud)
            k += 1
            sec += 1
    except KeyboardInterrupt:
        pass
    finally:
        if a.link and os.path.islink(a.link):
            os.unlink(a.link)


if __name__ == "__main__":
    main()
