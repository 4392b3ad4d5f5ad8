"""HTTP/1.1 messages for the HTTP tool: what the user writes, the request
sent and the response read. Pure: no I/O (httpprobe.py does that).

    parse_target(text) -> Target      "8080/healthz", "http://[::1]:8080/x?y=1"
    parse_codes(text)  -> ((lo, hi), ...)      "200", "200-299", "200,204,301-308"
    codes_text(ranges) -> "200,204,301-308"    DEFAULT_CODES: ((200, 399),)
    parse_header(text) -> (name, value)        "Name: value"
    parse_method(text) -> "GET"                an RFC 9110 token
    build_request(method, path, host_value, headers, version_text) -> bytes
    Response(head_only=False, want_body=False): fed the bytes received, in
        any pieces; .done when the answer is complete (see its docstring)
    not_http(first_bytes) -> what a reply that is not HTTP/1.x is: "the
        server speaks TLS: use HTTPS", "... HTTP/2 only ...", "not an HTTP
        response: '...'" (judged on its first 41 bytes, or fewer at the end
        of the stream or at a timeout: Response.sniff)

Bad input raises UsageError (one line that says what to write); a
response that is not HTTP/1.x, or breaks its own framing, raises
ProtocolError. Nothing else escapes, whatever the bytes.

Choices: a URL's #fragment is dropped (it is never sent: browsers and
curl do the same); 0.0.0.0 and [::] as a URL host are errors (not an
address to connect to: give 127.0.0.1, or the PORT[/PATH] form); header
values and paths are ASCII only (percent-encode the rest); an obs-fold in
a response header is joined to the line before with one space (RFC 9112
5.2); a chunked body ends at its last chunk: the trailer section is not
read.
"""

from .addr import DIGITS, HEXDIGITS, only, parse_ipv4, parse_ipv6
from .errors import HealthcheckError, UsageError, shown
from .kernel_abi import AF_INET, AF_INET6

MAX_TARGET = 2048  # longest PORT[/PATH] or URL
MAX_HEADER = 4096  # longest --header, name and value
MAX_METHOD = 32
MAX_HEADERS = 100  # user headers in one request, and header fields in a response
MAX_CODES = 50  # entries of --status
HEAD_LIMIT = 16384  # a response's head (status line, fields, interim responses)
BODY_LIMIT = 65536  # body bytes kept (after de-chunking); reading stops there
# A chunked body's bytes on the wire, chunk lines included: 1-byte chunks
# would otherwise make 64 KB of body cost 384 KB of reading.
WIRE_LIMIT = 2 * BODY_LIMIT
CHUNK = 4096  # the most asked of one recv()
MAX_CHUNK_LINE = 1024  # a chunk-size line with its extensions
DEFAULT_CODES = ((200, 399),)

LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
TCHAR = LETTERS + "-" + DIGITS + "!#$%&'*+.^_`|~"
TCHAR_B = TCHAR.encode()
DIGITS_B = b"0123456789"
HEX_B = HEXDIGITS.encode()
SCHEME_CHARS = "+-." + DIGITS + LETTERS  # RFC 3986
# What errors.shown() keeps as it is (printable ASCII but the backslash),
# and what a target or a header value may hold (with the backslash, HTAB).
# The sets strip() searches, byte by byte: the usual characters first.
PLAIN = 'abcdefghijklmnopqrstuvwxyz0123456789/.-: _,;=ABCDEFGHIJKLMNOPQRSTUVWXYZ!"#$%&\'()*+<>?@[]^`{|}~'
PLAIN_B = PLAIN.encode()
TEXT = PLAIN + "\\"
TEXT_TAB = TEXT + "\t"
TARGET_FORMS = "PORT[/PATH] (8080/healthz) or http://HOST[:PORT][/PATH]"

# Response body framing (Response._mode).
_NONE, _LENGTH, _CHUNKED, _CLOSE = 0, 1, 2, 3
# Chunked body states.
_SIZE, _DATA, _CRLF = 0, 1, 2


