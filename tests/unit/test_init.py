"""``gauntlet init``: the starter files are written, valid, and never overwritten unasked."""

from __future__ import annotations

from pathlib import Path

import pytest

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
