"""The hostile-server suite (issue 9): the hook against a server on loopback that misbehaves as an
attacker or a broken gateway would, on both paths (``sync``: requests, ``async``: the ``a_`` twins
driven by ``asyncio.run``). Only the hook's public API is used.

Every good answer names its request (``s3://real/<job>/<seq>``), so a call that gets another
request's answer, or bytes left over from an earlier response, is caught.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import gzip
import json
import logging
import os
import random
import re
import threading
import time
import traceback
import tracemalloc
import uuid
import zlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests.utils

from airflow_provider_flinksp._compat import AIRFLOW_V3
from airflow_provider_flinksp.core.models import Savepoint, SavepointList
from airflow_provider_flinksp.exceptions import (
    LakeSailApiError,
    LakeSailConnectionError,
    LakeSailError,
    LakeSailResponseError,
)
from airflow_provider_flinksp.hooks import LakeSailHook
from tests.hostile import (
    Conn,
    HostileServer,
    RecordingProxy,
    Request,
    Script,
    forged_answer,
    http_response,
    real_answer,
    real_body,
    serve_normally,
)
from tests.hostile_fuzz import fuzz_response
from tests.hostile_tls import TlsFiles, make_tls

pytestmark = pytest.mark.hostile

PATHS = ["sync", "async"]
WS, SESS = "WS1", "SESS1"
OPS = {"list": "list_session_job_savepoints", "trigger": "trigger_session_job_savepoint"}
METHOD = {"list": "GET", "trigger": "POST"}
_ENV = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)


def new_token() -> str:
    """A 41-character token no other test has registered with Airflow's masker."""
    return f"lsk-{uuid.uuid4().hex}{uuid.uuid4().hex[:5]}"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy or CA setting of the machine running the tests leaks in."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def connect(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Point ``lakesail_default`` at a URL (AIRFLOW_CONN_ JSON); returns the token."""

    def point(url: str, token: str | None = None, **extra: Any) -> str:
        token = token or new_token()
        value = {
            "conn_type": "lakesail",
            "host": url,
            "password": token,
            "extra": {"retry_delay": 0.01, **extra},
        }
        monkeypatch.setenv("AIRFLOW_CONN_LAKESAIL_DEFAULT", json.dumps(value))
        return token

    return point


@pytest.fixture
def serve() -> Iterator[Callable[..., HostileServer]]:
    """Start hostile servers (stopped at the end of the test)."""
    started: list[HostileServer] = []

    def start(script: Script = serve_normally, **kwargs: Any) -> HostileServer:
        started.append(HostileServer(script, **kwargs))
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A throwaway CA and a server certificate for 127.0.0.1."""
    return make_tls(tmp_path_factory.mktemp("tls"))


# -- driving the hook -----------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one hook call gave: a value or an exception (any), and how long it took."""

    value: Any = None
    error: BaseException | None = None
    seconds: float = 0.0

    @property
    def marker(self) -> str | None:
        """The answer's marker (a savepoint location), if any."""
        if isinstance(self.value, SavepointList):
            return self.value.completed[-1].location if self.value.completed else None
        if isinstance(self.value, Savepoint):
            return self.value.location
        return None

    def __str__(self) -> str:
        if self.error is not None:
            return f"{type(self.error).__name__}: {str(self.error)[:300]} after {self.seconds:.2f} s"
        return f"result {self.marker or repr(self.value)[:200]} after {self.seconds:.2f} s"


class Wire:
    """One hook, called through the sync or the async path; calls return an :class:`Outcome`."""

    def __init__(self, path: str, *, retry_limit: int = 2, timeout: float = 2.0) -> None:
        self.path = path
        self.hook = LakeSailHook(retry_limit=retry_limit, timeout=timeout)

    async def call(self, op: str, job: str) -> Outcome:
        name = OPS[op]
        start = time.monotonic()
        try:
            if self.path == "sync":
                value = getattr(self.hook, name)(WS, SESS, job)
            else:
                value = await getattr(self.hook, f"a_{name}")(WS, SESS, job)
        except Exception as exc:  # anything: the tests judge the type
            return Outcome(error=exc, seconds=time.monotonic() - start)
        return Outcome(value=value, seconds=time.monotonic() - start)

    async def sleep(self, seconds: float) -> None:
        if self.path == "sync":
            time.sleep(seconds)
        else:
            await asyncio.sleep(seconds)


