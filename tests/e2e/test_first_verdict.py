"""A team's first green verdict, as a new user gets it: the README as the only guide.

In a fresh virtualenv outside the repo, ``pip install`` of this repo (not editable), Toxiproxy
through gauntlet, ``gauntlet init``, the starter adapted to the team's running service by a
scripted edit (what a team edits: routes, auth, the proxy names, where the PID file is), and
``gauntlet verify contract.toml --suite gauntlet.toml`` from another directory: exit 0.

The team's running service is the reference stack (PostgreSQL, Redis, an upstream, the API), kept
running by the fresh install's own ``gauntlet up`` on fixed ports (so ``init --base-url`` is
right as written), with the repo's interpreter as the service's own runtime. The starter's
shutdown claim signals it through the PID file the team's start script would write; nothing
restarts it, so the run must say it goes last — and ``gauntlet up`` must then report the
service's exit (reaped, no ``<defunct>``).

pip is fast from a wheelhouse built once per session (``--no-index --find-links``); each phase's
wall time is printed (``pytest -s`` shows it).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
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


def install_toxiproxy(venv: Path, env: dict[str, str]) -> str:
    """Toxiproxy as the README says to get it: ``gauntlet install toxiproxy`` (built with Go
    into the fresh venv's bin, or found already installed where gauntlet looks); its line."""
    done = _run([str(venv / "bin" / "gauntlet"), "install", "toxiproxy"], cwd=venv, env=env,
                timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


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


def _edit(path: Path, *pairs: tuple[str, str], append: str = "") -> None:
    """A team's edit of a starter file: each replaced text must be there as the starter
    wrote it (a changed starter fails here, loudly)."""
    text = path.read_text()
    for old, new in pairs:
        assert old in text, f"{path.name}: the starter no longer has {old!r}"
        text = text.replace(old, new)
    path.write_text(text + append)


def _adapt_starter(team: Path, toxiproxy_port: int) -> None:
    """What a team edits: routes, auth and probes of its service; the proxy names and the
    address of its Toxiproxy. The claims' numbers and the PID-file shutdown stay as written."""
    _edit(team / "contract.toml",
          ('live = "/live"', 'live = "/health/live"'),
          ('ready = "/ready"', 'ready = "/health/ready"'),
          ('# [traffic.auth]                    # a step each client runs once, if your API '
           'needs a token\n# path = "/session"\n# json = { user = "{client}" }\n'
           '# token = "token"',
           '[traffic.auth]\npath = "/auth/login"\n'
           'json = { username = "{client}", password = "gauntlet" }\ntoken = "access_token"'),
          ('[traffic.requests."GET /items"]\npath = "/items"\nauth = false\n',
           '[traffic.requests."GET /items"]\npath = "/api/orders"\n'),
          ('method = "POST"\npath = "/items"\njson = { name = "{token}" }',
           'method = "POST"\npath = "/api/orders"\njson = { item = "{token}", quantity = 1 }'),
          ('     # {token}: unique per request, for the read-back\nauth = false\n', '\n'),
          ('requests = ["GET /items"]\ndrain_delay_s',
           'requests = ["GET /items", "POST /generate"]\ndrain_delay_s'),
          append='\n[traffic.requests."POST /generate"]\nmethod = "POST"\n'
                 'path = "/api/generate"\njson = { prompt = "hello {client}" }\n')
    _edit(team / "gauntlet.toml",
          ('toxiproxy_url = "http://127.0.0.1:8474"',
           f'toxiproxy_url = "http://127.0.0.1:{toxiproxy_port}"'),
          ('proxies = { db = "db" }', 'proxies = { db = "postgres" }'))


def test_a_fresh_install_gets_its_first_green_verdict(
        tmp_path: Path, wheelhouse: tuple[Path, Path]) -> None:
    wheels, source = wheelhouse
    timings: dict[str, float] = {}
    started = time.monotonic()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = _fresh_env(venv)
    installed = _run([str(venv / "bin" / "pip"), "install", "--quiet", "--no-index",
                      "--find-links", str(wheels), str(source)], cwd=tmp_path, env=env,
                     timeout=600)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    timings["pip install"] = time.monotonic() - started
    print(f"\n[first-verdict] {install_toxiproxy(venv, env)}")
    timings["install toxiproxy"] = time.monotonic() - started - timings["pip install"]
    gauntlet = str(venv / "bin" / "gauntlet")

    api_port, toxiproxy_port = free_ports(2)
    team, scaffold, elsewhere = tmp_path / "team", tmp_path / "scaffold", tmp_path / "elsewhere"
    for folder in (team, scaffold, elsewhere):
        folder.mkdir()
    refused = _run([gauntlet, "init", "--base-url", "http://10.0.0.1:80"], cwd=team, env=env)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "loopback" in refused.stderr and not list(team.iterdir())
    init = _run([gauntlet, "init", "--name", "shop", "--base-url",
                 f"http://127.0.0.1:{api_port}"], cwd=team, env=env)
    assert init.returncode == 0, init.stdout + init.stderr

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
                 if p["kind"] == "service"}
        assert parts["api"]["url"] == f"http://127.0.0.1:{api_port}"
        # the team's start script writes the PID file beside its contract
        (team / "service.pid").write_text(f"{parts['api']['pid']}\n")
        _adapt_starter(team, toxiproxy_port)
        timings["init, up and edit"] = time.monotonic() - started - sum(timings.values())

        verify_started = time.monotonic()
        verified = _run([gauntlet, "verify", "../team/contract.toml", "--suite",
                         "../team/gauntlet.toml", "--output", "runs"], cwd=elsewhere, env=env,
                        timeout=600)
        timings["verify"] = time.monotonic() - verify_started
        output = verified.stdout + verified.stderr
        assert verified.returncode == 0, output
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
