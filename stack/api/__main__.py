"""``python -m stack.api``: run the API on uvicorn with our own signal handling.

Exit codes: 0 after a clean (possibly drained) shutdown, 2 on a configuration error (one line on
stderr naming the variable), 3 when uvicorn cannot start (e.g. the port is taken).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn

import uvicorn
from prometheus_client import disable_created_metrics

from stack.api.app import create_app
from stack.api.config import ConfigError, Settings
from stack.api.logs import configure_logging, log_event
from stack.api.shutdown import DrainState, GracefulServer

logger = logging.getLogger("stack.api")


def main() -> int:
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as exc:
        print(f"stack.api: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, plain=settings.log_plain_text)
    disable_created_metrics()  # type: ignore[no-untyped-call]  # process-wide: *_created series are noise for our probes
    drain = DrainState()
    config = uvicorn.Config(
        create_app(settings, drain),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=False,
        server_header=False,
        lifespan="on",
        timeout_keep_alive=5,
        backlog=2048,
    )
    server = GracefulServer(
        config,
        drain=drain,
        drain_delay_s=settings.drain_delay_s,
        deadline_s=settings.shutdown_deadline_s,
        drain_enabled=not settings.disable_drain,
    )
    server.run()
    log_event(logger, logging.INFO, "exited", signal=drain.signal_name,
              cut_off=drain.cut_off + drain.inflight, forced=server.force_exit)
    return 0


def exit_now(code: int) -> NoReturn:
    """Flush and leave without interpreter teardown.

    Everything is closed by now; what is left is the garbage collector walking FastAPI's and
    pydantic's heap, which takes 1-2 s on a busy machine — time a shutdown check would charge
    to the drain (it measures signal → process exit).
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
