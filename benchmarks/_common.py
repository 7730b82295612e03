"""What the load-engine benchmarks share: the venv, a private nginx target, a WebSocket echo
server, Locust runs, figures.

Benchmarks are scripts, not tests: each prints its figure lines (ratios measured within one run,
so a machine shared with other work disturbs both sides alike).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONTRACT = REPO / "stack" / "contract.toml"
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
STATIC_LOCUSTFILE = REPO / "benchmarks" / "locust_static.py"
STATIC_PATH = "/hello.txt"


def use_venv() -> None:
    """Re-run this script with the project's venv when started by another interpreter, and make
    the repo importable (``python benchmarks/bench_x.py`` from anywhere)."""
    if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != (REPO / ".venv").resolve():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))


def python_env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1", **extra}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- nginx: a target that is not the bottleneck --------------------------------------------------

def ensure_nginx() -> str:
    """Debian's nginx, installed when missing (without starting the packaged service)."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    print("[bench] installing nginx (apt-get install -y nginx)", file=sys.stderr)
    # RUNLEVEL=1: Debian's invoke-rc.d does not start the packaged nginx on port 80
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", "RUNLEVEL": "1"}
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", "nginx"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    return shutil.which("nginx") or "/usr/sbin/nginx"


NGINX_CONF = """\
worker_processes 1;
daemon off;
master_process off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 60s;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {tmp}/www;
        location / {{ }}
    }}
}}
"""


