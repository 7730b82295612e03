"""How to reach the stack: its probes, its links (each with a Toxiproxy in front, under the
team's own names), the services the local backend starts, and the compose files the compose
backend runs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from gauntlet.contract.basics import Strict, fill_fields, template_fields


class RequestCounter(Strict):
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
        return fill_fields(template, {f: labels.get(f, "") for f in template_fields(template)})


class Probes(Strict):
    """Paths on the service; each optional. A verdict that needs an absent probe is
    inconclusive, never passed."""

    live: str | None = None
    ready: str | None = None
    metrics: str | None = None
    request_counter: RequestCounter | None = None


class Link(Strict):
    """A dependency link with a Toxiproxy in front, under the user's own name.

    On the local backend a link points at a managed dependency (``managed``: PostgreSQL or
    Redis that gauntlet starts) or at one of the contract's services (``service``); on the
    external backend the suite maps the link to a proxy name on the user's Toxiproxy.
    """

    managed: Literal["postgres", "redis", "rabbitmq"] | None = None
    service: str | None = None
    description: str = ""
    # a managed PostgreSQL behind PgBouncer (transaction pooling, ``pool_size`` server
    # connections): the link's address is PgBouncer's (gauntlet/boot/pgbouncer.py)
    pooler: Literal["pgbouncer"] | None = None
    pool_size: int = Field(20, ge=1, le=1000)
    # what the link carries: "http" (HTTP/1.1 in clear) lets the HTTP toxics forge and delay
    # its answers (docs/faults.md), which the status-retry claims need
    protocol: Literal["tcp", "http"] = "tcp"

    @model_validator(mode="after")
    def _one_target(self) -> Link:
        if self.managed and self.service:
            raise ValueError("a link points at 'managed' or at a 'service', not both")
        if self.pooler and self.managed != "postgres":
            raise ValueError("pooler = \"pgbouncer\" pools a managed PostgreSQL: give "
                             "managed = \"postgres\"")
        return self


class Service(Strict):
    """A process the local backend starts: the service under test, or one of its own
    dependencies (an upstream it calls)."""

    command: list[str] = Field(min_length=1)
    cwd: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    local_env: dict[str, str] = Field(default_factory=dict)
    ready: str | None = "/"
    main: bool = False
    start_timeout_s: float = Field(60.0, gt=0)
    # "a second instance of that service": resolved when the contract is read (files.py), so a
    # validated service never carries it; here for the schema editors check contracts with
    copy_of: str | None = None



class ComposeLink(Strict):
    """How one link runs through Toxiproxy on the compose backend: the compose service and port
    it points at, and the environment variables (set on ``service``, the main service by
    default) that tell the app to use the proxy instead — ``{host}`` and ``{port}`` are the
    proxy's address inside the project's network. ``service`` may list several: two instances
    of one API behind a gateway reach their database through the same proxy, as the local
    backend's ``copy_of`` instance does."""

    target: str  # "postgres:5432"
    env: dict[str, str] = Field(default_factory=dict)
    service: str | list[str] | None = None

    def services_on(self, main: str) -> list[str]:
        """The compose services the link's variables are set on."""
        if self.service is None:
            return [main]
        return [self.service] if isinstance(self.service, str) else list(self.service)

    @field_validator("target")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"target must be SERVICE:PORT, not {value!r}")
        return value


class Compose(Strict):
    """The team's own compose file(s), used unchanged; gauntlet adds an overlay that puts a
    Toxiproxy container in every link listed here and publishes ports on 127.0.0.1 only."""

    files: list[str] = Field(min_length=1)  # relative to the contract
    service: str | None = None  # the compose service under test (default: the main service)
    port: int = Field(ge=1, le=65535)  # its port inside the container
    links: dict[str, ComposeLink] = Field(default_factory=dict)
    # integrity read-backs from the host: {links.NAME.host} / {links.NAME.port} are the link's
    # proxy as published on 127.0.0.1
    database_url: str | None = None
