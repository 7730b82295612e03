#!/usr/bin/env bash
# The main job: set up what is missing, then run the default suite against the reference stack
# on the local backend. Prints p50/p95/p99, the error rate, the verdicts and the run dir.
# Extra arguments go to `gauntlet run` (e.g. --workers 2).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/gauntlet run suites/default.toml "$@"
