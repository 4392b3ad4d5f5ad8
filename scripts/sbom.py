#!/usr/bin/env python3
"""The SBOM of each built platform: what went into its binaries, as SPDX 2.3 JSON.

    scripts/sbom.py [DIST]    # -> DIST/linux-ARCH/healthcheck.spdx.json for every
                              #    DIST/linux-ARCH/healthcheck/TCP (DIST: dist/)

`make dist` runs it after static/dist.sh. The document sits beside the
healthcheck/ folder, not in it: users copy that folder whole, and the image
holds only it. It lists, for the binaries of one platform (TCP, and
healthcheck-tls when it was built):

  - this package (healthcheck): its version (src/healthcheck/__init__.py), its
    git revision and, when known, its repository;
  - every Debian source package pinned by a static/**/*.sha256 file, by name,
    Debian version and the sha256 of its .dsc (the files the build took are
    in the comment). A pin directly in static/ went into every binary, one
    under static/tls/ into healthcheck-tls only;
  - the compiler, PyPI's ziglang at the version and wheel hashes of
    static/zig-requirements.txt, and the musl it bundles (its version read
    from the installed zig), which every binary links statically.

Only the standard library. The same commit and binaries give the same bytes:
the creation time is the commit's (SOURCE_DATE_EPOCH), the namespace a hash
of the binaries.

Environment: HEALTHCHECK_DIST (default dist/), HEALTHCHECK_REVISION (default:
git's HEAD), HEALTHCHECK_SOURCE (the repository's https URL, default none),
SOURCE_DATE_EPOCH (default: the commit's time), HEALTHCHECK_CACHE (where
static/zig.sh keeps zig).
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STATIC = REPO / "static"
AUTHORS = "the healthcheck authors"
# Binaries of a platform dir: the main one, and the TLS one when built.
BINARIES = ("TCP", "healthcheck-tls")
# Which pins go into which binary: a pin's folder under static/ -> binaries.
PIN_SCOPE = {"": BINARIES, "tls": ("healthcheck-tls",)}
# What each pinned Debian source package is, upstream (licenses as SPDX
# expressions; Debian's copyright files list the same).
UPSTREAM = {
    "micropython": ("MIT", "https://micropython.org"),
    "mbedtls": ("Apache-2.0 OR GPL-2.0-or-later", "https://www.trustedfirmware.org/projects/mbed-tls/"),
}


class SbomError(Exception):
    pass


def sha(algorithm, path):
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def spdx_id(text):
    """SPDX ids allow letters, digits, '.' and '-' only."""
    return re.sub(r"[^A-Za-z0-9.-]", "-", text)


def git(*args):
    try:
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def package_version():
    m = re.search(r'^__version__ = "([^"]+)"', (REPO / "src" / "healthcheck" / "__init__.py").read_text(), re.M)
    if not m:
        raise SbomError("no __version__ in src/healthcheck/__init__.py")
    return m.group(1)


def copyright_line():
    for line in (REPO / "LICENSE").read_text().splitlines():
        if line.startswith("Copyright"):
            return line.strip()
    raise SbomError("no Copyright line in LICENSE")


def debian_pins():
    """Every static/**/*.sha256 -> (scope folder, package, Debian version,
    upstream version, [(file, sha256)], the .dsc's sha256, the pin file,
    [(patch, sha256)])."""
    pins = []
    for path in sorted(STATIC.rglob("*.sha256")):
        if ".cache" in path.relative_to(STATIC).parts:
            continue
        files = [tuple(line.split()[::-1]) for line in path.read_text().splitlines() if line.strip()]
        dsc = [(name, digest) for name, digest in files if name.endswith(".dsc")]
        if len(dsc) != 1 or any(len(digest) != 64 for _, digest in files):
            raise SbomError("%s: not one .dsc and sha256 sums" % path)
        name, version = dsc[0][0][:-len(".dsc")].split("_", 1)
        # 1.25.0+ds-1 -> 1.25.0; 3.6.6-0.1~deb13u1 -> 3.6.6 (epoch, Debian
        # revision and the repack suffix off)
        upstream = re.sub(r"\+(ds|dfsg)\d*$", "", version.split(":")[-1].rsplit("-", 1)[0])
        scope = str(path.parent.relative_to(STATIC)).replace(".", "")
        if scope not in PIN_SCOPE:
            raise SbomError("%s: no binary is known to take pins from static/%s/ (PIN_SCOPE)" % (path, scope))
        # Its patches: NAME-*.patch beside the pin (static/micropython-tool-mode.patch)
        patches = [(q.relative_to(REPO), sha("sha256", q)) for q in sorted(path.parent.glob(name + "-*.patch"))]
        pins.append((scope, name, version, upstream, files, dsc[0][1], path.relative_to(REPO), patches))
    if not pins:
        raise SbomError("no static/**/*.sha256 pin found")
    return pins


def zig_pin():
    """static/zig-requirements.txt -> (version, [sha256 of each wheel])."""
    text = (STATIC / "zig-requirements.txt").read_text()
    m = re.search(r"^ziglang==(\S+)", text, re.M)
    hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", text)
    if not m or not hashes:
        raise SbomError("static/zig-requirements.txt: no ziglang==VERSION with --hash=sha256:")
    return m.group(1), hashes


def zig_musl(want_version):
    """The installed zig's version and its bundled musl's: static/zig.sh
    prints the zig the build used (installing it from the pin if needed)."""
    zig = subprocess.run(["sh", str(STATIC / "zig.sh")], capture_output=True, text=True)
    if zig.returncode != 0:
        raise SbomError("static/zig.sh failed: %s" % zig.stderr.strip())
    zig = Path(zig.stdout.strip())
    version = subprocess.run([str(zig), "version"], capture_output=True, text=True).stdout.strip()
    if version != want_version:
        raise SbomError("zig %s says its version is %r, static/zig-requirements.txt pins %s" % (zig, version,
                                                                                                 want_version))
    header = zig.parent / "lib" / "libc" / "musl" / "src" / "internal" / "version.h"
    m = re.search(r'#define VERSION "([^"]+)"', header.read_text() if header.is_file() else "")
    if not m:
        raise SbomError("no musl version in %s" % header)
    return m.group(1)


def purl_deb(name, version):
    return "pkg:deb/debian/%s@%s?arch=source" % (name, urllib.parse.quote(version, safe=""))


def document(arch_dir, ctx):
    """The SPDX 2.3 document (a dict) of the binaries in arch_dir/healthcheck/."""
    arch = arch_dir.name[len("linux-"):]
    bindir = arch_dir / "healthcheck"
    present = [b for b in BINARIES if (bindir / b).is_file() and not (bindir / b).is_symlink()]
    links = sorted(p.name for p in bindir.iterdir() if p.is_symlink())
    version, revision = ctx["version"], ctx["revision"]
    files, relationships = [], []
    top = "SPDXRef-Package-healthcheck"
    for b in present:
        fid = "SPDXRef-File-" + spdx_id(b)
        names = [n for n in links if os.readlink(bindir / n) == b]
        files.append({
            "SPDXID": fid,
            "fileName": "./healthcheck/" + b,
            "checksums": [{"algorithm": "SHA1", "checksumValue": sha("sha1", bindir / b)},
                          {"algorithm": "SHA256", "checksumValue": sha("sha256", bindir / b)}],
            "fileTypes": ["BINARY"],
            "licenseConcluded": "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "comment": "static ELF for linux/%s%s" % (
                arch.replace("-", "/"), "; symlinks to it: " + ", ".join(names) if names else ""),
        })
        relationships.append((top, "CONTAINS", fid))
    if not present:
        raise SbomError("%s: no binary" % bindir)

    source = ctx["source"]
    packages = [{
        "SPDXID": top,
        "name": "healthcheck",
        "versionInfo": version,
        "supplier": "Organization: " + AUTHORS,
        "downloadLocation": "git+%s@%s" % (source, revision) if source and revision else "NOASSERTION",
        "sourceInfo": "git revision %s" % (revision or "unknown"),
        "filesAnalyzed": True,
        "packageVerificationCode": {"packageVerificationCodeValue": hashlib.sha1("".join(sorted(
            f["checksums"][0]["checksumValue"] for f in files)).encode()).hexdigest()},
        "licenseConcluded": "MIT",
        "licenseDeclared": "MIT",
        "licenseInfoFromFiles": ["NOASSERTION"],
        "copyrightText": ctx["copyright"],
        "primaryPackagePurpose": "APPLICATION",
        "comment": "health-check tools for containers, %s, as built by `make dist`: MicroPython with this "
                   "package frozen in, statically linked" % arch_dir.name,
    }]
    if source:
        packages[0]["homepage"] = source

    for scope, name, deb_version, upstream, pinned, dsc_sha, pin_file, patches in ctx["pins"]:
        users = [f["SPDXID"] for f in files if f["fileName"].rsplit("/", 1)[1] in PIN_SCOPE[scope]]
        if not users:
            continue
        license_, homepage = UPSTREAM.get(name, ("NOASSERTION", None))
        pid = "SPDXRef-Package-" + spdx_id(name)
        pkg = {
            "SPDXID": pid,
            "name": name,
            "versionInfo": upstream,
            "supplier": "Organization: Debian",
            "downloadLocation": "NOASSERTION",
            "packageFileName": "%s_%s.dsc" % (name, deb_version),
            "checksums": [{"algorithm": "SHA256", "checksumValue": dsc_sha}],
            "sourceInfo": "Debian source package %s %s, pinned by %s: %s%s" % (
                name, deb_version, pin_file, ", ".join("%s sha256 %s" % f for f in pinned),
                "; patched by " + ", ".join("%s (sha256 %s)" % q for q in patches) if patches else ""),
            "filesAnalyzed": False,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": license_,
            "copyrightText": "NOASSERTION",
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                              "referenceLocator": purl_deb(name, deb_version)}],
            "primaryPackagePurpose": "SOURCE",
        }
        if homepage:
            pkg["homepage"] = homepage
        packages.append(pkg)
        relationships += [(u, "STATIC_LINK", pid) for u in users]

    zig_version, wheel_hashes = ctx["zig"]
    packages.append({
        "SPDXID": "SPDXRef-Package-ziglang",
        "name": "ziglang",
        "versionInfo": zig_version,
        "supplier": "NOASSERTION",
        "downloadLocation": "https://pypi.org/project/ziglang/%s/" % zig_version,
        "sourceInfo": "PyPI wheel pinned by static/zig-requirements.txt (pip --require-hashes); the build "
                      "machine takes the wheel of its own CPU, sha256 one of: " + ", ".join(wheel_hashes),
        "filesAnalyzed": False,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "MIT",
        "copyrightText": "NOASSERTION",
        "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                          "referenceLocator": "pkg:pypi/ziglang@%s" % zig_version}],
        "primaryPackagePurpose": "APPLICATION",
        "comment": "zig cc: the one compiler and linker of every binary",
    })
    packages.append({
        "SPDXID": "SPDXRef-Package-musl",
        "name": "musl",
        "versionInfo": ctx["musl"],
        "supplier": "NOASSERTION",
        "downloadLocation": "NOASSERTION",
        "sourceInfo": "the musl libc bundled in ziglang %s (lib/libc/musl)" % zig_version,
        "filesAnalyzed": False,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "MIT",
        "copyrightText": "NOASSERTION",
        "homepage": "https://musl.libc.org",
        "primaryPackagePurpose": "LIBRARY",
    })
    relationships.append(("SPDXRef-Package-ziglang", "BUILD_TOOL_OF", top))
    relationships.append(("SPDXRef-Package-ziglang", "CONTAINS", "SPDXRef-Package-musl"))
    relationships += [(f["SPDXID"], "STATIC_LINK", "SPDXRef-Package-musl") for f in files]

    digest = hashlib.sha256("".join(f["checksums"][1]["checksumValue"] for f in files).encode()).hexdigest()
    name = "healthcheck-%s-%s" % (version, arch_dir.name)
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": "https://spdx.org/spdxdocs/%s-%s" % (name, digest[:32]),
        "creationInfo": {
            "created": ctx["created"],
            "creators": ["Tool: healthcheck-scripts-sbom.py-%s" % version, "Organization: " + AUTHORS],
        },
        "documentDescribes": [top],
        "packages": packages,
        "files": files,
        "relationships": [{"spdxElementId": a, "relationshipType": t, "relatedSpdxElement": b}
                          for a, t, b in [("SPDXRef-DOCUMENT", "DESCRIBES", top)] + relationships],
    }


def main(argv):
    if len(argv) > 2 or argv[1:2] in (["-h"], ["--help"]):
        print("usage: scripts/sbom.py [DIST]: DIST/linux-ARCH/healthcheck.spdx.json for each DIST/linux-ARCH/",
              file=sys.stderr)
        return 1 if len(argv) > 2 else 0
    dist = Path(argv[1] if len(argv) > 1 else os.environ.get("HEALTHCHECK_DIST") or REPO / "dist")
    arch_dirs = sorted(d for d in dist.glob("linux-*") if (d / "healthcheck" / "TCP").is_file())
    try:
        if not arch_dirs:
            raise SbomError("no %s/linux-*/healthcheck/TCP: run static/dist.sh (make dist) first" % dist)
        epoch = os.environ.get("SOURCE_DATE_EPOCH") or git("log", "-1", "--format=%ct") or "0"
        zig_version, wheel_hashes = zig_pin()
        revision = os.environ.get("HEALTHCHECK_REVISION")
        ctx = {
            "version": package_version(),
            "revision": git("rev-parse", "HEAD") if revision is None else revision,
            "source": os.environ.get("HEALTHCHECK_SOURCE", ""),
            "copyright": copyright_line(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch))),
            "pins": debian_pins(),
            "zig": (zig_version, wheel_hashes),
            "musl": zig_musl(zig_version),
        }
        for d in arch_dirs:
            out = d / "healthcheck.spdx.json"
            text = json.dumps(document(d, ctx), indent=2) + "\n"
            tmp = out.with_name(out.name + ".tmp")
            tmp.write_text(text)
            tmp.replace(out)
            print("sbom: %s" % out)
    except SbomError as e:
        print("sbom: ERROR: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
