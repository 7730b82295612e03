"""The auth step, one copy for every client that logs in: the request each client sends (its
templates filled, its own headers first) and where the token of the answer goes."""

from __future__ import annotations

from pathlib import Path

import pytest

from gauntlet.contract import Auth, load_contract
from gauntlet.scenarios.auth import AuthStep

ROOT = Path(__file__).resolve().parents[2]


def test_the_request_of_one_client() -> None:
    auth = Auth.model_validate({"path": "/login/{client}", "json": {"user": "{client}"},
                                "headers": {"X-Tenant": "t-{client}"}, "token": "data.jwt"})
    step = AuthStep.from_spec(auth.model_dump(by_alias=True))
    login = step.request("c7", {"X-Forwarded-For": "198.18.0.7", "X-Tenant": "mine"})
    assert (login.method, login.path, login.json_body) == ("POST", "/login/c7", {"user": "c7"})
    # the client's own headers first, the step's declared ones after them
    assert login.headers == {"X-Forwarded-For": "198.18.0.7", "X-Tenant": "t-c7"}
    assert step.name == "POST /login/{client}"
    assert step.credential({"data": {"jwt": "abc"}}) == ("Authorization", "Bearer abc")


def test_an_answer_without_the_token_raises() -> None:
    step = AuthStep(path="/login", token="access_token")
    with pytest.raises(KeyError):
        step.token_of({"error": "denied"})


def test_the_reference_contracts_step_round_trips() -> None:
    auth = load_contract(ROOT / "stack" / "contract.toml").traffic.auth
    assert auth is not None
    step = AuthStep.from_spec(auth.model_dump(by_alias=True))
    assert (step.method, step.header, step.scheme) == (auth.method, auth.header, auth.scheme)
    assert step.present("t") == (auth.header, f"{auth.scheme}t")
