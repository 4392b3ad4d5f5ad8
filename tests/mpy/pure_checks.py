"""The pure modules' checks, run by MicroPython itself (the static binary
started as hc-micropython, its plain-interpreter name) and by CPython alike:

    hc-micropython tests/mpy/pure_checks.py FIXTURES_DIR

Plain asserts and no imports beyond what the frozen build has, so a module
that uses a CPython-only construct fails here. Prints "N passed, 0 failed".
"""

import sys

from healthcheck import netlink, procnet
from healthcheck.addr import format_ipv6, parse_ipv4, parse_ipv6
from healthcheck.cli import main
from healthcheck.errors import HealthcheckError, ParseError, UsageError
from healthcheck.match import match
from healthcheck.query import make_query
from healthcheck.record import SocketRecord
from healthcheck.tools import AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP, TOOLS

FIXTURES = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
passed = []
failed = []


def check(name, fn):
    try:
        fn()
        passed.append(name)
    except Exception as e:  # report every failing check, not just the first
        failed.append(name)
        print("FAIL %s: %s %s" % (name, type(e).__name__, e))


def unhex(text):
    out = bytearray(len(text) // 2)
    for i in range(len(out)):
        out[i] = int(text[2 * i:2 * i + 2], 16)
    return bytes(out)


def raises(exc, fn, *args):
    try:
        fn(*args)
    except exc:
        return
    raise AssertionError("%s did not raise" % fn)


class Sink:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text


LO6 = b"\x00" * 15 + b"\x01"
MAPPED = b"\x00" * 10 + b"\xff\xff\x7f\x00\x00\x01"


def addresses():
    assert parse_ipv4("127.0.0.1") == b"\x7f\x00\x00\x01"
    assert parse_ipv6("::1") == LO6
    assert parse_ipv6("0:0:0:0:0:0:0:1") == LO6
    assert parse_ipv6("::FFFF:127.0.0.1") == MAPPED
    assert parse_ipv6("1:2:3:4:5:6:7::") == b"\x00\x01\x00\x02\x00\x03\x00\x04\x00\x05\x00\x06\x00\x07\x00\x00"
    for bad in ("", "01.2.3.4", "1.2.3", "256.0.0.1", "1.2.3.4 ", "+1.2.3.4"):
        raises(ValueError, parse_ipv4, bad)
    for bad in (":::", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "::1%lo", ":1::", "::g"):
        raises(ValueError, parse_ipv6, bad)
    assert format_ipv6(parse_ipv6("1:0:0:2:0:0:0:3")) == "1:0:0:2::3"
    assert format_ipv6(MAPPED) == "::ffff:127.0.0.1"


def ports():
    assert make_query("TCP", "80,443,80").ports == (80, 443)
    assert make_query("UDP6", 65535).ports == (65535,)
    for bad in ("80abc", "+80", "0x50", "8 0", "", "0", "65536", "1,,2"):
        raises(UsageError, make_query, "TCP", bad)
    raises(UsageError, make_query, "TCP", "80", "::1")
    assert make_query("TCP6", "80", "::").addr is None


def proc_tables():
    root = FIXTURES + "/proc-basic"
    records = list(procnet.fetch(TOOLS["TCP"], (8080, 8081, 8443, 9090, 9091, 9999), [], root))
    got = sorted([(r.family, r.port) for r in records])
    assert got == [(AF_INET, 8080), (AF_INET, 8081), (AF_INET6, 8443), (AF_INET6, 9090), (AF_INET6, 9091)], got
    records = list(procnet.fetch(TOOLS["UDP"], (5353, 5354, 5355), [], root))
    assert sorted([r.port for r in records]) == [5353, 5354]
    big = procnet.decode_addr("7F000001", lambda v: bytes([v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255]))
    assert big == b"\x7f\x00\x00\x01"
    raises(ParseError, procnet.parse_table, ["header", "   0: 0100007G:1F90 00000000:0000 0A x"],
           AF_INET, IPPROTO_TCP, (8080,))


def netlink_replies():
    found = {}
    for name, proto in (("tcp4", IPPROTO_TCP), ("tcp6", IPPROTO_TCP), ("udp6", IPPROTO_UDP)):
        records = []
        with open(FIXTURES + "/netlink-basic/" + name + ".hex") as f:
            for line in f.read().split():
                netlink.parse_reply(unhex(line), 7, proto, records)
        found[name] = sorted([(r.port, r.v6only) for r in records])
    assert found["tcp4"] == [(8080, None), (8081, None)], found
    assert found["tcp6"] == [(8443, False), (9090, True), (9091, False)], found
    assert found["udp6"] == [(5354, True)], found
    raises(ParseError, netlink.parse_reply, b"\x10\x00\x00", 1, IPPROTO_TCP, [])
    req = netlink.build_request(AF_INET, IPPROTO_TCP, 1 << 10, (80, 443))
    assert len(req) == 72 + 4 + 36 and req[4] == 20  # two port blocks: 20 + 16 bytes


def rules():
    def rec(addr, v6only=None, proto=IPPROTO_TCP, state=10):
        fam = AF_INET if len(addr) == 4 else AF_INET6
        return SocketRecord(fam, proto, state, addr, 80, bytes(len(addr)), 0, v6only)
    any6 = bytes(16)
    assert match(make_query("TCP", 80), [rec(any6, False)]).ok
    assert not match(make_query("TCP", 80), [rec(any6, True)]).ok
    assert match(make_query("TCP", 80, "127.0.0.1"), [rec(MAPPED, False)]).ok
    assert not match(make_query("TCP6", 80), [rec(bytes(4))]).ok
    assert not match(make_query("TCP", 80, "10.0.0.1"), [rec(b"\x7f\x00\x00\x01")]).ok
    assert match(make_query("UDP", 80), [rec(bytes(4), proto=IPPROTO_UDP, state=7)]).ok


def cli():
    out, err = Sink(), Sink()
    assert main(["/x/TCP", "80abc"], {}.get, out, err) == 1
    assert out.text == "" and err.text.startswith("TCP: bad port '80abc'"), err.text
    out, err = Sink(), Sink()
    assert main(["UDP6", "--quiet", "0"], {}.get, out, err) == 1 and err.text == ""
    out, err = Sink(), Sink()
    assert main(["TCP6", "--version"], {}.get, out, err) == 0 and "healthcheck" in out.text
    out, err = Sink(), Sink()
    assert main(["TCP", "80", "--debug"], {"HEALTHCHECK_BACKEND": "bogus"}.get, out, err) == 1
    assert "use netlink or proc" in err.text
    assert isinstance(UsageError("x"), HealthcheckError)


for name, fn in (("addresses", addresses), ("ports", ports), ("proc_tables", proc_tables),
                 ("netlink_replies", netlink_replies), ("rules", rules), ("cli", cli)):
    check(name, fn)
print("%d passed, %d failed" % (len(passed), len(failed)))
sys.exit(1 if failed else 0)
