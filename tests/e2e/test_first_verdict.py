"""A team's first green verdict, as a new user gets it: the README's own-service path, run from
its own files (docs/examples/own-service/), so a doc change that breaks the path fails here.

In a fresh virtualenv outside the repo, ``pip install`` of this repo (not editable; the README's
``pipx install ./gauntlet`` — pipx is not on this machine — installs the same package into a
venv of its own), then the README's steps as its example scripts say them, run by bash:
``install.sh`` (Toxiproxy through gauntlet, ``gauntlet doctor``), ``init.sh`` (a folder, ``gauntlet
init``), the starter's contract and suite replaced by the README's adapted ones, ``verify.sh``
(``gauntlet validate``, ``gauntlet verify``): exit 0. The doc's fixed addresses (the service on
127.0.0.1:8080, its Toxiproxy on 8474) are changed to the ports this test's service got, and
its p95 SLO to one a shared CI host keeps (``TEST_SLO``).

The team's running service is the reference stack (PostgreSQL, Redis, an upstream, the API), kept
running by the fresh install's own ``gauntlet up`` (so the README's "your service runs behind a
Toxiproxy" is true as written: the proxy in front of its database is named ``postgres``), with
the repo's interpreter as the service's own runtime. The shutdown claim signals it through the
PID file the team's start script would write; nothing restarts it, so the run must say it goes
last — and ``gauntlet up`` must then report the service's exit (reaped, no ``<defunct>``).

pip is fast from a wheelhouse built once per session (``--no-index --find-links``); each phase's
wall time is printed (``pytest -s`` shows it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from gauntlet.net import free_ports
from tests.e2e.conftest import ROOT

REPO_PYTHON = ROOT / ".venv" / "bin" / "python"
pytestmark = pytest.mark.timeout(900)


def _run(argv: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 300
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _source_tree(dest: Path) -> Path:
    """The working tree's files (tracked and new, nothing ignored) copied to ``dest``: pip
    builds the copy, never touching the checkout (an in-tree build writes build/ there)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        source = ROOT / rel
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the working tree
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    return dest


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """Wheels of gauntlet's dependencies and of its build backend, built once per session from
    pip's cache; and the source tree to install."""
    root = tmp_path_factory.mktemp("wheelhouse")
    source = _source_tree(root / "gauntlet-src")
    wheels = root / "wheels"
    started = time.monotonic()
    built = subprocess.run(
        [str(REPO_PYTHON), "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheels),
         str(source), "setuptools>=69", "wheel"],
        capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stdout + built.stderr
    print(f"\n[first-verdict] wheelhouse built in {time.monotonic() - started:.1f} s")
    yield wheels, source


def _fresh_env(venv: Path) -> dict[str, str]:
    """A user's shell with the fresh venv activated: nothing of this checkout on PATH, no
    PYTHONPATH (pytest's rootdir must not leak in as an importable gauntlet)."""
    path = [str(venv / "bin"), *(p for p in os.environ.get("PATH", "").split(os.pathsep)
                                 if p and not p.startswith(str(ROOT)))]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PYTEST", "GAUNTLET"))}
    return {**env, "PATH": os.pathsep.join(path), "VIRTUAL_ENV": str(venv),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1", "COLUMNS": "200"}


def _scaffold_contract(path: Path) -> None:
    """The team's service: the reference stack, its own interpreter, its staging limits (high:
    the starter makes no rate-limit claim, so the load is not paced under them)."""
    python = json.dumps(str(REPO_PYTHON))
    path.write_text(
        f'extends = {json.dumps(str(ROOT / "stack" / "contract.toml"))}\n'
        'name = "team-service"\n'
        f'[services.api]\ncommand = [{python}, "-m", "stack.api"]\n'
        f'[services.upstream]\ncommand = [{python}, "-m", "stack.upstream"]\n'
        + "".join(f'[[claims.rate_limit]]\nname = "{n}"\nlimit = "100000/5seconds"\n'
                  for n in ("api", "login", "generate")))


DOCS = ROOT / "docs" / "examples" / "own-service"
DOC_SERVICE, DOC_TOXIPROXY = "127.0.0.1:8080", "127.0.0.1:8474"
# The doc's p95 SLO (500 ms) is a laptop's; every experiment's steady phase must keep within
# twice it. Beside the other test worker a CI host measured this service's steady p95 at
# 1180 ms (95 % CI 1003 to 1392 ms), and the shutdown verdicts went inconclusive: a figure of
# the host, not of the path this test follows. It gates 2500 ms, as test_cli's SLO runs do
# (docs/flake.md, "Timing bounds in the test suite").
DOC_SLO, TEST_SLO = "p95_ms = 500", "p95_ms = 2500"


def _here(text: str, api_port: int, toxiproxy_port: int) -> str:
    """A doc example with its fixed addresses moved to the ports this test's service got, and
    its p95 SLO to this shared host's."""
    assert DOC_SLO in text or "[slo]" not in text, "the doc's SLO changed: update DOC_SLO"
    return (text.replace(DOC_SERVICE, f"127.0.0.1:{api_port}")
            .replace(DOC_TOXIPROXY, f"127.0.0.1:{toxiproxy_port}")
            .replace(DOC_SLO, TEST_SLO))


def _bash(script: str, *, cwd: Path, env: dict[str, str], timeout: float = 900
          ) -> subprocess.CompletedProcess[str]:
    """A doc's shell steps as a reader pastes them: one bash, stopping at the first failure."""
    return _run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, timeout=timeout)


def _claims(path: Path) -> tuple[set[str], set[str]]:
    with path.open("rb") as fh:
        doc = tomllib.load(fh)
    claims = {f"{kind}.{c['name']}" for kind, items in doc.get("claims", {}).items()
              for c in items}
    return claims, set(doc.get("links", {}))


def test_a_fresh_install_gets_its_first_green_verdict(
        tmp_path: Path, wheelhouse: tuple[Path, Path]) -> None:
    wheels, source = wheelhouse
    timings: dict[str, float] = {}
    started = time.monotonic()
    # install.sh's first step is pipx's; its equivalent: the package into a venv of its own
    first, _, rest = (DOCS / "install.sh").read_text().partition("\n")
    assert first.startswith("pipx install ./gauntlet "), first
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = _fresh_env(venv)
    installed = _run([str(venv / "bin" / "pip"), "install", "--quiet", "--no-index",
                      "--find-links", str(wheels), str(source)], cwd=tmp_path, env=env,
                     timeout=600)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    timings["pip install"] = time.monotonic() - started
    steps = _bash(rest, cwd=tmp_path, env=env)  # gauntlet install toxiproxy, gauntlet doctor
    assert steps.returncode == 0, steps.stdout + steps.stderr
    print(f"\n[first-verdict] {steps.stdout.splitlines()[0]}")
    timings["install.sh"] = time.monotonic() - started - timings["pip install"]
    gauntlet = str(venv / "bin" / "gauntlet")

    api_port, toxiproxy_port = free_ports(2)
    scratch, scaffold = tmp_path / "scratch", tmp_path / "scaffold"
    for folder in (scratch, scaffold):
        folder.mkdir()
    refused = _run([gauntlet, "init", "--base-url", "http://10.0.0.1:80"], cwd=scratch, env=env)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "loopback" in refused.stderr and not list(scratch.iterdir())

    _scaffold_contract(scaffold / "service.toml")
    up_log = (scaffold / "up.log").open("w")
    up = subprocess.Popen([gauntlet, "up", "--contract", "service.toml", "--port",
                           f"api={api_port}", "--port", f"toxiproxy={toxiproxy_port}"],
                          cwd=scaffold, env=env, stdout=up_log, stderr=subprocess.STDOUT)
    try:
        handle = scaffold / ".gauntlet" / "up.json"
        deadline = time.monotonic() + 120
        while not handle.exists():
            assert up.poll() is None, (scaffold / "up.log").read_text()
            assert time.monotonic() < deadline, (scaffold / "up.log").read_text()
            time.sleep(0.2)
        parts = {p["name"]: p for p in json.loads(handle.read_text())["parts"]
                 if p["kind"] in ("service", "link")}
        assert parts["api"]["url"] == f"http://127.0.0.1:{api_port}"
        assert "postgres" in parts  # the proxy the README's suite names

        init_sh = (DOCS / "init.sh").read_text()
        made = _bash(_here(init_sh, api_port, toxiproxy_port), cwd=tmp_path, env=env)
        assert made.returncode == 0, made.stdout + made.stderr
        folder = re.search(r"\bcd (\S+)", init_sh)
        assert folder is not None, init_sh
        team = tmp_path / folder[1]
        # the README's contract is the starter adapted: the same claims and links
        assert _claims(DOCS / "contract.toml") == _claims(team / "contract.toml")
        for name in ("contract.toml", "gauntlet.toml"):
            (team / name).write_text(_here((DOCS / name).read_text(), api_port,
                                           toxiproxy_port))
        # the team's start script writes the PID file beside its contract
        (team / "service.pid").write_text(f"{parts['api']['pid']}\n")
        timings["init, up and edit"] = time.monotonic() - started - sum(timings.values())

        verify_started = time.monotonic()
        verified = _bash((DOCS / "verify.sh").read_text(), cwd=team, env=env, timeout=600)
        timings["verify.sh"] = time.monotonic() - verify_started
        output = verified.stdout + verified.stderr
        assert verified.returncode == 0, output
        assert "ok contract.toml: contract shop" in output
        assert "shutdown[sigterm] runs last" in output and "stays down" in output
        assert "PASS shutdown[shutdown.sigterm]: exits any code within the deadline" in output
        assert "0 failed, 0 inconclusive" in output

        deadline = time.monotonic() + 10  # gauntlet up reaps the signalled service and says so
        while f"service api (pid {parts['api']['pid']}) exited with code 0" not in \
                (scaffold / "up.log").read_text():
            assert time.monotonic() < deadline, (scaffold / "up.log").read_text()
            time.sleep(0.2)
    finally:
        down = _run([gauntlet, "down"], cwd=scaffold, env=env, timeout=60)
        try:
            up.wait(timeout=60)
        except subprocess.TimeoutExpired:
            up.send_signal(signal.SIGKILL)
            up.wait()
        up_log.close()
    assert down.returncode == 0 and up.returncode == 0, down.stdout + down.stderr
    timings["total"] = time.monotonic() - started
    print("\n[first-verdict] " + " · ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
