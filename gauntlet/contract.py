"""The contract: what a stack claims and how to reach it — the one place that knows the target.

A team describes its own service in a TOML document: the probes it answers, the dependency
links that have a Toxiproxy in front (under the team's own names), how to produce traffic for
each claimed endpoint, and its **claims**, each a list of named instances with the numbers the
verdicts judge against. gauntlet's experiments take every target from it: nothing in the harness
names a route, header, metric or table.

    contract = load_contract(Path("stack/contract.toml"))
    for claim in contract.claims.breaker: ...

A contract may ``extend`` another (a path relative to itself): tables merge key by key, the
extending document wins, so a seed profile is a base contract with its own numbers.

Templates. Strings in ``services.*.env`` may name a claim's number, ``{breaker.ai.open_s}``
(kind, instance name, field), so a stack whose policy comes from environment variables is
configured from the same numbers its verdicts judge. Strings in ``services.*.local_env`` may
also name addresses the local backend assigns: ``{port}``, ``{links.<name>.host}``,
``{links.<name>.port}``, ``{links.<name>.url}`` (through the link's proxy),
``{services.<name>.port}``, ``{services.<name>.url}`` (the service itself) and ``{workdir}`` (a
fresh directory of the service's own, removed with the boot). Strings in declared requests may
use ``{token}`` (unique per request: what an integrity read-back looks for), ``{client}``
(unique per simulated client) and ``{id}`` (an id an earlier write answered with).
"""

from __future__ import annotations

import re
import string
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from gauntlet.errors import ConfigError

_RATE = re.compile(r"^\s*(\d+)\s*(?:/|per)\s*(\d*)\s*(second|minute|hour|day)s?\s*$")
_UNIT_S = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")


def _can_be_exceeded(value: float) -> float:
    if value >= 1:
        raise ValueError(f"{value:g} is a share no run can exceed (a share is at most 1), so "
                         "this gate could never fail: give a share below 1, or leave it out")
    return value


def _can_be_missed(value: float) -> float:
    if value <= 0:
        raise ValueError(f"{value:g} is a floor every run reaches (even one that sent or served "
                         "nothing), so this gate could never fail: give a positive number, or "
                         "leave it out")
    return value


# Bounds a gate judges must be able to fail: a check that cannot fail is a defect, and a user
# who writes error_rate = 1.0 to "turn the gate off" should leave the key out instead.
# (the JSON Schema says the same, so an editor flags it as it is typed)
MaxShare = Annotated[float, Field(ge=0, json_schema_extra={"exclusiveMaximum": 1}),
                     AfterValidator(_can_be_exceeded)]
"""A share (0 ≤ x < 1) that a measured share must stay within: ``error_rate = 0.01``."""
MinFloor = Annotated[float, Field(json_schema_extra={"exclusiveMinimum": 0}),
                     AfterValidator(_can_be_missed)]
"""A floor (> 0) a measured number must reach: ``min_rps = 50``."""
MinShare = Annotated[float, Field(le=1, json_schema_extra={"exclusiveMinimum": 0}),
                     AfterValidator(_can_be_missed)]
"""A share (0 < x ≤ 1) a measured share must reach: ``min_success = 0.9``."""


def parse_rate(text: str) -> tuple[int, float]:
    """``"5/15minutes"`` → ``(5, 900.0)``: the count and the window in seconds."""
    match = _RATE.match(text)
    if not match:
        raise ValueError(f"not a rate limit: {text!r} (expected e.g. '100/minute', '5/15minutes')")
    count, multiple, unit = match.groups()
    return int(count), float(int(multiple or 1) * _UNIT_S[unit])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- how to reach the stack -------------------------------------------------------------------


