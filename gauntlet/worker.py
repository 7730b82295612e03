"""``gauntlet worker``: a remote Locust worker for the master of a ``gauntlet run``.

When one machine cannot send the load, the suite says how many remote workers to expect
(``[load] remote_workers``) and the run's Locust becomes their master; each other machine runs
``gauntlet worker --master HOST:PORT``. The worker is Locust's own worker process with
gauntlet's capture loaded (``python -m gauntlet.scenarios._locust_main --worker``); it takes the
run's settings and, by default, the locustfile from the master, captures into a temp dir of its
own and ships the samples to the master over Locust's channel
(:mod:`gauntlet.scenarios.ship`), so that they land in the run dir like a local worker's. It
exits when the master ends the test.

The master lets in only a worker that proves it knows the run's secret
(:mod:`gauntlet.scenarios.workerauth`): ``--secret-file``, ``$GAUNTLET_WORKER_SECRET_FILE`` or
``$GAUNTLET_WORKER_SECRET``. Without one the worker does not start (exit 2): it could only be
refused.

    code = run_worker("10.0.0.5:5557", None, connect_timeout_s=300, echo=print)
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from gauntlet import cleanup
from gauntlet.config import REPO_ROOT
from gauntlet.errors import ConfigError, InfrastructureError
from gauntlet.procs import ManagedProcess
from gauntlet.scenarios import remote
from gauntlet.scenarios.workerauth import (
    ENV_SECRET,
    ENV_SECRET_FILE,
    SecretError,
    read_secret,
    secret_from_file,
)
from gauntlet.tempdirs import TMP_PREFIX, owned_tempdir, sweep_stale_tempdirs

# a worker stopped by hand still ships its last chunk: stopping its users and sending takes
# Locust's stop timeout plus a little
STOP_TIMEOUT_S = 30.0


def worker_secret(secret_file: str | None) -> str:
    """The run's secret from ``--secret-file`` or the environment; a :class:`ConfigError`
    when there is none or it cannot be used."""
    try:
        secret = secret_from_file(secret_file) if secret_file else read_secret(os.environ)
    except SecretError as exc:
        raise ConfigError(str(exc)) from None
    if secret is None:
        raise ConfigError(
            f"no worker secret: the master refuses a worker that cannot prove the run's secret; "
            f"give it with --secret-file FILE, ${ENV_SECRET_FILE} or ${ENV_SECRET} (`gauntlet "
            "run` prints the one it made, or takes yours from the same variables)")
    return secret


def worker_command(master: str, locustfile: str | None, connect_timeout_s: float,
                   samples_dir: Path) -> tuple[list[str], dict[str, str]]:
    """The Locust worker's argv and environment (pure apart from reading ``os.environ``);
    a bad ``--master`` or ``--locustfile`` is a :class:`ConfigError`. The secret is the
    caller's to add to the environment (which only this user can read), never to the argv;
    a secret file's path is dropped, since Locust runs in another directory."""
    try:
        host, port = remote.parse_master(master)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    if connect_timeout_s <= 0:
        raise ConfigError(f"--connect-timeout must be > 0, not {connect_timeout_s:g}")
    path = None
    if locustfile is not None:
        resolved = Path(locustfile).resolve()
        if not resolved.is_file():
            raise ConfigError(f"--locustfile {locustfile!r}: no such file")
        path = str(resolved)
    argv = remote.worker_argv(host, port, path)
    env = remote.worker_env(os.environ, samples_dir, host, port, connect_timeout_s, REPO_ROOT)
    env.pop(ENV_SECRET_FILE, None)
    return argv, env


def run_worker(master: str, locustfile: str | None, connect_timeout_s: float,
               echo: Callable[[str], None] = print, secret_file: str | None = None) -> int:
    """Run one worker to its end; 0 when the master ended the test.

    The Locust log is echoed as it grows. Raises :class:`InfrastructureError` (with the log's
    tail) when Locust fails, e.g. the master never answered; ``Interrupted`` on Ctrl-C/SIGTERM,
    after the worker shipped what it had and stopped (bounded). A master that refuses the
    worker's proof is a :class:`ConfigError` (exit 2): the secret is not the run's.
    """
    sweep_stale_tempdirs()  # a worker killed by SIGKILL here before left its dir behind
    with owned_tempdir(prefix=f"{TMP_PREFIX}worker-") as tmp:
        samples_dir = Path(tmp) / "raw"
        samples_dir.mkdir()
        argv, env = worker_command(master, locustfile, connect_timeout_s, samples_dir)
        env[ENV_SECRET] = worker_secret(secret_file)  # after the arguments: they are named first
        log_path = Path(tmp) / "locust-worker.log"
        echo(f"worker: joining the master at {env[remote.ENV_MASTER]} (locustfile: "
             f"{locustfile or 'from the master'}); samples are shipped to it")
        with cleanup.signal_handlers(), ManagedProcess(
            "locust-worker", argv, env=env, cwd=REPO_ROOT, log_path=log_path,
            stop_signal=signal.SIGINT,  # Locust ships its last chunk, tells the master, exits
            stop_timeout_s=STOP_TIMEOUT_S,
        ) as proc:
            shown = 0
            while True:
                code = proc.wait(timeout_s=0.5)
                shown = _echo_new(log_path, shown)
                if code is not None:
                    break
        if code == remote.REFUSED_EXIT:
            why = next((line.split("refused this worker: ", 1)[1] for line in
                        proc.tail(20).splitlines() if "refused this worker: " in line),
                       "a wrong proof")
            raise ConfigError(f"the master at {env[remote.ENV_MASTER]} refused this worker: "
                              f"{why}")
        if code != 0:
            raise InfrastructureError(
                f"locust worker exited with code {code}", logs=proc.tail(20),
                hint=f"is the master at {env[remote.ENV_MASTER]} up and reachable, and does its "
                     "suite set load.remote_workers?")
        echo("worker: the master ended the test")
        return 0


def _echo_new(log_path: Path, shown: int) -> int:
    """Copy what the log gained to our stdout (a container's log is its stdout)."""
    try:
        with log_path.open("rb") as fh:
            fh.seek(shown)
            data = fh.read()
    except OSError:
        return shown
    if data:
        sys.stdout.write(data.decode("utf-8", "replace"))
        sys.stdout.flush()
    return shown + len(data)
