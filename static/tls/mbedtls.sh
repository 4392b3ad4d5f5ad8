#!/bin/sh
# mbedTLS for healthcheck-tls, one architecture (called by static/static.sh
# with HEALTHCHECK_FLAVOR=tls; see static/tls/README.md):
#
#   static/tls/mbedtls.sh ARCH CC ZIG CFLAGS -> prints a dir with include/ and
#                                               lib{mbedcrypto,mbedx509,mbedtls}.a
#
# The source is Debian's mbedtls source package, pinned by static/tls/mbedtls.sha256
# and fetched and unpacked by static/fetch-source.sh as MicroPython's is. It is
# compiled with static.sh's zig cc wrapper (CC) and its flags (CFLAGS: -Os or -Oz,
# LTO) with static/tls/mbedtls_config.h as the whole configuration. Every file
# of library/ is compiled (what the config leaves out compiles to nothing); the
# linker takes from the archives only what MicroPython's tls module reaches.
# The result is kept under the cache, per architecture and per everything that
# shapes it, so a rebuild of the package's Python code does not redo it.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 4 ] || { echo "usage: $0 ARCH CC ZIG CFLAGS" >&2; exit 2; }
ARCH=$1 CC=$2 ZIG=$3 FLAGS=$4
CACHE=${HEALTHCHECK_CACHE:-$HERE/../.cache}
CONFIG=$HERE/mbedtls_config.h

log() { echo "mbedtls.sh: $*" >&2; }

SRC=$("$HERE/../fetch-source.sh" "$HERE/mbedtls.sha256")
ID=$( (cat "$CONFIG" "$HERE/mbedtls.sha256" "$HERE/mbedtls-tls12-pss.patch" "$0"; echo "$ARCH $FLAGS"; "$CC" --version 2>/dev/null | head -n1) \
      | sha256sum | cut -c1-16)
OUT=$CACHE/mbedtls/$ARCH
if [ "$(cat "$OUT/.id" 2>/dev/null)" = "$ID" ]; then
    echo "$OUT"; exit 0
fi
log "building mbedTLS $(basename "$SRC") for $ARCH"
rm -rf "$OUT" "$OUT.tmp"
mkdir -p "$OUT.tmp/obj"
cp -a "$SRC/include" "$OUT.tmp/include"
cp "$CONFIG" "$OUT.tmp/include/healthcheck_mbedtls_config.h"
# The one change to mbedTLS (static/tls/mbedtls-tls12-pss.patch), on a copy.
mkdir -p "$OUT.tmp/src"
cp -a "$SRC/library" "$OUT.tmp/src/library"
(cd "$OUT.tmp/src" && patch -p1 --forward --fuzz=0 --quiet < "$HERE/mbedtls-tls12-pss.patch") \
    || { log "ERROR: mbedtls-tls12-pss.patch does not apply with --fuzz=0 to $(basename "$SRC")"; exit 1; }
SRC=$OUT.tmp/src

# Objects named by their source file: the archives' member order is the
# sorted list, the same on every machine.
JOBS=$(nproc 2>/dev/null || echo 2)
# shellcheck disable=SC2086
(cd "$SRC/library" && LC_ALL=C ls -- *.c) | xargs -P "$JOBS" -I{} sh -c '
    f={}; exec "$1" -c -std=c99 -w $2 -ffunction-sections -fdata-sections \
        -I"$3/include" -I"$4/library" -DMBEDTLS_CONFIG_FILE="\"healthcheck_mbedtls_config.h\"" \
        -o "$5/obj/${f%.c}.o" "$4/library/$f"' sh "$CC" "$FLAGS" "$OUT.tmp" "$SRC" "$OUT.tmp"

# The three archives MicroPython's Debian build links (-lmbedx509 -lmbedtls
# -lmbedcrypto); llvm's ar writes no dates, owners or modes.
cd "$OUT.tmp/obj"
tls=$(LC_ALL=C ls ssl_*.o)
x509=$(LC_ALL=C ls x509*.o pkcs7.o)
crypto=$(LC_ALL=C ls -- *.o | grep -v -e '^ssl_' -e '^x509' -e '^pkcs7\.o$')
# shellcheck disable=SC2086
"$ZIG" ar rcsD ../libmbedtls.a $tls
# shellcheck disable=SC2086
"$ZIG" ar rcsD ../libmbedx509.a $x509
# shellcheck disable=SC2086
"$ZIG" ar rcsD ../libmbedcrypto.a $crypto
cd - >/dev/null
rm -rf "$OUT.tmp/obj" "$OUT.tmp/src"
echo "$ID" > "$OUT.tmp/.id"
mv "$OUT.tmp" "$OUT"
echo "$OUT"
