"""The same commit built twice gives byte-identical binaries: TCP and
healthcheck-tls of every platform.

dist/ is the first build (make dist, in this work tree). The second is a
`git clone` of the same commit at another path, built later by static/dist.sh
with a cache of its own: its own zig venv and zig cache (so zig rebuilds musl
for every target), its own MicroPython work tree and mbedTLS objects. Only the
downloads are seeded from this tree's cache, and those are checked against the
pinned sums again. The Docker build is the third: tests/release/test_image.py.

TCP is built again for all 8 platforms. healthcheck-tls adds about a minute
per platform (mbedTLS compiled per target, then a bigger LTO link), which for
all 8 would put CI's run near its time limit, so it is built again for two
platforms that differ in every way that shapes the build: amd64 (little-endian,
-Os) and s390x (big-endian, -Oz, under qemu). HEALTHCHECK_REPRO_TLS_ARCHES
names others ("all" for every platform).

HEALTHCHECK_REPRO_ARCHES limits the second build to some platforms (all by
default; CI builds all).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import BINARIES, DIST, IN_CI, PLATFORMS, REPO, need_dist, unavailable


def git(*args, cwd=REPO) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, stdout=subprocess.PIPE, text=True).stdout.strip()


@pytest.fixture(scope="module")
def second_build(tmp_path_factory):
    if shutil.which("git") is None or not (REPO / ".git").exists():
        unavailable("not a git work tree: nothing to clone")
    arches = os.environ.get("HEALTHCHECK_REPRO_ARCHES", " ".join(p.arch for p in PLATFORMS)).split()
    for p in PLATFORMS:
        if p.arch in arches:
            need_dist(p)
    dirty = git("status", "--porcelain", "--", "src", "static", ":(exclude)*.md")
    if dirty:
        # dist/ was built from these uncommitted files; a clone has the commit
        unavailable("uncommitted changes under src/ or static/; commit them first:\n" + dirty)
    # (no blank in it: make cannot build MicroPython in a path with one)
    base = tmp_path_factory.mktemp("second-build-other-path")
    clone = base / "clone"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(REPO), str(clone)], check=True)
    subprocess.run(["git", "checkout", "-q", git("rev-parse", "HEAD")], cwd=clone, check=True)
    cache = base / "cache"
    seeds = Path(os.environ.get("HEALTHCHECK_CACHE") or REPO / "static" / ".cache")
    for seed in ("deb-src", "wheels"):
        if (seeds / seed).is_dir():
            shutil.copytree(seeds / seed, cache / seed)
    tls = os.environ.get("HEALTHCHECK_REPRO_TLS_ARCHES", "amd64 s390x")
    tls_arches = [a for a in arches if tls == "all" or a in tls.split()]
    t0 = time.monotonic()
    # TCP for every platform, then both binaries for the TLS ones, each pass
    # into a dist of its own (dist.sh writes the platforms it builds).
    for out, names, with_tls in (("dist", arches, "0"), ("dist-tls", tls_arches, "1")):
        if not names:
            continue
        env = dict(os.environ, HEALTHCHECK_CACHE=str(cache), HEALTHCHECK_DIST=str(base / out),
                   HEALTHCHECK_ARCHES=" ".join(names), HEALTHCHECK_TLS=with_tls)
        env.pop("HEALTHCHECK_SRC", None)     # the clone's src/
        env.pop("SOURCE_DATE_EPOCH", None)   # the clone's own commit time
        cp = subprocess.run(["sh", "static/dist.sh"], cwd=clone, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=3600)
        assert cp.returncode == 0, cp.stdout[-5000:]
    took = time.monotonic() - t0
    print("second build of %d platforms (TLS: %d): %.0f s" % (len(arches), len(tls_arches), took))
    return base, arches, tls_arches


@pytest.mark.parametrize("binary", BINARIES)
@pytest.mark.parametrize("p", PLATFORMS, ids=repr)
def test_second_build_is_byte_identical(p, binary, second_build):
    base, arches, tls_arches = second_build
    if p.arch not in arches:
        if IN_CI:
            pytest.fail("HEALTHCHECK_REPRO_ARCHES leaves %s out" % p.arch)
        pytest.skip("HEALTHCHECK_REPRO_ARCHES leaves %s out" % p.arch)
    dist2 = base / "dist"
    if binary != "TCP":
        if p.arch not in tls_arches:
            pytest.skip("healthcheck-tls is built again for %s only (HEALTHCHECK_REPRO_TLS_ARCHES)"
                        % " ".join(tls_arches))
        dist2 = base / "dist-tls"
    first = (DIST / ("linux-" + p.arch) / "healthcheck" / binary).read_bytes()
    second = (dist2 / ("linux-" + p.arch) / "healthcheck" / binary).read_bytes()
    assert first == second, "%s %s: %d vs %d bytes" % (p.arch, binary, len(first), len(second))
    # and the second build's links to this binary are the first's
    def links(d):
        return sorted(t for t in os.listdir(d) if t not in BINARIES and os.readlink(d / t) == binary)
    assert links(DIST / ("linux-" + p.arch) / "healthcheck") == links(dist2 / ("linux-" + p.arch) / "healthcheck")


@pytest.mark.parametrize("binary", BINARIES)
def test_no_build_path_in_binaries(binary):
    """Nothing of the machine that built it: no absolute path of the work
    tree, the cache, zig or the home directory."""
    needles = {str(REPO).encode(), b"/work/", b"/tmp/", b"/root/", b"site-packages", b".cache/"}
    for p in PLATFORMS:
        need_dist(p)
        data = (p.dir / binary).read_bytes()
        found = sorted(n.decode() for n in needles if n in data)
        assert not found, "%s %s: %s" % (p.arch, binary, found)
