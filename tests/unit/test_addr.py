"""Address text <-> bytes: accepted forms, rejected forms, RFC 5952 output.
(tests/hardening/test_parsers_fuzz.py checks the parsers against CPython's ipaddress.)"""

from kit import ARABIC_ONE, raises

from healthcheck.addr import format_endpoint, format_ipv6, is_wildcard, parse_ipv4, parse_ipv6, unmap_v4

LO6 = bytes(15) + b"\x01"
MAPPED = bytes(10) + b"\xff\xff\x7f\x00\x00\x01"

V4_GOOD = [("127.0.0.1", b"\x7f\x00\x00\x01"), ("0.0.0.0", bytes(4)), ("255.255.255.255", b"\xff" * 4),
           ("10.0.0.255", b"\x0a\x00\x00\xff")]
V4_BAD = ["", "01.2.3.4", "1.2.3", "256.0.0.1", "1.2.3.4 ", "+1.2.3.4", "1.2.3.4.5", "1..2.3", "127.1",
          "0x7f.0.0.1", "1.2.3." + ARABIC_ONE, "a.b.c.d", "1234.1.1.1"]
V6_GOOD = [("::1", LO6), ("0:0:0:0:0:0:0:1", LO6), ("::", bytes(16)), ("::FFFF:127.0.0.1", MAPPED),
           ("1:2:3:4:5:6:7::", b"\x00\x01\x00\x02\x00\x03\x00\x04\x00\x05\x00\x06\x00\x07\x00\x00"),
           ("::2:3:4:5:6:7:8", b"\x00\x00\x00\x02\x00\x03\x00\x04\x00\x05\x00\x06\x00\x07\x00\x08"),
           ("fd00::1", b"\xfd" + bytes(14) + b"\x01"), ("1:2:3:4:5:6:1.2.3.4",
                                                      b"\x00\x01\x00\x02\x00\x03\x00\x04\x00\x05\x00\x06\x01\x02\x03\x04")]
V6_BAD = [":::", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "::1%lo", ":1::", "1::1:", "::g", "1:2:3:4:5:6:7",
          "::1.2.3", "1:2:3:4:5:6:7:1.2.3.4", " ::1", "1" * 46, "::ffff:1.2.3.4.5", "[::1]"]
FORMATS = [("1:0:0:2:0:0:0:3", "1:0:0:2::3"), ("::ffff:127.0.0.1", "::ffff:127.0.0.1"), ("::", "::"),
           ("FD00:0::1", "fd00::1"), ("1:0:2:0:3:0:4:0", "1:0:2:0:3:0:4:0"), ("0:0:1::", "0:0:1::")]


def test_ipv4_forms():
    for text, packed in V4_GOOD:
        assert parse_ipv4(text) == packed, text
    for text in V4_BAD:
        raises(ValueError, parse_ipv4, text)


def test_ipv6_forms():
    for text, packed in V6_GOOD:
        assert parse_ipv6(text) == packed, text
    for text in V6_BAD:
        raises(ValueError, parse_ipv6, text)


def test_ipv6_text_is_rfc5952():
    for text, want in FORMATS:
        assert format_ipv6(parse_ipv6(text)) == want, text


def test_endpoints_wildcards_and_mapped():
    assert format_endpoint(b"\x7f\x00\x00\x01", 80) == "127.0.0.1:80"
    assert format_endpoint(LO6, 443) == "[::1]:443"
    assert is_wildcard(bytes(4)) and is_wildcard(bytes(16)) and not is_wildcard(LO6)
    assert unmap_v4(MAPPED) == b"\x7f\x00\x00\x01" and unmap_v4(LO6) is None
