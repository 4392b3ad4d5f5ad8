#!/bin/sh
# Fetch and unpack MicroPython's source: Debian's source package, exact version.
#
#   static/fetch-source.sh            -> prints the unpacked source dir
#   static/fetch-source.sh SUMS       -> the same for the source package SUMS pins
#                                        (static/tls/mbedtls.sha256: mbedTLS, for healthcheck-tls)
#
# The pin is static/micropython.sha256: the .dsc, the orig tarball and the
# Debian tarball of micropython 1.25.0+ds-1, each with its sha256. Each file is
# downloaded from the pool of the Debian mirror that apt already uses (read out
# of apt's sources at run time by apt-mirror.sh, so no host name lives in the
# repo; or HEALTHCHECK_DEBIAN_MIRROR), checked against that sum, and unpacked
# with dpkg-source, which checks them against the .dsc once more. Nothing on
# the host is changed: no apt source is written, no apt-get update is run. A
# file that is not served or whose sum differs stops the build: there is no
# fallback version.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${HEALTHCHECK_CACHE:-$HERE/.cache}
SUMS=${1:-$HERE/micropython.sha256}

log() { echo "fetch-source: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ -r "$SUMS" ] || die "missing $SUMS (the pinned sums of the source package)"
SUMS=$(cd "$(dirname "$SUMS")" && pwd)/$(basename "$SUMS")  # read again from the download dir
DSC=$(awk '$2 ~ /\.dsc$/ { print $2 }' "$SUMS")
[ -n "$DSC" ] || die "$SUMS names no .dsc"
# TLS hook (static/tls/): the package is the .dsc's name, its pool dir Debian's
# (first letter; lib* packages by their first four).
PKG=${DSC%%_*}
case $PKG in lib*) POOLDIR=$(echo "$PKG" | cut -c1-4)/$PKG ;; *) POOLDIR=$(echo "$PKG" | cut -c1)/$PKG ;; esac
# micropython_1.25.0+ds-1.dsc -> 1.25.0+ds
UPVER=$(echo "$DSC" | sed "s/^${PKG}_//; s/\.dsc\$//; s/-[^-]*\$//")
PIN_ID=$(sha256sum < "$SUMS" | cut -c1-16)
dest=$CACHE/src/$PKG-$UPVER

if [ -f "$dest/.unpacked-ok" ] && [ "$(cat "$dest/.unpacked-ok")" = "$PIN_ID" ]; then
    echo "$dest"; exit 0
fi

command -v python3 >/dev/null || die "python3 not found (Debian package python3; scripts/deps.sh installs it)"
command -v dpkg-source >/dev/null || die "dpkg-source not found (Debian package dpkg-dev; scripts/deps.sh installs it)"
command -v xz >/dev/null || die "xz not found (Debian package xz-utils; scripts/deps.sh installs it)"
if grep -q '\.bz2$' "$SUMS"; then  # mbedTLS's orig tarball
    command -v bzip2 >/dev/null || die "bzip2 not found (Debian package bzip2; scripts/deps.sh installs it)"
fi

DL=$CACHE/deb-src
mkdir -p "$DL"
# Files already downloaded and matching their pinned sum are kept; the rest
# are fetched. python3 does the HTTP and the check: no curl/wget needed.
URI=${HEALTHCHECK_DEBIAN_MIRROR:-}
if [ -z "$URI" ] && ! (cd "$DL" && sha256sum --quiet -c "$SUMS" >/dev/null 2>&1); then
    URI=$(sh "$HERE/apt-mirror.sh") \
        || die "no Debian mirror in apt's sources; set HEALTHCHECK_DEBIAN_MIRROR to a Debian archive URI"
    log "downloading from the pool of the mirror apt uses (from apt's sources)"
fi
python3 - "$SUMS" "$DL" "${URI%/}/pool/main/$POOLDIR" <<'PYEOF' || exit 1
import hashlib, os, sys, urllib.error, urllib.request

sums, dl, pool = sys.argv[1:4]

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()

for line in open(sums):
    if not line.strip() or line.startswith("#"):
        continue
    want, name = line.split()
    path = os.path.join(dl, name)
    if os.path.exists(path) and sha256(path) == want:
        continue
    url = pool + "/" + name
    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(path + ".part", "wb") as out:
            while True:
                chunk = r.read(1 << 20)
                if not chunk:
                    break
                out.write(chunk)
    except (urllib.error.URLError, OSError) as e:
        sys.exit("fetch-source: ERROR: %s is not available from the mirror (%s); the pin is exact "
                 "(%s), no other version is taken. A mirror that no longer serves it: set "
                 "HEALTHCHECK_DEBIAN_MIRROR to another Debian mirror, or to an archive of past "
                 "uploads that keeps the pool/ layout (a dated Debian snapshot)" % (name, e, sums))
    got = sha256(path + ".part")
    if got != want:
        os.unlink(path + ".part")
        sys.exit("fetch-source: ERROR: sha256 mismatch for %s: expected %s, got %s; "
                 "not using it" % (name, want, got))
    os.replace(path + ".part", path)
PYEOF
(cd "$DL" && sha256sum --quiet --strict -c "$SUMS") || die "downloaded files do not match $SUMS"

rm -rf "$dest" "$dest.tmp"
mkdir -p "$CACHE/src"
# The sums above are the trust anchor; dpkg-source re-checks the tarballs
# against the .dsc and applies Debian's patches (its missing-signature warning
# is expected: the .dsc is pinned by hash instead).
dpkg-source --no-copy -x "$DL/$DSC" "$dest.tmp" >&2
echo "$PIN_ID" > "$dest.tmp/.unpacked-ok"
mv "$dest.tmp" "$dest"
echo "$dest"