def run(path: str, scenario: Callable[[Wire], Awaitable[Any]], **hook_kwargs: Any) -> Any:
    """Run a scenario with one hook in a fresh ``asyncio.run`` (no clean-up call after it)."""
    return asyncio.run(scenario(Wire(path, **hook_kwargs)))


def call_once(path: str, op: str = "list", job: str = "J1", **hook_kwargs: Any) -> Outcome:
    async def scenario(wire: Wire) -> Outcome:
        return await wire.call(op, job)

    return run(path, scenario, **hook_kwargs)  # type: ignore[no-any-return]


def assert_own(outcome: Outcome, job: str, what: str = "") -> None:
    """The call got the answer the server sent to it."""
    assert outcome.error is None, f"{what}: expected {job}'s own answer, got {outcome}"
    assert (outcome.marker or "").startswith(f"s3://real/{job}/"), f"{what}: got another answer: {outcome}"


def assert_error(outcome: Outcome, kind: type[BaseException] = LakeSailError) -> None:
    assert outcome.error is not None, f"expected a {kind.__name__}, got a {outcome}"
    assert isinstance(outcome.error, kind), f"expected a {kind.__name__}, got {outcome}"


def scripted(first: Callable[[Request], bytes]) -> Script:
    """A keep-alive server whose first request of all gets ``first``, every other a good answer."""

    def script(conn: Conn) -> None:
        conn.serve(lambda req: first(req) if req.seq == 1 else real_answer(req))

    return script


def then_close(first: Callable[[Conn, Request], None]) -> Script:
    """The first connection answers one request with ``first`` and is closed; later ones are good."""

    def script(conn: Conn) -> None:
        if conn.index > 0:
            return conn.serve()
        request = conn.read_request()
        if request is not None:
            first(conn, request)
        conn.close()

    return script


# -- a response that is not where it should be -----------------------------------------------------


def _send_then_408(conn: Conn, request: Request) -> None:
    conn.send(real_answer(request))
    time.sleep(0.1)
    conn.send(http_response(408, b"", [("Connection", "close")], reason="Request Timeout"))


@pytest.mark.parametrize("op", ["list", "trigger"])
@pytest.mark.parametrize("path", PATHS)
def test_unsolicited_408_on_idle_connection(path: str, op: str, serve: Any, connect: Any) -> None:
    """A 408 + Connection: close sent on an idle kept-alive connection is nobody's answer."""
    server = serve(then_close(_send_then_408))
    connect(server.url)

    async def scenario(wire: Wire) -> tuple[Outcome, Outcome]:
        first = await wire.call("list", "J1")
        await wire.sleep(0.4)
        return first, await wire.call(op, "J2")

    first, second = run(path, scenario)
    assert_own(first, "J1", "first call")
    assert_own(second, "J2", f"{op} after the 408")
    seen = len(server.received(METHOD[op], "J2"))
    assert seen == 1 if op == "trigger" else seen >= 1, f"the server saw the request {seen} times"


def _appended(req: Request) -> bytes:
    return real_answer(req) + forged_answer("J2")


def _no_content_with_body(req: Request) -> bytes:
    return b"HTTP/1.1 204 No Content\r\n\r\n" + forged_answer("J2")


def _conflicting_lengths(req: Request) -> bytes:
    body, forged = real_body(req)[1], forged_answer("J2")
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nContent-Length: {len(body) + len(forged)}\r\n"
    return f"{head}Content-Type: application/json\r\n\r\n".encode() + body + forged


FRAMING = {
    "appended-response": _appended,
    "204-with-body": _no_content_with_body,
    "two-lengths": _conflicting_lengths,
}


@pytest.mark.parametrize("op", ["list", "trigger"])
@pytest.mark.parametrize("framing", FRAMING)
@pytest.mark.parametrize("path", PATHS)
def test_bytes_beyond_the_framing(path: str, framing: str, op: str, serve: Any, connect: Any) -> None:
    """Bytes past a response's framing are never read as the next request's answer; two different
    Content-Lengths are a provider error, not an answer."""
    server = serve(scripted(FRAMING[framing]))
    connect(server.url)

    async def scenario(wire: Wire) -> tuple[Outcome, Outcome]:
        return await wire.call("list", "J1"), await wire.call(op, "J2")

    first, second = run(path, scenario)
    if framing == "appended-response":
        assert_own(first, "J1", "the response before the appended one")
    elif framing == "204-with-body":
        assert_error(first, LakeSailResponseError)  # a 2xx without a body
    else:
        assert_error(first)
    assert_own(second, "J2", f"the {op} after it")
    assert server.received(METHOD[op], "J2"), "the next request never reached the server"


