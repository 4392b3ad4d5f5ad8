"""Verdict: the answer (ok or not), the reason in one short line, and the
per-socket explanation that --debug prints."""

from .addr import format_addr, format_endpoint

MAX_REASON = 190  # Docker keeps 4 KB of output, five results deep


class Verdict:
    """ok: every asked port is listening.
    results: [(port, [(SocketRecord, counts, why), ...]), ...] in asked order.
    backend, notes: which kernel interface answered, and what it noticed
    (filled in by the caller that fetched the records)."""

    def __init__(self, query, results, backend=None, notes=None):
        self.query = query
        self.results = results
        self.backend = backend
        self.notes = notes if notes is not None else []
        self.ok = True
        for _, found in results:
            if not _listening(found):
                self.ok = False
        self.reason = _cut(self._reason())

    def _reason(self):
        name = self.query.tool.name
        where = ""
        if self.query.addr is not None:
            where = " on " + format_addr(self.query.addr)
        up = [p for p, found in self.results if _listening(found)]
        down = [(p, found) for p, found in self.results if not _listening(found)]
        if not down:
            if len(up) == 1:
                rec = _first_counting(self.results[0][1])
                return "%s port %d is listening%s (%s)" % (
                    name, up[0], where, format_endpoint(rec.addr, rec.port))
            return "%s ports %s are listening%s" % (name, _ports(up), where)
        if len(down) == 1:
            port, found = down[0]
            text = "%s port %d is not listening%s" % (name, port, where)
            if found:
                rec, _, why = found[0]
                text += " (%s: %s)" % (format_endpoint(rec.addr, rec.port), why)
            elif up:
                text += " (%s %s)" % (_ports(up), "is" if len(up) == 1 else "are")
            return text
        return "%s ports %s are not listening%s" % (name, _ports([p for p, _ in down]), where)

    def explain(self):
        """Lines for --debug: interface, every candidate and the decision."""
        lines = ["kernel interface: %s" % self.backend]
        lines.extend(self.notes)
        for port, found in self.results:
            lines.append("port %d: %d candidate socket%s" % (
                port, len(found), "" if len(found) == 1 else "s"))
            for rec, counts, why in found:
                lines.append("  %s -> %s: %s" % (
                    rec.describe(), "counts" if counts else "does not count", why))
        return lines

    def __repr__(self):
        return "Verdict(ok=%r, %r)" % (self.ok, self.reason)


def _listening(found):
    for _, counts, _ in found:
        if counts:
            return True
    return False


def _first_counting(found):
    for rec, counts, _ in found:
        if counts:
            return rec
    return None


def _ports(ports):
    return ",".join([str(p) for p in ports])


def _cut(text):
    if len(text) <= MAX_REASON:
        return text
    return text[:MAX_REASON - 3] + "..."
