"""``gauntlet init``: the starter files are written, valid, and never overwritten unasked."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gauntlet.cli import main
from gauntlet.config import load_suite
from gauntlet.contract import load_contract
from gauntlet.errors import ConfigError
from gauntlet.init import FILES, init


def test_init_writes_a_valid_starter(tmp_path: Path) -> None:
    written = init(tmp_path, name="checkout", base_url="http://127.0.0.1:3000")
    assert {w.path.relative_to(tmp_path).as_posix() for w in written} == set(FILES)
    contract = load_contract(tmp_path / "contract.toml")
    assert contract.name == "checkout" and contract.claims.instances()
    suite = load_suite(tmp_path / "gauntlet.toml")
    assert suite.stack.base_url == "http://127.0.0.1:3000"
    assert suite.load is not None and suite.load.scenario == str(tmp_path / "locustfile.py")
    compile((tmp_path / "locustfile.py").read_text(), "locustfile.py", "exec")


def test_init_never_overwrites_unless_forced(tmp_path: Path) -> None:
    (tmp_path / "contract.toml").write_text("mine")
    with pytest.raises(ConfigError, match="exists; nothing was written"):
        init(tmp_path, name="x", base_url="http://127.0.0.1:1")
    assert (tmp_path / "contract.toml").read_text() == "mine"
    assert not (tmp_path / "gauntlet.toml").exists()
    init(tmp_path, name="x", base_url="http://127.0.0.1:1", force=True)
    assert (tmp_path / "contract.toml").read_text() != "mine"


@pytest.mark.parametrize("url", ["http://10.0.0.1:80", "http://example.com:8080",
                                 "ftp://127.0.0.1:21", "127.0.0.1:8080"])
def test_init_refuses_a_base_url_not_on_loopback(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match="loopback") as info:
        init(tmp_path, name="x", base_url=url)
    assert "\n" not in str(info.value)
    assert not list(tmp_path.iterdir())  # nothing written


def test_the_starter_can_pass_on_a_good_service(tmp_path: Path) -> None:
    """Its shutdown claim signals through a PID file beside the contract, which shows the exit
    but never the code: it claims none, so a service that drains can pass (it claimed exit 0
    by default, which no run could ever verify: always inconclusive, exit 4)."""
    init(tmp_path, name="shop", base_url="http://localhost:8080")
    claim = load_contract(tmp_path / "contract.toml").claims.shutdown[0]
    assert claim.pid_file == str(tmp_path / "service.pid")
    assert claim.claimed_exit_code is None


def test_init_says_what_to_do_next_in_full(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The closing hint names the ``[services]`` table (rich took it for markup and dropped
    it: "describe it under  and keep it running")."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["init", "--name", "shop"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "describe it under [services] and keep it running" in said, said
