"""Verdict: the answer (ok or not), the reason in one short line, and the
per-socket explanation that --debug prints."""

from .addr import format_addr, format_endpoint

MAX_REASON = 190  # Docker keeps 4 KB of output, five results deep


class Verdict:
    """ok: every asked port is listening.
    results: one match.PortResult per asked port, in asked order.
    backend, notes: which kernel interface answered, and what it did
    (filled in by the caller that fetched the records)."""

    def __init__(self, query, results, backend=None, notes=None):
        self.query = query
        self.results = results
        self.backend = backend
        self.notes = notes if notes is not None else []
        self.ok = True
        for res in results:
            if res.listening is None:
                self.ok = False
        self.reason = _cut(self._reason())

    def _reason(self):
        name = self.query.tool.name
        where = ""
        if self.query.addr is not None:
            where = " on " + format_addr(self.query.addr)
        up = [r.port for r in self.results if r.listening is not None]
        down = [r for r in self.results if r.listening is None]
        if not down:
            if len(up) == 1:
                rec = self.results[0].listening
                return "%s port %d is listening%s (%s)" % (
                    name, up[0], where, format_endpoint(rec.addr, rec.port))
            return "%s ports %s are listening%s" % (name, _ports(up), where)
        if len(down) == 1:
            res = down[0]
            text = "%s port %d is not listening%s" % (name, res.port, where)
            if res.near_miss is not None:
                rec, why = res.near_miss
                text += " (%s: %s)" % (format_endpoint(rec.addr, rec.port), why)
            elif up:
                text += " (%s %s)" % (_ports(up), "is" if len(up) == 1 else "are")
            return text
        return "%s ports %s are not listening%s" % (name, _ports([r.port for r in down]), where)

    def explain(self):
        """Lines for --debug: interface, every candidate and the decision."""
        lines = ["kernel interface: %s" % self.backend]
        lines.extend(self.notes)
        for res in self.results:
            lines.append("port %d: %d candidate socket%s" % (
                res.port, res.candidates, "" if res.candidates == 1 else "s"))
            for rec, counts, why in res.explained:
                lines.append("  %s -> %s: %s" % (
                    rec.describe(), "counts" if counts else "does not count", why))
            if res.candidates > len(res.explained):
                lines.append("  ... and %d more" % (res.candidates - len(res.explained)))
        return lines

    def __repr__(self):
        return "Verdict(ok=%r, %r)" % (self.ok, self.reason)


def _ports(ports):
    return ",".join([str(p) for p in ports])


def _cut(text):
    if len(text) <= MAX_REASON:
        return text
    return text[:MAX_REASON - 3] + "..."
