"""TLS for the probes that talk to a service (HTTPS now, GRPC --tls
next): a connected TCP socket wrapped in a TLS 1.2/1.3 client session,
under the caller's deadline. CPython: the standard library's ssl. The
static build: MicroPython's tls module on mbedTLS, in the second binary
healthcheck-tls only; the main binary is built without this module
(static/tls/README.md), and available() says so.

    available() -> None, or why TLS is not in this build (one line)
    TlsOptions(cacert, servername, cert, key)      file paths, or None
    from_options(options) -> TlsOptions            --cacert, --servername, --cert, --key
    TlsConn(sock, tls, host, arm, left, where, alpn=None)   sock: connected; host: the
        name checked and sent as SNI when there is no --servername (the URL's
        host, or the address connected to: an IP address is checked against
        the certificate's IP SANs); arm(sock, ms) sets sock's send and
        receive timeouts (the TLS socket on CPython, which takes the
        descriptor over); left() -> ms of the caller's deadline; where:
        "127.0.0.1:8443" for the messages; alpn: the protocol names
        offered by ALPN (["h2"]: gRPC servers refuse a client without it),
        or None for no ALPN. The handshake runs in
        .handshake() on CPython, with the first .send() on MicroPython.
      .handshake()              raises TlsFailed (why, in one line)
      .send(data) -> n          raises TlsFailed during the handshake,
                                OSError(EAGAIN) when the deadline passed
      .recv(n) -> bytes         b"" at the end of the stream; the same (TLS 1.3:
                                a server's refusal of the client comes here)
      .close()
      .info() -> ["TLSv1.3 TLS_AES_256_GCM_SHA384", "ALPN: h2", "certificate: CN=x, expires ..."]
    grpc_options(check, options), grpc_conn(sock, check, addr, where, left,
        call, limit): GRPC --tls's part (grpccheck.py), kept here, out of
        the main static binary

Verification is off unless --cacert names a CA file: then the chain and
the name (--servername, else host) must verify, or TlsFailed says why:
unknown CA, name mismatch, expired. No floats, no f-strings: the portable
subset the static build runs.
"""

import sys

from .errors import HealthcheckError, UsageError, errno_of, shown

MICROPYTHON = sys.implementation.name == "micropython"
EAGAIN = 11
ETIMEDOUT = 110
IPPROTO_TCP = 6
TCP_NODELAY = 1
MSG_PEEK = 2
MAX_PEM = 1 << 20  # a CA bundle of a few hundred certificates fits

# mbedTLS's codes (include/mbedtls/ssl.h), as MicroPython's tls raises them.
MBEDTLS_INVALID_RECORD = -0x7200
MBEDTLS_CONN_EOF = -0x7280
MBEDTLS_FATAL_ALERT = -0x7780
MBEDTLS_BAD_PROTOCOL_VERSION = -0x6E80
MBEDTLS_HANDSHAKE_FAILURE = -0x6E00
MBEDTLS_PEER_CLOSE_NOTIFY = -0x7880

UNKNOWN_CA = "the server's certificate is not signed by the CA of --cacert"
EXPIRED = "the server's certificate has expired"
NOT_YET = "the server's certificate is not valid yet"
NOT_TLS = "the server does not speak TLS"
CLOSED = "the server closed the connection during the TLS handshake"
ALERT = "the server refused the TLS handshake"
CLIENT_CERT = " (it may want a client certificate: --cert FILE --key FILE)"


class TlsFailed(HealthcheckError):
    """The TLS handshake failed; str(err) says why, without where."""


_why_not = []


def available():
    """None when this build speaks TLS, else the line that says where it does."""
    if _why_not:
        return _why_not[0]
    why = None
    try:
        if MICROPYTHON:
            import tls  # noqa: F401
        else:
            import ssl  # noqa: F401
    except ImportError:
        why = "this build has no TLS"
    _why_not.append(why)
    return why


