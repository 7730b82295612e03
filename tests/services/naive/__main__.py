"""``python -m tests.services.naive``: serve the naive notes service.

Variables: ``NAIVE_PORT``, ``NAIVE_DB``, ``NAIVE_PRICING_URL`` (all required), ``NAIVE_HOST``,
``NAIVE_POOL_MAX``. It connects to PostgreSQL at start-up and does not start without it.
"""

from __future__ import annotations

import os
import sys

import uvicorn

from tests.services.naive.app import NaiveSettings, create_app


def main() -> int:
    try:
        settings = NaiveSettings(
            port=int(os.environ["NAIVE_PORT"]),
            database_url=os.environ["NAIVE_DB"],
            pricing_url=os.environ["NAIVE_PRICING_URL"],
            host=os.environ.get("NAIVE_HOST", "127.0.0.1"),
            pool_max=int(os.environ.get("NAIVE_POOL_MAX") or 5),
        )
    except (KeyError, ValueError) as exc:
        print(f"naive: configuration error: {exc!r}", file=sys.stderr)
        return 2
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
