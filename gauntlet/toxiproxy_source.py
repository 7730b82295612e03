"""Where gauntlet's toxiproxy-server comes from: the Go module shipped in this package
(``gauntlet/toxiproxy``: Toxiproxy as a library with gauntlet's HTTP toxics, docs/faults.md),
and the digest of its sources that each build is stamped with.

Standard library only, so ``scripts/bootstrap-containers.sh`` can name its image after the
digest with any ``python3``, before gauntlet's environment exists::

    python3 -c 'from gauntlet.toxiproxy_source import source_revision; print(source_revision())'
"""

from __future__ import annotations

import hashlib
from pathlib import Path

TOXIPROXY_SOURCE = Path(__file__).resolve().parent / "toxiproxy"


def source_revision(source: Path = TOXIPROXY_SOURCE) -> str:
    """A digest of the server's Go sources (tests aside), stamped into the build: a server
    built from other sources (a stock one, an older gauntlet's) is built again, and nobody has
    to remember to bump a number when a toxic changes."""
    digest = hashlib.sha256()
    for path in sorted(source.rglob("*")):
        if path.is_file() and ((path.suffix == ".go" and not path.name.endswith("_test.go"))
                               or path.name in ("go.mod", "go.sum")):
            digest.update(path.relative_to(source).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]
