"""make publish: one multi-arch index in a real registry (Debian's
docker-registry on localhost:5000), holding for each platform of
static/platforms an image whose /healthcheck is dist/'s folder (TCP and
healthcheck-tls byte for byte, every link pointing where it should, nothing
else), and a consumer image built `FROM scratch` + `COPY --from=` that index
works, HTTPS included."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import urllib.request
import uuid

import pytest

from .conftest import (
    ALL_LINKS,
    BINARIES,
    PLATFORMS,
    REPO,
    link_target,
    need_dist,
    need_root,
    need_tool,
    run,
    unavailable,
)

REGISTRY = "localhost:5000"
NAME = "healthcheck"
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json")
ACCEPT = ", ".join(INDEX_TYPES + ("application/vnd.oci.image.manifest.v1+json",
                                  "application/vnd.docker.distribution.manifest.v2+json"))


def version() -> str:
    for line in (REPO / "src" / "healthcheck" / "__init__.py").read_text().splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip('"')
    raise AssertionError("no __version__")


def get(path: str) -> tuple[bytes, str]:
    req = urllib.request.Request("http://%s/v2/%s/%s" % (REGISTRY, NAME, path), headers={"Accept": ACCEPT})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read(), r.headers.get("Content-Type", "")


def blob(digest: str) -> bytes:
    data, _ = get("blobs/" + digest)
    assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
    return data


@pytest.fixture(scope="module")
def published():
    need_root()
    need_tool("buildah", "buildah")
    for p in PLATFORMS:
        need_dist(p)
    env = dict(os.environ)
    env.pop("HEALTHCHECK_REGISTRY", None)
    cp = subprocess.run(["sh", "scripts/publish.sh"], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
    assert cp.returncode == 0, cp.stdout[-5000:]
    data, ctype = get("manifests/latest")
    return json.loads(data), ctype, data


def test_a_dist_without_healthcheck_tls_is_not_published(tmp_path):
    """A dist/ of stand-ins, one platform without healthcheck-tls
    (HEALTHCHECK_TLS=0): publish.sh stops, naming it, before it starts a
    registry or builds anything."""
    need_tool("buildah", "buildah")
    for p in PLATFORMS:
        d = tmp_path / ("linux-" + p.arch)
        (d / "healthcheck").mkdir(parents=True)
        (d / "healthcheck.spdx.json").write_text("{}")
        for binary in BINARIES:
            (d / "healthcheck" / binary).write_bytes(b"stand-in")
    missing_one = tmp_path / ("linux-" + PLATFORMS[-1].arch) / "healthcheck" / "healthcheck-tls"
    missing_one.unlink()
    env = dict(os.environ, HEALTHCHECK_DIST=str(tmp_path), HEALTHCHECK_REGISTRY="registry.invalid/none",
               HEALTHCHECK_CACHE=str(tmp_path / "cache"))
    cp = run(["sh", "scripts/publish.sh"], cwd=REPO, env=env)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    assert cp.stderr == "publish: ERROR: %s missing: run make dist first\n" % missing_one, cp.stderr
    assert not (tmp_path / "cache").exists()


def platform_of(entry) -> str:
    p = entry["platform"]
    return "/".join([p["os"], p["architecture"]] + ([p["variant"]] if p.get("variant") else []))


def test_index_has_the_eight_platforms(published):
    index, ctype, raw = published
    assert ctype in INDEX_TYPES and index["mediaType"] in INDEX_TYPES
    got = sorted(platform_of(m) for m in index["manifests"])
    assert got == sorted(p.platform for p in PLATFORMS)
    # the version tag names the same index
    data, _ = get("manifests/" + version())
    assert data == raw


def test_index_names_each_sbom(published):
    """Each platform's entry names its SBOM (make dist: dist/linux-ARCH/
    healthcheck.spdx.json; a release's healthcheck-linux-ARCH.spdx.json) and
    its sha256, which is the file's."""
    index, _, _ = published
    by_platform = {platform_of(m): m for m in index["manifests"]}
    for p in PLATFORMS:
        notes = by_platform[p.platform].get("annotations", {})
        sbom = p.dir.parent / "healthcheck.spdx.json"
        assert notes.get("healthcheck.sbom") == "healthcheck-linux-%s.spdx.json" % p.arch, (p.arch, notes)
        assert notes.get("healthcheck.sbom.sha256") == hashlib.sha256(sbom.read_bytes()).hexdigest(), p.arch


