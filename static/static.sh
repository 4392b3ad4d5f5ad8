#!/bin/sh
# Build the static healthcheck binary: MicroPython's unix port (custom variant
# static/variant/) with the healthcheck package frozen in and the tool-mode
# patch static/micropython-tool-mode.patch applied.
#
#   static/static.sh ARCH OUTDIR
#       ARCH: amd64 arm64 386 arm-v6 arm-v7 ppc64le s390x riscv64 (static/platforms;
#             Docker's TARGETARCH, with -TARGETVARIANT for arm)
#
# Result: OUTDIR/TCP (static ELF) and a symlink to it for every other tool name
# (static/names.sh) and for healthcheck.
#
# One toolchain for every architecture and every build machine: `zig cc` with
# its bundled musl, from the PyPI package ziglang pinned by version and hash
# (static/zig-requirements.txt), installed into a venv under the cache. The
# same commit gives byte-identical binaries wherever it is built (host, other
# path, inside `docker build`): no path, date or host header gets in.
#
# Environment (all optional):
#   HEALTHCHECK_SRC    directory holding the healthcheck/ package (default: src/)
#   HEALTHCHECK_CACHE  cache for source, toolchain and objects (default: static/.cache)
#   SOURCE_DATE_EPOCH  default: the commit's time (git), else Debian's changelog time
#   HEALTHCHECK_LTO    link-time optimization flags (default -flto; empty: none)
#   HEALTHCHECK_FLAVOR tls: the second binary instead, OUTDIR/healthcheck-tls and
#                      OUTDIR/HTTPS -> it (MicroPython's tls module on mbedTLS;
#                      static/tls/README.md)
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
PLATFORMS=$HERE/platforms
ARCHES=$(awk '!/^#/ && NF { printf "%s ", $1 }' "$PLATFORMS")
usage() { echo "usage: $0 ARCH OUTDIR   (ARCH: $ARCHES)" >&2; exit 2; }
[ $# -eq 2 ] || usage
ARCH=$1
OUT=$2
# zig target and -mcpu of ARCH (static/platforms)
set -- $(awk -v a="$ARCH" '!/^#/ && $1 == a { print $3, $4 }' "$PLATFORMS")
[ $# -eq 2 ] || usage
ZIG_TARGET=$1 MCPU=$2

REPO=$(dirname "$HERE")
CACHE=${HEALTHCHECK_CACHE:-$HERE/.cache}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
HC_SRC=$(cd "${HEALTHCHECK_SRC:-$REPO/src}" && pwd)
PATCH=$HERE/micropython-tool-mode.patch
VARIANT=$HERE/variant
export HEALTHCHECK_CACHE="$CACHE"
# --- TLS hook (static/tls/README.md): the flavor of the build -----------------
# TLS_NAMES: the tool names that only healthcheck-tls answers (links to it, not
# to TCP); TLS_MODULES: the package's modules frozen into it only.
FLAVOR=${HEALTHCHECK_FLAVOR:-}
TLS_NAMES="HTTPS"
TLS_MODULES="tlsconn.py httpscheck.py"
case $FLAVOR in
    "") ;;
    tls) VARIANT=$HERE/tls/variant ;;
    *) echo "static.sh: HEALTHCHECK_FLAVOR=$FLAVOR: only tls, or empty for the main binary" >&2; exit 2 ;;
esac

