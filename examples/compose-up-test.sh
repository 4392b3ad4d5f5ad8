#!/usr/bin/env bash
# Bring up examples/compose.yaml, wait until every service is healthy, tear down.
#
#   examples/compose-up-test.sh            # exit 0 = all healthy within the limit
#
# Environment:
#   COMPOSE_WAIT      seconds to wait for "healthy" (default 60)
#   COMPOSE           compose command to use (default: `docker compose` if the
#                     plugin exists, else `docker-compose`; installed from
#                     Debian's docker-compose package when neither exists and
#                     we are root)
#   KEEP_UP=1         leave the services running (for poking around)
#
# Needs a running engine (scripts/docker-up.sh) and the images
# healthcheck:latest and debian:trixie-slim (scripts/base-image.sh).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
wait_s=${COMPOSE_WAIT:-60}
log() { printf 'compose-up-test: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

DOCKER=${DOCKER:-docker}
command -v "$DOCKER" >/dev/null 2>&1 || DOCKER=/usr/bin/docker

if [ -z "${COMPOSE:-}" ]; then
    if "$DOCKER" compose version >/dev/null 2>&1; then
        COMPOSE="$DOCKER compose"
    elif command -v docker-compose >/dev/null 2>&1; then
        COMPOSE=docker-compose
    else
        die "neither 'docker compose' nor 'docker-compose' is available (Debian package docker-compose; scripts/deps.sh)"
    fi
fi

for img in healthcheck:latest debian:trixie-slim; do
    "$DOCKER" image inspect "$img" >/dev/null 2>&1 \
        || die "image $img missing (make image / scripts/base-image.sh)"
done

project=${COMPOSE_PROJECT:-hcexample$$}
# shellcheck disable=SC2206
dc=($COMPOSE -p "$project" -f "$here/compose.yaml")

teardown() {
    if [ "${KEEP_UP:-0}" = 1 ]; then
        log "KEEP_UP=1: leaving project $project running (${dc[*]} down -t 1)"
        return
    fi
    "${dc[@]}" down -v --remove-orphans -t 1 >/dev/null 2>&1 || true
}
trap teardown EXIT

t0=$(date +%s)
log "building and starting (project $project) with: ${dc[*]}"
"${dc[@]}" build -q >&2 || "${dc[@]}" build >&2 || die "compose build failed"
"${dc[@]}" up -d >&2 || die "compose up failed"

services=$("${dc[@]}" config --services | tr '\n' ' ')
expected=$(printf '%s' "$services" | wc -w)
log "waiting up to ${wait_s}s for $expected services to be healthy: $services"

status_report() {
    local id
    for id in $("${dc[@]}" ps -q); do
        "$DOCKER" inspect --format '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}no-healthcheck{{end}}' "$id"
    done
}

deadline=$(( $(date +%s) + wait_s ))
while :; do
    report=$(status_report)
    healthy=$(printf '%s\n' "$report" | awk '$3 == "healthy"' | grep -c . || true)
    if [ "$healthy" -eq "$expected" ]; then
        log "all $expected services healthy after $(( $(date +%s) - t0 ))s:"
        printf '%s\n' "$report" | sed 's/^/  /' >&2
        break
    fi
    if printf '%s\n' "$report" | awk '$3 == "unhealthy" || $2 == "exited" || $2 == "dead"' | grep -q .; then
        log "a service failed:"
    elif [ "$(date +%s)" -lt "$deadline" ]; then
        sleep 1; continue
    else
        log "timed out after ${wait_s}s:"
    fi
    printf '%s\n' "$report" | sed 's/^/  /' >&2
    for id in $("${dc[@]}" ps -q); do
        "$DOCKER" inspect --format '{{.Name}}: {{json .State.Health}}' "$id" >&2 || true
    done
    "${dc[@]}" logs --tail 20 >&2 || true
    exit 1
done
