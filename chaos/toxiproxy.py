"""The one module that talks to Toxiproxy (through toxiproxy-python, pinned at 0.1.1).

toxiproxy-python keeps the server's host and port as *class attributes* (process-global), sets no
request timeout, returns nothing from ``add_toxic`` and raises only on 400/404/409. This wrapper
makes it safe to use: every call pins the host under a lock, every HTTP request gets a timeout,
5xx answers and connection failures become :class:`~gauntlet.errors.ToxiproxyError`, and toxic
types and attributes are checked before they are sent. The rest of gauntlet sees only
:class:`ToxiproxyClient`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import toxiproxy.api as _tp_api
from prometheus_client.parser import text_string_to_metric_families
from toxiproxy import Toxiproxy
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from gauntlet import cleanup
from gauntlet.errors import ConfigError, ToxiproxyError

# type -> attributes it accepts (Toxiproxy v2 README). ``down`` is not a toxic: it is
# ``enabled: false`` on the proxy, handled by :meth:`ToxiproxyClient.set_enabled`.
TOXIC_ATTRIBUTES: dict[str, frozenset[str]] = {
    "latency": frozenset({"latency", "jitter"}),
    "bandwidth": frozenset({"rate"}),
    "slow_close": frozenset({"delay"}),
    "timeout": frozenset({"timeout"}),
    "reset_peer": frozenset({"timeout"}),
    "slicer": frozenset({"average_size", "size_variation", "delay"}),
    "limit_data": frozenset({"bytes"}),
    # gauntlet's own, compiled into its toxiproxy-server (gauntlet/toxiproxy, docs/faults.md):
    # they act on a link's HTTP/1.1 answers, so only on its downstream stream
    "http_status": frozenset({"status", "headers", "body", "share"}),
    "http_first_byte": frozenset({"latency", "share"}),
}
HTTP_TOXICS = frozenset({"http_status", "http_first_byte"})
STREAMS = ("upstream", "downstream")


def validate_toxic(kind: str, attributes: Mapping[str, Any], stream: str,
                   toxicity: float) -> None:
    """Raise a one-line :class:`ConfigError` for an unknown toxic or attribute."""
    if kind not in TOXIC_ATTRIBUTES:
        known = ", ".join([*sorted(TOXIC_ATTRIBUTES), "down"])
        raise ConfigError(f"unknown toxic {kind!r} (known: {known})")
    extra = set(attributes) - TOXIC_ATTRIBUTES[kind]
    if extra:
        allowed = ", ".join(sorted(TOXIC_ATTRIBUTES[kind]))
        raise ConfigError(f"toxic {kind!r}: unknown attribute {sorted(extra)[0]!r} ({allowed})")
    for key, value in attributes.items():
        _check_attribute(kind, key, value)
    if kind == "http_status" and "status" not in attributes:
        raise ConfigError("toxic 'http_status' needs a status (100..599)")
    if stream not in STREAMS:
        raise ConfigError(f"toxic stream must be 'upstream' or 'downstream' (got {stream!r})")
    if kind in HTTP_TOXICS and stream != "downstream":
        raise ConfigError(f"toxic {kind!r} acts on answers: its stream is 'downstream'")
    if not 0.0 <= toxicity <= 1.0:
        raise ConfigError(f"toxicity must be within 0..1 (got {toxicity})")


def _check_attribute(kind: str, key: str, value: Any) -> None:
    where = f"toxic {kind!r}: attribute {key!r}"
    if key == "headers":
        if not isinstance(value, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) and "\n" not in k + v and
                "\r" not in k + v and k.strip() for k, v in value.items()):
            raise ConfigError(f"{where} must map header names to one-line strings")
        return
    if key == "body":
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string")
        return
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{where} must be a number >= 0")
    if key == "share" and not 0.0 <= value <= 1.0:
        raise ConfigError(f"{where} must be within 0..1 (got {value})")
    if key == "status" and not (isinstance(value, int) and 100 <= value <= 599):
        raise ConfigError(f"{where} must be an HTTP status, 100..599 (got {value})")


def _wire(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes as the server decodes them: Toxiproxy's own are int64, so 500.0 would be
    refused; a share stays a fraction, headers and a body stay what they are."""
    return {key: round(value) if isinstance(value, float) and key != "share" else value
            for key, value in attributes.items()}


