#!/bin/sh
# Installs the Debian packages the build, the tests and the bench use, when
# missing: the one place that installs anything (the others check and name
# what is missing). Needs root (CI runs as root); does nothing when
# everything is there.
set -eu
PACKAGES="make gcc libc6-dev patch python3 python3-venv python3-pip iproute2 util-linux procps
  dpkg-dev musl-tools qemu-user-static busybox-static docker.io containerd runc docker-compose iptables
  debootstrap debian-archive-keyring hyperfine strace file binutils linux-libc-dev curl
  ca-certificates xz-utils buildah skopeo docker-registry openssl bzip2
  podman catatonit"
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
missing=""
for p in $PACKAGES; do
    installed "$p" && continue
    # From Debian 13 on qemu-user is static and takes qemu-user-static's place
    # (it Provides: it; apt installs it when asked for qemu-user-static).
    if [ "$p" = qemu-user-static ] && installed qemu-user \
        && dpkg --compare-versions "$(dpkg-query -W -f='${Version}' qemu-user)" ge 1:9.0.2+ds-7; then
        continue
    fi
    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "deps: missing Debian packages:$missing (run as root to install them)" >&2
    exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# docker.io's postinst would start the service; without an init system a
# policy-rc.d keeps that quiet.
prc=/usr/sbin/policy-rc.d
[ -e "$prc" ] || { printf '#!/bin/sh\nexit 101\n' >"$prc"; chmod +x "$prc"; trap 'rm -f "$prc"' EXIT; }
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
