"""The experiments gauntlet ships, found by name. ``gauntlet chaos NAME`` runs one.

Every module of this package that defines an :class:`~gauntlet.chaos.experiments.base.Experiment`
subclass with a ``name`` is an experiment: adding one is one module (plus its verdict module in
``checks/`` and their tests), with no list to edit here. Each verifies claims of the kinds it
names (``kinds``), once per claim instance of the contract.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from gauntlet.chaos.experiments.base import Experiment
from gauntlet.errors import ConfigError

__all__ = ["Experiment", "experiments", "get_experiment"]


@cache
def experiments() -> dict[str, type[Experiment]]:
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
    return dict(sorted(found.items()))


def get_experiment(name: str) -> Experiment:
    known = experiments()
    if name not in known:
        raise ConfigError(f"no experiment {name!r} (known: {', '.join(known)})")
    return known[name]()
