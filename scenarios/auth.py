"""The contract's auth step, once: the request a client sends to log in, and where the token it
is answered with goes in its later requests.

Every client that authenticates runs it through here — the Locust users of declared and
realtime traffic (an HTTP sample of their own), the rate-limit burst's clients, and the
integrity read-back — each with its own transport. Stdlib only: it is imported inside Locust as
well as by the harness.

    step = AuthStep.from_spec(contract.traffic.auth.model_dump(by_alias=True))
    login = step.request(client="g-1-7")
    answer = httpx.request(login.method, base_url + login.path, headers=login.headers,
                           json=login.json_body)
    header, value = step.credential(answer.json())
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gauntlet.scenarios.fields import dig, fill


@dataclass(frozen=True)
class AuthRequest:
    """The auth request of one client, its templates filled (``{client}``)."""

    method: str
    path: str
    headers: dict[str, str]
    json_body: Any


@dataclass(frozen=True)
class AuthStep:
    """``[traffic.auth]``: a request whose JSON answer holds a token (at the dotted path
    ``token``) that later requests present in ``header``, after ``scheme``."""

    path: str
    token: str
    method: str = "POST"
    json_body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    header: str = "Authorization"
    scheme: str = ""

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> AuthStep:
        """From the auth table as the contract dumps it (by alias: ``json``), which is also
        what reaches Locust in the traffic spec."""
        return cls(path=str(spec["path"]), token=str(spec["token"]),
                   method=str(spec.get("method", "POST")), json_body=spec.get("json"),
                   headers=dict(spec.get("headers") or {}),
                   header=str(spec.get("header", "Authorization")),
                   scheme=str(spec.get("scheme", "")))

    @property
    def name(self) -> str:
        """The step's sample name (``POST /login``), as its template reads."""
        return f"{self.method} {self.path}"

    def request(self, client: str, headers: Mapping[str, str] | None = None) -> AuthRequest:
        """The request client ``client`` sends; ``headers`` are its own (a client header), the
        step's declared headers added after them."""
        fields = {"client": client}
        return AuthRequest(self.method, fill(self.path, fields),
                           {**(headers or {}), **fill(dict(self.headers), fields)},
                           fill(self.json_body, fields))

    def token_of(self, answer: Any) -> str:
        """The token in the step's JSON answer; ``KeyError``, ``IndexError`` or ``TypeError``
        when the answer holds none there."""
        return str(dig(answer, self.token))

    def present(self, token: str) -> tuple[str, str]:
        """The header, and its value, that present ``token`` in a later request."""
        return self.header, f"{self.scheme}{token}"

    def credential(self, answer: Any) -> tuple[str, str]:
        """The header a later request carries, from the step's JSON answer."""
        return self.present(self.token_of(answer))
