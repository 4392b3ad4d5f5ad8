"""Backend 2: read /proc/net/{tcp,tcp6,udp,udp6}, for where netlink is
refused (qemu-user, seccomp profiles, old sandboxes).

A row looks like (kernel's seq_printf "%4d: %08X:%04X %08X:%04X %02X ..."):

   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0  0 4242 ...

Addresses are 32-bit words printed in the kernel's byte order (the CPU's,
except under cross-endian qemu-user); ports are big-endian hex; the state is
hex; then tx_queue:rx_queue (for a listener, rx_queue is its accept queue;
for UDP, the receive memory in use); a udp row ends with "drops", the
datagrams the kernel dropped for the socket. tcp6 and udp6 rows have four
words per address. Not in /proc: IPV6_V6ONLY and the queues' limits; the
records leave them None (unknown), never guessed.
"""

import struct

from .addr import DIGITS, HEXDIGITS, only
from .errors import KernelError, ParseError, describe_oserror, errno_of, shown
from .kernel_abi import AF_INET, AF_INET6, ENOENT, IPPROTO_TCP, TCP_LISTEN
from .record import SocketRecord

CHUNK = 65536  # characters per read() of a table
MAX_ROW = 1 << 16  # a "row" longer than this is not one the kernel wrote (rows are < 200)


_word_format = []  # filled once, on the first row decoded


def _kernel_word_format():
    """The byte order of the kernel that prints /proc. It is the CPU's, except
    under cross-endian emulation (qemu-user running an s390x binary on an x86
    kernel). The kernel's ELF notes are in its own order, and the first word,
    a note name's length, is small: its nonzero byte says which end is low."""
    try:
        with open("/sys/kernel/notes", "rb") as f:
            head = f.read(4)
    except OSError:
        head = b""
    if len(head) == 4 and head[0] and not head[3]:
        return "<I"
    if len(head) == 4 and head[3] and not head[0]:
        return ">I"
    return "@I"


def native_word(value):
    if not _word_format:
        _word_format.append(_kernel_word_format())
    return struct.pack(_word_format[0], value)


def decode_addr(text, pack_word=native_word):
    """Kernel hex -> address bytes, word by word in host order.

    On a little-endian host:
    decode_addr("0100007F") -> b"\\x7f\\x00\\x00\\x01" (127.0.0.1)
    decode_addr("00000000000000000000000001000000") -> ::1
    """
    if len(text) not in (8, 32) or not only(text, HEXDIGITS):
        raise ValueError("address is not 8 or 32 hex digits")
    out = b""
    for i in range(0, len(text), 8):
        out += pack_word(int(text[i:i + 8], 16))
    return out


def parse_row(line, width):
    """Every field we use from one row; width is the address's hex digits
    (8 or 32). -> (state, port, addr_hex, raddr_hex, rport, rx_queue), or
    None for a blank line. Raises ValueError on a malformed row."""
    colon = line.find(":")
    if colon < 0:
        if line.strip():
            raise ValueError("no ':' after the slot number")
        return None
    a = colon + 2            # local address
    p = a + width + 1        # local port
    r = p + 5                # remote address
    rp = r + width + 1       # remote port
    s = rp + 5               # state
    if (len(line) < s + 2 or line[a - 1] != " " or line[p - 1] != ":"
            or line[r - 1] != " " or line[rp - 1] != ":" or line[s - 1] != " "):
        raise ValueError("columns are not where the kernel puts them")
    slot = line[:colon].strip()
    if not slot or not only(slot, DIGITS):
        raise ValueError("bad slot number")
    queues = line[s + 2:].split(None, 1)
    if not queues or len(queues[0]) != 17 or queues[0][8] != ":":
        raise ValueError("no tx_queue:rx_queue column")
    return (_hex(line[s:s + 2]), _hex(line[p:p + 4]), line[a:a + width], line[r:r + width],
            _hex(line[rp:rp + 4]), _hex(queues[0][9:]))


