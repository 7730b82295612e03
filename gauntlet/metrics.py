"""Reading the service's own request counter: the server's view, to cross-check the client's.

The client counts requests it sent; the server counts requests it answered. Over a run the two
should agree per route (within the few requests in flight at the edges). A large gap means the
generator's numbers or the server's are lying, and both are reported side by side.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping

import httpx
from prometheus_client.parser import text_string_to_metric_families

from gauntlet.contract import Probes, RequestCounter

Counts = dict[tuple[str, str], float]  # (method, route) -> requests


def scrape_requests(base_url: str, probes: Probes, timeout_s: float = 3.0) -> Counts | None:
    """The contract's request counter summed over its other labels, or None when the contract
    names none or the metrics path does not answer."""
    counter = probes.request_counter
    if counter is None or not probes.metrics:
        return None
    try:
        response = httpx.get(base_url.rstrip("/") + probes.metrics, timeout=timeout_s)
        response.raise_for_status()
    except httpx.HTTPError:
        return None
    return parse_requests(response.text, counter)


def parse_requests(text: str, counter: RequestCounter) -> Counts:
    counts: Counts = defaultdict(float)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name != counter.name:
                continue
            key = (sample.labels.get(counter.method_label, ""),
                   sample.labels.get(counter.route_label, ""))
            counts[key] += sample.value
    return dict(counts)


def _normalise(route: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", route)


def crosscheck(
    client: Mapping[str, int], before: Counts | None, after: Counts | None
) -> dict[str, dict[str, float]]:
    """Per endpoint ``"METHOD /route"``: client count, server delta and the difference."""
    if before is None or after is None:
        return {}
    server: dict[str, float] = defaultdict(float)
    for key, value in after.items():
        delta = value - before.get(key, 0.0)
        if delta:
            server[f"{key[0]} {_normalise(key[1])}"] += delta
    rows: dict[str, dict[str, float]] = {}
    for endpoint, n in client.items():
        seen = server.get(_normalise(endpoint), 0.0)
        rows[endpoint] = {"client": float(n), "server": seen, "diff": float(n) - seen}
    return rows
