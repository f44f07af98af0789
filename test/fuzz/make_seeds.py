#!/usr/bin/python3
"""Write the fuzz targets' seed corpora under test/fuzz/corpus/.

Seeds are what real peers send, so the fuzzer starts from the shapes that
matter: replies captured from a local chronyd (run with -x: it never
touches the clock), requests captured from ntpsec's ntpdig (which only
talks to port 123, so it runs in a network namespace of ours), and
hand-built packets for what those will not send on demand (Kiss-o'-Death,
legacy MACs, NTS-style extension fields, mode 6/7 queries, ntpsec-style
replies).  Run as root from the source tree; the output is committed, so
this only needs re-running to refresh the captures:

    sudo /usr/bin/python3 test/fuzz/make_seeds.py
    /usr/bin/python3 test/fuzz/make_seeds.py --nts   # NTS seeds only
"""
import glob
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
NTP_UNIX = 2208988800
NMEA_LOGS = os.path.join(SRC, "test", "data", "nmea", "*.log")
# Hand-built seeds are the same on every run (only captures change).
RND = random.Random(2024)
FIXED_NOW = 1764158400		# 2025-11-26


def ntp64(t):
    return struct.pack("!II", int(t + NTP_UNIX) & 0xffffffff,
                       int((t % 1) * 2**32))


def header(li=0, vn=4, mode=3, stratum=0, poll=0, prec=0, rdelay=0,
           rdisp=0, refid=b"\0\0\0\0", ref=b"\0" * 8, org=b"\0" * 8,
           rec=b"\0" * 8, xmt=b"\0" * 8):
    return (struct.pack("!BBbbII", li << 6 | vn << 3 | mode, stratum, poll,
                        prec, rdelay, rdisp) + refid + ref + org + rec + xmt)


