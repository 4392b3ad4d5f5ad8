"""README.md, "Using a release": its install snippet, run on a release's
assets (stand-in bytes under the release's file names), makes the folder
`make dist` makes: TCP and healthcheck-tls, and a link for every tool of
healthcheck.tools.NAMES (and healthcheck) pointing to the binary that
answers it. A tool added to the package without a link in the snippet
fails here."""

from __future__ import annotations

import hashlib
import os
import re

from .conftest import ALL_LINKS, BINARIES, REPO, TLS_BINARY, link_target, run


def snippet() -> str:
    text = (REPO / "README.md").read_text()
    section = text[text.index("\n## Using a release\n"):]
    section = section[:section.index("\n## ", 1)]
    blocks = [b for b in re.findall(r"```sh\n(.*?)```", section, re.S) if "install -D" in b]
    assert len(blocks) == 1, "README.md, Using a release: not one ```sh block with install -D"
    return blocks[0]


def test_install_snippet_makes_the_dist_folder(tmp_path):
    assets = {"healthcheck-linux-arm64": b"TCP stand-in\n", "healthcheck-tls-linux-arm64": b"TLS stand-in\n"}
    for name, data in assets.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "SHA256SUMS").write_text("".join("%s  %s\n" % (hashlib.sha256(d).hexdigest(), n)
                                                 for n, d in assets.items()))
    root = tmp_path / "root"
    script = snippet().replace(" /healthcheck/", " %s/healthcheck/" % root)
    assert "/healthcheck/" not in script.replace("%s/healthcheck/" % root, ""), script
    cp = run(["sh", "-eu", "-c", script], cwd=tmp_path)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    folder = root / "healthcheck"
    assert sorted(os.listdir(folder)) == sorted(list(BINARIES) + list(ALL_LINKS))
    assert (folder / "TCP").read_bytes() == assets["healthcheck-linux-arm64"]
    assert (folder / TLS_BINARY).read_bytes() == assets["healthcheck-tls-linux-arm64"]
    for binary in BINARIES:
        assert os.stat(folder / binary).st_mode & 0o777 == 0o755
    assert {t: os.readlink(folder / t) for t in ALL_LINKS} == {t: link_target(t) for t in ALL_LINKS}
