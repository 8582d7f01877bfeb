"""A hostile HTTP server for the wire tests: raw sockets on 127.0.0.1, scripted per connection.

:class:`HostileServer` accepts connections in a thread and runs a *script* (a callable taking a
:class:`Conn`) for each one in its own thread; the script reads requests and writes whatever bytes
it likes (good answers, broken framing, trickles, resets). Every request the server reads is
recorded. :class:`RecordingProxy` is a tiny forward/CONNECT proxy that records what reaches it.

Good answers carry a per-request marker: a savepoint ``location`` of ``s3://real/<job>/<seq>``,
``seq`` being the server's request number. Forged answers (bytes a client must never take as the
answer to a later request) say ``s3://forged/<job>/...``.
"""

from __future__ import annotations

import contextlib
import json
import re
import selectors
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

_JOB = re.compile(r"/jobs/([A-Z0-9]+)(/savepoints)?$")


@dataclass
class Request:
    """One request as the server read it.

    :param method: the method
    :param path: the path (origin form, also when the client sent an absolute URI)
    :param headers: header names lower-cased (the last value wins)
    :param body: the body
    :param conn: the number of the connection it came on (0 first)
    :param seq: the server's request number (1 first)
    """

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    conn: int
    seq: int

    @property
    def job(self) -> str | None:
        """The job id in the path, if any."""
        found = _JOB.search(self.path)
        return found.group(1) if found else None


def http_response(
    status: int,
    body: bytes = b"",
    headers: list[tuple[str, str]] | None = None,
    *,
    reason: str = "X",
    length: bool = True,
) -> bytes:
    """A response's bytes: status line, headers (plus Content-Length unless ``length`` is False), body.

    :param status: the status code
    :param body: the body bytes
    :param headers: extra headers
    :param reason: the reason phrase
    :param length: add a Content-Length that matches the body
    """
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{name}: {value}" for name, value in headers or [("Content-Type", "application/json")]]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def real_body(request: Request) -> tuple[int, bytes]:
    """The well-formed answer to a request, carrying its marker: (status, JSON body)."""
    job, seq = request.job, request.seq
    if job is None:
        return 404, b'{"message": "no such path"}'
    location = f"s3://real/{job}/{seq}"
    if request.path.endswith("/savepoints") and request.method == "POST":
        return 202, json.dumps(
            {"triggerType": "MANUAL", "triggerNonce": f"n{seq}", "location": location}
        ).encode()
    if request.path.endswith("/savepoints"):
        return 200, json.dumps(
            {"pending": [], "completed": [{"triggerType": "MANUAL", "location": location}]}
        ).encode()
    return 200, json.dumps({"id": job, "state": "RUNNING", "name": location}).encode()


def real_answer(request: Request) -> bytes:
    """:func:`real_body` as a whole keep-alive response."""
    status, body = real_body(request)
    return http_response(status, body)


def forged_answer(job: str) -> bytes:
    """A complete, plausible 200 savepoint list for ``job`` that no request asked for."""
    body = json.dumps(
        {"pending": [], "completed": [{"triggerType": "MANUAL", "location": f"s3://forged/{job}/0"}]}
    )
    return http_response(200, body.encode())


class Conn:
    """One accepted connection, as a script sees it.

    :param sock: the socket (TLS already set up where the server has TLS)
    :param server: the server
    :param index: the connection's number (0 first)
    """

    def __init__(self, sock: socket.socket, server: HostileServer, index: int) -> None:
        self.sock = sock
        self.server = server
        self.index = index
        self.buffer = bytearray()
        self.eof = False

    def _fill(self, deadline: float) -> bool:
        while not self.server.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(min(0.1, left))
            try:
                data = self.sock.recv(65536)
            except (TimeoutError, ssl.SSLWantReadError):
                continue
            except (OSError, ssl.SSLError):
                data = b""
            if not data:
                self.eof = True
                return False
            self.buffer += data
            return True
        return False

    def read_request(self, timeout: float = 5.0) -> Request | None:
        """The next request on the connection; None at EOF, a broken head, a timeout or server stop."""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > 1 << 20 or not self._fill(deadline):
                return None
        head, _, rest = bytes(self.buffer).partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return None
        method, target = parts[0], parts[1]
        if "://" in target:  # a request relayed by a forward proxy
            split = urlsplit(target)
            target = split.path + (f"?{split.query}" if split.query else "")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        self.buffer[:] = rest
        length = int(headers.get("content-length", "0") or 0)
        while len(self.buffer) < length:
            if not self._fill(deadline):
                return None
        body = bytes(self.buffer[:length])
        del self.buffer[:length]
        return self.server._record(method, target, headers, body, self.index)

    def send(self, data: bytes) -> bool:
        """Write bytes; False when the peer is gone."""
        try:
            self.sock.sendall(data)
            return True
        except (OSError, ssl.SSLError):
            return False

    def trickle(self, data: bytes, interval: float = 0.25, limit: float = 2.6) -> bool:
        """Write one byte every ``interval`` s for at most ``limit`` s; True when all was sent."""
        end = time.monotonic() + limit
        for i in range(len(data)):
            if time.monotonic() > end or self.server.stopping.wait(interval):
                return False
            if not self.send(data[i : i + 1]):
                return False
        return True

    def serve(self, answer: Callable[[Request], bytes] = real_answer) -> None:
        """Answer every request on the connection with ``answer`` until EOF."""
        while (request := self.read_request()) is not None:
            if not self.send(answer(request)):
                return

    def close(self) -> None:
        """Close (a FIN)."""
        with contextlib.suppress(OSError):
            self.sock.close()

    def reset(self) -> None:
        """Close with a TCP RST."""
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()


