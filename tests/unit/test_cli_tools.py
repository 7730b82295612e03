"""The commands that prepare a machine and a repository, run as a user runs them (a real
subprocess each): doctor, install toxiproxy, schema, validate. None boots a stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gauntlet.boot.binaries import HTTP_TOXICS_REVISION, TOXIPROXY_VERSION

ROOT = Path(__file__).resolve().parents[2]


def gauntlet(*args: str, env: dict[str, str] | None = None,
             cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gauntlet.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd,
                          env={**os.environ, "COLUMNS": "200", **(env or {})})


@pytest.fixture
def machine(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH holds nothing (no redis-server, no docker, no go) and whose
    cache holds a Toxiproxy of the right version, so the local backend has what it needs
    unless a contract wants more (the environment's own Toxiproxy counts the same)."""
    (tmp_path / "empty").mkdir()
    bin_dir = tmp_path / "cache" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("toxiproxy-server", "toxiproxy-cli"):
        path = bin_dir / name
        tail = (f" (gauntlet http toxics {HTTP_TOXICS_REVISION})"
                if name == "toxiproxy-server" else "")
        path.write_text(f'#!/bin/sh\necho "{name} version {TOXIPROXY_VERSION}{tail}"\n')
        path.chmod(0o755)
    return {"PATH": str(tmp_path / "empty"), "GAUNTLET_CACHE": str(tmp_path / "cache")}


def _contract(tmp_path: Path, links: str = "") -> Path:
    path = tmp_path / "contract.toml"
    path.write_text(f'name = "svc"\n{links}')
    return path


def test_doctor_exits_0_when_the_local_backend_has_what_it_needs(
        machine: dict[str, str]) -> None:
    result = gauntlet("doctor", env=machine)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "local backend: ready" in result.stdout
    for name in ("toxiproxy-server", "toxiproxy-cli", "initdb", "redis-server",
                 "docker engine", "docker compose v2", "go"):
        assert name in result.stdout
    assert f"toxiproxy-server    {TOXIPROXY_VERSION}" in result.stdout


def test_doctor_exits_3_naming_the_command_for_what_a_contract_needs(
        machine: dict[str, str], tmp_path: Path) -> None:
    contract = _contract(tmp_path, '[links.cache]\nmanaged = "redis"\n')
    result = gauntlet("doctor", "--contract", str(contract), env=machine)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "local backend for contract svc: missing redis-server" in result.stdout
    assert "Redis for managed link 'cache'" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("  redis-server: ")


def test_doctor_for_the_compose_backend_requires_docker(machine: dict[str, str]) -> None:
    result = gauntlet("doctor", "--backend", "compose", env=machine)
    assert result.returncode == 3
    assert "compose backend: missing docker engine, docker compose v2" in result.stdout


def test_doctor_with_a_bad_contract_is_a_usage_error(machine: dict[str, str],
                                                     tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('name = "svc"\nnope = 1\n')
    result = gauntlet("doctor", "--contract", str(path), env=machine)
    assert result.returncode == 2
    assert "unknown key 'nope'" in result.stderr and result.stdout == ""


def test_install_toxiproxy_is_a_no_op_when_it_is_there(machine: dict[str, str]) -> None:
    result = gauntlet("install", "toxiproxy", env=machine)
    assert result.returncode == 0, result.stderr
    assert f"toxiproxy {TOXIPROXY_VERSION} is already installed in" in result.stdout


def test_install_toxiproxy_without_go_is_one_line_with_the_command(
        machine: dict[str, str], tmp_path: Path) -> None:
    go = tmp_path / "empty" / "go"  # a Go too old to build it, first on PATH
    go.write_text('#!/bin/sh\necho "go version go1.19.8 linux/amd64"\n')
    go.chmod(0o755)
    result = gauntlet("install", "toxiproxy", "--force", env=machine)
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "is go1.19, too old to build Toxiproxy v2.12.0" in lines[0]
    assert "hint:" in lines[0] and "go.dev/dl/go" in lines[0]


def test_install_knows_only_what_it_can_install() -> None:
    result = gauntlet("install", "redis")
    assert result.returncode == 2
    assert "Invalid value" in result.stderr and "'redis'" in result.stderr


def test_schema_writes_both_schemas(tmp_path: Path) -> None:
    result = gauntlet("schema", "--out", str(tmp_path / "schemas"))
    assert result.returncode == 0, result.stderr
    contract = json.loads((tmp_path / "schemas" / "contract.schema.json").read_text())
    suite = json.loads((tmp_path / "schemas" / "suite.schema.json").read_text())
    assert "claims" in contract["properties"] and "extends" in contract["properties"]
    assert "load" in suite["properties"] and "experiments" in suite["properties"]
    assert result.stdout.count("wrote ") == 2


def test_validate_says_ok_with_a_summary_per_file() -> None:
    result = gauntlet("validate", "stack/contract.toml", "suites/resilience.toml")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("ok stack/contract.toml: contract reference-stack: ")
    assert "breaker 1" in lines[0]
    assert lines[1].startswith("ok suites/resilience.toml: suite resilience ")
    assert "experiment runs (breaker[upstream]" in lines[1]


def test_validate_exits_2_on_an_invalid_file_and_checks_the_others(tmp_path: Path) -> None:
    bad = tmp_path / "suite.toml"
    bad.write_text('name = "s"\ncontract = "missing.toml"\n[load]\nscenario = "declared"\n'
                   'users = 1\nduration_s = 1\n')
    result = gauntlet("validate", str(bad), "stack/contract.toml")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith(f"invalid: {tmp_path / 'missing.toml'}: no such contract")
    assert result.stdout.startswith("ok stack/contract.toml")
    assert not (tmp_path / "reports").exists()
