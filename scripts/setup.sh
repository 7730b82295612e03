#!/usr/bin/env bash
# Idempotent set-up of everything the local backend and the tests need, on a fresh Debian 12:
# apt packages (PostgreSQL, Redis, wrk, nginx for the optional gateway), the project's virtualenv
# in .venv from requirements-dev.lock, and Toxiproxy built with Go by `gauntlet install
# toxiproxy` (it is in no package registry). Safe to run again: each step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
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
# PgBouncer in front of a managed PostgreSQL (a link's pooler = "pgbouncer"; Quemiai's contract)
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || need_apt+=(pgbouncer)
# RabbitMQ for a managed rabbitmq link (a notification queue); gauntlet runs private brokers
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need_apt+=(rabbitmq-server)
# `ip netns` and veth pairs: the multi-host test of remote workers (tests/e2e/test_netns_workers.py)
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || need_apt+=(iproute2)
if [ ${#need_apt[@]} -gt 0 ]; then
    log "installing apt packages: ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    # no packaged service may start (Debian's rabbitmq-server would leave a broker and an epmd
    # daemon running on the default ports): policy-rc.d says no for the install's length. A
    # policy already there (Docker's Debian images ship one) is put back afterwards, on failure too
    policy=/usr/sbin/policy-rc.d
    kept=""
    if [ -e "$policy" ]; then
        kept=$($SUDO mktemp)
        $SUDO cp -p "$policy" "$kept"
    fi
    restore_policy() {
        if [ -n "$kept" ]; then $SUDO mv -f "$kept" "$policy"; else $SUDO rm -f "$policy"; fi
    }
    trap restore_policy EXIT
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
    $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
    restore_policy
    trap - EXIT
    # Debian enables the packaged services; gauntlet runs private instances and wants the ports quiet.
    $SUDO systemctl disable --now redis-server postgresql nginx pgbouncer rabbitmq-server \
        >/dev/null 2>&1 || true
    $SUDO service redis-server stop >/dev/null 2>&1 || true
    $SUDO service postgresql stop >/dev/null 2>&1 || true
    $SUDO service nginx stop >/dev/null 2>&1 || true
    $SUDO service pgbouncer stop >/dev/null 2>&1 || true
fi

if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtualenv $VENV"
    python3 -m venv "$VENV"
fi
stamp="$VENV/.gauntlet-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements-dev.lock -nt "$stamp" ]; then
    # the exact versions CI measures with (requirements-dev.lock, see scripts/lock.sh), then
    # gauntlet itself on top without letting pip re-resolve anything
    log "installing python dependencies (requirements-dev.lock)"
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null
    "$VENV/bin/pip" install -q -r requirements-dev.lock
    "$VENV/bin/pip" install -q --no-deps -e .
    touch "$stamp"
fi

# Toxiproxy: built from source with Go into the venv's bin (gauntlet's own command; a no-op
# when it is there already at the version gauntlet wants)
"$VENV/bin/gauntlet" install toxiproxy
# The Node reference service's packages (examples/node-stack), from the npm registry
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    bash examples/node-stack/setup.sh
else
    log "node/npm not found: examples/node-stack (the Node reference service) will not run"
fi
log "ready: $VENV"