class ProtocolError(HealthcheckError):
    """The server's answer is not an HTTP/1.x response, or breaks its own
    framing. str(err) says what, without where (the caller adds that)."""


class Target:
    """What to ask. scheme: "http" or "https"; port: int; path: starts
    with "/"; host: None for the PORT[/PATH] form, else "localhost" (in any
    case as written) or the address text without brackets; family and
    addr: AF_INET/AF_INET6 and the packed address, None for no host and
    for localhost (the caller picks the loopback the listener takes);
    authority: host[:port] as written in the URL, for the Host header
    (None for the PORT form)."""

    def __init__(self, scheme, port, path, host=None, family=None, addr=None, authority=None):
        self.scheme = scheme
        self.port = port
        self.path = path
        self.host = host
        self.family = family
        self.addr = addr
        self.authority = authority

    def __repr__(self):
        return "Target(%s, %r, %d, %r)" % (self.scheme, self.host, self.port, self.path)


def _quoted(text, limit=40):
    return "'%s'" % shown(text, limit)


def printable(value, limit=40):
    """errors.shown(value, limit), for text or bytes that are nearly always
    plain already: then without its walk over every character (on
    MicroPython each one an interned one-character string)."""
    if len(value) <= limit:
        if isinstance(value, bytes):
            if not value.strip(PLAIN_B):
                return value.decode()
        elif not value.strip(PLAIN):
            return value
    return shown(value, limit)


def _first_bad(text, allow_tab):
    """The code of the first character of `text` that is a control
    character, DEL or not ASCII (HTAB allowed if `allow_tab`), else -1."""
    if not text.strip(TEXT_TAB if allow_tab else TEXT):
        return -1  # the usual text: no walk over its characters (see printable)
    for ch in text:
        code = ord(ch)
        if (code < 32 and not (allow_tab and code == 9)) or code >= 127:
            return code
    return -1


def _port(text, whole):
    if not text or len(text) > 5 or not only(text, DIGITS) or not 1 <= int(text) <= 65535:
        raise UsageError("bad port %s in %s: a port is a number from 1 to 65535"
                         % (_quoted(text, 12), _quoted(whole)))
    return int(text)


