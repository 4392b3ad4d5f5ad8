"""Test-side writers of what the kernel writes: /proc/net rows and
sock_diag messages, so tests can make any record in any byte order."""

import struct

from healthcheck import netlink


def proc_row(slot, addr, port, raddr, rport, state, inode=4242, order="<"):
    """A /proc/net row the way the kernel prints it, for a host of byte `order`."""
    def words(packed):
        return "".join("%08X" % struct.unpack(order + "I", packed[i:i + 4])[0]
                       for i in range(0, len(packed), 4))
    return ("%4d: %s:%04X %s:%04X %02X 00000000:00000000 00:00000000 00000000  1000        0 %d 1 "
            "0000000000000000 100 0 0 10 0\n" % (slot, words(addr), port, words(raddr), rport, state, inode))


HEADER = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
          "   uid  timeout inode\n")


def diag_msg(family, state, addr, port, raddr=None, rport=0, inode=77, attrs=b""):
    size = 4 if family == 2 else 16
    raddr = raddr or bytes(size)
    body = struct.pack("@BBBB", family, state, 0, 0) + struct.pack(">HH", port, rport)
    body += addr.ljust(16, b"\0") + raddr.ljust(16, b"\0") + struct.pack("@III", 0, 0, 0)
    body += struct.pack("@IIIII", 0, 0, 0, 1000, inode)
    return body + attrs


def attr(atype, payload):
    raw = struct.pack("@HH", 4 + len(payload), atype) + payload
    return raw + b"\0" * (-len(raw) % 4)


def nlmsg(mtype, payload, seq=1, flags=netlink.NLM_F_MULTI):
    raw = struct.pack("@IHHII", 16 + len(payload), mtype, flags, seq, 0) + payload
    return raw + b"\0" * (-len(raw) % 4)


def done(seq=1, err=0):
    return nlmsg(netlink.NLMSG_DONE, struct.pack("@i", err), seq)


def error(errno, seq=1):
    return nlmsg(netlink.NLMSG_ERROR, struct.pack("@i", -errno) + bytes(16), seq, 0)


def bc_audit(code):
    """The kernel's inet_diag_bc_audit and valid_cc for the ops we emit."""
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
    return True


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