# -- time -------------------------------------------------------------------------------------------

_PAD = b"X-Pad: " + b"p" * 40 + b"\r\n"
_TRICKLES: dict[str, Callable[[Conn], Any]] = {
    "head": lambda conn: conn.trickle(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + _PAD * 4),
    "body": lambda conn: (
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n") and conn.trickle(b" " * 200)
    ),
}


@pytest.mark.parametrize("part", _TRICKLES)
@pytest.mark.parametrize("path", PATHS)
def test_trickle_meets_the_deadline(path: str, part: str, serve: Any, connect: Any) -> None:
    """A byte every 0.25 s: with timeout=1 the call ends in about 1 s (a deadline for the whole request)."""
    server = serve(then_close(lambda conn, req: _TRICKLES[part](conn)))
    connect(server.url)
    outcome = call_once(path, retry_limit=1, timeout=1.0)
    assert outcome.seconds < 2.0, f"timeout=1 but the call took {outcome.seconds:.2f} s ({outcome})"
    assert_error(outcome, LakeSailConnectionError)


def _slow_close_delimited(conn: Conn, request: Request) -> None:
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
    conn.send(b'{"pending": [], "completed": []}')  # JSON so far; the whole body is not
    conn.trickle(b" " * 6)
    conn.send(b"not JSON")


@pytest.mark.parametrize("path", PATHS)
def test_close_delimited_body_cut_at_deadline_is_not_an_answer(path: str, serve: Any, connect: Any) -> None:
    """A body that ends at close, still arriving at the deadline, is an error, not parsed as it stands."""
    connect(serve(then_close(_slow_close_delimited)).url)
    outcome = call_once(path, retry_limit=1, timeout=1.0)
    assert_error(outcome)


@pytest.mark.parametrize("path", PATHS)
def test_fin_after_keepalive_response_then_post(path: str, serve: Any, connect: Any) -> None:
    """The server closes right after a keep-alive response: the next POST reaches it exactly once."""
    server = serve(then_close(lambda conn, req: conn.send(real_answer(req))))
    connect(server.url)

    async def scenario(wire: Wire) -> tuple[Outcome, Outcome]:
        first = await wire.call("list", "J1")
        await wire.sleep(0.3)
        return first, await wire.call("trigger", "J2")

    first, second = run(path, scenario, retry_limit=3)
    assert_own(first, "J1")
    posts = len(server.received("POST", "J2"))
    assert posts == 1, f"the POST reached the server {posts} times ({second})"
    if second.error is not None:
        assert_error(second)
    else:
        assert_own(second, "J2")


