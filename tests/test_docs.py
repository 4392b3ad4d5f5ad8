"""What the repository says about itself stays whole as tools and targets are
added: the license, every tool named where users look for the tools, every
make target in `make help`, every floor program of the bench in its README."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import healthcheck
from tests import harness

ROOT = Path(__file__).resolve().parents[1]


def test_license_is_mit_as_the_package_and_image_say():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert re.search(r"^Copyright \(c\) \d{4} the healthcheck authors$", text, re.M)
    assert 'license = { text = "MIT" }' in (ROOT / "pyproject.toml").read_text()
    assert 'org.opencontainers.image.licenses="MIT"' in (ROOT / "Dockerfile").read_text()


def test_pyproject_description_names_every_tool():
    description = re.search(r'^description = "(.*)"$', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    missing = [t for t in harness.TOOLS if not re.search(r"\b%s\b" % t, description)]
    assert not missing, description


def test_examples_readme_names_every_tool():
    text = (ROOT / "examples" / "README.md").read_text()
    missing = [t for t in harness.TOOLS + ("healthcheck",) if "`%s`" % t not in text]
    assert not missing, "examples/README.md does not name %s" % missing


def test_examples_readme_has_no_issue_numbers():
    text = (ROOT / "examples" / "README.md").read_text()
    assert not re.findall(r"(?<![\w&])#\d+\b", text)


def phony_targets():
    names = set()
    for path in (ROOT / "Makefile", ROOT / "bench" / "Makefile.inc"):
        for line in path.read_text().splitlines():
            if line.startswith(".PHONY:"):
                names.update(line.split(":", 1)[1].split())
    return names - {"help"}


def test_make_help_names_every_target():
    if shutil.which("make") is None:
        pytest.skip("no make")
    out = subprocess.run(["make", "-s", "-C", str(ROOT), "help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    listed = set(re.findall(r"^make (\S+)", out.stdout, re.M))
    targets = phony_targets()
    assert {"test", "dist", "publish", "bench-smoke"} <= targets
    assert targets - listed == set(), "make help leaves out %s" % sorted(targets - listed)
    assert listed - targets == set(), "make help names %s, no .PHONY target" % sorted(listed - targets)


def test_bench_readme_names_every_floor_program():
    text = (ROOT / "bench" / "README.md").read_text()
    floors = sorted(p.name for p in (ROOT / "bench").glob("floor_*.c"))
    assert floors, "no bench/floor_*.c"
    missing = [f for f in floors if "`%s`" % f not in text]
    assert not missing, "bench/README.md does not name %s" % missing


def test_readme_speaks_to_users():
    # Every tool is named and shown in a usage line; no issue numbers or
    # history ("#12"); the build reference stays a reference.
    text = (ROOT / "README.md").read_text()
    for tool in harness.TOOLS:
        assert re.search(r"^\| `%s` +\|" % tool, text, re.M), "README's table of tools lacks %s" % tool
    assert not re.search(r"(?<![\w&/])#\d+\b", text), re.findall(r".{30}#\d+.{10}", text)
    assert len((ROOT / "static" / "README.md").read_bytes()) <= 12 * 1024


# What README.md is: a document for users, read top to bottom. What a
# contributor needs (the layout, building, the library API) is in
# docs/development.md, one link away.
README_LIMIT = 15 * 1024
DEVELOPER_SECTIONS = ("Layout", "As a Python library", "How it asks the kernel",
                      "Building for eight architectures", "Tests")


def headings(text):
    prose = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return [h.strip() for h in re.findall(r"^#{1,6} (.+)$", prose, re.M)]


def slug(heading):
    # GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens.
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def test_readme_is_for_users_and_points_to_the_developer_guide():
    readme = ROOT / "README.md"
    text = readme.read_text()
    size = len(readme.read_bytes())
    assert size <= README_LIMIT, "README.md is %d bytes, over %d: move what is not for users out" % (
        size, README_LIMIT)
    kept = [h for h in headings(text) if h in DEVELOPER_SECTIONS]
    assert not kept, "README.md has developer sections %s: they belong in docs/development.md" % kept
    assert "```python" not in text, "the library API belongs in docs/development.md"
    assert "](docs/development.md)" in text, "README.md does not link docs/development.md"
    guide = headings((ROOT / "docs" / "development.md").read_text())
    missing = [h for h in DEVELOPER_SECTIONS if h not in guide]
    assert not missing, "docs/development.md lacks %s" % missing


def test_readme_quick_start_is_what_ci_runs():
    # CI (.ci/run) runs the README's test command: the two must not drift apart.
    text = (ROOT / "README.md").read_text()
    block = re.search(r"^## Quick start.*?```sh\n(.*?)```", text, re.M | re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines()]
    assert commands == ["./make.sh image", "./make.sh test"], "README's quick start: %s" % commands
    assert "exec ./make.sh test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("name", ["README.md", "docs/development.md"])
def test_relative_links_resolve(name):
    # Every link to a file of the repository names one that exists, and an
    # #anchor names a heading of it (links into README.md from docs too).
    source = ROOT / name
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", source.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (source.parent / path).resolve() if path else source
        if not file.exists():
            broken.append(target)
        elif anchor and anchor not in [slug(h) for h in headings(file.read_text())]:
            broken.append(target)
    if name == "README.md":
        anchors = [slug(h) for h in headings(source.read_text())]
        for doc in sorted((ROOT / "docs").glob("*.md")) + [ROOT / "examples" / "README.md"]:
            for anchor in re.findall(r"\]\([./]*README\.md#([^)]+)\)", doc.read_text()):
                if anchor not in anchors:
                    broken.append("%s -> README.md#%s" % (doc.relative_to(ROOT), anchor))
    assert not broken, "%s: broken links %s" % (name, broken)


def test_every_tool_has_help():
    for tool in harness.TOOLS:
        proc = subprocess.run([str(harness.build("cpython").path(tool)), "--help"], capture_output=True,
                              text=True, timeout=30)
        assert proc.returncode == 0 and proc.stdout.startswith("usage: %s " % tool), (tool, proc)


def test_the_version_is_written_only_in_the_package():
    # make image, scripts/publish.sh and the Dockerfile's version stage read
    # __version__ with this sed-shaped pattern; a second literal in a build
    # file is one a release would leave stale. The Dockerfile's two ARG VERSION
    # (the checking stage, the labelled one) have no default.
    init = (ROOT / "src" / "healthcheck" / "__init__.py").read_text()
    assert re.findall(r'^__version__ = "(.*)"$', init, re.M) == [healthcheck.__version__]
    for name in ("Dockerfile", "Makefile", "scripts/publish.sh", "pyproject.toml"):
        assert healthcheck.__version__ not in (ROOT / name).read_text(), name
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.findall(r"^ARG VERSION\b.*$", dockerfile, re.M) == ["ARG VERSION"] * 2
    assert 'org.opencontainers.image.version="${VERSION}"' in dockerfile
