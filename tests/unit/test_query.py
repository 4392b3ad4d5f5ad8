"""Ports, port lists, addresses, unix names and options as the user writes
them, and the messages that say what to write instead."""

from kit import ARABIC_EIGHTY, FULLWIDTH_EIGHTY, raises

from healthcheck.errors import UsageError
from healthcheck.query import MAX_UNIX_PATH, make_query, parse_ports

BAD_PORTS = ["80abc", "+80", "0x50", "8 0", "", "0", "65536", "1,,2", ",80", "80,", "-1", ARABIC_EIGHTY,
             "080000", "99999", "1_000", " 80", "80 ", FULLWIDTH_EIGHTY]
GOOD_PORTS = [("1", (1,)), ("65535", (65535,)), ("80,443", (80, 443)), ("443,80,443", (443, 80)),
              ("0080", (80,)), ("00001", (1,))]
ADDRESSES = [("TCP", "127.0.0.1", b"\x7f\x00\x00\x01"), ("UDP", "10.0.0.255", b"\x0a\x00\x00\xff"),
             ("TCP", "0.0.0.0", None), ("TCP6", "::", None), ("TCP6", "0:0:0:0:0:0:0:0", None),
             ("UDP6", "::1", bytes(15) + b"\x01"),
             ("TCP6", "::FFFF:1.2.3.4", bytes(10) + b"\xff\xff\x01\x02\x03\x04")]
# (tool, ports, address, words the message must hold)
MESSAGES = [
    ("TCP", "80", "::1", "use TCP6"), ("TCP6", "80", "127.0.0.1", "use TCP for it"),
    ("UDP", "53", "::1", "use UDP6"), ("UDP6", "53", "10.0.0.1", "use UDP for it"),
    ("TCP", "80", "localhost", "host names are not supported"),
    ("TCP", "80", "db", "host names are not supported"),
    ("TCP6", "80", "db.example", "host names are not supported"),
    ("TCP6", "80", "[::1]", "without brackets: ::1"),
    ("TCP6", "80", "fe80::1%eth0", "zones (%eth0) are not supported"),
    ("TCP", "80", "10.0.0.1:80", "give the port and the address apart"),
    ("TCP", "127.0.0.1:80", None, "write the port and the address apart: 80 127.0.0.1"),
    ("TCP6", "[::1]:80", None, "write the port and the address apart: 80 ::1"),
    ("TCP", "80,", None, "an empty entry"), ("TCP", "1,,2", None, "an empty entry"),
    ("TCP", "", None, "no port given"), ("TCP", "80", "1.2.3", "four dot-separated numbers"),
    ("NOPE", "80", None, "unknown tool 'NOPE': use one of TCP, UDP, TCP6, UDP6, UNIX"),
    ("UNIX", "", None, "no socket path"), ("UNIX", "@", None, "a name follows the @"),
    ("UNIX", "/x" * 60, None, "too long"),
]


def test_bad_ports_are_one_line_usage_errors():
    for text in BAD_PORTS:
        err = raises(UsageError, parse_ports, text)
        assert "\n" not in str(err), text


def test_good_ports():
    for text, ports in GOOD_PORTS:
        assert parse_ports(text) == ports, text
    assert make_query("UDP6", 65535).ports == (65535,)
    assert make_query("TCP", [443, 80]).ports == (443, 80)


def test_port_list_is_bounded():
    assert "too many" in str(raises(UsageError, parse_ports, ",".join(["1"] * 2000)))
    assert len(parse_ports(",".join([str(p) for p in range(1, 1001)]))) == 1000


def test_addresses_by_tool():
    for tool, text, packed in ADDRESSES:
        assert make_query(tool, 80, text).addr == packed, (tool, text)


def test_messages_say_what_to_write_instead():
    for tool, ports, address, words in MESSAGES:
        err = raises(UsageError, make_query, tool, ports, address)
        assert words in str(err), (tool, ports, address, str(err))
        assert "\n" not in str(err) and len(str(err)) < 200


def test_tool_names_in_any_case():
    assert make_query("tcp6", 80).tool.name == "TCP6"
    assert make_query("Udp", 53).tool.name == "UDP"


def test_unix_names():
    assert make_query("UNIX", "/run/php/fpm.sock").unix_name == b"/run/php/fpm.sock"
    assert make_query("unix", "@hc.abstract").unix_name == b"\0hc.abstract"
    assert make_query("UNIX", "x" * MAX_UNIX_PATH).unix_name == b"x" * MAX_UNIX_PATH
    assert make_query("UNIX", "@x").subject() == "UNIX socket @x"
    assert "one PATH" in str(raises(UsageError, make_query, "UNIX", "/a", "/b"))
    assert "--external" in str(raises(UsageError, make_query, "UNIX", "/a", None, True))


def test_subjects():
    assert make_query("TCP", 80).subject() == "TCP port 80"
    assert make_query("UDP6", "53,5353").subject() == "UDP6 ports 53,5353"
