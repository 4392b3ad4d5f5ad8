"""HTTPS (and https:// URLs of HTTP) against real TLS servers in the test's
network namespace (issue 22): Python ssl servers (tests/integration/tls_server.py)
with a CA and certificates made here by Debian's openssl: verification off
and on, an unknown CA, a wrong name, an expired certificate, client
certificates, TLS 1.2-only and 1.3-only servers, plain-versus-TLS both ways.

The build is HEALTHCHECK_TEST_BUILD's: the console scripts, or the static
healthcheck-tls (dist/linux-ARCH/healthcheck/HTTPS, HEALTHCHECK_DIST moves it).
"""

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import harness
from tests.integration.http_servers import Servers

HERE = Path(__file__).resolve().parent
SERVER = HERE / "tls_server.py"


# ---------------------------------------------------------------- the PKI
def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _ca(d, name):
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
             name + ".key", "-out", name + ".pem", "-days", "30", "-subj", "/CN=" + name, cwd=d)


def _leaf(d, name, ca, key, sans, dates=None, usage="serverAuth"):
    """A certificate `name`.pem for key `name`.key ("rsa" or "ec"), signed
    by `ca`; dates: (start, end) as YYYYMMDDHHMMSSZ for one outside today."""
    if key == "rsa":
        _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", name + ".key", cwd=d)
    else:
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name + ".key", cwd=d)
    _openssl("req", "-new", "-key", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name, cwd=d)
    ext = Path(d) / (name + ".ext")
    ext.write_text("[x]\nsubjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n" % (sans, usage))
    if dates is None:
        _openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
                 "-CAcreateserial", "-out", name + ".pem", "-days", "10", "-extfile", name + ".ext",
                 "-extensions", "x", cwd=d)
        return
    # openssl x509 has no start date before OpenSSL 3.4: `openssl ca` has.
    (Path(d) / "index.txt").write_text("")
    (Path(d) / "serial").write_text("1000\n")
    (Path(d) / "ca.cnf").write_text(
        "[ca]\ndefault_ca=c\n[c]\ndatabase=index.txt\nserial=serial\nnew_certs_dir=.\npolicy=p\n"
        "default_md=sha256\nunique_subject=no\n[p]\ncommonName=supplied\n")
    _openssl("ca", "-batch", "-config", "ca.cnf", "-cert", ca + ".pem", "-keyfile", ca + ".key", "-in", name + ".csr",
             "-out", name + ".pem", "-startdate", dates[0], "-enddate", dates[1], "-extfile", name + ".ext",
             "-extensions", "x", "-notext", cwd=d)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    if shutil.which("openssl") is None:
        harness.missing("openssl is not installed (Debian package openssl; scripts/deps.sh installs it)")
    d = tmp_path_factory.mktemp("pki")
    _ca(d, "ca")
    _ca(d, "other-ca")
    names = "DNS:localhost,IP:127.0.0.1,IP:::1"
    _leaf(d, "rsa", "ca", "rsa", names)
    _leaf(d, "ec", "ca", "ec", names)
    _leaf(d, "expired", "ca", "ec", names, dates=("20200101000000Z", "20200201000000Z"))
    _leaf(d, "client", "ca", "ec", "DNS:client", usage="clientAuth")
    d.chmod(0o755)  # the tools run as root here, but a server may read as well
    return d


@pytest.fixture
def https(ns, tmp_path, pki):
    running = Servers(ns, tmp_path)

    def start(port, cert="rsa", tls=None, client_ca=None, mode="https", addr="0.0.0.0"):
        argv = [sys.executable, "-I", str(SERVER), mode, addr, str(port)]
        if mode == "https":
            argv += [str(pki / (cert + ".pem")), str(pki / (cert + ".key"))]
            if tls:
                argv += ["--tls", tls]
            if client_ca:
                argv += ["--client-ca", str(pki / (client_ca + ".pem"))]
        running._start(argv, port)

    yield start
    running.stop()


@pytest.fixture
def hc(ns, tested_build):
    tools = harness.Tools(ns, tested_build, "auto")
    if tested_build.static and not tested_build.path("HTTPS").exists():
        harness.missing("no healthcheck-tls beside %s (static/dist.sh builds it)" % tested_build.path())
    return tools


def ok(hc, *args):
    res = hc(*args)
    assert res.rc == 0 and res.err == "" and res.out.count("\n") == 1, "expected 0: %s -> %r" % (args, res)
    return res.out


def fails(hc, *args, within=3):
    res = hc(*args)
    assert res.rc == 1 and res.out == "" and res.err.count("\n") == 1 and "Traceback" not in res.err \
        and "internal error" not in res.err, "expected 1: %s -> %r" % (args, res)
    assert res.seconds < within, res
    return res.err


# ---------------------------------------------------------------- tests
@pytest.mark.parametrize("cert", ["rsa", "ec"])
@pytest.mark.parametrize("tls", ["1.2", "1.3"])
def test_verification_off_by_default_on_each_version(hc, https, cert, tls):
    https(8443, cert=cert, tls=tls)
    assert ok(hc, "HTTPS", "8443") == "HTTPS 8443: 200 OK from 127.0.0.1:8443\n"
    res = hc("HTTPS", "8443/x", "--debug")
    assert res.rc == 0, res
    assert ("TLSv%s" % tls) in res.err, res.err
    assert "certificate: subject CN=%s; expires 20" % cert in res.err, res.err
    assert "verification: off" in res.err, res.err
    # http's own https:// URLs: the same check (static: healthcheck-tls's HTTP; the
    # main binary's HTTP says where TLS is)
    if hc.build.static:
        res = hc("HTTP", "https://127.0.0.1:8443/")
        assert res.rc == 1 and "TLS is not in this binary: use HTTPS of healthcheck-tls" in res.err, res
        res = hc.ns.run(hc.build.wrapper + [str(hc.build.path("healthcheck-tls")), "HTTP", "https://127.0.0.1:8443/"])
        assert res.rc == 0 and res.out.startswith("HTTP https://127.0.0.1:8443/: 200 OK"), res
    else:
        assert ok(hc, "HTTP", "https://127.0.0.1:8443/").startswith("HTTP https://127.0.0.1:8443/: 200 OK")


