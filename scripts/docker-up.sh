#!/usr/bin/env bash
# Make sure a Docker engine answers `docker info`. Idempotent.
#
#   scripts/docker-up.sh            # no-op when `docker info` already works
#
# Otherwise (fresh Debian, root, no systemd as init, e.g. CI):
#   1. check docker.io and what dockerd needs (iptables, ...) are installed (scripts/deps.sh);
#   2. pick the iptables flavour the kernel accepts (nft, else legacy);
#   3. turn on IPv4 forwarding, so containers on the default bridge reach the
#      package mirror through dockerd's NAT rules;
#   4. start dockerd in the background, logging to $DOCKERD_LOG;
#   5. wait (bounded: $DOCKER_UP_TIMEOUT seconds) until `docker info` answers,
#      else print the log tail and exit 1.
#
# Environment:
#   DOCKER             docker client to use (default: `docker` from PATH, else /usr/bin/docker)
#   DOCKERD_LOG        dockerd log file (default /var/log/dockerd-healthcheck.log)
#   DOCKER_UP_TIMEOUT  seconds to wait for the daemon (default 60)
#   DOCKERD_STORAGE    force a storage driver (default: overlay2 when the kernel has it, else vfs)
set -euo pipefail

log() { printf 'docker-up: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd-healthcheck.log}
DOCKER_UP_TIMEOUT=${DOCKER_UP_TIMEOUT:-60}

pick_client() {
    if [ -n "${DOCKER:-}" ]; then return; fi
    if command -v docker >/dev/null 2>&1; then DOCKER=docker
    elif [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker
    else DOCKER=docker; fi
}

docker_ok() { timeout 20 "$DOCKER" info >/dev/null 2>&1; }

pick_client
if docker_ok; then
    log "docker engine already answers; nothing to do"
    exit 0
fi

[ "$(id -u)" = 0 ] || die "docker info fails and we are not root: cannot install or start dockerd"

# ---------------------------------------------------------------- check
need=()
command -v dockerd    >/dev/null 2>&1 || need+=(docker.io)
command -v iptables   >/dev/null 2>&1 || need+=(iptables)
command -v ip         >/dev/null 2>&1 || need+=(iproute2)
command -v containerd >/dev/null 2>&1 || need+=(containerd)
command -v runc       >/dev/null 2>&1 || need+=(runc)
[ "${#need[@]}" -eq 0 ] || die "missing Debian packages: ${need[*]} (scripts/deps.sh installs them)"
# The Debian client is always there once docker.io is; fall back to it if the
# chosen one vanished.
command -v "$DOCKER" >/dev/null 2>&1 || DOCKER=/usr/bin/docker

# ------------------------------------------------------ already starting?
pidfile=/var/run/docker.pid
if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "dockerd already running (pid $(cat "$pidfile")); waiting for it"
else
    rm -f "$pidfile"

    # ------------------------------------------------------------ cgroups
    # Hybrid hosts (v1 controllers + cgroup2 at /sys/fs/cgroup/unified) work with
    # the cgroupfs driver; with no cgroup fs at all, mount what we can.
    if ! mountpoint -q /sys/fs/cgroup 2>/dev/null; then
        log "no cgroup filesystem mounted; mounting cgroup2 at /sys/fs/cgroup"
        mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null \
            || log "could not mount cgroup2 (dockerd may still manage)"
    fi

    # ------------------------------------------------------------ iptables
    # Debian defaults to iptables-nft; on kernels without nf_tables support for
    # the xtables matches docker uses, fall back to iptables-legacy.
    ipt_works() { "$1" -t nat -L -n >/dev/null 2>&1 && "$1" -t filter -L -n >/dev/null 2>&1; }
    if command -v update-alternatives >/dev/null 2>&1 && [ -x /usr/sbin/iptables-legacy ]; then
        cur=$(readlink -f "$(command -v iptables)" || true)
        if ! ipt_works iptables; then
            if ipt_works /usr/sbin/iptables-legacy; then
                log "iptables ($cur) does not work here; switching to iptables-legacy"
                update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null
                if [ -x /usr/sbin/ip6tables-legacy ]; then
                    update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy >/dev/null || true
                fi
            else
                log "neither iptables-nft nor iptables-legacy works; starting dockerd with --iptables=false"
                no_iptables=1
            fi
        fi
    fi

    # ------------------------------------------------- forwarding (for NAT)
    # dockerd sets ip_forward itself when it manages iptables, but make sure, and
    # keep the FORWARD policy from blocking bridge traffic.
    sysctl -qw net.ipv4.ip_forward=1 2>/dev/null || echo 1 >/proc/sys/net/ipv4/ip_forward 2>/dev/null || true

    # ------------------------------------------------------ storage driver
    storage=${DOCKERD_STORAGE:-}
    if [ -z "$storage" ]; then
        if grep -qw overlay /proc/filesystems 2>/dev/null || modprobe overlay 2>/dev/null; then
            storage=overlay2
        else
            storage=vfs
        fi
    fi

    args=(--storage-driver="$storage" --exec-opt native.cgroupdriver=cgroupfs
          --pidfile="$pidfile" --log-level=warn)
    [ -n "${no_iptables:-}" ] && args+=(--iptables=false)

    mkdir -p "$(dirname "$DOCKERD_LOG")"
    log "starting dockerd ${args[*]} (log: $DOCKERD_LOG)"
    # setsid + nohup: survives the calling shell; stdin from /dev/null (CI has none).
    setsid nohup dockerd "${args[@]}" >>"$DOCKERD_LOG" 2>&1 </dev/null &
    dpid=$!
    disown "$dpid" 2>/dev/null || true
fi

# ------------------------------------------------------------------ wait
start=$(date +%s)
while :; do
    if docker_ok; then
        log "docker engine up after $(( $(date +%s) - start ))s ($("$DOCKER" info --format '{{.ServerVersion}} {{.Driver}}' 2>/dev/null || true))"
        break
    fi
    if [ -n "${dpid:-}" ] && ! kill -0 "$dpid" 2>/dev/null; then
        # overlay2 can be listed yet unusable (e.g. nested overlay); retry once with vfs.
        if [ "${storage:-}" = overlay2 ] && [ -z "${DOCKERD_STORAGE:-}" ] && [ -z "${retried:-}" ]; then
            log "dockerd exited with overlay2; retrying with vfs. Log tail:"
            tail -n 15 "$DOCKERD_LOG" >&2 || true
            retried=1; storage=vfs
            args[0]=--storage-driver=vfs
            setsid nohup dockerd "${args[@]}" >>"$DOCKERD_LOG" 2>&1 </dev/null &
            dpid=$!; disown "$dpid" 2>/dev/null || true
            start=$(date +%s)
            continue
        fi
        log "dockerd exited early. Last lines of $DOCKERD_LOG:"
        tail -n 40 "$DOCKERD_LOG" >&2 || true
        die "dockerd did not start"
    fi
    if [ $(( $(date +%s) - start )) -ge "$DOCKER_UP_TIMEOUT" ]; then
        log "docker info still fails after ${DOCKER_UP_TIMEOUT}s. Last lines of $DOCKERD_LOG:"
        tail -n 40 "$DOCKERD_LOG" >&2 || true
        "$DOCKER" info >&2 || true
        die "docker engine not reachable"
    fi
    sleep 0.5
done

# ------------------------------------------------- bridge egress sanity
# Containers reach the mirror through the docker0 bridge + MASQUERADE. Make
# sure forwarding stayed on and, if some other tool set FORWARD to DROP
# without docker's chains, let docker0 traffic out.
sysctl -qw net.ipv4.ip_forward=1 2>/dev/null || true
if command -v iptables >/dev/null 2>&1 && [ -z "${no_iptables:-}" ]; then
    if ! iptables -C FORWARD -i docker0 ! -o docker0 -j ACCEPT 2>/dev/null; then
        iptables -I FORWARD -i docker0 ! -o docker0 -j ACCEPT 2>/dev/null || true
    fi
    if ! iptables -C FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT 2>/dev/null; then
        iptables -I FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT 2>/dev/null || true
    fi
fi
exit 0
