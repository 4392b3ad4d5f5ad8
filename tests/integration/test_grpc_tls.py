"""GRPC --tls against real grpcio secure servers (grpc.ssl_server_credentials,
tests/integration/grpc_server.py --cert/--key/--client-ca) in the test's
network namespace, with a CA and certificates made here by Debian's openssl
(issue 22): verification off and on, an unknown CA, a wrong name, a client
certificate required then given, plain-versus-TLS both ways.

The build is HEALTHCHECK_TEST_BUILD's: the console scripts, or the static
healthcheck-tls started as `healthcheck-tls grpc ...` (its multi-call form:
the main binary's GRPC has no TLS, and says where it is)."""

import shutil

import pytest

from tests import harness
from tests.integration.http_servers import Servers
from tests.integration.test_grpc import grpc  # noqa: F401  (the fixture)
from tests.integration.test_https import _ca, _leaf

MARGIN = 1.5  # seconds a failing check may take (process start included)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    if shutil.which("openssl") is None:
        harness.missing("openssl is not installed (Debian package openssl; scripts/deps.sh installs it)")
    d = tmp_path_factory.mktemp("grpc-pki")
    _ca(d, "ca")
    _ca(d, "other-ca")
    _leaf(d, "server", "ca", "ec", "DNS:localhost,IP:127.0.0.1,IP:::1")
    _leaf(d, "client", "ca", "ec", "DNS:client", usage="clientAuth")
    d.chmod(0o755)
    return d


@pytest.fixture
def tls_grpc(grpc, pki):  # noqa: F811
    """tls_grpc(port, *server args, addr=..., client_ca=None): a grpcio
    secure server with pki's server certificate."""

    def start(port, *args, addr="127.0.0.1", client_ca=None):
        more = ["--cert", str(pki / "server.pem"), "--key", str(pki / "server.key")]
        if client_ca:
            more += ["--client-ca", str(pki / (client_ca + ".pem"))]
        return grpc(addr, port, *args, *more)

    return start


@pytest.fixture
def hc(ns, tested_build):
    """hc(*args): GRPC ARGS of the build that has TLS (static: healthcheck-tls grpc ARGS)."""
    tools = harness.Tools(ns, tested_build, "auto")
    if not tested_build.static:
        return lambda *args: tools("GRPC", *args)
    tls_bin = tested_build.path("healthcheck-tls")
    if not tls_bin.exists():
        harness.missing("no healthcheck-tls beside %s (static/dist.sh builds it)" % tested_build.path())
    return lambda *args: ns.run(tested_build.wrapper + [str(tls_bin), "grpc"] + [str(a) for a in args])


def holds(res, line):
    assert (res.rc, res.out, res.err) == (0, line + "\n", ""), res
    return res


def fails(res, line=None, within=MARGIN + 2):
    assert res.rc == 1 and res.out == "" and res.err.count("\n") == 1, res
    assert "Traceback" not in res.err and "internal error" not in res.err, res
    assert res.seconds < within, res
    if line is not None:
        assert res.err == line + "\n", res
    return res.err


def test_serving_with_verification_off(tls_grpc, hc):
    tls_grpc(50051, "=SERVING", "a=SERVING", "b=NOT_SERVING")
    holds(hc("50051", "--tls"), "GRPC 50051 --tls: SERVING from 127.0.0.1:50051")
    holds(hc("50051", "--tls", "--service", "a"), "GRPC 50051 --service a --tls: SERVING from 127.0.0.1:50051")
    fails(hc("50051", "--tls", "--service", "b"), "GRPC 50051 --service b --tls: NOT_SERVING from 127.0.0.1:50051")
    holds(hc("50051", "localhost", "--tls"), "GRPC 50051 on localhost --tls: SERVING from 127.0.0.1:50051")
    res = hc("50051", "--tls", "--debug")
    assert res.rc == 0 and res.out == "GRPC 50051 --tls: SERVING from 127.0.0.1:50051\n", res
    text = "\n".join(line[len("GRPC debug: "):] for line in res.err.splitlines())
    for want in ("connect to 127.0.0.1:50051", "TLS: TLSv1.3 ", "ALPN: h2",
                 "certificate: subject CN=server; expires 20", "verification: off (no --cacert)",
                 "> :scheme: https", "< SETTINGS stream=0", "< grpc-status: 0"):
        assert want in text, (want, text)


def test_ipv6_server(tls_grpc, hc, pki):
    tls_grpc(50051, "=SERVING", addr="::1")
    holds(hc("50051", "--tls", "--cacert", pki / "ca.pem"), "GRPC 50051 --tls: SERVING from [::1]:50051")


def test_verified_chain_and_name(tls_grpc, hc, pki):
    tls_grpc(50051, "=SERVING")
    ca = pki / "ca.pem"
    holds(hc("50051", "--tls", "--cacert", ca), "GRPC 50051 --tls: SERVING from 127.0.0.1:50051")  # IP SAN
    holds(hc("50051", "localhost", "--tls", "--cacert", ca), "GRPC 50051 on localhost --tls: SERVING from "
          "127.0.0.1:50051")
    res = hc("50051", "--tls", "--cacert", ca, "--servername", "localhost", "--debug")
    assert res.rc == 0 and res.out == "GRPC 50051 --tls: SERVING from 127.0.0.1:50051\n", res
    assert "verification: chain and name localhost against --cacert" in res.err, res


