"""The service's own metrics: one scrape of its metrics path, reading a Prometheus family out
of it, and its request counter — the server's view, to cross-check the client's.

Every reader of the metrics path goes through :func:`scrape`: the experiments' preflight (is a
claimed metric exported?), a counter's delta over an experiment, the prober's state gauges and
the load's cross-check.

The client counts requests it sent; the server counts requests it answered. Over a run the two
should agree per endpoint (within the few requests in flight at the edges). A large gap means
the generator's numbers or the server's are lying, and both are reported side by side.

A cross-check that matches nothing says so. The counter's labels name an endpoint as the
contract says (``probes.request_counter.endpoint``); a client endpoint no label set stands for
gets no server figure (never a silent 0), and :attr:`CrossCheck.warning` names what did not
match — a Go 1.22 router puts the method in its route label, and ``"GET GET /v1/shipments"``
matches nothing the client sent.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from gauntlet.contract import Metric, Probes, RequestCounter

Counts = dict[str, float]  # endpoint ("GET /v1/shipments", as the counter names it) -> requests


@dataclass(frozen=True)
class Scrape:
    """One scrape: the metrics text, or None with what went wrong in words (``answered 503``,
    ``did not answer (...)``)."""

    text: str | None
    problem: str = ""


def scrape(base_url: str, path: str | None, *, timeout_s: float = 3.0,
           client: httpx.Client | None = None) -> Scrape:
    """GET the metrics ``path`` on ``base_url`` (the service's direct address); an answer other
    than 200 is no metrics. ``client``: a caller's own (the prober's, without keep-alive)."""
    if not path:
        return Scrape(None, "no metrics path (probes.metrics)")
    url = base_url.rstrip("/") + path
    try:
        response = (client.get(url, timeout=timeout_s) if client is not None
                    else httpx.get(url, timeout=timeout_s))
    except httpx.HTTPError as exc:
        return Scrape(None, f"did not answer ({exc})")
    if response.status_code != 200:
        return Scrape(None, f"answered {response.status_code}")
    return Scrape(response.text)


def metric_values(metrics_text: str, metric: Metric) -> list[float]:
    """Values of the samples of ``metric`` (family or sample name) whose labels match."""
    values: list[float] = []
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if metric.name not in (family.name, sample.name):
                continue
            if sample.name.endswith("_created"):
                continue
            if all(sample.labels.get(k) == v for k, v in metric.labels.items()):
                values.append(float(sample.value))
    return values


def metric_total(metrics_text: str, metric: Metric) -> float | None:
    """Sum over the matching samples, or None when the family is absent."""
    if not has_family(metrics_text, metric):
        return None
    return sum(metric_values(metrics_text, metric))


def has_family(metrics_text: str, metric: Metric) -> bool:
    names = {metric.name, metric.name.removesuffix("_total")}
    return any(f.name in names for f in text_string_to_metric_families(metrics_text))


def metric_state(metrics_text: str, metric: Metric) -> str | None:
    """The state a state gauge says (``metric.states`` maps names to values)."""
    values = metric_values(metrics_text, metric)
    if not values:
        return None
    for name, value in metric.states.items():
        if values[0] == value:
            return name
    return f"unknown({values[0]:g})"


def scrape_requests(base_url: str, probes: Probes, timeout_s: float = 3.0) -> Counts | None:
    """The contract's request counter per endpoint, summed over its other labels, or None when
    the contract names none or the metrics path does not answer."""
    counter = probes.request_counter
    if counter is None:
        return None
    text = scrape(base_url, probes.metrics, timeout_s=timeout_s).text
    return None if text is None else parse_requests(text, counter)


def parse_requests(text: str, counter: RequestCounter) -> Counts:
    counts: Counts = defaultdict(float)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name != counter.name:
                continue
            counts[_normalise(counter.endpoint_of(dict(sample.labels)))] += sample.value
    return dict(counts)


# a path parameter as routers spell it: {id} (OpenAPI, FastAPI, Go 1.22), a whole segment :id
# (Express, Fastify, Koa), <id> or <int:id> (Flask, Werkzeug)
_PARAMETER = re.compile(r"\{[^}]*\}|(?<=/):[A-Za-z_]\w*(?=/|$)|<[^>/]*>")


def _normalise(endpoint: str) -> str:
    """``/items/{id}``, ``/items/{item_id}``, ``/items/:id`` and ``/items/<int:id>`` alike: the
    client names a request after its path template, and a Fastify or Flask service labels it
    with its own router's syntax, which is the same route (a ``:`` inside a segment, as in
    ``/v1/jobs:cancel``, is no parameter)."""
    return _PARAMETER.sub("{}", endpoint)


@dataclass(frozen=True)
class CrossCheck:
    """Per client endpoint: what the client sent, what the server counted (None: no label set
    of the counter stands for it), the difference; ``unmatched``: the server's endpoints that
    moved and that no client endpoint names; ``warning``: what did not match, in words."""

    rows: dict[str, dict[str, float | None]]
    unmatched: dict[str, float]
    warning: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "unmatched": self.unmatched, "warning": self.warning}


def _examples(names: list[str], most: int = 3) -> str:
    shown = ", ".join(repr(n) for n in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def crosscheck(client: Mapping[str, int], before: Counts | None, after: Counts | None,
               counter: RequestCounter | None = None) -> CrossCheck:
    """Client counts per endpoint against the counter's delta over the run."""
    if before is None or after is None:
        unscraped = None if counter is None else (
            f"the request counter {counter.name!r} could not be scraped before and after the "
            "load: no cross-check")
        return CrossCheck({}, {}, unscraped)
    name = counter.name if counter is not None else "the request counter"
    server = {key: value - before.get(key, 0.0) for key, value in after.items()}
    rows: dict[str, dict[str, float | None]] = {}
    missing: list[str] = []
    for endpoint, n in sorted(client.items()):
        seen = server.get(_normalise(endpoint))
        if seen is None:
            missing.append(endpoint)
        rows[endpoint] = {"client": float(n), "server": seen,
                          "diff": None if seen is None else float(n) - seen}
    named = {_normalise(e) for e in client}
    unmatched = {k: v for k, v in sorted(server.items()) if v and k not in named}
    how = (f"check probes.request_counter.endpoint (now {counter.endpoint_template!r})"
           if counter is not None else "check probes.request_counter")
    warning: str | None = None
    if not after:
        warning = (f"{name}: no sample of it at the metrics path, so the cross-check compared "
                   "nothing (check probes.request_counter.name)")
    elif missing and len(missing) == len(client):
        warning = (f"{name} matched none of the {len(client)} endpoints the client sent "
                   f"(client: {_examples(missing)}; server: "
                   f"{_examples(list(unmatched) or list(server))}): {how}")
    elif missing:
        warning = (f"{name} has no count for {len(missing)} of {len(client)} endpoints "
                   f"(client: {_examples(missing)}"
                   + (f"; server only: {_examples(list(unmatched))}" if unmatched else "")
                   + f"): {how}")
    return CrossCheck(rows, unmatched, warning)
