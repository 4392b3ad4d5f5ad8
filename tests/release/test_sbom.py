"""The SBOMs `make dist` writes (scripts/sbom.py): one SPDX 2.3 document per
platform, dist/linux-ARCH/healthcheck.spdx.json, valid for SPDX's own
validator (PyPI's spdx-tools, `pyspdxtools -i`), beside the healthcheck/
folder and not in it, and true to what was built: the binaries' sums, the
revision the binary itself reports, and the pins in static/ (the Debian
source packages, the zig wheels) read here on their own."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import ARCH, qemu

from .conftest import DIST, PLATFORMS, REPO, need_dist, run, unavailable

STATIC = REPO / "static"


def validator() -> str:
    exe = Path(sys.executable).parent / "pyspdxtools"
    if exe.exists():
        return str(exe)
    found = shutil.which("pyspdxtools")
    if not found:
        unavailable("pyspdxtools not installed (spdx-tools: pip install -e '.[test]')")
    return found


def sbom_path(p) -> Path:
    return p.dir.parent / "healthcheck.spdx.json"


def load(p) -> dict:
    need_dist(p)
    path = sbom_path(p)
    if not path.is_file():
        unavailable("%s missing: run make dist (static/dist.sh alone writes no SBOM)" % path)
    return json.loads(path.read_text())


def sha(algorithm: str, path: Path) -> str:
    return hashlib.new(algorithm, path.read_bytes()).hexdigest()


def pins():
    """static/**/*.sha256 -> [(pin dir under static/, package, Debian version, .dsc sha256)]."""
    found = []
    for path in sorted(STATIC.rglob("*.sha256")):
        if ".cache" in path.parts:
            continue
        for line in path.read_text().splitlines():
            digest, _, name = line.partition("  ")
            if name.endswith(".dsc"):
                package, version = name[:-4].split("_", 1)
                found.append((path.parent.relative_to(STATIC).as_posix(), package, version, digest))
    return found


def binaries(p) -> list[str]:
    return sorted(f.name for f in p.dir.iterdir() if f.is_file() and not f.is_symlink())


def by_name(doc: dict) -> dict:
    return {pkg["name"]: pkg for pkg in doc["packages"]}


def links(doc: dict) -> set[tuple[str, str, str]]:
    return {(r["spdxElementId"], r["relationshipType"], r["relatedSpdxElement"]) for r in doc["relationships"]}


@pytest.mark.parametrize("p", PLATFORMS, ids=repr)
def test_sbom_is_valid_spdx(p):
    load(p)
    cp = run([validator(), "-i", str(sbom_path(p))], timeout=120)
    assert cp.returncode == 0 and "ERROR" not in cp.stdout + cp.stderr, cp.stdout + cp.stderr


def test_the_validator_rejects_a_broken_sbom(tmp_path):
    doc = load(PLATFORMS[0])
    doc["packages"][0]["licenseDeclared"] = "MIT OR ("
    del doc["files"][0]["SPDXID"]
    bad = tmp_path / "bad.spdx.json"
    bad.write_text(json.dumps(doc))
    cp = run([validator(), "-i", str(bad)], timeout=120)
    assert cp.returncode != 0, cp.stdout + cp.stderr


@pytest.mark.parametrize("p", PLATFORMS, ids=repr)
def test_sbom_sits_beside_the_folder_users_copy(p):
    load(p)
    assert not [f.name for f in p.dir.iterdir() if "spdx" in f.name.lower()]


@pytest.mark.parametrize("p", PLATFORMS, ids=repr)
def test_sbom_lists_the_binaries_as_built(p):
    doc = load(p)
    assert doc["spdxVersion"] == "SPDX-2.3" and doc["dataLicense"] == "CC0-1.0"
    files = {f["fileName"]: f for f in doc["files"]}
    assert sorted(files) == ["./healthcheck/" + b for b in binaries(p)]
    for b in binaries(p):
        sums = {c["algorithm"]: c["checksumValue"] for c in files["./healthcheck/" + b]["checksums"]}
        assert sums == {"SHA1": sha("sha1", p.dir / b), "SHA256": sha("sha256", p.dir / b)}, b
    tcp = {c["algorithm"]: c["checksumValue"] for c in files["./healthcheck/TCP"]["checksums"]}["SHA256"]
    assert "%s  linux-%s/healthcheck/TCP\n" % (tcp, p.arch) in (DIST / "SHA256SUMS").read_text()


@pytest.mark.parametrize("p", PLATFORMS, ids=repr)
def test_sbom_names_this_package_at_the_binary_revision(p):
    doc = load(p)
    init = (REPO / "src" / "healthcheck" / "__init__.py").read_text()
    version = re.search(r'^__version__ = "(.*)"', init, re.M).group(1)
    hc = by_name(doc)["healthcheck"]
    assert hc["versionInfo"] == version and hc["licenseDeclared"] == "MIT"
    assert doc["documentDescribes"] == [hc["SPDXID"]]
    assert ("SPDXRef-DOCUMENT", "DESCRIBES", hc["SPDXID"]) in links(doc)
    assert "Copyright (c) 2026 the healthcheck authors" in hc["copyrightText"]
    # the revision the binary itself was built from, as --version prints it
    wrapper = [] if p.arch == ARCH else qemu(p.arch)
    if wrapper is None:
        unavailable("no qemu-user for %s to ask the binary its revision" % p.arch)
    cp = run(wrapper + [str(p.dir / "TCP"), "--version"], timeout=60)
    m = re.search(r"\(revision ([0-9a-f]+),", cp.stdout)
    assert cp.returncode == 0 and m, cp.stdout + cp.stderr
    assert re.fullmatch(r"git revision [0-9a-f]{40}", hc["sourceInfo"]), hc["sourceInfo"]
    assert hc["sourceInfo"].split()[-1].startswith(m.group(1)), (hc["sourceInfo"], cp.stdout)


@pytest.mark.parametrize("p", PLATFORMS, ids=repr)
def test_sbom_names_every_pinned_source_package(p):
    doc, built = load(p), binaries(p)
    packages, rel = by_name(doc), links(doc)
    files = {f["fileName"].rsplit("/", 1)[1]: f["SPDXID"] for f in doc["files"]}
    want_in = {".": built, "tls": [b for b in built if b == "healthcheck-tls"]}
    expected = set()
    for folder, package, version, dsc_sha in pins():
        users = want_in[folder]
        if not users:
            continue
        expected.add(package)
        pkg = packages[package]
        assert pkg["checksums"] == [{"algorithm": "SHA256", "checksumValue": dsc_sha}], package
        assert pkg["packageFileName"] == "%s_%s.dsc" % (package, version)
        assert pkg["versionInfo"] and version.startswith(pkg["versionInfo"]), (pkg["versionInfo"], version)
        assert "Debian source package %s %s" % (package, version) in pkg["sourceInfo"]
        purls = [r["referenceLocator"] for r in pkg["externalRefs"] if r["referenceType"] == "purl"]
        assert purls and purls[0].startswith("pkg:deb/debian/%s@" % package)
        for b in users:
            assert (files[b], "STATIC_LINK", pkg["SPDXID"]) in rel, (b, package)
    assert "micropython" in expected
    debian = {name for name, pkg in packages.items() if pkg.get("supplier") == "Organization: Debian"}
    assert debian == expected, "TLS packages without healthcheck-tls, or a pin left out"


@pytest.mark.parametrize("p", PLATFORMS, ids=repr)
def test_sbom_names_zig_and_its_musl(p):
    doc = load(p)
    req = (STATIC / "zig-requirements.txt").read_text()
    zig_version = re.search(r"^ziglang==(\S+)", req, re.M).group(1)
    wheels = re.findall(r"--hash=sha256:([0-9a-f]{64})", req)
    zig, musl = by_name(doc)["ziglang"], by_name(doc)["musl"]
    assert zig["versionInfo"] == zig_version
    assert wheels and all(h in zig["sourceInfo"] for h in wheels)
    assert {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
            "referenceLocator": "pkg:pypi/ziglang@" + zig_version} in zig["externalRefs"]
    rel = links(doc)
    assert (zig["SPDXID"], "BUILD_TOOL_OF", by_name(doc)["healthcheck"]["SPDXID"]) in rel
    assert (zig["SPDXID"], "CONTAINS", musl["SPDXID"]) in rel
    for f in doc["files"]:
        assert (f["SPDXID"], "STATIC_LINK", musl["SPDXID"]) in rel
    # the musl of the zig the build used (static/zig.sh prints it)
    cp = run(["sh", str(STATIC / "zig.sh")], timeout=600)
    assert cp.returncode == 0, cp.stderr
    header = Path(cp.stdout.strip()).parent / "lib" / "libc" / "musl" / "src" / "internal" / "version.h"
    assert '#define VERSION "%s"' % musl["versionInfo"] in header.read_text()


def test_a_tls_binary_brings_mbedtls_in(tmp_path):
    """Beside healthcheck-tls (dist/'s, which make dist always builds now),
    the SBOM names the pins of static/tls/ for it alone."""
    tls_pins = [x for x in pins() if x[0] == "tls"]
    if not tls_pins:
        pytest.skip("no pin under static/tls/")
    p = next(x for x in PLATFORMS if x.arch == ARCH)
    need_dist(p)
    arch_dir = tmp_path / "dist" / ("linux-" + p.arch)
    shutil.copytree(p.dir, arch_dir / "healthcheck", symlinks=True)
    cp = subprocess.run([sys.executable, str(REPO / "scripts" / "sbom.py"), str(tmp_path / "dist")],
                        capture_output=True, text=True, timeout=600)
    assert cp.returncode == 0, cp.stderr
    out = arch_dir / "healthcheck.spdx.json"
    assert run([validator(), "-i", str(out)], timeout=120).returncode == 0
    doc = json.loads(out.read_text())
    rel, files = links(doc), {f["fileName"]: f for f in doc["files"]}
    assert "HTTPS" in files["./healthcheck/healthcheck-tls"]["comment"]
    for _, package, _, _ in tls_pins:
        pid = by_name(doc)[package]["SPDXID"]
        assert (files["./healthcheck/healthcheck-tls"]["SPDXID"], "STATIC_LINK", pid) in rel
        assert (files["./healthcheck/TCP"]["SPDXID"], "STATIC_LINK", pid) not in rel
