"""Templates of declared requests, shared by the Locust side and the harness' own clients.

Stdlib only: it is imported inside Locust (:mod:`gauntlet.scenarios.declared`) as well as by the
rate-limit burst and the integrity read-back.
"""

from __future__ import annotations

from typing import Any


def fill(value: Any, fields: dict[str, str]) -> Any:
    """Fill ``{name}`` fields in every string of a JSON-like value (unknown names are kept)."""
    if isinstance(value, str):
        for name, text in fields.items():
            value = value.replace("{" + name + "}", text)
        return value
    if isinstance(value, dict):
        return {k: fill(v, fields) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, fields) for v in value]
    return value


def dig(data: Any, dotted: str) -> Any:
    """``dig(answer, "data.token")``: a value inside a JSON answer, by a dotted path."""
    for part in dotted.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data
