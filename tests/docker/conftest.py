"""Fixtures for the Docker image tests.

Behaviour:
  * CI=true: these tests must run. The session fixture starts the engine with
    scripts/docker-up.sh (docker.io comes from scripts/deps.sh); a missing
    image under test (`make image` builds it first) is a failure.
  * otherwise: use an engine that already answers `docker info`; if there is
    none, every test here is skipped with the reason. HEALTHCHECK_DOCKER_UP=1
    lets the fixture run scripts/docker-up.sh outside CI too.

Environment:
  HEALTHCHECK_IMAGE   image under test (default healthcheck:latest)
  DOCKER              docker client (default: `docker` on PATH, else /usr/bin/docker)
"""

from __future__ import annotations

import io
import json
import os
import posixpath
import shutil
import subprocess
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tests.harness import IN_CI, missing, require, run

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
IMAGE = os.environ.get("HEALTHCHECK_IMAGE", "healthcheck:latest")


DOCKER = os.environ.get("DOCKER") or shutil.which("docker") or "/usr/bin/docker"


class Docker:
    """Thin subprocess wrapper with bounded calls and a unique name factory."""

    def __init__(self, binary: str):
        self.bin = binary
        self.session_id = f"hct{os.getpid()}{uuid.uuid4().hex[:6]}"
        self._n = 0

    def name(self, what: str) -> str:
        self._n += 1
        return f"{self.session_id}-{what}-{self._n}"

    def run(self, *args, timeout: float = 60, check: bool = False) -> subprocess.CompletedProcess:
        cmd = [self.bin, *map(str, args)]
        try:
            cp = subprocess.run(cmd, timeout=timeout, capture_output=True, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"timed out after {timeout}s: {' '.join(cmd)}") from e
        if check and cp.returncode != 0:
            raise AssertionError(
                f"{' '.join(cmd)} -> exit {cp.returncode}\n"
                f"stdout: {cp.stdout!r}\nstderr: {cp.stderr!r}")
        return cp

    def out(self, *args, timeout: float = 60) -> str:
        return self.run(*args, timeout=timeout, check=True).stdout.decode().strip()

    def ok(self, *args, timeout: float = 30) -> bool:
        return self.run(*args, timeout=timeout).returncode == 0

    def rm(self, *names: str, what: str = "rm") -> None:
        if names:
            self.run(what, "-f", *names, timeout=60)

    def build(self, tag: str, context: Path, dockerfile: str, timeout: float = 300):
        self.run("build", "-q", "-t", tag, "-f", context / dockerfile, context, timeout=timeout, check=True)

    def health(self, container: str) -> dict | None:
        raw = self.out("inspect", "--format", "{{json .State.Health}}", container)
        return None if raw in ("", "null") else json.loads(raw)

    def wait_health(self, container: str, want: str, limit: float = 40) -> dict:
        """Poll .State.Health until Status == want; fail with the record on timeout."""
        deadline = time.monotonic() + limit
        last = None
        while time.monotonic() < deadline:
            last = self.health(container)
            if last and last.get("Status") == want:
                return last
            state = self.out("inspect", "--format", "{{.State.Status}}", container)
            if state in ("exited", "dead"):
                logs = self.run("logs", "--tail", "20", container)
                raise AssertionError(f"{container} {state} while waiting for {want}: "
                                     f"{last}\nlogs: {logs.stdout!r} {logs.stderr!r}")
            time.sleep(0.5)
        raise AssertionError(f"{container} not {want} after {limit}s: {json.dumps(last)}")


def script(name: str, *args, timeout: float) -> None:
    res = run(["bash", str(SCRIPTS / name), *args], env=dict(os.environ), timeout=timeout)
    if res.rc != 0:
        missing("scripts/%s failed:\n%s" % (name, (res.out + res.err)[-3000:]))


@pytest.fixture(scope="session")
def docker() -> Docker:
    d = Docker(DOCKER)
    if not (shutil.which(d.bin) and d.ok("info", timeout=30)):
        if not (IN_CI or os.environ.get("HEALTHCHECK_DOCKER_UP") == "1"):
            missing("no Docker engine answers `docker info` "
                    "(run scripts/docker-up.sh, or set CI=true / HEALTHCHECK_DOCKER_UP=1)")
        script("docker-up.sh", timeout=600)
        if not d.ok("info", timeout=30):
            missing("docker info still fails after scripts/docker-up.sh")
    return d


@pytest.fixture(scope="session")
def base_image(docker: Docker) -> str:
    """debian:trixie-slim, pulled or debootstrapped by scripts/base-image.sh."""
    name = "debian:trixie-slim"
    if not docker.ok("image", "inspect", name):
        script("base-image.sh", name, timeout=900)
    return name


@pytest.fixture(scope="session")
def image(docker: Docker) -> str:
    """The image under test."""
    if not docker.ok("image", "inspect", IMAGE):
        missing(f"no image {IMAGE} (make image; HEALTHCHECK_IMAGE names another)")
    return IMAGE


