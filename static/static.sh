#!/bin/sh
# Build the static healthcheck binary: MicroPython's unix port (custom variant
# static/variant/) with the healthcheck package frozen in and the tool-mode
# patch static/micropython-tool-mode.patch applied.
#
#   static/static.sh ARCH OUTDIR        ARCH: amd64 | arm64
#
# Result: OUTDIR/TCP (static ELF) and OUTDIR/{UDP,TCP6,UDP6,UNIX,healthcheck} -> TCP symlinks.
#
# Environment (all optional):
#   HEALTHCHECK_SRC    directory holding the healthcheck/ package (default: src/)
#   HEALTHCHECK_CACHE  cache for source, toolchain and objects (default: static/.cache)
#
# Native builds use musl-gcc (Debian musl-tools); cross builds use `zig cc`
# from the PyPI package ziglang, installed into a venv under the cache.
# Missing tools are installed with apt-get/pip, non-interactively.
set -eu

usage() { echo "usage: $0 amd64|arm64 OUTDIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
ARCH=$1
OUT=$2
case $ARCH in
    amd64) ZIG_TARGET=x86_64-linux-musl ;;
    arm64) ZIG_TARGET=aarch64-linux-musl ;;
    *) usage ;;
esac

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
CACHE=${HEALTHCHECK_CACHE:-$HERE/.cache}
HC_SRC=$(cd "${HEALTHCHECK_SRC:-$REPO/src}" && pwd)
PATCH=$HERE/micropython-tool-mode.patch
VARIANT=$HERE/variant
ZIGLANG_VERSION=0.14.1
export HEALTHCHECK_CACHE="$CACHE"

log() { echo "static.sh: $*" >&2; }
[ -f "$HC_SRC/healthcheck/cli.py" ] || { log "no healthcheck/cli.py under $HC_SRC"; exit 1; }

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
apt_install() {  # apt_install PKG... (only those not installed yet)
    need=
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need="$need $p"
    done
    [ -n "$need" ] || return 0
    if [ "${HC_APT_UPDATED:-}" != 1 ]; then
        $SUDO apt-get update -q >&2
        HC_APT_UPDATED=1; export HC_APT_UPDATED
    fi
    log "installing:$need"
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -q --no-install-recommends $need >&2
}

HOST=$(dpkg --print-architecture)

# --- source: Debian's micropython (fetched once, then cached) -----------------
had_src=no
ls -d "$CACHE"/src/micropython-*/ >/dev/null 2>&1 && had_src=yes
SRC=$("$HERE/fetch-source.sh")
# a fresh fetch has just run apt-get update
[ "$had_src" = yes ] || { HC_APT_UPDATED=1; export HC_APT_UPDATED; }

# --- tools --------------------------------------------------------------------
# gcc/libc6-dev build the host mpy-cross; dpkg-dev gives dpkg-source.
apt_install ca-certificates make gcc libc6-dev binutils python3 patch xz-utils dpkg-dev
if [ "$ARCH" = "$HOST" ]; then
    apt_install musl-tools
    CC=musl-gcc
    STRIP="strip -o"   # OUT IN
    MAKE_ARCH=
else
    ZVENV=$CACHE/zig-venv
    if ! "$ZVENV/bin/python" -m ziglang version 2>/dev/null | grep -qx "$ZIGLANG_VERSION"; then
        python3 -m venv "$ZVENV" >/dev/null 2>&1 || { apt_install python3-venv; rm -rf "$ZVENV"; python3 -m venv "$ZVENV"; }
        "$ZVENV/bin/pip" install -q --disable-pip-version-check "ziglang==$ZIGLANG_VERSION" >&2
    fi
    ZIG=$(echo "$ZVENV"/lib/python3*/site-packages/ziglang/zig)
    [ -x "$ZIG" ] || { log "zig not found in $ZVENV"; exit 1; }
    mkdir -p "$CACHE/bin"
    CC=$CACHE/bin/cc-$ARCH
    # `zig cc -E` with several inputs or stdin (as MicroPython's qstr scan calls
    # the preprocessor) searches the host's /usr/include instead of zig's musl
    # headers: name the target's header dirs explicitly for -E.
    ZLIB=$(dirname "$ZIG")/lib
    ZARCH=${ZIG_TARGET%%-*}
    cat > "$CC.tmp" <<SHEOF
#!/bin/sh
export ZIG_GLOBAL_CACHE_DIR="$CACHE/zig-cache" ZIG_LOCAL_CACHE_DIR="$CACHE/zig-cache"
for a; do
    if [ "\$a" = -E ]; then
        exec "$ZIG" cc -target $ZIG_TARGET -nostdinc -isystem "$ZLIB/include" \\
            -isystem "$ZLIB/libc/include/$ZIG_TARGET" -isystem "$ZLIB/libc/include/generic-musl" \\
            -isystem "$ZLIB/libc/include/$ZARCH-linux-any" -isystem "$ZLIB/libc/include/any-linux-any" "\$@"
    fi