class TlsOptions:
    def __init__(self, cacert=None, servername=None, cert=None, key=None):
        self.cacert, self.servername, self.cert, self.key = cacert, servername, cert, key


def from_options(options):
    """TlsOptions from a check's --cacert, --servername, --cert, --key
    (the files are read when a connection is made)."""
    opts = TlsOptions(options.get("--cacert"), options.get("--servername"), options.get("--cert"),
                      options.get("--key"))
    for name, value in (("--cacert", opts.cacert), ("--servername", opts.servername), ("--cert", opts.cert),
                        ("--key", opts.key)):
        if value is not None and not value:
            raise UsageError("%s needs a value" % name)
    if (opts.cert is None) != (opts.key is None):
        raise UsageError("--cert and --key go together: the client certificate and its private key")
    if opts.servername is not None:
        bad = [ch for ch in opts.servername if not (ch.isalpha() or ch.isdigit() or ch in ".-_:")]
        if bad or len(opts.servername) > 253:
            raise UsageError("bad --servername '%s': a DNS name or an IP address" % shown(opts.servername))
    return opts


def _read(path, option):
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_PEM + 1)
    except OSError as err:
        raise TlsFailed("cannot read %s %s: %s" % (option, shown(path, 60), _errtext(err)))
    if len(data) > MAX_PEM:
        raise TlsFailed("%s %s is larger than %d KB" % (option, shown(path, 60), MAX_PEM // 1024))
    if not data:
        raise TlsFailed("%s %s is empty" % (option, shown(path, 60)))
    return data


def _errtext(err):
    code = errno_of(err)
    if code == 2:
        return "no such file"
    if code == 13:
        return "permission denied"
    if code == 21:
        return "a directory"
    return "error %s" % code if code is not None else shown(str(err), 60)


def _is_ip(text):
    return ":" in text or (text.replace(".", "").isdigit() and text.count(".") == 3)


class TlsConn:
    def __init__(self, sock, tls, host, arm, left, where, alpn=None):
        self.raw, self.arm, self.left, self.where, self.alpn = sock, arm, left, where, alpn
        self.name = tls.servername or host
        self.verify = tls.cacert is not None
        self.shaken = False
        self.hint = CLIENT_CERT if tls.cert is None else ""
        self.sock = None
        try:
            # The handshake's last flight and the request are small writes in a
            # row: with Nagle on, the request waits for the server's delayed ACK
            # (about 40 ms on Linux loopback), most of a check's time.
            sock.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)
        except OSError:
            pass
        if MICROPYTHON:
            self._wrap_micropython(tls)
        else:
            self._wrap_cpython(tls)

    # ------------------------------------------------------------ CPython
    def _wrap_cpython(self, tls):
        import ssl

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            if self.verify:
                data = _read(tls.cacert, "--cacert")  # PEM as text, DER as bytes
                ctx.load_verify_locations(cadata=data.decode("latin-1") if data[:5] == b"-----" else data)
            else:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            if tls.cert is not None:
                _read(tls.cert, "--cert")
                _read(tls.key, "--key")
                ctx.load_cert_chain(tls.cert, tls.key)
        except (ssl.SSLError, ValueError) as err:
            raise TlsFailed(self._file_error(err, tls))
        if self.alpn:
            ctx.set_alpn_protocols(self.alpn)
        self.sock = ctx.wrap_socket(self.raw, server_hostname=self.name, do_handshake_on_connect=False)

    def _file_error(self, err, tls):
        text = str(getattr(err, "reason", None) or err)
        if tls.cert is not None and ("KEY" in text or "PEM" in text or "CERT" in text) and "VERIFY" not in text:
            return "cannot use --cert %s with --key %s: %s" % (shown(tls.cert, 40), shown(tls.key, 40),
                                                               shown(text, 60))
        return "cannot use --cacert %s: %s" % (shown(tls.cacert, 60), shown(text, 60))

    # -------------------------------------------------------- MicroPython
    def _wrap_micropython(self, tls):
        import tls as mtls

        ctx = mtls.SSLContext(mtls.PROTOCOL_TLS_CLIENT)
        if self.verify:
            ctx.verify_mode = mtls.CERT_REQUIRED
            try:
                ctx.load_verify_locations(_pem(_read(tls.cacert, "--cacert")))
            except (ValueError, OSError):
                raise TlsFailed("cannot use --cacert %s: no certificate in it" % shown(tls.cacert, 60))
        else:
            ctx.verify_mode = mtls.CERT_NONE
        if tls.cert is not None:
            cert, key = _pem(_read(tls.cert, "--cert")), _pem(_read(tls.key, "--key"))
            try:
                ctx.load_cert_chain(cert, key)
            except (ValueError, OSError):
                raise TlsFailed("cannot use --cert %s with --key %s: not a certificate and its key"
                                % (shown(tls.cert, 40), shown(tls.key, 40)))
        if self.alpn:  # static/tls/micropython-tls.patch adds it, as CPython names it
            ctx.set_alpn_protocols(self.alpn)
        # An address is checked against the IP SANs when verifying; as SNI
        # it names nothing (RFC 6066), so it is not sent without --cacert.
        name = self.name if self.verify or not _is_ip(self.name) else None
        try:
            self.sock = ctx.wrap_socket(self.raw, server_hostname=name, do_handshake_on_connect=False)
        except (ValueError, OSError) as err:
            raise TlsFailed(self._failure(err))

    # ------------------------------------------------------------ both
    def handshake(self):
        if MICROPYTHON:  # mbedTLS does it in the first send()
            return
        import ssl

        while True:
            self._arm_or_timeout()
            try:
                self.sock.do_handshake()
                self.shaken = True
                return
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, _timeout()):
                continue
            except OSError as err:
                raise TlsFailed(self._failure(err))

    def _arm_or_timeout(self):
        ms = self.left()
        if ms <= 0:
            if not self.shaken:
                raise TlsFailed("no TLS handshake within the time given (connected to %s)" % self.where)
            raise OSError(EAGAIN)
        if MICROPYTHON:
            self.arm(self.raw, ms)
        else:
            # CPython's ssl retries a blocking socket's EAGAIN (SO_RCVTIMEO)
            # inside C for ever: its own timeout instead (never reached on
            # MicroPython, which has no floats).
            self.sock.settimeout(ms / 1000)

    def send(self, data):
        if MICROPYTHON:
            while True:
                self._arm_or_timeout()
                try:
                    n = self.sock.send(data)
                except (ValueError, OSError) as err:
                    self._timed_out(err)
                    if not self.shaken:
                        raise TlsFailed(self._failure(err))
                    raise
                if n is not None:  # None: the socket's timeout passed (EAGAIN)
                    self.shaken = True
                    return n
        import ssl

        while True:
            self._arm_or_timeout()
            try:
                return self.sock.send(data)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, _timeout()):
                continue
            except OSError as err:
                # TLS 1.3: the server's refusal of our certificate (or of its
                # absence) comes after our handshake ends, maybe as we send.
                try:
                    self.sock.recv(1)
                except ssl.SSLError as alert:
                    if "ALERT" in str(getattr(alert, "reason", "")):
                        raise TlsFailed(self._failure(alert))
                except OSError:
                    pass
                if isinstance(err, ssl.SSLEOFError):
                    raise OSError(32)  # EPIPE: the caller's "connection closed"
                raise

    def recv(self, n):
        if MICROPYTHON:
            while True:
                self._arm_or_timeout()
                try:
                    data = self.sock.recv(n)
                except OSError as err:
                    self._timed_out(err)
                    code = errno_of(err)
                    if code in (MBEDTLS_CONN_EOF, MBEDTLS_PEER_CLOSE_NOTIFY):
                        return b""  # the end, with or without close_notify
                    if code is not None and code < 0:
                        raise TlsFailed(self._failure(err))
                    raise
                if data is not None:
                    return data
        import ssl

        while True:
            self._arm_or_timeout()
            try:
                return self.sock.recv(n)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, _timeout()):
                continue
            except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
                return b""
            except ssl.SSLError as err:  # TLS 1.3: the server's verdict on our certificate comes now
                raise TlsFailed(self._failure(err))

    def _timed_out(self, err):
        # MicroPython: the socket's timeout (SO_RCVTIMEO, set to what is
        # left) reaches mbedTLS as ETIMEDOUT, which ends its session.
        code = errno_of(err) if isinstance(err, OSError) else None  # MicroPython: a ValueError's errno is its text
        if isinstance(code, int) and abs(code) in (EAGAIN, ETIMEDOUT):
            if not self.shaken:
                raise TlsFailed("no TLS handshake within the time given (connected to %s)" % self.where)
            raise OSError(EAGAIN)

    def close(self):
        for s in (self.sock, self.raw):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass

    def info(self):
        """--debug lines: the version and cipher, the server's certificate."""
        lines = []
        try:
            if MICROPYTHON:
                suite, version = self.sock.cipher()
            else:
                version, suite = self.sock.version(), self.sock.cipher()[0]
            lines.append("TLS: %s %s" % (version, suite))
            if self.alpn:
                lines.append("ALPN: %s" % (self.sock.selected_alpn_protocol()
                                           or "none chosen by the server (offered %s)" % ", ".join(self.alpn)))
            der = self.sock.getpeercert(True)
        except (OSError, ValueError, TypeError, AttributeError):
            return lines
        if der:
            lines.append("certificate: " + cert_text(der))
        lines.append("verification: %s" % ("chain and name %s against --cacert" % shown(self.name, 60)
                                           if self.verify else "off (no --cacert)"))
        return lines

    # ------------------------------------------------------- failures
    def _failure(self, err):
        """The one line for a failed handshake."""
        if isinstance(err, ValueError):  # MicroPython: mbedTLS's verify flags, one a line
            return self._verify_text(str(err))
        if not MICROPYTHON:
            import ssl

            if isinstance(err, ssl.SSLCertVerificationError):
                return self._verify_text(getattr(err, "verify_message", "") or str(err),
                                         getattr(err, "verify_code", None))
        code = errno_of(err)
        reason = str(getattr(err, "reason", "") or "")
        if code == MBEDTLS_INVALID_RECORD or code == MBEDTLS_BAD_PROTOCOL_VERSION and self._plain() \
                or reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG",
                              "HTTP_REQUEST", "UNKNOWN_PROTOCOL"):
            return self._not_tls()
        if code == MBEDTLS_CONN_EOF or code in (104, 32, -104, -32) or reason == "UNEXPECTED_EOF_WHILE_READING" \
                or "EOF occurred" in str(err):
            return "%s (%s)%s" % (CLOSED, self.where, self.hint)
        if code == MBEDTLS_FATAL_ALERT or "ALERT" in reason:
            alert = reason.lower().replace("_", " ") if reason else "a fatal alert"
            if "certificate required" in alert or "handshake failure" in alert or MICROPYTHON:
                return "%s (%s; %s)%s" % (ALERT, alert, self.where, self.hint)
            return "%s (%s; %s)" % (ALERT, alert, self.where)
        if code == MBEDTLS_BAD_PROTOCOL_VERSION or code == MBEDTLS_HANDSHAKE_FAILURE \
                or reason in ("UNSUPPORTED_PROTOCOL", "NO_PROTOCOLS_AVAILABLE", "NO_SHARED_CIPHER"):
            return "no TLS version or cipher in common with the server (TLS 1.2 and 1.3 here; %s)" % self.where
        if code is not None and code > 0:
            return "TLS handshake with %s: error %d" % (self.where, code)
        if code is not None:
            return "TLS handshake with %s failed: mbedTLS error -0x%04X" % (self.where, -code)
        return "TLS handshake with %s failed: %s" % (self.where, shown(reason or str(err), 80))

    def _verify_text(self, text, code=None):
        low = text.lower()
        if code == 10 or "expired" in low:
            why = EXPIRED
        elif code == 9 or "future" in low or "not yet valid" in low:
            why = NOT_YET
        elif code in (62, 64) or "hostname mismatch" in low or "ip address mismatch" in low \
                or "does not match" in low:
            why = "the server's certificate is not for %s" % shown(self.name, 60)
        elif code in (18, 19, 20, 21) or "trusted ca" in low or "issuer" in low or "self-signed" in low \
                or "self signed" in low:
            why = UNKNOWN_CA
        else:
            why = "the server's certificate does not verify: %s" % shown(text.strip().replace("\n", "; "), 80)
        return "%s (%s)" % (why, self.where)

    def _plain(self):
        """The bytes the server sent that no TLS library took: after the
        5 bytes of a record header, "HTTP/" of "HTTP/1.1 400 ..."."""
        try:
            if MICROPYTHON:
                self.arm(self.raw, 100)
                return self.raw.recv(16, MSG_PEEK) or b""
            import socket

            peek = socket.socket(fileno=socket.dup(self.sock.fileno()))  # SSLSocket refuses MSG_PEEK
            try:
                self.arm(peek, 100)
                return peek.recv(16, MSG_PEEK) or b""
            finally:
                peek.close()
        except (OSError, AttributeError, ValueError):
            return b""

    def _not_tls(self):
        rest = self._plain()
        if len(rest) >= 7 and rest[1:2] == b"." and rest[3:4] == b" " and rest[4:7].isdigit():
            return "%s (it answered like HTTP; %s): use HTTP" % (NOT_TLS, self.where)
        return "%s (its answer is no TLS record; %s)" % (NOT_TLS, self.where)