def is_static_elf(path: Path) -> bool:
    """An ELF with no program interpreter: it runs without a libc."""
    require("readelf", root=False)
    res = subprocess.run(["readelf", "-lW", str(path)], capture_output=True, text=True)
    return res.returncode == 0 and "Program Headers:" in res.stdout and " INTERP " not in res.stdout


@pytest.fixture(scope="session")
def busybox() -> Path:
    """A static busybox on the host (Debian's busybox-static, from scripts/deps.sh)
    to put in FROM-scratch test images."""
    for cand in (os.environ.get("BUSYBOX_STATIC"), "/bin/busybox", "/usr/bin/busybox"):
        if cand and is_static_elf(Path(cand)):
            return Path(cand)
    missing("no static busybox on the host: install busybox-static (scripts/deps.sh)")


# udhcpd is the one UDP server applet in Debian's busybox-static; bound to lo it
# needs no real network (runs under --network none) and sends nothing unasked.
UDHCPD_CONF = "interface lo\nstart 127.0.0.10\nend 127.0.0.20\nlease_file /dev/null\n"
LISTENER_TCP_PORT = 8080   # busybox httpd: binds [::]:8080, dual-stack
LISTENER_UDP_PORT = 67     # busybox udhcpd: binds 0.0.0.0:67


@pytest.fixture(scope="session")
def context_dir(busybox: Path, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("ctx")
    shutil.copy2(busybox, d / "busybox")
    (d / "udhcpd.conf").write_text(UDHCPD_CONF)
    return d


@pytest.fixture(scope="session")
def listener_image(docker: Docker, context_dir: Path):
    """FROM scratch + busybox: the 'service' in whose namespace the tools run."""
    tag = f"{docker.session_id}-listener:t"
    (context_dir / "Dockerfile.listener").write_text(
        "FROM scratch\n"
        "COPY busybox /bin/busybox\n"
        "COPY udhcpd.conf /etc/udhcpd.conf\n"
        'ENTRYPOINT ["/bin/busybox"]\n')
    docker.build(tag, context_dir, "Dockerfile.listener")
    yield tag
    docker.rm(tag, what="rmi")


@pytest.fixture
def listener(docker: Docker, listener_image: str):
    """A running container (own netns, --network none) listening on TCP 8080 and UDP 67."""
    name = docker.name("listener")
    docker.run("run", "-d", "--init", "--name", name, "--network", "none", listener_image,
               "sh", "-c",
               f"httpd -p {LISTENER_TCP_PORT} -h /; exec udhcpd -f /etc/udhcpd.conf",
               check=True)
    try:
        # wait until both sockets exist (busybox netstat inside the namespace)
        deadline = time.monotonic() + 15
        while True:
            ns = docker.run("exec", name, "/bin/busybox", "netstat", "-lntu").stdout.decode()
            if f":{LISTENER_TCP_PORT} " in ns and f":{LISTENER_UDP_PORT} " in ns:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"listener not ready: {ns}")
            time.sleep(0.2)
        yield name
    finally:
        docker.rm(name)


# What the engine itself puts into every container, whatever the image holds.
ENGINE_PATHS = {".dockerenv", "dev", "dev/console", "dev/pts", "dev/shm", "etc", "etc/hostname",
                "etc/hosts", "etc/mtab", "etc/resolv.conf", "proc", "sys"}


@pytest.fixture(scope="session")
def image_files(docker: Docker, image: str) -> dict[str, tarfile.TarInfo]:
    """Every path of the image's file system (relative, no leading slash) ->
    TarInfo: `docker export` of a container created from it, without what
    the engine adds to every container."""
    cid = docker.out("create", image)
    try:
        tar = docker.run("export", cid, timeout=120, check=True).stdout
    finally:
        docker.rm(cid)
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        members = {posixpath.normpath(m.name): m for m in t.getmembers()}
    return {k: m for k, m in members.items() if k != "." and k not in ENGINE_PATHS}


@pytest.fixture(scope="session")
def consumer_build(docker: Docker, image: str, context_dir: Path):
    """Build FROM-scratch images from Dockerfile text in the shared context; removed at the end."""
    built: list[str] = []

    def build(what: str, dockerfile_text: str, files: dict[str, str] | None = None) -> str:
        tag = f"{docker.session_id}-{what}:t"
        ctx = Path(tempfile.mkdtemp(dir=context_dir.parent))
        shutil.copytree(context_dir, ctx, dirs_exist_ok=True)
        for rel, text in (files or {}).items():
            (ctx / rel).parent.mkdir(parents=True, exist_ok=True)
            (ctx / rel).write_text(text)
        df = f"Dockerfile.{what}"
        (ctx / df).write_text(dockerfile_text.replace("@IMAGE@", image))
        docker.build(tag, ctx, df)
        built.append(tag)
        return tag

    yield build
    docker.rm(*built, what="rmi")