def iter_table(rows, family, proto, ports, state=None, pack_word=native_word, path="?"):
    """(lineno, row) pairs, as scan_table yields them -> SocketRecords on
    `ports` (and in `state`, if given), one at a time."""
    width = 8 if family == AF_INET else 32
    for lineno, line in rows:
        try:
            row = parse_row(line, width)
            if row is None:
                continue
            rstate, port, addr_hex, raddr_hex, rport, rx_queue = row
            if port not in ports or (state is not None and rstate != state):
                continue
            addr = decode_addr(addr_hex, pack_word)
            raddr = decode_addr(raddr_hex, pack_word)
            drops = None if proto == IPPROTO_TCP else parse_drops(line)
        except ValueError as err:
            raise ParseError("%s line %d" % (path, lineno), err.args[0], line.rstrip("\n"))
        queue = rx_queue if proto != IPPROTO_TCP or rstate == TCP_LISTEN else None
        rec = SocketRecord(family, proto, rstate, addr, port, raddr, rport, None, queue, None)
        if drops is not None:
            rec.drops = drops
        yield rec


def parse_drops(line):
    """The last column of a udp/udp6 row, "drops": how many datagrams the
    kernel dropped for the socket. None for a row of another width than the
    kernel's 13 columns (one without the column, or a layout this code does
    not know): not shown, never guessed."""
    fields = line.split()
    if len(fields) != 13:
        return None
    text = fields[12]
    if len(text) > 10 or not only(text, DIGITS):  # a u32 in decimal
        raise ValueError("the drops column is not a count")
    return int(text)


def scan_table(f, width, ports, state=None, chunk=CHUNK):
    """Yields (lineno, row) for the rows of an open table whose local port
    is one of `ports` and, if given, whose state is `state`.

    It reads `chunk` characters at a time and finds candidate rows by
    searching the text for ":PPPP " (the kernel prints %04X), so the other
    rows, possibly 100,000 of them, cost no Python work at all. (Iterating
    a file on MicroPython would even read it one byte per system call.)
    """
    needles = [":%04X " % port for port in ports]
    want = None if state is None else "%02X" % state
    rest = ""
    lineno = 0  # lines before the current block
    while True:
        data = f.read(chunk)
        text = rest + data
        if not text:
            return
        end = text.rfind("\n") + 1 if data else len(text)
        if end == 0:
            if len(text) > MAX_ROW:
                raise ValueError("a row of more than %d characters" % MAX_ROW)
            rest = text
            continue
        block, rest = text[:end], text[end:]
        hits = []
        for needle in needles:
            pos = block.find(needle)
            while pos >= 0:
                hits.append(pos)
                pos = block.find(needle, pos + 1)
        hits.sort()
        counted = 0  # block[:counted] holds lineno_at lines
        lineno_at = lineno
        last = -1
        for pos in hits:
            start = block.rfind("\n", 0, pos) + 1
            colon = block.find(":", start)
            # Only a hit in the local-port column, where the kernel puts it.
            if start == last or colon + 2 + width != pos:
                continue
            if want is not None and block[pos + width + 12:pos + width + 14] != want:
                continue
            last = start
            lineno_at += block[counted:start].count("\n")
            counted = start
            if lineno_at == 0:
                continue  # the header
            stop = block.find("\n", pos)
            yield lineno_at + 1, block[start:stop + 1 if stop >= 0 else len(block)]
        lineno += block.count("\n")
        if not data:
            return


def fetch(tool, ports, notes, root="/proc", state=None, pack_word=native_word):
    """Yields the sockets of `tool`'s families on `ports` (in `state`, if
    given); appends what it did to `notes`."""
    for family in tool.families:
        path = "%s/net/%s%s" % (root, tool.pname, "6" if family == AF_INET6 else "")
        try:
            f = open(path, encoding="latin-1")  # a byte a character: no decode error on junk
        except OSError as err:
            if family == AF_INET6 and errno_of(err) == ENOENT:
                notes.append("no %s: IPv6 is off, so no IPv6 sockets" % path)
                continue
            raise KernelError("cannot read %s: %s" % (path, describe_oserror(err)))
        notes.append("read %s" % path)
        width = 8 if family == AF_INET else 32
        try:
            rows = scan_table(f, width, ports, state)
            yield from iter_table(rows, family, tool.proto, ports, state, pack_word, path)
        except OSError as err:
            raise KernelError("cannot read %s: %s" % (path, describe_oserror(err)))
        except ValueError as err:  # incl. UnicodeDecodeError; MicroPython has no UnicodeError
            raise ParseError(path, "not a table the kernel wrote (%s)" % shown(str(err), 60))
        finally:
            f.close()


def _hex(text):
    if not text or not only(text, HEXDIGITS):
        raise ValueError("%r is not hex" % text)
    return int(text, 16)
