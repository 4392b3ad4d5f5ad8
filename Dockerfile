# healthcheck: TCP, UDP, TCP6, UDP6, UNIX, HTTP and GRPC as one static binary
# (+ symlinks), HTTPS in a second one with TLS (healthcheck-tls), in an image
# that holds nothing else. Use it as a source for COPY:
#
#     COPY --from=healthcheck:latest /healthcheck /healthcheck
#     HEALTHCHECK CMD ["/healthcheck/TCP", "8080"]
#
# Build:   make image      (docker build with the commit's SOURCE_DATE_EPOCH)
#          docker buildx build --platform linux/amd64,linux/arm64,... -t healthcheck:latest .
#          (--build-arg VERSION=X fills the version label; X must be __version__
#          of src/healthcheck, which is what `make image` passes)
# Publish: make publish    (all 8 platforms from dist/, one multi-arch index)
#
# The build stage runs static/static.sh: MicroPython's unix port from Debian's
# source package (pinned by sha256), with src/healthcheck frozen in, compiled
# and linked statically by `zig cc` with its bundled musl (ziglang, pinned by
# hash) - the same toolchain as `make dist`, so /healthcheck/TCP is
# byte-identical to dist/linux-ARCH/healthcheck/TCP (see static/README.md).
# zig cross-compiles: the stage can run on the build machine's platform for
# every target (buildx: TARGETARCH/TARGETVARIANT pick the binary).
# BASE_IMAGE must be a Debian (trixie or later) image whose apt can reach a
# Debian mirror. `make image` puts the source package and the zig wheel it has
# already checked into the context (static/.cache/{deb-src,wheels}); without
# them the stage downloads both and checks the same pinned sums.

ARG BASE_IMAGE=debian:trixie-slim

# The version is written in one place, __version__ of src/healthcheck; the
# label below takes it from VERSION. A VERSION that is not __version__ stops
# the build here, in seconds, before anything is compiled; without VERSION the
# label is empty (the binaries' --version names the version either way).
FROM ${BASE_IMAGE} AS version
COPY src/healthcheck/__init__.py /src/
ARG VERSION
RUN v=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' /src/__init__.py) \
 && if [ -z "$v" ]; then echo "ERROR: no __version__ in src/healthcheck/__init__.py" >&2; exit 1; fi \
 && if [ -n "$VERSION" ] && [ "$VERSION" != "$v" ]; then \
        echo "ERROR: --build-arg VERSION=$VERSION, but src/healthcheck/__init__.py is $v:" \
             "pass VERSION=$v (as make image does) or no VERSION" >&2; exit 1; fi \
 && echo "$v" > /version

FROM ${BASE_IMAGE} AS build
ENV DEBIAN_FRONTEND=noninteractive CI=true HEALTHCHECK_CACHE=/cache
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
        ca-certificates make python3 python3-venv patch xz-utils bzip2 dpkg-dev \
 && rm -rf /var/cache/apt/archives/*.deb /var/lib/apt/lists/*
WORKDIR /src
# Source and compiler first (the slow, rarely changing part), then our code.
# The pinned-sums files always exist; the cached downloads may not.
COPY static/fetch-source.sh static/apt-mirror.sh static/micropython.sha256 static/zig.sh static/zig-requirements.txt static/
# TLS hook (static/tls/README.md): mbedTLS's source package, pinned the same way.
COPY static/tls/mbedtls.sha256 static/tls/
COPY static/micropython.sha256 static/.cache/deb-sr[c] /cache/deb-src/
COPY static/zig-requirements.txt static/.cache/wheel[s] /cache/wheels/
RUN static/fetch-source.sh && static/fetch-source.sh static/tls/mbedtls.sha256 && static/zig.sh
COPY static/static.sh static/names.sh static/bundle.py static/micropython-tool-mode.patch static/platforms static/
COPY static/variant/ static/variant/
COPY static/tls/ static/tls/
COPY src/ src/
# The checked version (the same whatever VERSION was, so no cache is lost):
# the native binary must print it.
COPY --from=version /version /version
# SOURCE_DATE_EPOCH: `make image` passes the commit's time, as `make dist` uses;
# HEALTHCHECK_REVISION the commit that --version names (no .git in the context).
ARG SOURCE_DATE_EPOCH
ARG HEALTHCHECK_REVISION
# TARGETARCH/TARGETVARIANT are set by BuildKit/buildx; the classic builder
# leaves them empty: then the build machine's own architecture.
ARG TARGETARCH
ARG TARGETVARIANT
RUN arch="${TARGETARCH:+$TARGETARCH${TARGETVARIANT:+-$TARGETVARIANT}}" \
 && if [ -z "$arch" ]; then case $(dpkg --print-architecture) in \
        i386) arch=386 ;; armhf) arch=arm-v7 ;; armel) arch=arm-v6 ;; ppc64el) arch=ppc64le ;; \
        *) arch=$(dpkg --print-architecture) ;; esac; fi \
 && static/static.sh "$arch" /out/healthcheck \
 && HEALTHCHECK_FLAVOR=tls static/static.sh "$arch" /out/healthcheck \
 && if [ -z "$TARGETARCH" ]; then /out/healthcheck/TCP --version | grep -F "(healthcheck) $(cat /version) " \
    && { /out/healthcheck/UDP6 1 --quiet; test $? = 1; } \
    && { /out/healthcheck/HTTPS 1 --quiet; test $? = 1; }; fi

FROM scratch
# `make image` passes VERSION (checked in stage version), HEALTHCHECK_REVISION
# and SOURCE (the repository URL, when git knows one).
ARG VERSION
ARG SOURCE=
ARG HEALTHCHECK_REVISION=
LABEL org.opencontainers.image.title="healthcheck" \
      org.opencontainers.image.revision="${HEALTHCHECK_REVISION}" \
      org.opencontainers.image.description="TCP, UDP, TCP6, UDP6, UNIX, HTTP, HTTPS, GRPC: exit 0 if the service in the container is listening (and for HTTP, HTTPS and GRPC answering), 1 otherwise. Static binaries, no shell or libc needed." \
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
