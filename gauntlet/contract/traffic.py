"""How to produce traffic for each claimed endpoint: declared requests (with an auth step each
simulated client runs once), the user's own locustfile, or long-lived realtime connections."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from gauntlet.contract.basics import Strict


class Auth(Strict):
    """An auth step each simulated client runs once: a request whose JSON answer holds a token
    that later requests send in a header."""

    method: str = "POST"
    path: str
    json_body: dict[str, Any] | None = Field(None, alias="json")
    headers: dict[str, str] = Field(default_factory=dict)
    token: str  # dotted path of the token in the JSON answer
    header: str = "Authorization"
    scheme: str = "Bearer "


class Request(Strict):
    """One declared request, named as its samples are (``"POST /v2/entries"``)."""

    method: str = "GET"
    path: str
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(None, alias="json")
    auth: bool = True
    weight: int = Field(1, ge=0)
    capture_id: str | None = None  # JSON key of the answer that later ``{id}`` paths use
    resend: float = Field(0.0, ge=0, le=1)  # share sent twice, same body (a client retrying)

    @property
    def writes(self) -> bool:
        return "{token}" in repr(self.json_body) or "{token}" in repr(self.headers)


class Backoff(Strict):
    """Client-side reconnect backoff after a dropped connection: ``initial_s``, doubling up to
    ``max_s``; ``attempts`` 0 keeps trying until the run ends."""

    initial_s: float = Field(0.2, gt=0)
    max_s: float = Field(2.0, gt=0)
    attempts: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Backoff:
        if self.max_s < self.initial_s:
            raise ValueError(f"reconnect.max_s {self.max_s:g} is below initial_s "
                             f"{self.initial_s:g}")
        return self


class Realtime(Strict):
    """Realtime traffic: long-lived WebSocket or Socket.IO connections, each sending ``send``
    (a JSON template) ``messages`` times with ``think_s`` between, acknowledged by a reply
    (WebSocket: ``ack`` is the JSON path whose value equals the sent token) or by Socket.IO's
    callback; ``deliver`` is the JSON path of a pushed message that names a sent token."""

    protocol: Literal["websocket", "socketio"]
    path: str | None = None  # websocket: required; socketio: the engine path, "/socket.io"
    auth: bool = True  # present traffic.auth's token on connect
    # how the token is presented: a query parameter, the auth step's header, or (Socket.IO)
    # the handshake's auth payload; token_param names the query parameter / payload key
    token_in: Literal["query", "header", "auth"] | None = None
    token_param: str = "token"
    send: Any = Field(default_factory=lambda: {"id": "{token}"})
    event: str = "message"  # socketio: the event emitted (acknowledged by callback)
    ack: str | None = None  # websocket: reply path equal to the token; socketio: in the ack
    deliver: str | None = None  # path in a pushed message equal to a sent token
    deliver_event: str | None = None  # socketio: the event pushed (default: event)
    think_s: float = Field(1.0, ge=0)
    messages: int = Field(1, ge=0)  # per connection before it closes; 0 = until the run ends
    timeout_s: float = Field(10.0, gt=0)  # connect, ack and delivery waits
    reconnect: Backoff | None = None
    transports: list[Literal["websocket", "polling"]] = Field(
        default_factory=lambda: ["websocket"],  # type: ignore[arg-type]
        min_length=1)  # socketio

    @model_validator(mode="after")
    def _coherent(self) -> Realtime:
        if self.protocol == "websocket":
            if not self.path:
                raise ValueError("protocol 'websocket' needs path (e.g. '/ws')")
            if self.ack is None and self.deliver is None:
                raise ValueError("protocol 'websocket' needs ack (and/or deliver): the JSON "
                                 "path in a reply whose value is the sent token")
            if self.token_in == "auth":
                raise ValueError("token_in 'auth' is Socket.IO's handshake payload: use "
                                 "'query' or 'header' for protocol 'websocket'")
        if self.path is not None and not self.path.startswith("/"):
            raise ValueError(f"path must start with '/', not {self.path!r}")
        if self.deliver is not None and "{token}" not in repr(self.send):
            raise ValueError("deliver matches pushed messages by token: send must carry "
                             "'{token}'")
        return self

    @property
    def token_location(self) -> str:
        return self.token_in or ("auth" if self.protocol == "socketio" else "query")


class Traffic(Strict):
    """How to produce traffic for each claimed endpoint: declared requests, or the user's own
    locustfile whose request names the claims use."""

    locustfile: str | None = None
    auth: Auth | None = None
    client_header: str | None = None  # a per-client identity header, e.g. X-Forwarded-For
    requests: dict[str, Request] = Field(default_factory=dict)
    realtime: Realtime | None = None  # WebSocket / Socket.IO traffic (scenario "realtime")

    @model_validator(mode="after")
    def _realtime_auth(self) -> Traffic:
        if self.realtime is not None and self.realtime.auth and self.auth is None:
            raise ValueError("realtime.auth presents traffic.auth's token: declare "
                             "[traffic.auth] or set realtime.auth = false")
        return self
