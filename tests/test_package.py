"""The installed Python package as a user meets it: the console scripts
(every tool name and `healthcheck`), `python -m healthcheck`, and the
library example of docs/development.md, run as real processes."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests import harness

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TOOLS = harness.TOOLS + ("healthcheck",)
ARGVS = [["80abc"], ["--nope"], [], ["1", "2", "3"], ["80", "x"], ["\udcff"], ["--help"], ["--version"],
         ["--quiet", "0"], ["--wait", "abc", "80"]]


def script(name):
    path = BIN / name
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("console script %s not installed (make venv)" % path)
        pytest.skip("console scripts not installed next to %s" % sys.executable)
    return path


def test_console_scripts_exit_0_or_1_without_traceback():
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    for tool in TOOLS:
        for argv in ARGVS:
            args = [a.encode("utf-8", "surrogateescape") for a in argv]
            proc = subprocess.run([str(script(tool))] + args, capture_output=True, timeout=30, env=env)
            assert proc.returncode == (0 if argv[:1] in (["--help"], ["--version"]) else 1), (tool, argv, proc)
            assert b"Traceback" not in proc.stderr and len(proc.stderr.splitlines()) <= 2, (tool, argv)


def test_pyproject_installs_a_console_script_for_every_tool():
    # The package's one list of names (healthcheck.tools.NAMES) is what
    # pyproject.toml must install; a new tool without its script fails here.
    text = (ROOT / "pyproject.toml").read_text()
    scripts = text.split("[project.scripts]")[1].split("\n[")[0]
    names = [line.split("=")[0].strip() for line in scripts.splitlines() if "=" in line]
    assert sorted(names) == sorted(TOOLS), names


def test_healthcheck_command_and_python_m_name_the_tool_first():
    for argv in ([str(script("healthcheck"))], [sys.executable, "-m", "healthcheck"]):
        proc = subprocess.run(argv + ["tcp", "--help"], capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0 and proc.stdout.startswith("usage: TCP PORTS"), proc
        proc = subprocess.run(argv + ["--help"], capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0 and ", ".join(harness.TOOLS) in proc.stdout
        proc = subprocess.run(argv + ["tcp6", "80", "127.0.0.1"], capture_output=True, text=True, timeout=30)
        assert proc.returncode == 1 and "use TCP for it" in proc.stderr


def test_library_example_runs():
    text = (ROOT / "docs" / "development.md").read_text()
    block = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    code = "\n".join(line.split("#")[0].rstrip() for line in block.splitlines())
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
