"""static/apt-mirror.sh, the one reader of apt's sources (fetch-source.sh and
scripts/base-image.sh call it): run against apt trees in temporary
directories (APT_ROOT), under each awk the machine has, and once against the
machine's own /etc/apt. The hosts are of the reserved .test domain."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "static" / "apt-mirror.sh"
AWKS = [a for a in ("mawk", "gawk", "busybox") if shutil.which(a)] or ["awk"]

DEBIAN_SOURCES = """\
Types: deb
# a dated snapshot, kept as a comment inside the stanza
URIs: http://mirror.test/debian/
Suites: trixie trixie-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.test/debian-security
Suites: trixie-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


@pytest.fixture(params=AWKS)
def apt(request, tmp_path):
    """apt(files) -> run(*args): the script over an etc/apt made of files
    (path under etc/apt -> text), with the awk of this parameter first in PATH."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    if request.param != "awk":
        os.symlink(shutil.which(request.param), bindir / "awk")

    def make(files: dict[str, str]):
        root = Path(tempfile.mkdtemp(dir=tmp_path))
        etc = root / "etc" / "apt"
        (etc / "sources.list.d").mkdir(parents=True)
        for rel, text in files.items():
            (etc / rel).write_text(text)

        def run(*args: str) -> subprocess.CompletedProcess:
            env = dict(os.environ, APT_ROOT=str(root),
                       PATH="%s:%s" % (bindir, os.environ["PATH"]))
            return subprocess.run(["sh", str(SCRIPT), *args], env=env, capture_output=True, text=True,
                                  timeout=30, stdin=subprocess.DEVNULL)
        return run
    return make


def found(cp: subprocess.CompletedProcess) -> str:
    assert cp.returncode == 0 and cp.stderr == "", cp
    assert cp.stdout.count("\n") == 1, cp.stdout
    return cp.stdout.strip()


def none(cp: subprocess.CompletedProcess) -> None:
    assert cp.returncode == 1 and cp.stdout == "" and cp.stderr == "", cp


def test_deb822_main_and_security(apt):
    run = apt({"sources.list.d/debian.sources": DEBIAN_SOURCES})
    assert found(run()) == "http://mirror.test/debian"
    assert found(run("--security")) == "http://mirror.test/debian-security"


def test_one_line_with_options_and_comments(apt):
    run = apt({"sources.list": (
        "# deb http://commented.test/debian trixie main\n"
        "#deb http://commented.test/debian trixie main\n"
        "deb cdrom:[Debian GNU/Linux 13.0.0 _Trixie_ - Official amd64 DVD Binary-1]/ trixie main\n"
        "deb [ arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg ] "
        "http://security.test/debian-security trixie-security main\n"
        "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
        "http://mirror.test/debian trixie main # the archive\n")})
    assert found(run()) == "http://mirror.test/debian"
    assert found(run("--security")) == "http://security.test/debian-security"


def test_disabled_and_commented_stanzas_do_not_count(apt):
    run = apt({"sources.list.d/debian.sources": (
        "# Types: deb\n"
        "# URIs: http://commented.test/debian\n"
        "# Suites: trixie\n"
        "\n"
        "Types: deb\n"
        "URIs: http://disabled.test/debian\n"
        "Suites: trixie\n"
        "Enabled: no\n"
        "\n"
        "Types: deb\n"
        "URIs: http://mirror.test/debian\n"
        "Suites: trixie\n"
        "Enabled: yes\n")})
    assert found(run()) == "http://mirror.test/debian"


def test_folded_fields_and_an_inline_key(apt):
    # Continuation lines belong to the field above them: a key block's lines
    # are not fields, a folded URIs value is still read.
    run = apt({"sources.list.d/debian.sources": (
        "Types: deb\n"
        "URIs:\n"
        " http://mirror.test/debian\n"
        "Suites: trixie\n"
        "Signed-By:\n"
        " -----BEGIN PGP PUBLIC KEY BLOCK-----\n"
        " .\n"
        " URIs: http://in-the-key.test/debian\n"
        " -----END PGP PUBLIC KEY BLOCK-----\n")})
    assert found(run()) == "http://mirror.test/debian"


def test_a_deb_src_only_entry_is_an_archive_too(apt):
    run = apt({"sources.list.d/debian.sources": "Types: deb-src\nURIs: http://src.test/debian\nSuites: trixie\n"})
    assert found(run()) == "http://src.test/debian"
    run = apt({"sources.list": "deb-src http://src.test/debian trixie main\n"
                               "deb http://mirror.test/debian trixie main\n"})
    assert found(run()) == "http://mirror.test/debian"


def test_the_debian_archive_wins_over_a_repository_listed_before_it(apt):
    third = "Types: deb\nURIs: https://vendor.test/apt\nSuites: stable\nComponents: main\n"
    run = apt({"sources.list.d/a-vendor.sources": third,
               "sources.list.d/debian.sources": DEBIAN_SOURCES})
    assert found(run()) == "http://mirror.test/debian"


def test_without_a_debian_path_the_first_entry(apt):
    run = apt({"sources.list": "deb http://first.test/archive trixie main\n",
               "sources.list.d/zz.list": "deb http://second.test/archive trixie main\n"})
    assert found(run()) == "http://first.test/archive"


def test_apts_order(apt):
    # sources.list first, then sources.list.d/ by name.
    run = apt({"sources.list": "deb file:/srv/mirror/debian/ trixie main\n",
               "sources.list.d/02.sources": DEBIAN_SOURCES.replace("mirror.test", "other.test"),
               "sources.list.d/01.list": "deb http://security.test/debian-security trixie-security main\n"})
    assert found(run()) == "file:/srv/mirror/debian"
    assert found(run("--security")) == "http://security.test/debian-security"


def test_names_apt_ignores_are_ignored(apt):
    run = apt({"sources.list.d/00.list.save": "deb http://saved.test/debian trixie main\n",
               "sources.list.d/01.sources.disabled": DEBIAN_SOURCES,
               "sources.list.d/02.list": "deb http://vendor.test/apt stable main\n"})
    assert found(run()) == "http://vendor.test/apt"
    none(run("--security"))


def test_a_stanza_ends_with_its_file(apt):
    # The last stanza of a file need not end with a blank line; it does not
    # run on into the next file's first one.
    run = apt({"sources.list.d/a.sources": "Types: deb\nURIs: http://off.test/debian\nSuites: trixie\nEnabled: no",
               "sources.list.d/b.sources": DEBIAN_SOURCES})
    assert found(run()) == "http://mirror.test/debian"


def test_none(apt):
    none(apt({})())


def test_none_when_only_security_disabled_or_unusable(apt):
    run = apt({"sources.list": "# deb http://mirror.test/debian trixie main\n"
                               "deb cdrom:[Debian]/ trixie main\n"
                               "deb http://security.test/debian-security trixie-security main\n"
                               "deb http://old.test/debian-security buster/updates main\n",
               "sources.list.d/debian.sources": "Types: deb\nURIs: http://mirror.test/debian\n"
                                                "Suites: trixie\nEnabled: no\n"})
    none(run())
    assert found(run("--security")) == "http://security.test/debian-security"


def test_bad_argument(apt):
    cp = apt({"sources.list.d/debian.sources": DEBIAN_SOURCES})("--nope")
    assert cp.returncode == 1 and cp.stdout == "" and cp.stderr.count("\n") == 1, cp


def test_this_machines_apt():
    # The URI printed is one written in apt's sources here (without its
    # trailing slash); a machine whose apt names no archive gets exit 1.
    etc = Path("/etc/apt")
    texts = [p.read_text(errors="replace") for p in [etc / "sources.list", *sorted(etc.glob("sources.list.d/*"))]
             if p.is_file() and p.name.endswith((".list", ".sources"))]
    cp = subprocess.run(["sh", str(SCRIPT)], capture_output=True, text=True, timeout=30,
                        env={k: v for k, v in os.environ.items() if k != "APT_ROOT"})
    uris = set(u.rstrip("/") for u in re.findall(r"(?:https?|file):\S+", "\n".join(texts)))
    if cp.returncode == 1:
        assert cp.stdout == "" and not any(u.endswith("/debian") for u in uris), (cp, uris)
    else:
        assert found(cp) in uris
