"""Finding the programs gauntlet runs or builds with: the one lookup the backends,
``gauntlet doctor`` and ``gauntlet install`` share, and the one command that installs each.

    find("toxiproxy-server")        # a path, or InfrastructureError naming the install command
    locate("redis-server")          # a path or None (doctor lists what is missing)

Where a program is looked for, in order: beside the running interpreter and in its prefix's
``bin`` (a virtualenv, a pipx or ``uv tool`` environment: where ``gauntlet install`` puts
Toxiproxy when it may write there), gauntlet's own cache ``bin`` (where it puts it otherwise),
then ``PATH``. gauntlet's own places come first so that the Toxiproxy it built is the one it
runs even when an older one is on ``PATH``.
"""

from __future__ import annotations

import glob
import os
import platform
import shutil
import sys
from pathlib import Path
from typing import Literal

from gauntlet.errors import InfrastructureError
from gauntlet.toxiproxy_source import source_revision

# Go is often installed outside PATH (the go.dev archive unpacks to /usr/local/go)
GO_DIRS = (Path("/usr/local/go/bin"), Path("/usr/lib/go/bin"))
# what `gauntlet install toxiproxy` builds, and what the hints name
TOXIPROXY_VERSION = "2.12.0"
HTTP_TOXICS_REVISION = source_revision()  # stamped into gauntlet's toxiproxy-server
GO_MIN = (1, 21)  # toolchain switching: an older go cannot fetch the 1.23 toxiproxy needs
GO_ARCHIVE = "1.24.4"  # the release the no-Go hint installs from go.dev

Manager = Literal["apt", "dnf", "brew", ""]  # "": none known


def cache_dir() -> Path:
    """gauntlet's cache: ``$GAUNTLET_CACHE`` itself, else ``$XDG_CACHE_HOME/gauntlet``, else
    ``~/.cache/gauntlet`` (the PostgreSQL template and a user's Toxiproxy live here)."""
    own = os.environ.get("GAUNTLET_CACHE")
    if own:
        return Path(own)
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "gauntlet"


def cache_bin_dir() -> Path:
    return cache_dir() / "bin"


def own_bin_dirs() -> list[Path]:
    """gauntlet's own places, before ``PATH``: the interpreter's directory, its prefix's bin,
    the cache's bin (duplicates dropped, order kept)."""
    dirs = [Path(sys.executable).parent, Path(sys.prefix) / "bin", cache_bin_dir()]
    return list(dict.fromkeys(dirs))


def _runnable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def locate(name: str, extra_dirs: tuple[Path, ...] = ()) -> Path | None:
    """``name`` in gauntlet's own places, then on ``PATH``, then in ``extra_dirs``."""
    for directory in own_bin_dirs():
        if _runnable(directory / name):
            return directory / name
    found = shutil.which(name)
    if found:
        return Path(found)
    return next((d / name for d in extra_dirs if _runnable(d / name)), None)


def find(name: str) -> str:
    """``name`` as :func:`locate` finds it, or the one-line error naming what installs it."""
    found = locate(name)
    if found is None:
        raise InfrastructureError(f"{name} not found", hint=install_command(name))
    return str(found)


def locate_go() -> Path | None:
    return locate("go", GO_DIRS)


def postgres_bindir() -> Path:
    """Debian keeps initdb and postgres in a versioned directory, not on PATH."""
    found = locate_postgres_bindir()
    if found is None:
        raise InfrastructureError("PostgreSQL server (initdb, postgres) not found",
                                  hint=install_command("postgres"))
    return found


def locate_postgres_bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    found = shutil.which("postgres")
    return Path(found).resolve().parent if found else None


def package_manager() -> Manager:
    """The system's package manager, for the install hints (none known: the generic hint)."""
    if sys.platform == "darwin":
        return "brew" if shutil.which("brew") else ""
    if _on_system("apt-get"):
        return "apt"
    return "dnf" if _on_system("dnf") else ""


def _on_system(program: str) -> bool:
    return bool(shutil.which(program)) or _runnable(Path("/usr/bin") / program)


# the system package behind each program, per package manager
_PACKAGES: dict[str, dict[Manager, str]] = {
    "postgres": {"apt": "postgresql", "dnf": "postgresql-server", "brew": "postgresql@16"},
    "redis-server": {"apt": "redis-server", "dnf": "redis", "brew": "redis"},
    "pgbouncer": {"apt": "pgbouncer", "dnf": "pgbouncer", "brew": "pgbouncer"},
    "rabbitmq-server": {"apt": "rabbitmq-server", "dnf": "rabbitmq-server", "brew": "rabbitmq"},
    "docker": {"apt": "docker.io", "dnf": "moby-engine", "brew": "--cask docker"},
}
_ALIASES = {"initdb": "postgres", "pg_ctl": "postgres", "docker-engine": "docker"}
COMPOSE_VERSION = "v2.35.0"  # the last compose v2 tag `go install` accepts (no exclude block)


def install_command(name: str, manager: Manager | None = None, *, root: bool | None = None,
                    machine: str | None = None) -> str:
    """The one command that installs ``name`` here (``manager``, ``root`` and ``machine`` are
    for tests; by default they are this machine's)."""
    manager = package_manager() if manager is None else manager
    root = (os.geteuid() == 0) if root is None else root
    sudo = "" if root or manager == "brew" else "sudo "
    name = _ALIASES.get(name, name)
    if name in ("toxiproxy-server", "toxiproxy-cli", "toxiproxy"):
        return "gauntlet install toxiproxy"
    if name == "go":
        if manager == "brew":
            return "brew install go"
        # distributions' golang is often older than 1.21 (Debian 12's is 1.19); go.dev's archive
        # unpacks to /usr/local/go, where gauntlet looks for it even when it is not on PATH
        arch = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
            machine or platform.machine(), "amd64")
        system = "darwin" if sys.platform == "darwin" else "linux"
        return (f"curl -fsSL https://go.dev/dl/go{GO_ARCHIVE}.{system}-{arch}.tar.gz "
                f"| {sudo}tar -C /usr/local -xz")
    if name == "docker-compose":
        if manager == "brew":
            return "brew install docker-compose"
        # not packaged in Debian 12 (its docker-compose is v1): the CLI plugin, built with Go
        plugins = "$HOME/.docker/cli-plugins"
        return (f"GOBIN={plugins} go install github.com/docker/compose/v2/cmd@{COMPOSE_VERSION}"
                f" && mv {plugins}/cmd {plugins}/docker-compose")
    package = _PACKAGES.get(name, {}).get(manager)
    if package is None:
        return f"install {name} with your system's package manager"
    if manager == "brew":
        return f"brew install {package}"
    if manager == "dnf":
        return f"{sudo}dnf install -y {package}"
    return f"{sudo}apt-get install -y {package}"
