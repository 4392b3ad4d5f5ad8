#!/bin/sh
# Publish dist/ as one multi-arch image: an OCI image index with one FROM-scratch
# image per platform of static/platforms, tagged VERSION and latest.
#
#   scripts/publish.sh                       # -> localhost:5000/healthcheck (started if needed)
#   HEALTHCHECK_REGISTRY=registry.example/me scripts/publish.sh     (make publish REGISTRY=...)
#
# Each image is the Dockerfile's final stage (labels, USER, ENTRYPOINT, CMD
# taken from it as they are) with dist/linux-ARCH/healthcheck/ copied in
# instead of the build stage's output, so the published binaries are the dist
# binaries: TCP with its links and healthcheck-tls with HTTPS (static/tls/);
# a dist/ built without healthcheck-tls (HEALTHCHECK_TLS=0) is not published.
# Built and pushed with buildah (Debian package buildah), in a storage of its
# own under the cache; image timestamps are SOURCE_DATE_EPOCH, so the
# same commit gives the same digests.
#
# Each platform's entry in the index names the SBOM `make dist` wrote for it
# (dist/linux-ARCH/healthcheck.spdx.json, attached to a release as
# healthcheck-linux-ARCH.spdx.json) in two annotations, healthcheck.sbom (that
# file name) and healthcheck.sbom.sha256 (its sum): the image itself holds only
# /healthcheck.
#
# Environment:
#   HEALTHCHECK_REGISTRY    registry and namespace (default localhost:5000; then
#                           scripts/registry-up.sh starts Debian's docker-registry)
#   HEALTHCHECK_IMAGE_NAME  default healthcheck
#   HEALTHCHECK_VERSION     default: __version__ of src/healthcheck
#   HEALTHCHECK_SOURCE      org.opencontainers.image.source label (default empty)
#   HEALTHCHECK_DIST        default dist/
#   HEALTHCHECK_REVISION    org.opencontainers.image.revision label (default: git's HEAD)
#   SOURCE_DATE_EPOCH       default: the commit's time
#   REGISTRY_AUTH_FILE      buildah's own: credentials (`buildah login`) for a real registry
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
DIST=${HEALTHCHECK_DIST:-$REPO/dist}
PLATFORMS=$REPO/static/platforms
REGISTRY=${HEALTHCHECK_REGISTRY:-localhost:5000}
IMAGE_NAME=${HEALTHCHECK_IMAGE_NAME:-healthcheck}
CACHE=${HEALTHCHECK_CACHE:-$REPO/static/.cache}
log() { echo "publish: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v buildah >/dev/null 2>&1 || die "buildah not found (Debian package buildah; scripts/deps.sh installs it)"
VERSION=${HEALTHCHECK_VERSION:-$(sed -n 's/^__version__ *= *"\(.*\)"/\1/p' "$REPO/src/healthcheck/__init__.py")}
[ -n "$VERSION" ] || die "no __version__ in src/healthcheck/__init__.py; set HEALTHCHECK_VERSION"
REVISION=${HEALTHCHECK_REVISION-$(git -C "$REPO" rev-parse --short=12 HEAD 2>/dev/null || true)}
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || echo 0)
fi

# Every platform's two binaries and SBOM before a registry or anything else is started.
for arch in $(awk '!/^#/ && NF { print $1 }' "$PLATFORMS"); do
    for f in healthcheck/TCP healthcheck/healthcheck-tls; do
        [ -f "$DIST/linux-$arch/$f" ] || die "$DIST/linux-$arch/$f missing: run make dist first"
    done
    sbom=$DIST/linux-$arch/healthcheck.spdx.json
    [ -f "$sbom" ] || die "$sbom missing: run make dist (static/dist.sh alone writes no SBOM)"
done

