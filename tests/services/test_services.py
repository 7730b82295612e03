"""The test services without a database or a network: their contracts load, every number and
switch a contract sets reaches the service, and the mechanisms that need no dependency hold
(session guard, rate limit, readiness without a database, retries and breaker on a fake
upstream). What needs PostgreSQL and Toxiproxy is judged by gauntlet itself, end to end."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gauntlet.contract import Contract, fill, load_contract
from tests.services.ledger.app import LedgerApi
from tests.services.ledger.pricing_client import PricingBreakerOpen, PricingClient, PricingError
from tests.services.ledger.settings import SWITCHES, Settings, SettingsError
from tests.services.ledger.telemetry import Telemetry

HERE = Path(__file__).parent
ADDRESSES = {"port": "8080", "links.ledger-db.url": "postgresql://gauntlet@127.0.0.1:9/postgres",
             "links.pricing.url": "http://127.0.0.1:9"}


def ledger_contract() -> Contract:
    return load_contract(HERE / "ledger" / "contract.toml")


def ledger_env(contract: Contract, **extra: str) -> dict[str, str]:
    local = {key: fill(value, ADDRESSES)
             for key, value in contract.services["ledger"].local_env.items()}
    return {**contract.render_env("ledger"), **local, **extra}


def test_both_contracts_load() -> None:
    ledger = ledger_contract()
    naive = load_contract(HERE / "naive" / "contract.toml")
    kinds = {kind for kind, _ in ledger.claims.instances()}
    # the naive service also claims what it has no gateway or log for: a request id on every
    # answer, JSON logs, a limit on connections (none may pass: test_foreign_services.py)
    naive_kinds = {kind for kind, _ in naive.claims.instances()}
    assert kinds <= naive_kinds
    assert naive_kinds - kinds == {"connection_limit", "header", "logs", "queue"}
    assert len(kinds) == 8
    assert ledger.main_service == "ledger" and naive.main_service == "naive"
    assert naive.traffic.requests["POST /notes"].resend > 0


def test_ledger_runs_with_the_numbers_its_contract_claims() -> None:
    contract = ledger_contract()
    settings = Settings.read(ledger_env(contract))
    (breaker,), (pool,), (limit,) = (contract.claims.breaker, contract.claims.pool,
                                     contract.claims.rate_limit)
    (deadline,), (shutdown,) = contract.claims.deadline, contract.claims.shutdown
    assert settings.breaker_fails == breaker.consecutive_failures
    assert (settings.breaker_reset_s, settings.pricing_timeout_s) == (breaker.open_s,
                                                                      breaker.call_timeout_s)
    assert (settings.pool_max, settings.pool_wait_s) == (pool.size, pool.acquire_timeout_s)
    assert settings.limit == limit.limit and settings.deadline_s == deadline.deadline_s
    assert (settings.drain_s, settings.stop_deadline_s) == (shutdown.drain_delay_s,
                                                            shutdown.deadline_s)
    assert settings.port == 8080 and settings.pricing_url == "http://127.0.0.1:9"


def test_every_variant_switches_one_mechanism_off() -> None:
    contract = ledger_contract()
    base = Settings.read(ledger_env(contract))
    seen: set[str] = set()
    for name, env in contract.variants.items():
        (variable,) = env
        assert variable in SWITCHES, f"variant {name}: {variable} is not a ledger switch"
        flag = variable.removeprefix("LEDGER_").lower()
        assert getattr(Settings.read(ledger_env(contract, **env)), flag) is True
        assert getattr(base, flag) is False
        seen.add(variable)
    assert seen == set(SWITCHES)


def test_a_bad_variable_is_one_line_naming_it() -> None:
    env = ledger_env(ledger_contract(), LEDGER_DEADLINE_S="soon")
    with pytest.raises(SettingsError, match="LEDGER_DEADLINE_S"):
        Settings.read(env)


# --- the API in-process, no lifespan: the database is "not open" -------------------------------


def call(api: LedgerApi, steps: Callable[[httpx.AsyncClient], object]) -> object:
    async def go() -> object:
        transport = httpx.ASGITransport(app=api.asgi())
        async with httpx.AsyncClient(transport=transport, base_url="http://ledger") as client:
            return await steps(client)  # type: ignore[misc]

    return asyncio.run(go())


def test_session_guard_limit_and_probes_without_a_database() -> None:
    api = LedgerApi(Settings.read(ledger_env(ledger_contract(), LEDGER_LIMIT="3/5seconds")))

    async def steps(client: httpx.AsyncClient) -> dict[str, object]:
        out: dict[str, object] = {}
        out["anonymous"] = (await client.get("/v2/entries")).status_code
        out["unknown"] = (await client.get("/v2/entries",
                                           headers={"X-Session-Key": "nope"})).status_code
        key = (await client.post("/session", json={"name": "a"})).json()["session_key"]
        headers = {"X-Session-Key": key}
        out["answers"] = [(await client.get("/v2/entries", headers=headers)).status_code
                          for _ in range(5)]
        limited = await client.get("/v2/entries", headers=headers)
        out["retry_after"] = limited.headers.get("Retry-After")
        out["exempt"] = [(await client.get(p, headers=headers)).status_code
                         for p in ("/pingz", "/stats")]
        ready = await client.get("/readyz")
        out["ready"] = (ready.status_code, ready.json()["why"])
        out["stats"] = (await client.get("/stats")).text
        return out

    out = call(api, steps)
    assert isinstance(out, dict)
    assert out["anonymous"] == out["unknown"] == 401
    assert out["answers"] == [503, 503, 503, 429, 429]  # no database: 503, then limited
    assert out["retry_after"] is not None and int(str(out["retry_after"])) >= 1
    assert out["exempt"] == [200, 200]
    assert out["ready"] == (503, "table not created yet")
    families = {f.name for f in text_string_to_metric_families(str(out["stats"]))}
    assert {"ledger_breaker_open", "ledger_upstream_retries", "ledger_limited"} <= families


# --- the pricing client on a fake upstream -----------------------------------------------------


class FakePricing:
    """Answers from a script, one entry per call: a status code or an exception to raise."""

    def __init__(self, *script: int | Exception) -> None:
        self.script = list(script)
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        step = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        if isinstance(step, Exception):
            raise step
        return httpx.Response(step, json={"price_cents": 1})


def quotes(fake: FakePricing, n: int, **env: str) -> tuple[list[str], Telemetry]:
    settings = Settings.read(ledger_env(ledger_contract(), **env))
    telemetry = Telemetry()
    client = PricingClient(settings, telemetry, transport=httpx.MockTransport(fake))
    outcomes: list[str] = []

    async def go() -> None:
        for _ in range(n):
            try:
                await client.quote(100)
                outcomes.append("ok")
            except PricingBreakerOpen:
                outcomes.append("open")
            except PricingError:
                outcomes.append("failed")
        await client.aclose()

    asyncio.run(go())
    return outcomes, telemetry


def sample(telemetry: Telemetry, name: str, **labels: str) -> float | None:
    return telemetry.registry.get_sample_value(name, labels)


def retries_of(telemetry: Telemetry) -> float | None:
    return sample(telemetry, "ledger_upstream_retries_total", upstream="pricing")


def test_refused_then_answered_is_retried() -> None:
    fake = FakePricing(httpx.ConnectError("refused"), 503, 200)
    outcomes, telemetry = quotes(fake, 1, LEDGER_RETRY_FIRST_S="0", LEDGER_RETRY_CAP_S="0")
    assert outcomes == ["ok"] and fake.calls == 3 and retries_of(telemetry) == 2


def test_breaker_opens_after_consecutive_failed_quotes_and_answers_without_calling() -> None:
    fake = FakePricing(503)
    outcomes, telemetry = quotes(fake, 5, LEDGER_RETRY_FIRST_S="0", LEDGER_RETRY_CAP_S="0")
    assert outcomes == ["failed"] * 3 + ["open"] * 2
    assert fake.calls == 3 * 3  # three quotes of three attempts; none once open
    assert sample(telemetry, "ledger_breaker_open") == 1.0


def test_a_timeout_is_not_retried() -> None:
    fake = FakePricing(httpx.ReadTimeout("hung"))
    outcomes, _ = quotes(fake, 1)
    assert outcomes == ["failed"] and fake.calls == 1


def test_switched_off_breaker_and_retries() -> None:
    fake = FakePricing(503)
    outcomes, telemetry = quotes(fake, 5, LEDGER_NO_BREAKER="1", LEDGER_NO_RETRY="1")
    assert outcomes == ["failed"] * 5 and fake.calls == 5 and retries_of(telemetry) == 0
