"""The GitHub workflows are valid against GitHub's workflow schema (the copy
that check-jsonschema ships: no network) and run what the project runs."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from .conftest import REPO, run, unavailable

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
