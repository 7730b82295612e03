#!/usr/bin/env bash
# Install scribe's packages from the npm registry, exactly as package-lock.json pins them.
# Idempotent: does nothing when node_modules was installed from this very lockfile by this
# Node major (a stamp in node_modules says so); npm ci otherwise (it starts from an empty
# node_modules, so a half-finished install is replaced, never patched).
#
#   examples/node-stack/setup.sh        # scripts/setup.sh calls it
set -euo pipefail
cd "$(dirname "$0")"
log() { printf '[node-stack] %s\n' "$*" >&2; }

command -v node >/dev/null 2>&1 || { log "node not found: scribe needs Node >= 20.11 with npm"; exit 3; }
command -v npm >/dev/null 2>&1 || { log "npm not found (Node's package manager; Debian: apt-get install npm)"; exit 3; }
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
    log "Node $(node --version) is too old: scribe needs Node >= 20.11"
    exit 3
fi

want="$(sha256sum package-lock.json | cut -d' ' -f1) node$major"
stamp=node_modules/.scribe-installed
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    log "node_modules matches package-lock.json: nothing to do"
    exit 0
fi
log "npm ci: installing the packages package-lock.json pins ($(npm config get registry))"
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
