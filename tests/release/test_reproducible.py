"""The same commit built twice gives byte-identical binaries.

dist/ is the first build (make dist, in this work tree). The second is a
`git clone` of the same commit at another path, built later by static/dist.sh
with a cache of its own: its own zig venv and zig cache (so zig rebuilds musl
for every target), its own MicroPython work tree. Only the downloads are
seeded from this tree's cache, and those are checked against the pinned sums
again. The Docker build is the third: tests/release/test_image.py.

HEALTHCHECK_REPRO_ARCHES limits the second build to some platforms (all by
default; CI builds all).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from .conftest import DIST, IN_CI, PLATFORMS, REPO, need_dist, unavailable


def git(*args, cwd=REPO) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, stdout=subprocess.PIPE, text=True).stdout.strip()


@pytest.fixture(scope="module")
def second_build(tmp_path_factory):
    if shutil.which("git") is None or not (REPO / ".git").exists():
        unavailable("not a git work tree: nothing to clone")
    for p in PLATFORMS:
        need_dist(p)
    dirty = git("status", "--porcelain", "--", "src", "static", ":(exclude)*.md")
    if dirty:
        # dist/ was built from these uncommitted files; a clone has the commit
        unavailable("uncommitted changes under src/ or static/; commit them first:\n" + dirty)
    arches = os.environ.get("HEALTHCHECK_REPRO_ARCHES", " ".join(p.arch for p in PLATFORMS)).split()
    # (no blank in it: make cannot build MicroPython in a path with one)
    base = tmp_path_factory.mktemp("second-build-other-path")
    clone = base / "clone"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(REPO), str(clone)], check=True)
    subprocess.run(["git", "checkout", "-q", git("rev-parse", "HEAD")], cwd=clone, check=True)
    cache = base / "cache"
    for seed in ("deb-src", "wheels"):
        if (REPO / "static" / ".cache" / seed).is_dir():
            shutil.copytree(REPO / "static" / ".cache" / seed, cache / seed)
    env = dict(os.environ, HEALTHCHECK_CACHE=str(cache), HEALTHCHECK_DIST=str(base / "dist"),
               HEALTHCHECK_ARCHES=" ".join(arches))
    env.pop("SOURCE_DATE_EPOCH", None)   # the clone's own commit time
    t0 = time.monotonic()
    cp = subprocess.run(["sh", "static/dist.sh"], cwd=clone, env=env, stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=3600)
    took = time.monotonic() - t0
    assert cp.returncode == 0, cp.stdout[-5000:]
    print("second build of %d platforms: %.0f s" % (len(arches), took))
    return base / "dist", arches


@pytest.mark.parametrize("p", PLATFORMS, ids=repr)
def test_second_build_is_byte_identical(p, second_build):
    dist2, arches = second_build
    if p.arch not in arches:
        if IN_CI:
            pytest.fail("HEALTHCHECK_REPRO_ARCHES leaves %s out" % p.arch)
        pytest.skip("HEALTHCHECK_REPRO_ARCHES leaves %s out" % p.arch)
    first = (DIST / ("linux-" + p.arch) / "healthcheck" / "TCP").read_bytes()
    second = (dist2 / ("linux-" + p.arch) / "healthcheck" / "TCP").read_bytes()
    assert first == second, "%s: %d vs %d bytes" % (p.arch, len(first), len(second))


def test_no_build_path_in_binaries():
    """Nothing of the machine that built it: no absolute path of the work
    tree, the cache, zig or the home directory."""
    needles = {str(REPO).encode(), b"/work/", b"/tmp/", b"/root/", b"site-packages", b".cache/"}
    for p in PLATFORMS:
        need_dist(p)
        data = (p.dir / "TCP").read_bytes()
        found = sorted(n.decode() for n in needles if n in data)
        assert not found, "%s: %s" % (p.arch, found)
