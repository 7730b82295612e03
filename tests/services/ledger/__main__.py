"""``python -m tests.services.ledger``: serve the ledger (variables in ``settings.py``).

Exit codes: 0 after a clean, drained stop; 2 on a bad variable (one line on stderr naming it);
3 when the server could not start.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from prometheus_client import disable_created_metrics

from tests.services.ledger.server import serve
from tests.services.ledger.settings import Settings, SettingsError


def main() -> int:
    try:
        settings = Settings.read(os.environ)
    except SettingsError as exc:
        print(f"ledger: configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per upstream call is noise
    disable_created_metrics()  # type: ignore[no-untyped-call]
    return asyncio.run(serve(settings))


if __name__ == "__main__":
    sys.exit(main())
