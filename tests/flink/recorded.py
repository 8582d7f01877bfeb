"""Real Flink REST responses kept in ``tests/flink/responses/*.json`` for the parsers' unit tests.

Each file is ``{"request": "POST /jobs/{job}/savepoints", "status": 202, "body": {...}}``, as the
real cluster answered. By default a test run checks every response it sees against its file: same
status and same JSON structure (the keys of every object, recursively; leaf values may differ, and
32-hex IDs used as keys count as one key). So the files cannot drift from what Flink really sends.
``FLINKSP_RECORD_RESPONSES=1`` writes the files instead (``make test-flink-record``).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

RESPONSES = Path(__file__).resolve().parent / "responses"
MAX_BYTES = 20_000
_HEX32 = re.compile(r"^[0-9a-f]{32}$")


def recording() -> bool:
    """Whether this run writes the files rather than checking against them."""
    return os.environ.get("FLINKSP_RECORD_RESPONSES", "") not in ("", "0")


def shape(value: Any) -> Any:
    """The structure of a JSON value: object keys and nesting, leaves reduced to their kind.

    :param value: a decoded JSON value.
    """
    if isinstance(value, dict):
        return {("<hex32>" if _HEX32.match(key) else key): shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if value is None:
        return None
    return "leaf"


def _trim_trace(text: str) -> str:
    """Keep a Java stack trace's messages and ``Caused by:`` lines, and two frames of each block."""
    out: list[str] = []
    run = 0
    for line in text.splitlines():
        if line.startswith("\tat ") or line.startswith("\t... "):
            run += 1
            if run <= 2:
                out.append(line)
            elif run == 3:
                out.append("\t... (frames trimmed by tests/flink/recorded.py)")
        else:
            run = 0
            out.append(line)
    return "\n".join(out)


def trim(value: Any) -> Any:
    """A copy of ``value`` with long Java stack traces and blobs shortened (only used past MAX_BYTES).

    :param value: a decoded JSON value.
    """
    if isinstance(value, dict):
        return {key: trim(item) for key, item in value.items()}
    if isinstance(value, list):
        return [trim(item) for item in value]
    if isinstance(value, str) and len(value) > 2000:
        if "\tat " in value:
            return _trim_trace(value)
        # e.g. failure-cause's serialized-throwable: base64 of a serialized Java exception.
        return f"{value[:120]}... ({len(value)} characters, trimmed by tests/flink/recorded.py)"
    return value


def check_or_record(name: str, request: str, status: int, body: Any) -> None:
    """Record a response to ``responses/<name>.json``, or check it against that file.

    :param name: the file's stem, e.g. ``savepoint_trigger``.
    :param request: the method and path template, e.g. ``POST /jobs/{job}/savepoints``.
    :param status: the HTTP status seen.
    :param body: the decoded JSON body seen.
    """
    path = RESPONSES / f"{name}.json"
    if recording():
        RESPONSES.mkdir(exist_ok=True)
        data = {"request": request, "status": status, "body": body}
        text = json.dumps(data, indent=2) + "\n"
        if len(text) > MAX_BYTES:
            data["body"] = trim(body)
            data["trimmed"] = "long stack traces and blobs shortened; everything else as received"
            text = json.dumps(data, indent=2) + "\n"
        path.write_text(text)
        return
    assert path.is_file(), f"{path} is missing: run `make test-flink-record` to record it"
    saved = json.loads(path.read_text())
    assert saved["request"] == request, f"{name}: recorded for {saved['request']}, seen for {request}"
    assert status == saved["status"], f"{name}: status {status}, recorded {saved['status']}"
    assert shape(body) == shape(saved["body"]), (
        f"{name}: Flink's answer no longer has the recorded structure\n"
        f"seen:     {json.dumps(shape(body))}\nrecorded: {json.dumps(shape(saved['body']))}"
    )
