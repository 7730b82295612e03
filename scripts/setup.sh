#!/usr/bin/env bash
# Idempotent set-up of everything the local backend and the tests need, on a fresh Debian 12:
# apt packages (PostgreSQL, Redis, wrk, nginx for the optional gateway), Toxiproxy built with Go
# (it is in no package registry), and the project's virtualenv in .venv. Safe to run again: each
# step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOXIPROXY_VERSION=v2.12.0
VENV=${GAUNTLET_VENV:-$ROOT/.venv}
log() { printf '[setup] %s\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
command -v psql >/dev/null 2>&1 || need_apt+=(postgresql-client)
# the reference stack's gateway (stack/gateway): Debian's nginx has realip, limit_req, limit_conn
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
if [ ${#need_apt[@]} -gt 0 ]; then
    log "installing apt packages: ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
    # Debian starts the packaged services; gauntlet runs private instances and wants the ports quiet.
    $SUDO systemctl disable --now redis-server postgresql nginx >/dev/null 2>&1 || true
    $SUDO service redis-server stop >/dev/null 2>&1 || true
    $SUDO service postgresql stop >/dev/null 2>&1 || true
    $SUDO service nginx stop >/dev/null 2>&1 || true
fi

if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtualenv $VENV"
    python3 -m venv "$VENV"
fi
stamp="$VENV/.gauntlet-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    log "installing python dependencies (pinned, pyproject.toml)"
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null
    "$VENV/bin/pip" install -q -e ".[dev]"
    touch "$stamp"
fi

# Toxiproxy: built from source with Go, installed beside the venv's python so gauntlet finds it.
if [ ! -x "$VENV/bin/toxiproxy-server" ] || [ ! -x "$VENV/bin/toxiproxy-cli" ]; then
    if ! command -v go >/dev/null 2>&1; then
        for d in /usr/local/go/bin /usr/lib/go/bin; do [ -x "$d/go" ] && PATH="$d:$PATH"; done
    fi
    command -v go >/dev/null 2>&1 || { log "Go is required to build Toxiproxy (apt-get install golang)"; exit 3; }
    log "building toxiproxy $TOXIPROXY_VERSION with Go"
    gobin=$(mktemp -d)
    # stamp the version (a plain `go install` reports "git")
    ldflags="-X github.com/Shopify/toxiproxy/v2.Version=${TOXIPROXY_VERSION#v}"
    GOBIN=$gobin GOFLAGS=-mod=mod go install -ldflags "$ldflags" \
        "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION"
    GOBIN=$gobin GOFLAGS=-mod=mod go install -ldflags "$ldflags" \
        "github.com/Shopify/toxiproxy/v2/cmd/cli@$TOXIPROXY_VERSION"
    install -m 0755 "$gobin/server" "$VENV/bin/toxiproxy-server"
    install -m 0755 "$gobin/cli" "$VENV/bin/toxiproxy-cli"
    rm -rf "$gobin"
fi
# The Node reference service's packages (examples/node-stack), from the npm registry
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    bash examples/node-stack/setup.sh
else
    log "node/npm not found: examples/node-stack (the Node reference service) will not run"
fi
log "ready: $VENV (toxiproxy $("$VENV/bin/toxiproxy-server" -version 2>&1 | head -1))"