TLS=
case $REGISTRY in
    localhost:5000|localhost:5000/*|127.0.0.1:5000|127.0.0.1:5000/*)
        "$HERE/registry-up.sh"
        TLS=--tls-verify=false ;;
esac

# A storage of our own: nothing else's images are touched, and a rerun starts clean.
STATE=$CACHE/buildah
rm -rf "$STATE"
mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)
bh() { buildah --root "$STATE/root" --runroot "$STATE/run" --storage-driver vfs "$@"; }
cleanup() { bh rmi --all --force >/dev/null 2>&1 || true; rm -rf "$STATE"; }
trap cleanup EXIT

# The Dockerfile's final stage, reading the binaries from the context.
work=$STATE/ctx
mkdir -p "$work"
awk '/^FROM /{ stage = "" } { stage = stage $0 "\n" } END { printf "%s", stage }' "$REPO/Dockerfile" > "$work/stage"
head -n1 "$work/stage" | grep -qx 'FROM scratch' || die "the Dockerfile's last stage is not FROM scratch"
n=$(grep -c '^COPY --from=build /out/healthcheck/ /healthcheck/$' "$work/stage" || true)
[ "$n" = 1 ] || die "the Dockerfile's last stage has no 'COPY --from=build /out/healthcheck/ /healthcheck/' line"
sed 's|^COPY --from=build /out/healthcheck/ /healthcheck/$|COPY healthcheck/ /healthcheck/|' "$work/stage" > "$work/Containerfile"

LIST=$IMAGE_NAME-index
awk '!/^#/ && NF { print $1, $2 }' "$PLATFORMS" | while read -r arch platform; do
    bin=$DIST/linux-$arch/healthcheck
    sbom=$DIST/linux-$arch/healthcheck.spdx.json
    ctx=$work/$arch
    mkdir -p "$ctx"
    cp -a "$bin" "$ctx/healthcheck"
    log "$platform: $bin"
    os=$(echo "$platform" | cut -d/ -f1)
    cpu=$(echo "$platform" | cut -d/ -f2)
    variant=$(echo "$platform" | cut -s -d/ -f3)
    bh build -q --format oci --platform "$platform" -t "$IMAGE_NAME-$arch" \
        --timestamp "$SOURCE_DATE_EPOCH" \
        --build-arg VERSION="$VERSION" --build-arg SOURCE="${HEALTHCHECK_SOURCE:-}" \
        --build-arg HEALTHCHECK_REVISION="$REVISION" \
        -f "$work/Containerfile" "$ctx" >/dev/null
    # buildah 1.28 writes variant v7 into the config of any arm image, also
    # with --platform linux/arm/v6 or --variant v6: set the platform again on
    # a container of it and commit that into the index.
    ctr=$(bh from -q "$IMAGE_NAME-$arch")
    bh config --os "$os" --arch "$cpu" ${variant:+--variant "$variant"} "$ctr"
    bh commit -q --rm --timestamp "$SOURCE_DATE_EPOCH" --manifest "$LIST" "$ctr" "$IMAGE_NAME-$arch" >/dev/null 2>&1 \
        || die "buildah commit of $platform failed"
    # The index entry of this platform names its SBOM.
    digest=$(bh manifest inspect "$LIST" | python3 -c '
import json, sys
want = (sys.argv[1].split("/") + [""])[:3]
for m in json.load(sys.stdin)["manifests"]:
    p = m["platform"]
    if [p["os"], p["architecture"], p.get("variant", "")] == want:
        print(m["digest"])' "$platform")
    [ "$(echo "$digest" | wc -w)" = 1 ] || die "no single entry for $platform in the index: $digest"
    bh manifest annotate --annotation "healthcheck.sbom=healthcheck-linux-$arch.spdx.json" \
        --annotation "healthcheck.sbom.sha256=$(sha256sum < "$sbom" | cut -d' ' -f1)" "$LIST" "$digest" >/dev/null \
        || die "buildah manifest annotate of $platform failed"
done

for tag in "$VERSION" latest; do
    log "pushing $REGISTRY/$IMAGE_NAME:$tag"
    # shellcheck disable=SC2086
    bh manifest push -q --all --format oci $TLS "$LIST" "docker://$REGISTRY/$IMAGE_NAME:$tag"
done
log "published $REGISTRY/$IMAGE_NAME:$VERSION and :latest ($(awk '!/^#/ && NF' "$PLATFORMS" | wc -l) platforms)"