# ------------------------------------------------------------ GRPC --tls
# grpccheck.py's TLS part, here because the main static binary, which has no
# TLS, leaves this module out: its GRPC stays as small as it was.
def grpc_options(check, options):
    """make_check's: check.tls from --tls and its options."""
    if "--tls" not in options:
        raise UsageError("--cacert, --servername, --cert and --key go with --tls")
    why = available()
    if why is not None:
        raise HealthcheckError(why)
    check.tls = from_options(options)
    check.subject += " --tls"


def grpc_conn(sock, check, addr, where, left, call, limit):
    """The TLS session for the h2.Call `call` on the connected sock: ALPN
    "h2" (a grpcio TLS port closes a client that offers none), the request's
    :scheme https, the name: --servername, else localhost or the address
    connected to. Handshake failures are TlsFailed in GRPC's words."""
    from .addr import format_addr
    from .httpprobe import SO_RCVTIMEO, SO_SNDTIMEO, _set_timeout

    call.block = call.block.replace(b"\x07:scheme\x04http", b"\x07:scheme\x05https")  # h2.py writes cleartext's
    call.size += 1
    call.fields[1] = [":scheme", "https"]

    def arm(s, ms):
        _set_timeout(s, SO_SNDTIMEO, ms)
        _set_timeout(s, SO_RCVTIMEO, ms)

    conn = _GrpcConn(sock, check.tls, "localhost" if check.localhost else format_addr(addr), arm, left, where,
                     ["h2"])
    conn.call, conn.limit = call, limit
    try:
        conn.handshake()
    except TlsFailed as err:
        conn.close()
        raise conn.said(err)
    return conn


