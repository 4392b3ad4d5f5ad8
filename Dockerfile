# healthcheck: TCP, UDP, TCP6, UDP6, UNIX as one static binary (+ symlinks), in an
# image that holds nothing else. Use it as a source for COPY:
#
#     COPY --from=healthcheck:latest /healthcheck /healthcheck
#     HEALTHCHECK CMD ["/healthcheck/TCP", "8080"]
#
# Build:   docker build -t healthcheck:latest .
#          docker buildx build --platform linux/amd64,linux/arm64 -t healthcheck:latest .
#
# The build stage runs static/static.sh: MicroPython's unix port from Debian's
# source package, with src/healthcheck frozen in, linked statically against
# musl (see static/README.md). It runs on the target platform (under buildx's
# QEMU emulation for a foreign one), so the compile is always native there.
# BASE_IMAGE must be a Debian (trixie or later) image whose apt can reach a
# Debian mirror: the deb-src entry is derived from the image's own apt sources.

ARG BASE_IMAGE=debian:trixie-slim

FROM ${BASE_IMAGE} AS build
ARG TARGETARCH
ENV DEBIAN_FRONTEND=noninteractive CI=true
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
        ca-certificates make gcc libc6-dev binutils python3 patch xz-utils dpkg-dev musl-tools \
 && rm -rf /var/cache/apt/archives/*.deb
WORKDIR /src
# Source first (the slow, rarely changing part), then our code.
COPY static/fetch-source.sh static/
RUN HEALTHCHECK_CACHE=/cache static/fetch-source.sh
COPY static/ static/
COPY src/ src/
# TARGETARCH is set by BuildKit/buildx; the classic builder leaves it empty.
RUN arch="${TARGETARCH:-$(dpkg --print-architecture)}" \
 && HEALTHCHECK_CACHE=/cache HC_APT_UPDATED=1 static/static.sh "$arch" /out/healthcheck \
 && /out/healthcheck/TCP --version \
 && { /out/healthcheck/UDP6 1 --quiet; test $? = 1; }

FROM scratch
# Pass --build-arg VERSION=... SOURCE=<repository URL> when publishing.
ARG VERSION=0.1.0
ARG SOURCE=
LABEL org.opencontainers.image.title="healthcheck" \
      org.opencontainers.image.description="TCP, UDP, TCP6, UDP6, UNIX: exit 0 if a port or unix socket is listening inside the container, 1 otherwise. One static binary, no shell or libc needed." \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/healthcheck/ /healthcheck/
USER 65534:65534
# The entrypoint takes the tool as its first argument:
# `docker run --rm --network container:APP healthcheck:latest TCP 8080` checks
# APP's port from outside.
ENTRYPOINT ["/healthcheck/healthcheck"]
CMD ["--help"]
