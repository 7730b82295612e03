"""The compose overlay (pure): where each link's variables land. A link may set them on several
services, two instances of one API sharing their dependencies' proxies."""

from __future__ import annotations

from pathlib import Path

import yaml

from gauntlet.boot.overlay import TOXIPROXY, build
from gauntlet.contract import load_contract

ROOT = Path(__file__).resolve().parents[2]


def overlay_env(contract_path: Path, services: list[str]) -> dict[str, dict[str, str]]:
    contract = load_contract(contract_path)
    overlay = build(contract, services=services, variants=[], toxiproxy_image="toxiproxy",
                    owner="test", config_path="/tmp/toxiproxy.json", secret="s")
    document = yaml.safe_load(overlay.yaml.replace("!override ", "").replace("!reset ", ""))
    return {name: spec.get("environment", {}) for name, spec in document["services"].items()}


def test_a_link_listing_two_services_sets_its_variables_on_both() -> None:
    env = overlay_env(ROOT / "contracts" / "gateway-pair-compose.toml",
                      ["postgres", "redis", "upstream", "api", "api2", "gateway"])
    for instance in ("api", "api2"):
        assert env[instance]["DATABASE_URL"].startswith(f"postgresql://app:app@{TOXIPROXY}:")
        assert env[instance]["REDIS_URL"].startswith(f"redis://{TOXIPROXY}:")
        assert env[instance]["DISABLE_RATE_LIMIT"] == "1"  # the contract's numbers, both
    assert env["api"]["DATABASE_URL"] == env["api2"]["DATABASE_URL"]
    # the gateway: one proxy an instance, each its own variable
    first, second = env["gateway"]["GATEWAY_UPSTREAM"], env["gateway"]["GATEWAY_UPSTREAM_2"]
    assert first.startswith(f"{TOXIPROXY}:") and second.startswith(f"{TOXIPROXY}:")
    assert first != second
    assert env["gateway"]["GATEWAY_MAX_FAILS"] == "3"
    assert "DATABASE_URL" not in env["gateway"]


def test_a_link_without_a_service_sets_its_variables_on_the_service_under_test() -> None:
    env = overlay_env(ROOT / "contracts" / "reference-compose.toml",
                      ["postgres", "redis", "upstream", "api"])
    assert env["api"]["DATABASE_URL"].startswith(f"postgresql://app:app@{TOXIPROXY}:")
    assert not env["postgres"]
