#!/usr/bin/env bash
# Prove the lower bounds of pyproject.toml's [project] dependencies: a throw-away virtualenv
# with every one of them at its lower bound (a pip constraints file of `name==lower`), the
# extras (stack, dev) at whatever the resolver picks beside them, then the unit tests there.
# A lower bound that this script has not passed with is a guess; rerun it after changing one.
#
#   bash scripts/lower-bounds.sh                 # venv in .venv-lower (kept for a rerun)
#   LOWER_VENV=/tmp/lb bash scripts/lower-bounds.sh -k contract   # extra args go to pytest
#
# Prints the versions it installed and pytest's closing line; exits with pytest's code (1 on a
# failing test, 3 when the constraints do not resolve).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${LOWER_VENV:-$PWD/.venv-lower}
PYTHON=${PYTHON:-python3}
log() { printf '[lower-bounds] %s\n' "$*" >&2; }

constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
# `name[extra]>=X,<Y` -> `name==X`; a dependency with no lower bound is an error here, since
# an open range is exactly what this script exists to rule out
"$PYTHON" - pyproject.toml > "$constraints" <<'EOF'
import re, sys, tomllib
deps = tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]
for dep in deps:
    m = re.match(r"^\s*([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*(.*)$", dep.split(";")[0])
    name, spec = m.group(1), m.group(2)
    low = re.search(r">=\s*([^,\s]+)", spec)
    if not low:
        sys.exit(f"lower-bounds: {dep!r} has no '>=' lower bound")
    print(f"{name}=={low.group(1)}")
EOF
log "constraints: $(tr '\n' ' ' < "$constraints")"

rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
if ! "$VENV/bin/pip" install -q -c "$constraints" -e ".[dev]"; then
    log "the lower bounds do not resolve together (see pip's message above)"
    exit 3
fi
log "installed (lower bounds of [project] dependencies):"
names=$(sed 's/==.*//' "$constraints" | tr '\n' ' ')
# shellcheck disable=SC2086
"$VENV/bin/pip" list --format=freeze 2>/dev/null | "$PYTHON" -c '
import re, sys
wanted = {re.sub(r"[-_.]+", "-", n).lower() for n in sys.argv[1:]}
for line in sys.stdin:
    name = re.sub(r"[-_.]+", "-", line.split("==")[0]).lower()
    if name in wanted:
        print("  " + line.strip())
' $names >&2
log "unit tests at the lower bounds"
set +e
"$VENV/bin/pytest" -q -p no:cacheprovider tests/unit "$@"
code=$?
set -e
if [ "$code" -eq 5 ]; then log "no tests were collected"; exit 1; fi
exit "$code"
