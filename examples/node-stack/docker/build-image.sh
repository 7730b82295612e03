#!/usr/bin/env bash
# Build scribe's image (scribe:dev), on a machine that can pull images or on one that cannot.
#
#   examples/node-stack/docker/build-image.sh            # prints the image name on stdout
#
# The base image (a Node >= 20.11 with npm), first found wins:
#   $SCRIBE_BASE_IMAGE; node:20-slim if it is already local; gauntlet-node:20-bookworm if it is
#   local; else gauntlet-node:20-bookworm is made from the project's Debian base
#   ($GAUNTLET_IMAGE_BASE, default gauntlet-base:bookworm, from scripts/bootstrap-containers.sh)
#   and the host's own node + npm; without that base either, node:20-slim (pulled).
# npm ci runs inside the build with the host's registry (`npm config get registry`) and CA
# bundle (`npm config get cafile`, else $NODE_EXTRA_CA_CERTS), copied into the context as
# ca-bundle.crt for the build only.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
APP_IMAGE=${SCRIBE_IMAGE:-scribe:dev}
NODE_BASE=${SCRIBE_NODE_BASE_IMAGE:-gauntlet-node:20-bookworm}
DEBIAN_BASE=${GAUNTLET_IMAGE_BASE:-gauntlet-base:bookworm}
export DOCKER_BUILDKIT=0   # the legacy builder: no buildx on our machines
log() { printf '[scribe-image] %s\n' "$*" >&2; }
have() { docker image inspect "$1" >/dev/null 2>&1; }

SCRATCH=()
cleanup() {
    [ ${#SCRATCH[@]} -eq 0 ] || rm -rf "${SCRATCH[@]}"
    # the CA bundle is in the context for this build only (unless someone put it there)
    if [ -f "$HERE/.ca-bundle-ours" ]; then rm -f "$HERE/ca-bundle.crt" "$HERE/.ca-bundle-ours"; fi
}
trap cleanup EXIT

base=${SCRIBE_BASE_IMAGE:-}
if [ -z "$base" ]; then
    if have node:20-slim; then
        base=node:20-slim
    elif have "$NODE_BASE"; then
        base=$NODE_BASE
    elif have "$DEBIAN_BASE"; then
        node_bin=$(readlink -f "$(command -v node)")
        npm_dir="$(npm root -g)/npm"
        major=$("$node_bin" -p 'process.versions.node.split(".")[0]')
        [ "$major" -ge 20 ] || { log "the host's Node is $("$node_bin" --version): need >= 20.11"; exit 3; }
        [ -f "$npm_dir/bin/npm-cli.js" ] || { log "npm not found at $npm_dir"; exit 3; }
        ctx=$(mktemp -d); SCRATCH+=("$ctx")
        cp "$node_bin" "$ctx/node"
        cp -a "$npm_dir" "$ctx/npm"
        cp "$HERE/docker/node-base.Dockerfile" "$ctx/Dockerfile"
        log "making $NODE_BASE from $DEBIAN_BASE and the host's node $("$node_bin" --version)"
        docker build -q --build-arg BASE_IMAGE="$DEBIAN_BASE" -t "$NODE_BASE" "$ctx" >/dev/null
        base=$NODE_BASE
    else
        base=node:20-slim
    fi
fi

registry=$(npm config get registry 2>/dev/null || echo https://registry.npmjs.org/)
cafile=$(npm config get cafile 2>/dev/null || true)
case $cafile in null|undefined|"") cafile=${NODE_EXTRA_CA_CERTS:-} ;; esac
if [ -n "$cafile" ] && [ -f "$cafile" ] && [ ! -f "$HERE/ca-bundle.crt" ]; then
    cp "$cafile" "$HERE/ca-bundle.crt"
    touch "$HERE/.ca-bundle-ours"
fi

log "building $APP_IMAGE FROM $base (npm registry $registry)"
docker build -q --build-arg BASE_IMAGE="$base" --build-arg NPM_REGISTRY="$registry" \
    -t "$APP_IMAGE" "$HERE" >/dev/null
docker image prune -f --filter label=org.scribe.stage=deps >/dev/null
echo "$APP_IMAGE"
