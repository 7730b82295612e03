#!/usr/bin/env bash
# The test command: set up what is missing, lint, then run the tests — unit tests and
# end-to-end tests against real PostgreSQL, Redis, Toxiproxy and the reference stack.
#
#   GAUNTLET_CONTAINERS=1  also install/start a Docker engine and build the images (the stacks',
#                          the operator's: scripts/bootstrap-containers.sh), so the compose
#                          tests run; without it they run only when a Docker engine already
#                          answers, else skip.
#   GAUNTLET_BROWSER=1     install Debian's Chromium if missing, so the report screenshot test
#                          renders the page instead of skipping.
#   GAUNTLET_SLOW=1        include the tests marked slow.
#   GAUNTLET_TEST_WORKERS  how many tests run at a time (pytest-xdist; default 2, or 0 on a
#                          one-core machine; 0 runs them in pytest's own process). An
#                          end-to-end test mostly waits on its phase timers, so two share two
#                          cores: docs/development.md says what that asks of a test.
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
slow="not slow and "
if [ "${GAUNTLET_SLOW:-0}" = "1" ]; then slow=""; fi
workers=${GAUNTLET_TEST_WORKERS:-$(( $(nproc) > 1 ? 2 : 0 ))}
set +e
if [ "$workers" = "0" ]; then
    .venv/bin/pytest -m "${slow%" and "}" --durations=15 "$@"
    codes=($?)
else
    # two at a time, then the tests marked serial alone (they time the generator itself)
    .venv/bin/pytest -m "${slow}not serial" --durations=15 -n "$workers" --dist loadgroup "$@"
    first=$?
    echo "[test] the tests marked serial, one at a time" >&2
    .venv/bin/pytest -m "${slow}serial" "$@"
    codes=("$first" $?)
fi
set -e
# pytest exits 5 when it collected nothing: never a pass, unless another pass ran tests
code=5
for c in "${codes[@]}"; do
    if [ "$c" -ne 0 ] && [ "$c" -ne 5 ]; then code=$c; break; fi
    if [ "$c" -eq 0 ]; then code=0; fi
done
if [ "$code" -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi
exit "$code"
