"""A loopback server that plays back the responses recorded from Flink 2.3 (``tests/flink/responses``)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

RESPONSES = Path(__file__).resolve().parents[1] / "flink" / "responses"
JOB = "b37ae5e926a0538d3e66035faac91c07"
TRIGGER = "0123456789abcdef0123456789abcdef"
STATUS = f"/jobs/{JOB}/savepoints/{TRIGGER}"


def recorded(name: str) -> tuple[int, Any]:
    """The status and body Flink sent, as recorded by tests/flink (checked against Flink each run)."""
    data = json.loads((RESPONSES / f"{name}.json").read_text(encoding="utf-8"))
    return int(data["status"]), data["body"]


class Playback:
    """Answers each path with its queued recorded responses in turn (the last one repeats)."""

    def __init__(self) -> None:
        self.answers: dict[str, list[tuple[int, Any]]] = {}
        self.seen: list[str] = []
        playback = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                playback.seen.append(self.path)
                queue = playback.answers.get(self.path) or [(404, {"errors": ["Not found: " + self.path]})]
                status, body = queue.pop(0) if len(queue) > 1 else queue[0]
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