class _GrpcConn(TlsConn):
    def said(self, err):
        text = str(err).replace("the time given", self.limit)
        if text.startswith(NOT_TLS) and ": use" not in text:
            text += ": leave out --tls"
        return TlsFailed(text)

    def send(self, data):
        try:
            return TlsConn.send(self, data)
        except TlsFailed as err:
            raise self.said(err)

    def recv(self, n):
        try:
            data = TlsConn.recv(self, n)
        except TlsFailed as err:
            raise self.said(err)
        if not data and not self.call.got:
            # grpcio's TLS port, missing the client certificate it wants,
            # ends a TLS 1.3 connection after the handshake without an alert.
            raise TlsFailed("the server closed the connection after the TLS handshake, before its SETTINGS (%s)%s"
                            % (self.where, self.hint))
        return data


def _timeout():
    import socket

    return socket.timeout  # TimeoutError from 3.10 on


def _pem(data):
    # mbedTLS takes PEM only with its terminating NUL byte (DER as it is).
    return data + b"\0" if data[:5] == b"-----" else data


# ---------------------------------------------------------------- X.509
# Just enough DER for --debug: the subject's common attributes and the end
# of the validity period. Every length is checked against what is left.
_ATTRS = {b"\x55\x04\x03": "CN", b"\x55\x04\x0a": "O", b"\x55\x04\x0b": "OU"}


