"""pytest fixtures for resilience tests: ``stack``, ``fresh_stack``, ``faults``, ``load``.

Loaded automatically when gauntlet is installed (entry point ``pytest11``). A test declares the
stack it needs with a marker; stacks with the same declaration are booted once per session and
shared (booting costs seconds), while ``fresh_stack`` boots one for a test that will break it
(SIGTERM, kill)::

    @pytest.mark.stack(contract="contract.toml", variants=["no-retries"])
    def test_breaker_opens(stack, faults, load):
        with faults.inject(Fault(proxy="upstream", kind="timeout", attributes={"timeout": 0})):
            result = load(users=10, duration_s=5, scenario="locustfile.py")
        assert result.figures.error_rate < 0.01

The contract defaults to the ini option ``gauntlet_contract`` (a path from the rootdir).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from gauntlet.boot import Stack, boot
from gauntlet.chaos.faults import FaultInjector
from gauntlet.clock import RunClock
from gauntlet.config import LoadConfig, Suite, parse_suite
from gauntlet.latency import Figures, figures
from gauntlet.samples import load_samples
from gauntlet.scenarios.runner import LoadResult, LoadRun
from gauntlet.timeline import EVENTS_FILE, Timeline

MAX_CACHED_STACKS = 2


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("gauntlet_contract", "the contract of the stack tests boot by default "
                  "(a path from the rootdir)", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "stack(contract='path', backend='local', variants=[...], base_url=...): the stack a "
        "test needs",
    )


def suite_for(marker: pytest.Mark | None, config: pytest.Config | None = None,
              name: str = "pytest") -> Suite:
    """A suite holding only the stack declaration of a ``stack`` marker."""
    kwargs: dict[str, Any] = dict(marker.kwargs) if marker else {}
    contract = kwargs.pop("contract", None)
    root = Path(str(config.rootpath)) if config is not None else Path.cwd()
    if contract is None and config is not None and config.getini("gauntlet_contract"):
        contract = str(config.getini("gauntlet_contract"))
    doc: dict[str, Any] = {"name": name, "stack": kwargs}
    if contract is not None:
        doc["contract"] = str((root / contract).resolve())
    return parse_suite(doc, f"@pytest.mark.stack{kwargs}", root, needs_work=False)


class _StackCache:
    """Booted stacks keyed by their declaration; the oldest is stopped past the limit."""

    def __init__(self) -> None:
        self._stacks: OrderedDict[str, tuple[ExitStack, Stack]] = OrderedDict()

    def get(self, suite: Suite) -> Stack:
        key = json.dumps([suite.contract, suite.stack.model_dump()], sort_keys=True,
                         default=str)
        if key in self._stacks:
            self._stacks.move_to_end(key)
            return self._stacks[key][1]
        while len(self._stacks) >= MAX_CACHED_STACKS:
            _, (old, _) = self._stacks.popitem(last=False)
            old.close()
        exit_stack = ExitStack()
        try:
            stack = exit_stack.enter_context(boot(suite))
        except BaseException:
            exit_stack.close()
            raise
        self._stacks[key] = (exit_stack, stack)
        return stack

    def discard(self, stack: Stack) -> None:
        for key, (exit_stack, cached) in list(self._stacks.items()):
            if cached is stack:
                del self._stacks[key]
                exit_stack.close()

    def close(self) -> None:
        while self._stacks:
            _, (exit_stack, _) = self._stacks.popitem()
            exit_stack.close()


@pytest.fixture(scope="session")
def _gauntlet_stack_cache() -> Iterator[_StackCache]:
    cache = _StackCache()
    yield cache
    cache.close()


@pytest.fixture
def stack(request: pytest.FixtureRequest, _gauntlet_stack_cache: _StackCache) -> Iterator[Stack]:
    """A running stack as the test's ``stack`` marker declares it, shared with like tests.

    Faults are reset after the test; a stack whose API died is dropped from the cache.
    """
    suite = suite_for(request.node.get_closest_marker("stack"), request.config)
    booted = _gauntlet_stack_cache.get(suite)
    yield booted
    if booted.toxiproxy is not None:
        booted.toxiproxy.reset()
    main = booted.contract.main_service if booted.contract else None
    api = booted.services.get(main) if main else None
    if api is not None and not api.alive():
        _gauntlet_stack_cache.discard(booted)


@pytest.fixture
def fresh_stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """A stack of the test's own, booted for it and torn down after it."""
    suite = suite_for(request.node.get_closest_marker("stack"), request.config)
    with boot(suite) as booted:
        yield booted


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    path = tmp_path / "run"
    (path / "logs").mkdir(parents=True)
    return path


@pytest.fixture
def timeline(run_dir: Path) -> Iterator[Timeline]:
    with Timeline(run_dir / EVENTS_FILE, RunClock()) as tl:
        yield tl


def _stack_of(request: pytest.FixtureRequest) -> Stack:
    for name in ("fresh_stack", "stack"):
        if name in request.fixturenames:
            value: Stack = request.getfixturevalue(name)
            return value
    value = request.getfixturevalue("stack")
    return value


@pytest.fixture
def faults(request: pytest.FixtureRequest, timeline: Timeline) -> Iterator[FaultInjector]:
    """Fault injector on the test's stack; every fault is undone and Toxiproxy reset after."""
    injector = _stack_of(request).faults(timeline)
    yield injector
    injector.reset()


@dataclass
class LoadOutcome:
    result: LoadResult
    samples: pd.DataFrame
    figures: Figures
    run_dir: Path


@pytest.fixture
def load(request: pytest.FixtureRequest, run_dir: Path,
         timeline: Timeline) -> Callable[..., LoadOutcome]:
    """``load(scenario="locustfile.py", users=10, duration_s=5, **LoadConfig fields)`` →
    LoadOutcome (a relative locustfile path is taken from pytest's rootdir).

    Runs Locust against the test's stack to the end and returns its samples and figures.
    Successive calls in one test write into fresh sub-directories.
    """
    target = _stack_of(request)
    calls = {"n": 0}

    def run(**fields: Any) -> LoadOutcome:
        calls["n"] += 1
        sub = run_dir / f"load-{calls['n']}"
        (sub / "logs").mkdir(parents=True, exist_ok=True)
        if "scenario" in fields and str(fields["scenario"]).endswith(".py"):
            fields["scenario"] = str(Path(str(request.config.rootpath)) / fields["scenario"])
        config = LoadConfig.model_validate(fields)
        with LoadRun(config, target.base_url, sub, timeline) as running:
            result = running.wait()
        samples = load_samples(sub)
        return LoadOutcome(result, samples, figures(samples, corrected=config.model == "open"),
                           sub)

    return run
