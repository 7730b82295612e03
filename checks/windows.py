"""Time windows on the run clock, and the record's columns as the verdicts read them.

Pure helpers every verdict module shares: where faults and signals fall among the samples,
which requests a claim covers, a response header as a column (absent → ``""``), and
:class:`Scope`, which names a claim instance's verdicts ("opens after the fault starts
[upstream]", claim ``breaker.upstream``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gauntlet.checks.verdict import Outcome, Verdict

# where retries' backoff is known (the retries claim); imported from here by the verdicts
from gauntlet.contract.kinds.retries import backoff_budget_s as backoff_budget_s
from gauntlet.latency import percentile
from gauntlet.timeline import Event

TRANSPORT_FAILURE = 0


@dataclass(frozen=True)
class Window:
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Scope:
    """Names the verdicts of one claim instance and fills ``claim`` on each.

        scope = Scope("breaker", "breaker", claim.name)
        scope.judge("opens after the fault starts", took <= bound, reason, evidence=...)
    """

    check: str
    kind: str
    instance: str

    @property
    def claim(self) -> str:
        return f"{self.kind}.{self.instance}"

    def name(self, what: str) -> str:
        return f"{what} [{self.instance}]"

    def verdict(self, what: str, status: Outcome | bool, reason: str,
                observed: float | str | None = None, threshold: float | str | None = None,
                unit: str = "", *, evidence: str, marginal: bool = False) -> Verdict:
        outcome: Outcome = status if isinstance(status, str) else ("pass" if status else "fail")
        return Verdict(self.check, self.name(what), outcome, reason, observed, threshold, unit,
                       marginal=marginal, claim=self.claim, evidence=evidence)

    def judge(self, what: str, passed: bool, reason: str,
              observed: float | str | None = None, threshold: float | str | None = None,
              unit: str = "", *, evidence: str) -> Verdict:
        return self.verdict(what, "pass" if passed else "fail", reason, observed, threshold,
                            unit, evidence=evidence)

    def missing(self, what: str, lacked: str, threshold: float | str | None = None,
                unit: str = "", *, evidence: str) -> Verdict:
        """Inconclusive: ``lacked`` says which evidence never occurred."""
        return Verdict.missing(self.check, self.name(what), lacked, threshold, unit,
                               claim=self.claim, evidence=evidence)


# the harness stopped running for a while (gauntlet.chaos.heartbeat): at_s .. until_s
HOST_STALL = "host.stall"


def stall_windows(events: Sequence[Event]) -> list[Window]:
    """The stalls of the host the heartbeat recorded, in order: the harness's own, and those
    the load's generators saw of themselves."""
    return sorted((Window(e.at_s, float(e.data.get("until_s", e.at_s))) for e in events
                   if e.kind == HOST_STALL), key=lambda w: w.start_s)


def in_stalls(samples: pd.DataFrame, stalls: Sequence[Window]) -> pd.Series:
    """Which requests overlapped a stall of the host (from their start to their answer): their
    latency counts time the harness or its generator did not run, not the stack's."""
    start = samples["t_start_s"].to_numpy(dtype=float)
    end = start + samples["latency_ms"].to_numpy(dtype=float) / 1000.0
    hit = np.zeros(len(samples), dtype=bool)
    for stall in stalls:
        hit |= (start < stall.end_s) & (end > stall.start_s)
    return pd.Series(hit, index=samples.index)


def longest_overlapping(windows: Iterable[Window], start_s: float,
                        end_s: float) -> Window | None:
    """The longest of ``windows`` that overlaps [start, end), if any (a host stall in an
    outage and its backoff, say)."""
    hits = [w for w in windows if w.start_s < end_s and w.end_s > start_s]
    return max(hits, key=lambda w: w.duration_s, default=None)


def fault_windows(events: Sequence[Event], proxy: str | None = None) -> list[Window]:
    """Applied→removed pairs, in order; a fault never removed lasts to the last event."""
    open_: dict[str, float] = {}
    windows: list[Window] = []
    last = max((e.at_s for e in events), default=0.0)
    for event in events:
        if proxy is not None and event.data.get("proxy") != proxy:
            continue
        # the toxic's name pairs them (a fault changed in place has a new description); older
        # run dirs have only the description
        name = event.data.get("toxic") or event.data.get("description")
        key = f"{event.data.get('proxy')}|{name}"
        if event.kind == "fault.applied":
            open_[key] = event.at_s
        elif event.kind == "fault.removed" and key in open_:
            windows.append(Window(open_.pop(key), event.at_s))
    windows.extend(Window(start, last) for start in open_.values())
    return sorted(windows, key=lambda w: w.start_s)


