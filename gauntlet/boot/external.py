"""The external backend: a stack someone else runs. Boots nothing, owns nothing.

Load is only ever aimed at loopback unless the suite says ``allow_remote = true``: gauntlet must
never be the tool that load-tests a server its user does not own by a typo in a URL.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from gauntlet.boot.stack import Stack
from gauntlet.chaos.toxiproxy import ToxiproxyClient
from gauntlet.config import StackConfig
from gauntlet.contract import Contract
from gauntlet.errors import ConfigError, InfrastructureError
from gauntlet.net import is_loopback_url


def check_remote(config: StackConfig) -> None:
    """Refuse a non-loopback target unless the suite confirms it: a ConfigError (exit 2),
    raised before anything is created."""
    for key, url in (("base_url", config.base_url), ("toxiproxy_url", config.toxiproxy_url)):
        if url and not is_loopback_url(url) and not config.allow_remote:
            raise ConfigError(
                f"stack.{key} {url!r} is not a loopback address; gauntlet only aims load at "
                "stacks you own: set stack.allow_remote = true to confirm"
            )


@contextmanager
def boot_external(config: StackConfig, contract: Contract | None) -> Iterator[Stack]:
    assert config.base_url is not None
    started = time.monotonic()
    check_remote(config)
    probe = contract.probes.live if contract and contract.probes.live else "/"
    try:
        httpx.get(config.base_url.rstrip("/") + probe, timeout=5.0)
    except httpx.HTTPError as exc:
        raise InfrastructureError(
            f"external stack unreachable at {config.base_url}: {exc}",
            hint="is it running? check stack.base_url",
        ) from exc
    client = None
    if config.toxiproxy_url:
        client = ToxiproxyClient(config.toxiproxy_url)
        client.wait_up(timeout_s=5.0)
    links = list(contract.links) if contract else []
    proxies = {link: config.proxies.get(link, link) for link in links}
    proxies.update(config.proxies)
    try:
        yield Stack(
            backend="external",
            base_url=config.base_url.rstrip("/"),
            contract=contract,
            toxiproxy=client,
            proxies=proxies,
            database_url=config.database_url,
            boot_time_s=time.monotonic() - started,
            disposable=False,
        )
    finally:
        if client is not None:
            client.reset()
