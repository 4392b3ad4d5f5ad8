"""The HTTP/2 (RFC 9113) and HPACK (RFC 7541) subset one gRPC unary call
needs, over cleartext with prior knowledge: grpc.health.v1.Health/Check on
stream 1. Bytes in, bytes out: no I/O here (grpccheck.py does it).

    call = Call(authority, service, metadata, timeout_ms)
    call.out            bytes to send (the preface and SETTINGS first); the
                        caller sends them and empties it
    call.feed(data)     bytes received, in any pieces; may add to .out
    call.done           the call has ended: call.result() -> (ok, text):
                        (True, "SERVING"), (False, "NOT_SERVING"),
                        "UNIMPLEMENTED 'msg'", "GOAWAY ENHANCE_YOUR_CALM", ...
    call.step()         what is awaited, for a timeout's message
    call.closed()       raises what a connection the server closed means
    call.lines          --debug lines: the frames each way, the fields
    call.hpack(block)   a header block -> [(name, value)] (bytes), keeping
                        the dynamic table; huffman(data) -> bytes

A server that breaks the protocol raises H2Error (one line); nothing else
escapes, whatever the bytes. What is read is bounded: feed() fails once
READ_LIMIT bytes have come without the end; frames of at most 16384 bytes
(the default, never raised); a header list of at most LIST_LIMIT bytes
once decoded. A non-HTTP/2 server fails at its first byte that cannot
start the SETTINGS frame an HTTP/2 server must send first.

The request goes out once the server's SETTINGS are in, so its frame size,
header list size and window are known: HEADERS (and CONTINUATION past the
frame size) of literal fields without indexing or Huffman, then one DATA
with END_STREAM. Written for size (the static binary freezes it): one
class for the call, names and messages in "|"- or space-separated strings
(each string constant costs the binary a 32-byte object besides its text).
"""

import struct

from . import __version__
from .errors import HealthcheckError, shown

READ_LIMIT = 65536
LIST_LIMIT = 65536  # RFC 9113 6.5.2: names, values and 32 per field
FRAME_LIMIT = 16384
REQUEST = (":method POST|:scheme http|:path /grpc.health.v1.Health/Check|:authority %s|content-type application/grpc|"
           "te trailers|grpc-timeout %dm|user-agent healthcheck/%s")
FRAMES = "DATA HEADERS PRIORITY RST_STREAM SETTINGS PUSH_PROMISE PING GOAWAY WINDOW_UPDATE CONTINUATION"
ERRORS = ("NO_ERROR PROTOCOL_ERROR INTERNAL_ERROR FLOW_CONTROL_ERROR SETTINGS_TIMEOUT STREAM_CLOSED "
          "FRAME_SIZE_ERROR REFUSED_STREAM CANCEL COMPRESSION_ERROR CONNECT_ERROR ENHANCE_YOUR_CALM "
          "INADEQUATE_SECURITY HTTP_1_1_REQUIRED")
CODES = ("OK CANCELLED UNKNOWN INVALID_ARGUMENT DEADLINE_EXCEEDED NOT_FOUND ALREADY_EXISTS PERMISSION_DENIED "
         "RESOURCE_EXHAUSTED FAILED_PRECONDITION ABORTED OUT_OF_RANGE UNIMPLEMENTED INTERNAL UNAVAILABLE "
         "DATA_LOSS UNAUTHENTICATED")
HEALTH = "UNKNOWN SERVING NOT_SERVING SERVICE_UNKNOWN"
# The texts of H2Error and of the answers, by number (_err, _text).
TEXTS = ("not a gRPC (HTTP/2) server: %s|"  # 0
         "bad HPACK or protobuf in the response|"  # 1
         "a %s frame of %d bytes|"  # 2: too big, or the wrong size for its type
         "a %s frame on stream %d|"  # 3
         "an unexpected %s frame|"  # 4
         "%d KB read and the response has not ended|"  # 5
         "request headers over the server's limit (%d > %d)|"  # 6
         "the server closed the connection before %s|"  # 7
         "HTTP status %s: not a gRPC answer|"  # 8
         "no grpc-status in the answer|"  # 9
         "not one gRPC message (%d bytes)|"  # 10
         "the server's SETTINGS|the response headers|the end of the response|"  # 11-13: what is awaited
         "it answered '%s'|it closed the connection")  # 14, 15