class _TimedRequests:
    """Stands in for the ``requests`` module inside toxiproxy-python: adds timeouts, raises 5xx."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s

    def _call(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout_s)
        try:
            response = requests.request(method, url, **kwargs)
        except requests.RequestException as exc:
            raise ToxiproxyError(f"Toxiproxy API unreachable at {url}: {exc}") from exc
        if response.status_code >= 500:
            raise ToxiproxyError(
                f"Toxiproxy API {method} {url} answered {response.status_code}: "
                f"{response.text.strip()[:200]}"
            )
        return response

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self._call("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self._call("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> requests.Response:
        return self._call("DELETE", url, **kwargs)


_lock = threading.RLock()
_tp_api.requests = _TimedRequests(timeout_s=5.0)


@dataclass(frozen=True)
class ProxyInfo:
    name: str
    listen: str
    upstream: str
    enabled: bool

    @property
    def listen_port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])


@dataclass(frozen=True)
class AnswerCounts:
    """An HTTP toxic's counts: the dependency's answers through it, and those it forged or
    held back. An experiment takes differences at its phases' edges."""

    answers: int
    acted: int

    def __sub__(self, earlier: AnswerCounts) -> AnswerCounts:
        return AnswerCounts(self.answers - earlier.answers, self.acted - earlier.acted)


# Toxiproxy's own counters (-proxy-metrics, docs/metrics.md of Toxiproxy 2.6+): bytes each
# proxy received, per direction
RECEIVED_BYTES = "toxiproxy_proxy_received_bytes"


def proxy_bytes(metrics_text: str, direction: str = "upstream") -> dict[str, int]:
    """Bytes each proxy received in ``direction`` from Toxiproxy's ``/metrics`` text:
    ``upstream`` is what clients sent towards the dependency (its requests), ``downstream`` its
    answers. A proxy that carried nothing yet has no line, and counts 0 where the caller asks."""
    out: dict[str, int] = {}
    for family in text_string_to_metric_families(metrics_text):
        if family.name != RECEIVED_BYTES:
            continue
        for sample in family.samples:
            if sample.name.endswith("_total") and "proxy" in sample.labels \
                    and sample.labels.get("direction") == direction:
                name = sample.labels["proxy"]
                out[name] = out.get(name, 0) + int(sample.value)
    return out


