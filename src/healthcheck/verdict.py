"""Verdict: the answer (ok or not), the reason in one short line, and the
per-socket explanation that --debug prints. Made once, by decide.py, with
everything it reports."""

from .addr import format_addr, format_endpoint
from .kernel_abi import SOCK_TYPE_NAMES, TCP_LISTEN

MAX_REASON = 190  # Docker keeps 4 KB of output, five results deep


class Verdict:
    """ok: every asked port is listening (and accepting, with --accepting).
    results: one match.PortResult per asked port, in asked order.
    backend, notes: which kernel interface answered, and what was done.
    problem: why nothing can be listening, found before or beside the
    sockets (an address that is not here, IPv6 off, no socket file)."""

    def __init__(self, query, results, backend, notes, problem=None, say=True):
        self.query = query
        self.results = results
        self.backend = backend
        self.notes = notes
        self.problem = problem
        down = [res for res in results if not res.ok()]
        self.ok = problem is None and not down
        # say=False: the caller (a probe, which asks the kernel first) calls
        # said() only when it shows the line; making it is a tenth of a check.
        self.reason = _cut(self._reason(down)) if say else None

    def said(self):
        """The one line (.reason)."""
        return _cut(self._reason([res for res in self.results if not res.ok()]))

    def _reason(self, down):
        query = self.query
        where = "" if query.addr is None else " on " + format_addr(query.addr)
        subject = query.subject() + where
        plural = len(self.results) > 1
        if self.problem is not None:
            return "%s %s not listening (%s)" % (subject, "are" if plural else "is", self.problem)
        if not down:
            found = []
            tail = ", loopback only"
            for res in self.results:
                found.append(_found(res))
                if not res.loopback_only:
                    tail = ""
            return "%s %s listening (%s%s)" % (subject, "are" if plural else "is", ", ".join(found), tail)
        res = down[0]
        what = "%s port %d%s" % (query.tool.name, res.port, where) if plural else subject
        if res.blocked is not None:
            rec, why = res.blocked
            text = "%s is listening but not accepting (%s: %s)" % (what, _where(rec), why)
        else:
            text = "%s is not listening" % what
            if res.near_miss is not None:
                rec, why = res.near_miss
                text += " (%s: %s)" % (_where(rec), why)
            elif res.port is None:
                text += " (%s)" % _no_unix_socket(query, self.backend)
            elif query.tool.state == TCP_LISTEN:
                text += " (no TCP socket listens on this port)"
            else:
                text += " (no unconnected UDP socket is bound to this port)"
        if len(down) > 1:
            text += "; also not: %s" % ",".join([str(r.port) for r in down[1:]])
        return text

    def explain(self):
        """Lines for --debug: interface, what was done, every socket on the
        asked ports and the decision."""
        lines = ["kernel interface: %s" % (self.backend or "none asked")]
        lines.extend(self.notes)
        for res in self.results:
            head = "socket" if res.port is None else "port %d" % res.port
            lines.append("%s: %d socket%s" % (head, res.candidates, "" if res.candidates == 1 else "s"))
            for rec, counts, why in res.explained:
                verdict = "counts" if counts else ("unsure" if counts is None else "does not count")
                lines.append("  %s -> %s: %s" % (rec.describe(), verdict, why))
            if res.candidates > len(res.explained):
                lines.append("  ... and %d more" % (res.candidates - len(res.explained)))
        if self.problem is not None:
            lines.append(self.problem)
        return lines

    def __repr__(self):
        return "Verdict(ok=%r, %r)" % (self.ok, self.reason)


def _no_unix_socket(query, backend):
    if query.unix_name[:1] == b"\0":
        return "no socket has this name here"
    if backend and backend.startswith("/proc"):
        return "no socket is bound to this name in /proc/net/unix, which shows names, not files"
    return "no socket in this network namespace is bound to this file: a stale socket file, or one " \
           "bound in another namespace"


def _where(rec):
    if getattr(rec, "port", None) is None:
        return SOCK_TYPE_NAMES.get(rec.stype, "socket")
    return format_endpoint(rec.addr, rec.port)


def _found(res):
    text = _where(res.listening)
    if res.settled is not None:
        text += "; " + res.settled
    if res.limit_unknown:
        text += "; queue limit not visible here: only a certainly full queue fails"
    return text


def _cut(text):
    if len(text) <= MAX_REASON:
        return text
    return text[:MAX_REASON - 3] + "..."
