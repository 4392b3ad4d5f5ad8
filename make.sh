#!/bin/sh
# Quick start on a fresh Debian machine (as root): ./make.sh image, ./make.sh test.
# Installs what the build and the tests need (make, Python, iproute2, musl,
# qemu-user, docker.io, ...) and then runs `make TARGET`.
set -eu
cd "$(dirname "$0")"
scripts/deps.sh
exec make "$@"
