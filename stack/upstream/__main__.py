"""``python -m stack.upstream``: serve the upstream stub (env ``UPSTREAM_HOST``,
``UPSTREAM_PORT`` required, ``UPSTREAM_LATENCY_MS``, ``UPSTREAM_JITTER_MS``,
``UPSTREAM_ERROR_RATE``). Exit 2 on a bad variable. SIGTERM is uvicorn's usual graceful stop.
"""

from __future__ import annotations

import json
import os
import sys

import uvicorn

from stack.upstream.app import UpstreamSettings, create_app


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"stack.upstream: {name}: expected a number, got {raw!r}") from None


def main() -> int:
    port_raw = os.environ.get("UPSTREAM_PORT")
    if not port_raw:
        print("stack.upstream: configuration error: UPSTREAM_PORT is required", file=sys.stderr)
        return 2
    try:
        port = int(port_raw)
        settings = UpstreamSettings(
            latency_ms=_number("UPSTREAM_LATENCY_MS", 20.0),
            jitter_ms=_number("UPSTREAM_JITTER_MS", 5.0),
            error_rate=_number("UPSTREAM_ERROR_RATE", 0.0),
        )
    except (ValueError, SystemExit) as exc:
        print(f"stack.upstream: configuration error: {exc}", file=sys.stderr)
        return 2
    host = os.environ.get("UPSTREAM_HOST", "127.0.0.1")
    config = uvicorn.Config(
        create_app(settings), host=host, port=port, log_level="warning", access_log=False,
        server_header=False, backlog=2048,
    )
    server = uvicorn.Server(config)
    print(json.dumps({"event": "listening", "service": "upstream", "host": host, "port": port,
                      "latency_ms": settings.latency_ms, "jitter_ms": settings.jitter_ms,
                      "error_rate": settings.error_rate}), flush=True)
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
