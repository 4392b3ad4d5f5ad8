"""What the unit tests share, in the portable subset: they run under
CPython (pytest) and under the frozen MicroPython (run.py), so no pytest,
no ipaddress, no pathlib here.

Writers of what the kernel writes (/proc/net rows, sock_diag messages) let
a test make any record in any byte order; bc_audit/bc_run model the
kernel's check and run of an inet_diag filter program.
"""

import struct

from healthcheck import netlink

FIXTURES = __file__.rsplit("/", 2)[0] + "/fixtures"
# Non-ASCII digits, written as UTF-8 bytes: the static build has no unicode
# str (a str holds the bytes), and both interpreters must reject them.
ARABIC_ONE = b"\xd9\xa1".decode("utf-8")
ARABIC_EIGHTY = b"\xd9\xa8\xd9\xa0".decode("utf-8")
FULLWIDTH_EIGHTY = b"\xef\xbc\x98\xef\xbc\x90".decode("utf-8")


def raises(exc, fn, *args):
    """Call fn(*args); return the `exc` it raised, fail if it did not."""
    try:
        fn(*args)
    except exc as err:
        return err
    raise AssertionError("%s%r did not raise %s" % (getattr(fn, "__name__", fn), args, exc.__name__))


def unhex(text):
    return bytes.fromhex(text)


def a4(text):
    from healthcheck.addr import parse_ipv4

    return parse_ipv4(text)


def a6(text):
    from healthcheck.addr import parse_ipv6

    return parse_ipv6(text)


class Out:
    """A stdout/stderr stand-in that keeps what was written."""

    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text


# ------------------------------------------------------------------ /proc/net
HEADER = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
          "   uid  timeout inode\n")


def proc_row(slot, addr, port, raddr, rport, state, inode=4242, order="<", rx_queue=0):
    """A /proc/net row the way the kernel prints it, for a host of byte `order`."""
    def words(packed):
        return "".join(["%08X" % struct.unpack(order + "I", packed[i:i + 4])[0]
                        for i in range(0, len(packed), 4)])
    return ("%4d: %s:%04X %s:%04X %02X 00000000:%08X 00:00000000 00000000  1000        0 %d 1 "
            "0000000000000000 100 0 0 10 0\n" % (slot, words(addr), port, words(raddr), rport, state,
                                                  rx_queue, inode))


# ------------------------------------------------------------------ netlink
def diag_msg(family, state, addr, port, raddr=None, rport=0, inode=77, attrs=b"", rqueue=0, wqueue=0):
    raddr = raddr or bytes(len(addr))
    body = struct.pack("@BBBB", family, state, 0, 0) + struct.pack(">HH", port, rport)
    body += addr + bytes(16 - len(addr)) + raddr + bytes(16 - len(raddr)) + struct.pack("@III", 0, 0, 0)
    body += struct.pack("@IIIII", 0, rqueue, wqueue, 1000, inode)
    return body + attrs


def attr(atype, payload):
    raw = struct.pack("@HH", 4 + len(payload), atype) + payload
    return raw + bytes(-len(raw) % 4)


def nlmsg(mtype, payload, seq=1, flags=netlink.NLM_F_MULTI):
    raw = struct.pack("@IHHII", 16 + len(payload), mtype, flags, seq, 0) + payload
    return raw + bytes(-len(raw) % 4)


def done(seq=1, err=0):
    return nlmsg(netlink.NLMSG_DONE, struct.pack("@i", err), seq)


def error(errno, seq=1):
    return nlmsg(netlink.NLMSG_ERROR, struct.pack("@i", -errno) + bytes(16), seq, 0)


def unix_msg(stype, state, name=None, vfs=None, rqlen=None, ino=1234):
    """A unix_diag_msg with the NAME, VFS and RQLEN attributes asked for."""
    body = struct.pack("@BBBBIII", 1, stype, state, 0, ino, 0, 0)
    if name is not None:
        body += attr(0, name + (b"" if name[:1] == b"\0" else b"\0"))
    if vfs is not None:
        body += attr(1, struct.pack("@II", vfs[1], vfs[0]))
    if rqlen is not None:
        body += attr(4, struct.pack("@II", rqlen[0], rqlen[1]))
    return body


class FakeSock:
    """The far end of a netlink socket, replaying datagrams the kernel sent
    (recorded or written with the helpers above); then silence, which a
    real socket reports as a timeout (EAGAIN)."""

    def __init__(self, *datagrams):
        self.datagrams = list(datagrams)
        self.sent = []
        self.closed = False

    def send(self, data):
        self.sent.append(data)
        return len(data)

    def recv(self, size):
        if not self.datagrams:
            raise OSError(11, "Resource temporarily unavailable")
        return self.datagrams.pop(0)[:size]

    def close(self):
        self.closed = True


# ------------------------------------------------------- inet_diag bytecode
def bc_audit(code):
    """The kernel's inet_diag_bc_audit (and valid_cc) for the ops we emit:
    True when the kernel accepts the program."""
    def valid_cc(cc):
        length, pos = len(code), 0
        while length >= 0:
            if cc > length:
                return False
            if cc == length:
                return True
            yes = code[pos + 1]
            if yes < 4 or yes & 3:
                return False
            length -= yes
            pos += yes
        return False

    length, pos = len(code), 0
    while length > 0:
        op, yes, no = struct.unpack_from("@BBH", code, pos)
        min_len = 4
        if op in (netlink.INET_DIAG_BC_S_GE, netlink.INET_DIAG_BC_S_LE):
            min_len += 4
            if length < min_len:
                return False
        elif op != netlink.INET_DIAG_BC_JMP:
            return False
        if no < min_len or no > length + 4 or no & 3:
            return False
        if no < length and not valid_cc(length - no):
            return False
        if yes < min_len or yes > length + 4 or yes & 3:
            return False
        pos += yes
        length -= yes
    return length == 0  # the kernel: "return len == 0 ? 0 : -EINVAL"


def bc_run(code, sport):
    """The kernel's inet_diag_bc_run: does a socket on `sport` pass?"""
    length, pos = len(code), 0
    while length > 0:
        op, yes, no = struct.unpack_from("@BBH", code, pos)
        if op == netlink.INET_DIAG_BC_JMP:
            ok = False
        elif op == netlink.INET_DIAG_BC_S_GE:
            ok = sport >= struct.unpack_from("@BBH", code, pos + 4)[2]
        elif op == netlink.INET_DIAG_BC_S_LE:
            ok = sport <= struct.unpack_from("@BBH", code, pos + 4)[2]
        else:
            raise AssertionError("unexpected op %d" % op)
        step = yes if ok else no
        length -= step
        pos += step
    return length == 0
