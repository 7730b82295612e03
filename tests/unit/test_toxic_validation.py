"""What a toxic may be given, checked before Toxiproxy is asked: Toxiproxy's own toxics take
numbers; gauntlet's HTTP toxics also take headers and a body, and act only on answers."""

from __future__ import annotations

from typing import Any

import pytest

from gauntlet.chaos.faults import Fault
from gauntlet.chaos.toxiproxy import _wire, validate_toxic
from gauntlet.errors import ConfigError


@pytest.mark.parametrize(("kind", "attributes"), [
    ("latency", {"latency": 100, "jitter": 0}),
    ("http_status", {"status": 503, "headers": {"Retry-After": "2"}, "body": "busy",
                     "share": 0.25}),
    ("http_status", {"status": 429}),
    ("http_first_byte", {"latency": 150}),
    ("http_first_byte", {"latency": 150, "share": 1}),
])
def test_accepted(kind: str, attributes: dict[str, Any]) -> None:
    validate_toxic(kind, attributes, "downstream", 1.0)
    Fault("upstream", kind, attributes).validate()


@pytest.mark.parametrize(("kind", "attributes", "stream", "message"), [
    ("http_status", {}, "downstream", "needs a status"),
    ("http_status", {"status": 99}, "downstream", "must be an HTTP status, 100..599"),
    ("http_status", {"status": 503.5}, "downstream", "must be an HTTP status"),
    ("http_status", {"status": 503, "share": 1.5}, "downstream", "within 0..1"),
    ("http_status", {"status": 503, "headers": {"X": "a\r\nInjected: 1"}}, "downstream",
     "one-line strings"),
    ("http_status", {"status": 503, "headers": ["Retry-After"]}, "downstream",
     "map header names"),
    ("http_status", {"status": 503, "body": 7}, "downstream", "must be a string"),
    ("http_status", {"status": 503, "path": "/x"}, "downstream", "unknown attribute 'path'"),
    ("http_status", {"status": 503}, "upstream", "acts on answers: its stream is 'downstream'"),
    ("http_first_byte", {"latency": -1}, "downstream", "must be a number >= 0"),
    ("http_teapot", {}, "downstream", "unknown toxic 'http_teapot'"),
])
def test_refused_in_one_line(kind: str, attributes: dict[str, Any], stream: str,
                             message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        validate_toxic(kind, attributes, stream, 1.0)
    assert "\n" not in str(caught.value)


def test_on_the_wire_numbers_are_whole_but_a_share_stays_a_fraction() -> None:
    assert _wire({"latency": 150.4, "share": 0.25, "status": 503, "headers": {"A": "b"},
                  "body": "x"}) == {"latency": 150, "share": 0.25, "status": 503,
                                    "headers": {"A": "b"}, "body": "x"}
