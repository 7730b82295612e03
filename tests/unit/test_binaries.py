"""The one binary lookup: gauntlet's own places (environment, cache) before PATH, the cache
directory's environment variables, and the one install command per program and system."""

from __future__ import annotations

from pathlib import Path

import pytest

from gauntlet.boot import binaries
from gauntlet.boot.binaries import cache_bin_dir, cache_dir, find, install_command, locate
from gauntlet.errors import InfrastructureError


def _program(directory: Path, name: str, says: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\necho '{says}'\n")
    path.chmod(0o755)
    return path


def test_cache_dir_follows_gauntlet_cache_then_xdg(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GAUNTLET_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "gauntlet"
    assert cache_bin_dir() == tmp_path / "xdg" / "gauntlet" / "bin"
    monkeypatch.setenv("GAUNTLET_CACHE", str(tmp_path / "own"))
    assert cache_dir() == tmp_path / "own"
    monkeypatch.delenv("GAUNTLET_CACHE")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "gauntlet"


def test_a_program_in_the_cache_bin_is_found_off_path(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAUNTLET_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert locate("gauntlet-test-prog") is None
    made = _program(tmp_path / "cache" / "bin", "gauntlet-test-prog")
    assert locate("gauntlet-test-prog") == made
    assert find("gauntlet-test-prog") == str(made)


def test_gauntlets_own_places_come_before_path(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The Toxiproxy gauntlet installed for itself wins over an older one on PATH."""
    monkeypatch.setenv("GAUNTLET_CACHE", str(tmp_path / "cache"))
    on_path = _program(tmp_path / "path", "gauntlet-test-prog")
    monkeypatch.setenv("PATH", str(on_path.parent))
    assert locate("gauntlet-test-prog") == on_path
    own = _program(tmp_path / "cache" / "bin", "gauntlet-test-prog")
    assert locate("gauntlet-test-prog") == own


def test_a_file_that_cannot_run_is_not_found(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAUNTLET_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    _program(tmp_path / "cache" / "bin", "gauntlet-test-prog").chmod(0o644)
    assert locate("gauntlet-test-prog") is None


def test_go_is_found_in_its_archive_dir_off_path(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("GAUNTLET_CACHE", str(tmp_path / "cache"))
    go = _program(tmp_path / "usr-local-go" / "bin", "go")
    monkeypatch.setattr(binaries, "GO_DIRS", (go.parent,))
    assert binaries.locate_go() == go


def test_a_missing_program_names_the_command_that_installs_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("GAUNTLET_CACHE", str(tmp_path / "cache"))
    with pytest.raises(InfrastructureError) as caught:
        find("redis-server")
    assert "redis-server not found" in str(caught.value)
    assert caught.value.hint == install_command("redis-server")


@pytest.mark.parametrize(("name", "manager", "root", "expected"), [
    ("toxiproxy-server", "apt", True, "gauntlet install toxiproxy"),
    ("toxiproxy-cli", "brew", False, "gauntlet install toxiproxy"),
    ("redis-server", "apt", True, "apt-get install -y redis-server"),
    ("redis-server", "apt", False, "sudo apt-get install -y redis-server"),
    ("redis-server", "dnf", False, "sudo dnf install -y redis"),
    ("redis-server", "brew", False, "brew install redis"),
    ("initdb", "apt", True, "apt-get install -y postgresql"),
    ("postgres", "dnf", True, "dnf install -y postgresql-server"),
    ("docker", "apt", False, "sudo apt-get install -y docker.io"),
    ("go", "brew", False, "brew install go"),
    ("redis-server", "", True, "install redis-server with your system's package manager"),
])
def test_install_command(name: str, manager: binaries.Manager, root: bool,
                         expected: str) -> None:
    assert install_command(name, manager, root=root) == expected


def test_go_installs_from_its_archive_where_the_lookup_finds_it() -> None:
    """Distributions' golang is often too old (Debian 12: 1.19); go.dev's archive unpacks to
    /usr/local/go, one of the directories the lookup searches off PATH."""
    command = install_command("go", "apt", root=False, machine="aarch64")
    assert command.startswith("curl -fsSL https://go.dev/dl/go")
    assert "linux-arm64.tar.gz" in command and "| sudo tar -C /usr/local -xz" in command
    assert Path("/usr/local/go/bin") in binaries.GO_DIRS


def test_compose_v2_is_built_as_the_docker_cli_plugin() -> None:
    command = install_command("docker-compose", "apt", root=True)
    assert f"github.com/docker/compose/v2/cmd@{binaries.COMPOSE_VERSION}" in command
    assert command.endswith("/cli-plugins/docker-compose")
