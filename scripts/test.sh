#!/usr/bin/env bash
# The test command: set up what is missing, lint, then run the tests — unit tests and
# end-to-end tests against real PostgreSQL, Redis, Toxiproxy and the reference stack.
#
#   GAUNTLET_CONTAINERS=1  also install/start a Docker engine and build the stack's images
#                          (scripts/bootstrap-containers.sh), so the compose tests run; without
#                          it they run only when a Docker engine already answers, else skip.
#   GAUNTLET_BROWSER=1     install Debian's Chromium if missing, so the report screenshot test
#                          renders the page instead of skipping.
#   GAUNTLET_SLOW=1        include the tests marked slow.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "${GAUNTLET_BROWSER:-0}" = "1" ] && ! command -v chromium >/dev/null 2>&1; then
    echo "[test] installing chromium" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 || {
        $SUDO apt-get update -qq
        $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
    }
fi
if [ "${GAUNTLET_CONTAINERS:-0}" = "1" ]; then
    bash scripts/bootstrap-containers.sh >/dev/null
fi
.venv/bin/ruff check .
.venv/bin/mypy
markers="not slow"
if [ "${GAUNTLET_SLOW:-0}" = "1" ]; then markers=""; fi
set +e
.venv/bin/pytest -m "$markers" "$@"
code=$?
set -e
# pytest exits 5 when it collected nothing: never a pass
if [ "$code" -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi
exit "$code"
