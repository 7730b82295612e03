"""``gauntlet init``: a starter contract, locustfile, suite and CI workflow for a team's repo.

The starter describes a service with a database link, a health claim and a shutdown claim, on
the external backend (the team's stack already running, a Toxiproxy in front of the database);
every file says what to edit. Existing files are never overwritten unless asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from gauntlet.errors import ConfigError

FILES = {
    "contract.toml": "contract.toml.tmpl",
    "gauntlet.toml": "gauntlet.toml.tmpl",
    "locustfile.py": "locustfile.py.tmpl",
    ".github/workflows/gauntlet.yml": "workflow.yml.tmpl",
}


@dataclass(frozen=True)
class Written:
    path: Path
    created: bool


def init(directory: Path, *, name: str, base_url: str, force: bool = False) -> list[Written]:
    """Write the starter files into ``directory``; a ConfigError (nothing written) when one
    exists and ``force`` is not set."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]*", name):
        raise ConfigError(f"--name {name!r}: letters, digits, '_', '.', '-', starting with a "
                          "letter")
    existing = [rel for rel in FILES if (directory / rel).exists()]
    if existing and not force:
        raise ConfigError(f"{directory / existing[0]} exists; nothing was written (--force "
                          "overwrites)")
    templates = resources.files("gauntlet") / "templates"
    written: list[Written] = []
    for rel, template in FILES.items():
        text = (templates / template).read_text().format(name=name, base_url=base_url)
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        created = not path.exists()
        path.write_text(text)
        written.append(Written(path, created))
    return written
