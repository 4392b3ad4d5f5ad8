#!/bin/sh
# Make sure a container registry answers on localhost:5000. Idempotent.
#
#   scripts/registry-up.sh
#
# Runs Debian's docker-registry (package docker-registry; scripts/deps.sh
# installs it) with its own configuration: plain HTTP on 127.0.0.1:5000, no
# auth, storage under $HEALTHCHECK_REGISTRY_DIR (default
# /var/lib/healthcheck-registry). The package's own service and config are not
# used: on a machine without systemd nothing would start them, and their
# default asks for an htpasswd file. Docker treats localhost registries as
# insecure by default, so pushes and pulls work over HTTP.
set -eu

DIR=${HEALTHCHECK_REGISTRY_DIR:-/var/lib/healthcheck-registry}
ADDR=127.0.0.1:5000
log() { echo "registry-up: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

answers() {
    python3 - "$ADDR" <<'PYEOF'
import sys, urllib.request
try:
    with urllib.request.urlopen("http://%s/v2/" % sys.argv[1], timeout=3) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
PYEOF
}

if answers; then log "a registry answers on $ADDR"; exit 0; fi
command -v docker-registry >/dev/null 2>&1 || die "docker-registry not found (Debian package docker-registry; scripts/deps.sh installs it)"

mkdir -p "$DIR/storage"
cat > "$DIR/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $DIR/storage
  delete:
    enabled: true
http:
  addr: $ADDR
EOF
log "starting docker-registry on $ADDR (storage $DIR/storage, log $DIR/registry.log)"
setsid nohup docker-registry serve "$DIR/config.yml" >> "$DIR/registry.log" 2>&1 < /dev/null &
pid=$!
echo "$pid" > "$DIR/registry.pid"
i=0
while ! answers; do
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$DIR/registry.log" >&2; die "docker-registry exited"; }
    i=$((i + 1))
    [ "$i" -lt 60 ] || { tail -n 20 "$DIR/registry.log" >&2; die "docker-registry does not answer after 30 s"; }
    sleep 0.5
done
log "registry up (pid $pid)"