@dataclass(frozen=True)
class Target:
    url: str
    pid: int

    def cpu_s(self) -> float:
        """CPU seconds nginx has used so far (user + system)."""
        with Path(f"/proc/{self.pid}/stat").open() as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def nginx_server() -> Iterator[Target]:
    """A private nginx (1 process: ``master_process off``, static 13-byte file, no access log)
    on a free loopback port; yields its URL and pid and stops it on exit."""
    binary = ensure_nginx()
    tmp = Path(tempfile.mkdtemp(prefix="gauntlet-nginx-"))
    port = free_port()
    try:
        (tmp / "www").mkdir()
        (tmp / "www" / STATIC_PATH.lstrip("/")).write_text("hello, bench\n")
        for path in (tmp, tmp / "www"):
            path.chmod(0o755)
        (tmp / "nginx.conf").write_text(NGINX_CONF.format(tmp=tmp, port=port))
        proc = subprocess.Popen([binary, "-p", str(tmp), "-c", str(tmp / "nginx.conf"),
                                 "-e", str(tmp / "error.log")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            _wait_port(port, proc, tmp / "error.log")
            yield Target(f"http://127.0.0.1:{port}", proc.pid)
        finally:
            _stop(proc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a server the benchmark started; kill it if it outlives 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited ({proc.returncode}): {_tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{proc.args[0]} not listening on {port} after 10 s: {_tail(log)}")


def _tail(path: Path) -> str:
    try:
        return " | ".join(path.read_text().splitlines()[-5:])
    except OSError:
        return ""


# -- Locust and wrk runs ------------------------------------------------------------------------

@dataclass(frozen=True)
class LocustResult:
    requests: int  # Locust's Aggregated count, from its final summary
    rps: float  # Locust's Aggregated req/s, from its final summary
    cpu_s: float  # user + system CPU of the Locust process tree
    load_requests: int = 0  # from test_start to test_stop (``_probe``), when it was loaded
    load_cpu_s: float = 0.0  # CPU of the same phase: no start-up, no shutdown

    @property
    def requests_per_cpu_s(self) -> float:
        return self.requests / self.cpu_s if self.cpu_s else float("nan")

    @property
    def load_requests_per_cpu_s(self) -> float:
        return self.load_requests / self.load_cpu_s if self.load_cpu_s else float("nan")


def read_probes(directory: Path) -> tuple[int, float]:
    """(requests, CPU-s) of the load phase, summed over the ``probe-<pid>.json`` of
    ``benchmarks/_probe.py`` (one per Locust process that sent)."""
    requests, cpu_s = 0, 0.0
    for path in directory.glob("probe-*.json"):
        figures = json.loads(path.read_text())
        requests += int(figures["requests"])
        cpu_s += float(figures["user_s"]) + float(figures["system_s"])
    return requests, cpu_s


def locust_rate(log: Path) -> tuple[int, float]:
    """(requests, req/s) of the Aggregated row of the summary Locust prints when it ends.

    Not its ``--csv`` stats: those are rewritten once a second while it runs, so the last one
    misses up to a second of requests (a third of a 3 s run).
    """
    for line in log.read_text(errors="replace").splitlines():
        if line.split()[:1] == ["Aggregated"] and line.count("|") == 2:
            counts, _, rates = line.split("|")
            return int(counts.split()[1]), float(rates.split()[0])
    raise RuntimeError(f"no Aggregated summary line in {log}")


def run_locust(
    module: str,
    host: str,
    *,
    users: int,
    run_time_s: int,
    workdir: Path,
    locustfile: Path = STATIC_LOCUSTFILE,
    env: dict[str, str] | None = None,
    extra: Sequence[str] = (),
) -> LocustResult:
    """Run ``python -m <module>`` (``locust`` or ``gauntlet.scenarios._locust_main``) headless;
    returns
    Locust's own request count and rate, and the CPU time it took (a cross-check of the rate
    that a busy machine disturbs less: the generator's cost per request)."""
    workdir.mkdir(parents=True, exist_ok=True)
    prefix = workdir / "locust"
    argv = [str(VENV_PYTHON if VENV_PYTHON.exists() else sys.executable), "-m", module,
            "-f", str(locustfile), "--headless", "--host", host,
            "-u", str(users), "-r", str(users), "--run-time", f"{run_time_s}s",
            "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
            "--exit-code-on-error", "0", *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with (workdir / "locust.log").open("wb") as log:
        subprocess.run(argv, check=True, cwd=REPO, env=env or python_env(), stdout=log,
                       stderr=subprocess.STDOUT, timeout=run_time_s + 60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return LocustResult(*locust_rate(workdir / "locust.log"), cpu_s=cpu_s)


class LocustProcess:
    """One headless Locust started in the background, for runs that must overlap in time.

    Two sides of a comparison that run *at the same time* see the same spell of a shared
    machine; run one after the other, a neighbour's burst lands on one side only. The CPU time
    is this child's own (``os.wait4``), not every child's since some moment, so two that
    overlap are told apart.

        with LocustProcess(...) as bare, LocustProcess(...) as captured:
            results = bare.wait(), captured.wait()

    Leaving the ``with`` kills and reaps a process not waited for (a failed pair leaves none
    running).
    """

    def __init__(self, module: str, host: str, *, users: int, run_time_s: int,
                 workdir: Path, locustfile: Path = STATIC_LOCUSTFILE,
                 env: dict[str, str] | None = None, extra: Sequence[str] = ()) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.timeout_s = run_time_s + 60
        argv = [str(VENV_PYTHON if VENV_PYTHON.exists() else sys.executable), "-m", module,
                "-f", str(locustfile), "--headless", "--host", host,
                "-u", str(users), "-r", str(users), "--run-time", f"{run_time_s}s",
                "--csv", str(workdir / "locust"), "--only-summary", "--loglevel", "WARNING",
                "--exit-code-on-error", "0", *extra]
        env = {**(env or python_env()), "GAUNTLET_BENCH_PROBE_DIR": str(workdir)}
        with (workdir / "locust.log").open("wb") as log:
            self.proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log,
                                         stderr=subprocess.STDOUT)

    def __enter__(self) -> LocustProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def wait(self) -> LocustResult:
        """Reap the process; its own user + system CPU, and Locust's final summary."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                self.proc.kill()
                pid, status, usage = os.wait4(self.proc.pid, 0)
                break
            time.sleep(0.05)
        self.proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        log = self.workdir / "locust.log"
        if self.proc.returncode != 0:
            raise RuntimeError(f"Locust exited {self.proc.returncode}: {_tail(log)}")
        return LocustResult(*locust_rate(log), cpu_s=usage.ru_utime + usage.ru_stime,
                            load_requests=(probe := read_probes(self.workdir))[0],
                            load_cpu_s=probe[1])


# -- a WebSocket echo server -------------------------------------------------------------------

WS_ECHO_SERVER = REPO / "benchmarks" / "ws_echo.py"


@contextlib.contextmanager
def ws_echo_server() -> Iterator[Target]:
    """The ``websockets`` echo server of ``benchmarks/ws_echo.py`` on a free loopback port, in
    a process of its own; yields its ``ws://`` URL and pid and stops it on exit."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="gauntlet-ws-echo-") as tmp:
        log = Path(tmp) / "ws_echo.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([str(VENV_PYTHON if VENV_PYTHON.exists() else sys.executable),
                                     str(WS_ECHO_SERVER), str(port)],
                                    stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait_port(port, proc, log)
            yield Target(f"ws://127.0.0.1:{port}", proc.pid)
        finally:
            _stop(proc)


def run_wrk(url: str, *, connections: int, duration_s: int, threads: int = 1) -> float:
    """wrk's Requests/sec (Debian's wrk, installed by scripts/setup.sh)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return float("nan")
    out = subprocess.run([wrk, f"-t{threads}", f"-c{connections}", f"-d{duration_s}s", url],
                         capture_output=True, text=True, check=True,
                         timeout=duration_s + 30).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(match.group(1)) if match else float("nan")


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f}/{five:.1f} on {os.cpu_count()} cores"
