"""The local backend: boot, proxies in every path, readiness follows dependencies, teardown."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import pytest

from gauntlet.boot import Stack, boot
from gauntlet.boot.local import sweep_stale_tempdirs
from gauntlet.chaos.faults import Fault, FaultInjector
from gauntlet.config import parse_suite
from tests.e2e.conftest import still_running

CONTRACT = Path(__file__).resolve().parents[2] / "stack" / "contract.toml"


def wait_status(url: str, status: int, within_s: float) -> float | None:
    """Seconds until ``url`` answers ``status``, or None if it does not within the bound."""
    started = time.monotonic()
    while time.monotonic() - started < within_s:
        try:
            if httpx.get(url, timeout=1.0).status_code == status:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    return None


@pytest.mark.xdist_group("default-stack")  # the session stack: one worker boots it once
def test_boot_reaches_ready_through_the_api_proxy(stack: Stack) -> None:
    assert stack.boot_time_s > 0
    assert httpx.get(stack.base_url + "/health/ready").status_code == 200
    # a proxy for every link of the contract, and one for the main service itself
    assert set(stack.proxies) == {"api", "postgres", "redis", "upstream"}
    assert stack.toxiproxy is not None
    assert set(stack.toxiproxy.proxies()) == set(stack.proxies)


@pytest.mark.xdist_group("default-stack")  # the session stack: one worker boots it once
def test_api_proxy_is_in_the_load_path(stack: Stack, faults: FaultInjector) -> None:
    def timed(url: str) -> float:
        started = time.monotonic()
        httpx.get(url, timeout=5.0)
        return (time.monotonic() - started) * 1000.0

    with faults.inject(Fault("api", "latency", {"latency": 300})):
        slowed = timed(stack.base_url + "/health/live")
        direct = timed(stack.probe_url + "/health/live")
    assert slowed >= 300
    assert direct < 300


@pytest.mark.xdist_group("default-stack")  # the session stack: one worker boots it once
@pytest.mark.parametrize("dependency", ["postgres", "redis"])
def test_dependency_down_turns_ready_503_and_back(stack: Stack, faults: FaultInjector,
                                                  dependency: str) -> None:
    ready = stack.probe_url + "/health/ready"
    live = stack.probe_url + "/health/live"
    with faults.inject(Fault(dependency, "down")):
        took = wait_status(ready, 503, within_s=2.0)
        assert took is not None, f"/health/ready not 503 within 2 s of {dependency} down"
        assert httpx.get(live).status_code == 200
    back = wait_status(ready, 200, within_s=5.0)
    assert back is not None, f"/health/ready not 200 again after {dependency} came back"


@pytest.mark.xdist_group("default-stack")  # the session stack: one worker boots it once
def test_dependency_links_go_through_toxiproxy(stack: Stack, faults: FaultInjector) -> None:
    """A latency toxic on the upstream proxy shows up in /api/generate's latency."""
    with httpx.Client(base_url=stack.base_url, timeout=10.0,
                      headers={"X-Forwarded-For": "198.18.200.1"}) as client:
        token = client.post("/auth/login", json={"username": "proxy-check",
                                                 "password": "gauntlet"}).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        with faults.inject(Fault("upstream", "latency", {"latency": 400})):
            started = time.monotonic()
            assert client.post("/api/generate", json={"prompt": "x"}).status_code == 200
            slowed = (time.monotonic() - started) * 1000.0
    assert slowed >= 400


def _tree(pid: int) -> set[int]:
    root = psutil.Process(pid)
    return {pid} | {p.pid for p in root.children(recursive=True)}


def test_teardown_leaves_no_process_dir_or_toxic() -> None:
    suite = parse_suite({"name": "teardown", "contract": str(CONTRACT)}, needs_work=False)
    with boot(suite) as stack:
        # this stack's processes only: other stacks of the session fork children too
        started: set[int] = set()
        for service in stack.services.values():
            started |= _tree(service.pid)  # type: ignore[attr-defined]
        tmp = Path(stack.services["postgres"].argv[2]).parent  # type: ignore[attr-defined]
        assert tmp.exists() and len(started) >= 5
        toxiproxy_url = stack.toxiproxy.url if stack.toxiproxy else ""
    alive = still_running(started)
    assert alive == []
    assert not tmp.exists()
    with pytest.raises(httpx.HTTPError):
        httpx.get(toxiproxy_url + "/version", timeout=1.0)


def test_pdeathsig_takes_children_down_with_a_killed_parent(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """kill -9 of the process that booted the stack must not leave the stack running.

    The killed boot keeps its temp dir in a TMPDIR of its own: any other gauntlet's boot sweeps
    a dead owner's dir from the shared one, and the test runner boots two stacks at a time."""
    import shutil
    import signal
    import subprocess
    import sys

    private = Path(tempfile.mkdtemp(prefix="gx-"))  # short: PostgreSQL's socket path is bounded
    private.chmod(0o755)  # as root, PostgreSQL runs as its own user and must reach its data dir
    monkeypatch.setattr(tempfile, "tempdir", str(private))

    script = tmp_path / "boot_and_hang.py"
    script.write_text(
        "import os, sys, time\n"
        "from gauntlet.config import parse_suite\n"
        "from gauntlet.boot import boot\n"
        f"suite = parse_suite({{'name': 'k', 'contract': {str(CONTRACT)!r}}}, needs_work=False)\n"
        "with boot(suite):\n"
        "    print('up', flush=True)\n"
        "    time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2],
                            env={**os.environ, "TMPDIR": str(private)})
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "up"
        children = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
        assert len(children) >= 5
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            alive = still_running(children)
            if not alive:
                break
            time.sleep(0.1)
        assert alive == []
        # its temp dir outlives a kill -9; the next boot's sweep removes it
        left = [d for d in Path(tempfile.gettempdir()).glob("gauntlet-*")
                if (d / "owner.pid").exists()
                and (d / "owner.pid").read_text().strip() == str(proc.pid)]
        assert left, "the killed owner's temp dir should still be there before a sweep"
        sweep_stale_tempdirs()
        assert not any(d.exists() for d in left)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
        shutil.rmtree(private, ignore_errors=True)