def of_requests(df: pd.DataFrame, names: Iterable[str]) -> pd.DataFrame:
    """The samples of the named requests (``"POST /items"``), whatever the column dtype."""
    return df[df["name"].astype("string").isin(list(names)).fillna(False).to_numpy(bool)]


def text(df: pd.DataFrame, column: str) -> pd.Series:
    """A string column, ``""`` where missing — and everywhere when the column is absent."""
    if column not in df.columns:
        return pd.Series("", index=df.index, dtype="string")
    return df[column].astype("string").fillna("")


def header(df: pd.DataFrame, name: str) -> pd.Series:
    """A response header's values (``header:<lower-case name>``); ``""`` when absent."""
    return text(df, f"header:{name.lower()}")


def ended_s(df: pd.DataFrame) -> pd.Series:
    return df["t_start_s"] + df["latency_ms"] / 1000.0


def started_in(df: pd.DataFrame, start_s: float, end_s: float) -> pd.DataFrame:
    t = df["t_start_s"]
    return df[(t >= start_s) & (t < end_s)]


def overlapping(df: pd.DataFrame, start_s: float, end_s: float) -> pd.DataFrame:
    """Requests in flight at any moment of [start, end)."""
    t0 = df["t_start_s"]
    t1 = t0 + df["latency_ms"] / 1000.0
    return df[(t0 < end_s) & (t1 > start_s)]


def finished_before(df: pd.DataFrame, start_s: float) -> pd.DataFrame:
    """Requests over before ``start_s``: what a fault starting then cannot have touched."""
    return df[ended_s(df) <= start_s]


def failed(df: pd.DataFrame) -> np.ndarray:
    """5xx or no answer at all (connect, timeout, reset): what a user would call a failure."""
    status = df["status"].to_numpy()
    mask: np.ndarray = (status >= 500) | (status == TRANSPORT_FAILURE)
    return mask


def succeeded(df: pd.DataFrame) -> np.ndarray:
    """2xx/3xx: an answer the client can use."""
    status = df["status"].to_numpy()
    mask: np.ndarray = (status >= 200) & (status < 400)
    return mask


def ok_fraction(df: pd.DataFrame) -> float:
    return 1.0 - float(failed(df).mean()) if len(df) else float("nan")


def statuses(df: pd.DataFrame, most: int = 4) -> str:
    """``"503 x12, 0 x3"``: the commonest statuses, for a reason a person reads."""
    counts = df["status"].astype(int).value_counts()
    return ", ".join(f"{int(s)} x{int(n)}" for s, n in counts.head(most).items()) or "none"


def probes(events: Sequence[Event], target: str) -> list[Event]:
    return [e for e in events if e.kind == "probe" and e.data.get("target") == target]


def probe_status(event: Event) -> int:
    return int(event.data.get("status", -1))


def first_probe_after(events: Sequence[Event], target: str, after_s: float,
                      status: int | tuple[int, ...]) -> Event | None:
    wanted = (status,) if isinstance(status, int) else status
    for event in probes(events, target):
        if event.at_s >= after_s and probe_status(event) in wanted:
            return event
    return None


def probe_gap_s(events: Sequence[Event], target: str) -> float:
    """The median interval between probes of ``target``: the resolution of any moment a probe
    observes (a flip happened at most one interval before the probe that saw it)."""
    times = np.array([e.at_s for e in probes(events, target)], dtype="float64")
    return float(np.median(np.diff(times))) if times.size > 1 else 0.0


def first_seen(took_s: float, bound_s: float, resolution_s: float) -> tuple[Outcome, bool]:
    """Judge a moment seen ``took_s`` after its cause, by an observation that may lag the real
    moment by up to ``resolution_s`` (a probe interval): pass when it was seen within the bound,
    fail when even the earliest it could have happened is past it, else marginal."""
    if took_s <= bound_s:
        return "pass", False
    if took_s - resolution_s > bound_s:
        return "fail", False
    return "inconclusive", True


def metric_states(events: Sequence[Event], claim: str, state: str | None = None) -> list[Event]:
    """``metric.state`` events of one claim (``"breaker.upstream"``), optionally one state."""
    return [e for e in events if e.kind == "metric.state" and e.data.get("claim") == claim
            and (state is None or e.data.get("state") == state)]


def p95(values: Sequence[float] | np.ndarray | pd.Series) -> float:
    """The nearest-rank p95 (:func:`gauntlet.latency.percentile`, the one implementation)."""
    return percentile(values, 95.0)


def quantile(values: Sequence[float] | np.ndarray | pd.Series, q: float) -> float:
    """The nearest-rank ``q``-th percentile (:func:`gauntlet.latency.percentile`)."""
    return percentile(values, q)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def as_float(value: Any, default: float = float("nan")) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default