def test_each_image_holds_the_dist_binary(published):
    index, _, _ = published
    labels_seen = set()
    by_platform = {platform_of(m): m for m in index["manifests"]}
    for p in PLATFORMS:
        manifest = json.loads(get("manifests/" + by_platform[p.platform]["digest"])[0])
        config = json.loads(blob(manifest["config"]["digest"]))
        arch = p.platform.split("/")
        assert (config["os"], config["architecture"]) == (arch[0], arch[1])
        assert config.get("variant", "") == (arch[2] if len(arch) > 2 else "")
        cfg = config["config"]
        assert cfg["Entrypoint"] == ["/healthcheck/healthcheck"] and cfg["User"] == "65534:65534"
        labels_seen.add(json.dumps(cfg["Labels"], sort_keys=True))
        files = {}
        for layer in manifest["layers"]:
            data = blob(layer["digest"])
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                for member in tar:
                    name = member.name.lstrip("./")
                    files[name] = member.linkname if member.issym() else tar.extractfile(member).read() \
                        if member.isfile() else None
        for binary in BINARIES:
            assert files["healthcheck/" + binary] == (p.dir / binary).read_bytes(), (p.arch, binary)
        assert {t: files["healthcheck/" + t] for t in ALL_LINKS} == {t: link_target(t) for t in ALL_LINKS}, p.arch
        assert sorted(k for k in files if files[k] is not None) == sorted(
            "healthcheck/" + n for n in list(BINARIES) + list(ALL_LINKS)), p.arch
    # one set of labels, the Dockerfile's, with the version
    assert len(labels_seen) == 1
    labels = json.loads(labels_seen.pop())
    assert labels["org.opencontainers.image.version"] == version()
    assert labels["org.opencontainers.image.title"] == "healthcheck"


def test_consumer_image_copies_from_the_index(published, tmp_path):
    if shutil.which("docker") is None or run(["docker", "info"], timeout=30).returncode != 0:
        unavailable("no docker engine (scripts/docker-up.sh starts one)")
    tag = "healthcheck-consumer:release-test-%s" % uuid.uuid4().hex[:6]
    (tmp_path / "Dockerfile").write_text(
        "FROM scratch\n"
        "COPY --from=%s/%s:latest /healthcheck /healthcheck\n"
        'ENTRYPOINT ["/healthcheck/TCP"]\n' % (REGISTRY, NAME))
    # the engine must fetch the index afresh, not reuse a local copy
    run(["docker", "rmi", "%s/%s:latest" % (REGISTRY, NAME)])
    cp = run(["docker", "build", "--pull", "-q", "-t", tag, str(tmp_path)], timeout=300)
    assert cp.returncode == 0, cp.stderr
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # held, never listening: nobody else takes it
    try:
        ok = run(["docker", "run", "--rm", "--network", "host", tag, str(port)], timeout=60)
        no = run(["docker", "run", "--rm", "--network", "host", tag, str(closed.getsockname()[1])], timeout=60)
        # HTTPS came along and is healthcheck-tls: its own answer, not the main binary's
        tls = run(["docker", "run", "--rm", "--network", "host", "--entrypoint", "/healthcheck/HTTPS", tag,
                   str(closed.getsockname()[1])], timeout=60)
    finally:
        listener.close()
        closed.close()
        run(["docker", "rmi", "-f", tag])
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert no.returncode == 1, no.stdout + no.stderr
    assert tls.returncode == 1 and tls.stderr.count("\n") == 1, tls.stdout + tls.stderr
    assert "not in this binary" not in tls.stderr and "Traceback" not in tls.stderr, tls.stderr