def _tlv(buf, pos, end):
    """(tag, start of value, end of value) of the element at pos."""
    if pos + 2 > end:
        raise ValueError("short")
    tag, size = buf[pos], buf[pos + 1]
    pos += 2
    if size & 0x80:
        count = size & 0x7F
        if count == 0 or count > 3 or pos + count > end:
            raise ValueError("length")
        size = 0
        for i in range(count):
            size = size << 8 | buf[pos + i]
        pos += count
    if pos + size > end:
        raise ValueError("overrun")
    return tag, pos, pos + size


def cert_text(der):
    """"subject CN=x, O=y; expires 2026-01-01 00:00:00 UTC" from DER bytes,
    or what could not be read."""
    try:
        _, pos, end = _tlv(der, 0, len(der))          # Certificate
        _, pos, end = _tlv(der, pos, end)             # tbsCertificate
        tag, start, stop = _tlv(der, pos, end)
        if tag == 0xA0:                               # [0] version
            pos = stop
        for _ in range(3):                            # serial, signature, issuer
            pos = _tlv(der, pos, end)[2]
        _, vpos, vend = _tlv(der, pos, end)           # validity
        pos = vend
        vpos = _tlv(der, vpos, vend)[2]               # notBefore
        ttag, tstart, tstop = _tlv(der, vpos, vend)   # notAfter
        expires = _time_text(der[tstart:tstop], ttag)
        _, spos, send = _tlv(der, pos, end)           # subject
        parts = []
        while spos < send:
            _, rpos, rend = _tlv(der, spos, send)     # SET
            spos = rend
            while rpos < rend:
                _, apos, aend = _tlv(der, rpos, rend)  # SEQUENCE { OID, value }
                rpos = aend
                _, opos, oend = _tlv(der, apos, aend)
                name = _ATTRS.get(bytes(der[opos:oend]))
                if name is not None:
                    _, xpos, xend = _tlv(der, oend, aend)
                    parts.append("%s=%s" % (name, shown(bytes(der[xpos:xend]), 60)))
        return "subject %s; expires %s" % (", ".join(parts) or "(none)", expires)
    except (ValueError, IndexError):
        return "(%d bytes that are not an X.509 certificate)" % len(der)


def _time_text(raw, tag):
    text = raw.decode("ascii") if isinstance(raw, bytes) else raw
    if tag == 0x17 and len(text) == 13:               # UTCTime YYMMDDHHMMSSZ
        year = int(text[:2])
        text = ("20" if year < 50 else "19") + text
    elif tag != 0x18 or len(text) != 15:              # GeneralizedTime YYYYMMDDHHMMSSZ
        raise ValueError("time")
    if not text[:14].isdigit():
        raise ValueError("time")
    return "%s-%s-%s %s:%s:%s UTC" % (text[0:4], text[4:6], text[6:8], text[8:10], text[10:12], text[12:14])
