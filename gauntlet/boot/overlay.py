"""The compose overlay: a team's own compose file(s), unchanged, plus what gauntlet adds.

Pure: from the contract, the images and the owner tag, it writes the overlay document and the
Toxiproxy configuration; :mod:`gauntlet.boot.compose` runs them.

What the overlay adds:

- a ``gauntlet-toxiproxy`` container with one proxy per link the contract's ``[compose]`` lists
  (listening inside the project's network, pointing at ``SERVICE:PORT``) and one in front of the
  service under test; its API and those proxies are published on 127.0.0.1 only;
- on the service under test (or the service a link names), the environment variables the link
  declares, pointing at the proxy instead of the dependency, and the contract's numbers and
  variants;
- on every service: its published ports reset (``!reset``: a user's ``"5432:5432"`` would listen
  on every interface of the machine) and gauntlet's owner label, so a later boot can sweep what
  a killed gauntlet left.

Why environment variables, not network aliases: compose always resolves a service's own name to
that service's containers, so an alias cannot take the name over without renaming the team's
services; and an app is told its dependencies' addresses by variables anyway. The contract
names the variables a link needs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gauntlet.boot.engine import OWNER_LABEL
from gauntlet.contract import Contract, fill

TOXIPROXY = "gauntlet-toxiproxy"
TOXIPROXY_API_PORT = 8474
FIRST_LINK_PORT = 21000
MAIN_PROXY_PORT = 28000


@dataclass(frozen=True)
class Overlay:
    """The overlay document (YAML text), Toxiproxy's proxies, and where things listen inside
    the project (each published on a random 127.0.0.1 port, read back after ``up``)."""

    yaml: str
    proxies: list[dict[str, Any]]
    main: str  # the compose service under test
    main_port: int
    link_ports: dict[str, int]  # link → its proxy's port inside the network


def build(contract: Contract, *, services: list[str], variants: list[str],
          toxiproxy_image: str, owner: str, config_path: str, secret: str) -> Overlay:
    """``services``: the services of the team's compose files (``docker compose config
    --services``)."""
    compose = contract.compose
    if compose is None:
        raise ValueError("the contract has no [compose] section")
    main = contract.compose_service
    link_ports = {name: FIRST_LINK_PORT + i for i, name in enumerate(compose.links)}
    proxies = [{"name": name, "listen": f"0.0.0.0:{link_ports[name]}", "upstream": link.target,
                "enabled": True} for name, link in compose.links.items()]
    proxies.append({"name": main, "listen": f"0.0.0.0:{MAIN_PROXY_PORT}",
                    "upstream": f"{main}:{compose.port}", "enabled": True})

    env: dict[str, dict[str, str]] = {}
    # each contract service's numbers on the compose service of the same name; the main
    # service's on the service under test, whatever its compose name
    for name in contract.services:
        target = main if name == contract.main_service else name
        if target in services:
            env.setdefault(target, {}).update(contract.render_env(name))
    for name, link in compose.links.items():
        values = {"host": TOXIPROXY, "port": str(link_ports[name]), "secret": secret}
        for service in link.services_on(main):
            env.setdefault(service, {}).update(
                {key: fill(template, values) for key, template in link.env.items()})
    for variant in variants:
        env.setdefault(main, {}).update(contract.variants[variant])

    labels = {OWNER_LABEL: owner}
    lines = ["services:", f"  {TOXIPROXY}:",
             f"    image: {json.dumps(toxiproxy_image)}",
             '    command: ["-host=0.0.0.0", "-config=/gauntlet/toxiproxy.json", '
             '"-proxy-metrics"]',
             f"    volumes: [{json.dumps(config_path + ':/gauntlet/toxiproxy.json:ro')}]",
             "    ports: " + json.dumps([f"127.0.0.1::{TOXIPROXY_API_PORT}",
                                         f"127.0.0.1::{MAIN_PROXY_PORT}",
                                         *(f"127.0.0.1::{p}" for p in link_ports.values())]),
             f"    labels: {json.dumps(labels)}"]
    for service in services:
        lines.append(f"  {service}:")
        if service == main:
            lines.append(f"    ports: !override {json.dumps([f'127.0.0.1::{compose.port}'])}")
            started = {TOXIPROXY: {"condition": "service_started"}}
            lines.append(f"    depends_on: {json.dumps(started)}")
        else:
            lines.append("    ports: !reset []")
        lines.append(f"    labels: {json.dumps(labels)}")
        if env.get(service):
            lines.append(f"    environment: {json.dumps(env[service])}")
    return Overlay("\n".join(lines) + "\n", proxies, main, compose.port, link_ports)

