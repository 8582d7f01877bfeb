"""A hostile HTTP server on 127.0.0.1: raw sockets, a *script* per connection, every request recorded.
Good answers carry the location ``s3://real/<job>/<seq>``; forged ones (nobody's) ``s3://forged/<job>/0``."""

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
    """One request as read: ``target`` as sent, ``path`` in origin form, ``headers`` with lower-case
    names (the last value wins), ``head`` raw; ``conn`` its connection's number (0 first), ``seq``
    the server's request number (1 first)."""

    method: str
    target: str
    path: str
    headers: dict[str, str]
    head: bytes
    body: bytes
    conn: int
    seq: int

    @property
    def job(self) -> str | None:  # the job ID in the path, if any
        found = _JOB.search(self.path)
        return found.group(1) if found else None


def http_response(status: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None) -> bytes:
    """A keep-alive response: status line, headers (default a JSON type), a matching Content-Length, body."""
    lines = [f"HTTP/1.1 {status} X"]
    lines += [f"{name}: {value}" for name, value in headers or [("Content-Type", "application/json")]]
    return ("\r\n".join([*lines, f"Content-Length: {len(body)}"]) + "\r\n\r\n").encode("latin-1") + body


def real_body(request: Request) -> tuple[int, bytes]:
    """The well-formed answer to a request, carrying its marker: (status, JSON body)."""
    job, seq = request.job, request.seq
    location = f"s3://real/{job}/{seq}"
    if job is None:
        return 404, b'{"message": "no such path"}'
    if not request.path.endswith("/savepoints"):
        return 200, json.dumps({"id": job, "state": "RUNNING", "name": location}).encode()
    savepoint = {"triggerType": "MANUAL", "location": location}
    if request.method == "POST":
        return 202, json.dumps({**savepoint, "triggerNonce": f"n{seq}"}).encode()
    return 200, savepoint_list(location)


def savepoint_list(location: str) -> bytes:
    """A savepoint list body whose one completed savepoint is at ``location``."""
    return json.dumps(
        {"pending": [], "completed": [{"triggerType": "MANUAL", "location": location}]}
    ).encode()


def real_answer(request: Request) -> bytes:
    """:func:`real_body` as a whole keep-alive response."""
    return http_response(*real_body(request))


def forged_answer(job: str) -> bytes:
    """A complete, plausible 200 savepoint list for ``job`` that no request asked for."""
    return http_response(200, savepoint_list(f"s3://forged/{job}/0"))


class Conn:
    """One accepted connection, as a script sees it (TLS already set up where the server has TLS)."""

    def __init__(self, sock: socket.socket, server: HostileServer, index: int) -> None:
        self.sock, self.server, self.index = sock, server, index
        self.buffer = bytearray()

    def _fill(self, deadline: float) -> bool:
        while not self.server.stopping.is_set() and (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(min(0.1, left))
            try:
                data = self.sock.recv(65536)
            except (TimeoutError, ssl.SSLWantReadError):
                continue
            except (OSError, ssl.SSLError):
                data = b""
            self.buffer += data
            return bool(data)
        return False

    def read_request(self, timeout: float = 5.0) -> Request | None:
        """The next request on the connection; None at EOF, a broken head, a timeout or server stop."""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > 1 << 20 or not self._fill(deadline):
                return None
        head, _, rest = bytes(self.buffer).partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        if len(parts := lines[0].split(" ")) != 3:
            return None
        split = urlsplit(parts[1])
        path = split.path + (f"?{split.query}" if split.query else "")
        headers = {n.strip().lower(): v.strip() for n, _, v in (line.partition(":") for line in lines[1:])}
        self.buffer[:] = rest
        length = int(headers.get("content-length", "0") or 0)
        while len(self.buffer) < length:
            if not self._fill(deadline):
                return None
        body = bytes(self.buffer[:length])
        del self.buffer[:length]
        return self.server._record(Request(parts[0], parts[1], path, headers, head, body, self.index, 0))

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
        for byte in (data[i : i + 1] for i in range(len(data))):
            if time.monotonic() > end or self.server.stopping.wait(interval) or not self.send(byte):
                return False
        return True

    def serve(self, answer: Callable[[Request], bytes] = real_answer) -> None:
        """Answer every request on the connection with ``answer`` until EOF."""
        while (request := self.read_request()) is not None and self.send(answer(request)):
            pass

    def close(self, reset: bool = False) -> None:
        """Close with a FIN, or with a TCP RST when ``reset``."""
        with contextlib.suppress(OSError):
            if reset:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.close()


Script = Callable[[Conn], None]


class HostileServer:
    """An HTTP(S) server on 127.0.0.1 (HTTPS with a ``tls`` context) running ``script`` (default: good
    keep-alive answers) for each connection in its own thread."""

    def __init__(self, script: Script = Conn.serve, *, tls: ssl.SSLContext | None = None) -> None:
        self.script, self.tls = script, tls
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._requests: list[Request] = []
        self._conns: list[tuple[socket.socket, threading.Thread]] = []
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port: int = self._listener.getsockname()[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()  # stop() wakes it with a shutdown
            except OSError:
                return
            with self._lock:
                thread = threading.Thread(target=self._run, args=(sock, len(self._conns)), daemon=True)
                self._conns.append((sock, thread))
            thread.start()

    def _run(self, sock: socket.socket, index: int) -> None:
        try:
            if self.tls is not None:
                sock.settimeout(5)
                sock = self.tls.wrap_socket(sock, server_side=True)
            self.script(Conn(sock, self, index))
        except Exception:  # a failed handshake or a script's own error must not kill the server
            pass
        finally:
            sock.close()

    def _record(self, request: Request) -> Request:
        with self._lock:
            self._requests.append(request)
            request.seq = len(self._requests)
        return request

    def received(self, method: str | None = None, job: str | None = None) -> list[Request]:
        """The requests read so far, optionally only those with this method and job."""
        with self._lock:
            return [r for r in self._requests if method in (None, r.method) and job in (None, r.job)]

    def stop(self) -> None:
        """Stop accepting, cut every connection and join the threads."""
        self.stopping.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._acceptor.join(2)
        with self._lock:
            conns = list(self._conns)
        for sock, _ in conns:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for _, thread in conns:
            thread.join(2)


def proxy_script(conn: Conn) -> None:
    """A forward (absolute URI) and CONNECT proxy to 127.0.0.1 (its server records what reaches it)."""
    if (request := conn.read_request()) is None:
        return
    tunnel = request.method == "CONNECT"
    origin = urlsplit(f"//{request.target}" if tunnel else request.target)
    if origin.hostname not in ("127.0.0.1", "localhost"):
        conn.send(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        return
    to_send = b"" if tunnel else request.head + b"\r\n\r\n" + request.body  # the origin reads absolute URIs
    with socket.create_connection(("127.0.0.1", origin.port or 80), timeout=5) as upstream:
        if tunnel:
            conn.send(b"HTTP/1.1 200 Connection established\r\n\r\n")
        upstream.sendall(to_send + bytes(conn.buffer))
        with selectors.DefaultSelector() as selector:
            selector.register(conn.sock, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, conn.sock)
            while not conn.server.stopping.is_set():
                for key, _ in selector.select(0.1):
                    with contextlib.suppress(OSError):
                        if data := key.fileobj.recv(65536):  # type: ignore[union-attr]
                            key.data.sendall(data)
                            continue
                    return
