#!/usr/bin/env bash
# The flake rate of gauntlet's verdicts (scripts/flake.py): set up what is missing, then run
# `gauntlet verify` on each contract N times, optionally beside a CPU hog, and print each
# verdict's pass / fail / inconclusive counts.
#
#   bash scripts/flake.sh --runs 10 stack/contract.toml examples/node-stack/contract.toml
#   bash scripts/flake.sh --runs 10 --hog 2 stack/contract.toml examples/node-stack/contract.toml
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python scripts/flake.py "$@"