class RequestCounter(_Strict):
    """The service's own count of the requests it answered (a Prometheus counter), kept next
    to the client's count as a cross-check of the generator.

    ``endpoint`` says how the client's endpoint name (``"GET /v1/shipments"``) is formed from
    the counter's labels, each ``{label}`` standing for that label's value; by default
    ``"{<method_label>} {<route_label>}"``. A router whose route label already holds the method
    (Go 1.22 ``http.ServeMux`` patterns: ``route="GET /v1/shipments"``) takes
    ``endpoint = "{route}"``.
    """

    name: str  # the counter's sample name
    method_label: str = "method"
    route_label: str = "route"
    endpoint: str | None = None

    @field_validator("endpoint")
    @classmethod
    def _names_labels(cls, value: str | None) -> str | None:
        if value is not None and not template_fields(value):
            raise ValueError(f"endpoint {value!r} names no label: give e.g. '{{route}}' or "
                             "'{method} {route}'")
        return value

    @property
    def endpoint_template(self) -> str:
        return self.endpoint or f"{{{self.method_label}}} {{{self.route_label}}}"

    def endpoint_of(self, labels: dict[str, str]) -> str:
        """The endpoint name a sample's labels stand for (a label it lacks reads as "")."""
        template = self.endpoint_template
        return _fill(template, {f: labels.get(f, "") for f in template_fields(template)})


class Probes(_Strict):
    """Paths on the service; each optional. A verdict that needs an absent probe is
    inconclusive, never passed."""

    live: str | None = None
    ready: str | None = None
    metrics: str | None = None
    request_counter: RequestCounter | None = None


class Link(_Strict):
    """A dependency link with a Toxiproxy in front, under the user's own name.

    On the local backend a link points at a managed dependency (``managed``: PostgreSQL or
    Redis that gauntlet starts) or at one of the contract's services (``service``); on the
    external backend the suite maps the link to a proxy name on the user's Toxiproxy.
    """

    managed: Literal["postgres", "redis"] | None = None
    service: str | None = None
    description: str = ""

    @model_validator(mode="after")
    def _one_target(self) -> Link:
        if self.managed and self.service:
            raise ValueError("a link points at 'managed' or at a 'service', not both")
        return self


class Service(_Strict):
    """A process the local backend starts: the service under test, or one of its own
    dependencies (an upstream it calls)."""

    command: list[str] = Field(min_length=1)
    cwd: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    local_env: dict[str, str] = Field(default_factory=dict)
    ready: str | None = "/"
    main: bool = False
    start_timeout_s: float = Field(60.0, gt=0)


class Auth(_Strict):
    """An auth step each simulated client runs once: a request whose JSON answer holds a token
    that later requests send in a header."""

    method: str = "POST"
    path: str
    json_body: dict[str, Any] | None = Field(None, alias="json")
    headers: dict[str, str] = Field(default_factory=dict)
    token: str  # dotted path of the token in the JSON answer
    header: str = "Authorization"
    scheme: str = "Bearer "


class Request(_Strict):
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


class Backoff(_Strict):
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


class Realtime(_Strict):
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


class Traffic(_Strict):
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


class ComposeLink(_Strict):
    """How one link runs through Toxiproxy on the compose backend: the compose service and port
    it points at, and the environment variables (set on ``service``, the main service by
    default) that tell the app to use the proxy instead — ``{host}`` and ``{port}`` are the
    proxy's address inside the project's network."""

    target: str  # "postgres:5432"
    env: dict[str, str] = Field(default_factory=dict)
    service: str | None = None

    @field_validator("target")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"target must be SERVICE:PORT, not {value!r}")
        return value


class Compose(_Strict):
    """The team's own compose file(s), used unchanged; gauntlet adds an overlay that puts a
    Toxiproxy container in every link listed here and publishes ports on 127.0.0.1 only."""

    files: list[str] = Field(min_length=1)  # relative to the contract
    service: str | None = None  # the compose service under test (default: the main service)
    port: int = Field(ge=1, le=65535)  # its port inside the container
    links: dict[str, ComposeLink] = Field(default_factory=dict)
    # integrity read-backs from the host: {links.NAME.host} / {links.NAME.port} are the link's
    # proxy as published on 127.0.0.1
    database_url: str | None = None


# --- claims ---------------------------------------------------------------------------------


class Marker(_Strict):
    """How an answer is recognised: a status, a header (with a value, or merely present), a
    body pattern — every condition given must match (a 503 alone is also what a failing
    dependency answers)."""

    status: int | None = None
    header: str | None = None
    value: str | None = None
    body: str | None = None

    @model_validator(mode="after")
    def _something(self) -> Marker:
        if self.status is None and self.header is None and self.body is None:
            raise ValueError("a marker needs a status, a header or a body pattern")
        if self.value is not None and self.header is None:
            raise ValueError("a marker's value needs its header")
        if self.body is not None:
            re.compile(self.body)
        return self


