"""Fixed ports on the local backend (``stack.ports``, ``gauntlet up --port NAME=PORT``): a
name means the address a person uses for it; unknown or ambiguous names are one line, exit 2;
every other port is a free one, never one asked for."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from gauntlet.boot.local import assign_ports
from gauntlet.contract import load_contract
from gauntlet.errors import BootError, ConfigError
from gauntlet.net import free_ports

REFERENCE = load_contract(Path(__file__).resolve().parents[2] / "stack" / "contract.toml")
MANAGED = ["postgres", "redis"]


def test_free_ports_unless_fixed() -> None:
    ports = assign_ports(REFERENCE, "api", MANAGED)
    every = [ports.toxiproxy, *ports.server.values(), *ports.proxy.values()]
    assert len(set(every)) == len(every) == 1 + 2 + 2 + 4  # toxiproxy, servers, proxies
    assert set(ports.proxy) == {"postgres", "redis", "upstream", "api"}


def test_a_fixed_port_goes_where_its_name_is_reached() -> None:
    """The main service: its proxy (where load goes); a link: its proxy (what the services
    are given); a service that is not main: its own port; toxiproxy: its API."""
    api, pg, tox, up_service, up_link = free_ports(5)
    ports = assign_ports(REFERENCE, "api", MANAGED, {
        "api": api, "postgres": pg, "toxiproxy": tox, "service:upstream": up_service,
        "link:upstream": up_link})
    assert ports.proxy["api"] == api and ports.proxy["postgres"] == pg
    assert ports.toxiproxy == tox and ports.server["service:upstream"] == up_service
    assert ports.proxy["upstream"] == up_link
    assert api not in (ports.server["service:api"], *ports.server.values())


@pytest.mark.parametrize(("fixed", "expected"), [
    ({"nope": 9000}, "no service or link 'nope'"),
    ({"upstream": 9000}, "'upstream' is both a link and a service: write link:upstream"),
    ({"link:api": 9000}, "no service or link 'link:api'"),
    ({"api": 9000, "postgres": 9000}, "given twice"),
])
def test_bad_fixed_ports_are_one_line(fixed: dict[str, int], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as info:
        assign_ports(REFERENCE, "api", MANAGED, fixed)
    assert "\n" not in str(info.value)


def test_a_taken_port_is_said_before_anything_starts() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(BootError, match=f"port {port} on 127.0.0.1 is taken"):
            assign_ports(REFERENCE, "api", MANAGED, {"api": port})
