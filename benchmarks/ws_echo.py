"""The WebSocket benchmark's target: a ``websockets`` echo server on one loopback port.

    .venv/bin/python benchmarks/ws_echo.py PORT

``websockets`` on asyncio, with its C masking: a real server and a cheap one, so that the
benchmark measures the Locust side, not the echo. Every path echoes every message back.
"""

from __future__ import annotations

import asyncio
import sys

from websockets.asyncio.server import ServerConnection, serve


async def echo(connection: ServerConnection) -> None:
    async for message in connection:
        await connection.send(message)


async def main(port: int) -> None:
    # no compression, no pings: the fewer the server's own costs, the cleaner the comparison
    async with serve(echo, "127.0.0.1", port, compression=None, ping_interval=None,
                     max_queue=None) as server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