class Metric(_Strict):
    """A Prometheus metric: its family or sample name (``calls`` or ``calls_total``), a
    label filter, and for a state gauge what its values mean (``closed``, ``open``,
    ``half_open``)."""

    name: str
    labels: dict[str, str] = Field(default_factory=dict)
    states: dict[str, float] = Field(default_factory=dict)  # e.g. closed=0, open=1, half_open=2


class _Claim(_Strict):
    name: str

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"not a valid claim name: {value!r}")
        return value


class BreakerClaim(_Claim):
    link: str
    requests: list[str] = Field(min_length=1)
    failure_rate: float | None = Field(None, gt=0, le=1)
    window_s: float | None = Field(None, gt=0)
    min_calls: int = Field(1, ge=1)
    consecutive_failures: int | None = Field(None, ge=1)
    open_s: float = Field(gt=0)
    call_timeout_s: float = Field(gt=0)
    max_call_s: float | None = Field(None, gt=0)  # a guarded call with its retries, worst case
    open_answer: Marker
    metric: Metric | None = None
    # requests of other components, sent alongside: one breaker per component means they keep
    # being served while this one is open
    isolated: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _trip(self) -> BreakerClaim:
        rate = self.failure_rate is not None and self.window_s is not None
        if not rate and self.consecutive_failures is None:
            raise ValueError("a breaker opens on failure_rate + window_s or consecutive_failures")
        return self

    @property
    def call_s(self) -> float:
        return self.max_call_s or self.call_timeout_s


class RetriesClaim(_Claim):
    link: str
    requests: list[str] = Field(min_length=1)
    attempts: int = Field(ge=2)
    initial_s: float = Field(ge=0)
    max_s: float = Field(ge=0)
    call_timeout_s: float = Field(gt=0)
    # how much shorter than initial·2ⁿ a wait may be: 0 for a jitter only added on top
    # (tenacity's wait_exponential_jitter), 0.5 for cenkalti/backoff's default randomization
    # (±50 %), 1 for "full jitter" (uniform from 0). Unstated: 0.5, cenkalti/backoff's default
    jitter: float = Field(0.5, ge=0, le=1)
    metric: Metric | None = None  # a counter that rises by one per retry


class RateLimitClaim(_Claim):
    """``limit`` is a count per window. ``algorithm = "window"`` (the default): any window of
    that length admits at most the count, so a burst is cut at request count + 1.
    ``"leaky_bucket"`` (a token bucket; nginx ``limit_req``): the count per window is a *rate*,
    and ``burst`` is the bucket's size — the requests admitted at once, as golang.org/x/time/rate's
    ``NewLimiter(r, b)`` means ``b`` — so a burst arriving within Δ s is cut after about
    ``burst + rate·Δ`` requests, and a client at the rate is never refused. nginx's
    ``burst=N`` admits one more than its N (its excess is counted beyond the request the rate
    admits now): state it as ``burst = N + 1``."""

    requests: list[str] = Field(min_length=1)
    limit: str
    algorithm: Literal["window", "leaky_bucket"] = "window"
    burst: int = Field(0, ge=0)  # leaky_bucket: the bucket's size, admitted at once
    key: Literal["header", "auth", "none"] = "header"
    key_header: str | None = None
    exempt: list[str] = Field(default_factory=list)  # paths never limited
    store_link: str | None = None
    fails_open: bool | None = None
    status: int = 429
    retry_after_header: str | None = "Retry-After"

    @field_validator("limit")
    @classmethod
    def _valid_limit(cls, value: str) -> str:
        parse_rate(value)
        return value

    @model_validator(mode="after")
    def _keyed(self) -> RateLimitClaim:
        if self.key == "header" and not self.key_header:
            raise ValueError("key = 'header' needs key_header (e.g. X-Forwarded-For)")
        if self.fails_open is not None and not self.store_link:
            raise ValueError("fails_open is a claim about the store: give store_link")
        if self.burst and self.algorithm != "leaky_bucket":
            raise ValueError("burst is a leaky bucket's: give algorithm = 'leaky_bucket'")
        if self.algorithm == "leaky_bucket" and self.burst < 1:
            raise ValueError("a leaky_bucket needs burst >= 1: the bucket's size, the requests "
                             "it admits at once (x/time/rate NewLimiter(r, b): b; nginx "
                             "limit_req burst=N: N + 1)")
        return self

    @property
    def count(self) -> int:
        return parse_rate(self.limit)[0]

    @property
    def window_s(self) -> float:
        return parse_rate(self.limit)[1]

    @property
    def rate_per_s(self) -> float:
        return self.count / self.window_s