done
exec "$ZIG" cc -target $ZIG_TARGET "\$@"
SHEOF
    chmod +x "$CC.tmp"; mv "$CC.tmp" "$CC"
    STRIP="$ZIG objcopy --strip-all"   # IN OUT
    MAKE_ARCH="LDFLAGS_ARCH=-Wl,--gc-sections"  # lld: no -Map/--cref
fi

# --- our patch, applied to a work copy of the source -------------------------
PATCH_ID=$(sha256sum < "$PATCH" | cut -c1-12)
WORK=$CACHE/work/$(basename "$SRC")-$PATCH_ID
if [ ! -f "$WORK/.patched-ok" ]; then
    log "preparing $WORK"
    rm -rf "$CACHE/work"; mkdir -p "$CACHE/work"
    cp -a "$SRC" "$WORK.tmp"
    (cd "$WORK.tmp" && patch -p1 --forward --quiet < "$PATCH")
    mv "$WORK.tmp" "$WORK"
    touch "$WORK/.patched-ok"
fi

LTO=${HEALTHCHECK_LTO:-}   # e.g. -flto: about 4 KB smaller, off by default
JOBS=$(nproc 2>/dev/null || echo 2)
# mpy-cross runs on the build machine: build it with the host compiler.
if [ ! -x "$WORK/mpy-cross/build/mpy-cross" ]; then
    log "building mpy-cross"
    make -s -C "$WORK/mpy-cross" -j"$JOBS" CC=gcc >&2
fi

# Objects do not track the variant's config header: key the build directory
# by the variant files and the compiler, so any change gives a clean build.
CONF_ID=$( (cat "$VARIANT"/*; echo "$CC $MAKE_ARCH $LTO"; cat "$CC" 2>/dev/null || true) | sha256sum | cut -c1-12)
BUILD=build-healthcheck-$ARCH-$CONF_ID
for d in "$WORK/ports/unix/build-healthcheck-$ARCH"-*; do
    [ "$d" = "$WORK/ports/unix/$BUILD" ] || rm -rf "$d"
done

# makemanifest reuses a compiled .mpy that is newer than its .py: always
# recompile the package, so a switch of HEALTHCHECK_SRC or an older file can
# never leave stale bytecode in the binary.
rm -rf "$WORK/ports/unix/$BUILD/frozen_mpy"

# The package as frozen: the modules of a plain check merged into one unit,
# build_info filled in (static/bundle.py). HEALTHCHECK_REVISION overrides git.
REVISION=${HEALTHCHECK_REVISION-$(git -C "$REPO" rev-parse --short=12 HEAD 2>/dev/null || true)}
STAGE=$CACHE/stage-$ARCH
python3 "$HERE/bundle.py" "$HC_SRC" "$STAGE" "$REVISION" "linux/$ARCH" >&2
log "building MicroPython ($ARCH) with $HC_SRC/healthcheck frozen in (staged in $STAGE)"
make -s -C "$WORK/ports/unix" -j"$JOBS" \
    VARIANT_DIR="$VARIANT" BUILD="$BUILD" \
    CC="$CC" STRIP= SIZE=true $MAKE_ARCH \
    CFLAGS_EXTRA="$LTO" LDFLAGS_EXTRA="-static $LTO -Os" \
    MICROPY_MPYCROSS="$WORK/mpy-cross/build/mpy-cross" \
    MICROPY_MANIFEST_HEALTHCHECK_SRC="$STAGE" >&2
BIN=$WORK/ports/unix/$BUILD/micropython

# --- install ------------------------------------------------------------------
mkdir -p "$OUT"
rm -f "$OUT/TCP" "$OUT/UDP" "$OUT/TCP6" "$OUT/UDP6" "$OUT/UNIX" "$OUT/healthcheck" "$OUT/TCP.tmp"
if [ "$ARCH" = "$HOST" ]; then $STRIP "$OUT/TCP.tmp" "$BIN"; else $STRIP "$BIN" "$OUT/TCP.tmp"; fi
chmod 0755 "$OUT/TCP.tmp"
mv "$OUT/TCP.tmp" "$OUT/TCP"
for t in UDP TCP6 UDP6 UNIX healthcheck; do ln -s TCP "$OUT/$t"; done
size=$(wc -c < "$OUT/TCP")
echo "$OUT/TCP ($ARCH): $size bytes ($(( (size + 1023) / 1024 )) KiB); UDP TCP6 UDP6 UNIX healthcheck -> TCP"
