"""Ports, port lists and addresses as the user writes them."""

import pytest

from healthcheck.errors import UsageError
from healthcheck.query import make_query, parse_ports

BAD_PORTS = ["80abc", "+80", "0x50", "8 0", "", "0", "65536", "1,,2", ",80", "80,", "-1", "\u0668\u0660",
             "080000", "99999", "1_000", " 80", "80 ", "８０"]


@pytest.mark.parametrize("text", BAD_PORTS)
def test_bad_ports_are_usage_errors(text):
    with pytest.raises(UsageError) as err:
        parse_ports(text)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("text,ports", [
    ("1", (1,)), ("65535", (65535,)), ("80,443", (80, 443)), ("443,80,443", (443, 80)),
    ("0080", (80,)), ("00001", (1,)),
])
def test_good_ports(text, ports):
    assert parse_ports(text) == ports


def test_port_list_is_bounded():
    with pytest.raises(UsageError, match="too many"):
        parse_ports(",".join(["1"] * 2000))


@pytest.mark.parametrize("tool,addr,packed", [
    ("TCP", "127.0.0.1", b"\x7f\x00\x00\x01"),
    ("UDP", "10.0.0.255", b"\x0a\x00\x00\xff"),
    ("TCP", "0.0.0.0", None),
    ("TCP6", "::", None),
    ("TCP6", "0:0:0:0:0:0:0:0", None),
    ("UDP6", "::1", b"\x00" * 15 + b"\x01"),
    ("TCP6", "::FFFF:1.2.3.4", b"\x00" * 10 + b"\xff\xff\x01\x02\x03\x04"),
])
def test_addresses(tool, addr, packed):
    assert make_query(tool, "80", addr).addr == packed


@pytest.mark.parametrize("tool,addr,hint", [
    ("TCP", "::1", "use TCP6"), ("UDP", "fe80::1", "use UDP6"),
    ("TCP6", "127.0.0.1", "use TCP"), ("UDP6", "10.1.2.3", "use UDP"),
])
def test_address_of_the_other_family_names_the_right_tool(tool, addr, hint):
    with pytest.raises(UsageError, match=hint):
        make_query(tool, "80", addr)


@pytest.mark.parametrize("tool,addr", [
    ("TCP", "localhost"), ("TCP", "127.1"), ("TCP", "1.2.3.04"), ("TCP6", "::1%lo"),
    ("TCP6", "[::1]"), ("TCP", "1.2.3.4:80"), ("TCP", ""), ("TCP6", "\udcff"),
])
def test_bad_addresses(tool, addr):
    with pytest.raises(UsageError, match="bad address"):
        make_query(tool, "80", addr)


def test_library_accepts_ints_and_lists():
    assert make_query("TCP", 8080).ports == (8080,)
    assert make_query("UDP6", [53, 853]).ports == (53, 853)
    with pytest.raises(UsageError):
        make_query("TCP", [0])
    with pytest.raises(UsageError, match="unknown tool"):
        make_query("SCTP", 80)