class ShutdownClaim(_Claim):
    """How to signal the service and what it promises: readiness flips first, requests keep
    being served for the drain delay, the process exits within the deadline — with
    ``exit_code`` (0 unless stated), or with any code when the claim says ``"any"``.

    The handle is ``service`` (gauntlet started it and reads its exit status), ``pid_file``
    (a process gauntlet did not start: it sees the exit, never the code) or ``command`` (it
    sees neither). ``wait`` is a command that returns once the service has exited and prints
    its exit code (``docker wait api``): with it, a ``pid_file`` or ``command`` handle can
    claim a code; without it, a claimed code could never be verified, so the contract is
    refused. ``restart`` is a command that starts the service again once the experiment is
    over, where no backend boots a fresh stack per experiment (external, ``--stack up``).
    """

    signal: Literal["SIGTERM", "SIGINT"] = "SIGTERM"
    service: str | None = None
    pid_file: str | None = None
    command: list[str] | None = Field(None, min_length=1)
    wait: list[str] | None = Field(None, min_length=1)
    restart: list[str] | None = Field(None, min_length=1)
    requests: list[str] = Field(min_length=1)
    drain_delay_s: float = Field(0.0, ge=0)
    deadline_s: float = Field(gt=0)
    ready_flips_first: bool = True
    ready_within_s: float = Field(1.0, gt=0)
    exit_code: int | Literal["any"] = 0
    # a link the claim's requests wait on: slowed (Toxiproxy latency) around the signal, so
    # requests are inside the service when it lands — drain is only shown on requests in flight
    inflight_link: str | None = None
    inflight_ms: float = Field(500.0, gt=0)

    @field_validator("exit_code", mode="before")
    @classmethod
    def _unclaimed(cls, value: Any) -> Any:
        if value is None:
            return "any"  # a run dir written before "any" existed
        if isinstance(value, bool) or (not isinstance(value, int) and value != "any"):
            raise ValueError(f"exit_code is a number, or \"any\" for no code claimed (got "
                             f"{value!r})")
        return value

    @model_validator(mode="after")
    def _one_handle(self) -> ShutdownClaim:
        handles = [h for h in (self.service, self.pid_file, self.command) if h]
        if len(handles) != 1:
            raise ValueError("give exactly one of service, pid_file or command to signal")
        if self.command is not None and self.wait is None:
            raise ValueError(
                "a command handle needs wait = [...]: a command that returns once the service "
                "has exited and prints its exit code (e.g. docker wait NAME); without it the "
                "exit is never seen")
        if self.claimed_exit_code is not None and self.pid_file and self.wait is None:
            handle = "a pid_file"
            raise ValueError(
                f"exit_code {self.exit_code} can never be verified through {handle}: gauntlet "
                "sees the exit code only of a process it started. Give wait = [...] (a command "
                "that prints it, e.g. docker wait NAME), or exit_code = \"any\" (0 is claimed "
                "unless stated)")
        return self

    @property
    def claimed_exit_code(self) -> int | None:
        """The exit code claimed, or None when any code will do."""
        return self.exit_code if isinstance(self.exit_code, int) else None


class Degradation(_Strict):
    """What keeps working (``min_success``) or fails fast (``status`` within ``within_s``)
    while a link is down."""

    requests: list[str] = Field(min_length=1)
    min_success: MinShare | None = None
    status: int | None = None
    within_s: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one(self) -> Degradation:
        if (self.min_success is None) == (self.status is None):
            raise ValueError("a degradation says min_success (keeps serving) or status "
                             "(fails fast), one of them")
        return self


