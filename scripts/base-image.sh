#!/usr/bin/env bash
# Make a Debian base image available to the local Docker engine.
#
#   scripts/base-image.sh [NAME]        # NAME defaults to debian:trixie-slim
#
# 1. `docker image inspect NAME` works  -> reuse it, done.
# 2. `docker pull NAME` (bounded by $BASE_PULL_TIMEOUT s, default 30)  -> done.
# 3. Build it here: debootstrap --variant=minbase SUITE (from NAME's tag, default
#    trixie) from the Debian mirror that this machine's apt already uses (read
#    from apt's sources at run time by static/apt-mirror.sh), tidy it, write
#    /etc/apt/sources.list.d/debian.sources pointing at the same mirror, and
#    `docker import` it as NAME.
#
# Environment:
#   DOCKER              docker client (default: docker from PATH, else /usr/bin/docker)
#   BASE_PULL_TIMEOUT   seconds for the pull attempt (default 30; 0 skips pulling)
#   BASE_MIRROR         override the mirror URI (default: read from apt's config)
#   BASE_SUITE          override the suite (default: NAME's tag without "-slim")
set -euo pipefail

NAME=${1:-debian:trixie-slim}
log() { printf 'base-image: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [ -z "${DOCKER:-}" ]; then
    if command -v docker >/dev/null 2>&1; then DOCKER=docker; else DOCKER=/usr/bin/docker; fi
fi

if "$DOCKER" image inspect "$NAME" >/dev/null 2>&1; then
    log "$NAME already present; reusing it"
    exit 0
fi

pull_timeout=${BASE_PULL_TIMEOUT:-30}
if [ "$pull_timeout" != 0 ]; then
    log "trying: docker pull $NAME (at most ${pull_timeout}s)"
    if timeout "$pull_timeout" "$DOCKER" pull -q "$NAME" >/dev/null 2>&1 \
        && "$DOCKER" image inspect "$NAME" >/dev/null 2>&1; then
        log "pulled $NAME"
        exit 0
    fi
    log "pull failed or timed out; building $NAME locally with debootstrap"
fi

[ "$(id -u)" = 0 ] || die "building the base image needs root (debootstrap)"

# ------------------------------------------------------------- suite
tag=${NAME##*:}; [ "$tag" = "$NAME" ] && tag=latest
suite=${BASE_SUITE:-${tag%-slim}}
case "$suite" in latest|stable) suite=trixie ;; esac

# ------------------------------------------------------------ mirror
# The archives apt uses, for the main suites and for -security, read by the
# parser fetch-source.sh uses too.
apt_mirror=$(cd "$(dirname "$0")/.." && pwd)/static/apt-mirror.sh
mirror=${BASE_MIRROR:-$(sh "$apt_mirror" || true)}
[ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list{,.d/*}; set BASE_MIRROR"
mirror=${mirror%/}
security=$(sh "$apt_mirror" --security || true)
log "suite $suite, mirror from apt config: $mirror${security:+ (security: $security)}"

# -------------------------------------------------------- debootstrap
command -v debootstrap >/dev/null 2>&1 \
    || die "missing Debian packages: debootstrap debian-archive-keyring (scripts/deps.sh installs them)"
scripts_dir=/usr/share/debootstrap/scripts
script_arg=()
if [ ! -e "$scripts_dir/$suite" ]; then
    # Older debootstrap without a script for this suite: the sid script
    # handles current suites (bookworm's debootstrap links trixie -> sid).
    [ -e "$scripts_dir/sid" ] || die "debootstrap has no script for $suite nor sid"
    log "debootstrap has no '$suite' script; using the sid script"
    script_arg=("$scripts_dir/sid")
fi
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
keyring_arg=()
[ -r "$keyring" ] && keyring_arg=(--keyring="$keyring")

work=$(mktemp -d "${TMPDIR:-/var/tmp}/base-image.XXXXXX")
rootfs="$work/rootfs"
cleanup() { 
    # debootstrap may leave /proc etc. mounted inside on failure.
    for m in proc sys dev/pts dev; do umount -l "$rootfs/$m" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

t0=$(date +%s)
log "debootstrap --variant=minbase $suite -> $rootfs"
if ! debootstrap --variant=minbase --components=main "${keyring_arg[@]}" \
        "$suite" "$rootfs" "$mirror" "${script_arg[@]}" >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    [ -r "$rootfs/debootstrap/debootstrap.log" ] && tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2
    die "debootstrap failed"
fi
t1=$(date +%s)
log "debootstrap took $((t1 - t0))s"

# -------------------------------------------------------------- tidy
for m in proc sys dev/pts dev; do umount -l "$rootfs/$m" 2>/dev/null || true; done
rm -rf "$rootfs"/var/lib/apt/lists/* \
       "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
       "$rootfs"/var/cache/apt/archives/partial/* \
       "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/lib/dpkg/*-old \
       "$rootfs"/var/log/* \
       "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
       "$rootfs"/usr/share/locale/* "$rootfs"/usr/share/lintian/* \
       "$rootfs"/tmp/* "$rootfs"/var/tmp/* "$rootfs"/root/.cache "$rootfs"/debootstrap
mkdir -p "$rootfs"/var/lib/apt/lists/partial "$rootfs"/var/cache/apt/archives/partial "$rootfs"/var/log/apt
: >"$rootfs/etc/resolv.conf"      # Docker bind-mounts its own
: >"$rootfs/etc/hostname"
rm -f "$rootfs/etc/machine-id"; : >"$rootfs/etc/machine-id"

# Keep the image slim for later installs too, as the official -slim images do.
mkdir -p "$rootfs/etc/dpkg/dpkg.cfg.d" "$rootfs/etc/apt/apt.conf.d"
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
    >"$rootfs/etc/apt/apt.conf.d/docker-no-recommends"

# apt sources inside: the same mirror, for this suite.
rm -f "$rootfs/etc/apt/sources.list"
inner_keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -e "$rootfs$inner_keyring" ] || inner_keyring=/usr/share/keyrings/debian-archive-keyring.pgp
{
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: %s\n' \
        "$mirror" "$suite" "$suite" "$inner_keyring"
    if [ -n "$security" ]; then
        printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: %s\n' \
            "$security" "$suite" "$inner_keyring"
    fi
} >"$rootfs/etc/apt/sources.list.d/debian.sources"

# ------------------------------------------------------------ import
log "importing as $NAME ($(du -sh "$rootfs" | cut -f1))"
tar --numeric-owner --xattrs -C "$rootfs" -c . | "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    - "$NAME" >/dev/null
t2=$(date +%s)
log "built $NAME in $((t2 - t0))s (debootstrap $((t1 - t0))s)"
