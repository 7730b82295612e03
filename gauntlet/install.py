"""``gauntlet install toxiproxy``: build Toxiproxy's server and cli with Go and put them where
gauntlet's binary lookup finds them.

The server is Toxiproxy's, built from the Go module shipped inside this package
(``gauntlet/toxiproxy``): the pinned Toxiproxy release as a library, with gauntlet's HTTP
toxics registered (``http_status``, ``http_first_byte``: docs/faults.md). Custom toxics compiled
into the server are Toxiproxy's documented way to add a fault (CREATING_TOXICS.md); nothing else
in the server changes. The cli is upstream's, unchanged.

Toxiproxy is in no package registry gauntlet can count on (not PyPI, not Debian, not npm), and
pulling its container image needs a registry; Go's module proxy is the one source every machine
that can ``pip install`` can usually reach too. So gauntlet builds it, the way upstream's own
``go install`` instructions do, with the version stamped in (a plain ``go install`` reports
"git"), and installs the two programs as ``toxiproxy-server`` and ``toxiproxy-cli``:

- into the active environment's ``bin`` (a virtualenv, pipx or ``uv tool`` environment) when
  gauntlet may write there, so the environment carries its own Toxiproxy and removing it
  removes that too;
- otherwise into gauntlet's cache (``$GAUNTLET_CACHE/bin``, ``$XDG_CACHE_HOME/gauntlet/bin`` or
  ``~/.cache/gauntlet/bin``), which the lookup (:mod:`gauntlet.boot.binaries`) searches too.

Idempotent: when the lookup already finds both programs at this version, nothing is built.

    result = install_toxiproxy(on_line=print)
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gauntlet.boot.binaries import (
    GO_MIN,
    HTTP_TOXICS_REVISION,
    TOXIPROXY_VERSION,
    cache_bin_dir,
    install_command,
    locate,
    locate_go,
)
from gauntlet.errors import InfrastructureError
from gauntlet.toxiproxy_source import TOXIPROXY_SOURCE

MODULE = "github.com/Shopify/toxiproxy/v2"
# installed name -> the module's package that builds it (go names the binary after the folder)
PROGRAMS = {"toxiproxy-server": "cmd/server", "toxiproxy-cli": "cmd/cli"}
# gauntlet's own server: the Go module in this package, and its main package in it
SOURCE = TOXIPROXY_SOURCE  # gauntlet/toxiproxy
SERVER_PACKAGE = "./cmd/toxiproxy-server"
GO_TOOLCHAIN = (1, 23)  # toxiproxy v2.12.0's go.mod: an older go >= 1.21 fetches this one
BUILD_TIMEOUT_S = 900.0  # a cold module cache over a slow proxy: minutes, never forever
LOG_LINES = 20


@dataclass(frozen=True)
class Installed:
    """What ``install_toxiproxy`` did: where the programs are, and whether it built them."""

    directory: Path
    version: str
    built: bool
    build_s: float = 0.0
    go: str = ""  # the go that built them ("go1.26.8")
    # the lookup finds another toxiproxy-server first (a non-writable environment's own)
    shadowed_by: Path | None = None


def _says(path: Path) -> str:
    """What ``path -version`` prints (both programs answer the flag); "" when it does not run."""
    try:
        done = subprocess.run([str(path), "-version"], capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout + done.stderr


def program_version(path: Path) -> str | None:
    """``2.12.0`` from ``toxiproxy-server -version`` (the cli answers the same flag); None when
    the program does not run or says something else."""
    match = re.search(r"version\s+v?(\d+\.\d+\.\d+)", _says(path))
    return match.group(1) if match else None


def http_toxics_revision(path: Path) -> str | None:
    """``3f2a…`` from gauntlet's server (``-version`` says ``(gauntlet http toxics 3f2a…)``,
    the digest of the sources it was built from); None for a stock toxiproxy-server or one
    that does not run."""
    match = re.search(r"gauntlet http toxics (\w+)", _says(path))
    return match.group(1) if match else None


def parse_go_version(text: str) -> tuple[int, int] | None:
    """``(1, 26)`` from ``go version go1.26.8 linux/amd64`` (also ``go1.23rc1``)."""
    match = re.search(r"\bgo(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def go_version(go: Path) -> tuple[tuple[int, int], str]:
    try:
        done = subprocess.run([str(go), "version"], capture_output=True, text=True, timeout=30,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InfrastructureError(f"{go} does not run: {exc}",
                                  hint=install_command("go")) from exc
    parsed = parse_go_version(done.stdout)
    if done.returncode != 0 or parsed is None:
        raise InfrastructureError(f"{go} version did not say which Go it is "
                                  f"({(done.stdout + done.stderr).strip()[:80]!r})",
                                  hint=install_command("go"))
    return parsed, f"go{parsed[0]}.{parsed[1]}"


def target_dir() -> Path:
    """The active environment's ``bin`` when gauntlet runs in one it may write, else the
    cache's ``bin``."""
    if sys.prefix != sys.base_prefix:  # a virtualenv (pipx and uv tool make one too)
        env_bin = Path(sys.prefix) / "bin"
        if env_bin.is_dir() and os.access(env_bin, os.W_OK):
            return env_bin
    return cache_bin_dir()


def present(version: str = TOXIPROXY_VERSION) -> Path | None:
    """The directory of a toxiproxy-server the lookup finds at ``version``, when the lookup
    finds toxiproxy-cli at that version too; else None."""
    found = {name: locate(name) for name in PROGRAMS}
    if any(path is None for path in found.values()):
        return None
    server = found["toxiproxy-server"]
    if server is None or http_toxics_revision(server) != HTTP_TOXICS_REVISION:
        return None  # a stock server, or an older build of gauntlet's toxics
    if all(program_version(path) == version for path in found.values() if path is not None):
        return server.parent
    return None


