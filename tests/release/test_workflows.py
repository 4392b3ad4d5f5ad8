"""The GitHub workflows are valid against GitHub's workflow schema (the copy
that check-jsonschema ships: no network) and run what the project runs."""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

from .conftest import PLATFORMS, REPO, TLS_BINARY, run, unavailable

WORKFLOWS = REPO / ".github" / "workflows"


def checker() -> str:
    exe = Path(sys.executable).parent / "check-jsonschema"
    if exe.exists():
        return str(exe)
    found = shutil.which("check-jsonschema")
    if not found:
        unavailable("check-jsonschema not installed (pip install -e '.[test]')")
    return found


def test_workflows_match_the_schema():
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert [Path(f).name for f in files] == ["ci.yml", "release.yml"]
    cp = run([checker(), "--builtin-schema", "vendor.github-workflows", *files], timeout=120)
    assert cp.returncode == 0, cp.stdout + cp.stderr


def test_a_broken_workflow_is_caught(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("name: x\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    step: []\n")
    cp = run([checker(), "--builtin-schema", "vendor.github-workflows", str(bad)], timeout=120)
    assert cp.returncode != 0


def test_workflows_run_the_project_commands():
    ci = (WORKFLOWS / "ci.yml").read_text()
    release = (WORKFLOWS / "release.yml").read_text()
    assert "bash .ci/run" in ci
    assert "bash .ci/run" in release and "make publish" in release and "SHA256SUMS" in release
    # the release's text names the tools from the package's one list, and
    # the SBOMs of make dist go beside the binaries
    assert "static/names.sh" in release and "TCP, UDP" not in release
    assert 'cp "$d/healthcheck.spdx.json" "release/healthcheck-$a.spdx.json"' in release


def release_step(name: str) -> str:
    """The shell of one step of release.yml's job."""
    try:
        import yaml  # PyYAML, which spdx-tools of the test extras requires
    except ImportError:
        unavailable("PyYAML not installed (pip install -e '.[test]')")
    steps = yaml.safe_load((WORKFLOWS / "release.yml").read_text())["jobs"]["release"]["steps"]
    found = [s["run"] for s in steps if s.get("name") == name]
    assert len(found) == 1, "release.yml: no one step %r" % name
    return found[0]


def test_release_assets_are_both_binaries_and_the_sbom(tmp_path):
    """The "release assets" step, run on a dist/ shaped as make dist leaves
    it (stand-in bytes): for each platform healthcheck-linux-ARCH (TCP),
    healthcheck-tls-linux-ARCH and healthcheck-linux-ARCH.spdx.json, all in
    SHA256SUMS; a platform without healthcheck-tls fails the step."""
    script = release_step("release assets")
    want = {}
    for p in PLATFORMS:
        d = tmp_path / "dist" / ("linux-" + p.arch)
        (d / "healthcheck").mkdir(parents=True)
        for name, asset in (("healthcheck/TCP", "healthcheck-linux-"), ("healthcheck/" + TLS_BINARY,
                            "healthcheck-tls-linux-"), ("healthcheck.spdx.json", "healthcheck-linux-")):
            data = ("%s of %s\n" % (name, p.arch)).encode()
            (d / name).write_bytes(data)
            want[asset + p.arch + (".spdx.json" if name.endswith(".json") else "")] = data
        (d / "healthcheck" / "HTTPS").symlink_to(TLS_BINARY)
        (d / "healthcheck" / "UDP").symlink_to("TCP")
    cp = run(["bash", "-e", "-c", script], cwd=tmp_path)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    release = tmp_path / "release"
    assert sorted(x.name for x in release.iterdir()) == sorted(list(want) + ["SHA256SUMS"])
    assert {name: (release / name).read_bytes() for name in want} == want
    sums = dict(reversed(line.split("  ", 1)) for line in (release / "SHA256SUMS").read_text().splitlines())
    assert sums == {name: hashlib.sha256(data).hexdigest() for name, data in want.items()}
    # a dist/ without healthcheck-tls (HEALTHCHECK_TLS=0) is no release
    shutil.rmtree(release)
    (tmp_path / "dist" / ("linux-" + PLATFORMS[-1].arch) / "healthcheck" / TLS_BINARY).unlink()
    cp = run(["bash", "-e", "-c", script], cwd=tmp_path)
    assert cp.returncode != 0 and TLS_BINARY in cp.stderr, cp.stdout + cp.stderr