log() { echo "static.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ -f "$HC_SRC/healthcheck/cli.py" ] || die "no healthcheck/cli.py under $HC_SRC"

# Every tool comes from Debian (scripts/deps.sh installs them) or the pinned wheel.
need() {  # need COMMAND DEBIAN-PACKAGE
    command -v "$1" >/dev/null 2>&1 || die "$1 not found: install the Debian package $2 (scripts/deps.sh does)"
}
need make make; need python3 python3; need patch patch; need xz xz-utils
need dpkg-source dpkg-dev; need dpkg-parsechangelog dpkg-dev

SRC=$("$HERE/fetch-source.sh")

# --- toolchain: zig from the hash-pinned wheel (static/zig.sh) -------------
ZIG=$("$HERE/zig.sh")
ZLIB=$(dirname "$ZIG")/lib
ZIG_VERSION=$("$ZIG" version)

# Wrapper per target. `zig cc -E` with several inputs or stdin (how
# MicroPython's qstr scan calls the preprocessor) searches the build machine's
# /usr/include instead of zig's musl headers: name the target's header dirs
# for -E. The prefix maps keep the cache's, the source's and zig's paths out
# of the objects (they differ between clones and machines).
HOST_ARCH=$(uname -m)
case $HOST_ARCH in
    x86_64|aarch64|riscv64|s390x|powerpc64le) HOST_TARGET=$HOST_ARCH-linux-musl ;;
    *) die "unsupported build machine $HOST_ARCH (zig wheels: x86_64, aarch64)" ;;
esac
mkdir -p "$CACHE/bin"
make_cc() {  # make_cc ZIG-TARGET MCPU -> prints the wrapper's path
    cc=$CACHE/bin/cc-$1
    # With -E the arguments go to clang as they are: clang spells x86 i686,
    # and the header dirs are zig's names (powerpc64le shares powerpc64's).
    etarget=$(echo "$1" | sed 's/^x86-/i686-/')
    zarch=${1%%-*}
    case $zarch in powerpc64le) hm=powerpc64 ;; *) hm=$zarch ;; esac
    case $zarch in x86_64) ha=x86 ;; powerpc64le) ha=powerpc ;; riscv64) ha=riscv ;; *) ha=$zarch ;; esac
    inc="-isystem $ZLIB/include -isystem $ZLIB/libc/include/$hm-linux-musl"
    inc="$inc -isystem $ZLIB/libc/include/generic-musl -isystem $ZLIB/libc/include/$ha-linux-any"
    inc="$inc -isystem $ZLIB/libc/include/any-linux-any"
    for d in $inc; do
        case $d in -isystem) ;; *) [ -d "$d" ] || die "zig has no header dir $d" ;; esac
    done
    cat > "$cc.tmp" <<SHEOF
#!/bin/sh
export ZIG_GLOBAL_CACHE_DIR="$CACHE/zig-cache" ZIG_LOCAL_CACHE_DIR="$CACHE/zig-cache"
set -- -ffile-prefix-map="$CACHE"=/cache -ffile-prefix-map="$HC_SRC"=/src \\
    -ffile-prefix-map="$ZLIB"=/zig "\$@"
for a; do
    if [ "\$a" = -E ]; then
        exec "$ZIG" cc -target $etarget -nostdinc $inc "\$@"
    fi
done
exec "$ZIG" cc -target $1 -mcpu=$2 "\$@"
SHEOF
    chmod +x "$cc.tmp"; mv "$cc.tmp" "$cc"
    echo "$cc"
}
CC=$(make_cc "$ZIG_TARGET" "$MCPU")
HOST_CC=$(make_cc "$HOST_TARGET" baseline)

# --- time: nothing in the binary should depend on it; pinned all the same ----
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || true)
    [ -n "$SOURCE_DATE_EPOCH" ] || SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Timestamp)
fi
export SOURCE_DATE_EPOCH TZ=UTC LC_ALL=C
# MicroPython asks git for a version when the source is in a work tree; ours
# is (under static/.cache), so stop git at the source dir.
export GIT_CEILING_DIRECTORIES="$CACHE"

# --- our patch, applied to a work copy of the source -------------------------
PATCH_ID=$(sha256sum < "$PATCH" | cut -c1-12)
WORK=$CACHE/work/$(basename "$SRC")-$PATCH_ID
if [ ! -f "$WORK/.patched-ok" ]; then
    log "preparing $WORK"
    rm -rf "$CACHE/work"; mkdir -p "$CACHE/work"
    cp -a "$SRC" "$WORK.tmp"
    (cd "$WORK.tmp" && patch -p1 --forward --fuzz=0 --quiet < "$PATCH") \
        || die "$PATCH does not apply with --fuzz=0 to $(basename "$SRC")"
    mv "$WORK.tmp" "$WORK"
    touch "$WORK/.patched-ok"