Script = Callable[[Conn], None]


def serve_normally(conn: Conn) -> None:
    """The default script: a well-behaved keep-alive server."""
    conn.serve()


class _Listener:
    """A listening socket on 127.0.0.1 with an accept thread that runs ``handle`` per connection."""

    def __init__(self, handle: Callable[[socket.socket, int], None]) -> None:
        self.stopping = threading.Event()
        self._handle = handle
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self.connections = 0
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self.stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                index = self.connections
                self.connections += 1
                self._socks.append(sock)
                thread = threading.Thread(target=self._run, args=(sock, index), daemon=True)
                self._threads.append(thread)
            thread.start()

    def _run(self, sock: socket.socket, index: int) -> None:
        try:
            self._handle(sock, index)
        except Exception:  # a script's own error must not kill the server
            pass
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    @property
    def open_connections(self) -> int:
        """Accepted connections not yet closed."""
        with self._lock:
            return sum(1 for sock in self._socks if sock.fileno() != -1)

    def stop(self) -> None:
        """Stop accepting, cut every connection and join the threads."""
        self.stopping.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() at once
        self._listener.close()
        self._acceptor.join(2)
        with self._lock:
            socks, threads = list(self._socks), list(self._threads)
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(2)


class HostileServer(_Listener):
    """A scripted HTTP(S) server on 127.0.0.1; use as a context manager.

    :param script: what to do with each connection (default: answer well, keep-alive)
    :param tls: a server TLS context for HTTPS
    """

    def __init__(self, script: Script = serve_normally, *, tls: ssl.SSLContext | None = None) -> None:
        self.script = script
        self.tls = tls
        self._requests: list[Request] = []
        self.tls_failures = 0
        super().__init__(self._handle_conn)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"

    def _handle_conn(self, sock: socket.socket, index: int) -> None:
        if self.tls is not None:
            sock.settimeout(5)
            try:
                sock = self.tls.wrap_socket(sock, server_side=True)
            except (OSError, ssl.SSLError):
                with self._lock:
                    self.tls_failures += 1
                return
        try:
            self.script(Conn(sock, self, index))
        finally:
            sock.close()

    def _record(self, method: str, path: str, headers: dict[str, str], body: bytes, conn: int) -> Request:
        with self._lock:
            request = Request(method, path, headers, body, conn, len(self._requests) + 1)
            self._requests.append(request)
        return request

    def received(self, method: str | None = None, job: str | None = None) -> list[Request]:
        """The requests read so far, optionally only those with this method and job."""
        with self._lock:
            return [
                r
                for r in self._requests
                if (method is None or r.method == method) and (job is None or r.job == job)
            ]

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class ProxyRecord:
    """What reached the proxy: the first request head of one client connection."""

    method: str
    target: str
    headers: dict[str, str]
    raw: bytes


class RecordingProxy(_Listener):
    """A forward (absolute URI) and CONNECT proxy to 127.0.0.1 that records each connection's head."""

    def __init__(self) -> None:
        self.records: list[ProxyRecord] = []
        super().__init__(self._handle_conn)
        self.url = f"http://127.0.0.1:{self.port}"

    def _handle_conn(self, client: socket.socket, index: int) -> None:
        client.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = client.recv(65536)
            if not chunk or len(data) > 1 << 16:
                return
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers = {n.strip().lower(): v.strip() for n, _, v in (line.partition(":") for line in lines[1:])}
        with self._lock:
            self.records.append(ProxyRecord(method, target, headers, head))
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            to_send = rest
        else:
            split = urlsplit(target)
            host, port = split.hostname or "", str(split.port or 80)
            origin = split.path + (f"?{split.query}" if split.query else "")
            first = f"{method} {origin} {version}\r\n".encode("latin-1")
            to_send = first + b"\r\n".join(head.split(b"\r\n")[1:]) + b"\r\n\r\n" + rest
        if host.strip("[]") not in ("127.0.0.1", "localhost"):
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        with socket.create_connection(("127.0.0.1", int(port)), timeout=5) as upstream:
            if method == "CONNECT":
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if to_send:
                upstream.sendall(to_send)
            self._pipe(client, upstream)

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(a, selectors.EVENT_READ, b)
            selector.register(b, selectors.EVENT_READ, a)
            while not self.stopping.is_set():
                for key, _ in selector.select(0.1):
                    src: socket.socket = key.fileobj  # type: ignore[assignment]
                    try:
                        data = src.recv(65536)
                        if not data:
                            return
                        key.data.sendall(data)
                    except OSError:
                        return
