#!/usr/bin/python3
"""A scripted NTS-KE server (RFC 8915) for test_query_nts.sh.

Usage: fake_ntske.py PORT CERT KEY MODE...  It serves one TLS connection
per MODE, in order, on 127.0.0.1:PORT: reads the request, answers as MODE
says (error, nocookie, critical, badport, close; tls12 and noalpn break
the handshake; any other mode, such as probe, answers nothing) and
closes.  chronyd cannot be made to answer these, and ntimed must name
each failure clearly.
"""
import socket, ssl, struct, sys
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
modes = sys.argv[4:]
def rec(t, body=b"", crit=True):
    return struct.pack("!HH", t | (0x8000 if crit else 0), len(body)) + body
good = rec(1, b"\0\0") + rec(4, b"\0\x0f")
answers = {
    "error": rec(2, b"\0\x01") + rec(0),
    "nocookie": good + rec(0),
    "critical": good + rec(5, b"c" * 64, False) + rec(0x4321, b"x") + rec(0),
    "badport": good + rec(5, b"c" * 64, False) + rec(7, b"\1\2\3") + rec(0),
    "close": good,
}
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(5)
for mode in modes:
    c, _ = ls.accept()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if mode == "tls12":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if mode != "noalpn":
        ctx.set_alpn_protocols(["ntske/1"])
    try:
        s = ctx.wrap_socket(c, server_side=True)
        s.recv(1024)
        s.sendall(answers.get(mode, b""))
        s.unwrap().close()
    except (OSError, ValueError) as e:
        print(mode, e, flush=True)
        c.close()
