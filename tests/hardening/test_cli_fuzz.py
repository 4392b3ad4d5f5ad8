"""Thousands of random command lines against the real processes of every
build, under every tool name of healthcheck.tools.NAMES (also in other
letter cases), `healthcheck` and a renamed copy, with arguments that are
often not UTF-8: exit code 0 or 1, no traceback, one short line unless
--debug/--help, nothing over a few seconds, and (in a namespace with known
listeners) the same exit code as the in-process CPython cli.main() and the
known answers of fuzz_runner.FACTS.

The vectors come from a seeded generator (fuzz_runner.vector(seed, i)):
HEALTHCHECK_FUZZ_SEED picks another seed, HEALTHCHECK_FUZZ_COUNT another count. A failure
lists the vector's index, so `vector(seed, i)` reproduces it alone."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from healthcheck.tools import NAMES
from tests import harness
from tests.harness import IN_CI, clean_env

from .fuzz_runner import LISTENERS, RENAMED, UNIX_LISTENERS, case_variants

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SEED = int(os.environ.get("HEALTHCHECK_FUZZ_SEED", "20240505"))
COUNT = int(os.environ.get("HEALTHCHECK_FUZZ_COUNT", "2000"))
HANG = 5.0  # seconds: a hang detector, not a performance claim


def program_names(build, where):
    """The names the fuzz starts `build` under that it does not ship: every
    tool's name in other letter cases and a renamed copy; and those of
    tools.NAMES it lacks (a stale build), as links to its multi-call
    program, so the fuzz runs them all -> (where, the names it lacks)."""
    where.mkdir()
    lacks = [name for name in NAMES if not build.path(name).exists()]
    for name in NAMES:
        target = build.path("healthcheck" if name in lacks else name)
        for variant in case_variants(name) + ([name] if name in lacks else []):
            (where / variant).symlink_to(target)
    shutil.copy(build.path("healthcheck"), where / RENAMED)  # the binary itself, or the console script
    return where, lacks


def run_fuzz(build, count, tmp_path):
    cwd = tmp_path / "cwd"  # the unix socket files; the tools' working directory
    cwd.mkdir()
    assert b"@" not in bytes(cwd)  # the holder's hex: names take their first "@" as the abstract NUL
    names, lacks = program_names(build, tmp_path / "names")
    job = {"argv_prefix": build.wrapper, "bin_dir": str(build.bin_dir), "names_dir": str(names), "cwd": str(cwd),
           "seed": SEED, "count": count, "workers": 2, "timeout": HANG, "listen": False,
           "no_netlink": bool(build.wrapper)}
    # Not the `ns` fixture: without root the fuzz still runs, only without
    # known listeners and the oracle.
    prefix, space = [], None
    if os.geteuid() == 0:
        space = harness.Netns(peer=False)
        h = space.holder()
        for kind, family, addr, port, v6only in LISTENERS:
            h.open(kind, family, addr, port, **({} if v6only is None else {"v6only": v6only}))
        for kind, name, listens in UNIX_LISTENERS:
            where = name if name[:1] == b"@" else bytes(cwd) + b"/" + name
            h.unix(kind, "hex:" + where.hex(), **({} if listens else {"nolisten": 1}))
        prefix = space.prefix
        job["listen"] = True
    elif IN_CI:
        pytest.fail("CI=true: the CLI fuzz runs as root in a network namespace")
    try:
        proc = subprocess.run(prefix + [sys.executable, str(HERE / "fuzz_runner.py")], input=json.dumps(job),
                              capture_output=True, text=True, cwd=str(ROOT), env=clean_env(), timeout=1800)
    finally:
        if space is not None:
            space.delete()
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    print("%s: %d vectors (seed %d), max %.3fs, median %.3fs, %d failures"
          % (build.name, result["count"], SEED, result["max_seconds"], result["median_seconds"],
             result["nfailures"]))
    assert result["count"] == count
    assert result["nfailures"] == 0, json.dumps(result["failures"][:10], indent=1)
    assert result["max_seconds"] < HANG
    if lacks:
        harness.missing("the %s build at %s has no %s: fuzzed through links to its `healthcheck` "
                        "(make venv / make dist)" % (build.name, build.bin_dir, ", ".join(lacks)))


def test_cli_fuzz(build, tmp_path):
    run_fuzz(build, COUNT, tmp_path)


def test_cli_fuzz_other_arch_under_qemu(tmp_path):
    """The other architecture's binary (arm64 on amd64: unsigned char,
    other alignment) under qemu-user, where /proc answers: fewer vectors,
    qemu start-up is slow."""
    run_fuzz(harness.build("qemu"), max(COUNT // 4, 1), tmp_path)


def test_long_valid_arguments(build, ns):
    """A ports list of a few hundred bytes (every port listening) is a
    valid question and must be answered 0; a 100 KB address is a usage
    error, one short line."""
    h = ns.holder()
    ports = [h.open("tcp", 4, "127.0.0.1")[1] for _ in range(70)]
    arg = ",".join(str(p) for p in ports)
    assert len(arg) > 300
    for extra in ([], ["127.0.0.1"], ["--quiet"]):
        res = ns.run(build.argv("TCP", arg, *extra), env=clean_env())
        assert res.rc == 0 and "Traceback" not in res.err and len(res.out + res.err) < 400, (extra, res)
    res = ns.run(build.argv("TCP", "%d,%s" % (ports[0], ",".join(["1"] * 500))), env=clean_env())
    assert res.rc == 1 and "not listening" in res.err, res
    res = ns.run(build.argv("TCP", ports[0], "1" * 100000), env=clean_env())
    assert res.rc == 1 and res.err.startswith("TCP: bad address '111") and len(res.err) < 300, res
