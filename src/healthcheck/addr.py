"""IP address text <-> 4 or 16 bytes, without the (non-portable) ipaddress.

parse_ipv4("127.0.0.1")      -> b"\\x7f\\x00\\x00\\x01"
parse_ipv6("::ffff:1.2.3.4") -> b"\\x00" * 10 + b"\\xff\\xff\\x01\\x02\\x03\\x04"

Accepted forms are those of RFC 4291 section 2.2 (which RFC 5952's
recommended form is one of): 1-4 hex digits per group, upper or lower
case, one "::", an embedded dotted quad in the last 32 bits. IPv4 is
strict dotted-quad decimal: no leading zeros (they read as octal to
inet_aton), no shorthand like "127.1". Anything else raises ValueError.
"""

DIGITS = "0123456789"
HEXDIGITS = "0123456789abcdefABCDEF"

V4_ANY = b"\x00\x00\x00\x00"
V6_ANY = b"\x00" * 16
V4_MAPPED_PREFIX = b"\x00" * 10 + b"\xff\xff"


def only(text, allowed):
    """True when every character of `text` is in `allowed`: the package's
    one character-class test (str.isdigit would also accept non-ASCII
    digits such as "\u00b2" on CPython). With strip(), not a loop: a
    MicroPython str yields each character as an interned one-letter str."""
    return not text.strip(allowed)


def parse_ipv4(text):
    parts = text.split(".")
    if len(parts) != 4:
        raise ValueError("an IPv4 address has four dot-separated numbers")
    out = bytearray(4)
    for i in range(4):
        part = parts[i]
        if not part or len(part) > 3 or not only(part, DIGITS):
            raise ValueError("each IPv4 number is 0-255 in decimal")
        if len(part) > 1 and part[0] == "0":
            raise ValueError("IPv4 numbers have no leading zeros")
        value = int(part)
        if value > 255:
            raise ValueError("each IPv4 number is 0-255 in decimal")
        out[i] = value
    return bytes(out)


def parse_ipv6(text):
    if len(text) > 45:  # longest form: 6 full groups and a dotted quad
        raise ValueError("too long for an IPv6 address")
    groups = text.split(":")
    if len(groups) < 3:
        raise ValueError("an IPv6 address has at least two colons")
    if "." in groups[-1]:
        quad = parse_ipv4(groups[-1])
        groups[-1] = "%x" % (quad[0] << 8 | quad[1])
        groups.append("%x" % (quad[2] << 8 | quad[3]))
    if len(groups) > 9:
        raise ValueError("an IPv6 address has at most eight groups")

    # Where is the "::"? An empty group inside the list marks it.
    gap = -1
    for i in range(1, len(groups) - 1):
        if not groups[i]:
            if gap >= 0:
                raise ValueError('"::" may appear only once')
            gap = i
    if gap >= 0:
        head, tail = gap, len(groups) - gap - 1
        if not groups[0]:
            head -= 1
            if head:
                raise ValueError('a leading ":" must be "::"')
        if not groups[-1]:
            tail -= 1
            if tail:
                raise ValueError('a trailing ":" must be "::"')
        if head + tail > 7:
            raise ValueError('"::" must stand for at least one group')
    else:
        if len(groups) != 8:
            raise ValueError("an IPv6 address has eight groups (or uses ::)")
        head, tail = 8, 0

    out = bytearray(16)
    for i in range(head):
        _put_group(out, i, groups[i])
    for i in range(tail):
        _put_group(out, 8 - tail + i, groups[len(groups) - tail + i])
    return bytes(out)


def _put_group(out, index, group):
    if not group or len(group) > 4 or not only(group, HEXDIGITS):
        raise ValueError("each IPv6 group is 1-4 hex digits")
    value = int(group, 16)
    out[2 * index] = value >> 8
    out[2 * index + 1] = value & 0xFF


def format_ipv4(packed):
    return "%d.%d.%d.%d" % (packed[0], packed[1], packed[2], packed[3])


def format_ipv6(packed):
    """RFC 5952 text: lowercase, longest run (>1) of zero groups as "::"."""
    if packed == V6_ANY:  # the wildcard, the usual listener: no group to format
        return "::"
    if packed[:12] == V4_MAPPED_PREFIX:
        return "::ffff:" + format_ipv4(packed[12:])
    groups = [packed[2 * i] << 8 | packed[2 * i + 1] for i in range(8)]
    best, best_len, i = -1, 1, 0
    while i < 8:
        if groups[i] == 0:
            j = i
            while j < 8 and groups[j] == 0:
                j += 1
            if j - i > best_len:
                best, best_len = i, j - i
            i = j
        else:
            i += 1
    text = ["%x" % g for g in groups]
    if best < 0:
        return ":".join(text)
    return ":".join(text[:best]) + "::" + ":".join(text[best + best_len:])


def format_addr(packed):
    return format_ipv4(packed) if len(packed) == 4 else format_ipv6(packed)


def format_endpoint(packed, port):
    if len(packed) == 4:
        return "%s:%d" % (format_ipv4(packed), port)
    return "[%s]:%d" % (format_ipv6(packed), port)


def is_wildcard(packed):
    return packed == V4_ANY or packed == V6_ANY


def unmap_v4(packed):
    """The IPv4 address inside ::ffff:a.b.c.d, or None for other IPv6."""
    if len(packed) == 16 and packed[:12] == V4_MAPPED_PREFIX:
        return packed[12:]
    return None
