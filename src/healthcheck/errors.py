"""Errors of healthcheck: every one of them ends in exit code 1.

HealthcheckError is the base; the CLI maps any of them to a one-line
message and exit 1 in a single place (cli.main).
"""


class HealthcheckError(Exception):
    """Base class. str(err) is the one-line message shown to the user."""


class UsageError(HealthcheckError):
    """The command line or the library call was wrong (show usage)."""


class KernelError(HealthcheckError):
    """The kernel's socket tables could not be read or made no sense.
    errno: the error number a netlink request was answered with, if it was."""

    errno = None


class Refused(KernelError):
    """Netlink sock_diag is not available here; /proc/net may still be."""


class ParseError(KernelError):
    """A /proc/net row or a netlink message was malformed."""

    def __init__(self, where, detail, data=None):
        msg = "%s: %s" % (where, detail)
        if data is not None:
            msg += ": " + shown(data, 60)
        super().__init__(msg)


def shown(value, limit=40):
    """Printable-ASCII rendering of untrusted text or bytes, cut to about
    `limit` characters: other bytes as \\xNN, so a name that is not UTF-8
    still reads as what it is.

    Messages must never fail to encode (argv may hold non-UTF-8 bytes:
    CPython gives them as surrogates U+DC80-U+DCFF, MicroPython's str holds
    the bytes) and must stay short (Docker keeps only 4 KB of health output).
    """
    out = []
    size = 0
    for ch in value:
        code = ch if isinstance(ch, int) else ord(ch)
        if 32 <= code < 127 and code != 92:
            piece = chr(code)
        elif code == 92:
            piece = "\\\\"
        elif code < 256 or 0xDC80 <= code <= 0xDCFF:
            piece = "\\x%02x" % (code & 0xFF)
        else:
            piece = "\\u%04x" % (code & 0xFFFF)
        size += len(piece)
        if size > limit:
            out.append("...")
            break
        out.append(piece)
    return "".join(out)


def errno_of(err):
    """The errno of an OSError on CPython and MicroPython alike, or None."""
    code = getattr(err, "errno", None)
    if code is None and err.args and isinstance(err.args[0], int):
        code = err.args[0]
    return code


def describe_oserror(err):
    code = errno_of(err)
    if code is None:
        return str(err) or "timed out"
    if len(err.args) > 1:
        return "errno %d (%s)" % (code, err.args[1])
    return "errno %d" % code