def ext(ftype, body):
    """An RFC 7822 extension field, padded to a multiple of 4, >= 16."""
    n = max(16, (4 + len(body) + 3) // 4 * 4)
    return struct.pack("!HH", ftype, n) + body + b"\0" * (n - 4 - len(body))


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def chronyd_replies():
    """Replies of a chronyd -x to the requests a client may send."""
    tmp = tempfile.mkdtemp(prefix="ntimed-seeds.")
    os.chmod(tmp, 0o777)
    port = free_port()
    with open(os.path.join(tmp, "chrony.conf"), "w") as f:
        f.write("port %d\nbindaddress 127.0.0.1\nallow 127.0.0.1\n"
                "local stratum 8\ncmdport 0\npidfile %s/pid\n"
                "driftfile %s/drift\n" % (port, tmp, tmp))
    proc = subprocess.Popen(["chronyd", "-x", "-d", "-f",
                             os.path.join(tmp, "chrony.conf")],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.3)
    out = {}
    try:
        requests = {
            "v4": header(vn=4, mode=3, poll=6, xmt=RND.randbytes(8)),
            "v3": header(vn=3, mode=3, poll=6, xmt=RND.randbytes(8)),
            "v2": header(vn=2, mode=3, poll=6, xmt=RND.randbytes(8)),
            "v1-mode0": header(vn=1, mode=0, xmt=RND.randbytes(8)),
            "symmetric-active": header(vn=4, mode=1, poll=6,
                                       xmt=RND.randbytes(8)),
            "v4-extension": header(vn=4, mode=3, xmt=RND.randbytes(8)) +
            ext(0x2005, RND.randbytes(28)),
            "v4-mac20": header(vn=4, mode=3, xmt=RND.randbytes(8)) +
            struct.pack("!I", 1) + RND.randbytes(16),
        }
        for _ in range(50):
            if proc.poll() is not None:
                sys.exit("chronyd exited")
            s.sendto(requests["v4"], ("127.0.0.1", port))
            try:
                s.recv(2048)
                break
            except OSError:
                pass
        time.sleep(1.2)         # let the rate limiter forget us
        for name, req in requests.items():
            s.sendto(req, ("127.0.0.1", port))
            try:
                out[name] = s.recv(2048)
            except OSError:
                print("chronyd: no reply to", name)
            time.sleep(0.25)
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    return out


NETNS_SERVER = r"""
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 123))
s.settimeout(10)
data, peer = s.recvfrom(2048)
sys.stdout.buffer.write(data)
sys.stdout.flush()
t = time.time() + 2208988800
now = struct.pack("!II", int(t), int(t % 1 * 2**32))
s.sendto(bytes([0x24, 2, data[2], 0xe9]) + struct.pack("!II", 0x20, 0x30) +
         bytes([127, 0, 0, 1]) + now + data[40:48] + now + now, peer)
"""


def ntpdig_request():
    """The request ntpsec's ntpdig sends (it only talks to port 123)."""
    if shutil.which("ntpdig") is None:
        print("ntpdig not found: no ntpsec request seed")
        return None
    ns = "ntimed-seeds-%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"],
                       check=True)
        srv = subprocess.Popen(["ip", "netns", "exec", ns, "/usr/bin/python3",
                                "-c", NETNS_SERVER], stdout=subprocess.PIPE)
        time.sleep(0.5)
        # Never -s/-S: those set the clock.  -j only prints.
        subprocess.run(["ip", "netns", "exec", ns, "ntpdig", "-j", "-t", "2",
                        "127.0.0.1"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        data, _ = srv.communicate(timeout=15)
        return data or None
    finally:
        subprocess.run(["ip", "netns", "del", ns])


def hand_built():
    """Packets chronyd and ntpdig will not produce on demand."""
    now = FIXED_NOW
    org = RND.randbytes(8)
    good = dict(li=0, vn=4, mode=4, stratum=2, poll=6, prec=-24,
                rdelay=0x0000_0a3d, rdisp=0x0000_0625,
                refid=bytes([192, 0, 2, 1]), ref=ntp64(now - 64), org=org,
                rec=ntp64(now), xmt=ntp64(now + 0.00002))
    pk = {}
    # ntpsec's ntpd: v4, its precision and a dotted-quad refid upstream.
    pk["ntpsec-style-reply"] = header(**good)
    pk["ntpsec-style-stratum1-gps"] = header(**dict(good, stratum=1,
                                                    refid=b"GPS\0", prec=-20))
    for code in (b"RATE", b"DENY", b"RSTR", b"INIT", b"STEP", b"NTSN"):
        pk["kod-" + code.decode().lower()] = header(
            **dict(good, li=3, stratum=0, refid=code, rec=b"\0" * 8))
    pk["unsync-leap3"] = header(**dict(good, li=3, stratum=16,
                                       refid=b"INIT"))
    pk["leap-insert"] = header(**dict(good, li=1))
    pk["reply-crypto-nak"] = header(**good) + b"\0" * 4
    pk["reply-md5-mac"] = header(**good) + struct.pack("!I", 7) + \
        RND.randbytes(16)
    pk["reply-sha1-mac"] = header(**good) + struct.pack("!I", 7) + \
        RND.randbytes(20)
    # NTS (RFC 8915): unique identifier, cookie, authenticator fields.
    uid = RND.randbytes(32)
    pk["nts-request"] = header(vn=4, mode=3, xmt=RND.randbytes(8)) + \
        ext(0x0104, uid) + ext(0x0204, RND.randbytes(100)) + \
        ext(0x0404, struct.pack("!HH", 16, 16) + RND.randbytes(32))
    pk["nts-reply"] = header(**good) + ext(0x0104, uid) + \
        ext(0x0404, struct.pack("!HH", 16, 112) + RND.randbytes(128))
    pk["ext-then-mac"] = header(**good) + ext(0x2005, b"") + \
        struct.pack("!I", 1) + RND.randbytes(16)
    # Modes nobody should answer: ntpq readvar (6), ntpdc monlist (7).
    pk["mode6-readvar"] = bytes([0x16, 0x02]) + struct.pack(
        "!HHHHH", 1, 0, 0, 0, 0) + b"\0" * 36
    pk["mode7-monlist"] = bytes([0x17, 0x00, 0x03, 0x2a]) + b"\0" * 44
    pk["broadcast-mode5"] = header(**dict(good, mode=5, org=b"\0" * 8))
    pk["zero-xmt"] = header(**dict(good, xmt=b"\0" * 8))
    pk["version5"] = header(**dict(good, vn=5))
    pk["short-47"] = header(**good)[:47]
    pk["bad-ext-length"] = header(**good) + struct.pack("!HH", 1, 13) + \
        b"\0" * 12
    return pk


def source_script(replies):
    """A fuzz_source_reply input: a burst of exchanges with real replies."""
    rnd = random.Random(1)
    out = bytearray([6, 4]) + struct.pack("!I", int(FIXED_NOW))
    for i, pkt in enumerate(replies * (40 // len(replies) + 1)):
        flags = 3 | (8 if i % 5 == 4 else 0)
        out += struct.pack("!H", rnd.randint(0, 2000))        # gap, ms
        out += RND.randbytes(8)                                  # our xmt
        out += bytes([flags])
        out += struct.pack("!I", rnd.randint(20, 900))[1:]    # rtt, us
        out += struct.pack("!h", rnd.randint(-500, 500))      # correction
        out += struct.pack("!H", len(pkt)) + pkt
    return bytes(out)


def server_scripts(pkts):
    """fuzz_server inputs: what real clients and attackers send."""
    def head(flags, stratum=2, leap=0):
        return struct.pack("!IBBBBHb", int(FIXED_NOW), flags, stratum - 1,
                           leap, 5, 120, -24)

    def dgram(data, src=0, gap=10, mode=0):
        return struct.pack("!BHBH", src, gap, mode, len(data)) + data

    def exchange(offset_ms, delay_us, proc_us, src=0, gap=1000):
        return (struct.pack("!BHBi", src, gap, 1, offset_ms) +
                struct.pack("!I", delay_us)[1:] + struct.pack("!H", proc_us))

    requests = [pkts[n] for n in sorted(pkts) if "request" in n or
                n.startswith("mode")]
    chrony_req = header(vn=4, mode=3, poll=6, xmt=RND.randbytes(8))
    v1 = header(vn=1, mode=0, xmt=RND.randbytes(8))
    out = {}
    # Synced server, every kind of request from an allowed client.
    out["synced-requests"] = head(1) + b"".join(
        dgram(r) for r in requests + [chrony_req, v1])
    # Rate limiting with KoD: a burst from one address, then others.
    out["ratelimit-burst"] = head(1 | 4 | 8) + b"".join(
        dgram(chrony_req, src=i % 2, gap=50) for i in range(20))
    # Denied and not-allowed clients, KoD DENY on.
    out["denied-kod"] = head(1 | 4) + b"".join(
        dgram(chrony_req, src=s) for s in range(7))
    # Unsynchronized, with and without local stratum.
    out["unsynced"] = head(0) + dgram(chrony_req) + dgram(v1, src=4)
    out["local-stratum"] = head(2) + dgram(chrony_req) + dgram(v1, src=5)
    # Real client requests against offsets and delays, then an attacker.
    out["client-exchanges"] = head(1) + b"".join(
        exchange(o, d, p) for o, d, p in ((0, 100, 20), (1500, 250000, 5),
                                          (-86400000, 10, 0),
                                          (123, 65535, 1000))) + \
        dgram(pkts["mode7-monlist"], src=2) + dgram(b"\x17" * 8)
    out["nts-and-mac-requests"] = head(1) + dgram(pkts["nts-request"]) + \
        dgram(chrony_req + struct.pack("!I", 1) + RND.randbytes(16)) + \
        dgram(chrony_req + b"\0" * 4) + dgram(chrony_req[:47])
    return out


def ke_rec(rtype, body=b"", critical=False):
    """An NTS-KE record (RFC 8915 section 4)."""
    return struct.pack("!HH", rtype | (0x8000 if critical else 0),
                       len(body)) + body


def nts_seeds():
    """NTS-KE responses and NTS extension fields, hand-built (no root).

    fuzz_nts_ef: first byte odd = the rest is sealed as a reply's
    encrypted part; even = the rest is a whole reply."""
    head = (ke_rec(1, b"\0\0", True) + ke_rec(4, b"\0\x0f", True))
    cookies = b"".join(ke_rec(5, bytes([65 + i]) * 100) for i in range(8))
    end = ke_rec(0, b"", True)
    write("nts_ke", "chrony-like", head + cookies + end)
    write("nts_ke", "server-and-port", head + cookies[:104] +
          ke_rec(6, b"ntp.example.org") + ke_rec(7, b"\x01\x7b") + end)
    write("nts_ke", "error-bad-request", ke_rec(2, b"\0\x01", True) + end)
    write("nts_ke", "warning", head + cookies[:104] + ke_rec(3, b"\0\0") +
          end)
    write("nts_ke", "unknown-critical", head + ke_rec(0x1234, b"x", True) +
          end)
    write("nts_ke", "no-end", head + cookies)
    write("nts_ke", "empty", b"")
    uid = b"uid" + b"\0" * 29
    cookie_efs = b"".join(ext(0x0204, bytes([65 + i]) * 100)
                          for i in range(3))
    write("nts_ef", "sealed-cookies", b"\x01" + cookie_efs)
    write("nts_ef", "sealed-cookie-and-other", b"\x01" + ext(0x0204, b"c" * 64)
          + ext(0x7777, b"x" * 20))
    write("nts_ef", "sealed-empty", b"\x01")
    hdr = header(mode=4, stratum=2)
    auth = ext(0x0404, struct.pack("!HH", 16, 16) + b"n" * 16 + b"t" * 16)
    write("nts_ef", "reply-forged", b"\0" + hdr + ext(0x0104, uid) + auth)
    write("nts_ef", "reply-nak", b"\0" + header(mode=4, refid=b"NTSN") +
          ext(0x0104, uid))
    write("nts_ef", "reply-no-uid", b"\0" + hdr + auth)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--nts":
        nts_seeds()
        return
    if os.geteuid() != 0:
        sys.exit("run as root (chronyd and ip netns need it)")
    nts_seeds()
    # Files are overwritten by name; regress-* inputs (crashes found and
    # fixed, kept as regression tests) are never touched.
    pkts = {}
    for name, data in chronyd_replies().items():
        pkts["chronyd-reply-" + name] = data
    req = ntpdig_request()
    if req is not None:
        pkts["ntpdig-request"] = req
    pkts.update(hand_built())
    for name, data in pkts.items():
        write("ntp_pkt", name, data)
    write("ntp_pkt", "empty", b"")

    replies = [d for n, d in sorted(pkts.items()) if "reply" in n]
    write("source_reply", "chronyd-and-ntpsec-replies", source_script(replies))
    write("source_reply", "chronyd-v4-once",
          source_script([pkts.get("chronyd-reply-v4",
                                  pkts["ntpsec-style-reply"])])[:80])
    write("source_reply", "kod-rate-then-good",
          source_script([pkts["kod-rate"], pkts["ntpsec-style-reply"]]))

    for name, data in server_scripts(pkts).items():
        write("server", name, data)

    for f in (glob.glob(os.path.join(SRC, "conf", "*.yaml")) +
              glob.glob(os.path.join(SRC, "test", "unit", "conf", "*.yaml"))):
        with open(f, "rb") as fh:
            write("conf", os.path.basename(os.path.dirname(f)) + "-" +
                  os.path.basename(f), fh.read())
    for name, text in {
            "flow": b"servers: [a, 'b:124', {address: '[::1]:123'}]\n",
            "pools": b"pools:\n  - { address: pool.example.org, "
                     b"max_sources: 4, iburst: true }\nlog: { level: debug }\n",
            "driftfile-null": b"driftfile: ~\nstep_threshold: 0.5\n",
            "quoted-escapes": b"driftfile: \"/var/lib/\\x41\\u00e9\"\n",
            "empty-doc": b"---\n",
    }.items():
        write("conf", name, text)

    # Scenarios: the shipped ones and the shapes the unit tests use.
    for f in glob.glob(os.path.join(SRC, "conf", "sim", "*.yaml")):
        with open(f, "rb") as fh:
            write("simscen", os.path.basename(f), fh.read())
    write("simscen", "inline", b"duration: 2h\nclock: { offset: -5ms, "
          b"freq_ppm: 12.5, drift: { freq_ppm: 3 } }\nclient: { "
          b"step_threshold: 0.01, servers: [ { address: b, minpoll: 4, "
          b"maxpoll: 4 }, a ] }\nservers:\n  - { name: a, network: { out: "
          b"{ delay: 100us, jitter: 1e-4, dist: uniform }, loss: 0.5 } }\n"
          b"  - { name: b, silent: [ { from: 1h, to: 90min } ] }\n"
          b"expect: { rms: 15us, steps: { min: 1, max: 1 } }\n")
    write("simscen", "inline-refclocks", b"duration: 1h\nrefclocks:\n"
          b"  - { driver: nmea, latency: 200ms, jitter: 5ms, missing: 0.1,\n"
          b"      silent: [ { from: 1h, to: 2h } ] }\n"
          b"  - { name: P1, driver: pps, offset: -50ns, jitter: 2us }\n"
          b"client:\n  refclocks:\n"
          b"    - { driver: pps, device: /dev/pps0, refid: P1, poll: 2 }\n"
          b"    - { driver: nmea, device: /dev/ttyS0, pps: P1, offset: 0.2,"
          b" noselect: true }\nservers: [ { name: a } ]\n"
          b"expect: { rms: 2us, steps: { max: 1 } }\n")

    for i, arg in enumerate([b"127.0.0.1", b"127.0.0.1:123", b"[::1]:10123",
                             b"::1", b"[fe80::1%lo]:123", b"time.example.org",
                             b"host:99999", b"[::1", b"[::1]x", b"a:b:c",
                             b"pool.ntp.org:0", b"192.0.2.1:65535"]):
        write("hostport", "arg%02d" % i, bytes([0xff]) + arg)

    for name, text in {
            "chrony": b"          -12.345678             0.123456\n",
            "ntimed": b"12.345678 0.123456\n",
            "zero": b"0.000000 0.000000\n",
            "crlf": b"1.5 0.25\r\n",
            "nan": b"nan 1\n",
            "huge": b"1e300 1\n",
            "junk": b"12.3 0.1 extra\n",
    }.items():
        write("driftfile", name, text)
    # NMEA: real receiver captures (gpsd's regression logs, BSD), fed in
    # 16-byte chunks against a pivot of 2025-01-01.
    for f in sorted(glob.glob(NMEA_LOGS)):
        with open(f, "rb") as fh:
            write("nmea", os.path.basename(f), b"\x0f\0\0" + fh.read(4096))
    write("nmea", "noise-and-binary", b"\x00\x00\x10" +
          b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,"
          b"003.1,W*6A\r\n\xb5\x62\x01\x07junk$GPZDA,201530.00,04,07,"
          b"2002,00,00*60\r\n$GPGNS,1*00\r\n$GPGGA\r\n")

    # SOCK: gpsd's samples, native layout (timeval, double, 4 ints).
    def sock(sec, usec, off, pulse=0, leap=0, magic=0x534f434b):
        return struct.pack("=qqdiiii", sec, usec, off, pulse, leap, 0, magic)
    now_s = int(FIXED_NOW)
    for name, data in {
            "gpsd-nmea": sock(now_s, 250000, 0.1234),
            "gpsd-pps": sock(now_s, 999999, -0.000001, pulse=1),
            "leap-insert": sock(now_s, 0, 0.0, leap=1),
            "bad-magic": sock(now_s, 0, 0.0, magic=0x4b434f53),
            "bad-leap": sock(now_s, 0, 0.0, leap=3),
            "nan-offset": sock(now_s, 0, float("nan")),
            "short": sock(now_s, 0, 0.0)[:36],
    }.items():
        write("sock", name, data)

    # Control: JSON lines from root (0), a group member (1), a stranger (2).
    for name, (who, line) in {
            "sources": (1, b'{"version":1,"request":"sources"}'),
            "add-server": (0, b'{"version":1,"request":"add-server",'
                              b'"host":"192.0.2.1:123"}'),
            "reload-stranger": (2, b'{"version":1,"request":"reload"}'),
            "unknown": (0, b'{"version":1,"request":"nope"}'),
            "version-2": (0, b'{"version":2,"request":"sources"}'),
            "not-json": (0, b'GET / HTTP/1.0'),
            "nested": (1, b'{"version":1,"request":{"a":[1,2,[3]]}}'),
            "escapes": (0, b'{"version":1,"request":"add-server",'
                           b'"host":"a\\u0000b\\n"}'),
    }.items():
        write("control", name, bytes([who]) + line)

    for d in sorted(os.listdir(CORPUS)):
        print("%-14s %d seeds" % (d, len(os.listdir(os.path.join(CORPUS,
                                                                   d)))))


if __name__ == "__main__":
    main()