def test_verified_chain_and_name(hc, https, pki):
    https(8443, cert="ec")
    ca = str(pki / "ca.pem")
    ok(hc, "HTTPS", "8443", "--cacert", ca)                    # the address connected to: IP SAN 127.0.0.1
    ok(hc, "HTTPS", "https://localhost:8443/", "--cacert", ca)  # the URL's host: DNS SAN
    ok(hc, "HTTPS", "8443", "--cacert", ca, "--servername", "localhost")
    res = hc("HTTPS", "8443", "--cacert", ca, "--debug")
    assert "verification: chain and name 127.0.0.1 against --cacert" in res.err, res


def test_unknown_ca_wrong_name_and_expired_fail_saying_why(hc, https, pki):
    https(8443, cert="ec")
    https(8444, cert="expired")
    err = fails(hc, "HTTPS", "8443", "--cacert", str(pki / "other-ca.pem"))
    assert "not signed by the CA of --cacert (127.0.0.1:8443)" in err, err
    err = fails(hc, "HTTPS", "8443", "--cacert", str(pki / "ca.pem"), "--servername", "wrong.example")
    assert "certificate is not for wrong.example" in err, err
    err = fails(hc, "HTTPS", "8444", "--cacert", str(pki / "ca.pem"))
    assert "certificate has expired" in err, err
    # verification off: an expired certificate still proves a handshake and an answer
    ok(hc, "HTTPS", "8444")


@pytest.mark.parametrize("tls", ["1.2", "1.3"])
def test_client_certificate_required_then_given(hc, https, pki, tls):
    https(8443, cert="rsa", tls=tls, client_ca="ca")
    err = fails(hc, "HTTPS", "8443")
    assert "client certificate" in err, err
    ok(hc, "HTTPS", "8443", "--cert", str(pki / "client.pem"), "--key", str(pki / "client.key"))
    ok(hc, "HTTPS", "8443", "--cacert", str(pki / "ca.pem"), "--cert", str(pki / "client.pem"),
       "--key", str(pki / "client.key"))


def test_plain_versus_tls_fail_fast_both_ways(hc, https):
    https(8080, mode="plain")
    https(8443)
    err = fails(hc, "HTTPS", "8080", within=1.5)
    assert "does not speak TLS (it answered like HTTP; 127.0.0.1:8080): use HTTP" in err, err
    # Python's (OpenSSL's) server resets a plain request without a TLS alert:
    # HTTP fails at once, but cannot tell TLS from any reset.
    err = fails(hc, "HTTP", "8443", within=1.5)
    assert "before a status line (127.0.0.1:8443)" in err, err


def test_http_to_a_port_that_answers_with_tls(hc, ns, tmp_path):
    running = Servers(ns, tmp_path)
    try:
        running.python("tls", "127.0.0.1", 8443)  # a TLS record back, as most TLS servers send
        err = fails(hc, "HTTP", "8443", within=1.5)
        assert "the server speaks TLS: use HTTPS" in err, err
    finally:
        running.stop()


def test_options_and_files(hc, https, pki, tmp_path):
    https(8443)
    res = hc("HTTPS", "8443", "--cert", str(pki / "client.pem"))
    assert res.rc == 1 and "--cert and --key go together" in res.err, res
    err = fails(hc, "HTTPS", "8443", "--cacert", str(tmp_path / "nope.pem"))
    assert "cannot read --cacert" in err and "no such file" in err, err
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    err = fails(hc, "HTTPS", "8443", "--cacert", str(junk))
    assert "--cacert" in err, err
    res = hc("HTTPS", "http://127.0.0.1:8443/")
    assert res.rc == 1 and "write https://" in res.err, res
    # nothing listening: the kernel's answer, no handshake tried
    err = fails(hc, "HTTPS", "9443")
    assert "not listening" in err or "no socket" in err or "nothing" in err, err


def test_timeout_bounds_a_silent_server(hc, ns, tmp_path):
    running = Servers(ns, tmp_path)
    try:
        running.python("silent", "127.0.0.1", 8443)
        start = time.monotonic()
        err = fails(hc, "HTTPS", "8443", "--timeout", "0.5", within=2)
        assert time.monotonic() - start < 2
        assert "no TLS handshake within 0.5 s (connected to 127.0.0.1:8443)" in err, err
    finally:
        running.stop()


def test_main_static_binary_points_to_healthcheck_tls(tested_build, ns, https):
    if not tested_build.static:
        pytest.skip("the main binary is the static build's")
    https(8443)
    res = ns.run(tested_build.argv("healthcheck", "HTTPS", "8443"))
    assert res.rc == 1, res
    assert "TLS is not in this binary: use HTTPS of healthcheck-tls (/healthcheck/HTTPS)" in res.err, res
    assert not (tested_build.bin_dir / "TCP").read_bytes().count(b"mbed"), "mbedTLS in the main binary"
