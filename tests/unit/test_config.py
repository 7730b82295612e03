"""The suite schema: valid suites resolve, invalid ones fail with one line naming the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from gauntlet.config import load_suite, parse_suite
from gauntlet.errors import ConfigError

API_MIX = str(Path(__file__).resolve().parents[2] / "stack" / "locustfiles" / "api_mix.py")


ROOT = Path(__file__).resolve().parents[2]
CONTRACT = str(ROOT / "stack" / "contract.toml")


def minimal(**over: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "name": "t",
        "contract": CONTRACT,
        "load": {"scenario": API_MIX, "users": 5, "duration_s": 3},
    }
    doc.update(over)
    return doc


def test_shipped_suites_are_valid() -> None:
    for path in sorted((ROOT / "suites").glob("*.toml")):
        suite = load_suite(path)
        assert suite.name
        assert suite.resolved_contract is not None


def test_contract_slo_is_default_and_suite_overrides() -> None:
    suite = parse_suite(minimal(slo={"p95_ms": 123}))
    assert suite.slo.p95_ms == 123  # suite wins
    assert suite.slo.p99_ms == 1000  # the contract's claim


def test_no_contract_no_slo_gates() -> None:
    """A suite that names no contract is gated on nothing it did not state itself."""
    suite = parse_suite({"name": "t", "stack": {"backend": "external",
                                                "base_url": "http://127.0.0.1:9"},
                         "load": {"scenario": API_MIX, "users": 1, "duration_s": 1}})
    assert suite.slo.p95_ms is None and suite.slo.p99_ms is None
    assert suite.slo.error_rate is None


def test_relative_locustfile_resolves_against_the_suite_file(tmp_path: Path) -> None:
    (tmp_path / "mine.py").write_text("# a locustfile\n")
    suite_file = tmp_path / "suite.toml"
    suite_file.write_text(f'name = "t"\ncontract = "{CONTRACT}"\n'
                          '[load]\nscenario = "mine.py"\nusers = 1\nduration_s = 1\n')
    suite = load_suite(suite_file)
    assert suite.load is not None
    assert suite.load.scenario == str(tmp_path / "mine.py")


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (minimal(laod={}), "unknown key 'laod'"),
        (minimal(load={"scenario": API_MIX, "userz": 5, "duration_s": 3}),
         "unknown key 'load.userz'"),
        (minimal(load={"scenario": API_MIX, "users": "ten", "duration_s": 3}), "'load.users'"),
        (minimal(load={"scenario": "nope", "users": 5, "duration_s": 3}), "no scenario 'nope'"),
        ({"load": {"scenario": API_MIX, "users": 5, "duration_s": 3}}, "missing key 'name'"),
        (minimal(stack={"variants": ["brakes"]}), "'brakes' is not a variant"),
        (minimal(stack={"profile": "x"}), "unknown key 'stack.profile'"),
        (minimal(stack={"backend": "external"}), "needs stack.base_url"),
        (minimal(stack={"backend": "external", "base_url": "http://127.0.0.1:1",
                        "ports": {"api": 8080}}), "stack.ports is for backend 'local'"),
        (minimal(stack={"ports": {"api": 70000}}), "'stack.ports.api'"),
        (minimal(stack={"handle": "x.json"}), "stack.handle is for backend 'up'"),
        (minimal(load={"scenario": API_MIX, "users": 5}), "needs load.users and load.duration_s"),
        (minimal(load={"scenario": API_MIX, "model": "open", "duration_s": 5}),
         "open model needs load.rate"),
        (minimal(slo={"error_rate": 2}), "'slo.error_rate'"),
        ({"name": "idle", "contract": CONTRACT}, "nothing to do"),
        ({"name": "t", "load": {"scenario": API_MIX, "users": 1, "duration_s": 1}},
         "give contract = PATH"),
    ],
)
def test_invalid_suites_fail_with_one_line(doc: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_suite(doc, "suite.toml")
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert message.startswith("suite.toml")


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such suite file"):
        load_suite(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_suite(bad)


@pytest.mark.parametrize(("slo", "key"), [
    ({"error_rate": 1.0}, "slo.error_rate"),
    ({"error_rate": 1.5}, "slo.error_rate"),
    ({"rate_429": 1}, "slo.rate_429"),
    ({"dropped_rate": 1.0}, "slo.dropped_rate"),
    ({"min_rps": 0}, "slo.min_rps"),
    ({"min_rps": -1}, "slo.min_rps"),
    ({"endpoints": {"GET /x": {"error_rate": 1.0}}}, "slo.endpoints.GET /x.error_rate"),
])
def test_a_gate_that_cannot_fail_is_refused(slo: dict[str, object], key: str) -> None:
    """error_rate = 1.0 or min_rps = 0 hold for every run, a crashed stack's included: the
    suite is refused with one line naming the key (it used to be accepted in silence)."""
    with pytest.raises(ConfigError) as info:
        parse_suite(minimal(slo=slo), "s.toml")
    message = str(info.value)
    assert f"'{key}'" in message and "could never fail" in message and "\n" not in message
    assert ConfigError.exit_code == 2


def test_the_strictest_bounds_are_kept() -> None:
    suite = parse_suite(minimal(slo={"error_rate": 0.0, "rate_429": 0, "max_dropped": 0}))
    assert suite.slo.error_rate == 0.0 and suite.slo.rate_429 == 0 and suite.slo.max_dropped == 0


def test_output_dir_resolves_against_the_suite_file(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Like every path a suite names; unset, run dirs go to reports/runs where gauntlet runs."""
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "s.toml").write_text(f'name = "t"\ncontract = "{CONTRACT}"\noutput_dir = "runs"\n'
                                   f'[load]\nscenario = "{API_MIX}"\nusers = 1\n'
                                   'duration_s = 1\n')
    (suites / "d.toml").write_text(f'name = "t"\ncontract = "{CONTRACT}"\n'
                                   f'[load]\nscenario = "{API_MIX}"\nusers = 1\n'
                                   'duration_s = 1\n')
    monkeypatch.chdir(tmp_path)
    assert load_suite(Path("suites/s.toml")).runs_dir == suites / "runs"
    assert load_suite(Path("suites/d.toml")).runs_dir == Path("reports/runs")
    up = parse_suite(minimal(stack={"backend": "up", "handle": "h/up.json"}), "s", tmp_path)
    assert up.stack.handle == str(tmp_path / "h" / "up.json")


