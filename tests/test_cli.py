"""The command line: options anywhere, messages, exit codes (never 2)."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from healthcheck import __version__
from healthcheck.cli import main, parse_args

BIN = Path(sys.executable).parent


def run(*argv, env=None):
    out, err = io.StringIO(), io.StringIO()
    getenv = (env or {}).get
    code = main(list(argv), getenv, out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("args", [
    ["--quiet", "80", "--debug"], ["80", "--quiet"], ["--debug", "--quiet", "80"], ["-q", "80", "-V", "-V"][:2],
])
def test_options_anywhere(args):
    opts = parse_args(args)
    assert opts.positionals == ["80"] and opts.quiet and opts.error is None


def test_double_dash_ends_options():
    assert parse_args(["--", "80"]).positionals == ["80"]


BAD = [
    (["TCP"], "missing PORTS"),
    (["TCP", "80abc"], "bad port '80abc'"),
    (["TCP", "+80"], "bad port"), (["TCP", "0x50"], "bad port"), (["TCP", "8 0"], "bad port"),
    (["TCP", ""], "no port given"), (["TCP", "0"], "bad port '0'"), (["TCP", "65536"], "bad port"),
    (["TCP", "1,,2"], "bad port ''"),
    (["TCP", "80", "::1"], "use TCP6"), (["TCP6", "80", "127.0.0.1"], "use TCP"),
    (["UDP", "80", "1.2.3"], "bad address"),
    (["TCP", "80", "1.2.3.4", "5"], "too many arguments"),
    (["TCP", "--port", "80"], "unknown option '--port'"),
    (["TCP", "80", "\udcff\udcfe"], "bad address '??'"),
    (["TCP", "x" * 5000], "bad port 'xxxxx"),
]


@pytest.mark.parametrize("argv,message", BAD)
def test_bad_input_is_one_clear_line_plus_usage(argv, message):
    code, out, err = run(*argv)
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert len(lines) == 2 and message in lines[0], err
    assert lines[0].startswith(argv[0] + ": ") and lines[1].startswith("usage: " + argv[0])
    assert len(err) < 300
    code, out, err = run(*argv, "--quiet")
    assert (code, out, err) == (1, "", "")


def test_bad_backend_name():
    code, _, err = run("TCP", "80", env={"HEALTHCHECK_BACKEND": "ebpf"})
    assert code == 1 and "HEALTHCHECK_BACKEND=ebpf: use netlink or proc" in err


@pytest.mark.parametrize("name", ["TCP", "UDP", "TCP6", "UDP6"])
def test_help_and_version(name):
    code, out, err = run("/x/y/" + name, "80", "--help", "junk")
    assert code == 0 and out.startswith("usage: %s PORTS" % name) and err == ""
    assert ("IPv6" if name.endswith("6") else "IPv4") in out
    code, out, err = run(name, "--version")
    assert (code, out, err) == (0, "%s (healthcheck) %s\n" % (name, __version__), "")


def test_unknown_program_name():
    code, out, err = run("/usr/bin/healthcheck", "80")
    assert code == 1 and "run me as one of TCP, UDP, TCP6, UDP6" in err
    assert run()[0] == 1


class Broken(io.StringIO):
    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")


def test_broken_output_does_not_change_the_exit_code():
    assert main(["TCP", "80abc"], {}.get, Broken(), Broken()) == 1
    assert main(["TCP", "--help"], {}.get, Broken(), Broken()) == 0


def test_kernel_errors_are_one_line(tmp_path, monkeypatch):
    from healthcheck import kernel

    real = kernel.Source.__init__
    monkeypatch.setattr(kernel.Source, "__init__", lambda self, tool, ports, backend: real(
        self, tool, ports, backend, str(tmp_path)))  # an empty directory stands for /proc
    code, out, err = run("UDP", "53", env={"HEALTHCHECK_BACKEND": "proc"})
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "cannot read %s/net/udp" % tmp_path in err


@pytest.mark.parametrize("argv", [["80abc"], ["--nope"], [], ["1", "2", "3"], ["80", "x"],
                                  ["\udcff"], ["--help"], ["--version"], ["--quiet", "0"]])
@pytest.mark.parametrize("tool", ["TCP", "UDP6"])
def test_console_scripts_exit_0_or_1_without_traceback(tool, argv):
    script = BIN / tool
    if not script.exists():
        pytest.skip("console scripts not installed next to %s" % sys.executable)
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    args = [a.encode("utf-8", "surrogateescape") for a in argv]
    proc = subprocess.run([str(script)] + args, capture_output=True, timeout=30, env=env)
    assert proc.returncode in (0, 1)
    assert b"Traceback" not in proc.stderr
    assert (proc.returncode == 0) == (argv[:1] in (["--help"], ["--version"]))