def parse_target(text):
    """PORT[/PATH] or http(s)://HOST[:PORT][/PATH] -> Target. HOST: an
    IPv4 dotted quad, [IPv6] or localhost; no DNS, no user:password@."""
    if not text:
        raise UsageError("no port or URL given: write " + TARGET_FORMS)
    if len(text) > MAX_TARGET:
        raise UsageError("the URL is longer than %d characters" % MAX_TARGET)
    bad = _first_bad(text, False)
    if bad >= 0 or " " in text:
        what = "a space" if bad < 0 else "a non-ASCII character" if bad > 127 else "a control character"
        raise UsageError("%s holds %s: percent-encode it (a space is %%20)" % (_quoted(text), what))
    text = text.partition("#")[0]  # a fragment is never sent
    scheme, sep, rest = text.partition("://")
    if not sep or not scheme or not only(scheme, SCHEME_CHARS) or not only(scheme[0], LETTERS):
        return _port_form(text)
    scheme = scheme.lower()
    if scheme not in ("http", "https"):
        raise UsageError("%s: only http:// and https:// URLs, or %s" % (_quoted(scheme + "://"), TARGET_FORMS))
    cut = len(rest)
    for mark in ("/", "?"):  # not "/?": iterating a str makes a str of each character
        at = rest.find(mark)
        if 0 <= at < cut:
            cut = at
    authority, path = rest[:cut], rest[cut:]
    if "@" in authority:
        raise UsageError("no user:password@ in the URL: send credentials with --header 'Authorization: ...'")
    if not authority:
        raise UsageError("no host in %s: write http://127.0.0.1:8080/PATH, or PORT[/PATH]" % _quoted(text))
    if authority[0] == "[":
        host, bracket, port_text = authority[1:].partition("]")
        if not bracket or (port_text and port_text[0] != ":"):
            raise UsageError("bad host in %s: write an IPv6 address as [::1] or [::1]:8080" % _quoted(text))
        port_text = port_text[1:] if port_text else None
        if "%" in host:
            raise UsageError("zones (%%eth0) are not supported in %s: give the address alone" % _quoted(text))
        try:
            addr = parse_ipv6(host)
        except ValueError as err:
            raise UsageError("bad IPv6 address %s: %s" % (_quoted(host), err.args[0]))
        family = AF_INET6
    else:
        if authority.count(":") > 1:
            if "%" in authority:
                raise UsageError("zones (%%eth0) are not supported in %s: give the address alone, in brackets"
                                 % _quoted(text))
            raise UsageError("write an IPv6 address in brackets: http://[%s]/" % shown(authority, 60))
        host, colon, port_text = authority.partition(":")
        port_text = port_text if colon else None
        family = addr = None
        if not host:
            raise UsageError("no host in %s: write http://127.0.0.1:8080/PATH, or PORT[/PATH]" % _quoted(text))
        if host.lower() != "localhost":
            if not only(host, DIGITS + "."):
                raise UsageError("host %s: no host names (no DNS): give an IP address or localhost"
                                 % _quoted(host))
            try:
                addr = parse_ipv4(host)
            except ValueError as err:
                raise UsageError("bad IPv4 address %s: %s" % (_quoted(host), err.args[0]))
            family = AF_INET
    if addr is not None and addr == bytes(len(addr)):
        raise UsageError("%s is not an address to connect to: give 127.0.0.1 or ::1, or write PORT[/PATH]"
                         % _quoted(host))
    if port_text is None:
        port = 443 if scheme == "https" else 80
    else:
        port = _port(port_text, text)
    return Target(scheme, port, _path(path), host, family, addr, authority)


def _port_form(text):
    cut = len(text)
    for mark in ("/", "?"):
        at = text.find(mark)
        if 0 <= at < cut:
            cut = at
    port_text = text[:cut]
    if not only(port_text, DIGITS) or not port_text:
        if ":" in port_text or "." in port_text or "://" in text:
            raise UsageError("bad target %s: write http://%s for a host, or %s" % (
                _quoted(text), shown(text.partition("://")[2] or text, 40), TARGET_FORMS))
        raise UsageError("bad target %s: write %s" % (_quoted(text), TARGET_FORMS))
    return Target("http", _port(port_text, text), _path(text[cut:]))


def _path(text):
    if not text:
        return "/"
    return text if text[0] == "/" else "/" + text


def parse_codes(text):
    """--status: "200", "200-299", "200,204,301-308" -> ((lo, hi), ...);
    codes 100-599, lo <= hi."""
    rule = "status codes 100-599 such as 200, 200-299 or 200,204,301-308"
    items = text.split(",")
    if len(items) > MAX_CODES:
        raise UsageError("--status: at most %d entries" % MAX_CODES)
    out = []
    for item in items:
        lo, dash, hi = item.partition("-")
        if not dash:
            hi = lo
        for part in (lo, hi):
            if len(part) != 3 or not only(part, DIGITS) or not 100 <= int(part) <= 599:
                raise UsageError("bad --status %s: %s" % (_quoted(text), rule))
        if int(lo) > int(hi):
            raise UsageError("bad --status range %s: low to high, as %s-%s" % (_quoted(item), hi, lo))
        out.append((int(lo), int(hi)))
    return tuple(out)


def codes_text(ranges):
    return ",".join(["%d" % lo if lo == hi else "%d-%d" % (lo, hi) for lo, hi in ranges])


