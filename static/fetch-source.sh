#!/bin/sh
# Fetch and unpack MicroPython's source from Debian's source package.
#
#   static/fetch-source.sh            -> prints the unpacked source dir
#
# Adds a deb-src entry for trixie that points at the mirror apt already uses
# (read out of the existing apt sources at run time; no host is written in the
# repo), runs apt-get update, downloads the pinned source package and lets
# dpkg-source verify and unpack it. The result is cached under static/.cache/
# and reused on later runs.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${HEALTHCHECK_CACHE:-$HERE/.cache}
PKG=micropython
PIN=${MICROPYTHON_DEB_VERSION:-1.25.0+ds-1}
# accepted when the pinned version is no longer served
ACCEPT='^1\.2[56]\.'

log() { echo "fetch-source: $*" >&2; }

mkdir -p "$CACHE/src"
# already unpacked? (the pinned version, else a fallback fetched earlier)
pinned=$CACHE/src/$PKG-$(echo "$PIN" | sed 's/^[0-9]*://; s/-[^-]*$//')
for d in "$pinned/" "$CACHE/src/$PKG"-*/; do
    if [ -f "$d/ports/unix/main.c" ] && [ -f "$d/.unpacked-ok" ]; then
        echo "${d%/}"; exit 0
    fi
done

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

# --- 1. find the Debian mirror apt already uses --------------------------------
find_uri() {
    # deb822 files: the first URIs of a stanza whose Suites has no "-security"
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk '
            function flush() { if (uri != "" && suites != "" && suites !~ /-security/ && enabled != "no") { print uri; found=1; exit } uri=""; suites=""; enabled="" }
            /^[ \t]*$/ { flush(); next }
            /^#/ { next }
            tolower($1) == "uris:"    { uri = $2 }
            tolower($1) == "suites:"  { suites = $0 }
            tolower($1) == "enabled:" { enabled = tolower($2) }
            END { if (!found) flush() }
        ' "$f"
    done
    # one-line format
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk '
            /^[ \t]*deb(-src)?[ \t]/ {
                i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                if ($(i+1) !~ /-security/) { print $i; exit }
            }' "$f"
    done
}
URI=$(find_uri | grep -i '/debian/*$' | head -n1 || true)
[ -n "$URI" ] || URI=$(find_uri | head -n1)
[ -n "$URI" ] || { log "no Debian mirror found in apt's sources"; exit 1; }
log "using the mirror apt already uses (from the existing apt sources)"

KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
SRCFILE=/etc/apt/sources.list.d/healthcheck-trixie-src.sources
want=$(printf 'Types: deb-src\nURIs: %s\nSuites: trixie\nComponents: main\n' "$URI")
[ -f "$KEYRING" ] && want=$(printf '%s\nSigned-By: %s\n' "$want" "$KEYRING")
if [ ! -f "$SRCFILE" ] || [ "$(cat "$SRCFILE")" != "$want" ]; then
    printf '%s\n' "$want" | $SUDO tee "$SRCFILE" >/dev/null
fi
$SUDO apt-get update -q >&2 || log "apt-get update reported errors; trying anyway"

# dpkg-source comes with dpkg-dev
command -v dpkg-source >/dev/null || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends dpkg-dev >&2

# --- 2. pick the version --------------------------------------------------------
VER=$PIN
if ! apt-cache showsrc "$PKG" 2>/dev/null | grep -qx "Version: $PIN"; then
    VER=$(apt-cache showsrc "$PKG" 2>/dev/null | sed -n 's/^Version: //p' | grep -E "$ACCEPT" | sort -V | tail -n1)
    [ -n "$VER" ] || { log "$PKG $PIN is not served and no 1.25.x/1.26.x is"; exit 1; }
    log "WARNING: $PKG $PIN is not served any more; using $VER"
fi

# --- 3. download and unpack (dpkg-source verifies checksums and signature) ------
DL=$CACHE/deb-src
mkdir -p "$DL"
dsc=$(ls "$DL"/${PKG}_"$(echo "$VER" | sed 's/^[0-9]*://')".dsc 2>/dev/null || true)
if [ -z "$dsc" ]; then
    ( cd "$DL" && apt-get source -q -o APT::Sandbox::User=root --download-only "$PKG=$VER" >&2 )
    dsc=$(ls "$DL"/${PKG}_"$(echo "$VER" | sed 's/^[0-9]*://')".dsc)
fi
upver=$(echo "$VER" | sed 's/^[0-9]*://; s/-[^-]*$//')
dest=$CACHE/src/$PKG-$upver
rm -rf "$dest"
# apt-get source checked the files against the signed Sources index of the
# archive; dpkg-source checks them against the .dsc, and the .dsc's uploader
# signature too when Debian's keyring (package debian-keyring) is installed.
if [ -f /usr/share/keyrings/debian-keyring.gpg ]; then
    dpkg-source --require-valid-signature -x "$dsc" "$dest" >&2
else
    dpkg-source -x "$dsc" "$dest" >&2   # warns: uploader signature not checked
fi
touch "$dest/.unpacked-ok"
echo "$dest"
