"""The source pin: static/fetch-source.sh takes exactly the files named in
static/micropython.sha256, from a mirror's pool, or stops with a message that
names what is wrong. The mirror here is a local directory laid out as a
Debian pool (file:// URL), filled with the files the build already fetched."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess

import pytest

from .conftest import REPO, need_tool, unavailable

DEB_SRC = REPO / "static" / ".cache" / "deb-src"
SUMS = (REPO / "static" / "micropython.sha256").read_text()


@pytest.fixture()
def fetcher(tmp_path):
    need_tool("dpkg-source", "dpkg-dev")
    names = [line.split()[1] for line in SUMS.splitlines() if line.strip()]
    if not all((DEB_SRC / n).is_file() for n in names):
        unavailable("static/.cache/deb-src incomplete: run make dist first")
    pool = tmp_path / "mirror" / "pool" / "main" / "m" / "micropython"
    pool.mkdir(parents=True)
    for n in names:
        shutil.copy(DEB_SRC / n, pool / n)
    (tmp_path / "static").mkdir()
    shutil.copy(REPO / "static" / "fetch-source.sh", tmp_path / "static")

    def fetch(sums: str) -> subprocess.CompletedProcess:
        (tmp_path / "static" / "micropython.sha256").write_text(sums)
        cache = tmp_path / "cache"
        shutil.rmtree(cache, ignore_errors=True)
        env = dict(os.environ, HEALTHCHECK_CACHE=str(cache),
                   HEALTHCHECK_DEBIAN_MIRROR="file://%s" % (tmp_path / "mirror"))
        return subprocess.run(["sh", str(tmp_path / "static" / "fetch-source.sh")], env=env,
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    return fetch, pool


def test_pinned_files_unpack(fetcher):
    fetch, _ = fetcher
    cp = fetch(SUMS)
    assert cp.returncode == 0, cp.stderr
    assert os.path.isfile(os.path.join(cp.stdout.strip(), "ports", "unix", "main.c"))


def test_a_changed_file_is_refused(fetcher):
    fetch, pool = fetcher
    orig = next(p for p in pool.iterdir() if p.name.endswith(".orig.tar.xz"))
    with open(orig, "ab") as f:
        f.write(b"\0")
    cp = fetch(SUMS)
    assert cp.returncode != 0
    assert "sha256 mismatch for %s" % orig.name in cp.stderr
    assert hashlib.sha256(orig.read_bytes()).hexdigest() in cp.stderr


def test_a_version_not_served_is_refused(fetcher):
    fetch, _ = fetcher
    other = SUMS.replace("1.25.0+ds-1", "1.25.0+ds-9")
    cp = fetch(other)
    assert cp.returncode != 0
    assert "micropython_1.25.0+ds-9.dsc is not available from the mirror" in cp.stderr
    assert "set HEALTHCHECK_DEBIAN_MIRROR to another Debian mirror, or to an archive" in cp.stderr
    assert "no other version is taken" in cp.stderr
