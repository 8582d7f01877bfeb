"""The load server's own ceiling: a swarm of keep-alive clients, no pipelining, for a few seconds.

Runs in a child process (``python -m benchmarks.ceiling``) with raw asyncio protocols (the
cheapest client there is), so that the measured rate is the server's, as far as two cores allow;
the server's CPU time per request (from ``/_ctl/stats``) gives its single-core capacity as well.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import time
from typing import Any

from benchmarks import PER_CALL_JOB, SESSION, TOKEN, WS, control, write_result


class _Client(asyncio.Protocol):
    """One connection: send a request, wait for the whole response, send the next."""

    def __init__(self, request: bytes, until: float, done: asyncio.Future[None]) -> None:
        self.request = request
        self.until = until
        self.done = done
        self.buffer = b""
        self.count = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end].lower()
        at = head.find(b"content-length:")
        length = int(head[at + 15 :].split(b"\r\n", 1)[0])
        if len(self.buffer) < end + 4 + length:
            return
        self.buffer = self.buffer[end + 4 + length :]
        self.count += 1
        assert self.transport is not None
        if time.monotonic() < self.until:
            self.transport.write(self.request)
        else:
            self.transport.close()
            if not self.done.done():
                self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def _swarm(port: int, connections: int, seconds: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    path = f"/api/flink/v1/workspaces/{WS}/sessions/{SESSION}/jobs/{PER_CALL_JOB}/savepoints"
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {TOKEN}\r\n"
        "Accept: application/json\r\n\r\n"
    ).encode()
    before = control(port, "GET", "/_ctl/stats")
    c0, w0 = time.process_time(), time.perf_counter()
    until = time.monotonic() + seconds
    clients = []
    waits = []
    for _ in range(connections):
        done: asyncio.Future[None] = loop.create_future()
        _, client = await loop.create_connection(
            functools.partial(_Client, request, until, done), "127.0.0.1", port
        )
        clients.append(client)
        waits.append(done)
    await asyncio.wait_for(asyncio.gather(*waits), seconds + 30)
    wall = time.perf_counter() - w0
    client_cpu = time.process_time() - c0
    after = control(port, "GET", "/_ctl/stats")
    responses = sum(c.count for c in clients)
    server_cpu = after["cpu"] - before["cpu"]
    served = after["requests"] - before["requests"]
    return {
        "connections": connections,
        "seconds": wall,
        "requests_per_s": responses / wall,
        "server_cpu_util": server_cpu / wall,
        "server_cpu_us_per_request": server_cpu / served * 1e6 if served else None,
        "server_capacity_per_core": served / server_cpu if server_cpu else None,
        "client_cpu_util": client_cpu / wall,
    }


def main() -> None:
    """``python -m benchmarks.ceiling --port P [--connections 50] [--seconds 3] --out FILE``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ceiling")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    write_result(args.out, asyncio.run(_swarm(args.port, args.connections, args.seconds)))


if __name__ == "__main__":
    main()
