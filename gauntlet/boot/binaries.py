"""Finding the programs the local backend runs, with a hint when one is missing."""

from __future__ import annotations

import glob
import shutil
import sys
from pathlib import Path

from gauntlet.errors import InfrastructureError

SETUP_HINT = "run scripts/setup.sh, which installs PostgreSQL, Redis and Toxiproxy"


def find(name: str) -> str:
    """``name`` on PATH, or beside the running interpreter (setup puts Toxiproxy in the venv)."""
    found = shutil.which(name)
    if found:
        return found
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    beside = Path(sys.prefix) / "bin" / name
    if beside.is_file():
        return str(beside)
    raise InfrastructureError(f"{name} not found", hint=SETUP_HINT)


def postgres_bindir() -> Path:
    """Debian keeps initdb and postgres in a versioned directory, not on PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    found = shutil.which("postgres")
    if found:
        return Path(found).resolve().parent
    raise InfrastructureError("PostgreSQL server (initdb, postgres) not found", hint=SETUP_HINT)