class HealthDetail(_Strict):
    """A detailed health endpoint (per-dependency status and latency): it answers within
    ``max_ms``, and shows the claim's link as one of ``unhealthy`` within ``within_s`` (the
    claim's ``ready_within_s`` by default) of the link going down, then as one of ``healthy``
    once it is back. ``dependency_status`` is the dotted path of that dependency's status in
    the JSON answer; ``{link}`` in it stands for the claim's link."""

    path: str
    max_ms: float = Field(gt=0)
    dependency_status: str = Field(min_length=1)
    healthy: list[str] = Field(default_factory=lambda: ["healthy"], min_length=1)
    unhealthy: list[str] = Field(default_factory=lambda: ["degraded", "unhealthy"],
                                 min_length=1)
    within_s: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _apart(self) -> HealthDetail:
        both = set(self.healthy) & set(self.unhealthy)
        if both:
            raise ValueError(f"a status cannot be both healthy and unhealthy: {sorted(both)}")
        return self

    def status_field(self, link: str) -> str:
        """The dotted path of ``link``'s status in the answer."""
        return self.dependency_status.replace("{link}", link)


class HealthClaim(_Claim):
    """Readiness depends on ``link``: it turns unready within a bound while the link is down
    and ready again after; liveness stays up; ``degraded`` says what still works;
    ``detailed`` says how a detailed health endpoint shows the link."""

    link: str
    requests: list[str] = Field(default_factory=list)
    ready_within_s: float = Field(2.0, gt=0)
    recover_within_s: float = Field(5.0, gt=0)
    unready_status: int = 503
    live_stays_up: bool = True
    degraded: list[Degradation] = Field(default_factory=list)
    detailed: HealthDetail | None = None


class DeadlineClaim(_Claim):
    requests: list[str] = Field(min_length=1)
    deadline_s: float = Field(gt=0)
    link: str  # the dependency whose slowness the deadline must cut
    status: int | None = None  # what a request cut by the deadline answers (e.g. 504)


class PoolClaim(_Claim):
    """An exhausted connection pool answers at once instead of queueing.

    ``exhausted_answer`` says how that answer is recognised: the status, and a header or body
    pattern only it carries — a bare 503 is also what an open breaker or a failing database
    answers, so it cannot tell a pool that refused from anything else that refused. Its status
    defaults to ``status``. Without one, the bare ``status`` is taken as weaker evidence: the
    verdict counts only answers given while at least ``size`` other requests were in flight (the
    pool could have been full), and never one that carries another claim's marker (a breaker's
    open answer).
    """

    link: str
    requests: list[str] = Field(min_length=1)
    size: int = Field(ge=1)
    acquire_timeout_s: float = Field(gt=0)
    status: int = 503
    exhausted_answer: Marker | None = None

    @model_validator(mode="after")
    def _one_status(self) -> PoolClaim:
        given = self.exhausted_answer.status if self.exhausted_answer is not None else None
        if given is not None and "status" in self.model_fields_set and given != self.status:
            raise ValueError(f"exhausted_answer.status {given} contradicts status "
                             f"{self.status}: give one of them")
        return self

    @property
    def answer(self) -> Marker:
        """The exhausted pool's answer: ``exhausted_answer`` with its status filled in from
        ``status``, or the bare status."""
        marker = self.exhausted_answer
        if marker is None:
            return Marker(status=self.status)
        return marker if marker.status is not None else \
            marker.model_copy(update={"status": self.status})

    @property
    def identified(self) -> bool:
        """True when the answer is told apart by more than its status (a header or body)."""
        marker = self.exhausted_answer
        return marker is not None and (marker.header is not None or marker.body is not None)


class IntegrityClaim(_Claim):
    """Acknowledged writes exist exactly once. ``requests`` carry ``{token}``; the read-back is
    SQL (a query taking ``%(tokens)s`` and answering ``(token, count)`` rows) or HTTP (a GET of
    ``path`` with ``{id}``, 200 = present — this finds lost writes, not duplicates)."""

    requests: list[str] = Field(min_length=1)
    acknowledged: list[int] = Field(default_factory=lambda: [200, 201])
    sql: str | None = None
    database_url: str | None = None
    http_path: str | None = None

    @model_validator(mode="after")
    def _read_back(self) -> IntegrityClaim:
        if (self.sql is None) == (self.http_path is None):
            raise ValueError("integrity reads back by 'sql' or by 'http_path', one of them")
        return self


