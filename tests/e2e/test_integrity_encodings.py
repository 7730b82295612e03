"""The integrity read-back on a real PostgreSQL, on databases of other encodings than UTF8: on
``SQL_ASCII`` psycopg hands text over as bytes, and a read-back comparing ``str(bytes)`` with
the tokens reported every acknowledged write LOST (one run: "264 acknowledged writes LOST … of
264" while the table held every one of them, 52 twice). The local backend's managed PostgreSQL
hosts the databases; the main service is a bare static server the boot needs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gauntlet.boot import boot
from gauntlet.chaos.integrity import read_back
from gauntlet.checks.integrity import integrity_verdict
from gauntlet.checks.windows import Window
from gauntlet.config import parse_suite
from gauntlet.contract import IntegrityClaim
from gauntlet.samples import load_samples
from tests.unit.checks.factory import T0, ask, frame

# the three encodings share one boot: one test worker runs them all (scripts/test.sh runs two)
pytestmark = pytest.mark.xdist_group("integrity-encodings")

CONTRACT = """
name = "encodings"
[links.db]
managed = "postgres"
[services.web]
main = true
command = ["{python}", "-m", "http.server", "--bind", "127.0.0.1", "{port}"]
ready = "/"
"""
WRITE = "POST /entries"
CLAIM = IntegrityClaim(name="entries", requests=[WRITE],
                       sql="SELECT memo, count(*) FROM entries WHERE memo = ANY(%(tokens)s) "
                           "GROUP BY memo")
TOKENS = [f"{i:032x}" for i in range(1, 41)]  # as {token} fills them: hex, ASCII
TWICE = TOKENS[:6]  # a second row each: duplicated
NEVER = TOKENS[-2:]  # acknowledged, never stored: lost


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    where = tmp_path_factory.mktemp("encodings")
    (where / "contract.toml").write_text(CONTRACT)
    suite = parse_suite({"name": "encodings", "contract": str(where / "contract.toml")},
                        base_dir=where, needs_work=False)
    with boot(suite, logs_dir=where / "logs") as stack:
        assert stack.database_url
        yield stack.database_url


def _database(admin_url: str, encoding: str) -> str:
    """A fresh database of ``encoding`` holding the entries table, the writes stored."""
    name = f"entries_{encoding.lower()}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name} ENCODING '{encoding}' LC_COLLATE 'C' "
                     "LC_CTYPE 'C' TEMPLATE template0")
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    stored = [t for t in TOKENS if t not in NEVER] + TWICE
    with psycopg.connect(url, autocommit=True) as conn:
        [shown] = conn.execute("SHOW server_encoding").fetchone() or [""]
        # bytes on SQL_ASCII: what the read-back tripped on
        assert (shown.decode() if isinstance(shown, bytes) else shown) == encoding
        conn.execute("CREATE TABLE entries (id serial PRIMARY KEY, memo text NOT NULL)")
        for token in stored:
            conn.execute("INSERT INTO entries (memo) VALUES (%s)", (token,))
        # a row that is not ASCII (on SQL_ASCII: a byte that is no UTF-8 at all)
        odd = "E'caf\\xe9'" if encoding == "SQL_ASCII" else "'café'"
        conn.execute(f"INSERT INTO entries (memo) VALUES ({odd})")
    return url


@pytest.mark.parametrize("encoding", ["SQL_ASCII", "LATIN1", "UTF8"])
def test_the_read_back_compares_text_on_any_server_encoding(database_url: str, tmp_path: Path,
                                                            encoding: str) -> None:
    url = _database(database_url, encoding)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    frame([ask(0.1 * i, 20, 201, WRITE, token=t) for i, t in enumerate(TOKENS)]).to_parquet(
        run_dir / "samples.parquet", index=False)
    assert len(load_samples(run_dir)) == len(TOKENS)
    facts = read_back(CLAIM, run_dir, database_url=url, base_url="http://127.0.0.1:1",
                      headers={})
    assert facts["checked"] and facts["acknowledged"] == len(TOKENS)
    assert facts["rows"] == {**{t: 2 for t in TWICE}, **{t: 0 for t in NEVER}}
    verdict = integrity_verdict(facts, CLAIM, frame([ask(1.0, 20, 201, WRITE, token="x")]),
                                [Window(T0, T0 + 5)])
    assert verdict.failed
    assert verdict.reason == (f"2 acknowledged writes LOST (e.g. {NEVER[0]}); 6 writes "
                              f"DUPLICATED (e.g. {TWICE[0]} x2) of {len(TOKENS)} acknowledged")
