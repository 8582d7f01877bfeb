"""The load server: a small asyncio HTTP/1.1 keep-alive server playing LakeSail for the benchmarks.

It runs in its own process (``python -m benchmarks.loadserver``), prints ``PORT <n>`` on stdout and
serves until its stdin closes, ``POST /_ctl/shutdown`` arrives, or its lifetime runs out. It does as
little as it can per request: one ``data_received`` parse of the request head, a body picked from
a few pre-rendered ones, one ``write`` per response, ``TCP_NODELAY`` on every connection.

Paths:

* ``GET /api/flink/v1/workspaces/{ws}/sessions/{s}/jobs/{job}/savepoints``: the savepoint list;
  one pending savepoint until the job's completion time (see :func:`done_at`), then none, with 3 to
  5 completed ones.
* ``GET /api/flink/v1/workspaces/{ws}/sessions/{s}/jobs/{job}``: the job, ``"state": "RUNNING"``.
* ``GET /peer404/.../jobs/{job}/savepoints``: for the http provider's ``HttpSensorTrigger``, which
  waits for a status other than 404: 404 until the job's completion time, then the list.
* ``GET /flink/jobs/{job}/savepoints/{trigger}``: Flink's savepoint status, ``IN_PROGRESS`` until
  the job's completion time, then ``COMPLETED`` with a location; ``GET /flink/jobs/{job}``: Flink's
  job detail, ``RUNNING`` (the bodies a real Flink 2.3 cluster gave, from ``tests/flink/responses``).
  Flink job ``{i:032x}`` is job ``J<i>`` of the scenario.
* ``POST /_ctl/scenario`` (JSON ``{"t0", "offset", "spread"}``): set the completion times;
  ``GET /_ctl/stats[?polls=1]``: the server's CPU time, request counts and (with ``polls``) the
  time of every savepoint-list request per job; ``POST /_ctl/reset``: forget the counts.
* anything else: the savepoint list of a job that never completes (e.g. the dbt Cloud hook's URL).

Job IDs of the form ``J<index>`` get their completion time from the scenario; others never complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

#: A load server stops by itself after this many seconds, whatever happens.
MAX_LIFETIME = 1800.0
_GOLDEN = 0.6180339887498949


def done_at(job_id: str, scenario: dict[str, float] | None) -> float:
    """When job ``job_id``'s pending savepoint completes (epoch seconds; inf: never).

    ``J<i>`` completes at ``t0 + offset + frac(i * golden ratio) * spread``: spread evenly over the
    window, in an order unrelated to the order the triggers were started in.

    :param job_id: the job ID from the path
    :param scenario: ``{"t0", "offset", "spread"}`` or None (nothing completes)
    """
    if scenario is None or not job_id.startswith("J") or not job_id[1:].isdigit():
        return float("inf")
    index = int(job_id[1:])
    return scenario["t0"] + scenario["offset"] + ((index * _GOLDEN) % 1.0) * scenario["spread"]


def _savepoint(n: int, *, manual: bool = False, done: bool = True) -> dict[str, Any]:
    item: dict[str, Any] = {
        "triggerType": "MANUAL" if manual else "PERIODIC",
        "triggeredAt": f"2025-06-0{1 + n % 9}T0{n % 10}:1{n % 10}:2{n % 10}.{100 + n}Z",
    }
    if manual:
        item["triggerNonce"] = f"b3e1c7d0-5f2a-4c9e-8d41-0f6a2b9c{1000 + n}"
    if done:
        item["location"] = f"s3://lakesail-prod-flink/flink-savepoints/savepoint-{n:06x}-7c1e2a94b5d3"
    return item


def _bodies() -> dict[tuple[int, bool], bytes]:
    """Pre-rendered savepoint lists: (completed count, done) -> JSON bytes."""
    bodies = {}
    for count in (3, 4, 5):
        older = [_savepoint(i) for i in range(count)]
        pending = _savepoint(99, manual=True, done=False)
        bodies[count, False] = json.dumps({"pending": [pending], "completed": older}).encode()
        done = [*older[1:], _savepoint(99, manual=True)]
        bodies[count, True] = json.dumps({"pending": [], "completed": done}).encode()
    return bodies


_JOB_BODY = json.dumps(
    {
        "id": "JOB",
        "name": "orders-enrichment",
        "flinkConfiguration": {"parallelism.default": "4", "state.savepoints.dir": "s3://bucket/sp"},
        "job": {"id": "a1b2c3", "name": "orders-enrichment", "jarUri": "s3://bucket/job.jar", "args": []},
        "state": "RUNNING",
        "createdAt": "2025-05-01T10:00:00.000Z",
        "updatedAt": "2025-06-01T10:00:00.000Z",
    }
).encode()
_NOT_YET = b'{"message": "not found"}'
_RECORDED = Path(__file__).resolve().parent.parent / "tests" / "flink" / "responses"


def _recorded(name: str) -> bytes:
    """A body a real Flink cluster gave (``tests/flink/responses/<name>.json``)."""
    return json.dumps(json.loads((_RECORDED / f"{name}.json").read_text())["body"]).encode()


_FLINK_JOB = _recorded("job_running")
_FLINK_IN_PROGRESS = _recorded("savepoint_status_in_progress")
_FLINK_COMPLETED = _recorded("savepoint_status_completed")
_REASONS = {200: b"OK", 404: b"Not Found", 400: b"Bad Request"}


def _response(status: int, body: bytes, *, close: bool = False) -> bytes:
    head = b"HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: %d\r\n" % (
        status,
        _REASONS.get(status, b"OK"),
        len(body),
    )
    if close:
        head += b"Connection: close\r\n"
    return head + b"\r\n" + body


class _State:
    """What the server knows: the scenario, counts, and the times of savepoint-list requests."""

    def __init__(self) -> None:
        self.bodies = _bodies()
        self.scenario: dict[str, float] | None = None
        self.requests = 0
        self.connections = 0
        self.polls: dict[str, list[float]] = defaultdict(list)
        self.stop = asyncio.Event()

    def answer(self, method: bytes, target: bytes, body: bytes) -> tuple[int, bytes]:
        """The status and body for one request."""
        path = target.split(b"?", 1)[0]
        if path.startswith(b"/_ctl/"):
            return self._control(method, path, target, body)
        self.requests += 1
        parts = path.split(b"/")
        if parts[1] == b"flink":  # /flink/jobs/{job}[/savepoints/{trigger}]
            return self._flink(parts)
        # /api/flink/v1/workspaces/WS/sessions/S/jobs/J[/savepoints]  (or /peer404/... the same)
        if b"jobs" in parts:
            at = parts.index(b"jobs")
            job = parts[at + 1].decode() if len(parts) > at + 1 else ""
            tail = parts[at + 2 :]
            if not tail or tail == [b""]:
                return 200, _JOB_BODY
            now = time.time()
            self.polls[job].append(now)
            done = now >= done_at(job, self.scenario)
            if parts[1] == b"peer404" and not done:
                return 404, _NOT_YET
            count = 3 + (int(job[1:]) % 3 if job[1:].isdigit() else 1)
            return 200, self.bodies[count, done]
        return 200, self.bodies[4, False]

    def _flink(self, parts: list[bytes]) -> tuple[int, bytes]:
        if len(parts) < 4 or parts[2] != b"jobs":
            return 404, _NOT_YET
        try:
            job = f"J{int(parts[3], 16)}"
        except ValueError:
            return 404, _NOT_YET
        if len(parts) == 4:
            return 200, _FLINK_JOB
        now = time.time()
        self.polls[job].append(now)
        return 200, _FLINK_COMPLETED if now >= done_at(job, self.scenario) else _FLINK_IN_PROGRESS

    def _control(self, method: bytes, path: bytes, target: bytes, body: bytes) -> tuple[int, bytes]:
        if path == b"/_ctl/scenario" and method == b"POST":
            self.scenario = json.loads(body)
            return 200, b"{}"
        if path == b"/_ctl/reset" and method == b"POST":
            self.requests = 0
            self.connections = 0
            self.polls.clear()
            self.scenario = None
            return 200, b"{}"
        if path == b"/_ctl/stats":
            times = os.times()
            stats: dict[str, Any] = {
                "cpu": times.user + times.system,
                "wall": time.time(),
                "requests": self.requests,
                "connections": self.connections,
                "poll_count": sum(len(v) for v in self.polls.values()),
            }
            if b"polls=1" in target:
                stats["polls"] = self.polls
            return 200, json.dumps(stats).encode()
        if path == b"/_ctl/shutdown" and method == b"POST":
            self.stop.set()
            return 200, b"{}"
        return 400, b'{"message": "unknown control request"}'


class _Http(asyncio.Protocol):
    """One connection: parse request heads as they come, answer each with one write."""

    __slots__ = ("buffer", "state", "transport")

    def __init__(self, state: _State) -> None:
        self.state = state
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.state.connections += 1
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        transport = self.transport
        assert transport is not None
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end]
            line_end = head.find(b"\r\n")
            request_line = head if line_end < 0 else head[:line_end]
            try:
                method, target, _version = request_line.split(b" ", 2)
            except ValueError:
                transport.write(_response(400, b'{"message": "bad request line"}', close=True))
                transport.close()
                return
            lowered = head.lower()
            length = 0
            at = lowered.find(b"\r\ncontent-length:")
            if at >= 0:
                value_end = lowered.find(b"\r\n", at + 2)
                length = int(lowered[at + 17 : value_end if value_end >= 0 else None].strip() or 0)
            if len(buffer) < end + 4 + length:
                break
            body = buffer[end + 4 : end + 4 + length]
            buffer = buffer[end + 4 + length :]
            close = b"\r\nconnection: close" in lowered
            status, payload = self.state.answer(method, target, body)
            transport.write(_response(status, payload, close=close))
            if close:
                transport.close()
                buffer = b""
                break
        self.buffer = buffer


async def serve(host: str = "127.0.0.1", port: int = 0, lifetime: float = MAX_LIFETIME) -> None:
    """Serve until stdin closes, a shutdown request, or ``lifetime`` seconds."""
    state = _State()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Http(state), host, port, backlog=4096, reuse_address=True)
    bound = server.sockets[0].getsockname()[1]
    print(f"PORT {bound}", flush=True)

    def watch_stdin() -> None:
        try:
            sys.stdin.read()
        finally:
            loop.call_soon_threadsafe(state.stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(state.stop.wait(), lifetime)
    server.close()


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.loadserver [--port N] [--lifetime S]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.loadserver")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--lifetime", type=float, default=MAX_LIFETIME)
    args = parser.parse_args(argv)
    asyncio.run(serve("127.0.0.1", args.port, args.lifetime))


if __name__ == "__main__":
    main()