def parse_header(text):
    """--header "Name: value" -> (name, value): name an RFC 9110 token,
    value ASCII without control characters but HTAB, surrounding blanks
    dropped."""
    if len(text) > MAX_HEADER:
        raise UsageError("--header is longer than %d bytes" % MAX_HEADER)
    name, colon, value = text.partition(":")
    if not colon:
        raise UsageError("bad --header %s: write it as 'Name: value'" % _quoted(text))
    if not name or not only(name, TCHAR):
        raise UsageError("bad --header name %s: letters, digits and !#$%%&'*+-.^_`|~ only, then ':'"
                         % _quoted(name))
    bad = _first_bad(value, True)
    if bad >= 0:
        if bad in (0, 10, 13):
            raise UsageError("--header %s: a value cannot hold CR, LF or NUL" % _quoted(name))
        raise UsageError("--header %s: the value holds a %s character: ASCII text only"
                         % (_quoted(name), "control" if bad <= 127 else "non-ASCII"))
    return name, value.strip(" \t")


def parse_method(text):
    if not text or len(text) > MAX_METHOD or not only(text, TCHAR):
        raise UsageError("bad --method %s: a token such as GET or HEAD (letters, digits, at most %d)"
                         % (_quoted(text), MAX_METHOD))
    return text


def build_request(method, path, host_value, headers, version_text):
    """The request's bytes, no body. headers: [(name, value)] from
    parse_header, sent in order after the defaults; a user Host,
    User-Agent or Accept (any case) replaces the default one. Connection:
    close is always sent."""
    if not headers:  # the usual request: one format, no list of lines
        return ("%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: healthcheck/%s\r\nAccept: */*\r\n"
                "Connection: close\r\n\r\n" % (method, path, host_value, version_text)).encode()
    if len(headers) > MAX_HEADERS:
        raise UsageError("at most %d --header options" % MAX_HEADERS)
    given = [name.lower() for name, _ in headers]
    lines = ["%s %s HTTP/1.1" % (method, path)]
    for name, value in (("Host", host_value), ("User-Agent", "healthcheck/" + version_text),
                        ("Accept", "*/*")):
        if name.lower() not in given:
            lines.append("%s: %s" % (name, value))
    lines.append("Connection: close")
    for name, value in headers:
        lines.append("%s: %s" % (name, value))
    lines.append("\r\n")
    return "\r\n".join(lines).encode()


def not_http(data):
    """What the first bytes of a reply that is not HTTP/1.x say it is."""
    if data[:1] in (b"\x15", b"\x16") and data[1:2] == b"\x03":
        return "the server speaks TLS: use HTTPS"
    # An HTTP/2 frame header (SETTINGS or GOAWAY on stream 0), or a preface.
    if ((len(data) >= 9 and data[0] == 0 and data[3] in (4, 7) and data[5:9] == b"\0\0\0\0")
            or data[:14] == b"PRI * HTTP/2.0"):
        return "the server speaks HTTP/2 only, not HTTP/1.1"
    return "not an HTTP response: '%s'" % shown(data[:41], 40)


def _http_start(start):
    return start.startswith(b"HTTP/"[:len(start)])


