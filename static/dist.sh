#!/bin/sh
# Build the static binaries for every platform the image ships (static/platforms):
#
#   static/dist.sh            -> dist/linux-ARCH/healthcheck/TCP and its links,
#                                healthcheck-tls and HTTPS -> it (HEALTHCHECK_TLS=0: not),
#                                for amd64 arm64 386 arm-v6 arm-v7 ppc64le s390x riscv64,
#                                and dist/SHA256SUMS of both (sha256sum -c in dist/)
#   HEALTHCHECK_ARCHES="amd64 s390x" static/dist.sh     only those
#   HEALTHCHECK_DIST=DIR static/dist.sh                 into DIR instead of dist/
#
# Each TCP is a static MicroPython with the healthcheck package frozen in (see
# static/README.md); every other tool name (static/names.sh) and healthcheck
# are symlinks to it, but HTTPS, which links to healthcheck-tls (the same with
# TLS on mbedTLS, static/tls/README.md). After building, each binary is
# smoke-tested: natively, or under qemu-user with the program and -cpu of
# static/platforms, found as qemu-ARCH-static (Debian 12's qemu-user-static)
# or else qemu-ARCH (Debian 13's qemu-user, static too); netlink sock_diag is
# not emulated there, the package falls back to /proc. tests/release/ checks
# them for real.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
DIST=${HEALTHCHECK_DIST:-$REPO/dist}
PLATFORMS=$HERE/platforms
ALL=$(awk '!/^#/ && NF { printf "%s ", $1 }' "$PLATFORMS")
HOST=$(dpkg --print-architecture 2>/dev/null || echo unknown)
SIZE_LIMIT=348160   # TCP: 340 KiB, and 300 KiB (AMD64_SIZE_LIMIT) on amd64
AMD64_SIZE_LIMIT=307200
TLS_SIZE_LIMIT=716800   # TLS hook: healthcheck-tls (700 KB), so TCP + it stay under 1 MB

# SOURCE_DATE_EPOCH from the commit, the same for every architecture.
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || true)
    [ -n "$SOURCE_DATE_EPOCH" ] && export SOURCE_DATE_EPOCH
fi

# runner ARCH: what runs ARCH's binaries on this machine, from static/platforms:
# nothing when its debian column is this machine's architecture, else its qemu
# program (qemu-ARCH-static, or else qemu-ARCH) with the -cpu it names.
runner() {
    want=$1
    set -- $(awk -v a="$want" '!/^#/ && $1 == a { print $1, $5, $6, $7 }' "$PLATFORMS")
    [ $# = 4 ] || { echo "dist.sh: no architecture $want in $PLATFORMS" >&2; return 1; }
    [ "$4" != "$HOST" ] || return 0
    base=${2%-static}
    for q in "$base-static" "$base"; do
        if command -v "$q" >/dev/null 2>&1; then
            echo "$(command -v "$q")$([ "$3" = - ] || echo " -cpu $3")"
            return 0
        fi
    done
    echo "dist.sh: neither $base-static nor $base found (Debian package qemu-user-static, or qemu-user" \
        "from Debian 13 on): cannot run the $1 binaries" >&2
    return 1
}

# Every platform's runner before any build: a missing qemu stops here, not
# after minutes of building.
ARCHES=${HEALTHCHECK_ARCHES:-$ALL}
for arch in $ARCHES; do
    run=$(runner "$arch") || exit 1
    echo "dist.sh: $arch: runs ${run:+under }${run:-natively}"
done

for arch in $ARCHES; do
    run=$(runner "$arch")
    out=$DIST/linux-$arch/healthcheck
    t0=$(date +%s)
    "$HERE/static.sh" "$arch" "$out"
    t1=$(date +%s)
    size=$(wc -c < "$out/TCP")
    limit=$SIZE_LIMIT; [ "$arch" = amd64 ] && limit=$AMD64_SIZE_LIMIT
    [ "$size" -le "$limit" ] || { echo "dist.sh: $arch: TCP is $size bytes, over $limit" >&2; exit 1; }
    # --version must print and exit 0; a port nobody listens on must exit 1.
    $run "$out/TCP" --version >/dev/null
    rc=0; $run "$out/UDP6" 1 --quiet || rc=$?
    [ "$rc" = 1 ] || { echo "dist.sh: $arch: 'UDP6 1' exited $rc, expected 1" >&2; exit 1; }
    echo "dist.sh: $arch: $size bytes, built in $((t1 - t0)) s, runs${run:+ (under $run)}"
    # TLS hook (static/tls/README.md): healthcheck-tls and HTTPS beside TCP.
    if [ "${HEALTHCHECK_TLS:-1}" != 0 ]; then
        HEALTHCHECK_FLAVOR=tls "$HERE/static.sh" "$arch" "$out"
        t2=$(date +%s)
        tsize=$(wc -c < "$out/healthcheck-tls")
        [ "$tsize" -le "$TLS_SIZE_LIMIT" ] \
            || { echo "dist.sh: $arch: healthcheck-tls is $tsize bytes, over $TLS_SIZE_LIMIT" >&2; exit 1; }
        $run "$out/healthcheck-tls" --version >/dev/null
        # the answer must be healthcheck-tls's own: the main binary says "TLS is not in this binary"
        rc=0; said=$($run "$out/HTTPS" 1 2>&1) || rc=$?
        [ "$rc" = 1 ] || { echo "dist.sh: $arch: 'HTTPS 1' exited $rc, expected 1: $said" >&2; exit 1; }
        case $said in *"not in this binary"*) echo "dist.sh: $arch: HTTPS is not healthcheck-tls: $said" >&2; exit 1 ;; esac
        echo "dist.sh: $arch: healthcheck-tls $tsize bytes, built in $((t2 - t1)) s, runs${run:+ (under $run)}"
    fi
done

# Sums of every binary present, for `sha256sum -c SHA256SUMS` in dist/.
(cd "$DIST" && ls -d linux-*/healthcheck/TCP linux-*/healthcheck/healthcheck-tls 2>/dev/null | LC_ALL=C sort | xargs sha256sum > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
echo "dist.sh: $DIST/SHA256SUMS"
