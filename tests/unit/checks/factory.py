"""Synthetic records for the verdict tests: samples frames and timeline events, built directly.

    df = frame(ask(1.0, 20), *run(0, 4, 0.1, ms=20), ask(5.0, 800, status=0))
    events = [*fault("upstream", 4, 16), probe(4.1, "ready", 503)]

Times are seconds from ``T0``; everything the capture records has a column (header and marker
columns only when a row gives one).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from gauntlet.timeline import Event

T0 = 1_700_000_000.0

# reference-stack names, as synthetic data only
GEN = "POST /api/generate"
LIST = "GET /api/orders"
ITEM = "GET /api/orders/{id}"
CREATE = "POST /api/orders"


def ask(at: float, ms: float = 20.0, status: int = 200, name: str = GEN, *,
        client: str = "", token: str = "", phase: str = "", seq: int = -1,
        headers: dict[str, str] | None = None, markers: dict[str, int] | None = None
        ) -> dict[str, Any]:
    """One request row: started ``at`` s after T0, took ``ms``."""
    row: dict[str, Any] = {"at": at, "ms": ms, "status": status, "name": name,
                           "client": client, "token": token, "phase": phase, "seq": seq}
    for key, value in (headers or {}).items():
        row[f"header:{key.lower()}"] = value
    for key, hit in (markers or {}).items():
        row[f"marker:{key}"] = hit
    return row


def run(start: float, end: float, step: float, **kw: Any) -> list[dict[str, Any]]:
    """Requests every ``step`` s in [start, end)."""
    n = round((end - start) / step)
    return [ask(round(start + i * step, 6), **kw) for i in range(n)]


def frame(*rows: dict[str, Any] | list[dict[str, Any]]) -> pd.DataFrame:
    flat: list[dict[str, Any]] = []
    for row in rows:
        flat.extend(row if isinstance(row, list) else [row])
    extra = sorted({k for r in flat for k in r if k.startswith(("header:", "marker:"))})
    t = np.array([T0 + r["at"] for r in flat], dtype="float64")
    status = np.array([r["status"] for r in flat], dtype="int32")
    data: dict[str, Any] = {
        "t_intended_s": t,
        "t_start_s": t,
        "latency_ms": np.array([r["ms"] for r in flat], dtype="float64"),
        "method": pd.Categorical([r["name"].split(" ")[0] for r in flat]),
        "name": pd.Categorical([r["name"] for r in flat]),
        "status": status,
        "error": ["" if s and s < 400 else ("http" if s else "reset") for s in status],
        "bytes": 10,
        "worker": "w",
        "client": pd.array([r["client"] for r in flat], dtype="string"),
        "token": pd.array([r["token"] for r in flat], dtype="string"),
        "phase": pd.array([r["phase"] for r in flat], dtype="string"),
        "seq": np.array([r["seq"] for r in flat], dtype="int64"),
    }
    for column in extra:
        if column.startswith("header:"):
            data[column] = pd.array([r.get(column, "") for r in flat], dtype="string")
        else:
            data[column] = np.array([r.get(column, 0) for r in flat], dtype="int8")
    return pd.DataFrame(data)


def fault(link: str, start: float, end: float | None = None, kind: str = "down") -> list[Event]:
    data = {"proxy": link, "description": f"{link} {kind}"}
    events = [Event(T0 + start, "fault.applied", data)]
    if end is not None:
        events.append(Event(T0 + end, "fault.removed", data))
    return events


def probe(at: float, target: str, status: int) -> Event:
    return Event(T0 + at, "probe", {"target": target, "status": status, "latency_ms": 2.0})


def probes(start: float, end: float, step: float, target: str,
           status: int | Any) -> list[Event]:
    """Probes every ``step`` s; ``status`` is a number or a function of the offset."""
    n = round((end - start) / step)
    out = []
    for i in range(n):
        at = round(start + i * step, 6)
        out.append(probe(at, target, status(at) if callable(status) else status))
    return out


def state(at: float, claim: str, value: str) -> Event:
    return Event(T0 + at, "metric.state", {"claim": claim, "state": value})


def signal(at: float, name: str = "SIGTERM", handle: str = "api") -> Event:
    return Event(T0 + at, "signal.sent", {"handle": handle, "signal": name})


def exited(at: float, code: int, after_s: float, handle: str = "api") -> Event:
    return Event(T0 + at, "process.exit", {"handle": handle, "code": code, "after_s": after_s})


def by_name(verdicts: list[Any]) -> dict[str, Any]:
    """Verdicts keyed by name without the ``[instance]`` tag."""
    return {v.name.rsplit(" [", 1)[0]: v for v in verdicts}
