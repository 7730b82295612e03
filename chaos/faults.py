"""Faults: one Toxiproxy change with its undo, applied for the length of a ``with`` block.

The undo of a fault is registered (in :mod:`gauntlet.cleanup`) *before* the fault is applied, so a
crash between "sent" and "recorded" still rolls it back; it runs in ``finally`` under a shield
that a second Ctrl-C cannot break, and the run ends with a Toxiproxy reset as the last net.
Every apply and remove is written to the timeline, which is what verdicts and plots read.

    with injector.inject(Fault(proxy="postgres", kind="down")):
        ...  # PostgreSQL unreachable through its proxy here
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from gauntlet import cleanup
from gauntlet.chaos.toxiproxy import AnswerCounts, ToxiproxyClient, validate_toxic
from gauntlet.errors import ConfigError
from gauntlet.timeline import Timeline

_serial = itertools.count(1)


@dataclass(frozen=True)
class Fault:
    """``kind`` is a Toxiproxy toxic type or ``down`` (the proxy disabled)."""

    proxy: str
    kind: str
    # numbers for Toxiproxy's toxics; http_status also takes ``headers`` and ``body``
    attributes: Mapping[str, Any] = field(default_factory=dict)
    stream: str = "downstream"
    toxicity: float = 1.0

    def validate(self) -> None:
        if self.kind == "down":
            if self.attributes:
                raise ConfigError("fault 'down' takes no attributes")
            return
        validate_toxic(self.kind, dict(self.attributes), self.stream, self.toxicity)

    def describe(self) -> str:
        if self.kind == "down":
            return f"{self.proxy} down"
        attrs = ", ".join(f"{k}={v}" for k, v in self.attributes.items())
        tox = f" @{self.toxicity:g}" if self.toxicity < 1 else ""
        return f"{self.kind}({attrs}) on {self.proxy} {self.stream}{tox}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "proxy": self.proxy,
            "fault": self.kind,
            "attributes": dict(self.attributes),
            "stream": self.stream,
            "toxicity": self.toxicity,
        }


@dataclass
class LiveToxic:
    """A toxic while :meth:`FaultInjector.inject_live` holds it: ``update`` changes its
    attributes in place (an HTTP toxic keeps its counts), ``counts`` reads an HTTP toxic's."""

    injector: FaultInjector
    fault: Fault
    proxy: str
    name: str

    def update(self, attributes: Mapping[str, Any]) -> None:
        if self.fault.kind == "down":
            raise ConfigError("fault 'down' has no attributes to change")
        changed = replace(self.fault, attributes={**self.fault.attributes, **attributes})
        changed.validate()
        self.injector.client.update_toxic(self.proxy, self.name, attributes)
        self.fault = changed
        self.injector._emit("fault.updated", changed, toxic=self.name)

    def counts(self) -> AnswerCounts | None:
        return self.injector.client.answer_counts(self.proxy, self.name)


class FaultInjector:
    """Applies faults on a stack's proxies; ``proxies`` maps logical names to Toxiproxy names."""

    def __init__(
        self, client: ToxiproxyClient, proxies: Mapping[str, str], timeline: Timeline | None
    ) -> None:
        self.client = client
        self.proxies = dict(proxies)
        self.timeline = timeline

    def _proxy_name(self, logical: str) -> str:
        if logical not in self.proxies:
            known = ", ".join(sorted(self.proxies))
            raise ConfigError(f"no proxy {logical!r} on this stack (known: {known})")
        return self.proxies[logical]

    @contextmanager
    def inject(self, fault: Fault) -> Iterator[Fault]:
        with self.inject_live(fault):
            yield fault

    @contextmanager
    def inject_live(self, fault: Fault) -> Iterator[LiveToxic]:
        """:meth:`inject`, yielding a handle that changes the toxic in place (one window in
        the timeline, however often it changes) and reads an HTTP toxic's counts."""
        fault.validate()
        proxy = self._proxy_name(fault.proxy)
        toxic_name = f"gauntlet_{fault.kind}_{next(_serial)}"
        live = LiveToxic(self, fault, proxy, toxic_name)

        def undo() -> None:
            if fault.kind == "down":
                self.client.set_enabled(proxy, True)
            else:
                self.client.remove_toxic(proxy, toxic_name)

        token = cleanup.register(f"undo {fault.describe()}", undo)
        # the fault may bite from the moment Toxiproxy is asked, and last until it answers the
        # removal: the window in the timeline spans both, so no request it hit falls outside
        asked_s = self.timeline.now_s() if self.timeline is not None else None
        try:
            if fault.kind == "down":
                self.client.set_enabled(proxy, False)
            else:
                self.client.add_toxic(
                    proxy,
                    fault.kind,
                    name=toxic_name,
                    attributes=dict(fault.attributes),
                    stream=fault.stream,
                    toxicity=fault.toxicity,
                )
            self._emit("fault.applied", fault, at_s=asked_s, toxic=toxic_name)
            yield live
        finally:
            with cleanup.shielded():
                try:
                    undo()
                finally:
                    cleanup.unregister(token)
                    self._emit("fault.removed", live.fault, toxic=toxic_name)

    def reset(self) -> None:
        """Every proxy enabled, every toxic gone, whatever anyone applied."""
        self.client.reset()
        if self.timeline is not None:
            self.timeline.emit("toxiproxy.reset")

    def _emit(self, kind: str, fault: Fault, at_s: float | None = None, toxic: str = "") -> None:
        """``toxic`` names the fault's toxic (the same on its applied, updated and removed
        events): a fault changed in place keeps one window though its description changed."""
        if self.timeline is not None:
            self.timeline.emit(kind, at_s=at_s, description=fault.describe(), toxic=toxic,
                               **fault.as_dict())
