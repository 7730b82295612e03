"""The request-counter cross-check: the server's count per endpoint beside the client's, and a
warning — never silent zeros — when the counter's labels match nothing the client sent. And the
one scrape every reader of the metrics path goes through, against a server on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gauntlet.contract import Probes, RequestCounter
from gauntlet.errors import ConfigError
from gauntlet.metrics import Scrape, crosscheck, parse_requests, scrape, scrape_requests
from gauntlet.reports.html import _crosscheck

# a Go 1.22 http.ServeMux: the route label is the pattern, method included
GO_BEFORE = """\
# TYPE shipments_http_requests_total counter
shipments_http_requests_total{method="GET",route="GET /v1/shipments",code="200"} 10
shipments_http_requests_total{method="POST",route="POST /v1/shipments",code="201"} 4
"""
GO_AFTER = """\
# TYPE shipments_http_requests_total counter
shipments_http_requests_total{method="GET",route="GET /v1/shipments",code="200"} 110
shipments_http_requests_total{method="GET",route="GET /v1/shipments/{id}",code="200"} 30
shipments_http_requests_total{method="POST",route="POST /v1/shipments",code="201"} 54
"""
CLIENT = {"GET /v1/shipments": 100, "GET /v1/shipments/{id}": 30, "POST /v1/shipments": 50}
DEFAULT = RequestCounter(name="shipments_http_requests_total")
GO = RequestCounter(name="shipments_http_requests_total", endpoint="{route}")


def check(counter: RequestCounter, after: str = GO_AFTER) -> object:
    return crosscheck(CLIENT, parse_requests(GO_BEFORE, counter), parse_requests(after, counter),
                      counter)


def test_a_cross_check_that_matches_nothing_says_so() -> None:
    """Old code: the server's key was "GET GET /v1/shipments", every route read server = 0,
    and nothing said the cross-check had compared nothing."""
    result = crosscheck(CLIENT, parse_requests(GO_BEFORE, DEFAULT),
                        parse_requests(GO_AFTER, DEFAULT), DEFAULT)
    assert all(row["server"] is None and row["diff"] is None for row in result.rows.values())
    assert result.warning is not None
    assert "matched none of the 3 endpoints" in result.warning
    assert "'GET GET /v1/shipments'" in result.warning
    assert "probes.request_counter.endpoint" in result.warning
    assert "GET GET /v1/shipments" in result.unmatched


def test_the_contract_says_how_the_route_label_is_formed() -> None:
    result = crosscheck(CLIENT, parse_requests(GO_BEFORE, GO), parse_requests(GO_AFTER, GO), GO)
    assert result.warning is None and result.unmatched == {}
    assert result.rows["GET /v1/shipments"] == {"client": 100.0, "server": 100.0, "diff": 0.0}
    assert result.rows["POST /v1/shipments"]["diff"] == 0.0
    assert result.rows["GET /v1/shipments/{id}"]["server"] == 30.0  # new since before: from 0


def test_a_partial_match_names_the_endpoints_the_server_did_not_count() -> None:
    after = GO_AFTER.replace('route="GET /v1/shipments/{id}"', 'route="GET /v1/shipment/{id}"')
    result = crosscheck(CLIENT, parse_requests(GO_BEFORE, GO), parse_requests(after, GO), GO)
    assert result.rows["GET /v1/shipments/{id}"]["server"] is None
    assert result.rows["GET /v1/shipments"]["server"] == 100.0
    assert result.warning is not None and "no count for 1 of 3 endpoints" in result.warning
    assert "'GET /v1/shipment/{}'" in result.warning


def test_a_router_spelling_its_parameters_otherwise_is_the_same_route() -> None:
    """Old code matched only braces: the Node reference service (Fastify, ``/v1/notes/:id``)
    read server = None for 'GET /v1/notes/{id}' in every run, and warned of it."""
    for route in ("/v1/shipments/:id", "/v1/shipments/<int:id>", "/v1/shipments/{sid}"):
        after = GO_AFTER.replace("GET /v1/shipments/{id}", "GET " + route)
        result = crosscheck(CLIENT, parse_requests(GO_BEFORE, GO), parse_requests(after, GO), GO)
        assert result.warning is None, route
        assert result.rows["GET /v1/shipments/{id}"]["server"] == 30.0
    custom = GO_AFTER.replace("GET /v1/shipments/{id}", "GET /v1/shipments:cancel")
    result = crosscheck(CLIENT, parse_requests(GO_BEFORE, GO), parse_requests(custom, GO), GO)
    assert result.rows["GET /v1/shipments/{id}"]["server"] is None  # a custom method, no param


def test_an_absent_counter_or_no_scrape_is_said_too() -> None:
    absent = crosscheck(CLIENT, {}, {}, GO)
    assert absent.warning is not None and "no sample of it" in absent.warning
    assert crosscheck(CLIENT, None, {}, GO).warning is not None
    assert crosscheck(CLIENT, None, None, None).warning is None  # no counter claimed


def test_the_default_endpoint_is_method_and_route() -> None:
    counter = RequestCounter(name="c", method_label="verb", route_label="path")
    assert counter.endpoint_of({"verb": "GET", "path": "/a"}) == "GET /a"
    with pytest.raises(ValueError, match="names no label"):
        RequestCounter(name="c", endpoint="GET /a")


def test_the_report_shows_the_warning_and_no_zero_for_an_unmatched_route() -> None:
    html = _crosscheck({"GET /a": {"client": 5.0, "server": None, "diff": None}},
                       "c matched none of the 1 endpoints")
    assert "c matched none of the 1 endpoints" in html
    assert ">0<" not in html


def test_a_contract_names_the_route_label_format() -> None:
    from gauntlet.contract import parse_contract

    doc = {"name": "go", "probes": {"metrics": "/metrics", "request_counter": {
        "name": "shipments_http_requests_total", "endpoint": "{route}"}}}
    probes = parse_contract(doc).probes
    assert probes.request_counter is not None
    assert probes.request_counter.endpoint_of({"route": "GET /v1/x"}) == "GET /v1/x"
    with pytest.raises(ConfigError, match="names no label"):
        parse_contract({**doc, "probes": {"request_counter": {"name": "c", "endpoint": "x"}}})


# -- one scrape for every reader of the metrics path ------------------------------------------
class _Metrics(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, body = ((200, GO_AFTER) if self.path == "/metrics" else (503, "down"))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def metrics_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Metrics)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_scrape_says_what_it_got(metrics_url: str) -> None:
    assert scrape(metrics_url, "/metrics").text == GO_AFTER
    assert scrape(metrics_url, "/other") == Scrape(None, "answered 503")
    assert scrape(metrics_url, None) == Scrape(None, "no metrics path (probes.metrics)")
    refused = scrape("http://127.0.0.1:9", "/metrics", timeout_s=1.0)
    assert refused.text is None and refused.problem.startswith("did not answer")
    counts = scrape_requests(metrics_url, Probes(metrics="/metrics", request_counter=GO))
    assert counts == parse_requests(GO_AFTER, GO)
    assert scrape_requests(metrics_url, Probes(metrics="/other", request_counter=GO)) is None