class RealtimeClaim(_Claim):
    """Long-lived connections (``[traffic.realtime]``) survive their dependency dropping:
    ``link`` is cut (Toxiproxy ``down`` and ``reset_peer``), and with ``restart`` the main
    service is also restarted under load. Every dropped connection is connected again within
    ``reconnect_s`` of the fault's end (or the service being ready again); every acknowledged
    message is delivered within ``deliver_s`` — counted from when delivery was possible again,
    for a message caught by the fault — or it is lost."""

    link: str
    reconnect_s: float = Field(5.0, gt=0)
    deliver_s: float = Field(2.0, gt=0)
    restart: bool = False


class StatedClaim(_Claim):
    """A claim the service makes that no experiment can verify here (a notification queue the
    stack does not have, a limit with no black-box evidence): stated so that the claims table
    lists it, as not verified, with ``reason`` — a gap said out loud instead of left silent."""

    says: str = Field(min_length=1)
    reason: str = Field(min_length=1)


class Claims(_Strict):
    breaker: list[BreakerClaim] = Field(default_factory=list)
    retries: list[RetriesClaim] = Field(default_factory=list)
    rate_limit: list[RateLimitClaim] = Field(default_factory=list)
    shutdown: list[ShutdownClaim] = Field(default_factory=list)
    health: list[HealthClaim] = Field(default_factory=list)
    deadline: list[DeadlineClaim] = Field(default_factory=list)
    pool: list[PoolClaim] = Field(default_factory=list)
    integrity: list[IntegrityClaim] = Field(default_factory=list)
    realtime: list[RealtimeClaim] = Field(default_factory=list)
    stated: list[StatedClaim] = Field(default_factory=list)

    def instances(self) -> list[tuple[str, _Claim]]:
        """Every (kind, claim) pair, in declaration order of the kinds."""
        out: list[tuple[str, _Claim]] = []
        for kind in type(self).model_fields:
            out += [(kind, claim) for claim in getattr(self, kind)]
        return out

    def find(self, kind: str, name: str) -> _Claim:
        for claim in getattr(self, kind, []):
            if claim.name == name:
                return claim  # type: ignore[no-any-return]
        raise KeyError(f"{kind}.{name}")


class Slo(_Strict):
    """SLOs the stack claims; a suite that names this contract is gated on them unless it
    says otherwise."""

    p50_ms: float | None = Field(None, gt=0)
    p95_ms: float | None = Field(None, gt=0)
    p99_ms: float | None = Field(None, gt=0)
    max_ms: float | None = Field(None, gt=0)
    error_rate: MaxShare | None = None