class Response:
    """An HTTP/1.x response, parsed from bytes as they come.

        resp = Response(head_only=method == "HEAD", want_body=bool(body_text))
        while not resp.done:
            resp.feed(sock.recv(resp.want()))     # b"" at end of stream

    feed() raises ProtocolError for anything that is not a response, and
    for an end of stream before the answer is complete (with a body read
    until close, the end of stream completes it). want() is the most to
    read next: at most HEAD_LIMIT bytes of head and BODY_LIMIT of body
    (WIRE_LIMIT of a chunked one) are ever asked for.

    After the head: version ("HTTP/1.1"), status (int), reason and
    headers [(name, value)] (printably escaped text, made when asked:
    only --debug shows them). 1xx responses but 101 are skipped. The body
    is read only with want_body, and not for HEAD, 1xx, 204 or 304: then
    body holds its first BODY_LIMIT bytes and truncated says whether more
    was left unread. stage(): what is awaited ("an answer", "the
    headers", "the body", "nothing").
    """

    # The state a response starts in, as class attributes: an instance gets
    # its own only for what changes (a check makes one response; each
    # attribute set in __init__ was work on MicroPython).
    where = None  # set by httpprobe.exchange: "127.0.0.1:8080"
    version = status = reason = body = None
    truncated = False
    done = False
    kept = 0  # body bytes kept
    # The head being read when it comes in pieces: the pieces, joined once
    # its end is found, so a server sending a byte at a time costs no
    # quadratic copying. A head whole in one piece is parsed from it.
    _pieces = ()
    _size = 0  # bytes in _pieces
    _tail = b""  # their last 2 bytes: an end mark may straddle pieces
    _start = b""  # the first 41 bytes: enough to tell and show what it is
    _heads = 0  # bytes of the heads parsed (interim responses)
    _fields = ()  # the final head's [name, value] (bytes)
    _mode = _NONE  # how the body is read; set with what reading it needs (_frame):
    # _left: body bytes (Content-Length) or chunk bytes still due; _state: of
    # a chunked body; _cbuf: its bytes not yet parsed (a chunk-size line);
    # _wire: its bytes read, framing included; _parts, _small: the body
    # pieces kept (see _keep)

    def __init__(self, head_only=False, want_body=False):
        self.head_only = head_only
        self.want_body = want_body

    @property
    def headers(self):
        return [(name.decode(), shown(value, 1000)) for name, value in self._fields]

    def stage(self):
        if self.done:
            return "nothing"
        if self.status is not None:
            return "the body"
        return "the headers" if self._size or self._heads else "an answer"

    def want(self):
        if self.status is None:
            return min(CHUNK, HEAD_LIMIT - self._heads - self._size)
        if self._mode == _LENGTH:
            return min(CHUNK, self._left, BODY_LIMIT - self.kept)
        if self._mode == _CHUNKED:
            if self._state == _DATA:  # stop where the chunk or the room ends
                return min(CHUNK, WIRE_LIMIT - self._wire, self._left, BODY_LIMIT - self.kept)
            return min(CHUNK, WIRE_LIMIT - self._wire)
        return min(CHUNK, BODY_LIMIT - self.kept)

    def feed(self, data):
        if self.done:
            return
        if self.status is None:
            if not data:
                raise ProtocolError(self._closed_in_head())
            data = self._read_heads(data)
            if self.done or not data:
                return
        elif not data:
            if self._mode == _CLOSE:
                self._finish(False)
                return
            if self._mode == _LENGTH:
                raise ProtocolError("connection closed after %d of %d body bytes"
                                    % (self.kept, self.kept + self._left))
            raise ProtocolError("connection closed in the middle of a chunked body")
        if self._mode == _CHUNKED:
            self._dechunk(data)
            return
        if self._mode == _LENGTH:
            data = data[:self._left]
            self._left -= len(data)
        self._keep(data)
        if not self.done and self._mode == _LENGTH and not self._left:
            self._finish(False)

    def sniff(self):
        """At a timeout: raise the ProtocolError that the bytes so far
        already show (a reply that is not HTTP), if any."""
        if self.status is None and not _http_start(self._start):
            raise ProtocolError(not_http(self._start))

    def _closed_in_head(self):
        if not self._size:
            return "connection closed before a status line"
        if not _http_start(self._start):
            return not_http(self._start)
        for piece in self._pieces:
            if b"\n" in piece:
                return "connection closed in the middle of the headers"
        return "connection closed in the middle of the status line"

    def _hold(self, data):
        if self._size:
            self._pieces.append(data)
        else:
            self._pieces = [data]
        self._size += len(data)

    def _read_heads(self, data):
        """Take `data` into the head; parse every head it completes. ->
        the bytes after the final head (the body's first), or None."""
        while True:
            # A piece that starts a head with "HTTP/" needs no sniffing; the
            # usual answer is a head that starts and ends in one piece, parsed
            # from it with no copy into pieces.
            if (self._size or not data.startswith(b"HTTP/")) and len(self._start) <= 40:
                self._start = (self._start + data)[:41]
                if not _http_start(self._start):
                    if len(self._start) > 40:
                        raise ProtocolError(not_http(self._start))
                    self._hold(data)  # too few to show: wait for more, or the end
                    return None
            window = self._tail + data if self._tail else data
            # The end of the first blank line ("\n\n" or "\n\r\n"), or -1.
            end = window.find(b"\n\r\n")
            if end < 0:
                end = window.find(b"\n\n")
                end = end + 2 if end >= 0 else -1
            else:
                bare = window.find(b"\n\n", 0, end + 2)  # one that ends before the CRLF one
                end = bare + 2 if bare >= 0 else end + 3
            size = self._heads + self._size
            if end < 0:
                if size + len(data) >= HEAD_LIMIT:
                    raise ProtocolError("response headers longer than %d KB" % (HEAD_LIMIT // 1024))
                if not self._start:
                    self._start = data[:41]
                self._hold(data)
                self._tail = window[-2:]
                return None
            end -= len(self._tail)  # in data: the mark ends there, not in the tail
            if size + end > HEAD_LIMIT:
                raise ProtocolError("response headers longer than %d KB" % (HEAD_LIMIT // 1024))
            head = data[:end] if end < len(data) else data
            data = data[end:] if end < len(data) else b""
            if self._size:
                self._hold(head)
                head = b"".join(self._pieces)
                self._pieces, self._size, self._tail = (), 0, b""
            self._start = b""
            self._heads += len(head)
            self._parse_head(head)
            if self.status is not None:
                return data
            if not data:
                return None

    def _parse_head(self, head):
        lines = head.split(b"\r\n")
        if head.count(b"\n") != len(lines) - 1:  # a bare LF: not CRLF throughout, as nearly every server sends
            lines = head.split(b"\n")
            for i in range(len(lines)):
                if lines[i].endswith(b"\r"):
                    lines[i] = lines[i][:-1]
        line = lines[0]
        parts = line.split(b" ", 2)
        version = parts[0]
        code = parts[1] if len(parts) > 1 else b""
        if (len(version) != 8 or not version.startswith(b"HTTP/1.") or not 48 <= version[7] <= 57
                or len(code) != 3 or code.strip(DIGITS_B) or not 100 <= int(code) <= 599):
            raise ProtocolError("bad status line: '%s'" % shown(line, 60))
        status = int(code)
        fields = []
        many = len(lines) > MAX_HEADERS + 3  # the status line, the blank line and what follows it
        for line in lines[1:-2]:
            if line[0] in (32, 9):  # obs-fold (SP, HTAB): part of the field before
                if not fields:
                    raise ProtocolError("bad header line: '%s'" % shown(line, 60))
                fields[-1][1] += b" " + line.strip(b" \t")
                continue
            name, colon, value = line.partition(b":")
            # The usual name, letters and "-" up to the colon, is a token as it is: no
            # rstrip(), and no strip() that searches TCHAR_B for each of its bytes.
            if not colon or not name.replace(b"-", b"").isalpha():
                name = name.rstrip(b" \t")
                if not colon or not name or name.strip(TCHAR_B):
                    raise ProtocolError("bad header line: '%s'" % shown(line, 60))
            if many and len(fields) >= MAX_HEADERS:
                raise ProtocolError("more than %d header fields" % MAX_HEADERS)
            fields.append([name, value.strip(b" \t")])
        if 100 <= status < 200 and status != 101:
            return  # interim (100 Continue, 103 Early Hints): the answer follows
        # A literal for the usual one: decode() searches the interned strings first (MicroPython)
        self.version = "HTTP/1.1" if version == b"HTTP/1.1" else version.decode()
        self.status = status
        self.reason = printable(parts[2], 100) if len(parts) > 2 else ""
        self._fields = fields
        self._frame(fields)

    def _frame(self, fields):
        """How the body is delimited (RFC 9112 6.3), checked even when it
        is not read."""
        codings = []
        lengths = []
        for name, value in fields:
            # Names by length first: no lowercase copy of every other one.
            size = len(name)
            if size == 17 and name.lower() == b"transfer-encoding":
                codings += [c.strip().lower() for c in shown(value, 200).split(",") if c.strip()]
            elif size == 14 and name.lower() == b"content-length":
                for item in value.split(b","):
                    item = item.strip(b" \t")
                    if not item or item.strip(DIGITS_B) or len(item) > 18:
                        raise ProtocolError("bad Content-Length: '%s'" % shown(value, 40))
                    lengths.append(int(item))
        for n in lengths:
            if n != lengths[0]:
                raise ProtocolError("conflicting Content-Length values")
        if self.head_only or self.status < 200 or self.status in (204, 304) or not self.want_body:
            self._finish(False)
            return
        self._parts, self._small = [], []
        if codings:
            self._mode = _CHUNKED if codings[-1] == "chunked" else _CLOSE
            self._state, self._cbuf, self._wire = _SIZE, b"", 0
        elif lengths:
            self._mode = _LENGTH
            self._left = lengths[0]
            if not self._left:
                self._finish(False)
        else:
            self._mode = _CLOSE

    def _keep(self, data):
        room = BODY_LIMIT - self.kept
        if len(data) >= room:
            data = data[:room]
        # A body trickling in: joined as it comes, so few small pieces stay
        # scattered over MicroPython's heap, and little is copied twice.
        self._small.append(data)
        if len(self._small) == 64:
            self._parts.append(b"".join(self._small))
            self._small = []
            if len(self._parts) == 16:
                self._parts = [b"".join(self._parts)]
        self.kept += len(data)
        if self.kept == BODY_LIMIT and not (self._mode == _LENGTH and not self._left):
            self._finish(True)

    def _finish(self, truncated):
        self.done = True
        self.truncated = truncated
        if self.want_body and self._mode != _NONE:
            self.body = b"".join(self._parts + self._small)
            self._parts = self._small = ()

    def _dechunk(self, data):
        data = data[:WIRE_LIMIT - self._wire]
        self._wire += len(data)
        buf = self._cbuf + data
        pos = 0
        while pos < len(buf) and not self.done:
            if self._state == _SIZE:
                nl = buf.find(b"\n", pos)
                line = buf[pos:] if nl < 0 else buf[pos:nl]
                if len(line) > MAX_CHUNK_LINE:
                    raise ProtocolError("chunk-size line longer than %d bytes" % MAX_CHUNK_LINE)
                if nl < 0:
                    break
                pos = nl + 1
                size = line[:-1] if line[-1:] == b"\r" else line
                size = size.partition(b";")[0].rstrip(b" \t")
                if not size or size.strip(HEX_B) or len(size) > 16:
                    raise ProtocolError("bad chunk size: '%s'" % shown(line, 40))
                self._left = int(size, 16)
                if not self._left:
                    self._finish(False)  # the last chunk; trailers are not read
                else:
                    self._state = _DATA
            elif self._state == _DATA:
                take = buf[pos:pos + self._left]
                pos += len(take)
                self._left -= len(take)
                if not self._left:
                    self._state = _CRLF
                self._keep(take)
            else:
                if buf[pos:pos + 1] == b"\n":
                    pos += 1
                elif buf[pos:pos + 2] == b"\r\n":
                    pos += 2
                elif buf[pos:] != b"\r":
                    raise ProtocolError("chunk data not followed by CRLF")
                else:
                    break
                self._state = _SIZE
        self._cbuf = buf[pos:]
        if not self.done and self._wire == WIRE_LIMIT:
            self._finish(True)