@pytest.mark.parametrize("path", PATHS)
def test_two_jobs_polled_concurrently_get_their_own_lists(path: str, serve: Any, connect: Any) -> None:
    """J1 and J2 polled at once (one event loop; on the sync path two threads) through a server
    that appends the other job's list to every answer."""
    rng = random.Random(9)

    def answer(req: Request) -> bytes:
        time.sleep(rng.uniform(0, 0.01))
        return real_answer(req) + forged_answer("J2" if req.job == "J1" else "J1")

    connect(serve(lambda conn: conn.serve(answer)).url)

    async def poll(wire: Wire, job: str) -> list[Outcome]:
        outcomes = []
        for _ in range(6):
            outcomes.append(await wire.call("list", job))
            await wire.sleep(0.005)
        return outcomes

    if path == "async":

        async def both() -> list[list[Outcome]]:
            return await asyncio.gather(poll(Wire(path), "J1"), poll(Wire(path), "J2"))

        results = dict(zip(["J1", "J2"], asyncio.run(both()), strict=True))
    else:
        results = {}

        def thread(job: str) -> None:
            results[job] = asyncio.run(poll(Wire(path), job))

        threads = [threading.Thread(target=thread, args=(job,)) for job in ("J1", "J2")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert sorted(results) == ["J1", "J2"], "a poller did not finish"
    for job, outcomes in results.items():
        for i, outcome in enumerate(outcomes):
            assert_own(outcome, job, f"{job} poll {i}")


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
@pytest.mark.parametrize("path", PATHS)
def test_forty_asyncio_runs_leave_no_descriptors(path: str, serve: Any, connect: Any) -> None:
    """40 ``asyncio.run()`` in a row, each with a new hook and one call: no growth in open files."""
    server = serve()
    connect(server.url)
    for i in range(2):  # warm-up: lazy imports, first connection lookups
        assert_own(call_once(path, job=f"W{i}"), f"W{i}")

    def settled(limit: int) -> int:
        end = time.monotonic() + 1.5
        while True:
            gc.collect()
            count = _open_fds()
            if count <= limit or time.monotonic() > end:
                return count
            time.sleep(0.05)

    base = settled(0)
    for i in range(40):
        assert_own(call_once(path, job=f"J{i}"), f"J{i}", f"run {i}")
    grown = settled(base + 4) - base
    assert grown <= 4, (
        f"{grown} more open file descriptors after 40 runs (server still holds {server.open_connections})"
    )


# -- bodies ---------------------------------------------------------------------------------------


@functools.cache
def _gzip_bomb() -> bytes:
    """128 MiB of zeros, gzip-compressed to about 128 KiB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1 << 20)
    return b"".join([compressor.compress(chunk) for _ in range(128)] + [compressor.flush()])


def _gzipped(req: Request) -> bytes:
    status, body = real_body(req)
    if req.job == "BOMB":
        status, body = 200, _gzip_bomb()
    else:
        body = gzip.compress(body)
    return http_response(status, body, [("Content-Type", "application/json"), ("Content-Encoding", "gzip")])


@pytest.mark.parametrize("path", PATHS)
def test_gzip_body_is_decoded(path: str, serve: Any, connect: Any) -> None:
    connect(serve(lambda conn: conn.serve(_gzipped)).url)
    assert_own(call_once(path), "J1")


@pytest.mark.parametrize("path", PATHS)
def test_gzip_bomb_is_refused_without_growing_memory(path: str, serve: Any, connect: Any) -> None:
    """128 KiB of gzip that expands to 128 MiB: a LakeSailResponseError naming the 8 MiB cap, and
    less than 30 MiB allocated on the way."""
    _gzip_bomb()
    connect(serve(lambda conn: conn.serve(_gzipped)).url)

    async def scenario(wire: Wire) -> tuple[Outcome, Outcome, int]:
        await wire.call("list", "J0")  # warm-up
        gc.collect()
        tracemalloc.start()
        try:
            bomb = await wire.call("list", "BOMB")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        return bomb, await wire.call("list", "J1"), peak

    bomb, after, peak = run(path, scenario, retry_limit=1, timeout=10.0)
    assert_error(bomb, LakeSailResponseError)
    assert re.search(r"8388608|8(\.0)? ?MiB", str(bomb.error)), f"the error does not name the cap: {bomb}"
    assert peak < 30 * 2**20, f"{peak / 2**20:.0f} MiB allocated while refusing the bomb"
    assert_own(after, "J1", "the call after the bomb")


def _many(token: str) -> str:
    """The token echoed at many offsets, so that any cut in the first ~10 KB falls inside one."""
    return "".join(f"{'.' * (k % 47)}Bearer {token} " for k in range(0, 1400, 7))


ECHOES: dict[str, tuple[int, str, Callable[[str], str]]] = {
    "header-echo-text": (200, "text/plain", lambda t: f"Authorization: Bearer {t}\r\nAccept: */*\r\n"),
    "starts-with-token": (200, "text/plain", lambda t: f"{t} is not a valid request"),
    "html-echo": (200, "text/html", lambda t: f"<html><body><pre>Authorization: Bearer {t}</pre>"),
    "json-timestamp": (
        200,
        "application/json",
        lambda t: json.dumps(
            {"pending": [], "completed": [{"triggerType": "MANUAL", "triggeredAt": "x" * 30 + t}]}
        ),
    ),
    "json-wrong-shape": (
        200,
        "application/json",
        lambda t: json.dumps({"pending": f"Bearer {t}", "echo": [t]}),
    ),
    "text-many-offsets": (200, "text/plain", _many),
    "401-message-many-offsets": (401, "application/json", lambda t: json.dumps({"message": _many(t)})),
    "503-retried-message": (
        503,
        "application/json",
        lambda t: json.dumps({"message": f"busy, {t}: " + _many(t)}),
    ),
}


def _leaks(token: str, text: str) -> list[str]:
    return sorted({token[i : i + 6] for i in range(len(token) - 5) if token[i : i + 6] in text})


def _no_masking(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switch Airflow's log masker off, so it cannot hide a whole-token leak from the check."""
    if AIRFLOW_V3:
        from airflow.sdk._shared.secrets_masker.secrets_masker import SecretsMasker

        classes = [SecretsMasker]
        try:
            from airflow._shared.secrets_masker.secrets_masker import SecretsMasker as Core

            classes.append(Core)
        except ImportError:
            pass
    else:  # Airflow 2.11
        from airflow.utils.log.secrets_masker import SecretsMasker

        classes = [SecretsMasker]
    for cls in classes:
        monkeypatch.setattr(cls, "add_mask", lambda self, *args, **kwargs: None)


def _exception_text(exc: BaseException) -> str:
    shown = ["".join(traceback.format_exception(exc))]
    seen: BaseException | None = exc
    while seen is not None:
        shown += [str(seen), repr(seen), repr(seen.args), repr(vars(seen))]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(shown)


@pytest.fixture
def echo_check(
    serve: Any,
    connect: Any,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[str, int, str, Callable[[str], str]], None]:
    """Run one call against a server that answers ``status`` with ``body(token)``; check for leaks."""

    def check(path: str, status: int, ctype: str, body: Callable[[str], str]) -> None:
        _no_masking(monkeypatch)
        token = new_token()
        answer = http_response(status, body(token).encode(), [("Content-Type", ctype)])
        connect(serve(lambda conn: conn.serve(lambda req: answer)).url, token=token)
        with caplog.at_level(logging.DEBUG):
            outcome = call_once(path, retry_limit=2)
        out, err = capfd.readouterr()
        assert_error(outcome)
        assert outcome.error is not None
        leaked = _leaks(token, _exception_text(outcome.error))
        assert not leaked, f"token parts {leaked} in the exception: {outcome}"
        leaked = _leaks(token, "\n".join((caplog.text, out, err)))
        assert not leaked, f"token parts {leaked} in the logs"

    return check


@pytest.mark.parametrize("echo", ECHOES)
@pytest.mark.parametrize("path", PATHS)
def test_echoed_token_not_shown_even_in_part(path: str, echo: str, echo_check: Any) -> None:
    """A server echoing the Authorization header: no 6 characters of the token in the exception
    (text, repr, traceback) or the logs."""
    echo_check(path, *ECHOES[echo])


@pytest.mark.parametrize("path", PATHS)
def test_token_prefix_echoed_by_server_not_shown(path: str, echo_check: Any) -> None:
    """A gateway that echoes only the first 30 characters of the header's token."""
    echo_check(path, 200, "text/plain", lambda t: f"Authorization: Bearer {t[:30]}...")


@pytest.mark.parametrize("path", PATHS)
def test_huge_error_message_is_bounded(path: str, serve: Any, connect: Any) -> None:
    """A 400 whose ``message`` is 5 MB: the exception text stays under 1,000 characters."""
    answer = http_response(400, json.dumps({"message": "bad request " + "m" * 5_000_000}).encode())
    connect(serve(lambda conn: conn.serve(lambda req: answer)).url)
    outcome = call_once(path, retry_limit=1)
    assert_error(outcome, LakeSailApiError)
    assert outcome.error is not None
    assert len(str(outcome.error)) < 1000, f"an exception text of {len(str(outcome.error))} characters"
    assert len(repr(outcome.error)) < 1200, f"an exception repr of {len(repr(outcome.error))} characters"


RETRY_AFTERS = {
    "day-overflow": "Fri, 99999999999999999999 Dec 1999 23:59:59 GMT",
    "year-99999": "Fri, 31 Dec 99999 23:59:59 GMT",
    "out-of-range-fields": "Sat, 32 Dec 1999 25:61:61 GMT",
    "huge-offset": "Thu, 01 Jan 1970 00:00:00 +9999",
    "year-1": "Mon, 01 Jan 0001 00:00:00 GMT",
    "past": "Fri, 31 Dec 1999 23:59:59 GMT",
    "no-zone": "Fri, 31 Dec 1999 23:59:59",
    "negative": "-1",
    "fraction": "1.5",
    "nan": "nan",
    "inf": "inf",
    "exponent": "1e400",
    "hex": "0x10",
    "superscript": "\u00b2",
    "blank": " ",
    "10k": "9" * 10 + "a" * 10_000,
}


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("value", RETRY_AFTERS)
@pytest.mark.parametrize("path", PATHS)
def test_garbage_retry_after(path: str, value: str, status: int, serve: Any, connect: Any) -> None:
    """Any Retry-After: the call is retried (after a wait >= 0) or ends in a LakeSailApiError."""
    headers = [("Content-Type", "application/json"), ("Retry-After", RETRY_AFTERS[value])]
    throttled = http_response(status, b'{"message": "slow down"}', headers)
    connect(serve(scripted(lambda req: throttled)).url)
    outcome = call_once(path, retry_limit=2)
    if outcome.error is None:
        assert_own(outcome, "J1", "the retry")
    else:
        assert_error(outcome, LakeSailApiError)
        assert getattr(outcome.error, "status_code", None) == status
    assert outcome.seconds < 5, f"waited {outcome.seconds:.1f} s"


# -- transport policy: proxies and CAs --------------------------------------------------------------


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    server = RecordingProxy()
    yield server
    server.stop()


NO_PROXY = {
    "unset": None,
    "star": "*",
    "ip": "127.0.0.1",
    "cidr": "127.0.0.0/8",
    "localhost": "localhost",
    "ip-and-port": "127.0.0.1:{port}",
    "other-domain": ".example.com",
}


@pytest.mark.parametrize("no_proxy", NO_PROXY)
@pytest.mark.parametrize("path", PATHS)
def test_no_proxy_decision_is_requests_decision(
    path: str, no_proxy: str, serve: Any, connect: Any, proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP(S)_PROXY set: each path goes direct exactly when ``requests.utils.should_bypass_proxies``
    says so, for every NO_PROXY form."""
    server = serve()
    connect(server.url)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    value = NO_PROXY[no_proxy]
    if value is not None:
        monkeypatch.setenv("NO_PROXY", value.format(port=server.port))
    url = f"{server.url}/api/flink/v1/workspaces/{WS}/sessions/{SESS}/jobs/J1/savepoints"
    direct = requests.utils.should_bypass_proxies(url, no_proxy=None)
    outcome = call_once(path)
    assert_own(outcome, "J1")
    want, went = ("direct" if direct else "proxy"), ("proxy" if proxy.records else "direct")
    assert want == went, f"NO_PROXY={value!r}: requests goes {want}, this path went {went}"
    if proxy.records:
        assert proxy.records[0].target == url


@pytest.mark.parametrize("path", PATHS)
def test_https_through_proxy_keeps_the_token_from_the_proxy(
    path: str, serve: Any, connect: Any, proxy: RecordingProxy, tls: TlsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An https origin through a proxy: a CONNECT tunnel, and the proxy never sees the token."""
    server = serve(tls=tls.server_context())
    token = connect(server.url, verify=str(tls.ca))
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    outcome = call_once(path)
    assert_own(outcome, "J1")
    assert proxy.records, "the request did not go through the proxy"
    for record in proxy.records:
        assert record.method == "CONNECT", f"{record.method} {record.target} sent to the proxy"
        assert "authorization" not in record.headers
        assert not _leaks(token, record.raw.decode("latin-1")), "token parts sent to the proxy"
    assert server.received("GET", "J1")[0].headers.get("authorization") == f"Bearer {token}"


#: name -> (environment: variable -> file, the connection's verify, whether the server is trusted)
CA_CASES: dict[str, tuple[dict[str, str], Any, bool]] = {
    "REQUESTS_CA_BUNDLE": ({"REQUESTS_CA_BUNDLE": "ca"}, None, True),
    "CURL_CA_BUNDLE": ({"CURL_CA_BUNDLE": "ca"}, None, True),
    "SSL_CERT_FILE": ({"SSL_CERT_FILE": "ca"}, None, True),
    "SSL_CERT_DIR": ({"SSL_CERT_DIR": "ca_dir"}, None, True),
    "verify-ca-path": ({}, "ca", True),
    "verify-false": ({}, False, True),
    "verify-true": ({}, True, False),
    "nothing-set": ({}, None, False),
    "REQUESTS_CA_BUNDLE-other-ca": ({"REQUESTS_CA_BUNDLE": "other_ca"}, None, False),
    "SSL_CERT_FILE-other-ca": ({"SSL_CERT_FILE": "other_ca"}, None, False),
}


@pytest.mark.parametrize("case", CA_CASES)
@pytest.mark.parametrize("path", PATHS)
def test_ca_environment(
    path: str, case: str, serve: Any, connect: Any, tls: TlsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both paths take the same CA trust: the CA variables, or the connection's ``verify``."""
    env, verify, trusted = CA_CASES[case]
    files = {"ca": str(tls.ca), "ca_dir": str(tls.ca_dir), "other_ca": str(tls.other_ca)}
    for name, which in env.items():
        monkeypatch.setenv(name, files[which])
    server = serve(tls=tls.server_context())
    connect(server.url, **({} if verify is None else {"verify": files.get(verify, verify)}))
    outcome = call_once(path, retry_limit=1)
    if trusted:
        assert_own(outcome, "J1")
    else:
        assert_error(outcome)
        assert re.search(r"TLS|SSL|certificate", str(outcome.error), re.I), (
            f"not a clear TLS error: {outcome}"
        )


# -- fuzz -----------------------------------------------------------------------------------------

FUZZ_SEED = int(os.environ.get("HOSTILE_FUZZ_SEED", "9"))
FUZZ_CASES = 150
FUZZ_BUDGET = 20.0


def _fuzz_script(conn: Conn) -> None:
    while (request := conn.read_request()) is not None:
        job = request.job or ""
        if job.startswith("F"):
            data, end, _ = fuzz_response(FUZZ_SEED, int(job[1:]), f"N{job[1:]}")
            conn.send(data)
            if end != "serve":
                return conn.reset() if end == "reset" else conn.close()
        elif not conn.send(real_answer(request)):
            return


def _judge(fuzzed: Outcome, follow: Outcome, case: int) -> str | None:
    if fuzzed.error is not None and not isinstance(fuzzed.error, LakeSailError):
        return f"escaped {fuzzed}"
    if fuzzed.error is None and fuzzed.marker and not fuzzed.marker.startswith(f"s3://fuzz/F{case}"):
        return f"the fuzzed call got another answer: {fuzzed}"
    if follow.error is not None or not (follow.marker or "").startswith(f"s3://real/N{case}/"):
        return f"the follow-up did not get its own answer: {follow}"
    return None


@pytest.mark.parametrize("path", PATHS)
def test_fuzzed_responses(path: str, serve: Any, connect: Any) -> None:
    """Seeded random responses over real sockets (one hook, one loop): only LakeSailErrors escape,
    and a well-formed request after each case gets its own answer."""
    server = serve(_fuzz_script)
    connect(server.url)

    def wire_log(case: int) -> str:
        seen = [f"{r.job}@conn{r.conn}" for r in server.received() if r.job in (f"F{case}", f"N{case}")]
        return ", ".join(seen)

    async def scenario(wire: Wire) -> tuple[list[str], int]:
        failures: list[str] = []
        end = time.monotonic() + FUZZ_BUDGET
        done = 0
        while done < FUZZ_CASES and time.monotonic() < end:
            fuzzed = await wire.call("list", f"F{done}")
            follow = await wire.call("list", f"N{done}")
            problem = _judge(fuzzed, follow, done)
            if problem:
                described = fuzz_response(FUZZ_SEED, done, "")[2]
                failures.append(f"case {done} [{described}] ({wire_log(done)}): {problem}")
            done += 1
        return failures, done

    failures, done = run(path, scenario, retry_limit=2, timeout=1.0)
    assert done >= 30, f"only {done} fuzz cases in {FUZZ_BUDGET} s"
    assert not failures, f"{len(failures)} of {done} cases (seed {FUZZ_SEED}) failed:\n" + "\n".join(
        failures[:12]
    )
