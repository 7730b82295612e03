#!/usr/bin/env bash
# The main job: set up what is missing, then verify the reference stack's breaker, retries and
# rate limits under faults (contracts/quick.toml, on the local backend: about two minutes).
# Prints every verdict, the counts, the run dir and its report (index.html, claims.md,
# junit.xml, summary.json). Exit 0 when every verdict passed.
# Extra arguments go to `gauntlet verify` (e.g. --output DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/gauntlet verify contracts/quick.toml "$@"
