"""The kinds of claim a contract may make, each registered by the module that defines it.

A kind is a :class:`~gauntlet.contract.claim.Claim` subclass decorated with
:func:`claim_kind`; the module that defines it registers it by being imported. The kinds
gauntlet ships are the modules of :mod:`gauntlet.contract.kinds`, found by module (no list
to edit); a kind defined elsewhere (a plugin, a test) registers when its module is imported.
``[claims]`` of a contract is the model :func:`claims_model` builds from what is registered,
so a contract naming a kind nobody registered is refused like any unknown key.

    @claim_kind("queue", order=200)
    class QueueClaim(Claim): ...

    contract.claims.of(QueueClaim)   # the instances of that kind, typed
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from pydantic import Field, create_model

from gauntlet.contract.basics import Strict
from gauntlet.contract.claim import Claim

C = TypeVar("C", bound=Claim)

# the position of gauntlet's own kinds in a contract's [claims] (and so in its claims table);
# a kind registered without one follows them
DEFAULT_ORDER = 1000


@dataclass(frozen=True)
class ClaimKind:
    """A registered kind: its key under ``[claims]``, its model, its place among the kinds."""

    key: str
    model: type[Claim]
    order: int = DEFAULT_ORDER


_KINDS: dict[str, ClaimKind] = {}
_DISCOVERED: list[bool] = []


def claim_kind(key: str, *, order: int = DEFAULT_ORDER) -> Callable[[type[C]], type[C]]:
    """Register the decorated model as the claims under ``[claims.<key>]``. Registering a key
    again replaces it (a module reloaded)."""

    def register(model: type[C]) -> type[C]:
        if not key.isidentifier():
            raise ValueError(f"claim kind {key!r}: not a TOML key a contract can use")
        model.kind = key
        _KINDS[key] = ClaimKind(key, model, order)
        return model

    return register


def _discover() -> None:
    """Import every module of :mod:`gauntlet.contract.kinds` (each registers its kind)."""
    if _DISCOVERED:
        return
    from gauntlet.contract import kinds

    for module in pkgutil.iter_modules(kinds.__path__):
        importlib.import_module(f"{kinds.__name__}.{module.name}")
    _DISCOVERED.append(True)


def claim_kinds() -> tuple[ClaimKind, ...]:
    """Every registered kind, in contract order (``order``, then key)."""
    _discover()
    return tuple(sorted(_KINDS.values(), key=lambda k: (k.order, k.key)))


def kind_of(key: str) -> ClaimKind | None:
    _discover()
    return _KINDS.get(key)


@contextmanager
def registered_kinds() -> Iterator[None]:
    """Whatever is registered inside the block is unregistered after it: a test's own kind
    does not outlive the test."""
    _discover()
    before = dict(_KINDS)
    try:
        yield
    finally:
        _KINDS.clear()
        _KINDS.update(before)


CLAIMS_DOC = "Every claim instance of the contract, by kind: [[claims.<kind>]] tables."


class Claims(Strict):
    """Every claim instance of a contract, by kind: ``[[claims.<kind>]]`` tables. The fields
    are the registered kinds (:func:`claims_model`); code reads them through :meth:`of`."""

    def of(self, model: type[C]) -> list[C]:
        """The instances of one kind, typed: ``contract.claims.of(BreakerClaim)``."""
        return [c for c in self.of_kind(model.kind) if isinstance(c, model)]

    def of_kind(self, key: str) -> list[Claim]:
        """The instances under ``[claims.<key>]`` (none for a kind this model lacks)."""
        if key not in type(self).model_fields:
            return []
        found: list[Claim] = getattr(self, key)
        return found

    def instances(self) -> list[tuple[str, Claim]]:
        """Every (kind, claim) pair, in the order of the kinds."""
        return [(kind, claim) for kind in type(self).model_fields for claim in self.of_kind(kind)]

    def all(self) -> list[Claim]:
        return [claim for _, claim in self.instances()]

    def find(self, kind: str, name: str) -> Claim:
        for claim in self.of_kind(kind):
            if claim.name == name:
                return claim
        raise KeyError(f"{kind}.{name}")


def claims_model() -> type[Claims]:
    """The ``[claims]`` model of the kinds registered now (built once per set of kinds)."""
    return _claims_model(tuple((k.key, k.model) for k in claim_kinds()))


@cache
def _claims_model(kinds: tuple[tuple[str, type[Claim]], ...]) -> type[Claims]:
    fields: dict[str, Any] = {key: (list[model], Field(default_factory=list))  # type: ignore[valid-type]
                              for key, model in kinds}
    model: type[Claims] = create_model("Claims", __base__=Claims, __doc__=CLAIMS_DOC, **fields)
    return model


def empty_claims() -> Claims:
    return claims_model()()