class ToxiproxyClient:
    """A Toxiproxy server at ``url`` (``http://127.0.0.1:8474``)."""

    def __init__(self, url: str, *, timeout_s: float = 5.0) -> None:
        parts = urlsplit(url)
        if not parts.hostname or not parts.port:
            raise ConfigError(f"Toxiproxy URL needs a host and a port: {url!r}")
        self.url = url.rstrip("/")
        self.host = parts.hostname
        self.port = parts.port
        self.timeout_s = timeout_s

    @contextmanager
    def _api(self) -> Iterator[Toxiproxy]:
        with _lock:
            _tp_api.APIConsumer.host = self.host
            _tp_api.APIConsumer.port = self.port
            _tp_api.requests.timeout_s = self.timeout_s
            try:
                yield Toxiproxy()
            except (InvalidToxic, ProxyExists, NotFound) as exc:
                raw = exc.args[0] if exc.args else exc
                detail = raw.decode() if isinstance(raw, bytes) else raw
                raise ToxiproxyError(f"Toxiproxy refused: {detail}") from exc

    # -- server ---------------------------------------------------------------------------------
    def version(self) -> str:
        with self._api():
            return str(_tp_api.APIConsumer.get("/version").text.strip())

    def is_up(self) -> bool:
        try:
            self.version()
        except ToxiproxyError:
            return False
        return True

    def wait_up(self, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.is_up():
            if time.monotonic() > deadline:
                raise ToxiproxyError(f"Toxiproxy API not answering at {self.url}")
            cleanup.sleep(0.05)

    def reset(self) -> None:
        """Re-enable every proxy and remove every toxic: the last safety net of a run."""
        with self._api() as tp:
            tp.reset()

    # -- proxies --------------------------------------------------------------------------------
    def proxies(self) -> dict[str, ProxyInfo]:
        with self._api():
            raw = _tp_api.APIConsumer.get("/proxies").json()
        return {
            name: ProxyInfo(name, p["listen"], p["upstream"], bool(p["enabled"]))
            for name, p in raw.items()
        }

    def create_proxy(self, name: str, *, listen: str, upstream: str) -> ProxyInfo:
        with self._api() as tp:
            tp.create(upstream=upstream, name=name, listen=listen, enabled=True)
        return self.proxies()[name]

    def delete_proxy(self, name: str) -> None:
        with self._api():
            _tp_api.APIConsumer.delete(f"/proxies/{name}")

    def set_enabled(self, proxy: str, enabled: bool) -> None:
        with self._api() as tp:
            found = tp.get_proxy(proxy)
            if found is None:
                raise ToxiproxyError(f"no proxy {proxy!r} on {self.url}")
            if enabled:
                found.enable()
            else:
                found.disable()

    # -- toxics ---------------------------------------------------------------------------------
    def add_toxic(
        self,
        proxy: str,
        kind: str,
        *,
        name: str,
        attributes: dict[str, Any],
        stream: str = "downstream",
        toxicity: float = 1.0,
    ) -> None:
        validate_toxic(kind, attributes, stream, toxicity)
        attributes = _wire(attributes)
        with self._api() as tp:
            found = tp.get_proxy(proxy)
            if found is None:
                raise ToxiproxyError(f"no proxy {proxy!r} on {self.url}")
            try:
                found.add_toxic(type=kind, name=name, stream=stream, toxicity=toxicity,
                                attributes=attributes)
            except InvalidToxic as exc:
                if kind in HTTP_TOXICS:  # a stock server knows no such type
                    raise ToxiproxyError(
                        f"the Toxiproxy at {self.url} has no {kind!r} toxic: HTTP faults need "
                        "gauntlet's toxiproxy-server (`gauntlet install toxiproxy` builds it; "
                        "`gauntlet doctor` says which one is found)") from exc
                raise
        if name not in {t["name"] for t in self.toxics(proxy)}:
            raise ToxiproxyError(f"toxic {name!r} on {proxy!r} was not applied")

    def remove_toxic(self, proxy: str, name: str) -> None:
        """Remove a toxic; one that is already gone is not an error (undo must be idempotent)."""
        with _lock:
            _tp_api.APIConsumer.host = self.host
            _tp_api.APIConsumer.port = self.port
            with suppress(NotFound):
                _tp_api.APIConsumer.delete(f"/proxies/{proxy}/toxics/{name}")

    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        with self._api():
            result: list[dict[str, Any]] = _tp_api.APIConsumer.get(
                f"/proxies/{proxy}/toxics"
            ).json()
            return result

    def update_toxic(self, proxy: str, name: str, attributes: Mapping[str, Any]) -> None:
        """Change a toxic's attributes in place (Toxiproxy decodes them into the running toxic,
        so an HTTP toxic's counts go on); the toxic's other attributes stay."""
        found = next((t for t in self.toxics(proxy) if t.get("name") == name), None)
        if found is None:
            raise ToxiproxyError(f"no toxic {name!r} on {proxy!r} to update")
        # what the server shows: its counts are not attributes, unset ones come back null
        merged = {**{k: v for k, v in (found.get("attributes") or {}).items()
                     if k in TOXIC_ATTRIBUTES.get(found["type"], ()) and v is not None},
                  **attributes}
        validate_toxic(found["type"], merged, found["stream"], float(found["toxicity"]))
        with self._api():
            _tp_api.APIConsumer.post(f"/proxies/{proxy}/toxics/{name}",
                                     json={"attributes": _wire(attributes),
                                           "toxicity": found["toxicity"]})

    def answer_counts(self, proxy: str, name: str) -> AnswerCounts | None:
        """What an HTTP toxic has seen since it was added (docs/faults.md): None when the toxic
        is gone or is not one of gauntlet's HTTP toxics."""
        for toxic in self.toxics(proxy):
            attributes = toxic.get("attributes") or {}
            if toxic.get("name") == name and "answers" in attributes:
                return AnswerCounts(int(attributes["answers"]), int(attributes["acted"]))
        return None

    def bytes_sent_upstream(self) -> dict[str, int] | None:
        """Bytes each proxy has passed towards its dependency (requests) since the server
        started (its ``-proxy-metrics`` counters; a proxy that carried nothing is absent); None
        when the server keeps none (started without the flag, or older than 2.6: ``/metrics``
        is 404), and the caller says what it then cannot see."""
        try:
            answer = requests.get(f"{self.url}/metrics", timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise ToxiproxyError(f"Toxiproxy /metrics at {self.url}: {exc}") from exc
        if answer.status_code == 404:  # no metrics handler: started without the flag
            return None
        if answer.status_code != 200:
            raise ToxiproxyError(f"Toxiproxy /metrics at {self.url} answered "
                                 f"{answer.status_code}")
        return proxy_bytes(answer.text)

    def all_toxics(self) -> dict[str, list[dict[str, Any]]]:
        return {name: self.toxics(name) for name in self.proxies()}
