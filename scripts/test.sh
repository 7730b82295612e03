#!/usr/bin/env bash
# The test command: set up what is missing, lint, then run the tests (unit + end-to-end against
# real PostgreSQL, Redis and Toxiproxy). Slow suites are opt-in: GAUNTLET_SLOW=1.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
markers="not slow"
if [ "${GAUNTLET_SLOW:-0}" = "1" ]; then markers=""; fi
set +e
.venv/bin/pytest -m "$markers" "$@"
code=$?
set -e
# pytest exits 5 when it collected nothing: never a pass
if [ "$code" -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi
exit "$code"