def install_toxiproxy(*, force: bool = False, on_line: Callable[[str], None] = lambda _: None,
                      on_start: Callable[[str], None] = lambda _: None,
                      version: str = TOXIPROXY_VERSION) -> Installed:
    """Build and install Toxiproxy ``version`` unless the lookup already finds it (``force``
    rebuilds). ``on_start`` receives one line saying what is built with which Go and where,
    ``on_line`` go's progress (packages as they compile, downloads)."""
    if not force:
        where = present(version)
        if where is not None:
            return Installed(where, version, built=False)
    go = locate_go()
    if go is None:
        raise InfrastructureError(
            "Go not found: Toxiproxy is built from source with Go (1.21 or newer)",
            hint=install_command("go"))
    go_ver, go_name = go_version(go)
    if go_ver < GO_MIN:
        raise InfrastructureError(
            f"{go} is {go_name}, too old to build Toxiproxy v{version} (it needs Go "
            f"{GO_TOOLCHAIN[0]}.{GO_TOOLCHAIN[1]}, which Go 1.21 or newer fetches by itself)",
            hint=install_command("go"))
    target = target_dir()
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InfrastructureError(f"cannot create {target}: {exc.strerror}",
                                  hint="set GAUNTLET_CACHE to a directory you may write") from exc
    on_start(f"building Toxiproxy v{version} with {go_name} ({go}) into {target}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gauntlet-toxiproxy-") as scratch:
        gobin = Path(scratch) / "bin"
        source = Path(scratch) / "src"  # a copy: the package may sit where go may not write
        shutil.copytree(SOURCE, source, ignore=shutil.ignore_patterns("*_test.go"))
        _go(go, go_ver, gobin, source, version, on_line,
            ["build", "-o", str(gobin / "server"), SERVER_PACKAGE],
            stamp=f" -X main.Revision={HTTP_TOXICS_REVISION}")
        _go(go, go_ver, gobin, Path(scratch), version, on_line,
            ["install", f"{MODULE}/{PROGRAMS['toxiproxy-cli']}@v{version}"])
        for name, package in PROGRAMS.items():
            _place(gobin / Path(package).name, target / name)
    built_s = time.monotonic() - started
    for name in PROGRAMS:
        if program_version(target / name) != version:
            raise InfrastructureError(f"{target / name} was built but does not report version "
                                      f"{version}")
    if http_toxics_revision(target / "toxiproxy-server") != HTTP_TOXICS_REVISION:
        raise InfrastructureError(f"{target / 'toxiproxy-server'} was built but does not "
                                  f"report gauntlet's HTTP toxics {HTTP_TOXICS_REVISION}")
    first = locate("toxiproxy-server")
    shadow = first if first is not None and first.parent != target else None
    return Installed(target, version, built=True, build_s=built_s, go=go_name,
                     shadowed_by=shadow)


def _go(go: Path, go_ver: tuple[int, int], gobin: Path, cwd: Path, version: str,
        on_line: Callable[[str], None], command: list[str], stamp: str = "") -> None:
    """``go build`` (the server, from this package's module) or ``go install`` (the cli, at
    the pinned release), with the version stamped in, its output streamed line by line; a
    failure carries go's last lines."""
    gobin.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOBIN": str(gobin), "GOWORK": "off", "GOFLAGS": "-mod=readonly"}
    if go_ver < GO_TOOLCHAIN and "GOTOOLCHAIN" not in os.environ:
        env["GOTOOLCHAIN"] = "auto"  # a machine-wide `local` would refuse the newer go.mod
    argv = [str(go), command[0], "-v", "-ldflags", f"-X {MODULE}.Version={version}{stamp}",
            *command[1:]]
    tail: deque[str] = deque(maxlen=LOG_LINES)
    timed_out = threading.Event()
    with subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, start_new_session=True) as proc:

        def kill_group() -> None:
            timed_out.set()
            _kill(proc)

        watchdog = threading.Timer(BUILD_TIMEOUT_S, kill_group)
        watchdog.start()
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.rstrip()
                if line:
                    tail.append(line)
                    on_line(line)
            code = proc.wait()
        finally:
            watchdog.cancel()
            if proc.poll() is None:  # interrupted: the build goes with us
                _kill(proc)
                proc.wait()
    if timed_out.is_set():
        raise InfrastructureError(f"building Toxiproxy v{version} took over "
                                  f"{BUILD_TIMEOUT_S:.0f} s and was stopped",
                                  hint="check that the Go module proxy (GOPROXY) is reachable",
                                  logs="\n".join(tail))
    if code != 0:
        raise InfrastructureError(f"building Toxiproxy v{version} with {go} failed "
                                  f"(exit {code}): {tail[-1] if tail else 'no output'}",
                                  hint="check that the Go module proxy (GOPROXY) is reachable",
                                  logs="\n".join(tail))


def _kill(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _place(built: Path, dest: Path) -> None:
    """Copy beside ``dest`` and rename over it: a running toxiproxy keeps its old file, and a
    second install at the same time never leaves half a binary."""
    if not built.is_file():
        raise InfrastructureError(f"go install produced no {built.name}")
    partial = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
    try:
        shutil.copyfile(built, partial)
        partial.chmod(0o755)
        partial.replace(dest)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InfrastructureError(f"cannot install {dest}: {exc.strerror}") from exc
