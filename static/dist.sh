#!/bin/sh
# Build the static binaries for every platform the image ships:
#
#   static/dist.sh            -> dist/linux-amd64/healthcheck/{TCP,UDP,TCP6,UDP6}
#                               dist/linux-arm64/healthcheck/{TCP,UDP,TCP6,UDP6}
#
# Each TCP is a static MicroPython with the healthcheck package frozen in (see
# static/README.md); the other three names are symlinks to it. After building,
# each binary is smoke-tested: natively, or under qemu-user when the machine has
# it (netlink sock_diag is not emulated there; the package falls back to /proc).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
DIST=${DIST:-$REPO/dist}
HOST=$(dpkg --print-architecture)

for arch in ${ARCHES:-amd64 arm64}; do
    out=$DIST/linux-$arch/healthcheck
    "$HERE/static.sh" "$arch" "$out"
    run=
    if [ "$arch" != "$HOST" ]; then
        case $arch in amd64) q=qemu-x86_64-static ;; arm64) q=qemu-aarch64-static ;; esac
        if command -v "$q" >/dev/null 2>&1; then run=$q; else
            echo "dist.sh: $q not found: $arch binary built but not run" >&2; continue
        fi
    fi
    # --version must print and exit 0; a port nobody listens on must exit 1.
    $run "$out/TCP" --version >/dev/null
    rc=0; $run "$out/UDP6" 1 --quiet || rc=$?
    [ "$rc" = 1 ] || { echo "dist.sh: $arch: 'UDP6 1' exited $rc, expected 1" >&2; exit 1; }
    echo "dist.sh: $arch binary runs${run:+ (under $run)}"
done
