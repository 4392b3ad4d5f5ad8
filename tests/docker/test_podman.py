"""The tools under Podman (Debian's podman), the engine many users run
instead of Docker: the examples' exec-form HEALTHCHECK through `podman
healthcheck run`, and the Kubernetes example through `podman kube play`,
whose exec probes Debian 12's podman 4.3 runs through /bin/sh (`CMD-SHELL
... || exit 1`) and podman >= 4.4 runs as exec.

The images are examples/Dockerfile's own stages, built by podman with the
build stage's two inputs taken from this machine instead (no Debian base
image or mirror needed): busybox from busybox-static, /healthcheck from
dist/ (byte for byte the image's: tests/release/test_image.py). Podman reads
a containers.conf of the tests (CONTAINERS_CONF) with `default_ulimits = []`
(in sandboxes that may not raise RLIMIT_NOFILE it would fail every container)
and a storage of the tests (CONTAINERS_STORAGE_CONF: vfs, which works inside
a container too, and leaves the machine's own podman images alone). The
example image's containers run with --network none (the checks ask about
their own loopback); the Kubernetes example gets podman's default network,
which its containerPort needs in podman 4.3.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.harness import ARCH, missing, platform, require

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class Podman:
    def __init__(self, home: Path):
        (home / "containers.conf").write_text("[containers]\ndefault_ulimits = []\n")
        (home / "storage.conf").write_text('[storage]\ndriver = "vfs"\ngraphroot = "%s"\nrunroot = "%s"\n'
                                           % (home / "root", home / "run"))
        self.env = dict(os.environ, CONTAINERS_CONF=str(home / "containers.conf"),
                        CONTAINERS_STORAGE_CONF=str(home / "storage.conf"))
        self.prefix = "hcp%s" % uuid.uuid4().hex[:6]
        self.version = tuple(int(x) for x in self.out("version", "--format", "{{.Client.Version}}")
                             .split("-")[0].split(".")[:2])

    def run(self, *args, timeout: float = 120) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(["podman", *map(str, args)], env=self.env, capture_output=True, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            raise AssertionError("podman %s: no exit within %ss" % (" ".join(map(str, args)), timeout)) from e

    def out(self, *args, timeout: float = 120) -> str:
        cp = self.run(*args, timeout=timeout)
        assert cp.returncode == 0, "podman %s -> %d\n%s%s" % (" ".join(map(str, args)), cp.returncode,
                                                               cp.stdout, cp.stderr)
        return cp.stdout.strip()

    def health(self, name: str) -> dict:
        return json.loads(self.out("inspect", "--format", "{{json .State.Health}}", name))


@pytest.fixture(scope="module")
def podman(tmp_path_factory):
    require("podman", "catatonit")
    p = Podman(tmp_path_factory.mktemp("podman"))
    yield p
    # the storage is the tests' own: everything in it goes
    p.run("rm", "-af", timeout=300)
    p.run("pod", "rm", "-af", timeout=300)
    p.run("rmi", "-af", timeout=300)


def example_stages() -> str:
    """examples/Dockerfile without its Debian build stage, the two things
    that stage gives taken from the build context instead."""
    text = (EXAMPLES / "Dockerfile").read_text()
    start = text.index("FROM scratch AS base")
    stages = text[start:]
    for old, new in (("COPY --from=app /bin/busybox /bin/busybox", "COPY busybox /bin/busybox"),
                     ("COPY --from=healthcheck:latest /healthcheck /healthcheck", "COPY healthcheck/ /healthcheck/"),
                     ("COPY --from=app /shell/ /bin/", "COPY shell/ /bin/")):
        assert stages.count(old) == 1, "examples/Dockerfile has no single %r line" % old
        stages = stages.replace(old, new)
    assert "--from=" not in stages, stages
    return stages


@pytest.fixture(scope="module")
def images(podman, busybox, tmp_path_factory) -> dict[str, str]:
    """target ("base" is the default image, "with-shell") -> podman image."""
    dist = platform(ARCH).dir
    if not (dist / "TCP").is_file():
        missing("no %s (make dist)" % dist)
    ctx = tmp_path_factory.mktemp("ctx")
    shutil.copy2(busybox, ctx / "busybox")
    shutil.copytree(dist, ctx / "healthcheck", symlinks=True)
    shutil.copytree(EXAMPLES / "www", ctx / "www")
    (ctx / "shell").mkdir()
    os.symlink("busybox", ctx / "shell" / "sh")
    (ctx / "Containerfile").write_text(example_stages())
    built = {}
    for target in ("base", "with-shell"):
        tag = "localhost/%s-%s:t" % (podman.prefix, target)
        # Docker's format: the OCI one has no HEALTHCHECK (podman drops it, with a warning)
        podman.out("build", "-q", "--format", "docker", "--target", target, "-t", tag,
                   "-f", ctx / "Containerfile", ctx, timeout=600)
        built[target] = tag
    return built


def check(podman, name: str) -> tuple[int, str]:
    """One `podman healthcheck run` -> (its exit code, the tool's line)."""
    cp = podman.run("healthcheck", "run", name, timeout=60)
    log = podman.health(name)["Log"] or [{}]
    return cp.returncode, log[-1].get("Output", "")


def test_image_healthcheck_exec_form(podman, images):
    """The example image's HEALTHCHECK (exec form, no shell in the image):
    healthy while httpd serves /healthz, unhealthy with the tool's reason
    when nothing listens."""
    serving, idle = podman.prefix + "-serving", podman.prefix + "-idle"
    podman.out("run", "-d", "--network", "none", "--name", serving, images["base"])
    podman.out("run", "-d", "--network", "none", "--name", idle,
               "--entrypoint", '["/bin/busybox", "sleep", "600"]', images["base"])
    config = json.loads(podman.out("inspect", "--format", "{{json .Config.Healthcheck}}", serving))
    assert config["Test"] == ["CMD", "/healthcheck/HTTP", "8080/healthz"], config
    assert podman.run("exec", serving, "/bin/sh", "-c", "true").returncode != 0, "the image has a shell"
    deadline = time.monotonic() + 30
    while True:
        rc, line = check(podman, serving)
        if rc == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert rc == 0 and line.startswith("HTTP 8080/healthz: 200"), (rc, line)
    assert podman.health(serving)["Status"] == "healthy"
    rc, line = check(podman, idle)
    assert rc == 1 and "TCP port 8080 is not listening" in line, (rc, line)


@pytest.mark.parametrize("target", ["base", "with-shell"])
def test_kube_play_of_the_kubernetes_example(podman, images, target, tmp_path):
    """k8s-probe.yaml's Deployment (Variant A) under `podman kube play`: with
    podman >= 4.4 its exec probe runs as exec and both images pass; Debian
    12's podman 4.3 makes it `CMD-SHELL ... || exit 1`, which only the image
    with a shell passes (what k8s-probe.yaml says)."""
    deployment = (EXAMPLES / "k8s-probe.yaml").read_text().split("\n---\n")[0]
    name = "%s-%s" % (podman.prefix, target.replace("-", ""))
    for old, new in (("image: healthcheck-example/app:example", "image: " + images[target]),
                     ("  name: web\n", "  name: %s\n" % name)):
        assert deployment.count(old) == 1, "k8s-probe.yaml: no single %r" % old
        deployment = deployment.replace(old, new)
    (tmp_path / "kube.yaml").write_text(deployment)
    podman.out("kube", "play", tmp_path / "kube.yaml", timeout=300)
    try:
        ctrs = [n for n in podman.out("ps", "-a", "--format", "{{.Names}}").split()
                if n.startswith(name) and n.endswith("-web")]
        assert len(ctrs) == 1, ctrs
        test = json.loads(podman.out("inspect", "--format", "{{json .Config.Healthcheck}}", ctrs[0]))["Test"]
        shell = podman.version < (4, 4)
        if shell:
            assert test[0] == "CMD-SHELL" and test[-2:] == ["exit", "1"], test
        else:
            assert test == ["CMD", "/healthcheck/TCP", "8080", "--quiet"], test
        if shell and target == "base":
            # no /bin/sh: the rewritten probe fails (one check: the
            # Deployment's restart policy restarts the container on failures)
            rc, line = check(podman, ctrs[0])
            assert rc == 1, (rc, line)
            return
        results = []
        for _ in range(20):
            results.append(check(podman, ctrs[0]))
            if results[-1][0] == 0:
                break
            time.sleep(0.5)
        assert results[-1][0] == 0, results
    finally:
        podman.run("kube", "play", "--down", tmp_path / "kube.yaml", timeout=300)
