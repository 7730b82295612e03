"""The experiments gauntlet ships, found by name. ``gauntlet chaos NAME`` runs one.

Every module of this package that defines an :class:`~gauntlet.chaos.experiments.base.Experiment`
subclass with a ``name`` is an experiment: adding one is one module (plus its verdict module in
``checks/`` and their tests), with no list to edit here. Each verifies claims of the kinds it
names (``kinds``), once per claim instance of the contract. An experiment defined elsewhere (a
plugin, a test) registers with :func:`experiment`, as a claim kind does with ``claim_kind``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TypeVar

from gauntlet.chaos.experiments.base import Experiment
from gauntlet.errors import ConfigError

__all__ = ["Experiment", "experiment", "experiments", "get_experiment",
           "registered_experiments"]

_REGISTERED: dict[str, type[Experiment]] = {}


E = TypeVar("E", bound=type[Experiment])


def experiment(cls: E) -> E:
    """Register an experiment defined outside this package under its ``name``."""
    _REGISTERED[cls.name] = cls
    return cls


@contextmanager
def registered_experiments() -> Iterator[None]:
    """Whatever is registered inside the block is unregistered after it: a test's own
    experiment does not outlive the test."""
    before = dict(_REGISTERED)
    try:
        yield
    finally:
        _REGISTERED.clear()
        _REGISTERED.update(before)


def experiments() -> dict[str, type[Experiment]]:
    """Name → class of every experiment: this package's modules, then the registered ones."""
    return dict(sorted({**_shipped(), **_REGISTERED}.items()))


@cache
def _shipped() -> dict[str, type[Experiment]]:
    """Name → class of every experiment module in this package."""
    found: dict[str, type[Experiment]] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name == "base":
            continue
        loaded = importlib.import_module(f"{__name__}.{module.name}")
        for value in vars(loaded).values():
            if (isinstance(value, type) and issubclass(value, Experiment)
                    and value is not Experiment and getattr(value, "name", None)
                    and value.__module__ == loaded.__name__):
                found[value.name] = value
    return found


def get_experiment(name: str) -> Experiment:
    known = experiments()
    if name not in known:
        raise ConfigError(f"no experiment {name!r} (known: {', '.join(known)})")
    return known[name]()
