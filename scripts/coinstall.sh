#!/usr/bin/env bash
# Show that gauntlet installs into a team's environment that already pins the libraries it
# shares with gauntlet, at versions other than requirements-dev.lock's: a throw-away venv gets
# the team's pins first, then `pip install` of this repo with those pins as constraints (pip
# fails rather than move one), then `pip check`, the versions, and two gauntlet commands.
#
#   bash scripts/coinstall.sh                               # the pins below
#   TEAM_PINS="pydantic==2.11.7 rich==14.1.0" bash scripts/coinstall.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${COINSTALL_VENV:-}" ]; then
    VENV=$COINSTALL_VENV
else
    scratch=$(mktemp -d)
    VENV=$scratch/venv
fi
TEAM_PINS=${TEAM_PINS:-"pydantic==2.11.7 httpx==0.28.0 pandas==2.3.3 rich==14.1.0"}
log() { printf '[coinstall] %s\n' "$*" >&2; }

python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
log "the team's pins: $TEAM_PINS"
# shellcheck disable=SC2086
"$VENV/bin/pip" install -q $TEAM_PINS
pins=$(mktemp)
trap 'rm -rf "$pins" ${scratch:+"$scratch"}' EXIT
tr ' ' '\n' <<< "$TEAM_PINS" > "$pins"
log "pip install . (the pins as constraints)"
"$VENV/bin/pip" install -q -c "$pins" .
"$VENV/bin/pip" check
# shellcheck disable=SC2086
for pin in $TEAM_PINS; do
    name=${pin%%==*}
    have=$("$VENV/bin/python" -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$name")
    [ "$have" = "${pin#*==}" ] || { log "$name moved to $have"; exit 1; }
    log "kept $name==$have"
done
"$VENV/bin/gauntlet" validate stack/contract.toml suites/resilience.toml
"$VENV/bin/gauntlet" schema --out "$(dirname "$VENV")/schemas"
log "resolved: $("$VENV/bin/pip" list --format=freeze 2>/dev/null | grep -icE '^(gauntlet|locust|numpy|pyarrow)==' ) of gauntlet, locust, numpy, pyarrow installed"
