"""gauntlet's HTTP toxics through a real toxiproxy-server (the one ``gauntlet install
toxiproxy`` builds), a real HTTP/1.1 dependency and real sockets: answers forged in place and
held back, with keep-alive, chunked bodies and pipelined requests left correct. The toxics'
own edge cases (split reads, stops mid-answer, upgrades, TLS bytes) are tested in Go:
``go test ./...`` in gauntlet/toxiproxy, run by test_the_go_tests_pass."""

from __future__ import annotations

import http.client
import io
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from gauntlet import install
from gauntlet.boot.binaries import TOXIPROXY_VERSION, find, locate_go
from gauntlet.chaos.toxiproxy import AnswerCounts, ToxiproxyClient
from gauntlet.errors import ToxiproxyError
from gauntlet.net import free_port

MODULE = Path(__file__).resolve().parents[2] / "gauntlet" / "toxiproxy"


class Dependency(BaseHTTPRequestHandler):
    """A keep-alive HTTP/1.1 dependency: /len answers with a Content-Length, /chunked in
    chunks, /empty 204; every request and the connection it came on is counted."""

    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[tuple[str, int]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, self.client_address[1]))
        if self.path.startswith("/chunked"):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"chunk", b"ed-", self.path.encode()):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path.startswith("/empty"):
            self.send_response(204)
            self.end_headers()
        else:
            body = f"body of {self.path}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def link(tmp_path: Path) -> Iterator[tuple[ToxiproxyClient, str]]:
    """A real toxiproxy-server with one proxy in front of the dependency; the proxy's URL."""
    Dependency.seen = []
    dependency = ThreadingHTTPServer(("127.0.0.1", 0), Dependency)
    threading.Thread(target=dependency.serve_forever, daemon=True).start()
    api_port, listen_port = free_port(), free_port()
    server = subprocess.Popen([str(find("toxiproxy-server")), "-host", "127.0.0.1", "-port",
                               str(api_port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        client = ToxiproxyClient(f"http://127.0.0.1:{api_port}")
        client.wait_up(10)
        client.create_proxy("dep", listen=f"127.0.0.1:{listen_port}",
                            upstream=f"127.0.0.1:{dependency.server_address[1]}")
        yield client, f"http://127.0.0.1:{listen_port}"
    finally:
        server.terminate()
        server.wait(10)
        dependency.shutdown()
        dependency.server_close()


class _Shared(io.RawIOBase):
    """One buffered socket stream that every pipelined answer is read from in turn."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self.sock.recv_into(buffer)


class _Conn:
    def __init__(self, reader: io.BufferedReader) -> None:
        self.reader = reader

    def makefile(self, *args: Any, **kwargs: Any) -> io.BufferedReader:
        return _Unclosable(self.reader)  # type: ignore[return-value]


class _Unclosable:
    def __init__(self, reader: io.BufferedReader) -> None:
        self.reader = reader

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reader, name)

    def close(self) -> None:
        pass


def pipelined(url: str, paths: list[str]) -> list[tuple[int, dict[str, str], bytes]]:
    """Send every request in one write on one connection, then read the answers in order."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"".join(f"GET {path} HTTP/1.1\r\nHost: dep\r\n\r\n".encode()
                              for path in paths))
        reader = io.BufferedReader(_Shared(sock))
        answers = []
        for _ in paths:
            answer = http.client.HTTPResponse(_Conn(reader))  # type: ignore[arg-type]
            answer.begin()
            answers.append((answer.status, dict(answer.getheaders()), answer.read()))
        return answers


PATHS = ["/len/1", "/chunked/2", "/empty/3", "/len/4", "/chunked/5", "/len/6"]


def test_answers_through_the_toxic_are_the_dependencys_own(
        link: tuple[ToxiproxyClient, str]) -> None:
    client, url = link
    before = pipelined(url, PATHS)
    client.add_toxic("dep", "http_status", name="none", attributes={"status": 503, "share": 0})
    after = pipelined(url, PATHS)
    assert [a[0] for a in after] == [200, 200, 204, 200, 200, 200]
    assert [a[2] for a in after] == [a[2] for a in before]
    assert after[1][2] == b"chunked-/chunked/2"


def test_a_share_of_pipelined_answers_is_forged_in_place(
        link: tuple[ToxiproxyClient, str]) -> None:
    client, url = link
    client.add_toxic("dep", "http_status", name="busy", attributes={
        "status": 503, "share": 0.5, "headers": {"Retry-After": "2"}, "body": "busy"})
    answers = pipelined(url, PATHS)
    assert [a[0] for a in answers] == [200, 503, 204, 503, 200, 503]
    assert client.answer_counts("dep", "busy") == AnswerCounts(answers=6, acted=3)
    assert answers[1][1]["Retry-After"] == "2" and answers[1][2] == b"busy"
    assert answers[4][2] == b"chunked-/chunked/5"
    # every request reached the dependency: a forged answer replaces a real one
    assert [path for path, _ in Dependency.seen] == PATHS


def test_keep_alive_clients_reuse_the_connection_through_forged_answers(
        link: tuple[ToxiproxyClient, str]) -> None:
    client, url = link
    client.add_toxic("dep", "http_status", name="limited", attributes={
        "status": 429, "share": 0.25})  # no headers: the server shows them as null
    with httpx.Client(base_url=url, timeout=10) as http:
        statuses = [http.get(f"/len/{i}").status_code for i in range(8)]
        client.update_toxic("dep", "limited", {"status": 503, "share": 1})
        statuses += [http.get("/len/updated").status_code]
        assert client.answer_counts("dep", "limited") == AnswerCounts(answers=9, acted=3)
        client.remove_toxic("dep", "limited")
        assert client.answer_counts("dep", "limited") is None
        statuses += [http.get("/chunked/after").status_code]
    assert statuses == [200, 200, 200, 429, 200, 200, 200, 429, 503, 200]
    assert len({port for _, port in Dependency.seen}) == 1, "the connection was not kept"


def test_the_first_byte_of_answers_is_held_back_until_the_toxic_goes(
        link: tuple[ToxiproxyClient, str]) -> None:
    client, url = link
    client.add_toxic("dep", "http_first_byte", name="slow", attributes={"latency": 400})
    with httpx.Client(base_url=url, timeout=10) as http:
        began = time.monotonic()
        assert http.get("/chunked/slow").text == "chunked-/chunked/slow"
        slow = time.monotonic() - began
        client.remove_toxic("dep", "slow")
        began = time.monotonic()
        assert http.get("/len/fast").status_code == 200
        fast = time.monotonic() - began
    assert slow >= 0.4 and fast < 0.4, (slow, fast)


def test_the_go_tests_pass() -> None:
    go = locate_go()
    if go is None:
        pytest.fail("Go is needed to test gauntlet's toxics (scripts/setup.sh installs it)")
    env = {**os.environ, "GOWORK": "off", "GOFLAGS": "-mod=readonly"}
    done = subprocess.run([str(go), "test", "-count=1", "./..."], cwd=MODULE, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "ok  \tgauntlet.local/toxiproxy/httptoxics" in done.stdout


def test_nothing_is_built_into_the_module() -> None:
    """go test and the install build leave no binary or stray file in the shipped module."""
    names = {p.name for p in MODULE.rglob("*") if p.is_file()}
    assert names <= {"go.mod", "go.sum", "answers.go", "toxics.go", "answers_test.go",
                     "main.go"}, names


def test_a_stock_server_refuses_the_http_toxics_in_one_line_naming_the_build(
        tmp_path: Path) -> None:
    """Upstream's own toxiproxy-server (built here at the pinned release) knows no such toxic:
    gauntlet says which server it needs instead of Toxiproxy's bare 400."""
    go = locate_go()
    if go is None:
        pytest.fail("Go is needed to build a stock toxiproxy-server for this test")
    env = {**os.environ, "GOBIN": str(tmp_path), "GOWORK": "off"}
    built = subprocess.run([str(go), "install", f"{install.MODULE}/cmd/server@v"
                            f"{TOXIPROXY_VERSION}"], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stderr[-2000:]
    api_port = free_port()
    server = subprocess.Popen([str(tmp_path / "server"), "-host", "127.0.0.1", "-port",
                               str(api_port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        client = ToxiproxyClient(f"http://127.0.0.1:{api_port}")
        client.wait_up(10)
        client.create_proxy("dep", listen=f"127.0.0.1:{free_port()}", upstream="127.0.0.1:9")
        with pytest.raises(ToxiproxyError) as caught:
            client.add_toxic("dep", "http_status", name="busy", attributes={"status": 503})
        assert "has no 'http_status' toxic" in str(caught.value)
        assert "gauntlet install toxiproxy" in str(caught.value)
        assert "\n" not in str(caught.value)
    finally:
        server.terminate()
        server.wait(10)