# RFC 7541 Appendix A, entries 1-61: "name value" joined by "|".
STATIC = (b":authority|:method GET|:method POST|:path /|:path /index.html|:scheme http|:scheme https|"
          b":status 200|:status 204|:status 206|:status 304|:status 400|:status 404|:status 500|accept-charset|"
          b"accept-encoding gzip, deflate|accept-language|accept-ranges|accept|access-control-allow-origin|age|"
          b"allow|authorization|cache-control|content-disposition|content-encoding|content-language|"
          b"content-length|content-location|content-range|content-type|cookie|date|etag|expect|expires|from|"
          b"host|if-match|if-modified-since|if-none-match|if-range|if-unmodified-since|last-modified|link|"
          b"location|max-forwards|proxy-authenticate|proxy-authorization|range|referer|refresh|retry-after|"
          b"server|set-cookie|strict-transport-security|transfer-encoding|user-agent|vary|via|"
          b"www-authenticate").split(b"|")
# RFC 7541 Appendix B: the code length of symbols 0-256 (EOS), as chr(48 +
# length). The code is canonical (each length's codes in symbol order after
# the shorter ones'), so the lengths alone give it back.
HUFFMAN = ("=GLLLLLLLHNLLNLLLLLLLLNLLLLLLLLL6::<=68;::8;8666555666666678?6<:=67777777777777777777777878=C=>6?56"
           "565666577666567655677777?;>=LDFDDFFFGFGGGGGHGHHFGHGGGGEFGFGGHFEDFFGGEGFFHEFGGEEFEGFGGDFFFGFFGJJD"
           "CFGFIJJJKKJHICEJKKJKHEEJJLKKKDHDEFEEGFFIIHHJGJKJJKKKKKLKKKKKJN")
_huff = []  # [codes per length, symbols in code order], made at first use


class H2Error(HealthcheckError):
    """The server broke HTTP/2, HPACK or gRPC framing; str(err) says how."""


def _text(i, *args):
    return TEXTS.split("|")[i] % args


def _err(i, *args):
    return H2Error(_text(i, *args))


def _name(names, i):
    names = names.split()
    return names[i] if 0 <= i < len(names) else "code %d" % i


def _int(data, pos, prefix):
    """An HPACK integer with a `prefix`-bit prefix at data[pos] (RFC 7541
    5.1), or with prefix 0 a protobuf varint -> (value, next pos)."""
    top = (1 << prefix) - 1
    n = shift = 0
    if prefix:
        if pos >= len(data):
            raise _err(1)
        n = data[pos] & top
        pos += 1
        if n < top:
            return n, pos
    while True:
        if pos >= len(data) or shift > 63:
            raise _err(1)
        n += (data[pos] & 127) << shift
        shift += 7
        pos += 1
        if data[pos - 1] < 128:
            return n, pos


def _pb(n):
    """A protobuf varint."""
    out = bytearray()
    while n > 127:
        out.append(n & 127 | 128)
        n >>= 7
    out.append(n)
    return bytes(out)


def _lit(text):
    """An HPACK string literal, no Huffman (RFC 7541 5.2)."""
    n = len(text)
    return (bytes([n]) if n < 127 else b"\x7f" + _pb(n - 127)) + text


