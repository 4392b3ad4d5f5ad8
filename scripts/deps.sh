#!/bin/sh
# Installs the Debian packages the build and the tests use, when missing.
# Needs root (CI runs as root); does nothing when everything is there.
set -eu
PACKAGES="make gcc libc6-dev patch python3 python3-venv python3-pip iproute2 util-linux procps
  dpkg-dev musl-tools qemu-user-static busybox-static docker.io docker-compose iptables debootstrap
  hyperfine strace file linux-libc-dev
  ca-certificates xz-utils binutils buildah skopeo docker-registry"
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "deps: missing Debian packages:$missing (run as root to install them)" >&2
    exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