class Contract(_Strict):
    name: str
    description: str = ""
    probes: Probes = Field(default_factory=Probes)
    links: dict[str, Link] = Field(default_factory=dict)
    services: dict[str, Service] = Field(default_factory=dict)
    traffic: Traffic = Field(default_factory=Traffic)
    claims: Claims = Field(default_factory=Claims)
    slo: Slo = Field(default_factory=Slo)
    # Named variants (env additions to the main service), e.g. a mechanism switched off: how a
    # reference service shows that every verdict can fail.
    variants: dict[str, dict[str, str]] = Field(default_factory=dict)
    compose: Compose | None = None
    # where the document came from: relative paths (cwd, locustfile) resolve against it
    base_dir: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> Contract:
        for name, link in self.links.items():
            if link.service and link.service not in self.services:
                raise ValueError(f"links.{name}: no service {link.service!r}")
        if self.compose is not None:
            for name in self.compose.links:
                if name not in self.links:
                    raise ValueError(f"compose.links.{name}: not a declared link "
                                     f"(links: {', '.join(sorted(self.links)) or 'none'})")
        mains = [n for n, s in self.services.items() if s.main]
        if self.services and len(mains) != 1:
            raise ValueError("services: exactly one service must be main = true "
                             f"(found {mains or 'none'})")
        known = set(self.traffic.requests)
        for kind, claim in self.claims.instances():
            where = f"claims.{kind}.{claim.name}"
            for field_name in ("link", "store_link", "inflight_link"):
                named: str | None = getattr(claim, field_name, None)
                if named is not None and named not in self.links:
                    raise ValueError(f"{where}: {field_name} {named!r} is not a declared link "
                                     f"(links: {', '.join(sorted(self.links)) or 'none'})")
            if self.traffic.locustfile is None:
                for request in [*getattr(claim, "requests", []),
                                *getattr(claim, "isolated", [])]:
                    if request not in known:
                        raise ValueError(
                            f"{where}: request {request!r} is not declared in traffic.requests "
                            f"(declared: {', '.join(sorted(known)) or 'none'})")
            if kind == "realtime" and self.traffic.realtime is None:
                raise ValueError(f"{where}: needs [traffic.realtime] (how to open a connection "
                                 "and send a message), and the contract gives none")
            shutdown_service = getattr(claim, "service", None) if kind == "shutdown" else None
            if shutdown_service and self.services and shutdown_service not in self.services:
                raise ValueError(f"{where}: service {shutdown_service!r} is not declared")
        for kind in type(self.claims).model_fields:
            names = [c.name for c in getattr(self.claims, kind)]
            dupes = {n for n in names if names.count(n) > 1}
            if dupes:
                raise ValueError(f"claims.{kind}: instance names repeat: {sorted(dupes)}")
        for name, service in self.services.items():
            for key, template in service.env.items():
                for field_ref in template_fields(template):
                    try:
                        self.claim_value(field_ref)
                    except (KeyError, AttributeError, ValueError) as exc:
                        raise ValueError(
                            f"services.{name}.env.{key}: {{{field_ref}}} names no claim "
                            "number (kind.instance.field)") from exc
        return self

    @property
    def main_service(self) -> str | None:
        return next((n for n, s in self.services.items() if s.main), None)

    def claim_value(self, ref: str) -> Any:
        """``"breaker.ai.open_s"`` → that claim's number."""
        kind, name, *path = ref.split(".")
        if not path:
            raise ValueError(ref)
        value: Any = self.claims.find(kind, name)
        for part in path:
            value = getattr(value, part)
        return value

    def render_env(self, service: str) -> dict[str, str]:
        """The service's ``env`` with every claim reference filled in."""
        out: dict[str, str] = {}
        for key, template in self.services[service].env.items():
            values = {ref: _env_text(self.claim_value(ref)) for ref in template_fields(template)}
            out[key] = _fill(template, values)
        return out

    def resolve(self, path: str) -> Path:
        candidate = Path(path)
        return candidate if candidate.is_absolute() else (self.base_dir / candidate).resolve()

    def requests_of(self, names: list[str]) -> dict[str, Request]:
        return {n: self.traffic.requests[n] for n in names if n in self.traffic.requests}

    def marker_headers(self) -> list[str]:
        """Response headers the capture records as columns of their own (lower case)."""
        headers: set[str] = set()
        for marker in self.answer_markers().values():
            if marker.header:
                headers.add(marker.header.lower())
        for limit in self.claims.rate_limit:
            if limit.retry_after_header:
                headers.add(limit.retry_after_header.lower())
        return sorted(headers)

    def answer_markers(self) -> dict[str, Marker]:
        """Every answer a claim identifies by a marker, by claim (``breaker.upstream``: its
        open answer, ``pool.postgres``: its exhausted answer): what the capture records and
        what no other claim may count as its own evidence."""
        out: dict[str, Marker] = {f"breaker.{c.name}": c.open_answer
                                  for c in self.claims.breaker}
        out.update({f"pool.{c.name}": c.answer for c in self.claims.pool})
        return out

    def body_markers(self) -> dict[str, str]:
        """Body patterns the capture tests each answer against: column name → regex."""
        return {claim: marker.body for claim, marker in self.answer_markers().items()
                if marker.body}


