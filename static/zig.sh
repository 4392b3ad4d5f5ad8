#!/bin/sh
# Install the one compiler of the static build and print its path:
#
#   static/zig.sh            -> .../zig-venv/lib/python3.X/site-packages/ziglang/zig
#
# zig comes from the PyPI package ziglang, pinned by version and sha256 in
# static/zig-requirements.txt. The wheel is kept in $HEALTHCHECK_CACHE/wheels
# (the Dockerfile's build stage gets the same file through its context, so
# host and image build with the very same compiler) and installed from there
# with --require-hashes into a venv under the cache.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${HEALTHCHECK_CACHE:-$HERE/.cache}
REQ=$HERE/zig-requirements.txt
ZVENV=$CACHE/zig-venv
WHEELS=$CACHE/wheels
log() { echo "zig.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

REQ_ID=$(sha256sum < "$REQ" | cut -c1-16)
if [ "$(cat "$ZVENV/.req-ok" 2>/dev/null)" != "$REQ_ID" ]; then
    command -v python3 >/dev/null 2>&1 || die "python3 not found (Debian package python3)"
    python3 -c 'import venv, ensurepip' 2>/dev/null || die "python3 cannot make a venv: install the Debian package python3-venv"
    rm -rf "$ZVENV"
    python3 -m venv "$ZVENV" >&2
    pip() { "$ZVENV/bin/pip" -q --disable-pip-version-check "$@"; }
    # The kept wheel first (no network); else PyPI, hash-checked all the same.
    if ! pip install --no-index --find-links "$WHEELS" --no-deps --require-hashes -r "$REQ" >/dev/null 2>&1; then
        log "downloading ziglang (static/zig-requirements.txt, --require-hashes)"
        mkdir -p "$WHEELS"
        pip download --no-deps --require-hashes -r "$REQ" -d "$WHEELS" >&2 \
            || die "pip download --require-hashes -r $REQ failed"
        pip install --no-index --find-links "$WHEELS" --no-deps --require-hashes -r "$REQ" >&2 \
            || die "pip install --require-hashes -r $REQ failed"
    fi
    echo "$REQ_ID" > "$ZVENV/.req-ok"
fi
ZIG=$(echo "$ZVENV"/lib/python3*/site-packages/ziglang/zig)
[ -x "$ZIG" ] || die "zig not found in $ZVENV"
echo "$ZIG"