fi

LTO=${HEALTHCHECK_LTO--flto}
JOBS=$(nproc 2>/dev/null || echo 2)
# mpy-cross runs on the build machine; zig builds it too (no gcc needed).
# Its output, the bytecode, does not depend on the machine.
if [ "$(cat "$WORK/mpy-cross/build/.zig-ok" 2>/dev/null)" != "$ZIG_VERSION" ]; then
    log "building mpy-cross"
    rm -rf "$WORK/mpy-cross/build"
    make -s -C "$WORK/mpy-cross" -j"$JOBS" CC="$HOST_CC" \
        LDFLAGS_ARCH=-Wl,--gc-sections >&2
    echo "$ZIG_VERSION" > "$WORK/mpy-cross/build/.zig-ok"
fi

# Objects do not track the variant's config header: a stamp of everything
# that shapes the build (no absolute paths: the build dir's name could end up
# in the binary) forces a clean build when any of it changes.
BUILD=build-healthcheck${FLAVOR:+-$FLAVOR}-$ARCH
CONF_ID=$( (cat "$VARIANT"/* ${FLAVOR:+"$HERE"/variant/* "$HERE"/tls/mbedtls* "$HERE"/tls/micropython-tls.patch} "$HERE/static.sh"
            echo "$ZIG_VERSION $ZIG_TARGET $MCPU $LTO") | sha256sum | cut -c1-16)
if [ "$(cat "$WORK/ports/unix/$BUILD/.conf-id" 2>/dev/null)" != "$CONF_ID" ]; then
    rm -rf "$WORK/ports/unix/$BUILD"
    mkdir -p "$WORK/ports/unix/$BUILD"
    echo "$CONF_ID" > "$WORK/ports/unix/$BUILD/.conf-id"
fi

# makemanifest reuses a compiled .mpy that is newer than its .py: always
# recompile the package, so a switch of HEALTHCHECK_SRC or an older file can
# never leave stale bytecode in the binary.
rm -rf "$WORK/ports/unix/$BUILD/frozen_mpy"

# The package as frozen: the modules of a plain check merged into one unit,
# build_info filled in (static/bundle.py): the revision from git unless
# HEALTHCHECK_REVISION says it (the Docker build has no .git), the platform
# in Docker's form (arm-v7 -> linux/arm/v7).
REVISION=${HEALTHCHECK_REVISION-$(git -C "$REPO" rev-parse --short=12 HEAD 2>/dev/null || true)}
STAGE=$CACHE/stage${FLAVOR:+-$FLAVOR}-$ARCH
python3 "$HERE/bundle.py" "$HC_SRC" "$STAGE" "$REVISION" "linux/$(echo "$ARCH" | tr - /)" >&2
# TLS hook: the main binary has no TLS: its TLS modules stay out (HTTPS there
# says where TLS is instead).
if [ -z "$FLAVOR" ]; then
    for m in $TLS_MODULES; do rm -f "$STAGE/healthcheck/$m"; done
fi
log "building MicroPython ($ARCH, zig $ZIG_VERSION $ZIG_TARGET -mcpu=$MCPU) with $HC_SRC/healthcheck frozen in"
# lld has no -Map/--cref: LDFLAGS_ARCH is replaced. -s strips at link time,
# --build-id=none leaves out a note nobody reads. No unwind tables (nothing
# unwinds C frames here; MicroPython's exceptions are longjmp-style).
# Optimization: clang's -Os, which runs a check in 10% fewer instructions than
# -Oz (static/README.md, "Speed"); ppc64le and s390x, whose code is the
# largest (-Os: 331 KB and 435 KB), take -Oz to stay under 300 KB (zig cc
# turns a plain -Oz into -Os, hence -Xclang). With variant/nofprintf.c and
# LTO that keeps every binary under 300 KB.
case $ARCH in
    ppc64le|s390x) OPT="-Xclang -Oz" ;;
    *) OPT=-Os ;;
esac
SIZE_FLAGS="$OPT -fno-asynchronous-unwind-tables -fno-unwind-tables"
# TLS hook: mbedTLS for this architecture, with the same compiler and flags.
TLS_MAKE=
if [ "$FLAVOR" = tls ]; then
    TLS_MAKE="MBEDTLS_BUILD=$("$HERE/tls/mbedtls.sh" "$ARCH" "$CC" "$ZIG" "$SIZE_FLAGS $LTO")"
    # static/tls/micropython-tls.patch: only modtls_mbedtls.c, which the main
    # binary does not compile, so the work copy stays shared.
    TLS_PATCH_ID=$(sha256sum < "$HERE/tls/micropython-tls.patch" | cut -c1-12)
    if [ "$(cat "$WORK/.tls-patched" 2>/dev/null)" != "$TLS_PATCH_ID" ]; then
        [ ! -f "$WORK/.tls-patched" ] || die "$WORK has an older micropython-tls.patch: remove $CACHE/work"
        (cd "$WORK" && patch -p1 --forward --fuzz=0 --quiet < "$HERE/tls/micropython-tls.patch") \
            || die "static/tls/micropython-tls.patch does not apply with --fuzz=0 to $(basename "$SRC")"
        echo "$TLS_PATCH_ID" > "$WORK/.tls-patched"
    fi
fi
make -s -C "$WORK/ports/unix" -j"$JOBS" \
    VARIANT_DIR="$VARIANT" BUILD="$BUILD" \
    CC="$CC" STRIP= SIZE=true LDFLAGS_ARCH=-Wl,--gc-sections \
    CFLAGS_EXTRA="$SIZE_FLAGS $LTO" LDFLAGS_EXTRA="-static $LTO -s -Wl,--build-id=none -Wl,--no-eh-frame-hdr" \
    MICROPY_MPYCROSS="$WORK/mpy-cross/build/mpy-cross" \
    MICROPY_MANIFEST_HEALTHCHECK_SRC="$STAGE" ${TLS_MAKE:+"$TLS_MAKE"} >&2
BIN=$WORK/ports/unix/$BUILD/micropython

# --- install ------------------------------------------------------------------
# TLS hook: healthcheck-tls and its links; the main binary's install below
# leaves them alone.
if [ "$FLAVOR" = tls ]; then
    mkdir -p "$OUT"
    rm -f "$OUT/healthcheck-tls.tmp"
    cp "$BIN" "$OUT/healthcheck-tls.tmp"
    chmod 0755 "$OUT/healthcheck-tls.tmp"
    mv "$OUT/healthcheck-tls.tmp" "$OUT/healthcheck-tls"
    for t in $TLS_NAMES; do rm -f "$OUT/$t"; ln -s healthcheck-tls "$OUT/$t"; done
    size=$(wc -c < "$OUT/healthcheck-tls")
    echo "$OUT/healthcheck-tls ($ARCH): $size bytes ($(( (size + 1023) / 1024 )) KiB); $TLS_NAMES -> healthcheck-tls"
    exit 0
fi
# The links: every tool name but TCP (the package's one list, tools.NAMES),
# and healthcheck.
LINKS="$("$HERE/names.sh" "$HC_SRC" | sed 's/^TCP //') healthcheck"
for t in $TLS_NAMES; do LINKS=$(echo " $LINKS " | sed "s/ $t / /; s/^ //; s/ \$//"); done  # TLS hook
mkdir -p "$OUT"
for t in TCP $LINKS TCP.tmp; do rm -f "$OUT/$t"; done
cp "$BIN" "$OUT/TCP.tmp"
chmod 0755 "$OUT/TCP.tmp"
mv "$OUT/TCP.tmp" "$OUT/TCP"
for t in $LINKS; do ln -s TCP "$OUT/$t"; done
size=$(wc -c < "$OUT/TCP")
echo "$OUT/TCP ($ARCH): $size bytes ($(( (size + 1023) / 1024 )) KiB); $LINKS -> TCP"
