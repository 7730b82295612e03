"""Remote Locust workers, the pure parts: suite keys, the master's and the worker's command
lines, where shipped files land, and the reading of complete lines (no Locust, no network)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gauntlet.cli import main
from gauntlet.config import LoadConfig, parse_suite
from gauntlet.errors import ConfigError
from gauntlet.generator import assess
from gauntlet.scenarios import remote
from gauntlet.scenarios.runner import locust_argv, locust_env
from gauntlet.worker import worker_command

ROOT = Path(__file__).resolve().parents[2]
STATIC = str(ROOT / "tests" / "e2e" / "locustfiles" / "static_hello.py")


def suite(**load: Any) -> dict[str, Any]:
    return {"name": "t", "stack": {"backend": "external", "base_url": "http://127.0.0.1:9"},
            "load": {"scenario": STATIC, "users": 4, "duration_s": 3, **load}}


# -- the suite ---------------------------------------------------------------------------------
def test_remote_workers_default_to_none_and_loopback() -> None:
    load = parse_suite(suite()).load
    assert load is not None
    assert load.remote_workers == 0
    assert (load.master_bind_host, load.master_bind_port) == ("127.0.0.1", 5557)
    explicit = parse_suite(suite(remote_workers=3, master_bind_host="0.0.0.0",
                                 master_bind_port=6000, remote_wait_s=5)).load
    assert explicit is not None and explicit.remote_workers == 3
    assert not remote.is_loopback(explicit.master_bind_host)


@pytest.mark.parametrize(("load", "expected"), [
    ({"remote_workers": -1}, "'load.remote_workers': Input should be greater than or equal to 0"),
    ({"remote_workers": "two"}, "'load.remote_workers': Input should be a valid integer"),
    ({"remote_workers": 2, "master_bind_port": 0}, "'load.master_bind_port'"),
    ({"remote_workers": 2, "master_bind_port": 70000}, "'load.master_bind_port'"),
    ({"remote_workers": 2, "master_bind_host": "a b"}, "'load.master_bind_host'"),
    ({"remote_workers": 2, "master_bind_host": ""}, "'load.master_bind_host'"),
    ({"remote_workers": 2, "remote_wait_s": 0}, "'load.remote_wait_s'"),
    ({"remote_workers": 2, "remote_wait_s": 7200}, "'load.remote_wait_s'"),
    ({"master_bind_host": "0.0.0.0"}, "load.master_bind_host needs load.remote_workers >= 1"),
    ({"remote_wait_s": 5}, "load.remote_wait_s needs load.remote_workers >= 1"),
    ({"remote_workers": 2, "workers": 2}, "cannot be combined"),
])
def test_bad_remote_keys_are_one_line(load: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_suite(suite(**load), "s.toml")
    message = str(err.value)
    assert "\n" not in message and message.startswith("s.toml: ")
    assert expected in message, message


def test_bad_remote_key_exits_2_from_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(f'name = "t"\n[stack]\nbackend = "external"\nbase_url = "http://127.0.0.1:9"'
                    f'\n[load]\nscenario = "{STATIC}"\nusers = 1\nduration_s = 1\n'
                    'remote_workers = 2\nmaster_bind_port = 99999\n')
    result = CliRunner().invoke(main, ["run", str(path)])
    assert result.exit_code == 2, result.output
    assert "load.master_bind_port" in result.output


# -- the master's command line ----------------------------------------------------------------
def test_master_waits_bounded_for_its_remote_workers(tmp_path: Path) -> None:
    load = LoadConfig.model_validate({"scenario": STATIC, "users": 4, "duration_s": 3,
                                      "remote_workers": 2, "master_bind_port": 6001,
                                      "remote_wait_s": 7.5})
    argv = locust_argv(load, "http://127.0.0.1:9", tmp_path)
    at = argv.index("--master")
    assert argv[at:at + 9] == ["--master", "--expect-workers", "2",
                               "--expect-workers-max-wait", "8",
                               "--master-bind-host", "127.0.0.1", "--master-bind-port", "6001"]
    assert "--processes" not in argv
    env = locust_env(load, tmp_path)
    assert env["GAUNTLET_WORKERS"] == "2"  # the open model interleaves over the remote workers
    assert env[remote.ENV_REMOTE_WORKERS] == "2"


def test_no_remote_workers_no_master_flags(tmp_path: Path) -> None:
    load = LoadConfig.model_validate({"scenario": STATIC, "users": 4, "duration_s": 3,
                                      "workers": 2})
    argv = locust_argv(load, "http://127.0.0.1:9", tmp_path)
    assert "--master" not in argv and argv[argv.index("--processes") + 1] == "2"
    assert remote.ENV_REMOTE_WORKERS not in locust_env(load, tmp_path)


# -- the worker's command line ----------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("10.0.0.5", ("10.0.0.5", 5557)),
    ("10.0.0.5:6000", ("10.0.0.5", 6000)),
    ("locust-master.load.svc", ("locust-master.load.svc", 5557)),
    ("[::1]:6000", ("::1", 6000)),
    ("::1", ("::1", 5557)),
])
def test_parse_master(text: str, expected: tuple[str, int]) -> None:
    assert remote.parse_master(text) == expected


@pytest.mark.parametrize("text", ["", "host:", "host:0", "host:abc", "host:70000", "[::1",
                                  "a b:5557", "[::1]x"])
def test_parse_master_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="--master"):
        remote.parse_master(text)


def test_worker_downloads_the_locustfile_by_default(tmp_path: Path) -> None:
    argv, env = worker_command("10.0.0.5:6000", None, 30, tmp_path)
    assert argv[:3] == [sys.executable, "-m", "gauntlet.scenarios._locust_main"]
    assert argv[argv.index("-f") + 1] == "-"
    assert argv[argv.index("--master-host") + 1] == "10.0.0.5"
    assert argv[argv.index("--master-port") + 1] == "6000"
    assert "--worker" in argv
    assert env["GAUNTLET_SAMPLES_DIR"] == str(tmp_path)
    assert env[remote.ENV_SHIP] == "1" and env[remote.ENV_MASTER] == "10.0.0.5:6000"
    assert str(ROOT) in env["PYTHONPATH"].split(":")


def test_worker_takes_a_local_locustfile(tmp_path: Path) -> None:
    argv, _ = worker_command("m", STATIC, 30, tmp_path)
    assert argv[argv.index("-f") + 1] == STATIC
    with pytest.raises(ConfigError, match="no such file"):
        worker_command("m", str(tmp_path / "nope.py"), 30, tmp_path)
    with pytest.raises(ConfigError, match="--master"):
        worker_command("m:0", None, 30, tmp_path)
    with pytest.raises(ConfigError, match="--connect-timeout"):
        worker_command("m", None, 0, tmp_path)


def test_worker_with_a_bad_master_exits_2() -> None:
    result = CliRunner().invoke(main, ["worker", "--master", "host:notaport"])
    assert result.exit_code == 2, result.output
    assert "port must be 1..65535" in result.output  # named before the missing secret


def test_settings_sent_to_workers_leave_the_local_ones_out() -> None:
    environ = {"GAUNTLET_SAMPLE_MODE": "hdr", "GAUNTLET_RATE_STAGES": "[[5, 10]]",
               "GAUNTLET_SAMPLES_DIR": "/runs/x/raw", remote.ENV_REMOTE_WORKERS: "2",
               "HOME": "/root", "LOCUST_HOST": "x"}
    assert remote.settings_for_workers(environ) == {"GAUNTLET_SAMPLE_MODE": "hdr",
                                                    "GAUNTLET_RATE_STAGES": "[[5, 10]]"}


# -- shipped files ----------------------------------------------------------------------------
def test_remote_names_keep_machines_apart_and_never_leave_the_dir() -> None:
    assert remote.remote_name("host-a_1f2e", "samples-41.csv") == "samples-host-a_1f2e-41.csv"
    assert remote.remote_name("host-b_9c", "hdr-41.jsonl") == "hdr-host-b_9c-41.jsonl"
    assert remote.remote_name("h_1", "generator-41.json") == "generator-h_1-41.json"
    assert remote.remote_name("../../etc", "samples-1.csv") == "samples-etc-1.csv"
    for bad in ("../samples-1.csv", "samples-1.json", "passwd", "samples-x.csv", "hdr-1.csv"):
        assert remote.remote_name("h", bad) is None


def test_line_tail_ships_complete_lines_only(tmp_path: Path) -> None:
    path = tmp_path / "samples-1.csv"
    tail = remote.LineTail(path)
    assert tail.take() == []  # not written yet
    path.write_bytes(b"h1,h2\n1,2\n3,")
    assert tail.take() == [(0, b"h1,h2\n1,2\n")]
    assert tail.take() == []  # the torn row waits
    with path.open("ab") as fh:
        fh.write(b"4\n5,6")
    assert tail.take() == [(10, b"3,4\n")]
    assert tail.take(final=True) == [(14, b"5,6")]
    assert tail.offset == path.stat().st_size


def test_line_tail_cuts_big_backlogs_at_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "samples-1.csv"
    lines = [f"{i},{'x' * 20}\n".encode() for i in range(50)]
    path.write_bytes(b"".join(lines))
    chunks = remote.LineTail(path).take(max_bytes=100)
    assert b"".join(data for _, data in chunks) == b"".join(lines)
    assert all(data.endswith(b"\n") and len(data) <= 100 for _, data in chunks)
    offsets = [offset for offset, _ in chunks]
    assert offsets == [sum(len(d) for _, d in chunks[:i]) for i in range(len(chunks))]
    long_line = b"y" * 300 + b"\n"
    path.write_bytes(long_line + b"z\n")
    assert [d for _, d in remote.LineTail(path).take(max_bytes=100)] == [long_line, b"z\n"]


def test_received_file_notices_gaps_and_repeats() -> None:
    record = remote.ReceivedFile()
    assert record.accept(0, 10) and record.accept(10, 5)
    assert not record.accept(10, 5)  # a repeat
    assert not record.accept(40, 5)  # a gap
    assert record.size == 15 and len(record.faults) == 2


def test_incomplete_names_each_worker_that_lost_samples() -> None:
    status = {"seen": ["a", "b", "c"], "done": {
        "a": {"missing": {}, "faults": {}},
        "b": {"missing": {"samples-2.csv": 120}, "faults": {}},
    }}
    assert remote.incomplete(status) == ["b: samples-2.csv: 120 bytes missing",
                                         "c: its last chunk never arrived"]
    assert remote.incomplete({"seen": ["a"], "done": {"a": {}}}) == []


def test_remote_workers_cpu_counts_in_generator_health() -> None:
    health = assess([5.0] * 10, 1, 0, 0.0, 1000, False, remote_cpu=[40.0, 95.0])
    assert health.processes == 3 and not health.reliable
    assert "95 %" in health.reasons[0]
    assert assess([5.0] * 10, 1, 0, 0.0, 1000, False, remote_cpu=[40.0]).reliable
