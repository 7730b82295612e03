#!/usr/bin/env bash
# Regenerate requirements-dev.lock: the exact versions CI and scripts/setup.sh install (the dev
# extra, which includes the reference stack's), resolved from pyproject.toml's ranges.
#
#   bash scripts/lock.sh                 # keep every locked version that still fits the ranges
#   bash scripts/lock.sh --upgrade       # take the newest versions the ranges allow
#   bash scripts/lock.sh --upgrade-package pandas
#
# uv rather than pip-tools: `--universal` writes one lock for every platform and Python >= 3.11,
# with environment markers where they differ. The app image's Debian Python is 3.11.2, which
# needs async-timeout (redis pulls it in below 3.11.3) where the host's newer 3.11 does not; a
# pip-compile lock is resolved for the interpreter that ran it and would leave it out. The lock
# stays in pip's requirements format, so installing from it needs only pip.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-.venv/bin/uv}
[ -x "$UV" ] || UV=$(command -v uv) || { echo "uv not found: pip install uv" >&2; exit 3; }
exec "$UV" pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
    -o requirements-dev.lock "$@"
