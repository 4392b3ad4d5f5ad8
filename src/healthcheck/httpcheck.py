"""The "http" kind: the kernel first, then one HTTP/1.1 request.

    HTTP PORT[/PATH] [ADDRESS] | http://HOST[:PORT][/PATH]
         [--status CODES] [--header 'Name: value']... [--method TOKEN]
         [--body TEXT] [--timeout SECONDS] [--accepting]

make_check(tool, positionals, options) -> HttpCheck; run_check(check,
backend, explain) -> ProbeAnswer (.ok, .reason, .explain()).

The kernel is asked first (kernelfirst.py): nothing listening fails at
once with the kernel's reason, and the socket that counts says where to
connect. Only then is the service asked (httpprobe.py), within --timeout.
"""

from . import __version__, httpmsg
from .addr import format_endpoint
from .errors import HealthcheckError, UsageError, shown
from .httpmsg import printable
from .kernelfirst import ProbeAnswer, address_arg, kernel_first

DEFAULT_TIMEOUT_MS = 2000


class HttpCheck:
    """subject: how the answer names the check ("HTTP 8080/healthz");
    target: httpmsg.Target; family, addr: the asked address (None: any),
    localhost: the asked address is `localhost`; the request's parts; codes,
    body (bytes or None), timeout_ms, accepting."""

    def __init__(self, subject, target, family, addr, localhost, method, headers, codes, body, timeout_ms,
                 accepting):
        self.subject = subject
        self.target = target
        self.family, self.addr, self.localhost = family, addr, localhost
        self.method, self.headers = method, headers
        self.codes, self.body = codes, body
        self.timeout_ms = timeout_ms
        self.accepting = accepting


def make_check(tool, positionals, options):
    if not positionals:
        raise UsageError("missing PORT[/PATH] or URL: write %s" % httpmsg.TARGET_FORMS)
    if len(positionals) > 2:
        raise UsageError("too many arguments: '%s'" % shown(positionals[-1]))
    target = httpmsg.parse_target(positionals[0])
    tls = None
    if target.scheme == "https" or tool.kind == "https":  # TLS hook: HTTPS and https:// (httpscheck.py)
        try:
            from .httpscheck import tls_for
        except ImportError:  # the main static binary: TLS is the second binary's
            raise HealthcheckError("TLS is not in this binary: use HTTPS of healthcheck-tls (/healthcheck/HTTPS)")
        tls = tls_for(tool, target, options)
    family, addr, localhost = target.family, target.addr, target.host is not None and target.family is None
    subject = "%s %s" % (tool.name, printable(positionals[0], 60))
    if len(positionals) == 2:
        if target.host is not None:
            raise UsageError("the URL names the host already: drop '%s'" % shown(positionals[1]))
        family, addr, localhost = address_arg(positionals[1])
        subject += " on " + printable(positionals[1], 45)
    codes = httpmsg.DEFAULT_CODES
    if "--status" in options:
        codes = httpmsg.parse_codes(options["--status"])
    headers = []
    for text in options.get("--header", ()):
        headers.append(httpmsg.parse_header(text))
    method = httpmsg.parse_method(options["--method"]) if "--method" in options else "GET"
    body = None
    if "--body" in options:
        body = options["--body"]
        if not body:
            raise UsageError("--body needs the text the body must contain")
        body = body.encode("utf-8", "surrogateescape") if isinstance(body, str) else body
    timeout_ms = DEFAULT_TIMEOUT_MS
    if "--timeout" in options:
        from .wait import parse_seconds  # only then: a check without it does not import wait

        timeout_ms = parse_seconds(options["--timeout"], "--timeout")
        if timeout_ms == 0:
            raise UsageError("--timeout 0: give the exchange some time, such as 2 or 0.5 seconds")
    check = HttpCheck(subject, target, family, addr, localhost, method, headers, codes, body, timeout_ms,
                      "--accepting" in options)
    check.tls = tls  # TLS hook: None, or tlsconn.TlsOptions
    return check


def run_check(check, backend=None, explain=False):
    port = check.target.port
    lines = []
    found, said = kernel_first(check, port, backend, explain, lines)
    if found is None:
        return ProbeAnswer(False, "%s: %s" % (check.subject, said), lines)

    from . import httpprobe  # only once the kernel has said yes

    family, addr = found
    if check.target.authority is not None:
        host = check.target.authority
    elif check.localhost:
        host = "localhost:%d" % port
    else:
        host = format_endpoint(addr, port)
    request = httpmsg.build_request(check.method, check.target.path, host, check.headers, __version__)
    if explain:
        lines.append("connect to %s, within %s" % (format_endpoint(addr, port),
                                                   httpprobe.seconds_text(check.timeout_ms)))
        lines.extend(["> " + line for line in httpprobe.request_lines(request)])
    try:
        if check.tls is None:
            resp = httpprobe.exchange(family, addr, port, request, check.timeout_ms, check.body is not None,
                                      check.method == "HEAD")
        else:  # TLS hook: the same exchange after a TLS handshake (httpscheck.py)
            from . import httpscheck

            resp = httpscheck.exchange(family, addr, port, request, check.timeout_ms, check.body is not None,
                                       check.method == "HEAD", check.tls, httpscheck.server_name(check, addr),
                                       lines if explain else None)
    except httpprobe.ProbeFailed as err:
        return ProbeAnswer(False, "%s: %s" % (check.subject, err), lines)
    if explain:
        lines.extend(["< " + line for line in httpprobe.debug_lines(resp)])
    ok, text = httpprobe.judge(resp, check.codes, check.body)
    return ProbeAnswer(ok, "%s: %s" % (check.subject, text), lines)