def test_a_suite_that_gives_only_its_stack_serves_verify(tmp_path: Path) -> None:
    """README's stack.toml (`gauntlet verify contract.toml --suite stack.toml`) has no [load]:
    as a stack section it is whole; as a suite to run, there is nothing to do."""
    path = tmp_path / "stack.toml"
    path.write_text('name = "s"\n[stack]\nbackend = "external"\n'
                    'base_url = "http://127.0.0.1:8080"\n')
    assert load_suite(path, needs_work=False).stack.base_url == "http://127.0.0.1:8080"
    with pytest.raises(ConfigError, match="nothing to do"):
        load_suite(path)


def test_the_compose_backend_runs_a_contracts_compose_section_only() -> None:
    """The harness has no compose file of its own: a contract without [compose] is refused up
    front (exit 2, nothing started), the reference stack's own included."""
    stack = str(ROOT / "stack" / "contract.toml")
    with pytest.raises(ConfigError, match=r"backend 'compose' runs the compose files of the "
                                          r"contract's \[compose\], and contract "
                                          r"'reference-stack' gives none"):
        parse_suite({"name": "s", "contract": stack, "stack": {"backend": "compose"},
                     "every_claim": True})
    compose = str(ROOT / "contracts" / "reference-compose.toml")
    suite = parse_suite({"name": "s", "contract": compose, "stack": {"backend": "compose"},
                         "every_claim": True})
    assert suite.the_contract.compose is not None