def huffman(data):
    """Huffman-coded bytes (RFC 7541 5.2) -> bytes. The padding must be
    the EOS code's first bits (all ones, fewer than 8), and EOS itself
    never appears."""
    if not _huff:
        counts = [0] * 31
        keys = []  # length << 8 | symbol: in code order once sorted (EOS, last, left out)
        for s in range(256):
            counts[ord(HUFFMAN[s]) - 48] += 1
            keys.append(ord(HUFFMAN[s]) - 48 << 8 | s)
        counts[30] += 1
        keys.sort()
        _huff.append(counts)
        _huff.append(bytes([k & 255 for k in keys]))
    counts, syms = _huff
    out = bytearray()
    code = n = first = index = 0
    for byte in data:
        for bit in range(7, -1, -1):
            code = code << 1 | byte >> bit & 1
            n += 1
            if code - first < counts[n]:  # a code of this length: first is its smallest
                index += code - first
                if index > 255:  # EOS
                    raise _err(1)
                out.append(syms[index])
                code = n = first = index = 0
            else:
                index += counts[n]
                first = (first + counts[n]) << 1
    if n > 7 or code != (1 << n) - 1:
        raise _err(1)
    return bytes(out)


def _str(data, pos):
    """An HPACK string literal at data[pos] -> (bytes, next pos)."""
    coded = pos < len(data) and data[pos] & 128
    n, pos = _int(data, pos, 7)
    if pos + n > len(data):
        raise _err(1)
    text = data[pos:pos + n]
    return huffman(text) if coded else text, pos + n


