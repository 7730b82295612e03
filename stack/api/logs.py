"""JSON logs: one object per line on stdout, with the current request id attached.

Why JSON lines: the harness tails the API's log to find the ``"event": "listening"`` line and
a human or a check greps the rest (request lines, drain, cut-off counts); a fixed shape with
``ts``/``level``/``event`` keeps both easy. The module is called ``logs`` rather than
``logging`` so it never shadows the standard library inside this package.

Secrets never reach a log line: handlers pass explicit fields, and nothing logs headers or
bodies. Usage::

    log_event(logger, logging.INFO, "listening", host=host, port=port)
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

_FIELDS = "gauntlet_fields"


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON object; structured fields come from ``extra``."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            payload["request_id"] = request_id
        payload.update(getattr(record, _FIELDS, {}))
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, exc, tb = record.exc_info
            payload["error"] = f"{exc_type.__name__}: {exc}"
            if record.levelno >= logging.ERROR:
                payload["traceback"] = "".join(traceback.format_exception(exc_type, exc, tb))
        return json.dumps(payload, default=str, ensure_ascii=False)


PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str = "info", *, plain: bool = False) -> None:
    """Send every logger (ours, uvicorn's, asyncpg's) through one JSON handler on stdout.

    uvicorn's access log is silenced: the request middleware writes a richer line itself.
    ``plain``: the broken variant ``LOG_PLAIN_TEXT`` — the text lines of ``logging``'s own
    formatter, which a log pipeline expecting JSON cannot parse (a structured-logs claim fails
    on it).
    """
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(PLAIN_FORMAT) if plain else JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True


def log_event(logger: logging.Logger, level: int, event: str, **fields: Any) -> None:
    """Log ``event`` with structured ``fields`` (merged into the JSON object)."""
    logger.log(level, event, extra={_FIELDS: fields})
