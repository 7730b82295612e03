"""Pacing a simulated client: at most one request start per pace, without marching in step.

Pure (no Locust import), so it is unit-tested in the harness' process and used by the
declared locustfile inside Locust.
"""

from __future__ import annotations


def next_wait_s(spent_s: float, pace_s: float, draw: float) -> float:
    """How long a client waits before its next request, ``spent_s`` after the last one started
    (``draw``: uniform in [0, 1)).

    Within the pace it waits the pace out, so two starts of one client are never closer than
    ``pace_s`` (what keeps it under the contract's rate limits). A request that overran the pace
    was held — by a fault, a backoff, a slow dependency — and every client held by the same
    fault comes free at about the same moment: sent at once, they would march in step from then
    on, a burst once a pace with silence between, and a short fault timed on the run clock can
    fall in the silence every time (the retries experiment missed its outage that way). So an
    overrun waits a random share of the pace, which spreads the clients again and still keeps
    two starts ``pace_s`` apart.
    """
    return pace_s - spent_s if spent_s < pace_s else draw * pace_s