class Call:
    def __init__(self, authority, service, metadata, timeout_ms):
        """authority: str; service: bytes; metadata: [(name, value)] str,
        names lowercase and checked (grpccheck.py)."""
        self.fields = [f.split(" ", 1) for f in (REQUEST % (authority, timeout_ms, __version__)).split("|")]
        self.fields += metadata
        self.block = b""
        self.size = 0  # the request's header list size (RFC 9113 6.5.2)
        for name, value in self.fields:
            self.block += b"\x00" + _lit(name.encode()) + _lit(value.encode())
            self.size += len(name) + len(value) + 32
        # HealthCheckRequest {string service = 1}, after gRPC's 5-byte prefix
        message = b"\x0a" + _pb(len(service)) + service if service else b""
        self.body = b"\x00" + struct.pack(">I", len(message)) + message
        self.lines = ["> preface"]
        self.out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        self._send(4, 0, 0, b"\x00\x02\x00\x00\x00\x00\x00\x06\x00\x01\x00\x00")  # ENABLE_PUSH 0, MAX_HEADER_LIST_SIZE
        self.buf = self.data = b""
        self.got = self.stage = self.end = self.tsize = 0  # stage 1: the request is out
        self.done = False
        self.failure = self.headers = self.trailers = self.cont = self.lmax = None
        self.fmax = FRAME_LIMIT
        self.cwin = self.swin = self.initial = 65535
        self.table = []  # HPACK's dynamic table, newest first
        self.tmax = 4096  # SETTINGS_HEADER_TABLE_SIZE: the default, never changed

    def _send(self, ftype, flags, sid, payload):
        self.out += struct.pack(">BHBBI", len(payload) >> 16, len(payload) & 0xFFFF, ftype, flags, sid) + payload
        self._log(">", ftype, flags, sid, payload)

    def _log(self, way, ftype, flags, sid, payload):
        self.lines.append("%s %s stream=%d flags=0x%x length=%d" % (way, _name(FRAMES, ftype), sid, flags,
                                                                     len(payload)))

    def _fields(self, way, fields):
        for key, value in fields:
            self.lines.append("%s %s: %s" % (way, shown(key, 60), shown(value, 200)))

    def step(self):
        return _text(11 if not self.stage else 12 if self.headers is None else 13)

    def closed(self):
        if not self.stage:
            raise _err(0, _text(14, shown(self.buf, 50)) if self.buf else _text(15))
        raise _err(7, self.step())

    def feed(self, data):
        self.got += len(data)
        buf = self.buf = self.buf + data
        # An HTTP/2 server's first frame is SETTINGS, no ACK: anything else
        # fails at the first byte that differs (HTTP/1.1's "HTTP/1.1 400").
        if not self.stage and buf[:9] != (b"\x00" + buf[1:3] + b"\x04" + bytes(5))[:len(buf)]:
            raise _err(0, _text(14, shown(buf.split(b"\r\n")[0], 50)))
        while len(buf) >= 9 and not self.done:
            l0, l1, ftype, flags, sid = struct.unpack_from(">BHBBI", buf)
            size = l0 << 16 | l1
            if size > FRAME_LIMIT:
                raise _err(2, _name(FRAMES, ftype), size)
            if len(buf) < 9 + size:
                break
            self._frame(ftype, flags, sid & 0x7FFFFFFF, buf[9:9 + size])
            buf = self.buf = buf[9 + size:]
        if not self.done and self.got >= READ_LIMIT:
            raise _err(5, READ_LIMIT // 1024)

    def _frame(self, ftype, flags, sid, p):
        self._log("<", ftype, flags, sid, p)
        size = len(p)
        name = _name(FRAMES, ftype)
        if self.cont is not None and (ftype != 9 or sid != 1) or ftype == 5:  # PUSH_PROMISE: push is off
            raise _err(4, name)
        if ftype in (0, 1, 9):  # stream 1's: DATA, HEADERS, CONTINUATION
            if sid != 1:
                raise _err(3, name, sid)
            if ftype < 9 and flags & 8:  # PADDED
                if not p or p[0] >= size:
                    raise _err(2, name, size)
                p = p[1:size - p[0]]
            if ftype == 0:
                if self.headers is None or flags & 1:  # before the headers, or no trailers
                    raise _err(4, name)
                self.data += p
                return
            if ftype == 1:
                if flags & 0x20:  # PRIORITY
                    if len(p) < 5:
                        raise _err(2, name, size)
                    p = p[5:]
                self.cont = b""
                self.end = flags & 1
            elif self.cont is None:
                raise _err(4, name)
            self.cont += p
            if flags & 4:  # END_HEADERS
                fields = self.hpack(self.cont)
                self.cont = None
                self._fields("<", fields)
                if self.headers is None:
                    self.headers = fields
                elif not self.end:  # a header block after the headers must be the trailers
                    raise _err(4, name)
                if self.end:
                    self.trailers = fields
                    self.done = True
            return
        if ftype in (3, 4, 6, 7, 8):  # RST_STREAM SETTINGS - PING GOAWAY WINDOW_UPDATE
            if size != (4, 0 if flags & 1 else size - size % 6, 0, 8, max(size, 8), 4)[ftype - 3]:
                raise _err(2, name, size)
            if (sid == 0) == (ftype == 3) and ftype != 8:
                raise _err(3, name, sid)
        if ftype == 4 and not flags & 1:  # SETTINGS (not an ACK)
            for i in range(0, size, 6):
                key, value = struct.unpack_from(">HI", p, i)
                if key == 4:  # INITIAL_WINDOW_SIZE
                    self.swin += value - self.initial
                    self.initial = value
                elif key == 5:  # MAX_FRAME_SIZE: never under the default
                    self.fmax = max(value, FRAME_LIMIT)
                elif key == 6:  # MAX_HEADER_LIST_SIZE
                    self.lmax = value
            self._send(4, 1, 0, b"")
            if not self.stage:
                self.stage = 1
                if self.lmax is not None and self.size > self.lmax:
                    raise _err(6, self.size, self.lmax)
                n = self.fmax
                for i in range(0, len(self.block), n):  # HEADERS, then CONTINUATION; END_HEADERS on the last
                    self._send(9 if i else 1, 4 if i + n >= len(self.block) else 0, 1, self.block[i:i + n])
                self._fields(">", self.fields)
        elif ftype == 6 and not flags & 1:  # PING: answered
            self._send(6, 1, 0, p)
        elif ftype == 8:  # WINDOW_UPDATE
            if sid == 0:
                self.cwin += struct.unpack(">I", p)[0] & 0x7FFFFFFF
            elif sid == 1:
                self.swin += struct.unpack(">I", p)[0] & 0x7FFFFFFF
        elif ftype == 7:  # GOAWAY: does the server finish stream 1?
            last, code = struct.unpack_from(">II", p)
            if code or last & 0x7FFFFFFF < 1:
                self.failure = "GOAWAY %s%s" % (_name(ERRORS, code), " '%s'" % shown(p[8:], 60) if size > 8 else "")
        elif ftype == 3 and sid == 1:  # RST_STREAM
            self.failure = "RST_STREAM " + _name(ERRORS, struct.unpack(">I", p)[0])
        self.done = self.failure is not None
        # PRIORITY and frame types this subset does not know: ignored (RFC 9113 5.5)
        if self.body and self.stage and len(self.body) <= min(self.cwin, self.swin):  # the window takes DATA
            self.cwin -= len(self.body)
            self.swin -= len(self.body)
            self._send(0, 1, 1, self.body)  # END_STREAM
            self.body = None

    def hpack(self, block):
        fields = []
        pos = size = 0
        while pos < len(block):
            first = block[pos]
            if first & 0x80:  # indexed field
                i, pos = _int(block, pos, 7)
                name, value = self._entry(i)
            elif first & 0xE0 == 0x20:  # dynamic table size update: only before the fields
                self.tmax, pos = _int(block, pos, 5)
                if fields or self.tmax > 4096:
                    raise _err(1)
                self._add(None, None)
                continue
            else:  # a literal field: with indexing (01), without (0000), never indexed (0001)
                i, pos = _int(block, pos, 6 if first & 0x40 else 4)
                name = self._entry(i)[0] if i else None
                if name is None:
                    name, pos = _str(block, pos)
                value, pos = _str(block, pos)
                if first & 0x40:
                    self._add(name, value)
            size += len(name) + len(value) + 32
            if size > LIST_LIMIT:
                raise _err(1)
            fields.append((name, value))
        return fields

    def _entry(self, i):
        if 0 < i <= 61:
            name, _, value = STATIC[i - 1].partition(b" ")
            return name, value
        if 0 <= i - 62 < len(self.table):
            return self.table[i - 62]
        raise _err(1)

    def _add(self, name, value):
        if name is not None:
            self.table.insert(0, (name, value))
            self.tsize += len(name) + len(value) + 32
        while self.tsize > self.tmax:
            name, value = self.table.pop()
            self.tsize -= len(name) + len(value) + 32

    def result(self):
        if self.failure:
            return False, self.failure
        status = dict(self.headers).get(b":status")
        if status != b"200":
            return False, _text(8, shown(status or b"-", 20))
        trailers = dict(self.trailers)
        code = trailers.get(b"grpc-status", b"")
        if not code.isdigit() or len(code) > 4:
            return False, _text(9)
        if int(code):
            # grpc-message is percent-encoded (gRPC's HTTP/2 protocol spec)
            text = b""
            for i, part in enumerate(trailers.get(b"grpc-message", b"").split(b"%")):
                if i:  # after a %
                    try:
                        part = bytes([int(part[:2], 16)]) + part[2:] if len(part) > 1 else b"%" + part
                    except ValueError:
                        part = b"%" + part
                text += part
            return False, _name(CODES, int(code)) + (" '%s'" % shown(text, 80) if text else "")
        m = self.data
        if len(m) < 5 or len(m) - 5 != struct.unpack_from(">I", m, 1)[0] or m[0]:
            return False, _text(10, len(m))
        # HealthCheckResponse {ServingStatus status = 1}: field 1 as a
        # varint (tag 8), or nothing for 0 (proto3 leaves defaults out)
        status, pos = _int(m, 6, 0) if m[5:6] == b"\x08" else (0, 5)
        if pos != len(m):
            raise _err(1)
        return status == 1, _name(HEALTH, status)
