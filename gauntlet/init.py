"""``gauntlet init``: a starter contract, locustfile, suite and CI workflow for a team's repo.

The starter describes a service with a database link, a health claim and a shutdown claim, on
the external backend (the team's stack already running, a Toxiproxy in front of the database);
every file says what to edit. Adapted to a service whose mechanisms work, it passes (exit 0):
its shutdown claim signals through a PID file, which shows the exit but never its code, so it
claims no code (``exit_code = "any"``) rather than one no run could verify. The base URL must
be a loopback address, as every target gauntlet aims load at. Existing files are never
overwritten unless asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from gauntlet.errors import ConfigError
from gauntlet.net import is_loopback_url

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
    if not is_loopback_url(base_url) or not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"--base-url {base_url!r}: not an http URL on a loopback address "
                          "(127.0.0.0/8, ::1, localhost); gauntlet only aims load at stacks you "
                          "own, and a remote one needs stack.allow_remote in the suite")
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
