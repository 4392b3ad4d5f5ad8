"""UNIX backend 2: /proc/net/unix, where netlink is refused.

    Num       RefCount Protocol Flags    Type St Inode Path
    0000000000000000: 00000002 00000000 00010000 0001 01 23456 /run/php/fpm.sock

Flags 00010000 (__SO_ACCEPTCON) marks a listener; Type is the socket type;
St is 01 unconnected, 02 connecting, 03 connected; Path is the bound name
as it was bound ("@" and the name for an abstract socket, its NUL bytes
shown as "@"). Not in /proc: the accept queue and its limit, and the
socket file's device and inode, so a path can only be matched by name.
"""

from .errors import KernelError, ParseError, describe_oserror, shown
from .kernel_abi import TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN
from .record import UnixRecord

SO_ACCEPTCON = 0x10000
STATES = {1: TCP_CLOSE, 2: 2, 3: TCP_ESTABLISHED, 4: 8}  # SS_* -> tcp_states numbers
CHUNK = 65536
HEX = b"0123456789abcdefABCDEF"


def proc_name(name):
    """The Path column /proc/net/unix prints for a bound name (bytes)."""
    if name[:1] == b"\0":
        return b"@" + name[1:].replace(b"\0", b"@")
    return name


def parse_row(line, name):
    """The columns of one row of /proc/net/unix (bytes) up to its Path
    (which is `name`) -> UnixRecord, or None when `name` only ends a longer
    Path that holds a space. Raises ValueError on a malformed row."""
    fields = line.split()
    if len(fields) > 7:
        return None
    if len(fields) < 7 or fields[0][-1:] != b":":
        raise ValueError("not a /proc/net/unix row")
    for field in fields[1:6]:
        if field.strip(HEX) or len(field) > 16:
            raise ValueError("%s is not hex" % shown(field, 20))
    flags, stype, st = int(fields[3], 16), int(fields[4], 16), int(fields[5], 16)
    state = TCP_LISTEN if flags & SO_ACCEPTCON else STATES.get(st, st)
    return UnixRecord(stype, state, name)


def fetch(name, notes, root="/proc"):
    """Yields the unix sockets bound to `name` (bytes), read by name. The
    table is read as bytes: any process may bind a name that is not UTF-8."""
    path = root + "/net/unix"
    needle = b" " + proc_name(name) + b"\n"
    try:
        f = open(path, "rb")
    except OSError as err:
        raise KernelError("cannot read %s: %s" % (path, describe_oserror(err)))
    notes.append("read %s (it shows no file identity and no queue limits)" % path)
    try:
        rest = b""
        while True:
            data = f.read(CHUNK)
            text = rest + data
            end = text.rfind(b"\n") + 1 if data else len(text)
            if end == 0 and len(text) > CHUNK * 16:
                raise ValueError("a row of more than %d bytes" % (CHUNK * 16))
            block, rest = text[:end], text[end:]
            pos = block.find(needle)
            while pos >= 0:
                start = block.rfind(b"\n", 0, pos) + 1
                rec = parse_row(block[start:pos], name)
                if rec is not None:
                    yield rec
                pos = block.find(needle, pos + 1)
            if not data:
                return
    except OSError as err:
        raise KernelError("cannot read %s: %s" % (path, describe_oserror(err)))
    except ValueError as err:
        raise ParseError(path, "not a table the kernel wrote (%s)" % shown(str(err), 60))
    finally:
        f.close()
