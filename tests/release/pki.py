"""A small PKI made by Debian's openssl for the release and image tests of
healthcheck-tls: two CAs and, signed by the first, an EC and an RSA server
certificate for 127.0.0.1 (IP SAN) and localhost."""

from __future__ import annotations

import subprocess
from pathlib import Path


def _openssl(*args, cwd: Path):
    cp = subprocess.run(["openssl", *args], cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                        timeout=60)
    assert cp.returncode == 0, "openssl %s: %s" % (" ".join(args), cp.stderr)


def make_pki(d: Path) -> Path:
    """-> d holding ca.pem, other-ca.pem, ec.pem/ec.key, rsa.pem/rsa.key,
    every file readable by anyone (the tools may run as nobody)."""
    for ca in ("ca", "other-ca"):
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", ca + ".key", "-out", ca + ".pem", "-days", "30", "-subj", "/CN=" + ca, cwd=d)
    (d / "leaf.ext").write_text("[x]\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
                                "basicConstraints=CA:FALSE\n")
    for key, alg in (("ec", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
                     ("rsa", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])):
        _openssl("genpkey", *alg, "-out", key + ".key", cwd=d)
        _openssl("req", "-new", "-key", key + ".key", "-out", key + ".csr", "-subj", "/CN=" + key, cwd=d)
        _openssl("x509", "-req", "-in", key + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", key + ".pem", "-days", "10", "-extfile", "leaf.ext", "-extensions", "x", cwd=d)
    for f in d.iterdir():
        f.chmod(0o644)
    d.chmod(0o755)
    return d
