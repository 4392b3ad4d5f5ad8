#!/bin/sh
# Build the static binaries for every platform the image ships (static/platforms):
#
#   static/dist.sh            -> dist/linux-ARCH/healthcheck/{TCP,UDP,TCP6,UDP6}
#                                for amd64 arm64 386 arm-v6 arm-v7 ppc64le s390x riscv64,
#                                and dist/SHA256SUMS (sha256sum -c in dist/)
#   HEALTHCHECK_ARCHES="amd64 s390x" static/dist.sh     only those
#   HEALTHCHECK_DIST=DIR static/dist.sh                 into DIR instead of dist/
#
# Each TCP is a static MicroPython with the healthcheck package frozen in (see
# static/README.md); the other three names are symlinks to it. After building,
# each binary is smoke-tested: natively, or under qemu-user (Debian's
# qemu-user-static; netlink sock_diag is not emulated there, the package falls
# back to /proc). tests/release/ checks them for real.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
DIST=${HEALTHCHECK_DIST:-$REPO/dist}
PLATFORMS=$HERE/platforms
ALL=$(awk '!/^#/ && NF { printf "%s ", $1 }' "$PLATFORMS")
HOST=$(dpkg --print-architecture 2>/dev/null || echo unknown)
SIZE_LIMIT=307200   # 300 KB: the payload budget of one binary

# SOURCE_DATE_EPOCH from the commit, the same for every architecture.
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || true)
    [ -n "$SOURCE_DATE_EPOCH" ] && export SOURCE_DATE_EPOCH
fi

for arch in ${HEALTHCHECK_ARCHES:-$ALL}; do
    out=$DIST/linux-$arch/healthcheck
    t0=$(date +%s)
    "$HERE/static.sh" "$arch" "$out"
    t1=$(date +%s)
    size=$(wc -c < "$out/TCP")
    [ "$size" -le "$SIZE_LIMIT" ] || { echo "dist.sh: $arch: TCP is $size bytes, over $SIZE_LIMIT" >&2; exit 1; }
    set -- $(awk -v a="$arch" '!/^#/ && $1 == a { print $5, $6 }' "$PLATFORMS")
    run=
    if [ "$arch" != "$HOST" ]; then
        command -v "$1" >/dev/null 2>&1 \
            || { echo "dist.sh: $1 not found (Debian package qemu-user-static): cannot run the $arch binary" >&2; exit 1; }
        run=$1
        [ "$2" = - ] || run="$run -cpu $2"
    fi
    # --version must print and exit 0; a port nobody listens on must exit 1.
    $run "$out/TCP" --version >/dev/null
    rc=0; $run "$out/UDP6" 1 --quiet || rc=$?
    [ "$rc" = 1 ] || { echo "dist.sh: $arch: 'UDP6 1' exited $rc, expected 1" >&2; exit 1; }
    echo "dist.sh: $arch: $size bytes, built in $((t1 - t0)) s, runs${run:+ (under $run)}"
done

# Sums of every binary present, for `sha256sum -c SHA256SUMS` in dist/.
(cd "$DIST" && ls -d linux-*/healthcheck/TCP | LC_ALL=C sort | xargs sha256sum > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
echo "dist.sh: $DIST/SHA256SUMS"
