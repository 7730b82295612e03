"""The environment of a Locust run that sends what a contract declares (``declared.py``).

Shared by the experiments (each narrows the traffic to the requests its claim names) and by a
suite whose ``[load] scenario = "declared"``: a team with a contract needs no locustfile of its
own to load its service. Pure: builds strings, starts nothing.
"""

from __future__ import annotations

import json
import time

from gauntlet.contract import Contract

# a simulated client keeps to this share of every rate limit that covers what it sends, so a
# limiter never masks the mechanism under test (nor fails an SLO run's requests)
LIMIT_SHARE = 0.5


def mix_weights(contract: Contract, requests: list[str]) -> dict[str, int]:
    """Each declared request's weight in a client's mix (at least 1), by name."""
    return {n: max(r.weight, 1) for n, r in contract.requests_of(requests).items()}


def paced(contract: Contract, requests: list[str], pace_s: float, users: int,
          run_s: float | None = None) -> float:
    """Seconds between one client's requests, so that no client (and, for a limit keyed on
    nothing, not all of them together) exceeds ``LIMIT_SHARE`` of any claimed rate limit that
    covers what it sends.

    A limit covers only its share of the client's mix (the declared weights): a route limited
    to 10 an hour that is one request in six slows the client six times less than a mix of
    only that route would.

    ``run_s``: how long the load may run at most. A limit per client whose window is longer
    than that is a budget the client spreads over the run (:func:`budgets`), not over the
    window: 10 an hour is 5 requests of a client (half of it), which a run of 6 minutes sends
    every 72 s instead of every 12 minutes. What keeps a longer run within the limit is the
    budget itself, which the client counts as it sends.
    """
    weights = mix_weights(contract, requests)
    total = sum(weights.values()) or 1
    pace = pace_s
    for claim in contract.claims.all():
        spacing = claim.client_spacing(requests, users, LIMIT_SHARE)
        if spacing is not None:
            covered, interval_s = spacing
            budget = _spent_over(claim.client_budget(requests, LIMIT_SHARE), run_s)
            if budget is not None and run_s is not None:
                interval_s = min(interval_s, run_s / budget[1])
            pace = max(pace, sum(weights.get(n, 1) for n in covered) / total * interval_s)
    return pace


def budgets(contract: Contract, requests: list[str],
            run_s: float | None) -> list[tuple[list[str], int, float]]:
    """The limits :func:`paced` spreads over a run of ``run_s`` rather than over their window:
    each as the requests it covers, how many of them one client may send in any window, and
    the window. The declared load counts them as it sends (:class:`~gauntlet.scenarios.pacing.
    Budget`), so a run that lasts longer than planned holds a request back rather than
    exceeding the limit."""
    out = []
    for claim in contract.claims.all():
        budget = _spent_over(claim.client_budget(requests, LIMIT_SHARE), run_s)
        if budget is not None:
            out.append(budget)
    return out


def _spent_over(budget: tuple[list[str], int, float] | None,
                run_s: float | None) -> tuple[list[str], int, float] | None:
    """``budget`` when a run of ``run_s`` is shorter than its window and it allows a request
    at all: only then is spreading it over the run faster than over the window."""
    if budget is None or run_s is None or run_s <= 0:
        return None
    _, count, window_s = budget
    return budget if count >= 1 and window_s > run_s else None


def spaced(contract: Contract, requests: list[str], pace_s: float,
           users: int) -> tuple[float, list[tuple[list[str], float]]]:
    """What a whole-service load keeps to: the seconds between one client's requests (its own
    ``pace_s``, or slower for a limit that covers everything it sends) and, for each limit that
    covers only part of it, that part and the least seconds between two of its requests.

    Unlike :func:`paced`, a limited route does not slow the rest of the mix: the load is the
    service's load at the pace the suite asked for, with the limited route sent as often as its
    limit allows (less often than its weight when that is less). An experiment keeps
    :func:`paced`: it needs the claim's requests in their declared proportions.
    """
    pace, groups = pace_s, []
    for claim in contract.claims.all():
        spacing = claim.client_spacing(requests, users, LIMIT_SHARE)
        if spacing is None:
            continue
        covered, interval_s = spacing
        if set(covered) == set(requests):
            pace = max(pace, interval_s)
        else:
            groups.append((covered, interval_s))
    return pace, [(names, interval) for names, interval in groups if interval > pace]


CLIENT_TIMEOUT_S = 30.0


def declared_env(contract: Contract, requests: list[str], *, pace_s: float,
                 timeout_s: float = CLIENT_TIMEOUT_S,
                 spacing: list[tuple[list[str], float]] | None = None,
                 budget: list[tuple[list[str], int, float]] | None = None) -> dict[str, str]:
    """``$GAUNTLET_TRAFFIC`` (and the capture's header and body markers) for ``requests``;
    ``timeout_s``: how long a simulated client waits for an answer (it must outlast every
    bound a verdict judges, or the client's own timeout is what gets measured); ``spacing``:
    groups of requests a client sends at most once per their interval (:func:`spaced`);
    ``budget``: groups a client sends at most so many of in any window (:func:`budgets`)."""
    traffic = contract.traffic
    declared = contract.requests_of(requests)
    spec = {
        "requests": {n: r.model_dump(by_alias=True) for n, r in declared.items()},
        "mix": {n: max(r.weight, 1) for n, r in declared.items()},
        "auth": traffic.auth.model_dump(by_alias=True) if traffic.auth else None,
        "client_header": traffic.client_header,
        "pace_s": pace_s,
        "spacing": [[names, interval] for names, interval in spacing or []],
        "budget": [[names, count, window] for names, count, window in budget or []],
        "timeout_s": timeout_s,
        "client_prefix": f"g{int(time.time()) % 100000}",
    }
    env = {"GAUNTLET_TRAFFIC": json.dumps(spec)}
    headers = contract.marker_headers()
    if headers:
        env["GAUNTLET_CAPTURE_HEADERS"] = ",".join(headers)
    body = contract.body_markers()
    if body:
        env["GAUNTLET_CAPTURE_BODY"] = json.dumps(body)
    return env


def mix_of(contract: Contract) -> list[str]:
    """The requests a whole-service load sends: every declared request with a weight."""
    return [name for name, r in contract.traffic.requests.items() if r.weight > 0]