def test_unknown_ca_and_wrong_name_fail_saying_why(tls_grpc, hc, pki):
    tls_grpc(50051, "=SERVING")
    fails(hc("50051", "--tls", "--cacert", pki / "other-ca.pem"),
          "GRPC 50051 --tls: the server's certificate is not signed by the CA of --cacert (127.0.0.1:50051)")
    fails(hc("50051", "--tls", "--cacert", pki / "ca.pem", "--servername", "nope.example"),
          "GRPC 50051 --tls: the server's certificate is not for nope.example (127.0.0.1:50051)")
    # without --cacert nothing is verified: the same names pass
    holds(hc("50051", "--tls", "--servername", "nope.example"), "GRPC 50051 --tls: SERVING from 127.0.0.1:50051")


def test_client_certificate_required_then_given(tls_grpc, hc, pki):
    tls_grpc(50051, "=SERVING", client_ca="ca")
    err = fails(hc("50051", "--tls"))
    assert err.startswith("GRPC 50051 --tls: the server ") and "client certificate" in err, err
    assert "(it may want a client certificate: --cert FILE --key FILE)" in err, err
    client = ["--cert", pki / "client.pem", "--key", pki / "client.key"]
    holds(hc("50051", "--tls", *client), "GRPC 50051 --tls: SERVING from 127.0.0.1:50051")
    holds(hc("50051", "--tls", "--cacert", pki / "ca.pem", *client), "GRPC 50051 --tls: SERVING from 127.0.0.1:50051")


def test_plain_versus_tls_fail_fast_both_ways(grpc, tls_grpc, hc, tools):  # noqa: F811
    grpc("127.0.0.1", 50052, "=SERVING")  # cleartext
    tls_grpc(50051, "=SERVING")
    fails(hc("50052", "--tls", "--timeout", "5"), "GRPC 50052 --tls: the server does not speak TLS (its answer is no "
          "TLS record; 127.0.0.1:50052): leave out --tls", within=MARGIN)
    # grpcio's TLS port closes a cleartext connection without a word
    fails(tools("GRPC", "50051", "--timeout", "5"), "GRPC 50051: the server closed the connection at the HTTP/2 "
          "preface: not gRPC in cleartext; if the port is TLS, use --tls (127.0.0.1:50051)", within=MARGIN)


def test_tls_and_cleartext_in_one_call(grpc, tls_grpc, hc):  # noqa: F811
    grpc("127.0.0.1", 50052, "=SERVING")
    tls_grpc(50051, "=SERVING", "b=NOT_SERVING")
    holds(hc("50051", "--tls", "grpc", "50052", "tcp", "50051"), "GRPC 50051 --tls: SERVING from 127.0.0.1:50051; "
          "GRPC 50052: SERVING from 127.0.0.1:50052; TCP port 50051 is listening ([::ffff:127.0.0.1]:50051, "
          "loopback only)")
    fails(hc("50052", "grpc", "50051", "--tls", "--service", "b"),
          "GRPC 50051 --service b --tls: NOT_SERVING from 127.0.0.1:50051")


def test_cleartext_to_a_port_that_answers_with_tls(ns, tmp_path, tools):
    running = Servers(ns, tmp_path)
    try:
        running.python("tls", "127.0.0.1", 8443)  # a TLS record back, as most TLS servers send
        fails(tools("GRPC", "8443", "--timeout", "5"), "GRPC 8443: the server speaks TLS: use --tls (127.0.0.1:8443)",
              within=MARGIN)
    finally:
        running.stop()


def test_tls_options(hc, tools, pki, tmp_path):
    for args, words in ((["--cacert", pki / "ca.pem"], "--cert and --key go with --tls"),
                        (["--servername", "x"], "go with --tls"),
                        (["--tls", "--cert", pki / "client.pem"], "--cert and --key go together"),
                        (["--tls", "--servername", "a b"], "bad --servername")):
        res = hc("50051", *args)
        lines = res.err.splitlines()
        assert res.rc == 1 and len(lines) == 2 and words in lines[0], (args, res)
        assert lines[1].startswith("usage: GRPC PORT") and "--tls" in lines[1], res
    res = tools("GRPC", "50051", "--cacert", pki / "ca.pem")  # the main static binary: no TLS options at all
    assert res.rc == 1 and ("TLS is not in this binary" if tools.build.static else "go with --tls") in res.err, res
    assert "--tls" in hc("--help").out


def test_tls_files_are_read_once_listening(tls_grpc, hc, pki, tmp_path):
    tls_grpc(50051, "=SERVING")
    err = fails(hc("50051", "--tls", "--cacert", tmp_path / "nope.pem"))
    assert "cannot read --cacert" in err and "no such file" in err, err
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    assert "--cacert" in fails(hc("50051", "--tls", "--cacert", junk))


def test_nothing_listening_fails_at_once_without_a_handshake(hc):
    err = fails(hc("50051", "--tls", "--timeout", "5"), within=MARGIN)
    assert err.startswith("GRPC 50051 --tls: TCP port 50051 is not listening"), err


def test_main_static_binary_points_to_healthcheck_tls(tested_build, tls_grpc, tools):
    if not tested_build.static:
        pytest.skip("the main binary is the static build's")
    tls_grpc(50051, "=SERVING")
    line = "TLS is not in this binary: use /healthcheck/healthcheck-tls grpc 50051 --tls ..."
    for res in (tools("GRPC", "50051", "--tls"), tools("healthcheck", "tcp", "50051", "grpc", "50051", "--tls")):
        assert (res.rc, res.out) == (1, ""), res
        assert res.err.count("\n") == 1 and line in res.err, res
    assert b"mbed" not in tested_build.path("TCP").read_bytes(), "mbedTLS in the main binary"
