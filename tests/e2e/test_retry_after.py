""""Retries 5xx and honours Retry-After", on both reference services: the retry_statuses
experiment forges the upstream's 503 (500 on the Node service) once more with a Retry-After,
and the requests that met one must take at least that long; the build that retries at its own
backoff fails it.

The contracts extend the services' own with ``retry_after = true``. The Node service's summary
(its attempts and backoff together) is given 3 s instead of 1 s, so a 1 s Retry-After fits in
it: a service whose whole call budget is shorter than the pause asked cannot honour it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.experiments import NODE, REFERENCE, explain, needs_node, run

PYTHON_CLAIM = """
[[claims.retries]]
name = "upstream"
retry_after = true
"""
NODE_CLAIM = """
[[claims.retries]]
name = "summarizer"
retry_after = true

[[claims.breaker]]
name = "summarizer"
call_timeout_s = 3
max_call_s = 4
"""


def contract(tmp_path: Path, base: Path, claims: str) -> Path:
    path = tmp_path / "contract.toml"
    path.write_text(f'extends = "{base}"\nname = "retry-after"\n{claims}')
    return path


@pytest.mark.parametrize(("variants", "passes"), [([], True),
                                                  (["retry_ignores_retry_after"], False)],
                         ids=["good", "retry_ignores_retry_after"])
def test_the_reference_service_waits_the_retry_after(tmp_path: Path, variants: list[str],
                                                     passes: bool) -> None:
    verdicts = run(tmp_path, "retry_statuses", "upstream", variants=variants,
                   contract=contract(tmp_path, REFERENCE, PYTHON_CLAIM))
    name = "waits the Retry-After of a 502 before retrying [upstream]"
    assert name in verdicts, explain(verdicts)
    assert verdicts[name].passed if passes else verdicts[name].failed, explain(verdicts)


@needs_node
@pytest.mark.slow  # a minute each; the reference service's pair runs in the test command
@pytest.mark.parametrize(("variants", "passes"), [([], True),
                                                  (["retry_ignores_retry_after"], False)],
                         ids=["good", "retry_ignores_retry_after"])
def test_the_node_service_waits_the_retry_after(tmp_path: Path, variants: list[str],
                                                passes: bool) -> None:
    verdicts = run(tmp_path, "retry_statuses", "summarizer", variants=variants,
                   contract=contract(tmp_path, NODE, NODE_CLAIM))
    name = "waits the Retry-After of a 500 before retrying [summarizer]"
    assert name in verdicts, explain(verdicts)
    assert verdicts[name].passed if passes else verdicts[name].failed, explain(verdicts)