def template_fields(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def _fill(template: str, values: dict[str, str]) -> str:
    out = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        out.append(literal)
        if name:
            out.append(values[name])
    return "".join(out)


def fill(template: str, values: dict[str, str]) -> str:
    """Fill ``{name}`` fields from ``values``; a name it lacks is a :class:`ConfigError`."""
    missing = [n for n in template_fields(template) if n not in values]
    if missing:
        raise ConfigError(f"template {template!r}: unknown field {{{missing[0]}}} "
                          f"(known: {', '.join(sorted(values))})")
    return _fill(template, values)


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else str(value)
    return str(value)


def _named(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) and "name" in v for v in value)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; lists of named tables (claim instances) merge by name, so an
    extending contract restates only the numbers it changes; other values are replaced. A
    named table with ``drop = true`` removes the inherited one of its name; with
    ``replace = true`` it stands for itself, nothing inherited (a claim of the same name about
    another mechanism)."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        elif _named(value) and (_named(out.get(key)) or key not in out):
            merged = {item["name"]: item for item in out.get(key, [])}
            for item in value:
                item = dict(item)
                if item.pop("drop", False) is True:
                    merged.pop(item["name"], None)
                    continue
                fresh = item.pop("replace", False) is True
                merged[item["name"]] = _merge({} if fresh else merged.get(item["name"], {}),
                                              item)
            out[key] = list(merged.values())
        else:
            out[key] = value
    return out


def one_line(err: ValidationError, source: str) -> str:
    """A pydantic error as the one line gauntlet prints: the key, what is wrong, what was
    given (shared by the contract and the suite)."""
    first = err.errors()[0]
    loc = ".".join(str(part) for part in first["loc"] if part not in ("function-after",))
    kind = first["type"]
    if kind == "extra_forbidden":
        return f"{source}: unknown key '{loc}'"
    if kind == "missing":
        return f"{source}: missing key '{loc}'"
    msg = first["msg"].removeprefix("Value error, ")
    got = first.get("input")
    where = f"'{loc}': " if loc else ""
    suffix = f" (got {got!r})" if kind != "value_error" and not isinstance(got, dict) else ""
    more = len(err.errors()) - 1
    tail = f" [+{more} more]" if more else ""
    return f"{source}: {where}{msg}{suffix}{tail}"


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """A TOML file (a contract, a suite) as a dict; a missing or malformed one is one line."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such {what} file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def _read(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path in seen:
        raise ConfigError(f"{path}: 'extends' goes round in a circle")
    data = read_toml(path, "contract")
    _anchor_paths(data, path.parent)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ConfigError(f"{path}: 'extends' must be a path")
    return _merge(_read((path.parent / parent).resolve(), (*seen, path)), data)


def _anchor_paths(data: dict[str, Any], base: Path) -> None:
    """Make the document's relative paths absolute, so they keep pointing where they did once
    another contract extends it from elsewhere."""
    for service in (data.get("services") or {}).values():
        if isinstance(service, dict) and isinstance(service.get("cwd"), str) \
                and "{" not in service["cwd"]:
            service["cwd"] = str((base / service["cwd"]).resolve())
    compose = data.get("compose")
    if isinstance(compose, dict) and isinstance(compose.get("files"), list):
        compose["files"] = [str((base / f).resolve()) if isinstance(f, str) else f
                            for f in compose["files"]]
    traffic = data.get("traffic")
    if isinstance(traffic, dict) and isinstance(traffic.get("locustfile"), str):
        traffic["locustfile"] = str((base / traffic["locustfile"]).resolve())
    claims = data.get("claims")
    shutdowns = claims.get("shutdown") if isinstance(claims, dict) else None
    for claim in shutdowns if isinstance(shutdowns, list) else []:
        if not isinstance(claim, dict):
            continue
        if isinstance(claim.get("pid_file"), str):
            claim["pid_file"] = str((base / claim["pid_file"]).resolve())
        for key in ("command", "wait", "restart"):
            argv = claim.get(key)
            # a program named by a relative path ("./restart.sh", "bin/stop") is the file
            # beside the contract, as a shell would find it from the contract's folder
            if isinstance(argv, list) and argv and isinstance(argv[0], str) \
                    and "/" in argv[0] and not argv[0].startswith("/"):
                claim[key] = [str((base / argv[0]).resolve()), *argv[1:]]


def parse_contract(data: dict[str, Any], source: str = "contract",
                   base_dir: Path | None = None) -> Contract:
    """Validate a contract document (parsed TOML); every problem is one :class:`ConfigError`."""
    try:
        return Contract.model_validate({**data, "base_dir": base_dir or Path.cwd()})
    except ValidationError as exc:
        raise ConfigError(one_line(exc, source)) from exc


def load_contract(path: Path) -> Contract:
    """Read, merge (``extends``) and validate a contract file."""
    path = path.resolve()
    return parse_contract(_read(path), str(path), path.parent)
