"""Our address parser against CPython's ipaddress as the oracle."""

import ipaddress

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from healthcheck.addr import format_ipv6, parse_ipv4, parse_ipv6, unmap_v4


def oracle(cls, text):
    if "%" in text:  # scope ids: ipaddress takes them, a listener's address has none
        return None
    try:
        return cls(text).packed
    except ValueError:
        return None


def ours(parse, text):
    try:
        return parse(text)
    except ValueError:
        return None


V4_ALPHABET = "0123456789.x +-_ \u0661"
V6_ALPHABET = "0123456789abcdefABCDEF:.%x gG \u0661"


@given(st.text(alphabet=V4_ALPHABET, max_size=20))
@example("1.2.3.4")
@example("01.2.3.4")
@example("1.2.3")
@example("256.1.1.1")
@example("1.2.3.4 ")
@example("+1.2.3.4")
@example("1.2.3.\u0661")
def test_ipv4_text_agrees_with_ipaddress(text):
    assert ours(parse_ipv4, text) == oracle(ipaddress.IPv4Address, text)


@given(st.text(alphabet=V6_ALPHABET, max_size=50))
@example("::")
@example(":::")
@example("1::2::3")
@example("::ffff:1.2.3.4")
@example("1:2:3:4:5:6:7::")
@example("::2:3:4:5:6:7:8")
@example("1:2:3:4:5:6:7:8:9")
@example("1:2:3:4:5:6:1.2.3.4")
@example("1:2:3:4:5:6:7:1.2.3.4")
@example("::1.2.3")
@example("12345::")
@example("fe80::1%eth0")
@example(":1::")
@example("1::1:")
def test_ipv6_text_agrees_with_ipaddress(text):
    assert ours(parse_ipv6, text) == oracle(ipaddress.IPv6Address, text)


def v6_forms(packed):
    addr = ipaddress.IPv6Address(packed)
    forms = [str(addr), addr.exploded, str(addr).upper(), addr.exploded.upper()]
    forms.append(":".join(g.lstrip("0") or "0" for g in addr.exploded.split(":")))
    forms.append(addr.exploded[:30] + str(ipaddress.IPv4Address(packed[12:])))
    return forms


@given(st.binary(min_size=16, max_size=16))
@example(b"\x00" * 10 + b"\xff\xff\x7f\x00\x00\x01")
@example(b"\x00" * 16)
def test_every_text_form_of_a_v6_address_parses_back(packed):
    for text in v6_forms(packed):
        assert parse_ipv6(text) == packed, text


@given(st.binary(min_size=16, max_size=16))
def test_format_ipv6_is_rfc5952(packed):
    text = format_ipv6(packed)
    assert parse_ipv6(text) == packed
    if unmap_v4(packed) is None:
        assert text == ipaddress.IPv6Address(packed).compressed


@given(st.binary(min_size=4, max_size=4))
def test_ipv4_round_trip(packed):
    assert parse_ipv4(str(ipaddress.IPv4Address(packed))) == packed


@pytest.mark.parametrize("text", ["", "1.2.3.4.5", "::ffff:1.2.3.4.5", "1" * 46, "::g", " ::1"])
def test_rejects(text):
    with pytest.raises(ValueError):
        (parse_ipv6 if ":" in text or len(text) > 20 else parse_ipv4)(text)
