"""``python -m tests.services.echows``: a small WebSocket chat service, not written for gauntlet.

It exists so the realtime users are tested on a service with names of its own: ``POST /enter``
answers ``{"pass": ...}`` for a ``{"nick": ...}``; ``/live/feed?pass=...`` is the WebSocket
(an unknown pass is refused with 403 before the upgrade); each text frame
``{"kind": "say", "ref": ..., "text": ...}`` is answered ``{"ok": ref}`` and then pushed back as
``{"kind": "heard", "said": {"ref": ref, "nick": ...}}``; ``/up`` is the readiness probe.

``ECHOWS_DROP_AFTER=N`` closes every connection from the server's side right after its N-th
acknowledgement (a drop, as the client sees it); ``ECHOWS_ACK_DELAY_MS`` delays every
acknowledgement. Starlette on uvicorn (wsproto).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

SECRET = os.environ.get("ECHOWS_SECRET", "echows").encode()
DROP_AFTER = int(os.environ.get("ECHOWS_DROP_AFTER", "0") or 0)
ACK_DELAY_S = float(os.environ.get("ECHOWS_ACK_DELAY_MS", "0") or 0) / 1000.0


def pass_for(nick: str) -> str:
    return f"{nick}.{hmac.new(SECRET, nick.encode(), hashlib.sha256).hexdigest()[:16]}"


def nick_of(token: str) -> str | None:
    nick = token.rpartition(".")[0]
    return nick if nick and hmac.compare_digest(pass_for(nick), token) else None


async def enter(request: Request) -> Response:
    body = await request.json()
    nick = str(body.get("nick") or "")
    if not nick:
        return JSONResponse({"error": "nick required"}, status_code=400)
    return JSONResponse({"pass": pass_for(nick)}, status_code=201)


async def up(request: Request) -> Response:
    return JSONResponse({"up": True})


async def feed(socket: WebSocket) -> None:
    nick = nick_of(socket.query_params.get("pass", ""))
    if nick is None:
        await socket.close(code=1008)  # before accept: uvicorn answers the upgrade with 403
        return
    await socket.accept()
    acked = 0
    try:
        while True:
            frame = json.loads(await socket.receive_text())
            if frame.get("kind") != "say":
                continue
            if ACK_DELAY_S:
                await asyncio.sleep(ACK_DELAY_S)
            await socket.send_text(json.dumps({"ok": frame.get("ref")}))
            await socket.send_text(json.dumps(
                {"kind": "heard", "said": {"ref": frame.get("ref"), "nick": nick}}))
            acked += 1
            if DROP_AFTER and acked >= DROP_AFTER:
                await socket.close(code=1012)  # "service restart": the client did not ask
                return
    except WebSocketDisconnect:
        return


app = Starlette(routes=[Route("/enter", enter, methods=["POST"]), Route("/up", up),
                        WebSocketRoute("/live/feed", feed)])


def main() -> int:
    host = os.environ.get("ECHOWS_HOST", "127.0.0.1")
    port = int(os.environ.get("ECHOWS_PORT", "8765"))
    uvicorn.run(app, host=host, port=port, ws="wsproto", log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
