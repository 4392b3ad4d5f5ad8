"""The image `make image` built (docker build, inside the Dockerfile's
Debian build stage) holds dist/'s binaries for this machine, byte for byte:
/healthcheck/TCP and /healthcheck/healthcheck-tls, with every link pointing
where dist/'s does (HTTPS to healthcheck-tls, the others to TCP), and
nothing else."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import uuid

from tests.harness import ARCH

from .conftest import ALL_LINKS, BINARIES, PLATFORMS, link_target, need_dist, need_root, unavailable

IMAGE = os.environ.get("HEALTHCHECK_IMAGE", "healthcheck:latest")


def docker(*args, timeout=120) -> subprocess.CompletedProcess:
    """docker with bytes out (docker cp's tar)."""
    return subprocess.run(["docker", *args], stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)


def docker_ok():
    need_root()
    if shutil.which("docker") is None or docker("info", timeout=30).returncode != 0:
        unavailable("no docker engine (scripts/docker-up.sh starts one)")
    if docker("image", "inspect", IMAGE).returncode != 0:
        unavailable("%s missing: run make image" % IMAGE)


def test_image_binaries_are_dist_binaries():
    docker_ok()
    p = next(x for x in PLATFORMS if x.arch == ARCH)
    need_dist(p)
    name = "hcrel-%s" % uuid.uuid4().hex[:8]
    assert docker("create", "--name", name, IMAGE).returncode == 0
    try:
        # the whole folder as docker cp's tar: links stay links
        cp = docker("cp", "%s:/healthcheck" % name, "-")
        assert cp.returncode == 0, cp.stderr
    finally:
        docker("rm", "-f", name)
    with tarfile.open(fileobj=io.BytesIO(cp.stdout)) as tar:
        files = {m.name: (m.linkname if m.issym() else tar.extractfile(m).read() if m.isfile() else None)
                 for m in tar}
    assert sorted(files) == sorted(["healthcheck"] + ["healthcheck/" + n for n in list(BINARIES) + list(ALL_LINKS)])
    for binary in BINARIES:
        assert files["healthcheck/" + binary] == (p.dir / binary).read_bytes(), binary
    assert {t: files["healthcheck/" + t] for t in ALL_LINKS} == {t: link_target(t) for t in ALL_LINKS}
