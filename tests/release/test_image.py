"""The image `make image` built (docker build, inside the Dockerfile's
Debian build stage) holds dist/'s binary for this machine, byte for byte."""

from __future__ import annotations

import os
import shutil
import uuid

from tests.harness import LINKS

from .conftest import PLATFORMS, need_dist, need_root, run, unavailable

IMAGE = os.environ.get("HEALTHCHECK_IMAGE", "healthcheck:latest")
HOST = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)


def docker_ok():
    need_root()
    if shutil.which("docker") is None or run(["docker", "info"], timeout=30).returncode != 0:
        unavailable("no docker engine (scripts/docker-up.sh starts one)")
    if run(["docker", "image", "inspect", IMAGE]).returncode != 0:
        unavailable("%s missing: run make image" % IMAGE)


def test_image_binary_is_dist_binary(tmp_path):
    docker_ok()
    p = next(x for x in PLATFORMS if x.arch == HOST)
    need_dist(p)
    name = "hcrel-%s" % uuid.uuid4().hex[:8]
    assert run(["docker", "create", "--name", name, IMAGE]).returncode == 0
    try:
        for tool in ("TCP",) + LINKS:
            cp = run(["docker", "cp", "%s:/healthcheck/%s" % (name, tool), str(tmp_path / tool)])
            assert cp.returncode == 0, cp.stderr
    finally:
        run(["docker", "rm", "-f", name])
    assert (tmp_path / "TCP").read_bytes() == (p.dir / "TCP").read_bytes()
    for tool in LINKS:
        assert os.readlink(tmp_path / tool) == "TCP"
